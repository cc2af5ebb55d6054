//! Where profiles live: content-addressed blobs plus a metadata index, each behind a trait so a
//! remote object store (S3-compatible) could stand in for the local directory without touching a
//! handler.
//!
//! Two implementations of each:
//! - [`FsBlobStore`] + [`RedbMetaStore`]: the data directory (`--data-dir`). Blobs are files named by
//!   the profile id under `blobs/`; metadata is one redb table in `meta.redb`.
//! - [`MemBlobStore`] + [`MemMetaStore`]: in memory only ([`AppState::new`](crate::AppState::new),
//!   used by tests).
//!
//! Durability protocol (see `AppState::ingest`): the bytes are staged in a temp file, fsynced and
//! renamed into `blobs/` (and the directory fsynced) *before* the metadata row is committed. A crash
//! at any point leaves either nothing listed, or a listed profile whose blob is complete. Orphans
//! (a blob without a row, a staged file nobody finished) are swept at startup.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

/// Length of a profile id: 32 lowercase hex digits (the first 128 bits of the BLAKE3 hash).
pub const ID_LEN: usize = 32;

/// True for a well-formed id. Everything that turns an id into a path checks this first.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Everything we keep about a profile besides its bytes: enough to list it without importing it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileMeta {
    /// Profile id (first 32 hex digits of the BLAKE3 hash of the bytes).
    pub id: String,
    /// Full BLAKE3 hash in hex, checked when the blob is read back.
    pub blake3: String,
    /// Display name.
    pub name: String,
    /// The name the file was stored under (the importer uses it to tell formats apart).
    #[serde(default)]
    pub source_name: String,
    /// `pstats` or `folded`.
    pub format: String,
    /// Producer dialect.
    pub dialect: String,
    /// Unit of the primary metric.
    pub unit: String,
    /// Number of listed functions.
    pub functions: u64,
    /// Size of the stored file in bytes (as uploaded, possibly gzipped).
    pub size: u64,
    /// When it was stored, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Grand total in `unit` (pstats total time, or total sample weight).
    pub total: Option<f64>,
    /// pstats: total calls.
    pub calls: Option<u64>,
    /// Import warnings (at most [`MAX_WARNINGS`] kept).
    pub warnings: Vec<String>,
}

/// Warnings kept per profile.
pub const MAX_WARNINGS: usize = 100;

/// A named, permanent set of stored profiles of one kind (`/c/<id>`). Its id is content-derived
/// (the name and the member ids), so making the same collection twice gives the same one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionMeta {
    /// Collection id (32 hex digits, like a profile id).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Member profile ids, in order.
    pub profiles: Vec<String>,
    /// `pstats` or `samples`.
    pub kind: String,
    /// Unit of the members.
    pub unit: String,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// Where a blob to store comes from.
pub enum BlobSource<'a> {
    /// A staged file on the local disk (it may be moved into place).
    File(&'a Path),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

/// Content-addressed bytes. `put` must be durable when it returns.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores the blob under `id`, atomically: a reader sees all of it or nothing.
    fn put(&self, id: &str, src: BlobSource<'_>) -> io::Result<()>;
    /// The bytes, or `None` when absent.
    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>>;
    /// A reader over the bytes, or `None` when absent: lets a large profile be imported in
    /// blocks instead of read whole. The default reads the whole blob.
    fn open(&self, id: &str) -> io::Result<Option<Box<dyn io::Read + Send>>> {
        Ok(self.get(id)?.map(|b| Box::new(io::Cursor::new(b)) as Box<dyn io::Read + Send>))
    }
    /// Removes the blob; true when it existed.
    fn delete(&self, id: &str) -> io::Result<bool>;
    /// Every stored id.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Removes what a crash may have left half-done (staged files, blobs no metadata names)
    /// and older than `grace`.
    fn sweep(&self, keep: &dyn Fn(&str) -> bool, grace: Duration) -> io::Result<usize> {
        let _ = (keep, grace);
        Ok(0)
    }
}

/// A remote store that did not answer as it should (refused, timed out, failed): carried inside an
/// `io::Error` so a load reports it as unavailable (503), not as an unreadable profile (500).
#[derive(Debug, thiserror::Error)]
#[error("the store did not answer: {0}")]
pub struct StoreUnavailable(pub String);

/// Error of a metadata store.
#[derive(Debug, thiserror::Error)]
#[error("metadata store: {0}")]
pub struct MetaError(pub String);

/// The metadata index.
pub trait MetaStore: Send + Sync + std::fmt::Debug {
    /// Inserts `meta` unless its id is present; returns the row now stored.
    fn insert_if_absent(&self, meta: &ProfileMeta) -> Result<ProfileMeta, MetaError>;
    /// One row.
    fn get(&self, id: &str) -> Result<Option<ProfileMeta>, MetaError>;
    /// Every row, oldest first.
    fn list(&self) -> Result<Vec<ProfileMeta>, MetaError>;
    /// Changes the display name; the updated row, or `None` when absent.
    fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, MetaError>;
    /// Removes a row; true when it existed.
    fn delete(&self, id: &str) -> Result<bool, MetaError>;
    /// Stores a collection unless its id is present; returns the one now stored.
    fn insert_collection_if_absent(&self, c: &CollectionMeta) -> Result<CollectionMeta, MetaError> {
        let _ = c;
        Err(MetaError("this store keeps no collections".into()))
    }
    /// One collection.
    fn get_collection(&self, id: &str) -> Result<Option<CollectionMeta>, MetaError> {
        let _ = id;
        Ok(None)
    }
    /// Every collection, oldest first.
    fn list_collections(&self) -> Result<Vec<CollectionMeta>, MetaError> {
        Ok(Vec::new())
    }
    /// Does the store answer? (`GET /readyz`.) The default lists the rows.
    fn ping(&self) -> Result<(), MetaError> {
        self.list().map(|_| ())
    }
}

pub(crate) fn sort_collections(rows: &mut [CollectionMeta]) {
    rows.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
}

pub(crate) fn sort_rows(rows: &mut [ProfileMeta]) {
    rows.sort_by(|a, b| a.created_ms.cmp(&b.created_ms).then_with(|| a.id.cmp(&b.id)));
}

// ---------------------------------------------------------------------------------------------
// In memory

/// Blobs in memory.
#[derive(Debug, Default)]
pub struct MemBlobStore(Mutex<BTreeMap<String, Arc<Vec<u8>>>>);

impl BlobStore for MemBlobStore {
    fn put(&self, id: &str, src: BlobSource<'_>) -> io::Result<()> {
        let bytes = match src {
            BlobSource::File(p) => fs::read(p)?,
            BlobSource::Bytes(b) => b.to_vec(),
        };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), Arc::new(bytes));
        Ok(())
    }
    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).get(id).map(|b| b.as_ref().clone()))
    }
    fn delete(&self, id: &str) -> io::Result<bool> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id).is_some())
    }
    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect())
    }
}

/// Metadata in memory (keeps registration order): profile rows and collections.
#[derive(Debug, Default)]
pub struct MemMetaStore(Mutex<Vec<ProfileMeta>>, Mutex<Vec<CollectionMeta>>);

impl MetaStore for MemMetaStore {
    fn insert_if_absent(&self, meta: &ProfileMeta) -> Result<ProfileMeta, MetaError> {
        let mut rows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = rows.iter().find(|r| r.id == meta.id) {
            return Ok(r.clone());
        }
        rows.push(meta.clone());
        Ok(meta.clone())
    }
    fn get(&self, id: &str) -> Result<Option<ProfileMeta>, MetaError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|r| r.id == id).cloned())
    }
    fn list(&self) -> Result<Vec<ProfileMeta>, MetaError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
    fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, MetaError> {
        let mut rows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Ok(rows.iter_mut().find(|r| r.id == id).map(|r| {
            r.name = name.to_owned();
            r.clone()
        }))
    }
    fn delete(&self, id: &str) -> Result<bool, MetaError> {
        let mut rows = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let before = rows.len();
        rows.retain(|r| r.id != id);
        Ok(rows.len() != before)
    }
    fn insert_collection_if_absent(&self, c: &CollectionMeta) -> Result<CollectionMeta, MetaError> {
        let mut rows = self.1.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = rows.iter().find(|r| r.id == c.id) {
            return Ok(r.clone());
        }
        rows.push(c.clone());
        Ok(c.clone())
    }
    fn get_collection(&self, id: &str) -> Result<Option<CollectionMeta>, MetaError> {
        Ok(self.1.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|r| r.id == id).cloned())
    }
    fn list_collections(&self) -> Result<Vec<CollectionMeta>, MetaError> {
        Ok(self.1.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

// ---------------------------------------------------------------------------------------------
// On disk

/// Blobs as files: `<root>/<id>`, written through a temp file in `<staging>` (same file system),
/// fsync, rename, fsync of the directory.
#[derive(Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    staging: PathBuf,
}

/// Makes a unique file name in `dir` for staging.
pub fn staging_path(dir: &Path, what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    dir.join(format!("{what}-{}-{nanos}-{}.part", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    // Directories can be opened read-only and fsynced on Unix; elsewhere this is best effort.
    match File::open(dir) {
        Ok(d) => match d.sync_all() {
            Ok(()) => Ok(()),
            Err(e) if cfg!(unix) => Err(e),
            Err(_) => Ok(()),
        },
        Err(e) if cfg!(unix) => Err(e),
        Err(_) => Ok(()),
    }
}

impl FsBlobStore {
    /// Opens (creating) a blob directory; `staging` must be on the same file system.
    pub fn open(root: PathBuf, staging: PathBuf) -> io::Result<Self> {
        fs::create_dir_all(&root)?;
        fs::create_dir_all(&staging)?;
        Ok(Self { root, staging })
    }

    fn path(&self, id: &str) -> io::Result<PathBuf> {
        if !is_valid_id(id) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad blob id {id:?}")));
        }
        Ok(self.root.join(id))
    }
}

impl BlobStore for FsBlobStore {
    fn put(&self, id: &str, src: BlobSource<'_>) -> io::Result<()> {
        let dest = self.path(id)?;
        match src {
            BlobSource::File(staged) => {
                File::options().write(true).open(staged)?.sync_all()?;
                fs::rename(staged, &dest)?;
            }
            BlobSource::Bytes(bytes) => {
                let tmp = staging_path(&self.staging, "blob");
                let result = (|| {
                    let mut f = File::create(&tmp)?;
                    f.write_all(bytes)?;
                    f.sync_all()?;
                    fs::rename(&tmp, &dest)
                })();
                if result.is_err() {
                    let _ = fs::remove_file(&tmp);
                }
                result?;
            }
        }
        fsync_dir(&self.root)
    }

    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.path(id)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open(&self, id: &str) -> io::Result<Option<Box<dyn io::Read + Send>>> {
        match File::open(self.path(id)?) {
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, id: &str) -> io::Result<bool> {
        match fs::remove_file(self.path(id)?) {
            Ok(()) => {
                fsync_dir(&self.root)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.root)? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if is_valid_id(&name) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    fn sweep(&self, keep: &dyn Fn(&str) -> bool, grace: Duration) -> io::Result<usize> {
        let old = |p: &Path| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= grace)
        };
        let mut removed = 0;
        for e in fs::read_dir(&self.staging)? {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "part") && old(&p) && fs::remove_file(&p).is_ok() {
                removed += 1;
            }
        }
        for id in self.list()? {
            let p = self.path(&id)?;
            if !keep(&id) && old(&p) && fs::remove_file(&p).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

const PROFILES: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("profiles");
const COLLECTIONS: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("collections");

/// Metadata rows in a redb database (one table, id → JSON). Opened in redb's multi-writer mode so
/// two `profview` processes can share a data directory.
pub struct RedbMetaStore {
    db: redb::Database,
    path: PathBuf,
}

impl std::fmt::Debug for RedbMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbMetaStore").field("path", &self.path).finish()
    }
}

fn me<E: std::fmt::Display>(e: E) -> MetaError {
    MetaError(e.to_string())
}

impl RedbMetaStore {
    /// Opens (creating) the database file.
    pub fn open(path: PathBuf) -> Result<Self, MetaError> {
        let db = redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .create(&path)
            .map_err(|e| MetaError(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(me)?;
        txn.open_table(PROFILES).map_err(me)?;
        txn.open_table(COLLECTIONS).map_err(me)?;
        txn.commit().map_err(me)?;
        Ok(Self { db, path })
    }

    fn decode(bytes: &[u8]) -> Result<ProfileMeta, MetaError> {
        serde_json::from_slice(bytes).map_err(|e| MetaError(format!("corrupt row: {e}")))
    }
}

fn decode_collection(bytes: &[u8]) -> Result<CollectionMeta, MetaError> {
    serde_json::from_slice(bytes).map_err(|e| MetaError(format!("corrupt collection: {e}")))
}

impl MetaStore for RedbMetaStore {
    fn insert_if_absent(&self, meta: &ProfileMeta) -> Result<ProfileMeta, MetaError> {
        let txn = self.db.begin_write().map_err(me)?;
        let row = {
            let mut t = txn.open_table(PROFILES).map_err(me)?;
            let existing = t.get(meta.id.as_str()).map_err(me)?.map(|v| Self::decode(v.value()));
            match existing {
                Some(row) => row?,
                None => {
                    let bytes = serde_json::to_vec(meta).map_err(me)?;
                    t.insert(meta.id.as_str(), bytes.as_slice()).map_err(me)?;
                    meta.clone()
                }
            }
        };
        txn.commit().map_err(me)?;
        Ok(row)
    }

    fn get(&self, id: &str) -> Result<Option<ProfileMeta>, MetaError> {
        let txn = self.db.begin_read().map_err(me)?;
        let t = txn.open_table(PROFILES).map_err(me)?;
        let v = t.get(id).map_err(me)?;
        v.map(|v| Self::decode(v.value())).transpose()
    }

    fn list(&self) -> Result<Vec<ProfileMeta>, MetaError> {
        let txn = self.db.begin_read().map_err(me)?;
        let t = txn.open_table(PROFILES).map_err(me)?;
        let mut rows = Vec::new();
        for item in t.iter().map_err(me)? {
            let (_, v) = item.map_err(me)?;
            rows.push(Self::decode(v.value())?);
        }
        sort_rows(&mut rows);
        Ok(rows)
    }

    fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, MetaError> {
        let txn = self.db.begin_write().map_err(me)?;
        let row = {
            let mut t = txn.open_table(PROFILES).map_err(me)?;
            let existing = t.get(id).map_err(me)?.map(|v| Self::decode(v.value()));
            match existing {
                None => None,
                Some(row) => {
                    let mut row = row?;
                    row.name = name.to_owned();
                    let bytes = serde_json::to_vec(&row).map_err(me)?;
                    t.insert(id, bytes.as_slice()).map_err(me)?;
                    Some(row)
                }
            }
        };
        txn.commit().map_err(me)?;
        Ok(row)
    }

    fn delete(&self, id: &str) -> Result<bool, MetaError> {
        let txn = self.db.begin_write().map_err(me)?;
        let existed = {
            let mut t = txn.open_table(PROFILES).map_err(me)?;
            let removed = t.remove(id).map_err(me)?;
            removed.is_some()
        };
        txn.commit().map_err(me)?;
        Ok(existed)
    }

    fn insert_collection_if_absent(&self, c: &CollectionMeta) -> Result<CollectionMeta, MetaError> {
        let txn = self.db.begin_write().map_err(me)?;
        let row = {
            let mut t = txn.open_table(COLLECTIONS).map_err(me)?;
            let existing = t.get(c.id.as_str()).map_err(me)?.map(|v| decode_collection(v.value()));
            match existing {
                Some(row) => row?,
                None => {
                    let bytes = serde_json::to_vec(c).map_err(me)?;
                    t.insert(c.id.as_str(), bytes.as_slice()).map_err(me)?;
                    c.clone()
                }
            }
        };
        txn.commit().map_err(me)?;
        Ok(row)
    }

    fn get_collection(&self, id: &str) -> Result<Option<CollectionMeta>, MetaError> {
        let txn = self.db.begin_read().map_err(me)?;
        let t = txn.open_table(COLLECTIONS).map_err(me)?;
        let v = t.get(id).map_err(me)?;
        v.map(|v| decode_collection(v.value())).transpose()
    }

    fn list_collections(&self) -> Result<Vec<CollectionMeta>, MetaError> {
        let txn = self.db.begin_read().map_err(me)?;
        let t = txn.open_table(COLLECTIONS).map_err(me)?;
        let mut rows = Vec::new();
        for item in t.iter().map_err(me)? {
            let (_, v) = item.map_err(me)?;
            rows.push(decode_collection(v.value())?);
        }
        sort_collections(&mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = staging_path(&std::env::temp_dir(), &format!("profview-store-{tag}"));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn meta(id: &str, created_ms: u64) -> ProfileMeta {
        ProfileMeta {
            id: id.into(),
            blake3: id.into(),
            name: "a.prof".into(),
            source_name: "a.prof".into(),
            format: "pstats".into(),
            dialect: "cprofile".into(),
            unit: "seconds".into(),
            functions: 3,
            size: 10,
            created_ms,
            total: Some(1.5),
            calls: Some(7),
            warnings: vec![],
        }
    }

    const A: &str = "0123456789abcdef0123456789abcdef";
    const B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn ids_are_checked_before_they_become_paths() {
        assert!(is_valid_id(A));
        for bad in ["../../etc/passwd", "", "0123456789ABCDEF0123456789ABCDEF", &format!("{A}0"), "..%2f"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        let d = tmpdir("ids");
        let s = FsBlobStore::open(d.join("blobs"), d.join("tmp")).unwrap();
        assert!(s.get("../meta.redb").is_err());
        assert!(s.put("../x", BlobSource::Bytes(b"x")).is_err());
        assert!(!d.join("x").exists());
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn fs_blobs_round_trip_and_sweep_orphans_and_staged_files() {
        let d = tmpdir("blobs");
        let s = FsBlobStore::open(d.join("blobs"), d.join("tmp")).unwrap();
        s.put(A, BlobSource::Bytes(b"hello")).unwrap();
        let staged = staging_path(&d.join("tmp"), "upload");
        fs::write(&staged, b"world").unwrap();
        s.put(B, BlobSource::File(&staged)).unwrap();
        assert!(!staged.exists(), "staged file is moved into place");
        assert_eq!(s.get(A).unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(s.list().unwrap(), vec![A.to_owned(), B.to_owned()]);
        let leftover = staging_path(&d.join("tmp"), "upload");
        fs::write(&leftover, b"half").unwrap();
        // Young files survive a sweep (another process may be finishing them)...
        assert_eq!(s.sweep(&|id| id == A, Duration::from_secs(3600)).unwrap(), 0);
        // ...old ones go: the orphan blob B and the staged file, not A.
        assert_eq!(s.sweep(&|id| id == A, Duration::ZERO).unwrap(), 2);
        assert_eq!(s.list().unwrap(), vec![A.to_owned()]);
        assert!(!leftover.exists());
        assert!(s.delete(A).unwrap());
        assert!(!s.delete(A).unwrap());
        assert_eq!(s.get(A).unwrap(), None);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn redb_rows_persist_across_reopen() {
        let d = tmpdir("redb");
        {
            let m = RedbMetaStore::open(d.join("meta.redb")).unwrap();
            m.insert_if_absent(&meta(B, 2)).unwrap();
            m.insert_if_absent(&meta(A, 1)).unwrap();
            let mut again = meta(A, 5);
            again.name = "other".into();
            assert_eq!(m.insert_if_absent(&again).unwrap().name, "a.prof", "first row wins");
            assert_eq!(m.rename(A, "renamed").unwrap().unwrap().name, "renamed");
            assert_eq!(m.rename("nope", "x").unwrap(), None);
        }
        let m = RedbMetaStore::open(d.join("meta.redb")).unwrap();
        let rows = m.list().unwrap();
        assert_eq!(rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![A, B], "oldest first");
        assert_eq!(rows[0].name, "renamed");
        assert!(m.delete(A).unwrap());
        assert!(!m.delete(A).unwrap());
        assert_eq!(m.get(A).unwrap(), None);
        assert_eq!(m.get(B).unwrap().unwrap().total, Some(1.5));
        drop(m);
        fs::remove_dir_all(d).unwrap();
    }
}
