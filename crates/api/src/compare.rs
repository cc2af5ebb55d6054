//! Wire types of comparing and collating: `profview collate|diff --json`, `/api/collections`,
//! `/api/compare` and `/api/compare/tree`.

use serde::{Deserialize, Serialize};

use crate::TreeMode;

/// Per-profile numbers of a function, by field. pstats profiles have `ncalls`, `primcalls`,
/// `tottime`, `cumtime`; sampled profiles `self` and `total`. Fields a profile kind lacks are
/// absent from the JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields<T> {
    /// pstats `nc`: calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ncalls: Option<T>,
    /// pstats `cc`: primitive (non-recursive) calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primcalls: Option<T>,
    /// pstats `tt`: own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tottime: Option<T>,
    /// pstats `ct`: time including callees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cumtime: Option<T>,
    /// Samples: weight of the samples whose leaf is the function.
    #[serde(default, rename = "self", skip_serializing_if = "Option::is_none")]
    pub self_weight: Option<T>,
    /// Samples: weight of the samples whose stack holds the function.
    #[serde(default, rename = "total", skip_serializing_if = "Option::is_none")]
    pub total_weight: Option<T>,
}

impl<T> Fields<T> {
    /// The value of one field.
    pub fn get(&self, m: Metric) -> Option<&T> {
        match m {
            Metric::Ncalls => self.ncalls.as_ref(),
            Metric::Primcalls => self.primcalls.as_ref(),
            Metric::Tottime => self.tottime.as_ref(),
            Metric::Cumtime => self.cumtime.as_ref(),
            Metric::SelfWeight => self.self_weight.as_ref(),
            Metric::TotalWeight => self.total_weight.as_ref(),
        }
    }

    /// Sets one field.
    pub fn set(&mut self, m: Metric, v: T) {
        let slot = match m {
            Metric::Ncalls => &mut self.ncalls,
            Metric::Primcalls => &mut self.primcalls,
            Metric::Tottime => &mut self.tottime,
            Metric::Cumtime => &mut self.cumtime,
            Metric::SelfWeight => &mut self.self_weight,
            Metric::TotalWeight => &mut self.total_weight,
        };
        *slot = Some(v);
    }
}

wire_enum! {
    /// A per-function number that collating and diffing work on.
    pub enum Metric ("metric") {
        /// pstats calls.
        Ncalls = "ncalls",
        /// pstats primitive calls.
        Primcalls = "primcalls",
        /// pstats own time.
        Tottime = "tottime",
        /// pstats time including callees.
        Cumtime = "cumtime",
        /// Sampled self weight.
        SelfWeight = "self",
        /// Sampled total weight.
        TotalWeight = "total",
    }
}

impl Metric {
    /// The fields of pstats profiles.
    pub const PSTATS: &'static [Metric] = &[Metric::Ncalls, Metric::Primcalls, Metric::Tottime, Metric::Cumtime];
    /// The fields of sampled profiles.
    pub const SAMPLES: &'static [Metric] = &[Metric::SelfWeight, Metric::TotalWeight];
}

/// The spread of one number over the profiles of a set, a profile lacking the function counting
/// as 0. Quantiles interpolate linearly between closest ranks (numpy's default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// 50th percentile.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// One function of a collated set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollateRow {
    /// Function id in the collation (its union of functions); `/c/<id>` selects by it.
    #[serde(default)]
    pub id: u32,
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// In how many profiles the function appears.
    pub present: u64,
    /// Sums over every profile (for pstats equal to `pstats.Stats(*files)`).
    pub sum: Fields<f64>,
    /// The spread of each field over all profiles.
    #[serde(flatten)]
    pub spread: Fields<Spread>,
    /// Per-profile values of `metric` (only in the API, for the row's distribution; `null` in the
    /// CLI's JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
}

/// `profview collate FILE... --json` and `GET /api/collections/{id}/table`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollateReport {
    /// Number of profiles collated.
    pub files: u64,
    /// Unit of the times or weights.
    pub unit: String,
    /// `pstats` or `samples`.
    #[serde(default)]
    pub kind: String,
    /// Functions matching the filter, before paging.
    #[serde(default)]
    pub total: u64,
    /// The functions (a page of them in the API).
    pub functions: Vec<CollateRow>,
}

/// `POST /api/collections` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionRequest {
    /// Display name.
    pub name: String,
    /// Profile ids, in order.
    pub profiles: Vec<String>,
}

/// `201` answer of `POST /api/collections`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionCreated {
    /// Collection id.
    pub id: String,
    /// Its permanent page, `/c/<id>`.
    pub url: String,
}

/// `GET /api/collections/{id}` and one entry of `GET /api/collections`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollectionSummary {
    /// Collection id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Member profile ids, in order.
    pub profiles: Vec<String>,
    /// `pstats` or `samples`.
    pub kind: String,
    /// Unit.
    pub unit: String,
    /// When it was made, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub created: Option<u64>,
    /// The profile id of the summed profile's dashboard (`/p/<summed>`).
    pub summed: String,
}

wire_enum! {
    /// How the sides of a diff are scaled before they are compared (`normalize=`).
    #[derive(Default)]
    pub enum Normalize ("normalize") {
        /// The numbers as measured (sums for sets).
        #[default]
        Absolute = "absolute" | "none",
        /// Each side divided by its own total (pprof `-normalize`, `inferno-diff-folded -n`):
        /// shares of the run.
        Total = "total",
        /// Each side's sums divided by its number of profiles: sets of different sizes compare
        /// per profile (per request).
        Profile = "profile" | "per-profile",
    }
}

/// The numbers of one side of a diff row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SideValues {
    /// The side's (normalized) numbers.
    #[serde(flatten)]
    pub values: Fields<f64>,
    /// Sets: in how many of the side's profiles the function appears.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<u64>,
    /// Sets: the spread of each field over the side's profiles (not normalized).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Fields<Spread>>,
}

/// A change in time split into its two causes (pstats): `more_calls + slower_per_call = delta`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Δncalls × base time per call.
    pub more_calls: f64,
    /// new ncalls × Δ time per call.
    pub slower_per_call: f64,
}

/// The test of one field's difference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Significance {
    /// Two-sided p-value.
    pub p: f64,
    /// Benjamini–Hochberg adjusted p-value across the functions of the diff.
    pub q: f64,
    /// `q` < the report's `alpha`.
    pub significant: bool,
}

/// One function of a diff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    /// Function id in the diff's union of functions (the compare tree's `func`).
    #[serde(default)]
    pub id: u32,
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// The base side; `null` when the function is absent there.
    pub base: Option<SideValues>,
    /// The new side; `null` when the function is absent there.
    pub new: Option<SideValues>,
    /// new − base, field by field (an absent side counts as 0).
    pub delta: Fields<f64>,
    /// delta / base, where base is not 0.
    pub relative: Fields<f64>,
    /// pstats: the changes of `tottime` and `cumtime` split into more calls and slower calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Fields<Split>>,
    /// Each field's test, where one applies (`null` for two single pstats profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance: Option<Fields<Significance>>,
    /// The test of the primary field (`tottime` or `self`): `null` when no test applies.
    pub significant: Option<bool>,
}

/// One side of a diff.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SideInfo {
    /// Number of profiles.
    pub profiles: u64,
    /// The side's total (pstats total time, or total sample weight), before normalization.
    pub total: f64,
    /// Profile ids (API) or file names (CLI).
    #[serde(default)]
    pub names: Vec<String>,
}

/// `profview diff --json` and `GET /api/compare`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffReport {
    /// `pstats` or `samples`.
    pub kind: String,
    /// Unit of the values (before normalization).
    pub unit: String,
    /// The scaling used.
    pub normalize: Normalize,
    /// The test: `mann-whitney` (a side has several profiles), `binomial` (two single sampled
    /// profiles) or `none`.
    pub test: String,
    /// The false discovery rate of the Benjamini–Hochberg correction.
    pub alpha: f64,
    /// The base side.
    pub base: SideInfo,
    /// The new side.
    pub new: SideInfo,
    /// Rows matching the filter, before paging.
    #[serde(default)]
    pub total: u64,
    /// The rows (a page of them in the API).
    pub rows: Vec<DiffRow>,
}

/// One node of a compare tree: the union of both sides' call trees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffNode {
    /// Index of this node inside the slice.
    pub id: u32,
    /// Index of the parent; `null` for the slice's root.
    pub parent: Option<u32>,
    /// Function id in the union; `null` for the root and for merged small nodes.
    pub func: Option<u32>,
    /// Display name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// Path of union function ids joined by `.` (pass back as `root=`).
    pub path: String,
    /// Depth below the slice root.
    pub depth: u32,
    /// The base side's inclusive value on this path (normalized); 0 when the path is new.
    pub base: f64,
    /// The new side's inclusive value on this path (normalized); 0 when the path disappeared.
    pub new: f64,
    /// The base side's own value.
    pub base_self: f64,
    /// The new side's own value.
    pub new_self: f64,
    /// Children were cut by the level of detail: fetch `root=<path>` for more.
    pub truncated: bool,
    /// Package class of the function.
    #[serde(default)]
    pub package: Option<crate::Package>,
    /// Whether the change of the function's inclusive number (`cumtime`, sampled `total`) is
    /// significant; `null` where no test applies (and for the root and merged nodes).
    #[serde(default)]
    pub significant: Option<bool>,
}

/// `GET /api/compare/tree`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffTree {
    /// Orientation.
    pub mode: TreeMode,
    /// Unit.
    pub unit: String,
    /// The scaling used.
    pub normalize: Normalize,
    /// True when either side's tree is estimated from pstats edges.
    pub estimated: bool,
    /// Nodes, parents first; `nodes[0]` is the slice root.
    pub nodes: Vec<DiffNode>,
}
