//! Package classification of a function: user code, stdlib, site-packages, built-in or native.
//!
//! The one place that classifies: the `package` field of rows, edges, tree and graph nodes, the
//! `package` filter of the function table, `grp:pkg`, and (through the field) every chart's colours.
//! The classes themselves are [`profview_api::Package`].

pub use profview_api::Package;

/// Top-level modules of the CPython 3.11 standard library (`sys.stdlib_module_names` without the
/// private ones), sorted, to classify relative file names such as py-spy's `threading.py`.
const STDLIB_MODULES: &[&str] = &[
    "abc", "aifc", "antigravity", "argparse", "array", "ast", "asynchat", "asyncio", "asyncore", "atexit",
    "audioop", "base64", "bdb", "binascii", "bisect", "builtins", "bz2", "cProfile", "calendar", "cgi", "cgitb",
    "chunk", "cmath", "cmd", "code", "codecs", "codeop", "collections", "colorsys", "compileall", "concurrent",
    "configparser", "contextlib", "contextvars", "copy", "copyreg", "crypt", "csv", "ctypes", "curses",
    "dataclasses", "datetime", "dbm", "decimal", "difflib", "dis", "distutils", "doctest", "email", "encodings",
    "ensurepip", "enum", "errno", "faulthandler", "fcntl", "filecmp", "fileinput", "fnmatch", "fractions",
    "ftplib", "functools", "gc", "genericpath", "getopt", "getpass", "gettext", "glob", "graphlib", "grp",
    "gzip", "hashlib", "heapq", "hmac", "html", "http", "idlelib", "imaplib", "imghdr", "imp", "importlib",
    "inspect", "io", "ipaddress", "itertools", "json", "keyword", "lib2to3", "linecache", "locale", "logging",
    "lzma", "mailbox", "mailcap", "marshal", "math", "mimetypes", "mmap", "modulefinder", "msilib", "msvcrt",
    "multiprocessing", "netrc", "nis", "nntplib", "nt", "ntpath", "nturl2path", "numbers", "opcode", "operator",
    "optparse", "os", "ossaudiodev", "pathlib", "pdb", "pickle", "pickletools", "pipes", "pkgutil", "platform",
    "plistlib", "poplib", "posix", "posixpath", "pprint", "profile", "pstats", "pty", "pwd", "py_compile",
    "pyclbr", "pydoc", "pydoc_data", "pyexpat", "queue", "quopri", "random", "re", "readline", "reprlib",
    "resource", "rlcompleter", "runpy", "sched", "secrets", "select", "selectors", "shelve", "shlex", "shutil",
    "signal", "site", "smtpd", "smtplib", "sndhdr", "socket", "socketserver", "spwd", "sqlite3", "sre_compile",
    "sre_constants", "sre_parse", "ssl", "stat", "statistics", "string", "stringprep", "struct", "subprocess",
    "sunau", "symtable", "sys", "sysconfig", "syslog", "tabnanny", "tarfile", "telnetlib", "tempfile", "termios",
    "textwrap", "this", "threading", "time", "timeit", "tkinter", "token", "tokenize", "tomllib", "trace",
    "traceback", "tracemalloc", "tty", "turtle", "turtledemo", "types", "typing", "unicodedata", "unittest",
    "urllib", "uu", "uuid", "venv", "warnings", "wave", "weakref", "webbrowser", "winreg", "winsound", "wsgiref",
    "xdrlib", "xml", "xmlrpc", "zipapp", "zipfile", "zipimport", "zlib", "zoneinfo",
];

fn is_stdlib_module(m: &str) -> bool {
    STDLIB_MODULES.binary_search(&m).is_ok()
}

/// Classifies a file path as stored in a profile. The rules, first match wins:
///
/// 1. `""` and `~` (cProfile built-ins) → [`Package::Builtin`];
/// 2. `[...]` (perf `[kernel.kallsyms]`, `[unknown]`), shared objects (`*.so`, `*.so.N`, `*.dll`,
///    `*.dylib`, `*.pyd`) and raw addresses (`0x7f3a…`) → [`Package::Native`];
/// 3. a path component `site-packages` or `dist-packages` → [`Package::SitePackages`];
/// 4. `<frozen ...>`, a `lib/python3.X`/`lib/pythonX`/`lib/pypy`/`Lib` component, or a relative
///    path whose first component is a stdlib module (`threading.py`, `json/decoder.py`)
///    → [`Package::Stdlib`];
/// 5. anything else (including `<string>`, `<stdin>`) → [`Package::User`].
pub fn classify(file: &str) -> Package {
    let f = file.trim();
    if f.is_empty() || f == "~" {
        return Package::Builtin;
    }
    if (f.starts_with('[') && f.ends_with(']')) || is_address(f) {
        return Package::Native;
    }
    if f.contains('\\') {
        return classify(&f.replace('\\', "/"));
    }
    let tail = f.rsplit('/').next().unwrap_or(f);
    if tail.ends_with(".so")
        || tail.contains(".so.")
        || tail.ends_with(".dll")
        || tail.ends_with(".dylib")
        || tail.ends_with(".pyd")
    {
        return Package::Native;
    }
    if f.contains("-packages") && f.split('/').any(|c| c == "site-packages" || c == "dist-packages") {
        return Package::SitePackages;
    }
    if f.starts_with("<frozen ") {
        return Package::Stdlib;
    }
    if f.starts_with('<') {
        return Package::User;
    }
    // A `lib/pythonX[.Y]`, `lib64/pythonX.Y`, `lib/pypy…` or `Lib` component.
    let mut prev = "";
    for c in f.split('/') {
        let lib_dir = c.strip_prefix("python").is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            || c.starts_with("pypy");
        if (prev == "lib" || prev == "lib64") && (lib_dir || c == "Lib") {
            return Package::Stdlib;
        }
        if prev == "Lib" && !c.is_empty() {
            return Package::Stdlib;
        }
        prev = c;
    }
    if !f.starts_with('/') && !f.contains(':') {
        let first = f.split('/').next().unwrap_or(f);
        let m = first.strip_suffix(".py").unwrap_or(first);
        if is_stdlib_module(m) {
            return Package::Stdlib;
        }
    }
    Package::User
}

/// Classifies a function by file and name: like [`classify`], but a function whose name marks it
/// as a Python built-in (`<built-in method ...>`, `<method '...' of '...' objects>`,
/// `{built-in ...}`, `{method ...}`) is [`Package::Builtin`] whatever its file; one whose name
/// marks it as machine code (perf's `_[k]` kernel and `_[j]` JIT suffixes, a raw address such as
/// `0x7f3a12` or `[unknown]`) is [`Package::Native`]; and a function with an empty file is
/// classified by its name alone (user code unless one of those).
pub fn classify_function(name: &str, file: &str) -> Package {
    let n = name.trim();
    if n.starts_with("<built-in") || n.starts_with("<method '") || n.starts_with("{built-in") || n.starts_with("{method ") {
        return Package::Builtin;
    }
    if n.ends_with("_[k]") || n.ends_with("_[j]") || is_address(n) || (file.is_empty() && n.starts_with('[') && n.ends_with(']')) {
        return Package::Native;
    }
    if file.is_empty() {
        return Package::User;
    }
    classify(file)
}

/// A raw code address as profilers print an unsymbolized frame: `0x` and at least one hex digit,
/// optionally followed by `+offset` or ` (module)`.
fn is_address(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) else { return false };
    let digits = hex.bytes().take_while(u8::is_ascii_hexdigit).count();
    digits > 0 && matches!(hex.as_bytes().get(digits), None | Some(b'+' | b' ' | b'('))
}

/// The distribution directory of a site-packages path (`.../site-packages/requests/api.py` →
/// `requests`), for `grp:pkg`.
pub fn site_package_name(file: &str) -> Option<&str> {
    let mut it = file.split(['/', '\\']);
    while let Some(c) = it.next() {
        if c == "site-packages" || c == "dist-packages" {
            let name = it.next()?;
            let name = name.strip_suffix(".py").unwrap_or(name);
            return (!name.is_empty()).then_some(name);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_list_is_sorted() {
        assert!(STDLIB_MODULES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn classifies_common_paths() {
        assert_eq!(classify("~"), Package::Builtin);
        assert_eq!(classify(""), Package::Builtin);
        assert_eq!(classify("[kernel.kallsyms]"), Package::Native);
        assert_eq!(classify("/usr/lib/x86_64-linux-gnu/libc.so.6"), Package::Native);
        assert_eq!(classify("/opt/app/_speedups.cpython-312-x86_64-linux-gnu.so"), Package::Native);
        assert_eq!(classify("C:\\Python312\\DLLs\\_ctypes.pyd"), Package::Native);
        assert_eq!(classify("0x7f3a12c0"), Package::Native);
        assert_eq!(classify("/usr/lib/python3.11/json/decoder.py"), Package::Stdlib);
        assert_eq!(classify("/usr/lib/python3.11/site-packages/requests/api.py"), Package::SitePackages);
        assert_eq!(classify("/home/user/.venv/lib/python3.11/site-packages/black/__init__.py"), Package::SitePackages);
        assert_eq!(classify("/usr/lib/python3/dist-packages/apt/cache.py"), Package::SitePackages);
        assert_eq!(classify("<frozen importlib._bootstrap>"), Package::Stdlib);
        assert_eq!(classify("C:\\Python311\\Lib\\threading.py"), Package::Stdlib);
        assert_eq!(classify("threading.py"), Package::Stdlib);
        assert_eq!(classify("concurrent/futures/thread.py"), Package::Stdlib);
        assert_eq!(classify("/home/user/app/work.py"), Package::User);
        assert_eq!(classify("threads_work.py"), Package::User);
        assert_eq!(classify("<string>"), Package::User);
        // A component that merely ends in -packages is user code; `python3.11` counts only under lib.
        assert_eq!(classify("/home/user/my-packages/app.py"), Package::User);
        assert_eq!(classify("/opt/python3.11/tool.py"), Package::User);
        assert_eq!(classify("/usr/lib64/python3.11/os.py"), Package::Stdlib);
        assert_eq!(classify_function("<built-in method builtins.exec>", "~"), Package::Builtin);
        assert_eq!(classify_function("<method 'append' of 'list' objects>", "~"), Package::Builtin);
        assert_eq!(classify_function("main", ""), Package::User);
        assert_eq!(classify_function("0x7f3a12c0", ""), Package::Native);
        assert_eq!(classify_function("0x55d0+0x1a", "app.py"), Package::Native);
        assert_eq!(classify_function("0xdeadbeefcode", ""), Package::User);
        assert_eq!(classify_function("0x", ""), Package::User);
        assert_eq!(classify_function("[unknown]", ""), Package::Native);
        assert_eq!(classify_function("do_syscall_64_[k]", "[kernel.kallsyms]"), Package::Native);
        assert_eq!(classify_function("<built-in method time.sleep>", "~"), Package::Builtin);
        assert_eq!(classify_function("{method 'append' of 'list' objects}", ""), Package::Builtin);
        assert_eq!(classify_function("{built-in method time.sleep}", ""), Package::Builtin);
        assert_eq!(site_package_name("/x/site-packages/requests/api.py"), Some("requests"));
        assert_eq!(site_package_name("/x/site-packages/six.py"), Some("six"));
        assert_eq!(site_package_name("/x/app.py"), None);
        for &p in Package::ALL {
            assert_eq!(Package::parse(p.as_str()), Some(p));
        }
    }
}
