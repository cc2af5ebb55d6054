//! Package classification of a function's file: stdlib, site-packages, user code or built-in.
//!
//! Used by the `package` filter of the function table, by `grp:pkg` and by the app for colours.

/// Where a function's code comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Package {
    /// The program's own code (anything not recognised as one of the others).
    User,
    /// The Python standard library (`/lib/python3.X/...`, `<frozen ...>`, well-known stdlib modules).
    Stdlib,
    /// Third-party code installed in `site-packages` / `dist-packages`.
    SitePackages,
    /// Built-in or native code: cProfile's `~` file, `<built-in ...>`/`{method ...}` names, shared
    /// objects, kernel frames.
    Builtin,
}

impl Package {
    /// Every class, in wire order.
    pub const ALL: [Package; 4] = [Package::User, Package::Stdlib, Package::SitePackages, Package::Builtin];

    /// The name used on the wire: `user`, `stdlib`, `site-packages`, `builtin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Package::User => "user",
            Package::Stdlib => "stdlib",
            Package::SitePackages => "site-packages",
            Package::Builtin => "builtin",
        }
    }

    /// Parses the wire name (`site_packages` and `native` are accepted too).
    pub fn parse(s: &str) -> Option<Package> {
        Some(match s {
            "user" => Package::User,
            "stdlib" => Package::Stdlib,
            "site-packages" | "site_packages" | "sitepackages" => Package::SitePackages,
            "builtin" | "native" => Package::Builtin,
            _ => return None,
        })
    }
}

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
/// 1. `""`, `~` (cProfile built-ins), `[...]` (perf `[kernel.kallsyms]`, `[unknown]`), shared
///    objects (`*.so`, `*.so.N`, `*.dll`, `*.dylib`) → [`Package::Builtin`];
/// 2. a path component `site-packages` or `dist-packages` → [`Package::SitePackages`];
/// 3. `<frozen ...>`, a `lib/python3.X`/`lib/pythonX`/`lib/pypy`/`Lib` component, or a relative
///    path whose first component is a stdlib module (`threading.py`, `json/decoder.py`)
///    → [`Package::Stdlib`];
/// 4. anything else (including `<string>`, `<stdin>`) → [`Package::User`].
pub fn classify(file: &str) -> Package {
    let f = file.trim();
    if f.is_empty() || f == "~" || (f.starts_with('[') && f.ends_with(']')) {
        return Package::Builtin;
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
        return Package::Builtin;
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
/// as built-in (`<built-in method ...>`, `<method '...' of '...' objects>`, `{built-in ...}`,
/// `{method ...}`, perf's `_[k]` kernel suffix) is [`Package::Builtin`] whatever its file, and a
/// function with an empty file is classified by its name alone (user code unless built-in).
pub fn classify_function(name: &str, file: &str) -> Package {
    let n = name.trim_start();
    if n.starts_with("<built-in")
        || n.starts_with("<method '")
        || n.starts_with("{built-in")
        || n.starts_with("{method ")
        || n.ends_with("_[k]")
        || n.ends_with("_[j]")
    {
        return Package::Builtin;
    }
    if file.is_empty() {
        return Package::User;
    }
    classify(file)
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
        assert_eq!(classify("[kernel.kallsyms]"), Package::Builtin);
        assert_eq!(classify("/usr/lib/x86_64-linux-gnu/libc.so.6"), Package::Builtin);
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
        assert_eq!(classify_function("<built-in method builtins.exec>", "~"), Package::Builtin);
        assert_eq!(classify_function("<method 'append' of 'list' objects>", "~"), Package::Builtin);
        assert_eq!(classify_function("main", ""), Package::User);
        assert_eq!(site_package_name("/x/site-packages/requests/api.py"), Some("requests"));
        assert_eq!(site_package_name("/x/site-packages/six.py"), Some("six"));
        assert_eq!(site_package_name("/x/app.py"), None);
        for p in Package::ALL {
            assert_eq!(Package::parse(p.as_str()), Some(p));
        }
    }
}
