//! The JSON wire types of profview's HTTP API: the contract between `server` and `app`.
//!
//! Only serde DTOs and route constants live here; no HTTP library, no I/O, wasm-buildable.
//! Fields are only ever added, never renamed: external checks rely on these shapes.
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

/// One entry of `GET /api/profiles`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileSummary {
    /// Opaque profile id, used in `/p/<id>` and `/api/profiles/<id>/...`.
    pub id: String,
    /// Display name (usually the file name).
    pub name: String,
    /// `pstats` or `folded`.
    pub format: String,
    /// Producer dialect (`cprofile`, `py-spy`, ...).
    #[serde(default)]
    pub dialect: String,
    /// Unit of the primary metric (`seconds`, `samples`, ...).
    #[serde(default)]
    pub unit: String,
    /// Number of functions.
    #[serde(default)]
    pub functions: u64,
    /// Import warnings.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One row of the function table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionRow {
    /// Function id inside the profile (stable for the profile's lifetime).
    #[serde(default)]
    pub id: u32,
    /// Function name as stored.
    pub name: String,
    /// File as stored.
    pub file: String,
    /// Line as stored.
    pub line: i64,
    /// pstats `nc`; `null` for sampled profiles.
    pub ncalls: Option<u64>,
    /// pstats `cc`; `null` for sampled profiles.
    pub primcalls: Option<u64>,
    /// Own time (pstats) or self weight (samples).
    pub tottime: Option<f64>,
    /// Cumulative time (pstats) or total weight (samples).
    pub cumtime: Option<f64>,
    /// Self samples/weight for sampled profiles.
    #[serde(default)]
    pub self_weight: Option<f64>,
    /// Total (inclusive) samples/weight for sampled profiles.
    #[serde(default)]
    pub total_weight: Option<f64>,
}

/// `GET /api/profiles/{id}/functions` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionPage {
    /// Rows matching the filter, before paging.
    pub total: u64,
    /// The requested page.
    pub rows: Vec<FunctionRow>,
}

/// Every error answer: `{"error": "..."}` with a 4xx/5xx status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    pub error: String,
}

/// Columns the function table can be sorted by.
pub const SORT_COLUMNS: &[&str] =
    &["name", "file", "line", "ncalls", "primcalls", "tottime", "cumtime", "percall_tottime", "percall_cumtime"];
