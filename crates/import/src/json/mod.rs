//! The JSON importers and what they share: content sniffing by key, the [`ImportError::Json`]
//! errors, name caps, and the open-stack walker of the evented formats.
//!
//! Every importer here reads typed serde structs (serde_json caps nesting at 128, so no input
//! recurses deeply), checks every index it follows, and interns stacks through
//! [`SampleBuilder`], so its work is linear in the input (chrome traces: plus one sort).

use profview_model::{FuncId, SampleBuilder, StackId, ThreadId};

use profview_model::Profile;

use crate::{finish, truncate_name, ImportError, ImportWarning, Imported, Limits};

pub mod chrome;
pub mod cpuprofile;
pub mod gecko;
pub mod pyinstrument;
pub mod speedscope;

/// How much of the input the sniffers look at (the streaming reader detects on its first MiB).
pub(crate) const HEAD: usize = 1 << 20;

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The first non-whitespace byte (after a UTF-8 BOM).
pub(crate) fn first_byte(bytes: &[u8]) -> Option<u8> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    bytes.iter().copied().find(|&b| !is_ws(b))
}

/// The sniffed part of the input.
pub(crate) fn head(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len().min(HEAD)]
}

/// True when `"key"` occurs as an object key (followed by optional whitespace and `:`) in `hay`.
/// A string value cannot match: inside a JSON string a quote is escaped, and a value is followed
/// by `,`, `}` or `]`, never `:`.
pub(crate) fn has_key(hay: &[u8], key: &str) -> bool {
    let pat = format!("\"{key}\"");
    memchr::memmem::find_iter(hay, pat.as_bytes()).any(|i| {
        let escaped = i > 0 && hay[i - 1] == b'\\';
        let rest = &hay[i + pat.len()..];
        !escaped && rest.iter().copied().find(|&b| !is_ws(b)) == Some(b':')
    })
}

/// A [`ImportError::Json`] for `format`.
pub(crate) fn err(format: &'static str, message: impl Into<String>) -> ImportError {
    ImportError::Json { format, message: message.into() }
}

/// serde_json's error as an [`ImportError::Json`] ("bad JSON: … at line L column C").
pub(crate) fn serde_err(format: &'static str, e: &serde_json::Error) -> ImportError {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "the file ends too early (truncated?)",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "JSON of the wrong shape",
        serde_json::error::Category::Io => "read error",
    };
    err(format, format!("{what}: {e}"))
}

/// [`finish`] after checking that no weight overflowed (times or weights whose sums pass the
/// largest float are an input problem, not an importer bug).
pub(crate) fn finish_json(format: &'static str, profile: Profile, warnings: Vec<ImportWarning>) -> Result<Imported, ImportError> {
    let overflow = profile.samples.as_ref().is_some_and(|s| s.samples.iter().any(|x| !x.weight.is_finite()));
    if overflow {
        return Err(err(format, "times or weights add up beyond the largest number"));
    }
    finish(profile, warnings)
}

/// A time span `to - from` scaled by `factor`, refused when not finite.
pub(crate) fn span(format: &'static str, from: f64, to: f64, factor: f64) -> Result<f64, ImportError> {
    let d = (to - from) * factor;
    if d.is_finite() {
        Ok(d)
    } else {
        Err(err(format, format!("the time from {from} to {to} is too large")))
    }
}

/// Interns functions with names and files cut at [`Limits::max_name_len`], counting the cuts.
pub(crate) struct Funcs {
    max: usize,
    cut: usize,
}

impl Funcs {
    pub(crate) fn new(limits: &Limits) -> Self {
        Funcs { max: limits.max_name_len, cut: 0 }
    }

    /// Interns `(name, file, line)` in `b`.
    pub(crate) fn intern(&mut self, b: &mut SampleBuilder, name: &str, file: &str, line: i64) -> FuncId {
        if name.len() <= self.max && file.len() <= self.max {
            return b.function(name, file, line);
        }
        let (mut n, mut f) = (name.to_owned(), file.to_owned());
        if truncate_name(&mut n, self.max) | truncate_name(&mut f, self.max) {
            self.cut += 1;
        }
        b.function(&n, &f, line)
    }

    /// A name cut like a function's (thread names).
    pub(crate) fn cap(&mut self, mut s: String) -> String {
        truncate_name(&mut s, self.max);
        s
    }

    /// The warning about cut names, if any.
    pub(crate) fn warn(&self, warnings: &mut Vec<ImportWarning>) {
        if self.cut > 0 {
            warnings.push(ImportWarning::new(format!(
                "{} function names or files longer than {} bytes were truncated",
                self.cut, self.max
            )));
        }
    }
}

/// The open frames of one thread of an evented format, as interned stack nodes: opening a frame
/// is one [`SampleBuilder::child`], time is added to the innermost open node.
#[derive(Default)]
pub(crate) struct OpenStack {
    /// (node, the caller's token for the frame): root first.
    pub(crate) nodes: Vec<(StackId, u64)>,
}

impl OpenStack {
    /// Opens `func` under the innermost frame; `Err(limit)` beyond `max_depth` frames.
    pub(crate) fn open(&mut self, b: &mut SampleBuilder, func: FuncId, token: u64, max_depth: usize) -> Result<(), usize> {
        if self.nodes.len() >= max_depth {
            return Err(max_depth);
        }
        let node = b.child(self.nodes.last().map(|n| n.0), func);
        self.nodes.push((node, token));
        Ok(())
    }

    /// Adds `weight` to the innermost open frame (nothing when none is open or `weight` is 0).
    pub(crate) fn spend(&self, b: &mut SampleBuilder, thread: ThreadId, weight: f64) {
        if let Some(&(node, _)) = self.nodes.last() {
            if weight != 0.0 {
                b.add_at(Some(node), thread, weight);
            }
        }
    }
}

/// Splits py-spy's speedscope profile name `Thread <tid> "<name>"` (or `Thread <tid>`) into the
/// thread id and its name (`None` when empty).
pub(crate) fn pyspy_thread_name(s: &str) -> Option<(&str, Option<&str>)> {
    let rest = s.strip_prefix("Thread ")?;
    let (id, name) = match rest.find(" \"") {
        Some(i) => {
            let quoted = &rest[i + 2..];
            (&rest[..i], Some(quoted.strip_suffix('"')?))
        }
        None => (rest, None),
    };
    if id.is_empty() {
        return None;
    }
    Some((id, name.filter(|n| !n.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_not_values_are_found() {
        assert!(has_key(br#"{"a": 1, "nodes" : []}"#, "nodes"));
        assert!(!has_key(br#"{"a": "nodes", "b": ["nodes"]}"#, "nodes"));
        assert!(!has_key(br#"{"a": "x \"nodes\": y"}"#, "nodes"));
        // `"nodes"` after an escaped quote, followed by `:`: the end of the key `x"nodes`.
        assert!(!has_key(br#"{"x\"nodes": 1}"#, "nodes"));
        assert!(has_key(br#"{"x\"nodes": 1, "nodes": 2}"#, "nodes"));
    }

    #[test]
    fn pyspy_thread_names_split() {
        assert_eq!(pyspy_thread_name(r#"Thread 24329 """#), Some(("24329", None)));
        assert_eq!(pyspy_thread_name(r#"Thread 7 "Main "x" Thread""#), Some(("7", Some(r#"Main "x" Thread"#))));
        assert_eq!(pyspy_thread_name("Thread 7"), Some(("7", None)));
        assert_eq!(pyspy_thread_name("CPU"), None);
        assert_eq!(pyspy_thread_name(r#"Thread 7 "open"#), None);
    }
}
