//! The folded dialects: deciding one from the first stack, and splitting a frame into name,
//! file and line (py-spy, austin/Tachyon, perf annotations, thread pseudo-frames).

use memchr::memchr;


#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    Gregg,
    PySpy,
    Austin,
    Tachyon,
}

pub(super) fn decide(stack: &[u8]) -> Mode {
    // austin: `P<digits>;T`
    if stack.first() == Some(&b'P') {
        if let Some(i) = memchr(b';', stack) {
            if i > 1
                && stack[1..i].iter().all(u8::is_ascii_digit)
                && stack.get(i + 1) == Some(&b'T')
            {
                return Mode::Austin;
            }
        }
    }
    if let Some(r) = stack.strip_prefix(b"tid:") {
        let end = memchr(b';', r).unwrap_or(r.len());
        if end > 0 && r[..end].iter().all(u8::is_ascii_digit) {
            return Mode::Tachyon;
        }
    }
    let root_end = memchr(b';', stack).unwrap_or(stack.len());
    if is_pyspy_pseudo(&stack[..root_end]) {
        return Mode::PySpy;
    }
    let leaf = stack.rsplit(|&b| b == b';').next().unwrap_or(stack);
    let root = &stack[..root_end];
    let looks = |f: &[u8]| {
        f.ends_with(b")") && memchr::memmem::rfind(f, b" (").is_some_and(|i| i + 3 < f.len())
    };
    if looks(leaf) && looks(root) {
        return Mode::PySpy;
    }
    Mode::Gregg
}

/// `thread (TID)`, `thread (TID): NAME` or `process PID:"cmd"`.
pub(super) fn is_pyspy_pseudo(f: &[u8]) -> bool {
    if let Some(r) = f.strip_prefix(b"thread (") {
        let Some(close) = memchr(b')', r) else {
            return false;
        };
        return close > 0
            && r[..close].iter().all(u8::is_ascii_digit)
            && (close + 1 == r.len() || r[close + 1..].starts_with(b": "));
    }
    if let Some(r) = f.strip_prefix(b"process ") {
        let Some(colon) = memchr(b':', r) else {
            return false;
        };
        return colon > 0 && r[..colon].iter().all(u8::is_ascii_digit);
    }
    false
}

/// `comm-PID/TID` (PID may be `?`) → `Some(comm)`.
pub(super) fn perf_thread_root(root: &[u8]) -> Option<&[u8]> {
    let slash = memchr::memrchr(b'/', root)?;
    let tid = &root[slash + 1..];
    if tid.is_empty() || !tid.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let head = &root[..slash];
    let dash = memchr::memrchr(b'-', head)?;
    let pid = &head[dash + 1..];
    if pid != b"?" && (pid.is_empty() || !pid.iter().all(u8::is_ascii_digit)) {
        return None;
    }
    Some(&head[..dash])
}

/// The thread id and name for a pseudo-frame prefix.
pub(super) fn thread_identity(mode: Mode, prefix: &[u8]) -> (String, Option<String>) {
    let text = String::from_utf8_lossy(prefix).into_owned();
    match mode {
        Mode::Tachyon => (text.strip_prefix("tid:").unwrap_or(&text).to_owned(), None),
        Mode::PySpy => {
            let mut pids = Vec::new();
            let mut cmd = None;
            let mut tid = None;
            let mut name = None;
            for f in text.split(';') {
                if let Some(r) = f.strip_prefix("process ") {
                    if let Some((pid, c)) = r.split_once(':') {
                        pids.push(pid.to_owned());
                        cmd = Some(c.trim_matches('"').to_owned());
                    }
                } else if let Some(r) = f.strip_prefix("thread (") {
                    if let Some((t, n)) = r.split_once(')') {
                        tid = Some(t.to_owned());
                        name = n.strip_prefix(": ").map(str::to_owned);
                    }
                }
            }
            let mut id = pids.join("/");
            if let Some(t) = tid {
                if !id.is_empty() {
                    id.push('/');
                }
                id.push_str(&t);
            }
            (id, name.or(cmd))
        }
        _ => (text, None),
    }
}

/// Strips a perf/inferno annotation: `name_[k]` → (`name`, `[kernel]`).
pub(crate) fn split_annotation(s: &str) -> (&str, Option<&'static str>) {
    for (suffix, marker) in [
        ("_[k]", "[kernel]"),
        ("_[j]", "[jit]"),
        ("_[i]", "[inlined]"),
        ("_[w]", "[waker]"),
    ] {
        if let Some(head) = s.strip_suffix(suffix) {
            if !head.is_empty() {
                return (head, Some(marker));
            }
        }
    }
    (s, None)
}

fn valid_line(d: &str, allow_zero: bool) -> Option<i64> {
    if d.is_empty() || d.len() > 18 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if d.len() > 1 && d.starts_with('0') {
        return None;
    }
    let v: i64 = d.parse().ok()?;
    (allow_zero || v != 0).then_some(v)
}

/// py-spy: `func (file:line)`, `func (file)`; anything else is all name.
pub(crate) fn split_pyspy(s: &str) -> (&str, &str, i64) {
    if let Some(body) = s.strip_suffix(')') {
        if let Some(p) = body.rfind(" (") {
            let inner = &body[p + 2..];
            if !inner.is_empty() {
                let name = &body[..p];
                if let Some(c) = inner.rfind(':') {
                    if c > 0 {
                        if let Some(l) = valid_line(&inner[c + 1..], false) {
                            return (name, &inner[..c], l);
                        }
                    }
                }
                return (name, inner, 0);
            }
        }
    }
    (s, "", 0)
}

/// austin / Tachyon: `file:func:line` split on the last two colons; anything else is all name.
pub(crate) fn split_austin(s: &str) -> (&str, &str, i64) {
    if let Some(c2) = s.rfind(':') {
        if let Some(l) = valid_line(&s[c2 + 1..], true) {
            let head = &s[..c2];
            if let Some(c1) = head.rfind(':') {
                let file = &head[..c1];
                if !(file.is_empty() && l == 0) {
                    return (&head[c1 + 1..], file, l);
                }
            }
        }
    }
    (s, "", 0)
}
