//! The JSON wire types of profview's HTTP API: the contract between `server` and `app`.
//!
//! Only serde DTOs and route constants live here; no HTTP library, no I/O, wasm-buildable.
//! Fields are only ever added, never renamed: external checks rely on these shapes.
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};

#[macro_use]
mod vocab;
mod compare;
pub mod readable;
pub use compare::{
    CollateReport, CollateRow, CollectionCreated, CollectionRequest, CollectionSummary, DiffNode, DiffReport, DiffRow, DiffTree,
    Fields, Metric, Normalize, SideInfo, SideValues, Significance, Split, Spread,
};
pub use vocab::{empty_as_none, By, ChartKind, Package, SortKey, SortOrder, TreeMode};

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
    /// Size of the stored file in bytes (as uploaded, possibly gzipped).
    #[serde(default)]
    pub size: Option<u64>,
    /// When it was stored, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub created: Option<u64>,
    /// Grand total in `unit`: pstats total time, or the total sample weight.
    #[serde(default)]
    pub total: Option<f64>,
    /// pstats: total number of calls.
    #[serde(default)]
    pub calls: Option<u64>,
}

/// `201` answer of `POST /api/profiles?name=<file name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// The profile id.
    pub id: String,
    /// Its permanent page, `/p/<id>`.
    pub url: String,
}

/// Body of `PATCH /api/profiles/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenameRequest {
    /// The new display name.
    pub name: String,
}

/// Formats of `GET /api/profiles/{id}/export?format=`.
pub const EXPORT_FORMATS: &[&str] = &["svg", "folded", "json", "pstats", "speedscope", "pprof", "html"];

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
    /// Package class of the function (see [`Package`]).
    #[serde(default)]
    pub package: Option<Package>,
}

/// `GET /api/profiles/{id}/functions` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionPage {
    /// Rows matching the filter, before paging.
    pub total: u64,
    /// The requested page.
    pub rows: Vec<FunctionRow>,
    /// With `find=<fid>`: the function's 0-based position in this order (absent when filtered out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u64>,
    /// True when the profile's frames carry the line they were executing (py-spy, austin): its
    /// functions are grouped by (name, file) unless `by=line` (then the rows are its lines).
    #[serde(default)]
    pub current_lines: bool,
}

/// One line of a function (`GET /api/profiles/{id}/functions/{fid}/lines`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LineRow {
    /// The line (0 when unknown).
    pub line: i64,
    /// The samples whose frame of this function was at this line when it was the leaf (self
    /// weight; pstats: tottime).
    #[serde(rename = "self")]
    pub self_value: f64,
    /// The samples with a frame of this function at this line, once per stack (pstats: cumtime).
    pub total: f64,
}

/// `GET /api/profiles/{id}/functions/{fid}/lines`: a function's lines, by line. A profile whose
/// frames do not carry the current line answers one row: the function's own line and numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionLines {
    /// The lines, by line.
    pub rows: Vec<LineRow>,
}

/// Every error answer: `{"error": "..."}` with a 4xx/5xx status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    pub error: String,
}

/// One neighbour of a function: a caller or a callee, with the numbers of the edge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EdgeRow {
    /// The neighbour's function id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// pstats: calls along the edge.
    pub ncalls: Option<u64>,
    /// pstats: primitive calls along the edge (`null` for the `profile` module).
    pub primcalls: Option<u64>,
    /// pstats: callee's own time under this caller.
    pub tottime: Option<f64>,
    /// pstats: callee's cumulative time under this caller.
    pub cumtime: Option<f64>,
    /// Samples: weight of stacks where the two are adjacent (caller directly above callee).
    pub weight: Option<f64>,
    /// Package class of the neighbour (see [`Package`]).
    #[serde(default)]
    pub package: Option<Package>,
}

/// `GET /api/profiles/{id}/functions/{fid}`: one function with its direct callers and callees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionDetail {
    /// The function's own row.
    pub function: FunctionRow,
    /// Direct callers, costliest edge first (at most `limit=`, default 1000).
    pub callers: Vec<EdgeRow>,
    /// Direct callees, costliest edge first (at most `limit=`, default 1000).
    pub callees: Vec<EdgeRow>,
    /// Number of direct callers before the `limit` cut.
    #[serde(default)]
    pub callers_total: Option<u64>,
    /// Number of direct callees before the `limit` cut.
    #[serde(default)]
    pub callees_total: Option<u64>,
}

/// One function reached transitively (`all-callers` / `all-callees`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReachRow {
    /// Function id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// Shortest number of call edges from the selected function.
    pub distance: u32,
    /// The function's inclusive cost (cumtime or total weight).
    pub inclusive: Option<f64>,
}

/// `GET /api/profiles/{id}/functions/{fid}/all-callers` and `.../all-callees`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReachList {
    /// Every function reached, nearest first.
    pub rows: Vec<ReachRow>,
}

/// How much a tree node can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exactness {
    /// Measured: samples, or a pstats node with a single caller path all the way up.
    Exact,
    /// Derived from pstats edges by splitting time across callers in proportion to the edge data.
    Estimated,
    /// A recursion cycle was cut here.
    Cut,
}

/// One node of a tree slice, flattened: parents come before their children.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    /// Index of this node inside the slice.
    pub id: u32,
    /// Index of the parent inside the slice; `null` for the slice's root.
    pub parent: Option<u32>,
    /// Function id; `null` for the synthetic root and for "other" (merged small nodes).
    pub func: Option<u32>,
    /// Display name (`other (N)` for merged nodes, `all` for the root).
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// Stable path of this node from the tree root: function ids joined by `.` (`""` for the root).
    /// Pass it back as `root=` to fetch a deeper slice or zoom.
    pub path: String,
    /// Depth below the slice root (root = 0).
    pub depth: u32,
    /// Inclusive value (cumtime share or sample weight).
    pub total: f64,
    /// Own value.
    pub self_value: f64,
    /// pstats: calls along this path (estimated when the node is estimated).
    pub calls: Option<f64>,
    /// Trust level of the numbers.
    pub exactness: Exactness,
    /// Lower bound of `total` where one can be computed (pstats estimates).
    pub total_min: Option<f64>,
    /// Upper bound of `total` where one can be computed (pstats estimates).
    pub total_max: Option<f64>,
    /// Children were cut by the level of detail or the node budget: fetch `root=<path>` for more.
    pub truncated: bool,
    /// Number of functions merged into this "other" node (0 otherwise).
    pub merged: u32,
    /// Package class of the function (see [`Package`]); `null` for `all` and "other".
    #[serde(default)]
    pub package: Option<Package>,
    /// A sampled tree over exact call counts (a hybrid recording): the function's exact number
    /// of calls over the whole run, from cProfile (not per path). `null` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub func_ncalls: Option<u64>,
}

/// `GET /api/profiles/{id}/tree?mode=top-down|inverted&root=<path>&min_frac=&max_nodes=&thread=&tf=`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeSlice {
    /// `top-down` (icicle) or `inverted` (flame of callers: leaves at the root).
    pub mode: TreeMode,
    /// Unit of `total`/`self_value`.
    pub unit: String,
    /// The value of the whole tree (for percentages), under the current thread and transforms.
    pub grand_total: f64,
    /// True when any node was derived from pstats edges (the view must say it is an estimate).
    pub estimated: bool,
    /// Nodes, parents first; `nodes[0]` is the slice root.
    pub nodes: Vec<TreeNode>,
}

/// `GET /api/profiles/{id}/functions/{fid}/sandwich?min_frac=&max_nodes=&thread=&tf=`: the
/// callers tree above a function and the callees tree below it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sandwich {
    /// Inverted tree rooted at the function (`mode` = `inverted`): `nodes[0]` is the function with
    /// its inclusive value, its children are its callers, theirs their callers. Paths start with the
    /// function's id.
    pub callers: TreeSlice,
    /// Top-down tree rooted at the function (`mode` = `top-down`), merged over all of its
    /// occurrences: `nodes[0]` is the function, its children its callees.
    pub callees: TreeSlice,
}

/// Level of detail `(min_frac, max_nodes)` the dashboard's icicle and flame views ask for
/// (`GET .../tree?mode=…&min_frac=…&max_nodes=…`). The server prepares these two slices of
/// the default view when it indexes a profile, so the first screen of a big profile is ready.
pub const FLAME_LOD: (f64, usize) = (0.0005, 20_000);

/// Level of detail of the circle-packing and squaremap views.
pub const PACK_LOD: (f64, usize) = (0.002, 2_500);

/// One thread of a sampled profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadRow {
    /// Index to pass as `thread=`.
    pub index: u32,
    /// Producer's id.
    pub id: String,
    /// Name, when known.
    pub name: Option<String>,
    /// Total weight of the thread's samples.
    pub total: f64,
}

/// `GET /api/profiles/{id}/functions/{fid}/source`: lines of the function's source file, read
/// from under the server's `--source-root` directories only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceView {
    /// The file as the profile names it.
    pub file: String,
    /// The file that was read, under a source root.
    pub path: String,
    /// The function's line (its definition for pstats, the lowest line seen for samples).
    pub line: i64,
    /// Number of the first line in `lines` (1-based).
    pub first_line: u32,
    /// Lines of the file from `first_line` on.
    pub lines: Vec<String>,
    /// Lines in the whole file.
    pub line_count: u32,
}

/// `GET /api/profiles/{id}/threads`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadList {
    /// Threads in first-seen order; empty for pstats.
    pub threads: Vec<ThreadRow>,
}

/// One function of the bubble call graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    /// Function id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: i64,
    /// Own cost (tottime or self weight): the circle's area.
    pub self_value: f64,
    /// Inclusive cost (cumtime or total weight).
    pub total: f64,
    /// Package class of the function (see [`Package`]): the colour family of its bubble.
    #[serde(default)]
    pub package: Option<Package>,
}

/// One caller→callee edge of the bubble call graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    /// Caller function id.
    pub source: u32,
    /// Callee function id.
    pub target: u32,
    /// Inclusive cost along the edge (pstats edge cumtime, or sampled weight under the pair).
    pub weight: f64,
}

/// `GET /api/profiles/{id}/graph?n=&thread=&tf=`: the top `n` functions by own cost and the
/// edges among them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallGraph {
    /// Unit of the values.
    pub unit: String,
    /// Nodes, largest own cost first.
    pub nodes: Vec<GraphNode>,
    /// Edges among the nodes.
    pub edges: Vec<GraphEdge>,
    /// True when more functions exist than were returned.
    pub capped: bool,
    /// Number of functions with a non-zero cost.
    pub available: u64,
}
