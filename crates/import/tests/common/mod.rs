//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use profview_model::{Dialect, Function, Profile, Thread};

/// `shared/` beside the repository clone (`/work/main` ↔ `/work/shared`; same in CI).
pub fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"));
    assert!(
        p.join("corpus").is_dir(),
        "corpus not found at {}",
        p.display()
    );
    p
}

pub fn corpus() -> PathBuf {
    shared().join("corpus")
}

pub fn bad() -> PathBuf {
    shared().join("bad")
}

pub fn read(p: &std::path::Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `*.truth.json` in a corpus folder, sorted.
pub fn truth_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        .collect();
    v.sort();
    v
}

/// The frame text the producer wrote for one of our functions: the inverse of the folded
/// importer's frame splitting, written independently here.
pub fn render_frame(d: Dialect, f: &Function) -> String {
    match d {
        Dialect::PySpy => {
            if f.file.is_empty() {
                f.name.clone()
            } else if f.line != 0 {
                format!("{} ({}:{})", f.name, f.file, f.line)
            } else {
                format!("{} ({})", f.name, f.file)
            }
        }
        Dialect::Austin | Dialect::Tachyon => {
            if f.file.is_empty() && f.line == 0 {
                f.name.clone()
            } else {
                format!("{}:{}:{}", f.file, f.name, f.line)
            }
        }
        _ => {
            let suffix = match f.file.as_str() {
                "" => "",
                "[kernel]" => "_[k]",
                "[jit]" => "_[j]",
                "[inlined]" => "_[i]",
                "[waker]" => "_[w]",
                other => panic!("unexpected file {other:?} for a {d:?} frame"),
            };
            format!("{}{suffix}", f.name)
        }
    }
}

/// Pseudo-frames of a thread as the producer wrote them, when they can be recovered exactly
/// (`None` for py-spy, where `thread (T)` and `thread (T): name` are one thread).
pub fn render_thread(d: Dialect, t: &Thread) -> Option<Vec<String>> {
    if t.id == "all" && t.name.is_none() {
        return Some(vec![]); // the default thread of files without thread information
    }
    match d {
        Dialect::Austin => Some(t.id.split(';').map(str::to_owned).collect()),
        Dialect::Tachyon => Some(vec![format!("tid:{}", t.id)]),
        Dialect::PySpy => None,
        _ => Some(vec![t.id.clone()]),
    }
}

/// Raw-frame view of a sampled profile: per frame text, (self, total) as the truth files
/// define them (self = weight of samples whose last frame it is; total = weight of samples
/// containing it at least once). Thread pseudo-frames that cannot be rendered are left out.
pub fn raw_frame_view(p: &Profile) -> std::collections::HashMap<String, (f64, f64)> {
    let s = p.samples.as_ref().unwrap();
    let names: Vec<String> = p
        .functions
        .iter()
        .map(|f| render_frame(p.dialect, f))
        .collect();
    let mut out: std::collections::HashMap<String, (f64, f64)> = Default::default();
    for smp in &s.samples {
        let mut frames: Vec<String> = Vec::new();
        let th = render_thread(p.dialect, &p.threads[smp.thread.idx()]);
        let hidden_thread = th.is_none();
        frames.extend(th.unwrap_or_default());
        if let Some(st) = smp.stack() {
            frames.extend(
                s.stacks
                    .frames(st)
                    .into_iter()
                    .map(|f| names[f.idx()].clone()),
            );
        }
        if frames.is_empty() {
            if hidden_thread {
                continue; // the only frame is an unrendered thread pseudo-frame
            }
            frames.push(String::new());
        }
        let last = frames.last().unwrap().clone();
        out.entry(last).or_default().0 += smp.weight;
        let mut seen = std::collections::HashSet::new();
        for f in frames {
            if seen.insert(f.clone()) {
                out.entry(f).or_default().1 += smp.weight;
            }
        }
    }
    out
}
