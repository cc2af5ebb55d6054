//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use profview_model::{Dialect, Function, Profile, Thread};

/// The repository's test fixtures, `tests/fixtures/` (origins in its `MANIFEST.md`). Nothing
/// outside the clone is read.
pub fn fixtures() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"));
    assert!(
        p.join("corpus").is_dir(),
        "fixtures not found at {}",
        p.display()
    );
    p
}

pub fn corpus() -> PathBuf {
    fixtures().join("corpus")
}

/// One malformed or hostile input by name: the copy in `tests/fixtures/bad/`, or the large
/// file generated at run time (see [`GENERATED_BAD`]).
pub fn bad(name: &str) -> PathBuf {
    if GENERATED_BAD.iter().any(|(n, _)| *n == name) {
        generated_bad_dir().join(name)
    } else {
        fixtures().join("bad").join(name)
    }
}

/// Every malformed or hostile input (copied and generated; not `README.md`), sorted by name.
pub fn bad_files() -> Vec<PathBuf> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "README.md")
        .chain(GENERATED_BAD.iter().map(|(n, _)| bad(n)))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

/// Makes one generated input.
pub type MakeBytes = fn() -> Vec<u8>;

/// The hostile inputs too big to commit, as generated here: byte for byte the files of the same
/// name in the reference set (sizes below; sha256 in `tests/fixtures/MANIFEST.md`).
pub const GENERATED_BAD: &[(&str, MakeBytes)] = &[
    (
        "folded_200k_distinct_stacks.folded",
        gen_200k_distinct_stacks,
    ),
    (
        "folded_deep_1e6_distinct_frames.folded",
        gen_deep_1e6_frames,
    ),
    (
        "folded_huge_single_frame_1MiB.folded",
        gen_huge_single_frame,
    ),
    ("pstats_big_truncated_at_187778.prof", gen_big_truncated),
    ("pstats_deep_dicts_100000.prof", gen_deep_dicts),
];

/// 200,000 distinct stacks `root;mod{i%97};fn{i} {i%13+1}` (4,329,806 bytes, total 1,399,980).
fn gen_200k_distinct_stacks() -> Vec<u8> {
    use std::fmt::Write;
    let mut s = String::with_capacity(4_329_806);
    for i in 0..200_000u32 {
        writeln!(s, "root;mod{};fn{i} {}", i % 97, i % 13 + 1).unwrap();
    }
    assert_eq!(s.len(), 4_329_806);
    s.into_bytes()
}

/// One stack of 1,000,000 distinct frames `fn0;…;fn999999 1` (8,888,892 bytes).
fn gen_deep_1e6_frames() -> Vec<u8> {
    use std::fmt::Write;
    let mut s = String::with_capacity(8_888_892);
    for i in 0..1_000_000u32 {
        if i > 0 {
            s.push(';');
        }
        write!(s, "fn{i}").unwrap();
    }
    s.push_str(" 1\n");
    assert_eq!(s.len(), 8_888_892);
    s.into_bytes()
}

/// `main;` then one frame of 1 MiB of `X`, count 1 (1,048,584 bytes).
fn gen_huge_single_frame() -> Vec<u8> {
    let mut b = b"main;".to_vec();
    b.resize(b.len() + (1 << 20), b'X');
    b.extend_from_slice(b" 1\n");
    assert_eq!(b.len(), 1_048_584);
    b
}

/// `corpus/pstats/cprofile_black_one_file.prof` minus its last byte, the final dict
/// terminator `0` (187,778 bytes).
fn gen_big_truncated() -> Vec<u8> {
    let mut b = read(&corpus().join("pstats/cprofile_black_one_file.prof"));
    assert_eq!(b.pop(), Some(b'0'));
    assert_eq!(b.len(), 187_778);
    b
}

/// Marshal dicts nested 100,000 deep: `{` + short-ASCII key `k` (`z\x01k`) per level, then
/// `N` (None) and the 100,000 `0` terminators (500,001 bytes).
fn gen_deep_dicts() -> Vec<u8> {
    let mut b = b"{z\x01k".repeat(100_000);
    b.push(b'N');
    b.resize(b.len() + 100_000, b'0');
    assert_eq!(b.len(), 500_001);
    b
}

/// The generated hostile inputs, written once per test process under Cargo's temporary
/// directory for integration tests (each through a temporary name and a rename, so a
/// concurrent test process never reads a partial file).
fn generated_bad_dir() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fixtures-generated/bad");
        std::fs::create_dir_all(&dir).unwrap();
        for (name, make) in GENERATED_BAD {
            let tmp = dir.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&tmp, make()).unwrap();
            std::fs::rename(&tmp, dir.join(name)).unwrap();
        }
        dir
    })
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
