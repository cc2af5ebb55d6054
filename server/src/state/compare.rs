//! Collections and comparisons over stored profiles: a collection is a stored, named set of
//! profile ids whose id also names its summed profile (`/p/<id>` is the dashboard of the sum);
//! a side of a comparison is a list of profile or collection ids.

use profview_api::Normalize;
use profview_compare::{collate, diff, values_of, Collation, Diff, ProfileValues};

use super::*;
use crate::error::AppError;
use crate::store::CollectionMeta;

/// Most profiles in one collection or one side of a comparison.
pub const MAX_MEMBERS: usize = 10_000;
/// Longest collection name, in bytes.
pub const MAX_NAME: usize = 200;

/// Recently computed comparisons (each bounded; the oldest go first).
#[derive(Debug, Default)]
pub(super) struct CompareCache {
    values: Mutex<Recent<String, Arc<ProfileValues>>>,
    collations: Mutex<Recent<String, Arc<Collation>>>,
    diffs: Mutex<Recent<String, Arc<Diff>>>,
}

const VALUES_CAP: usize = 20_000;
const RESULTS_CAP: usize = 8;

fn put<V: Clone>(m: &Mutex<Recent<String, V>>, key: String, v: V, cap: usize) {
    let mut r = lock(m);
    r.insert(key, v);
    while r.len() > cap {
        r.pop_oldest();
    }
}

/// The id of a collection: the first 128 bits of the BLAKE3 hash of its name and members.
pub fn collection_id(name: &str, profiles: &[String]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"profview collection\0");
    h.update(name.as_bytes());
    for p in profiles {
        h.update(b"\0");
        h.update(p.as_bytes());
    }
    id_of(&h.finalize())
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    /// The ids as given (profiles or collections).
    pub ids: Vec<String>,
    /// The profiles they stand for, collections expanded, in order.
    pub members: Vec<String>,
}

impl Side {
    fn key(&self) -> String {
        self.members.join(",")
    }
}

/// `pstats` for pstats files, `samples` for everything sampled.
fn kind_of(meta: &ProfileMeta) -> &'static str {
    if meta.format == "pstats" {
        "pstats"
    } else {
        "samples"
    }
}

impl AppState {
    /// Stores a collection of stored profiles of one kind and unit (the same name and members
    /// give the same collection).
    pub fn create_collection_blocking(&self, name: &str, profiles: &[String]) -> Result<CollectionMeta, AppError> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(AppError::BadRequest(format!("a collection needs a name of 1 to {MAX_NAME} bytes")));
        }
        if profiles.is_empty() || profiles.len() > MAX_MEMBERS {
            return Err(AppError::BadRequest(format!("a collection holds 1 to {MAX_MEMBERS} profiles")));
        }
        let mut first: Option<ProfileMeta> = None;
        for id in profiles {
            let meta = self.find_meta(id)?.ok_or_else(|| AppError::BadRequest(format!("no profile with id {id:?}")))?;
            if let Some(f) = &first {
                if kind_of(f) != kind_of(&meta) || f.unit != meta.unit {
                    return Err(AppError::BadRequest(format!(
                        "{} ({}, {}) and {} ({}, {}) cannot be collated: a collection is all pstats or all sampled profiles of one unit",
                        f.name,
                        kind_of(f),
                        f.unit,
                        meta.name,
                        kind_of(&meta),
                        meta.unit
                    )));
                }
            } else {
                first = Some(meta);
            }
        }
        let first = first.ok_or_else(|| AppError::BadRequest("a collection holds at least one profile".into()))?;
        let c = CollectionMeta {
            id: collection_id(name, profiles),
            name: name.to_owned(),
            profiles: profiles.to_vec(),
            kind: kind_of(&first).to_owned(),
            unit: first.unit.clone(),
            created_ms: now_ms(),
        };
        self.inner.metas.insert_collection_if_absent(&c).map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// A stored collection; `Ok(None)` when there is none with this id.
    pub fn collection(&self, id: &str) -> Result<Option<CollectionMeta>, LoadError> {
        if !store::is_valid_id(id) {
            return Ok(None);
        }
        self.inner.metas.get_collection(id).map_err(|e| LoadError::Unavailable(format!("collection {id}: {e}")))
    }

    /// Every collection, oldest first.
    pub fn list_collections(&self) -> Result<Vec<CollectionMeta>, String> {
        self.inner.metas.list_collections().map_err(|e| e.to_string())
    }

    /// The summed profile of a collection (merged like `pstats.Stats(*files)`, or the samples
    /// of all), cached like any profile's index under the collection's id.
    pub(super) fn load_collection_sum_blocking(&self, id: &str) -> Result<Option<Arc<Entry>>, LoadError> {
        let Some(c) = self.collection(id)? else {
            lock(&self.inner.cache).remove(id);
            return Ok(None);
        };
        let name = format!("{} (sum of {})", c.name, c.profiles.len());
        if let Some(index) = lock(&self.inner.cache).get(id) {
            return Ok(Some(Arc::new(Entry { id: c.id, name, warnings: Vec::new(), index })));
        }
        let (index, warnings) = self.merged_index_blocking(&c.profiles)?;
        lock(&self.inner.cache).insert(id, index.clone());
        Ok(Some(Arc::new(Entry { id: c.id, name, warnings, index })))
    }

    /// The stored bytes of a profile, checked against its hash.
    fn checked_blob(&self, meta: &ProfileMeta) -> Result<Vec<u8>, LoadError> {
        let id = &meta.id;
        let bytes = self
            .inner
            .blobs
            .get(id)
            .map_err(|e| LoadError::of_blob(id, &e))?
            .ok_or_else(|| LoadError::Unreadable(format!("profile {id}: its stored file is missing")))?;
        if blake3::hash(&bytes).to_hex().as_str() != meta.blake3 {
            return Err(LoadError::Unreadable(format!("profile {id}: its stored file is corrupt (hash mismatch)")));
        }
        Ok(bytes)
    }

    fn member_meta(&self, id: &str) -> Result<ProfileMeta, LoadError> {
        self.find_meta(id)?.ok_or_else(|| LoadError::Unreadable(format!("profile {id} is no longer stored")))
    }

    /// One index over several stored profiles, merged as the CLI merges files.
    fn merged_index_blocking(&self, ids: &[String]) -> Result<(Arc<ProfileIndex>, Vec<String>), LoadError> {
        let mut blobs = Vec::with_capacity(ids.len());
        let mut names = Vec::with_capacity(ids.len());
        for id in ids {
            let meta = self.member_meta(id)?;
            blobs.push(self.checked_blob(&meta)?);
            names.push(if meta.source_name.is_empty() { meta.name } else { meta.source_name });
        }
        let inputs: Vec<(&str, &[u8])> = names.iter().map(String::as_str).zip(blobs.iter().map(Vec::as_slice)).collect();
        let imported = profview_import::import_many(&inputs, &self.inner.limits)
            .map_err(|e| LoadError::Unreadable(format!("the profiles cannot be summed: {e}")))?;
        drop(blobs);
        let warnings = imported.warnings.iter().take(store::MAX_WARNINGS).map(|w| w.to_string()).collect();
        let index = Arc::new(ProfileIndex::build(imported.profile));
        Ok((index, warnings))
    }

    /// The per-function numbers of a stored profile (imported from its file, no index built).
    pub fn values_blocking(&self, id: &str) -> Result<Arc<ProfileValues>, LoadError> {
        if let Some(v) = lock(&self.inner.compare.values).get(id) {
            return Ok(v);
        }
        let meta = self.member_meta(id)?;
        let bytes = self.checked_blob(&meta)?;
        let name = if meta.source_name.is_empty() { &meta.name } else { &meta.source_name };
        let imported = profview_import::import(name, &bytes, &self.inner.limits)
            .map_err(|e| LoadError::Unreadable(format!("profile {id}: its stored file no longer imports: {e}")))?;
        let v = Arc::new(values_of(&imported.profile));
        put(&self.inner.compare.values, id.to_owned(), v.clone(), VALUES_CAP);
        Ok(v)
    }

    /// The numbers of many profiles, read on every core.
    fn many_values_blocking(&self, ids: &[String]) -> Result<Vec<Arc<ProfileValues>>, LoadError> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
        let chunk = ids.len().div_ceil(threads).max(1);
        let parts: Vec<Result<Vec<Arc<ProfileValues>>, LoadError>> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(|id| self.values_blocking(id)).collect::<Result<Vec<_>, _>>()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(LoadError::Unreadable("reading a profile panicked".into()))))
                .collect()
        });
        let mut out = Vec::with_capacity(ids.len());
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// Expands ids (profiles or collections) into a side; 404 names the first unknown id.
    pub fn side_blocking(&self, ids: &[String]) -> Result<Side, AppError> {
        if ids.is_empty() {
            return Err(AppError::BadRequest("each side needs at least one profile or collection id".into()));
        }
        let mut members = Vec::new();
        for id in ids {
            if self.find_meta(id)?.is_some() {
                members.push(id.clone());
            } else if let Some(c) = self.collection(id)? {
                members.extend(c.profiles);
            } else {
                return Err(AppError::NotFound(format!("no profile or collection with id {id:?}")));
            }
            if members.len() > MAX_MEMBERS {
                return Err(AppError::BadRequest(format!("a side holds at most {MAX_MEMBERS} profiles")));
            }
        }
        Ok(Side { ids: ids.to_vec(), members })
    }

    /// The collation of a side's members (cached).
    pub fn collation_blocking(&self, side: &Side) -> Result<Arc<Collation>, AppError> {
        let key = side.key();
        if let Some(c) = lock(&self.inner.compare.collations).get(&key) {
            return Ok(c);
        }
        let vals = self.many_values_blocking(&side.members)?;
        let refs: Vec<&ProfileValues> = vals.iter().map(Arc::as_ref).collect();
        let c = Arc::new(collate(&refs, &side.members).map_err(|e| AppError::BadRequest(e.0))?);
        put(&self.inner.compare.collations, key, c.clone(), RESULTS_CAP);
        Ok(c)
    }

    /// The diff of two sides (cached).
    pub fn diff_blocking(&self, base: &Side, new: &Side, normalize: Normalize) -> Result<Arc<Diff>, AppError> {
        let key = format!("{}|{}|{normalize}", base.key(), new.key());
        if let Some(d) = lock(&self.inner.compare.diffs).get(&key) {
            return Ok(d);
        }
        // Both sides read together, so two single profiles are read on two cores.
        let all: Vec<String> = base.members.iter().chain(&new.members).cloned().collect();
        let vals = self.many_values_blocking(&all)?;
        let (bv, nv) = vals.split_at(base.members.len());
        let b: Vec<&ProfileValues> = bv.iter().map(Arc::as_ref).collect();
        let n: Vec<&ProfileValues> = nv.iter().map(Arc::as_ref).collect();
        let d = Arc::new(diff(&b, &n, &base.members, &new.members, normalize).map_err(|e| AppError::BadRequest(e.0))?);
        put(&self.inner.compare.diffs, key, d.clone(), RESULTS_CAP);
        Ok(d)
    }

    /// The index of a side: the profile's or collection's own when the side is one id, else the
    /// sum of its members (cached like a profile's, under an id derived from the members).
    pub fn side_index_blocking(&self, side: &Side) -> Result<Arc<ProfileIndex>, AppError> {
        if let [one] = side.ids.as_slice() {
            let e = self.load_blocking(one)?.ok_or_else(|| AppError::NotFound(format!("no profile with id {one:?}")))?;
            return Ok(e.index.clone());
        }
        let key = collection_id("side", &side.members);
        if let Some(index) = lock(&self.inner.cache).get(&key) {
            return Ok(index);
        }
        let (index, _) = self.merged_index_blocking(&side.members)?;
        lock(&self.inner.cache).insert(&key, index.clone());
        Ok(index)
    }
}
