//! `GET /metrics`: the server's counters in the Prometheus text format (0.0.4), every series
//! named `profview_…`. One [`Metrics`] per [`AppState`](crate::AppState) (no global registry, so
//! tests in one process do not share counts).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::{BlobSource, BlobStore, CollectionMeta, MetaError, MetaStore, ProfileMeta};

/// Labels of one HTTP request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route pattern (`/api/profiles/{id}/tree`), or `app` for the web app's files.
    pub route: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The status code.
    pub status: u16,
}

/// Labels of a request's latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// As in [`RequestLabels`].
    pub route: String,
    /// As in [`RequestLabels`].
    pub method: String,
}

/// Outcome of an import.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `stored`, `refused` (not a profile) or `failed` (storage).
    pub result: &'static str,
}

/// Which store operation failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    /// `blob_put`, `meta_list`, …
    pub op: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms … about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every series the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `profview_http_requests_total{route,method,status}`.
    pub requests: Family<RequestLabels, Counter>,
    /// `profview_http_request_duration_seconds{route,method}`.
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// `profview_uploads_total`: upload bodies received whole.
    pub uploads: Counter,
    /// `profview_upload_bytes_total`.
    pub upload_bytes: Counter,
    /// `profview_imports_total{result}`.
    pub imports: Family<ResultLabels, Counter>,
    /// `profview_import_duration_seconds`: import, index and store of one upload.
    pub import_seconds: Histogram,
    /// `profview_imports_in_flight`.
    pub imports_in_flight: Gauge,
    /// `profview_imports_queued`: uploads waiting for an import slot.
    pub imports_queued: Gauge,
    /// `profview_index_cache_hits_total`.
    pub cache_hits: Counter,
    /// `profview_index_cache_misses_total`.
    pub cache_misses: Counter,
    /// `profview_index_cache_evictions_total`.
    pub cache_evictions: Counter,
    /// `profview_store_errors_total{op}`.
    pub store_errors: Family<OpLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("profview"),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            uploads: Counter::default(),
            upload_bytes: Counter::default(),
            imports: Family::default(),
            import_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            imports_in_flight: Gauge::default(),
            imports_queued: Gauge::default(),
            cache_hits: Counter::default(),
            cache_misses: Counter::default(),
            cache_evictions: Counter::default(),
            store_errors: Family::default(),
        };
        let r = &mut m.registry;
        r.register("http_requests", "HTTP requests answered, by route, method and status", m.requests.clone());
        r.register("http_request_duration_seconds", "Time to answer a request, by route and method", m.latency.clone());
        r.register("uploads", "Upload bodies received whole", m.uploads.clone());
        r.register("upload_bytes", "Bytes of upload bodies received", m.upload_bytes.clone());
        r.register("imports", "Uploads imported, by result (stored, refused, failed)", m.imports.clone());
        r.register("import_duration_seconds", "Time to import, index and store one upload", m.import_seconds.clone());
        r.register("imports_in_flight", "Imports running now", m.imports_in_flight.clone());
        r.register("imports_queued", "Uploads waiting for an import slot", m.imports_queued.clone());
        r.register("index_cache_hits", "Profile loads answered from the cache of built indexes", m.cache_hits.clone());
        r.register("index_cache_misses", "Profile loads that built the index from the stored file", m.cache_misses.clone());
        r.register("index_cache_evictions", "Built indexes dropped from the cache to stay in bounds", m.cache_evictions.clone());
        r.register("store_errors", "Failed calls to the profile store, by operation", m.store_errors.clone());
        m
    }
}

impl Metrics {
    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics: {e}");
        }
        out
    }

    /// Records one answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, took: Duration) {
        let (route, method) = (route.to_owned(), method.to_owned());
        self.requests.get_or_create(&RequestLabels { route: route.clone(), method: method.clone(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route, method }).observe(took.as_secs_f64());
    }

    fn store_error(&self, op: &'static str) {
        self.store_errors.get_or_create(&OpLabels { op }).inc();
    }
}

/// The `Content-Type` of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A store that counts its failures in `profview_store_errors_total{op}`.
#[derive(Debug)]
pub struct Counted<S: ?Sized> {
    /// The store.
    pub inner: Box<S>,
    /// Where failures are counted.
    pub metrics: Arc<Metrics>,
}

impl<S: ?Sized> Counted<S> {
    fn count<T, E>(&self, op: &'static str, r: Result<T, E>) -> Result<T, E> {
        if r.is_err() {
            self.metrics.store_error(op);
        }
        r
    }
}

impl BlobStore for Counted<dyn BlobStore> {
    fn put(&self, id: &str, src: BlobSource<'_>) -> io::Result<()> {
        self.count("blob_put", self.inner.put(id, src))
    }
    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        self.count("blob_get", self.inner.get(id))
    }
    fn open(&self, id: &str) -> io::Result<Option<Box<dyn io::Read + Send>>> {
        self.count("blob_get", self.inner.open(id))
    }
    fn delete(&self, id: &str) -> io::Result<bool> {
        self.count("blob_delete", self.inner.delete(id))
    }
    fn list(&self) -> io::Result<Vec<String>> {
        self.count("blob_list", self.inner.list())
    }
    fn sweep(&self, keep: &dyn Fn(&str) -> bool, grace: Duration) -> io::Result<usize> {
        self.count("blob_sweep", self.inner.sweep(keep, grace))
    }
}

impl MetaStore for Counted<dyn MetaStore> {
    fn insert_if_absent(&self, meta: &ProfileMeta) -> Result<ProfileMeta, MetaError> {
        self.count("meta_insert", self.inner.insert_if_absent(meta))
    }
    fn get(&self, id: &str) -> Result<Option<ProfileMeta>, MetaError> {
        self.count("meta_get", self.inner.get(id))
    }
    fn list(&self) -> Result<Vec<ProfileMeta>, MetaError> {
        self.count("meta_list", self.inner.list())
    }
    fn rename(&self, id: &str, name: &str) -> Result<Option<ProfileMeta>, MetaError> {
        self.count("meta_rename", self.inner.rename(id, name))
    }
    fn delete(&self, id: &str) -> Result<bool, MetaError> {
        self.count("meta_delete", self.inner.delete(id))
    }
    fn insert_collection_if_absent(&self, c: &CollectionMeta) -> Result<CollectionMeta, MetaError> {
        self.count("collection_insert", self.inner.insert_collection_if_absent(c))
    }
    fn get_collection(&self, id: &str) -> Result<Option<CollectionMeta>, MetaError> {
        self.count("collection_get", self.inner.get_collection(id))
    }
    fn list_collections(&self) -> Result<Vec<CollectionMeta>, MetaError> {
        self.count("collection_list", self.inner.list_collections())
    }
    fn ping(&self) -> Result<(), MetaError> {
        self.count("ping", self.inner.ping())
    }
}
