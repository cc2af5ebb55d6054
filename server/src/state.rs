//! Shared server state: the stored profiles (see [`crate::store`]) and a bounded cache of their
//! built indexes.
//!
//! Every way in (`profview serve FILE`, `POST /api/profiles`, [`AppState::add_bytes`]) goes through
//! one ingest path: hash → import → index → blob made durable → metadata row committed → cached.
//! Nothing is stored for a file that does not import. Indexes are rebuilt lazily from the blob on
//! first access after a restart or an eviction.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use profview_import::{ImportError, Imported, Limits, StreamOptions};
use profview_index::{ProfileIndex, Recent};

mod compare;
pub use compare::{collection_id, Side};

use crate::store::{
    self, BlobSource, BlobStore, FsBlobStore, MemBlobStore, MemMetaStore, MetaStore, ProfileMeta, RedbMetaStore,
};

/// One registered profile, with its index built.
#[derive(Debug)]
pub struct Entry {
    /// Opaque id: the first 128 bits of the BLAKE3 hash of the file's bytes, in hex.
    /// It cannot be guessed without the content.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Import warnings.
    pub warnings: Vec<String>,
    /// The index all queries run on.
    pub index: Arc<ProfileIndex>,
}

/// Why a file was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file is not a profile we can read; nothing was stored.
    #[error("{name}: {error}")]
    Import {
        /// Display name of the file.
        name: String,
        /// What is wrong with it.
        error: ImportError,
    },
    /// Storage failed.
    #[error("{0}")]
    Storage(String),
}

impl IngestError {
    /// True when the file was refused for its size (gunzipped size over the cap).
    pub fn is_too_large(&self) -> bool {
        matches!(self, IngestError::Import { error: ImportError::DecompressedTooLarge { .. }, .. })
    }
}

/// Why a stored profile could not be loaded. A profile that is not stored is not an error
/// (`Ok(None)`): these are for one whose id is stored.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LoadError {
    /// The store did not answer: the metadata store failed, or the blob store could not be
    /// reached (a refused, reset or timed-out connection). Worth retrying.
    #[error("{0}")]
    Unavailable(String),
    /// The profile's stored file is missing, cannot be read, is corrupt (its hash does not
    /// match) or no longer imports; or building its index failed.
    #[error("{0}")]
    Unreadable(String),
}

impl LoadError {
    /// A blob store error while reading profile `id`: unreachable, or an unreadable file.
    fn of_blob(id: &str, e: &io::Error) -> Self {
        use io::ErrorKind as K;
        let remote = e.get_ref().is_some_and(|inner| inner.is::<store::StoreUnavailable>());
        let unreachable = remote || matches!(
            e.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::TimedOut
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::NetworkDown
        );
        if unreachable {
            LoadError::Unavailable(format!("profile {id}: the blob store is unreachable: {e}"))
        } else {
            LoadError::Unreadable(format!("profile {id}: cannot read its stored file: {e}"))
        }
    }
}

/// How the state is set up.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// Data directory; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Largest accepted upload body, in bytes.
    pub max_upload_bytes: u64,
    /// Import limits (the gunzip cap among them).
    pub limits: Limits,
    /// How many built indexes to keep in memory.
    pub cache_profiles: usize,
    /// An object store URL (`s3://bucket/prefix`, `gs://…`, `az://…`, `memory://`); when set it
    /// is used instead of `data_dir`.
    pub store_url: Option<String>,
    /// Timeouts and retries towards an object store.
    pub client: crate::objstore::ClientLimits,
    /// Write tokens (`--token-file`): when set, POST, PATCH and DELETE need one of them.
    pub token_file: Option<PathBuf>,
    /// Longest time to receive a request body.
    pub body_timeout: Duration,
    /// Imports run at once.
    pub max_imports: usize,
    /// Uploads waiting for an import slot beyond which an upload is answered 503.
    pub import_queue: usize,
    /// Age from which a blob no metadata names (a crash between the two writes) is swept.
    pub sweep_grace: Duration,
    /// Directories whose files the detail panel may show as source (`--source-root`; none: off).
    pub source_roots: crate::source::SourceRoots,
}

/// Default `--max-upload-bytes`: 1 GiB.
pub const DEFAULT_MAX_UPLOAD: u64 = 1 << 30;

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            data_dir: None,
            max_upload_bytes: DEFAULT_MAX_UPLOAD,
            limits: Limits::default(),
            cache_profiles: 16,
            store_url: None,
            client: crate::objstore::ClientLimits::default(),
            token_file: None,
            body_timeout: Duration::from_secs(600),
            max_imports: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            import_queue: 64,
            sweep_grace: Duration::from_secs(3600),
            source_roots: crate::source::SourceRoots::default(),
        }
    }
}

/// The default data directory: `$XDG_DATA_HOME/profview`, else `~/.local/share/profview`.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return Some(PathBuf::from(x).join("profview"));
    }
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/share/profview"))
}

/// Built indexes, least recently used first.
#[derive(Debug)]
struct IndexCache {
    cap: usize,
    items: Recent<String, Arc<ProfileIndex>>,
}

impl IndexCache {
    fn get(&mut self, id: &str) -> Option<Arc<ProfileIndex>> {
        self.items.get(id)
    }
    /// Inserts; how many were evicted to stay within the cap.
    fn insert(&mut self, id: &str, index: Arc<ProfileIndex>) -> u64 {
        self.items.insert(id.to_owned(), index);
        let mut evicted = 0;
        while self.items.len() > self.cap.max(1) {
            self.items.pop_oldest();
            evicted += 1;
        }
        evicted
    }
    fn remove(&mut self, id: &str) {
        self.items.remove(id);
    }
}

#[derive(Debug)]
struct Inner {
    blobs: Box<dyn BlobStore>,
    metas: Box<dyn MetaStore>,
    staging: PathBuf,
    data_dir: Option<PathBuf>,
    limits: Limits,
    max_upload_bytes: u64,
    cache: Mutex<IndexCache>,
    /// One lock per id being built, so concurrent first requests build once.
    building: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Serialises "blob put + row insert" against "row delete + blob delete" in this process.
    commit: Mutex<()>,
    /// Comparisons: per-profile numbers, collations and diffs recently computed.
    compare: compare::CompareCache,
    /// Where the profiles are (for messages).
    location: String,
    metrics: Arc<crate::metrics::Metrics>,
    tokens: Option<crate::auth::Tokens>,
    body_timeout: Duration,
    source_roots: crate::source::SourceRoots,
    /// Import slots, and how many may wait for one.
    imports: Arc<tokio::sync::Semaphore>,
    import_queue: usize,
    queued: std::sync::atomic::AtomicUsize,
}

/// State shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// The id of some content.
pub fn content_id(bytes: &[u8]) -> String {
    id_of(&blake3::hash(bytes))
}

/// The id for a BLAKE3 hash.
pub fn id_of(h: &blake3::Hash) -> String {
    h.to_hex()[..store::ID_LEN].to_owned()
}

/// Milliseconds since the epoch, strictly increasing within the process (so files registered
/// together list in registration order).
fn now_ms() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let prev = LAST.fetch_max(now, Ordering::Relaxed);
    if prev >= now {
        LAST.fetch_add(1, Ordering::Relaxed) + 1
    } else {
        now
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs blocking work from sync code that may be on an async worker thread: there through
/// `block_in_place` (the runtime moves its other tasks away), elsewhere directly.
pub(crate) fn block_in_place_if_async<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// A file staged on disk with the hash and size of its bytes.
#[derive(Debug)]
pub struct Staged {
    /// Where it is.
    pub path: PathBuf,
    /// Its BLAKE3 hash.
    pub hash: blake3::Hash,
    /// Its size.
    pub size: u64,
}

/// Removes a staged file when dropped (a failed or cancelled upload leaves nothing behind).
#[derive(Debug)]
pub struct StagingGuard(pub PathBuf);

impl Drop for StagingGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

enum Source<'a> {
    Bytes(&'a [u8]),
    Staged(&'a Staged),
}

impl Source<'_> {
    fn hash_size(&self) -> (blake3::Hash, u64) {
        match self {
            Source::Bytes(b) => (blake3::hash(b), b.len() as u64),
            Source::Staged(s) => (s.hash, s.size),
        }
    }
}

/// Reads a file for the importer while hashing it and copying it into staging. A write error
/// ends the read (kept here, reported as a storage error, not as a bad profile).
struct TeeReader {
    src: HashingReader<fs::File>,
    out: fs::File,
    size: u64,
    write_error: Option<io::Error>,
}

impl Read for TeeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.src.read(buf)?;
        if let Err(e) = self.out.write_all(&buf[..n]) {
            let msg = e.to_string();
            self.write_error = Some(e);
            return Err(io::Error::other(msg));
        }
        self.size += n as u64;
        Ok(n)
    }
}

impl AppState {
    /// An empty in-memory state with default limits (nothing touches the disk).
    pub fn new() -> Self {
        Self::in_memory(StoreConfig { cache_profiles: usize::MAX, ..StoreConfig::default() })
    }

    fn in_memory(cfg: StoreConfig) -> Self {
        Self::with_stores(Box::<MemBlobStore>::default(), Box::<MemMetaStore>::default(), std::env::temp_dir(), cfg)
    }

    /// A state over the given stores (another backend, e.g. a remote object store), staging
    /// uploads in `staging`. `cfg.data_dir` is only reported, not opened.
    pub fn with_stores(blobs: Box<dyn BlobStore>, metas: Box<dyn MetaStore>, staging: PathBuf, cfg: StoreConfig) -> Self {
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let location = match (&cfg.store_url, &cfg.data_dir) {
            (Some(url), _) => url.clone(),
            (None, Some(d)) => d.display().to_string(),
            (None, None) => "memory".to_owned(),
        };
        AppState {
            inner: Arc::new(Inner {
                blobs: Box::new(crate::metrics::Counted { inner: blobs, metrics: metrics.clone() }),
                metas: Box::new(crate::metrics::Counted { inner: metas, metrics: metrics.clone() }),
                location,
                metrics,
                tokens: cfg.token_file.map(crate::auth::Tokens::new),
                body_timeout: cfg.body_timeout,
                source_roots: cfg.source_roots,
                imports: Arc::new(tokio::sync::Semaphore::new(cfg.max_imports.max(1))),
                import_queue: cfg.import_queue,
                queued: Default::default(),
                staging,
                data_dir: cfg.data_dir,
                limits: cfg.limits,
                max_upload_bytes: cfg.max_upload_bytes,
                cache: Mutex::new(IndexCache { cap: cfg.cache_profiles, items: Recent::default() }),
                building: Mutex::default(),
                commit: Mutex::default(),
                compare: compare::CompareCache::default(),
            }),
        }
    }

    /// Opens the state described by `cfg`: the data directory (created if missing; orphans of
    /// an earlier crash older than an hour are swept), or memory when it has none.
    pub fn open(cfg: StoreConfig) -> Result<Self, String> {
        if let Some(url) = cfg.store_url.clone() {
            return Self::open_object_store(&url, cfg);
        }
        let Some(dir) = cfg.data_dir.clone() else {
            return Ok(Self::in_memory(cfg));
        };
        let ctx = |e: &dyn std::fmt::Display| format!("data directory {}: {e}", dir.display());
        fs::create_dir_all(&dir).map_err(|e| ctx(&e))?;
        let staging = dir.join("tmp");
        let blobs = FsBlobStore::open(dir.join("blobs"), staging.clone()).map_err(|e| ctx(&e))?;
        let metas = RedbMetaStore::open(dir.join("meta.redb")).map_err(|e| ctx(&e))?;
        let rows = metas.list().map_err(|e| ctx(&e))?;
        let listed: std::collections::HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        match blobs.sweep(&|id| listed.contains(id), cfg.sweep_grace) {
            Ok(0) => {}
            Ok(n) => tracing::info!("swept {n} leftover file(s) of interrupted uploads"),
            Err(e) => tracing::warn!("could not sweep {}: {e}", dir.display()),
        }
        let stored: std::collections::HashSet<String> = blobs.list().map_err(|e| ctx(&e))?.into_iter().collect();
        for r in rows.iter().filter(|r| !stored.contains(&r.id)) {
            tracing::error!("profile {} ({}) is listed but its file is missing from {}", r.id, r.name, dir.display());
        }
        Ok(Self::with_stores(Box::new(blobs), Box::new(metas), staging, cfg))
    }

    /// Opens an object store (see [`crate::objstore`]): fails when it does not answer. Uploads
    /// are staged in the system's temp directory. Orphans older than an hour are swept on a
    /// thread of their own, now and every hour.
    fn open_object_store(url: &str, cfg: StoreConfig) -> Result<Self, String> {
        use crate::objstore::{ObjBlobStore, ObjMetaStore, ObjStore};
        let store = ObjStore::open(url, &cfg.client)?;
        let grace = cfg.sweep_grace;
        let staging = std::env::temp_dir().join("profview-staging");
        fs::create_dir_all(&staging).map_err(|e| format!("staging directory {}: {e}", staging.display()))?;
        // Staged files a killed process left behind: old enough, and (where /proc tells) named
        // by the id of a process that is gone, so another replica's upload in progress stays.
        let alive = |name: &str| {
            let pid = name.split('-').nth(1).unwrap_or("");
            !pid.is_empty() && Path::new("/proc").join(pid).exists()
        };
        let old_parts = fs::read_dir(&staging).into_iter().flatten().flatten().filter(|e| {
            let p = e.path();
            p.extension().is_some_and(|x| x == "part")
                && !alive(&e.file_name().to_string_lossy())
                && e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok()).is_some_and(|a| a >= grace)
        });
        for e in old_parts {
            let _ = fs::remove_file(e.path());
        }
        let state = Self::with_stores(Box::new(ObjBlobStore(store.clone())), Box::new(ObjMetaStore(store)), staging, cfg);
        let weak = Arc::downgrade(&state.inner);
        let spawned = std::thread::Builder::new().name("store-sweep".into()).spawn(move || loop {
            let Some(inner) = weak.upgrade() else { return };
            AppState { inner }.sweep(grace);
            std::thread::sleep(grace.max(Duration::from_secs(60)));
        });
        if let Err(e) = spawned {
            tracing::warn!("could not start the orphan sweep: {e}");
        }
        Ok(state)
    }

    /// Removes blobs no metadata names (a crash between the two) older than `grace`; how many.
    pub fn sweep(&self, grace: Duration) -> usize {
        let listed: std::collections::HashSet<String> = match self.inner.metas.list() {
            Ok(rows) => rows.into_iter().map(|r| r.id).collect(),
            Err(e) => {
                tracing::warn!("sweep of {}: {e}", self.inner.location);
                return 0;
            }
        };
        match self.inner.blobs.sweep(&|id| listed.contains(id), grace) {
            Ok(0) => 0,
            Ok(n) => {
                tracing::info!("swept {n} orphan blob(s) of interrupted uploads from {}", self.inner.location);
                n
            }
            Err(e) => {
                tracing::warn!("sweep of {}: {e}", self.inner.location);
                0
            }
        }
    }

    /// Where the profiles are stored (a directory, a store URL or `memory`).
    pub fn location(&self) -> &str {
        &self.inner.location
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.inner.metrics
    }

    /// The write tokens, when writes need one.
    pub fn tokens(&self) -> Option<&crate::auth::Tokens> {
        self.inner.tokens.as_ref()
    }

    /// Longest time to receive a request body.
    pub fn body_timeout(&self) -> Duration {
        self.inner.body_timeout
    }

    /// Does the store answer? (`GET /readyz`.)
    pub fn ready(&self) -> Result<(), String> {
        self.inner.metas.ping().map_err(|e| e.to_string())
    }

    /// Waits for an import slot; `None` when the queue is full (the caller answers 503).
    pub async fn import_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        use std::sync::atomic::Ordering;
        let m = &self.inner.metrics;
        if let Ok(p) = self.inner.imports.clone().try_acquire_owned() {
            return Some(p);
        }
        if self.inner.queued.fetch_add(1, Ordering::SeqCst) >= self.inner.import_queue {
            self.inner.queued.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        m.imports_queued.inc();
        let permit = self.inner.imports.clone().acquire_owned().await.ok();
        m.imports_queued.dec();
        self.inner.queued.fetch_sub(1, Ordering::SeqCst);
        permit
    }

    /// Import limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The directories source files may be read from (`--source-root`).
    pub fn source_roots(&self) -> &crate::source::SourceRoots {
        &self.inner.source_roots
    }

    /// Largest accepted upload body.
    pub fn max_upload_bytes(&self) -> u64 {
        self.inner.max_upload_bytes
    }

    /// The data directory, when persistent.
    pub fn data_dir(&self) -> Option<&Path> {
        self.inner.data_dir.as_deref()
    }

    /// A fresh path to stage an upload at (same file system as the blobs).
    pub fn staging_path(&self) -> PathBuf {
        store::staging_path(&self.inner.staging, "upload")
    }

    /// Imports and registers a profile. The same content registered twice gives the same id.
    pub fn add_bytes(&self, name: &str, bytes: &[u8]) -> Result<Arc<Entry>, String> {
        block_in_place_if_async(|| self.ingest(name, Source::Bytes(bytes))).map_err(|e| e.to_string())
    }

    /// Registers a local file with one read of it: each block is hashed and copied into staging
    /// as the importer takes it (on its reading thread, so the copy overlaps the parse), then it
    /// is stored like an upload.
    pub fn add_file(&self, name: &str, path: &Path) -> Result<Arc<Entry>, IngestError> {
        let io_err = |e: io::Error| IngestError::Storage(format!("{}: {e}", path.display()));
        let src = fs::File::open(path).map_err(io_err)?;
        let staged_path = self.staging_path();
        let guard = StagingGuard(staged_path.clone());
        let out = fs::File::create(&staged_path).map_err(|e| IngestError::Storage(e.to_string()))?;
        let src = HashingReader { inner: src, hasher: blake3::Hasher::new() };
        let mut tee = TeeReader { src, out, size: 0, write_error: None };
        let started = std::time::Instant::now();
        let imported = profview_import::import_reader(name, &mut tee, &self.inner.limits, &StreamOptions::default());
        // Where a big file's time goes (BENCHMARKS.md): this phase overlaps read, hash, copy and parse.
        tracing::info!(file = name, seconds = started.elapsed().as_secs_f64(), "read, hashed, staged and parsed");
        // The importer may stop early (a bad file): the copy and the hash still take the rest.
        let drained = io::copy(&mut tee, &mut io::sink());
        if let Some(e) = tee.write_error.take() {
            return Err(IngestError::Storage(format!("cannot stage {}: {e}", path.display())));
        }
        drained.map_err(io_err)?;
        let TeeReader { src, out, size, .. } = tee;
        let hasher = src.hasher;
        // Flush the copy to disk while the index is built (the store syncs it again before
        // the rename, then with nothing left to write): on a 1 GB file that is about a second.
        let flush = imported.is_ok().then(|| std::thread::Builder::new().name("stage-sync".into()).spawn(move || out.sync_all()));
        let staged = Staged { path: staged_path, hash: hasher.finalize(), size };
        let id = id_of(&staged.hash);
        let entry = match self.existing(&id)? {
            Some(e) => Ok(e),
            None => self.register(name, (staged.hash, staged.size), &Source::Staged(&staged), imported),
        };
        if let Some(Ok(h)) = flush {
            let _ = h.join(); // an error here shows again in the store's own sync
        }
        drop(guard);
        entry
    }

    /// Imports, indexes and stores a staged file (blocking: call it from `spawn_blocking`).
    /// The staged file is moved into the store on success; the caller's [`StagingGuard`]
    /// removes it otherwise.
    pub fn ingest_staged(&self, name: &str, staged: &Staged) -> Result<Arc<Entry>, IngestError> {
        self.ingest(name, Source::Staged(staged))
    }

    fn ingest(&self, name: &str, src: Source<'_>) -> Result<Arc<Entry>, IngestError> {
        let (hash, size) = src.hash_size();
        let id = id_of(&hash);
        if let Some(e) = self.existing(&id)? {
            return Ok(e);
        }
        let imported = match &src {
            Source::Bytes(b) => profview_import::import(name, b, &self.inner.limits),
            // From disk in blocks: folded files (even gzipped) are parsed on every core with
            // memory bounded by the profile, not the file.
            Source::Staged(s) => {
                let f = fs::File::open(&s.path).map_err(|e| IngestError::Storage(e.to_string()))?;
                profview_import::import_reader(name, f, &self.inner.limits, &StreamOptions::default())
            }
        };
        self.register(name, (hash, size), &src, imported)
    }

    /// The entry of a profile that is already stored (and still loads), if any.
    fn existing(&self, id: &str) -> Result<Option<Arc<Entry>>, IngestError> {
        if self.inner.metas.get(id).map_err(|e| IngestError::Storage(e.to_string()))?.is_some() {
            if let Ok(Some(e)) = self.load_blocking(id) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Indexes an imported profile and stores it with its file (whose hash and size are given).
    fn register(
        &self,
        name: &str,
        (hash, size): (blake3::Hash, u64),
        src: &Source<'_>,
        imported: Result<Imported, ImportError>,
    ) -> Result<Arc<Entry>, IngestError> {
        let storage = |e: &dyn std::fmt::Display| IngestError::Storage(e.to_string());
        let id = id_of(&hash);
        let Imported { profile, warnings, nested } =
            imported.map_err(|error| IngestError::Import { name: name.to_owned(), error })?;
        let started = std::time::Instant::now();
        let index = Arc::new(build_index(profile, nested));
        tracing::info!(file = name, seconds = started.elapsed().as_secs_f64(), "indexed");
        prepare_in_background(&index);
        // The numbers of the summary come from the one place the HTML report uses too.
        let summary = profview_answer::summary(&index, &id, name, None, Vec::new());
        let meta = ProfileMeta {
            id: id.clone(),
            blake3: hash.to_hex().to_string(),
            name: name.to_owned(),
            source_name: name.to_owned(),
            format: summary.format,
            dialect: summary.dialect,
            unit: summary.unit,
            functions: summary.functions,
            size,
            created_ms: now_ms(),
            total: summary.total,
            calls: summary.calls,
            warnings: warnings.iter().take(store::MAX_WARNINGS).map(|w| w.to_string()).collect(),
        };
        let row = {
            let _g = lock(&self.inner.commit);
            let blob = match &src {
                Source::Bytes(b) => BlobSource::Bytes(b),
                Source::Staged(s) => BlobSource::File(&s.path),
            };
            let started = std::time::Instant::now();
            self.inner.blobs.put(&id, blob).map_err(|e| storage(&e))?;
            let row = self.inner.metas.insert_if_absent(&meta).map_err(|e| storage(&e))?;
            tracing::info!(file = name, seconds = started.elapsed().as_secs_f64(), "stored");
            row
        };
        self.cache_insert(&id, index.clone());
        Ok(Arc::new(Entry { id, name: row.name, warnings: row.warnings, index }))
    }

    /// The stored row of a profile (a store error is logged and read as absent: handlers use
    /// [`AppState::find_meta`]).
    pub fn meta(&self, id: &str) -> Option<ProfileMeta> {
        self.find_meta(id).unwrap_or_else(|e| {
            tracing::error!("{e}");
            None
        })
    }

    /// The stored row of a profile; `Ok(None)` when no such id is stored, an error when the
    /// metadata store fails.
    pub fn find_meta(&self, id: &str) -> Result<Option<ProfileMeta>, LoadError> {
        if !store::is_valid_id(id) {
            return Ok(None);
        }
        self.inner.metas.get(id).map_err(|e| LoadError::Unavailable(format!("profile {id}: {e}")))
    }

    /// Every stored row, oldest first (no index is built).
    pub fn list_meta(&self) -> Result<Vec<ProfileMeta>, String> {
        self.inner.metas.list().map_err(|e| e.to_string())
    }

    /// A profile with its index, building the index from the stored blob when it is not cached
    /// (blocking: from async code use [`AppState::load`]). `Ok(None)` only when no such id is
    /// stored; a stored profile that cannot be loaded is an error saying why.
    pub fn load_blocking(&self, id: &str) -> Result<Option<Arc<Entry>>, LoadError> {
        let Some(meta) = self.find_meta(id)? else {
            // Not a profile: a collection's id names its summed profile.
            return self.load_collection_sum_blocking(id);
        };
        let entry = |index| Arc::new(Entry { id: meta.id.clone(), name: meta.name.clone(), warnings: meta.warnings.clone(), index });
        if let Some(index) = lock(&self.inner.cache).get(id) {
            self.inner.metrics.cache_hits.inc();
            return Ok(Some(entry(index)));
        }
        self.inner.metrics.cache_misses.inc();
        let build_lock = lock(&self.inner.building).entry(id.to_owned()).or_default().clone();
        let _building = lock(&build_lock);
        let unreadable = LoadError::Unreadable;
        let result = (|| {
            if let Some(index) = lock(&self.inner.cache).get(id) {
                return Ok(index);
            }
            let reader = self
                .inner
                .blobs
                .open(id)
                .map_err(|e| LoadError::of_blob(id, &e))?
                .ok_or_else(|| unreadable(format!("profile {id}: its stored file is missing")))?;
            // Hash while importing in blocks, then check: a corrupt blob is never served.
            let mut hashed = HashingReader { inner: reader, hasher: blake3::Hasher::new() };
            let name = if meta.source_name.is_empty() { &meta.name } else { &meta.source_name };
            let imported =
                profview_import::import_reader(name, &mut hashed, &self.inner.limits, &StreamOptions::default());
            io::copy(&mut hashed, &mut io::sink()).map_err(|e| LoadError::of_blob(id, &e))?;
            if hashed.hasher.finalize().to_hex().as_str() != meta.blake3 {
                return Err(unreadable(format!("profile {id}: its stored file is corrupt (hash mismatch)")));
            }
            let imported = imported.map_err(|e| unreadable(format!("profile {id}: its stored file no longer imports: {e}")))?;
            let index = Arc::new(build_index(imported.profile, imported.nested));
            prepare_in_background(&index);
            self.cache_insert(id, index.clone());
            Ok(index)
        })();
        lock(&self.inner.building).remove(id);
        result.map(|index| Some(entry(index)))
    }

    /// The stored file of a profile, as uploaded (blocking), for exports made from the file itself
    /// (the HTML report). `Ok(None)` when no such file is stored.
    pub fn stored_file_blocking(&self, id: &str) -> Result<Option<Vec<u8>>, LoadError> {
        if !store::is_valid_id(id) {
            return Ok(None);
        }
        self.inner.blobs.get(id).map_err(|e| LoadError::of_blob(id, &e))
    }

    /// [`AppState::load_blocking`] on the blocking pool: the one way handlers load a profile.
    pub async fn load(&self, id: &str) -> Result<Option<Arc<Entry>>, LoadError> {
        if !store::is_valid_id(id) {
            return Ok(None);
        }
        let (state, id) = (self.clone(), id.to_owned());
        let id2 = id.clone();
        tokio::task::spawn_blocking(move || state.load_blocking(&id))
            .await
            .map_err(|e| LoadError::Unreadable(format!("profile {id2}: building its index failed: {e}")))?
    }

    /// A profile by id, for code outside the server's handlers (builds its index if needed;
    /// errors are logged and read as absent).
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        if !store::is_valid_id(id) {
            return None;
        }
        match block_in_place_if_async(|| self.load_blocking(id)) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("{e}");
                None
            }
        }
    }

    /// Every profile with its index, oldest first. Builds every index: listing pages should
    /// use [`AppState::list_meta`].
    pub fn list(&self) -> Vec<Arc<Entry>> {
        self.list_meta().unwrap_or_default().iter().filter_map(|m| self.get(&m.id)).collect()
    }

    /// Changes a profile's display name; the new row, or `None` when there is no such profile.
    pub fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, String> {
        if !store::is_valid_id(id) {
            return Ok(None);
        }
        self.inner.metas.rename(id, name).map_err(|e| e.to_string())
    }

    /// Deletes a profile (row first, then blob); true when it existed.
    pub fn delete(&self, id: &str) -> Result<bool, String> {
        if !store::is_valid_id(id) {
            return Ok(false);
        }
        let existed = {
            let _g = lock(&self.inner.commit);
            let existed = self.inner.metas.delete(id).map_err(|e| e.to_string())?;
            if existed {
                self.inner.blobs.delete(id).map_err(|e| e.to_string())?;
            }
            existed
        };
        lock(&self.inner.cache).remove(id);
        Ok(existed)
    }

    /// Removes a profile; true when it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.delete(id).unwrap_or_else(|e| {
            tracing::error!("{e}");
            false
        })
    }

    fn cache_insert(&self, id: &str, index: Arc<ProfileIndex>) {
        let evicted = lock(&self.inner.cache).insert(id, index);
        self.inner.metrics.cache_evictions.inc_by(evicted);
    }

    /// How many indexes are built and cached now.
    pub fn cached_indexes(&self) -> usize {
        lock(&self.inner.cache).items.len()
    }
}

/// Hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The index of a profile being registered: its function table now, its views (and the
/// pre-order renumbering of its stack table, in place) in the background, where
/// [`prepare_in_background`] builds them; a request that needs them first waits for that build.
/// Profiles whose table cannot come straight from the stacks are built whole here.
fn build_index(profile: profview_model::Profile, nested: Option<Vec<u64>>) -> ProfileIndex {
    ProfileIndex::build_deferred(profile, nested)
}

/// Prepares the slices the dashboard's first screen asks for (icicle and flame at
/// [`profview_api::FLAME_LOD`]) on a thread of their own: on a big profile the inverted one
/// takes a few hundred ms, which is then spent while the page loads, not on its request.
fn prepare_in_background(index: &Arc<ProfileIndex>) {
    let index = Arc::clone(index);
    let (min_frac, max_nodes) = profview_api::FLAME_LOD;
    let lod = profview_index::Lod { min_frac, max_nodes };
    let spawned = std::thread::Builder::new().name("prepare-slices".into()).spawn(move || {
        // A deferred index builds its default view's graph and trees here.
        let started = std::time::Instant::now();
        index.prepare(&[
            profview_index::TreeQuery { mode: profview_index::TreeMode::TopDown, root: Vec::new(), lod },
            profview_index::TreeQuery { mode: profview_index::TreeMode::Inverted, root: Vec::new(), lod },
        ]);
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "views prepared");
    });
    if let Err(e) = spawned {
        tracing::warn!("could not start preparing slices: {e}");
    }
}
