//! A stored profile that cannot be loaded is an error that says why, never a 404: a corrupt or
//! missing blob answers 500, a store that does not answer 503, an id that is not stored 404; and
//! every other profile goes on loading.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use common::{corpus, get_json};
use profview_server::state::StoreConfig;
use profview_server::store::{BlobSource, BlobStore, MemBlobStore, MemMetaStore, MetaError, MetaStore, ProfileMeta};
use profview_server::AppState;

const PSTATS: &str = "pstats/cprofile_recursion.prof";
const FOLDED: &str = "folded/pyspy_cpu_raw_default.txt";
/// Well formed, never stored.
const ABSENT: &str = "0123456789abcdef0123456789abcdef";

/// Every route that loads a profile's index, for `id`.
fn loading_routes(id: &str) -> Vec<String> {
    vec![
        format!("/api/profiles/{id}/functions?limit=5"),
        format!("/api/profiles/{id}/tree"),
        format!("/api/profiles/{id}/threads"),
        format!("/api/profiles/{id}/graph"),
        format!("/api/profiles/{id}/functions/0"),
        format!("/api/profiles/{id}/export?format=folded"),
    ]
}

/// A fresh, empty directory under the system temp dir, removed when dropped.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let d = std::env::temp_dir().join(format!("profview-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TmpDir(d)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open_dir(dir: &Path) -> AppState {
    AppState::open(StoreConfig { data_dir: Some(dir.to_path_buf()), ..Default::default() }).unwrap()
}

fn add(state: &AppState, rel: &str) -> String {
    state.add_bytes(rel.rsplit('/').next().unwrap(), &std::fs::read(corpus(rel)).unwrap()).unwrap().id.clone()
}

/// Asserts `uri` answers `status` with a JSON error containing every one of `words`.
async fn assert_error(state: &AppState, uri: &str, status: StatusCode, words: &[&str]) {
    let (s, body) = get_json(state, uri).await;
    assert_eq!(s, status, "{uri}: {body}");
    let msg = body["error"].as_str().unwrap_or_else(|| panic!("{uri}: no error message in {body}"));
    for w in words {
        assert!(msg.contains(w), "{uri}: {msg:?} does not say {w:?}");
    }
}

async fn assert_loads(state: &AppState, id: &str) {
    for uri in loading_routes(id) {
        let (s, body, _) = common::get(state, &uri).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_blob_is_500_naming_the_problem_a_missing_id_404_and_the_others_still_load() {
    let dir = TmpDir::new("corrupt-blob");
    let (bad, good) = {
        let state = open_dir(&dir.0);
        (add(&state, PSTATS), add(&state, FOLDED))
    };
    // Flip one byte in the middle of the stored file (a bit rot the size does not show).
    let blob = dir.0.join("blobs").join(&bad);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::remove_file(&blob).unwrap();
    std::fs::write(&blob, &bytes).unwrap();

    // A restart: nothing is cached, the index is rebuilt from the blob.
    let state = open_dir(&dir.0);
    for uri in loading_routes(&bad) {
        assert_error(&state, &uri, StatusCode::INTERNAL_SERVER_ERROR, &[&bad, "corrupt"]).await;
    }
    // Asked again, it is still the same error (a failure is not cached as absent).
    assert_error(&state, &loading_routes(&bad)[0], StatusCode::INTERNAL_SERVER_ERROR, &["corrupt"]).await;
    // Its row is intact: it is listed and its summary answers.
    let (s, summary) = get_json(&state, &format!("/api/profiles/{bad}")).await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    let (_, list) = get_json(&state, "/api/profiles").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");

    // An id that is not stored is 404, on every route.
    for uri in loading_routes(ABSENT).into_iter().chain([format!("/api/profiles/{ABSENT}")]) {
        assert_error(&state, &uri, StatusCode::NOT_FOUND, &["no profile with id"]).await;
    }
    // The other profile loads.
    assert_loads(&state, &good).await;

    // A blob that is gone while its row stays: 500 too, saying so.
    std::fs::remove_file(&blob).unwrap();
    assert_error(&state, &loading_routes(&bad)[0], StatusCode::INTERNAL_SERVER_ERROR, &[&bad, "missing"]).await;
    assert_loads(&state, &good).await;
}

/// A blob store that can be made unreachable (as a remote object store can be).
#[derive(Debug, Default)]
struct FlakyBlobs {
    inner: MemBlobStore,
    down: Arc<AtomicBool>,
}

impl FlakyBlobs {
    fn check(&self) -> io::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused by blobs.example"));
        }
        Ok(())
    }
}

impl BlobStore for FlakyBlobs {
    fn put(&self, id: &str, src: BlobSource<'_>) -> io::Result<()> {
        self.check()?;
        self.inner.put(id, src)
    }
    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        self.check()?;
        self.inner.get(id)
    }
    fn delete(&self, id: &str) -> io::Result<bool> {
        self.check()?;
        self.inner.delete(id)
    }
    fn list(&self) -> io::Result<Vec<String>> {
        self.check()?;
        self.inner.list()
    }
}

/// A metadata store that can be made to fail.
#[derive(Debug, Default)]
struct FlakyMetas {
    inner: MemMetaStore,
    down: Arc<AtomicBool>,
}

impl FlakyMetas {
    fn check(&self) -> Result<(), MetaError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MetaError("database is unreachable".into()));
        }
        Ok(())
    }
}

impl MetaStore for FlakyMetas {
    fn insert_if_absent(&self, meta: &ProfileMeta) -> Result<ProfileMeta, MetaError> {
        self.check()?;
        self.inner.insert_if_absent(meta)
    }
    fn get(&self, id: &str) -> Result<Option<ProfileMeta>, MetaError> {
        self.check()?;
        self.inner.get(id)
    }
    fn list(&self) -> Result<Vec<ProfileMeta>, MetaError> {
        self.check()?;
        self.inner.list()
    }
    fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, MetaError> {
        self.check()?;
        self.inner.rename(id, name)
    }
    fn delete(&self, id: &str) -> Result<bool, MetaError> {
        self.check()?;
        self.inner.delete(id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_503_and_loading_resumes_when_it_is_back() {
    let (blobs_down, metas_down) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let blobs = FlakyBlobs { down: blobs_down.clone(), ..Default::default() };
    let metas = FlakyMetas { down: metas_down.clone(), ..Default::default() };
    // One cached index: registering the second profile evicts the first.
    let cfg = StoreConfig { cache_profiles: 1, ..Default::default() };
    let state = AppState::with_stores(Box::new(blobs), Box::new(metas), std::env::temp_dir(), cfg);
    let evicted = add(&state, PSTATS);
    let cached = add(&state, FOLDED);
    assert_eq!(state.cached_indexes(), 1);

    blobs_down.store(true, Ordering::SeqCst);
    for uri in loading_routes(&evicted) {
        assert_error(&state, &uri, StatusCode::SERVICE_UNAVAILABLE, &[&evicted, "unreachable"]).await;
    }
    assert_error(&state, &loading_routes(ABSENT)[0], StatusCode::NOT_FOUND, &["no profile with id"]).await;
    assert_loads(&state, &cached).await;

    // The metadata store failing: 503 as well, not 404 (whether the id is stored is unknown).
    blobs_down.store(false, Ordering::SeqCst);
    metas_down.store(true, Ordering::SeqCst);
    for uri in [format!("/api/profiles/{cached}"), loading_routes(&cached)[0].clone(), loading_routes(ABSENT)[0].clone()] {
        assert_error(&state, &uri, StatusCode::SERVICE_UNAVAILABLE, &["unreachable"]).await;
    }

    metas_down.store(false, Ordering::SeqCst);
    assert_loads(&state, &evicted).await;
    assert_loads(&state, &cached).await;
}
