//! Shared server state: the registered profiles and their indexes.

use std::sync::{Arc, RwLock};

use profview_import::{Imported, Limits};
use profview_index::ProfileIndex;

/// One registered profile.
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

/// State shared by every handler.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    profiles: Arc<RwLock<Vec<Arc<Entry>>>>,
    limits: Arc<Limits>,
}

/// The id of some content.
pub fn content_id(bytes: &[u8]) -> String {
    let h = blake3::hash(bytes);
    h.to_hex()[..32].to_owned()
}

impl AppState {
    /// An empty state with default import limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Import limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Imports and registers a profile. The same content registered twice gives the same id.
    pub fn add_bytes(&self, name: &str, bytes: &[u8]) -> Result<Arc<Entry>, String> {
        let id = content_id(bytes);
        if let Some(e) = self.get(&id) {
            return Ok(e);
        }
        let Imported { profile, warnings } =
            profview_import::import(name, bytes, &self.limits).map_err(|e| format!("{name}: {e}"))?;
        let entry = Arc::new(Entry {
            id: id.clone(),
            name: name.to_owned(),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
            index: Arc::new(ProfileIndex::build(profile)),
        });
        let mut list = self.profiles.write().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = list.iter().find(|e| e.id == id) {
            return Ok(e.clone());
        }
        list.push(entry.clone());
        Ok(entry)
    }

    /// A profile by id.
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        let list = self.profiles.read().unwrap_or_else(|p| p.into_inner());
        list.iter().find(|e| e.id == id).cloned()
    }

    /// Every profile, in registration order.
    pub fn list(&self) -> Vec<Arc<Entry>> {
        self.profiles.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Removes a profile; true when it existed.
    pub fn remove(&self, id: &str) -> bool {
        let mut list = self.profiles.write().unwrap_or_else(|p| p.into_inner());
        let before = list.len();
        list.retain(|e| e.id != id);
        list.len() != before
    }
}
