//! Who may write: `--token-file FILE`, one token per line (blank lines and `#` comments skipped),
//! read again whenever the file changes. With it, `POST`, `PUT`, `PATCH` and `DELETE` need
//! `Authorization: Bearer <token>`; reads stay open (ids are 128-bit and tied to the content).
//!
//! Tokens are compared in constant time: both sides are hashed with SHA-256 first (so the
//! comparison does not depend on a token's length either), then every stored digest is compared
//! with `subtle`'s `ConstantTimeEq` and the results are or'ed without an early exit, so the time
//! taken says nothing about how much of a token matched, nor which one.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// What identifies a version of the token file (modified time, size, inode).
type Stamp = (Option<SystemTime>, u64, u64);

/// The tokens of a token file.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    loaded: Mutex<Option<(Stamp, Vec<[u8; 32]>)>>,
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

fn stamp(m: &std::fs::Metadata) -> Stamp {
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(m);
    #[cfg(not(unix))]
    let ino = 0;
    (m.modified().ok(), m.len(), ino)
}

impl Tokens {
    /// Tokens read from `path` (now and whenever it changes).
    pub fn new(path: PathBuf) -> Self {
        Self { path, loaded: Mutex::new(None) }
    }

    /// Reads the file; an error when it cannot be read or holds no token.
    pub fn check_file(&self) -> Result<usize, String> {
        self.current().map(|d| d.len())
    }

    fn current(&self) -> Result<Vec<[u8; 32]>, String> {
        let fail = |e: &dyn std::fmt::Display| format!("token file {}: {e}", self.path.display());
        let meta = std::fs::metadata(&self.path).map_err(|e| fail(&e))?;
        let now = stamp(&meta);
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((s, d)) = loaded.as_ref() {
            if *s == now {
                return Ok(d.clone());
            }
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| fail(&e))?;
        let digests: Vec<[u8; 32]> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| digest(l.as_bytes()))
            .collect();
        if digests.is_empty() {
            return Err(fail(&"holds no token"));
        }
        if loaded.is_some() {
            tracing::info!("token file {} changed: {} token(s)", self.path.display(), digests.len());
        }
        *loaded = Some((now, digests.clone()));
        Ok(digests)
    }

    /// Does this `Authorization` header value carry a valid bearer token? A token file that
    /// cannot be read refuses every write (logged).
    pub fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some(token) = authorization.and_then(bearer) else { return false };
        let digests = match self.current() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("{e}: refusing writes");
                return false;
            }
        };
        let given = digest(token);
        let mut ok = Choice::from(0);
        for d in &digests {
            ok |= d.ct_eq(&given);
        }
        bool::from(ok)
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive).
fn bearer(v: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = v.split_at(v.iter().position(|&b| b == b' ')?);
    scheme.eq_ignore_ascii_case(b"bearer").then(|| rest.trim_ascii()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_reread_when_the_file_changes() {
        let dir = std::env::temp_dir().join(format!("profview-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tokens");
        std::fs::write(&file, "# team\nalpha\n\n  beta  \n").unwrap();
        let t = Tokens::new(file.clone());
        assert_eq!(t.check_file().unwrap(), 2);
        assert!(t.allows(Some(b"Bearer alpha")));
        assert!(t.allows(Some(b"bearer beta")));
        for bad in [&b"Bearer alph"[..], b"Bearer alphaa", b"Basic alpha", b"alpha", b"Bearer ", b"Bearer # team"] {
            assert!(!t.allows(Some(bad)), "{}", String::from_utf8_lossy(bad));
        }
        assert!(!t.allows(None));
        // Replaced (a new inode and size): read again.
        let next = dir.join("tokens.new");
        std::fs::write(&next, "gamma-longer\n").unwrap();
        std::fs::rename(&next, &file).unwrap();
        assert!(t.allows(Some(b"Bearer gamma-longer")));
        assert!(!t.allows(Some(b"Bearer alpha")));
        // Gone or empty: every write refused.
        std::fs::write(&file, "\n# nobody\n").unwrap();
        assert!(!t.allows(Some(b"Bearer gamma-longer")));
        assert!(t.check_file().unwrap_err().contains("no token"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!t.allows(Some(b"Bearer gamma-longer")));
    }
}
