//! Profiles in an object store (`--store s3://bucket/prefix`, `gs://…`, `az://…`, `memory://`),
//! through the `object_store` crate, so that several stateless replicas can share one bucket.
//!
//! Layout under the prefix:
//! - `blobs/<id>`: the uploaded file, content-addressed, written create-if-absent
//!   (`PutMode::Create`): two replicas storing the same file agree, neither overwrites.
//! - `meta/<id>.json`: the profile's [`ProfileMeta`], one small object per profile, written only
//!   once its blob is complete; renames are conditional updates (`If-Match` on the ETag).
//! - `collections/<id>.json`: one small object per collection, written create-if-absent (a
//!   collection's id is derived from its content, so two replicas making it agree).
//! - `profview-store.json`: a marker written when the store is first opened; `ping` (`/readyz`)
//!   reads it.
//!
//! No lock and no shared database: a listing is a `LIST meta/`; every read of one profile reads
//! its metadata object, so a delete or rename by another replica is seen at the next request.
//! A crash between the blob and its metadata leaves an orphan blob, removed by [`BlobStore::sweep`]
//! once older than the grace period.
//!
//! The traits are synchronous (they are called on the blocking pool); every call here runs on a
//! small runtime of its own and waits for the answer, bounded by the client's timeouts and
//! retries (exponential backoff), so an unreachable bucket answers an error, never a hang.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use crate::store::{is_valid_id, BlobSource, BlobStore, CollectionMeta, MetaError, MetaStore, ProfileMeta, StoreUnavailable};

/// Blobs up to this size are sent in one `PUT` (create-if-absent); larger ones in parts.
const SINGLE_PUT_MAX: u64 = 32 << 20;
/// Part size of a multipart upload.
const PART_SIZE: usize = 16 << 20;
/// Metadata objects fetched at once while listing.
const LIST_CONCURRENCY: usize = 16;
/// The marker object.
const MARKER: &str = "profview-store.json";

/// How the client behaves towards the store.
#[derive(Clone, Debug)]
pub struct ClientLimits {
    /// Time limit of one request (and of all retries of one operation together).
    pub timeout: Duration,
    /// How many times a failed request is retried (exponential backoff from 100 ms, capped at 5 s).
    pub retries: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(30), retries: 3 }
    }
}

/// The runtime every object-store call runs on (never dropped: it outlives every state, and a
/// runtime may not be dropped inside another one's async context).
fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("profview-store")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| io::Error::other(format!("cannot start the store's runtime: {e}")))
}

/// Runs `fut` on the store runtime and waits for it (from any thread: on an async worker of
/// another runtime it waits through `block_in_place`).
fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> io::Result<T> {
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    crate::state::block_in_place_if_async(|| rx.recv()).map_err(|_| io::Error::other("the store's runtime stopped"))
}

/// An `object_store` error as an I/O error: `NotFound` stays that; anything else means the store
/// did not answer as it should, and is marked [`StoreUnavailable`] (503, not a corrupt profile).
fn io_err(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
        other => io::Error::other(StoreUnavailable(other.to_string())),
    }
}

fn meta_err(e: impl std::fmt::Display) -> MetaError {
    MetaError(e.to_string())
}

/// An `object_store` error of the metadata half: the store did not answer as it should.
fn store_err(e: object_store::Error) -> MetaError {
    MetaError(StoreUnavailable(e.to_string()).to_string())
}

/// A parsed metadata object with the ETag it was read at.
type Tagged = (Option<String>, ProfileMeta);

/// One object store with the profile layout, shared by the blob and the metadata halves.
#[derive(Clone)]
pub struct ObjStore {
    store: Arc<dyn ObjectStore>,
    url: String,
    /// Parsed metadata objects by id with their ETag, so a listing fetches only what changed.
    listed: Arc<Mutex<HashMap<String, Tagged>>>,
}

impl std::fmt::Debug for ObjStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjStore").field("url", &self.url).finish()
    }
}

fn blob_path(id: &str) -> ObjPath {
    ObjPath::from(format!("blobs/{id}"))
}

fn meta_path(id: &str) -> ObjPath {
    ObjPath::from(format!("meta/{id}.json"))
}

fn collection_path(id: &str) -> ObjPath {
    ObjPath::from(format!("collections/{id}.json"))
}

async fn fetch_collection(store: Arc<dyn ObjectStore>, id: String) -> Result<Option<CollectionMeta>, MetaError> {
    match store.get(&collection_path(&id)).await {
        Ok(r) => {
            let bytes = r.bytes().await.map_err(store_err)?;
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| MetaError(format!("corrupt collection object for {id}: {e}")))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

/// Is `url` a store URL this module opens (rather than a directory path)?
pub fn is_store_url(url: &str) -> bool {
    ["s3://", "s3a://", "gs://", "az://", "abfs://", "abfss://", "azure://", "memory://"].iter().any(|p| url.starts_with(p))
}

/// Sets a client option unless the environment did (`AWS_TIMEOUT`, `GOOGLE_TIMEOUT`, …).
macro_rules! client_defaults {
    ($builder:expr, $key:path, $limits:expr) => {{
        use object_store::ClientConfigKey as C;
        let mut b = $builder;
        let timeout = format!("{}ms", $limits.timeout.as_millis().max(1));
        let connect = format!("{}ms", $limits.timeout.min(Duration::from_secs(5)).as_millis().max(1));
        for (k, v) in [(C::Timeout, timeout), (C::ConnectTimeout, connect)] {
            if b.get_config_value(&$key(k)).is_none() {
                b = b.with_config($key(k), v);
            }
        }
        b.with_retry(retry_config($limits))
    }};
}

fn retry_config(limits: &ClientLimits) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: limits.retries,
        retry_timeout: limits.timeout,
    }
}

impl ObjStore {
    /// Opens the store at `url` (credentials and endpoint from the environment, as the
    /// `object_store` builders read it) and checks that it answers: the marker object is read,
    /// or written when missing.
    pub fn open(url: &str, limits: &ClientLimits) -> Result<Self, String> {
        let fail = |e: &dyn std::fmt::Display| format!("store {url}: {e}");
        let (scheme, rest) = url.split_once("://").ok_or_else(|| fail(&"not a URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let base_url = format!("{scheme}://{bucket}");
        let store: Arc<dyn ObjectStore> = match scheme {
            "memory" => Arc::new(object_store::memory::InMemory::new()),
            "s3" | "s3a" => {
                use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
                let b = AmazonS3Builder::from_env().with_url(base_url);
                Arc::new(client_defaults!(b, AmazonS3ConfigKey::Client, limits).build().map_err(|e| fail(&e))?)
            }
            "gs" => {
                use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
                let b = GoogleCloudStorageBuilder::from_env().with_url(base_url);
                Arc::new(client_defaults!(b, GoogleConfigKey::Client, limits).build().map_err(|e| fail(&e))?)
            }
            "az" | "abfs" | "abfss" | "azure" => {
                use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
                let b = MicrosoftAzureBuilder::from_env().with_url(base_url);
                Arc::new(client_defaults!(b, AzureConfigKey::Client, limits).build().map_err(|e| fail(&e))?)
            }
            other => return Err(fail(&format!("unknown scheme {other}:// (s3, gs, az or memory)"))),
        };
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            store
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        let s = Self { store, url: url.to_owned(), listed: Arc::default() };
        s.init().map_err(|e| fail(&e))?;
        Ok(s)
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn init(&self) -> io::Result<()> {
        let store = self.store.clone();
        run(async move {
            match store.head(&ObjPath::from(MARKER)).await {
                Ok(_) => Ok(()),
                Err(object_store::Error::NotFound { .. }) => {
                    let body = PutPayload::from_static(b"{\"profview_store\":1}\n");
                    match store.put_opts(&ObjPath::from(MARKER), body, PutMode::Create.into()).await {
                        Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                        Err(e) => Err(io_err(e)),
                    }
                }
                Err(e) => Err(io_err(e)),
            }
        })?
    }

    /// Does the store answer? (Reads the marker object.)
    pub fn ping(&self) -> io::Result<()> {
        let store = self.store.clone();
        run(async move { store.head(&ObjPath::from(MARKER)).await.map(|_| ()).map_err(io_err) })?
    }

    async fn fetch_meta(store: Arc<dyn ObjectStore>, id: String) -> Result<Option<Tagged>, MetaError> {
        match store.get(&meta_path(&id)).await {
            Ok(r) => {
                let etag = r.meta.e_tag.clone();
                let bytes = r.bytes().await.map_err(store_err)?;
                let row: ProfileMeta = serde_json::from_slice(&bytes)
                    .map_err(|e| MetaError(format!("corrupt metadata object for {id}: {e}")))?;
                Ok(Some((etag, row)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err(e)),
        }
    }

    fn runm<T: Send + 'static>(fut: impl Future<Output = Result<T, MetaError>> + Send + 'static) -> Result<T, MetaError> {
        run(fut).map_err(meta_err)?
    }
}

/// The blob half of an [`ObjStore`].
#[derive(Debug)]
pub struct ObjBlobStore(pub ObjStore);

/// The metadata half of an [`ObjStore`].
#[derive(Debug)]
pub struct ObjMetaStore(pub ObjStore);

fn check_id(id: &str) -> io::Result<()> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad blob id {id:?}")))
    }
}

impl BlobStore for ObjBlobStore {
    fn put(&self, id: &str, src: BlobSource<'_>) -> io::Result<()> {
        check_id(id)?;
        let (store, path) = (self.0.store.clone(), blob_path(id));
        let small = match src {
            BlobSource::Bytes(b) => Some(b.to_vec()),
            BlobSource::File(p) if std::fs::metadata(p)?.len() <= SINGLE_PUT_MAX => Some(std::fs::read(p)?),
            BlobSource::File(_) => None,
        };
        if let Some(bytes) = small {
            return run(async move {
                match store.put_opts(&path, PutPayload::from(bytes), PutMode::Create.into()).await {
                    // Content-addressed: the object there already holds these bytes.
                    Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
                    Err(e) => Err(io_err(e)),
                }
            })?;
        }
        let BlobSource::File(file) = src else { return Ok(()) };
        // Large: in parts. An object appears only when its upload completes, so a reader never
        // sees part of one; the same content uploaded twice leaves the same object.
        let exists = {
            let (store, path) = (store.clone(), path.clone());
            run(async move { store.head(&path).await })?
        };
        match exists {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(io_err(e)),
        }
        let file = file.to_path_buf();
        run(async move {
            use tokio::io::AsyncReadExt;
            let mut f = tokio::fs::File::open(&file).await?;
            let upload = store.put_multipart(&path).await.map_err(io_err)?;
            let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut buf = vec![0u8; PART_SIZE];
            loop {
                let n = match f.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(e);
                    }
                };
                // At most two parts in flight: memory stays bounded by the part size.
                if let Err(e) = writer.wait_for_capacity(2).await {
                    let _ = writer.abort().await;
                    return Err(io_err(e));
                }
                writer.write(&buf[..n]);
            }
            writer.finish().await.map(|_| ()).map_err(io_err)
        })?
    }

    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        check_id(id)?;
        let (store, path) = (self.0.store.clone(), blob_path(id));
        run(async move {
            match store.get(&path).await {
                Ok(r) => r.bytes().await.map(|b| Some(b.to_vec())).map_err(io_err),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(io_err(e)),
            }
        })?
    }

    fn delete(&self, id: &str) -> io::Result<bool> {
        check_id(id)?;
        let (store, path) = (self.0.store.clone(), blob_path(id));
        run(async move {
            match store.head(&path).await {
                Ok(_) => store.delete(&path).await.map(|()| true).map_err(io_err),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(io_err(e)),
            }
        })?
    }

    fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.list_aged()?.into_iter().map(|(id, _)| id).collect())
    }

    fn sweep(&self, keep: &dyn Fn(&str) -> bool, grace: Duration) -> io::Result<usize> {
        let now = chrono_now_ms();
        let mut removed = 0;
        for (id, modified_ms) in self.list_aged()? {
            let old = now.saturating_sub(modified_ms) >= grace.as_millis() as u64;
            if old && !keep(&id) {
                let (store, path) = (self.0.store.clone(), blob_path(&id));
                if run(async move { store.delete(&path).await })?.is_ok() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

fn chrono_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl ObjBlobStore {
    /// Every stored blob id with its last-modified time (ms since the epoch).
    fn list_aged(&self) -> io::Result<Vec<(String, u64)>> {
        let store = self.0.store.clone();
        let mut out: Vec<(String, u64)> = run(async move {
            store
                .list(Some(&ObjPath::from("blobs")))
                .map_err(io_err)
                .try_filter_map(|m| async move {
                    let id = m.location.filename().unwrap_or_default().to_owned();
                    Ok(is_valid_id(&id).then(|| (id, m.last_modified.timestamp_millis().max(0) as u64)))
                })
                .try_collect()
                .await
        })??;
        out.sort();
        Ok(out)
    }
}

impl MetaStore for ObjMetaStore {
    fn insert_if_absent(&self, meta: &ProfileMeta) -> Result<ProfileMeta, MetaError> {
        let (store, meta) = (self.0.store.clone(), meta.clone());
        ObjStore::runm(async move {
            let body = serde_json::to_vec(&meta).map_err(meta_err)?;
            let path = meta_path(&meta.id);
            // Twice at most: the row another replica wrote may be deleted between our two calls.
            for _ in 0..2 {
                match store.put_opts(&path, PutPayload::from(body.clone()), PutMode::Create.into()).await {
                    Ok(_) => return Ok(meta),
                    Err(object_store::Error::AlreadyExists { .. }) => {}
                    Err(e) => return Err(store_err(e)),
                }
                if let Some((_, row)) = ObjStore::fetch_meta(store.clone(), meta.id.clone()).await? {
                    return Ok(row);
                }
            }
            Err(MetaError(format!("profile {}: its metadata object keeps changing", meta.id)))
        })
    }

    fn get(&self, id: &str) -> Result<Option<ProfileMeta>, MetaError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let (store, id) = (self.0.store.clone(), id.to_owned());
        ObjStore::runm(async move { Ok(ObjStore::fetch_meta(store, id).await?.map(|(_, row)| row)) })
    }

    fn list(&self) -> Result<Vec<ProfileMeta>, MetaError> {
        let (store, cache) = (self.0.store.clone(), self.0.listed.clone());
        ObjStore::runm(async move {
            let listed: Vec<object_store::ObjectMeta> =
                store.list(Some(&ObjPath::from("meta"))).try_collect().await.map_err(store_err)?;
            let mut rows = Vec::with_capacity(listed.len());
            let mut fetch = Vec::new();
            {
                let cached = cache.lock().unwrap_or_else(|p| p.into_inner());
                for m in &listed {
                    let Some(id) = m.location.filename().and_then(|f| f.strip_suffix(".json")) else { continue };
                    if !is_valid_id(id) {
                        continue;
                    }
                    match cached.get(id) {
                        Some((etag, row)) if etag.is_some() && *etag == m.e_tag => rows.push(row.clone()),
                        _ => fetch.push(id.to_owned()),
                    }
                }
            }
            let fetched: Vec<Option<Tagged>> = futures::stream::iter(fetch)
                .map(|id| ObjStore::fetch_meta(store.clone(), id))
                .buffer_unordered(LIST_CONCURRENCY)
                .try_collect()
                .await?;
            let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
            for (etag, row) in fetched.into_iter().flatten() {
                cached.insert(row.id.clone(), (etag, row.clone()));
                rows.push(row);
            }
            // Keep only what is still listed: the cache is bounded by the listing.
            let ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            cached.retain(|id, _| ids.contains(id.as_str()));
            drop(cached);
            crate::store::sort_rows(&mut rows);
            Ok(rows)
        })
    }

    fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, MetaError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let (store, id, name) = (self.0.store.clone(), id.to_owned(), name.to_owned());
        ObjStore::runm(async move {
            // Read, change, write back only if nobody wrote in between (nor deleted it: a
            // rename never brings back a deleted profile).
            for _ in 0..8 {
                let Some((etag, mut row)) = ObjStore::fetch_meta(store.clone(), id.clone()).await? else {
                    return Ok(None);
                };
                row.name = name.clone();
                let body = serde_json::to_vec(&row).map_err(meta_err)?;
                let mode = PutMode::Update(UpdateVersion { e_tag: etag, version: None });
                match store.put_opts(&meta_path(&id), PutPayload::from(body), PutOptions::from(mode)).await {
                    Ok(_) => return Ok(Some(row)),
                    Err(object_store::Error::Precondition { .. }) => continue,
                    Err(e) => return Err(store_err(e)),
                }
            }
            Err(MetaError(format!("profile {id}: renamed by others too often to rename")))
        })
    }

    fn delete(&self, id: &str) -> Result<bool, MetaError> {
        if !is_valid_id(id) {
            return Ok(false);
        }
        let (store, path) = (self.0.store.clone(), meta_path(id));
        ObjStore::runm(async move {
            match store.head(&path).await {
                Ok(_) => store.delete(&path).await.map(|()| true).map_err(store_err),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(store_err(e)),
            }
        })
    }

    fn insert_collection_if_absent(&self, c: &CollectionMeta) -> Result<CollectionMeta, MetaError> {
        if !is_valid_id(&c.id) {
            return Err(MetaError(format!("bad collection id {:?}", c.id)));
        }
        let (store, c) = (self.0.store.clone(), c.clone());
        ObjStore::runm(async move {
            let body = serde_json::to_vec(&c).map_err(meta_err)?;
            match store.put_opts(&collection_path(&c.id), PutPayload::from(body), PutMode::Create.into()).await {
                Ok(_) => Ok(c),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    Ok(fetch_collection(store, c.id.clone()).await?.unwrap_or(c))
                }
                Err(e) => Err(store_err(e)),
            }
        })
    }

    fn get_collection(&self, id: &str) -> Result<Option<CollectionMeta>, MetaError> {
        if !is_valid_id(id) {
            return Ok(None);
        }
        let (store, id) = (self.0.store.clone(), id.to_owned());
        ObjStore::runm(fetch_collection(store, id))
    }

    fn list_collections(&self) -> Result<Vec<CollectionMeta>, MetaError> {
        let store = self.0.store.clone();
        ObjStore::runm(async move {
            let listed: Vec<object_store::ObjectMeta> =
                store.list(Some(&ObjPath::from("collections"))).try_collect().await.map_err(store_err)?;
            let ids: Vec<String> = listed
                .into_iter()
                .filter_map(|m| m.location.filename().and_then(|f| f.strip_suffix(".json")).map(str::to_owned))
                .filter(|id| is_valid_id(id))
                .collect();
            let fetched: Vec<Option<CollectionMeta>> = futures::stream::iter(ids)
                .map(|id| fetch_collection(store.clone(), id))
                .buffer_unordered(LIST_CONCURRENCY)
                .try_collect()
                .await?;
            let mut rows: Vec<CollectionMeta> = fetched.into_iter().flatten().collect();
            crate::store::sort_collections(&mut rows);
            Ok(rows)
        })
    }

    fn ping(&self) -> Result<(), MetaError> {
        self.0.ping().map_err(meta_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn memory_store_round_trips_blobs_and_rows_and_sweeps_orphans() {
        let s = ObjStore::open("memory://", &ClientLimits::default()).unwrap();
        let (blobs, metas) = (ObjBlobStore(s.clone()), ObjMetaStore(s));
        blobs.put(A, BlobSource::Bytes(b"hello")).unwrap();
        blobs.put(A, BlobSource::Bytes(b"hello")).unwrap(); // create-if-absent: the same content again is fine
        blobs.put(B, BlobSource::Bytes(b"world")).unwrap();
        assert_eq!(blobs.get(A).unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(blobs.list().unwrap(), vec![A.to_owned(), B.to_owned()]);
        assert!(blobs.put("../x", BlobSource::Bytes(b"x")).is_err());

        assert_eq!(metas.insert_if_absent(&meta(A, 2)).unwrap().created_ms, 2);
        assert_eq!(metas.insert_if_absent(&meta(A, 9)).unwrap().created_ms, 2, "first row wins");
        metas.insert_if_absent(&meta(B, 1)).unwrap();
        assert_eq!(metas.list().unwrap().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![B, A]);
        assert_eq!(metas.rename(A, "renamed").unwrap().unwrap().name, "renamed");
        assert_eq!(metas.list().unwrap()[1].name, "renamed", "a changed object is fetched again");
        assert!(metas.delete(B).unwrap());
        assert!(!metas.delete(B).unwrap());
        assert_eq!(metas.rename(B, "back").unwrap(), None, "a rename does not bring back a deleted row");
        assert_eq!(metas.get(B).unwrap(), None);
        // B's blob is now an orphan: young, it stays; old enough, it goes; A's stays.
        let listed = |id: &str| id == A;
        assert_eq!(blobs.sweep(&listed, Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(blobs.sweep(&listed, Duration::ZERO).unwrap(), 1);
        assert_eq!(blobs.list().unwrap(), vec![A.to_owned()]);
        assert!(blobs.delete(A).unwrap());
        assert!(!blobs.delete(A).unwrap());
        metas.ping().unwrap();
        // Collections: create-if-absent, the first one wins, listed oldest first.
        let coll = |id: &str, name: &str, created_ms| CollectionMeta {
            id: id.into(),
            name: name.into(),
            profiles: vec![A.into(), B.into()],
            kind: "pstats".into(),
            unit: "seconds".into(),
            created_ms,
        };
        assert_eq!(metas.insert_collection_if_absent(&coll(B, "second", 5)).unwrap().name, "second");
        assert_eq!(metas.insert_collection_if_absent(&coll(B, "again", 9)).unwrap().name, "second");
        metas.insert_collection_if_absent(&coll(A, "first", 1)).unwrap();
        assert_eq!(metas.get_collection(B).unwrap().unwrap().profiles, vec![A.to_owned(), B.to_owned()]);
        assert_eq!(metas.get_collection("0000").unwrap(), None);
        let names: Vec<String> = metas.list_collections().unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, vec!["first", "second"]);
    }

    #[test]
    fn large_blobs_go_in_parts_and_read_back_whole() {
        let s = ObjStore::open("memory://prefix/inside", &ClientLimits::default()).unwrap();
        let blobs = ObjBlobStore(s);
        let dir = std::env::temp_dir().join(format!("profview-objstore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("big");
        let bytes: Vec<u8> = (0..(SINGLE_PUT_MAX as usize + PART_SIZE + 7)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &bytes).unwrap();
        blobs.put(A, BlobSource::File(&file)).unwrap();
        assert!(blobs.get(A).unwrap().unwrap() == bytes);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn urls_are_told_from_paths_and_unknown_schemes_refused() {
        assert!(is_store_url("s3://b/p") && is_store_url("memory://") && is_store_url("gs://b") && is_store_url("az://c"));
        assert!(!is_store_url("/var/lib/profview") && !is_store_url("data"));
        let e = ObjStore::open("ftp://x", &ClientLimits::default()).unwrap_err();
        assert!(e.contains("unknown scheme"), "{e}");
    }
}
