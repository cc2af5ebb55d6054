//! Raw `perf script` text, collapsed with inferno's perf folder (`comm-pid/tid` roots, `_[k]`
//! and `_[j]` annotations), then imported by the folded importer (dialect perf).
//!
//! Native targets only (see the `perf-script` feature in Cargo.toml).

use inferno::collapse::perf::{Folder, Options};
use inferno::collapse::Collapse;
use profview_model::Dialect;

use crate::folded::FoldedParser;
use crate::{ImportError, ImportWarning, Imported, Limits};

fn options() -> Options {
    let mut o = Options::default();
    o.include_pid = true;
    o.include_tid = true;
    o.annotate_kernel = true;
    o.annotate_jit = true;
    o.nthreads = 1;
    o
}

/// `Some(true)` when the text starts with a perf event line followed by a stack line.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    if bytes.is_empty() {
        return None;
    }
    // Look at a bounded head, cut at a line end.
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let head = match memchr::memrchr(b'\n', head) {
        Some(i) if head.len() < bytes.len() => &head[..i + 1],
        _ => head,
    };
    if head.contains(&0) {
        return Some(false);
    }
    let text = String::from_utf8_lossy(head);
    let mut folder = Folder::from(options());
    folder.is_applicable(&text)
}

/// Collapses `perf script` output and imports it.
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let mut folder = Folder::from(options());
    let mut out: Vec<u8> = Vec::new();
    folder
        .collapse(bytes, &mut out)
        .map_err(|e| ImportError::Perf(e.to_string()))?;
    if out.is_empty() {
        return Err(ImportError::Perf(
            "no stacks found in perf script text".into(),
        ));
    }
    let mut p = FoldedParser::with_dialect(limits.clone(), Dialect::Perf);
    p.feed(&out);
    let mut imported = p.finish()?;
    imported.warnings.insert(
        0,
        ImportWarning::new("raw perf script text collapsed with inferno-collapse-perf"),
    );
    Ok(imported)
}
