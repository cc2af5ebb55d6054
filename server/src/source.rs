//! `profview serve --source-root DIR`: a profiled function's source, read only from under the
//! roots the person running the server named. Off by default.
//!
//! File names in a profile are attacker text (anyone may upload a profile naming `/etc/shadow`).
//! So a name is only ever looked up *inside* a root: an absolute name must lie lexically under a
//! root, or one of its tails is tried under each root (a profile recorded in a container names
//! `/app/x.py`; the checkout is at `/srv/app`); a relative name is joined to each root. A name with
//! a `..` component is refused before any lookup. Every candidate is then canonicalized (symlinks
//! resolved) and must still lie under the root's canonical path, be a regular file and be at most
//! [`MAX_SOURCE_BYTES`]. Nothing outside the roots is ever opened or stat'ed, and every miss
//! answers the same "not found under the source roots", so a profile cannot probe the disk.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Largest source file shown.
pub const MAX_SOURCE_BYTES: u64 = 8 << 20;
/// Most lines one answer carries.
pub const MAX_SOURCE_LINES: usize = 2000;

/// The canonical source roots; empty when the source view is off.
#[derive(Clone, Debug, Default)]
pub struct SourceRoots {
    roots: Vec<PathBuf>,
}

/// Why a source file is not shown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    /// No `--source-root` was given.
    #[error("the source view is off: start the server with --source-root DIR")]
    Off,
    /// The name cannot be looked up (empty, `~`, `<frozen …>`, a `..` component, a NUL byte).
    #[error("{0:?} is not a source file name that can be looked up")]
    BadName(String),
    /// No file under the roots matches the name.
    #[error("no file under the source roots matches {0:?}")]
    NotFound(String),
    /// The file matched but is too large or unreadable.
    #[error("{0}")]
    Unreadable(String),
}

/// Lines of a source file.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceText {
    /// The file that was read (canonical, under a root).
    pub path: PathBuf,
    /// Number of the first line in `lines` (1-based).
    pub first_line: u32,
    /// The lines from `first_line` on (invalid UTF-8 replaced).
    pub lines: Vec<String>,
    /// Lines in the whole file.
    pub line_count: u32,
}

impl SourceRoots {
    /// Canonicalizes the given directories; each must exist and be a directory.
    pub fn new(dirs: &[PathBuf]) -> Result<Self, String> {
        let mut roots = Vec::with_capacity(dirs.len());
        for d in dirs {
            let c = fs::canonicalize(d).map_err(|e| format!("--source-root {}: {e}", d.display()))?;
            if !c.is_dir() {
                return Err(format!("--source-root {}: not a directory", d.display()));
            }
            roots.push(c);
        }
        Ok(SourceRoots { roots })
    }

    /// Whether the source view is on.
    pub fn is_on(&self) -> bool {
        !self.roots.is_empty()
    }

    /// The file under a root that `name` (as the profile stores it) stands for.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, SourceError> {
        if self.roots.is_empty() {
            return Err(SourceError::Off);
        }
        let bad = || SourceError::BadName(name.to_owned());
        if name.is_empty() || name == "~" || name.starts_with('<') || name.contains('\0') {
            return Err(bad());
        }
        let path = Path::new(name);
        let mut parts = Vec::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => parts.push(p),
                Component::RootDir | Component::CurDir => {}
                Component::ParentDir | Component::Prefix(_) => return Err(bad()),
            }
        }
        if parts.is_empty() {
            return Err(bad());
        }
        let mut candidates = Vec::new();
        if path.is_absolute() {
            // The name itself, when it is (lexically) under a root.
            for root in &self.roots {
                if path.starts_with(root) {
                    candidates.push((root, path.to_path_buf()));
                }
            }
        }
        // The name, then ever shorter tails of it, under each root.
        for skip in 0..parts.len() {
            for root in &self.roots {
                let mut p = root.clone();
                p.extend(&parts[skip..]);
                candidates.push((root, p));
            }
            if !path.is_absolute() {
                break; // a relative name is relative to a root, not a tail of something else
            }
        }
        for (root, candidate) in candidates {
            let Ok(real) = fs::canonicalize(&candidate) else { continue };
            if real.starts_with(root) && real.is_file() {
                return Ok(real);
            }
        }
        Err(SourceError::NotFound(name.to_owned()))
    }

    /// Lines `from..=to` (1-based, clamped to the file and to [`MAX_SOURCE_LINES`]) of the file
    /// `name` stands for.
    pub fn read(&self, name: &str, from: u32, to: u32) -> Result<SourceText, SourceError> {
        let path = self.resolve(name)?;
        let unreadable = |e: &dyn std::fmt::Display| SourceError::Unreadable(format!("{name}: {e}"));
        let file = fs::File::open(&path).map_err(|e| unreadable(&e))?;
        let len = file.metadata().map_err(|e| unreadable(&e))?.len();
        if len > MAX_SOURCE_BYTES {
            return Err(unreadable(&format!("{len} bytes, more than the {MAX_SOURCE_BYTES} shown")));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| unreadable(&e))?;
        if bytes.contains(&0) {
            return Err(unreadable(&"not a text file"));
        }
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        let first = from.max(1);
        let last = to.max(first).min(all.len() as u32).min(first.saturating_add(MAX_SOURCE_LINES as u32 - 1));
        let lines = if (first as usize) <= all.len() {
            all[first as usize - 1..last as usize].iter().map(|s| (*s).to_owned()).collect()
        } else {
            Vec::new()
        };
        Ok(SourceText { path, first_line: first, lines, line_count: all.len() as u32 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("srv/app");
        let outside = d.path().join("secret");
        fs::create_dir_all(root.join("pkg")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(root.join("pkg/work.py"), "import os\n\ndef work():\n    return 1\n").unwrap();
        fs::write(outside.join("key.txt"), "secret\n").unwrap();
        (d, root, outside)
    }

    #[test]
    fn off_unless_a_root_is_given() {
        assert_eq!(SourceRoots::default().resolve("/etc/passwd"), Err(SourceError::Off));
    }

    #[test]
    fn names_are_found_under_the_roots_only() {
        let (_d, root, outside) = tree();
        let roots = SourceRoots::new(std::slice::from_ref(&root)).unwrap();
        let want = fs::canonicalize(root.join("pkg/work.py")).unwrap();
        // Relative, absolute under the root, and a container's absolute path whose tail matches.
        assert_eq!(roots.resolve("pkg/work.py").unwrap(), want);
        assert_eq!(roots.resolve(root.join("pkg/work.py").to_str().unwrap()).unwrap(), want);
        assert_eq!(roots.resolve("/home/user/app/pkg/work.py").unwrap(), want);
        // Outside: an absolute path, a traversal, a symlink out of the root.
        let key = outside.join("key.txt");
        assert!(matches!(roots.resolve(key.to_str().unwrap()), Err(SourceError::NotFound(_))));
        assert!(matches!(roots.resolve("../../secret/key.txt"), Err(SourceError::BadName(_))));
        assert!(matches!(roots.resolve("pkg/../../../secret/key.txt"), Err(SourceError::BadName(_))));
        std::os::unix::fs::symlink(&key, root.join("pkg/link.py")).unwrap();
        assert!(matches!(roots.resolve("pkg/link.py"), Err(SourceError::NotFound(_))));
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        assert!(matches!(roots.resolve("out/key.txt"), Err(SourceError::NotFound(_))));
        for name in ["", "~", "<frozen importlib._bootstrap>", "a\0b"] {
            assert!(matches!(roots.resolve(name), Err(SourceError::BadName(_))), "{name:?}");
        }
    }

    #[test]
    fn reads_the_asked_lines_clamped_to_the_file() {
        let (_d, root, _) = tree();
        let roots = SourceRoots::new(&[root]).unwrap();
        let t = roots.read("pkg/work.py", 3, 100).unwrap();
        assert_eq!((t.first_line, t.line_count), (3, 4));
        assert_eq!(t.lines, ["def work():", "    return 1"]);
        assert!(roots.read("pkg/work.py", 9, 12).unwrap().lines.is_empty());
    }
}
