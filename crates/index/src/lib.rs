//! Index and queries over a [`Profile`]: built once, then answers every view with a small slice.
//!
//! Pure code: no I/O, builds for `wasm32-unknown-unknown`. Lookups of an unknown id give `None`;
//! queries that take user input return [`QueryError`].
//!
//! Every query runs on a [`View`]: the profile under one thread selection and one transform
//! string (`docs/transforms.md`). Views are built on demand and cached (a small LRU keyed by
//! `(thread, tf)`); the default view (all threads, no transform) is built with the index.
//!
//! ```
//! use profview_index::*;
//! use profview_model::*;
//! let mut b = SampleBuilder::new();
//! let t = b.thread("1", None);
//! let (main, work) = (b.function("main", "app.py", 1), b.function("work", "app.py", 5));
//! b.add_sample(&[main, work], t, 3.0);
//! b.add_sample(&[main], t, 1.0);
//! let idx = ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples));
//! let v = idx.view(&Selection::default()).unwrap();
//! let tree = idx.tree(&v, &TreeQuery::default()).unwrap();
//! assert_eq!(tree.nodes[0].total, 4.0);
//! assert_eq!(idx.callees(&v, main).unwrap()[0].weight, Some(3.0));
//! ```
#![deny(missing_docs)]

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use profview_model::{FuncId, Function, Profile, NO_PARENT};

mod par;
mod recent;
mod classify;
mod csr;
mod function_table;
mod lines;
mod make_view;
mod pgraph;
mod samples;
mod slice;
mod table;
mod transform;
mod trees;

pub(crate) use csr::Csr;
pub use recent::Recent;

pub use lines::{group_by_function, Grouped, LineStats};
pub use classify::{classify, classify_function, site_package_name, Package};
pub use profview_api::TreeMode;
pub use slice::{Exactness, Lod, Slice, SliceNode};
pub use table::{FunctionQuery, FunctionStats, SortKey, SortOrder, TextFilter};
pub use transform::{is_idle_name, parse as parse_transforms, GroupBy, Matcher, Op, Transforms, IDLE_NAMES};

use make_view::{empty_pstats_view, make_view};
use pgraph::PstatsView;
use samples::SampleView;
use slice::Cand;
use trees::{wrap, Groups, InvMetric, InvState, PNode, PstatsTree, SampleInverted, SampleTopDown, Seed, TdState};

/// Views kept in the cache besides the default one.
pub const VIEW_CACHE_ENTRIES: usize = 8;

/// A query that cannot be answered: the caller's input names something that does not exist, or
/// asks for something that cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// An id, path or thread that does not exist (HTTP 404).
    NotFound(String),
    /// A malformed or inapplicable request (HTTP 400).
    BadRequest(String),
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::NotFound(m) | QueryError::BadRequest(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for QueryError {}

/// Which part of a profile a query looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selection {
    /// One thread (index into `Profile::threads`); `None` = all threads merged.
    pub thread: Option<u32>,
    /// Transform string (`docs/transforms.md`); empty = none.
    pub tf: String,
}

/// A tree-slice request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TreeQuery {
    /// Orientation.
    pub mode: TreeMode,
    /// Path of the slice root from the tree root (empty = the synthetic root `all`).
    pub root: Vec<FuncId>,
    /// Level of detail.
    pub lod: Lod,
}

/// One caller or callee of a function.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeInfo {
    /// The neighbour.
    pub func: FuncId,
    /// pstats: calls along the edge.
    pub ncalls: Option<u64>,
    /// pstats: primitive calls along the edge.
    pub primcalls: Option<u64>,
    /// pstats: the callee's own time under this caller.
    pub tottime: Option<f64>,
    /// pstats: the callee's cumulative time under this caller.
    pub cumtime: Option<f64>,
    /// Samples: weight of stacks where caller is directly above callee (once per stack).
    pub weight: Option<f64>,
}

/// A function reached transitively.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reach {
    /// The function.
    pub func: FuncId,
    /// Fewest call edges from the start.
    pub distance: u32,
}

/// One thread with its total.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadInfo {
    /// Index to select it with.
    pub index: u32,
    /// Producer's id.
    pub id: String,
    /// Name, when known.
    pub name: Option<String>,
    /// Σ of the thread's sample weights.
    pub total: f64,
}

/// Kept full table orders: (column, direction) → function ids.
type Orders = Recent<(SortKey, SortOrder), Arc<Vec<u32>>>;

/// Most full table orders a view keeps (5 columns × 2 directions, and a few spare).
const ORDERS_KEPT: usize = 12;

enum Kind {
    Samples(SampleView),
    Pstats(PstatsView),
}

/// The profile under one thread selection and transform list, with everything queries need.
pub struct View {
    /// The graph and trees. Set when the view is built, except for a deferred default view
    /// ([`ProfileIndex::build_deferred`]), which builds it on first use.
    kind: std::sync::OnceLock<Kind>,
    /// The view is derived from pstats edges.
    pstats: bool,
    stats: Vec<FunctionStats>,
    extra: Vec<Function>,
    extra_pkg: Vec<Package>,
    /// pstats focus: functions reachable from the focus.
    visible: Option<Vec<bool>>,
    approx_bytes: usize,
    /// Full table orders per (column, direction), built on first use.
    orders: Mutex<Orders>,
    /// Recent tree slices by request (see [`ProfileIndex::tree`]).
    slices: Mutex<SliceCache>,
}

/// A tree request as a cache key: mode, root path, `min_frac` bits, `max_nodes`.
type SliceKey = (TreeMode, Vec<u32>, u64, usize);

/// The most recent slices of one view, newest last, at most [`SliceCache::MAX_NODES`] nodes
/// together. A slice of a big profile can take a few hundred ms (an inverted tree walks every
/// stack that ends in the functions it shows), and the dashboard asks for the same few slices
/// again and again (view switches, links, zoom out).
#[derive(Default)]
struct SliceCache {
    items: Recent<SliceKey, Arc<Slice>>,
    nodes: usize,
}

impl SliceCache {
    const MAX_NODES: usize = 200_000;
    fn get(&mut self, k: &SliceKey) -> Option<Arc<Slice>> {
        self.items.get(k)
    }
    fn put(&mut self, k: SliceKey, s: Arc<Slice>) {
        if s.nodes.len() > Self::MAX_NODES / 4 || self.items.contains(&k) {
            return;
        }
        self.nodes += s.nodes.len();
        self.items.insert(k, s);
        while self.nodes > Self::MAX_NODES {
            match self.items.pop_oldest() {
                Some((_, old)) => self.nodes -= old.nodes.len(),
                None => break,
            }
        }
    }
}

impl fmt::Debug for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("View").field("functions", &self.stats.len()).field("approx_bytes", &self.approx_bytes).finish()
    }
}

impl View {
    /// Aggregates per function under this view (indexed by id, including synthetic functions).
    pub fn function_stats(&self) -> &[FunctionStats] {
        &self.stats
    }
    /// Number of function ids in this view (profile functions plus synthetic group functions).
    pub fn function_count(&self) -> usize {
        self.stats.len()
    }
    fn is_visible(&self, f: u32) -> bool {
        self.visible.as_ref().is_none_or(|v| v.get(f as usize).copied().unwrap_or(false))
    }
    /// True when this view is derived from pstats edges.
    pub fn is_pstats(&self) -> bool {
        self.pstats
    }
    fn new(kind: Kind, stats: Vec<FunctionStats>, extra: (Vec<Function>, Vec<Package>), visible: Option<Vec<bool>>, approx_bytes: usize, orders: Orders) -> Self {
        let pstats = matches!(kind, Kind::Pstats(_));
        View { kind: std::sync::OnceLock::from(kind), pstats, stats, extra: extra.0, extra_pkg: extra.1, visible, approx_bytes, orders: Mutex::new(orders), slices: Default::default() }
    }
}

/// What a profile is besides its stacks, read without waiting for a deferred index's stack
/// table ([`ProfileIndex::info`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileInfo {
    /// Container format.
    pub format: profview_model::Format,
    /// Producer dialect.
    pub dialect: profview_model::Dialect,
    /// Unit of the primary metric.
    pub unit: profview_model::Unit,
    /// A sampled profile's Σ of sample weights, in sample order (`SampleData::total`).
    pub sample_total: Option<f64>,
    /// The profile has deterministic (pstats) data.
    pub has_pstats: bool,
}

/// An immutable index over one profile.
pub struct ProfileIndex {
    /// The profile, with its stack table in pre-order when its weights allow (`Ready::pre`).
    /// Set by the build, except for a deferred index ([`build_deferred`](Self::build_deferred)),
    /// whose profile waits in `pending` until its views (or anything else that reads the stacks)
    /// are first needed: the table is then renumbered in place, on whichever thread asks first.
    ready: std::sync::OnceLock<Ready>,
    /// A deferred index's profile as imported, until `ready` is set.
    pending: Mutex<Option<Profile>>,
    /// A deferred index's functions and threads (a copy, small beside its stacks): the function
    /// table answers from them while `pending` waits or is renumbered.
    names: Option<(Vec<Function>, Vec<profview_model::Thread>)>,
    info: ProfileInfo,
    pkg: Vec<Package>,
    base: Arc<View>,
    cache: Mutex<Recent<Selection, Arc<View>>>,
    thread_totals: Vec<f64>,
    search: std::sync::OnceLock<table::SearchText>,
    /// A profile whose lines are current, grouped by function: its line-level side.
    lines: Option<lines::LineLevel>,
    /// The function table came straight from the stack table (`build_deferred`).
    direct: bool,
}

/// The indexed profile and whether its stack table is in pre-order (renumbered, or already so).
struct Ready {
    profile: Profile,
    pre: bool,
}

impl fmt::Debug for ProfileIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileIndex").field("functions", &self.functions().len()).finish()
    }
}

/// Parses a tree path: function ids joined by `.` (empty string = the root).
pub fn parse_path(s: &str) -> Result<Vec<FuncId>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if s.len() > 65_536 {
        return Err("path too long".into());
    }
    s.split('.').map(|p| p.parse::<u32>().map(FuncId).map_err(|_| format!("bad path element {p:?} (function ids joined by '.')"))).collect()
}

fn path_u32(p: &[FuncId]) -> Vec<u32> {
    p.iter().map(|f| f.0).collect()
}

/// The package class of every function.
fn classify_all(fs: &[Function]) -> Vec<Package> {
    fs.iter().map(|f| classify_function(&f.name, &f.file)).collect()
}

impl ProfileIndex {
    /// Builds the index. Takes ownership so that queries can borrow the profile freely.
    ///
    /// When every sample weight is a whole number (and their sum fits in `u32`), the profile's
    /// stack table is renumbered in pre-order (children sorted by function id) and the samples'
    /// stack ids with it: the same stacks and samples, in the same sample order, with node ids
    /// that make every subtree a contiguous range.
    ///
    /// A profile whose lines are current (`Profile::lines_are_current`: py-spy, austin) is first
    /// grouped by function ([`group_by_function`]); the line-level profile is kept for
    /// [`ProfileIndex::by_line`] and [`ProfileIndex::function_lines`].
    pub fn build(profile: Profile) -> Self {
        Self::build_grouped(profile, None, false)
    }

    /// [`build`](Self::build) with the default view's graph and trees left for later: when the
    /// function table comes straight from the stack table (a sampled profile with whole weights
    /// whose every node is live; `nested`, the importer's `profview_import::Imported::nested`,
    /// spares the walk up each node's ancestors, see `function_table.rs`), the table is ready now
    /// and the graph and trees (pre-order renumbering of a copy of the stack table, outermost
    /// occurrences, caller→callee weights) are built on first use. `profview stats` never asks for
    /// them; the server has [`prepare`](Self::prepare) build them on another thread. Every answer
    /// is [`build`](Self::build)'s; any other profile is built by it
    /// ([`table_is_direct`](Self::table_is_direct) says which).
    pub fn build_deferred(profile: Profile, nested: Option<Vec<u64>>) -> Self {
        Self::build_grouped(profile, nested, true)
    }

    /// True when the function table came straight from the stack table
    /// ([`build_deferred`](Self::build_deferred)), the views being left for their first use.
    pub fn table_is_direct(&self) -> bool {
        self.direct
    }

    fn build_grouped(profile: Profile, nested: Option<Vec<u64>>, defer: bool) -> Self {
        if profile.lines_are_current {
            if let Some(g) = group_by_function(&profile) {
                let n = g.profile.functions.len();
                // The bits describe the ungrouped functions: grouped, the walk decides.
                let mut idx = Self::build_one(g.profile, None, defer);
                idx.lines = Some(lines::LineLevel::new(profile, &g.group_of, n));
                return idx;
            }
        }
        Self::build_one(profile, nested, defer)
    }

    fn build_one(profile: Profile, nested: Option<Vec<u64>>, defer: bool) -> Self {
        if defer && profile.pstats.is_none() {
            if let Some(stats) = function_table::direct_stats(&profile, nested.as_deref()) {
                let pkg = classify_all(&profile.functions);
                let approx_bytes = stats.len() * 80;
                let base = View { kind: std::sync::OnceLock::new(), pstats: false, stats, extra: Vec::new(), extra_pkg: Vec::new(), visible: None, approx_bytes, orders: Mutex::default(), slices: Default::default() };
                let names = (profile.functions.clone(), profile.threads.clone());
                return Self::assemble(Err((profile, names)), pkg, base);
            }
        }
        Self::build_plain(profile)
    }

    /// Builds the index over the profile's functions as they are (no grouping by function).
    pub fn build_plain(mut profile: Profile) -> Self {
        let pre = samples::preorder_profile(&mut profile);
        let default_view = |pkg: &[Package]| make_view(&profile, pkg, &Selection::default(), &Transforms::default(), pre);
        let (pkg, base) = if profile.samples.is_none() && profile.functions.len() >= 1 << 14 {
            // pstats: the default view (no transform) never reads the package classes, so a
            // big table is classified on the other core while the view is built.
            let (v, pkg) = par::join2(|| default_view(&[]), || classify_all(&profile.functions));
            (pkg, v)
        } else {
            let pkg = classify_all(&profile.functions);
            let v = default_view(&pkg);
            (pkg, v)
        };
        let base = match base {
            Ok(v) => v,
            // The default view has no user input and cannot fail; keep an empty one just in case.
            Err(_) => View::new(Kind::Pstats(empty_pstats_view()), Vec::new(), (Vec::new(), Vec::new()), None, 0, Orders::default()),
        };
        Self::assemble(Ok(Ready { profile, pre }), pkg, base)
    }

    /// The index around its default view; the first table page is built with it. `Err`: a
    /// deferred index's profile as imported, with the copy of its functions and threads.
    #[allow(clippy::type_complexity)]
    fn assemble(profile: Result<Ready, (Profile, (Vec<Function>, Vec<profview_model::Thread>))>, pkg: Vec<Package>, base: View) -> Self {
        let p = match &profile {
            Ok(r) => &r.profile,
            Err((p, _)) => p,
        };
        let mut thread_totals = vec![0.0; p.threads.len()];
        if let Some(sd) = &p.samples {
            for s in &sd.samples {
                if let Some(t) = thread_totals.get_mut(s.thread.idx()) {
                    *t += s.weight;
                }
            }
        }
        let info = ProfileInfo {
            format: p.format,
            dialect: p.dialect,
            unit: p.unit,
            sample_total: p.samples.as_ref().map(|s| s.total()),
            has_pstats: p.pstats.is_some(),
        };
        let (ready, pending, names, direct) = match profile {
            Ok(r) => (std::sync::OnceLock::from(r), None, None, false),
            Err((p, names)) => (std::sync::OnceLock::new(), Some(p), Some(names), true),
        };
        let idx = ProfileIndex {
            ready,
            pending: Mutex::new(pending),
            names,
            info,
            pkg,
            base: Arc::new(base),
            cache: Mutex::default(),
            thread_totals,
            search: std::sync::OnceLock::new(),
            lines: None,
            direct,
        };
        // The first table page is the default order: build it with the index.
        let _ = idx.query_functions_in(&idx.base, &FunctionQuery { limit: 0, ..Default::default() });
        idx
    }

    /// The indexed profile: its stack table renumbered in pre-order (children by function id)
    /// when its weights are whole, the same stacks and samples otherwise. A deferred index
    /// renumbers it on the first call (a concurrent caller waits for that): what only needs
    /// its functions, threads or totals reads [`functions`](Self::functions),
    /// [`threads`](Self::threads) and [`info`](Self::info), which never wait.
    pub fn profile(&self) -> &Profile {
        &self.ready().profile
    }

    fn ready(&self) -> &Ready {
        self.ready.get_or_init(|| {
            let taken = lock(&self.pending).take();
            // `pending` is only empty here if an earlier renumbering panicked: answer as an
            // empty profile rather than panic again on every call.
            let mut profile = taken.unwrap_or_else(|| self.empty_profile());
            let pre = samples::preorder_profile(&mut profile);
            Ready { profile, pre }
        })
    }

    /// A profile with this one's functions, threads and kind but no stacks.
    fn empty_profile(&self) -> Profile {
        let (functions, threads) = self.names.clone().unwrap_or_default();
        Profile {
            format: self.info.format,
            dialect: self.info.dialect,
            unit: self.info.unit,
            functions,
            threads,
            pstats: None,
            samples: Some(Default::default()),
            lines_are_current: false,
        }
    }

    /// The threads of the profile (never waits).
    fn thread_list(&self) -> &[profview_model::Thread] {
        match (&self.names, self.ready.get()) {
            (_, Some(r)) => &r.profile.threads,
            (Some((_, t)), None) => t,
            (None, None) => &self.profile().threads,
        }
    }

    /// True while a deferred index's profile waits to be renumbered (nothing has read its
    /// stacks yet: see [`profile`](Self::profile)).
    pub fn is_pending(&self) -> bool {
        self.ready.get().is_none()
    }

    /// The stack table is in pre-order (see [`profile`](Self::profile)).
    #[mutants::skip] // mutants: told nothing, the view builder checks the order itself (`finish_view`)
    fn pre(&self) -> bool {
        self.ready().pre
    }

    /// The profile's functions, indexed by [`FuncId`] (never waits, see
    /// [`profile`](Self::profile)).
    pub fn functions(&self) -> &[Function] {
        match (&self.names, self.ready.get()) {
            (_, Some(r)) => &r.profile.functions,
            (Some((f, _)), None) => f,
            (None, None) => &self.profile().functions,
        }
    }

    /// The profile's deterministic (pstats) data, if any. Never waits: a profile with it is never
    /// deferred (see [`build_deferred`](Self::build_deferred)), and one without it answers at once.
    pub fn pstats(&self) -> Option<&profview_model::PstatsData> {
        if self.info.has_pstats {
            self.profile().pstats.as_ref()
        } else {
            None
        }
    }

    /// Format, dialect, unit and totals of the profile (never waits).
    pub fn info(&self) -> &ProfileInfo {
        &self.info
    }

    /// Aggregates for every function, indexed by [`FuncId`] (default view).
    pub fn function_stats(&self) -> &[FunctionStats] {
        &self.base.stats[..self.functions().len().min(self.base.stats.len())]
    }

    /// Aggregates of one function (default view).
    pub fn function(&self, id: FuncId) -> Option<&FunctionStats> {
        self.function_stats().get(id.idx())
    }

    /// Package class of a profile function.
    pub fn package(&self, id: FuncId) -> Option<Package> {
        self.pkg.get(id.idx()).copied()
    }

    /// The function table (default view): filter, sort, then page. Returns the number of
    /// matching rows and the ids of the requested page.
    pub fn query_functions(&self, q: &FunctionQuery) -> (usize, Vec<FuncId>) {
        self.query_functions_in(&self.base, q)
    }

    /// The default view.
    pub fn default_view(&self) -> Arc<View> {
        self.base.clone()
    }

    /// The view for a selection: cached, built on a miss.
    pub fn view(&self, sel: &Selection) -> Result<Arc<View>, QueryError> {
        let tf = transform::parse(&sel.tf).map_err(QueryError::BadRequest)?;
        if let Some(t) = sel.thread {
            if self.info.sample_total.is_none() {
                return Err(QueryError::BadRequest("this profile has no threads (pstats); omit thread".into()));
            }
            if t as usize >= self.thread_totals.len() {
                return Err(QueryError::NotFound(format!("no thread {t} (the profile has {})", self.thread_totals.len())));
            }
        }
        if sel.thread.is_none() && tf.is_empty() {
            return Ok(self.base.clone());
        }
        if let Some(v) = lock(&self.cache).get(sel) {
            return Ok(v);
        }
        let v = Arc::new(make_view(self.profile(), &self.pkg, sel, &tf, self.pre()).map_err(QueryError::BadRequest)?);
        let mut c = lock(&self.cache);
        c.insert(sel.clone(), v.clone());
        // Keep at most N entries and roughly 1 GiB.
        while c.len() > VIEW_CACHE_ENTRIES || (c.len() > 1 && c.values().map(|v| v.approx_bytes).sum::<usize>() > 1 << 30) {
            c.pop_oldest();
        }
        Ok(v)
    }

    /// A function of a view (profile functions and synthetic group functions).
    pub fn function_in<'a>(&'a self, v: &'a View, id: FuncId) -> Option<&'a Function> {
        let fs = self.functions();
        if id.idx() < fs.len() {
            Some(&fs[id.idx()])
        } else {
            v.extra.get(id.idx() - fs.len())
        }
    }

    /// Package class of a function of a view.
    pub fn package_in(&self, v: &View, id: FuncId) -> Package {
        let n = self.pkg.len();
        if id.idx() < n {
            self.pkg[id.idx()]
        } else {
            v.extra_pkg.get(id.idx() - n).copied().unwrap_or(Package::User)
        }
    }

    /// Aggregates of a function present in a view (`None` when absent, hidden or out of focus).
    pub fn stats_in(&self, v: &View, id: FuncId) -> Option<FunctionStats> {
        v.stats.get(id.idx()).copied().filter(|s| s.listed && v.is_visible(id.0))
    }

    /// The function table of a view. The full order per column is built once per view and
    /// cached; a page is then cut from it.
    pub fn query_functions_in(&self, v: &View, q: &FunctionQuery) -> (usize, Vec<FuncId>) {
        let fs = self.functions();
        let n = fs.len();
        let empty = Function { name: String::new(), file: String::new(), line: 0 };
        let func = |i: u32| -> &Function {
            let i = i as usize;
            if i < n {
                &fs[i]
            } else {
                v.extra.get(i - n).unwrap_or(&empty)
            }
        };
        let pkg = |i: u32| self.package_in(v, FuncId(i));
        let vis = |i: u32| v.is_visible(i);
        let key = table::effective_sort(v.is_pstats(), q);
        let cached = lock(&v.orders).get(&key);
        let ordered = match cached {
            Some(ids) => ids,
            None => {
                let ids = Arc::new(table::full_order(&func, &vis, &v.stats, key.0, key.1));
                let mut o = lock(&v.orders);
                o.insert(key, ids.clone());
                while o.len() > ORDERS_KEPT {
                    o.pop_oldest();
                }
                ids
            }
        };
        let text_mask = q.filter.as_ref().map(|f| {
            let mut m = self.search.get_or_init(|| table::SearchText::build(self.functions())).matches(f);
            m.extend(v.extra.iter().map(|e| f.matches(&e.name, &e.file)));
            m
        });
        let text_ok = |i: u32| text_mask.as_ref().is_none_or(|m| m.get(i as usize).copied().unwrap_or(false));
        table::page_from_order(&ordered, &text_ok, &pkg, q)
    }

    fn check_func(&self, v: &View, id: FuncId) -> Result<(), QueryError> {
        if self.stats_in(v, id).is_none() && !self.is_caller_only(v, id) {
            return Err(QueryError::NotFound(format!("no function {} in this view", id.0)));
        }
        Ok(())
    }

    /// The graph and trees of a view; a deferred default view builds them now (once; a
    /// concurrent caller waits for that build).
    fn kind<'v>(&self, v: &'v View) -> &'v Kind {
        // Only the default view is ever deferred (`build_one`): it is the default view's kind.
        v.kind.get_or_init(|| {
            make_view(self.profile(), &self.pkg, &Selection::default(), &Transforms::default(), self.pre())
                .ok()
                .and_then(|built| built.kind.into_inner())
                // The default view has no user input and cannot fail.
                .unwrap_or_else(|| Kind::Pstats(empty_pstats_view()))
        })
    }

    fn is_caller_only(&self, v: &View, id: FuncId) -> bool {
        match self.kind(v) {
            Kind::Pstats(pv) => v.is_visible(id.0) && !pv.callees.slice(id.idx()).is_empty(),
            Kind::Samples(_) => false,
        }
    }

    fn neighbours(&self, v: &View, id: FuncId, callers: bool) -> Result<Vec<EdgeInfo>, QueryError> {
        self.check_func(v, id)?;
        let mut out: Vec<EdgeInfo> = Vec::new();
        match self.kind(v) {
            Kind::Samples(sv) => {
                for (o, w) in sv.edges(id.idx(), callers) {
                    if v.is_visible(o) {
                        out.push(EdgeInfo { func: FuncId(o), ncalls: None, primcalls: None, tottime: None, cumtime: None, weight: Some(w) });
                    }
                }
            }
            Kind::Pstats(pv) => {
                let d = pv.data(self.profile());
                let row = if callers { pv.callers.slice(id.idx()) } else { pv.callees.slice(id.idx()) };
                for &k in row {
                    let e = &d.edges[k as usize];
                    let o = if callers { e.caller } else { e.callee };
                    if !v.is_visible(o.0) {
                        continue;
                    }
                    if let Some(last) = out.last_mut().filter(|l| l.func == o) {
                        // Parallel edges (merged files): sum.
                        last.ncalls = Some(last.ncalls.unwrap_or(0) + e.ncalls);
                        last.primcalls = match (last.primcalls, e.primcalls) {
                            (Some(a), Some(b)) => Some(a + b),
                            _ => None,
                        };
                        last.tottime = last.tottime.zip(e.tottime).map(|(a, b)| a + b);
                        last.cumtime = last.cumtime.zip(e.cumtime).map(|(a, b)| a + b);
                        continue;
                    }
                    out.push(EdgeInfo {
                        func: o,
                        ncalls: Some(e.ncalls),
                        primcalls: e.primcalls,
                        tottime: e.tottime,
                        cumtime: e.cumtime,
                        weight: None,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Direct callers of a function, by caller id.
    pub fn callers(&self, v: &View, id: FuncId) -> Result<Vec<EdgeInfo>, QueryError> {
        self.neighbours(v, id, true)
    }

    /// Direct callees of a function, by callee id.
    pub fn callees(&self, v: &View, id: FuncId) -> Result<Vec<EdgeInfo>, QueryError> {
        self.neighbours(v, id, false)
    }

    fn reach(&self, v: &View, id: FuncId, callers: bool) -> Result<Vec<Reach>, QueryError> {
        self.check_func(v, id)?;
        let n = v.stats.len().max(self.functions().len());
        let mut dist = vec![u32::MAX; n];
        let mut queue = VecDeque::new();
        dist[id.idx()] = 0;
        queue.push_back(id.0);
        let mut out = Vec::new();
        while let Some(f) = queue.pop_front() {
            let d = dist[f as usize];
            let mut visit = |o: u32| {
                if (o as usize) < n && dist[o as usize] == u32::MAX && v.is_visible(o) {
                    dist[o as usize] = d + 1;
                    out.push(Reach { func: FuncId(o), distance: d + 1 });
                    queue.push_back(o);
                }
            };
            match self.kind(v) {
                Kind::Samples(sv) => {
                    for (o, _) in sv.edges(f as usize, callers) {
                        visit(o);
                    }
                }
                Kind::Pstats(pv) => {
                    let d = pv.data(self.profile());
                    let row = if callers { pv.callers.slice(f as usize) } else { pv.callees.slice(f as usize) };
                    for &k in row {
                        let e = &d.edges[k as usize];
                        visit(if callers { e.caller.0 } else { e.callee.0 });
                    }
                }
            }
        }
        let incl = |f: FuncId| v.stats.get(f.idx()).map_or(0.0, |s| s.inclusive());
        out.sort_by(|a, b| a.distance.cmp(&b.distance).then(incl(b.func).total_cmp(&incl(a.func))).then(a.func.cmp(&b.func)));
        Ok(out)
    }

    /// Every function that calls `id` directly or indirectly, nearest first (the start itself
    /// is left out even when it is recursive).
    pub fn all_callers(&self, v: &View, id: FuncId) -> Result<Vec<Reach>, QueryError> {
        self.reach(v, id, true)
    }

    /// Every function called by `id` directly or indirectly, nearest first.
    pub fn all_callees(&self, v: &View, id: FuncId) -> Result<Vec<Reach>, QueryError> {
        self.reach(v, id, false)
    }

    /// Computes and keeps slices of the default view (all threads, no transform), so that the
    /// first requests for them are copies: call it off the request path after indexing.
    pub fn prepare(&self, queries: &[TreeQuery]) {
        for q in queries {
            // An error here (none is expected for a valid query) shows again on the request.
            let _ = self.tree(&self.base, q);
        }
    }

    /// A tree slice. Recent slices of a view are kept and shared, so asking again costs nothing.
    pub fn tree(&self, v: &View, q: &TreeQuery) -> Result<Arc<Slice>, QueryError> {
        let key: SliceKey = (q.mode, path_u32(&q.root), q.lod.min_frac.to_bits(), q.lod.max_nodes);
        if let Some(s) = lock(&v.slices).get(&key) {
            return Ok(s);
        }
        let s = Arc::new(match self.derive_slice(v, &key, q) {
            Some(s) => s,
            None => self.tree_uncached(v, q)?,
        });
        lock(&v.slices).put(key, s.clone());
        Ok(s)
    }

    /// Cuts the slice from a kept complete slice of the same root at an equal or finer level of
    /// detail (whole-weight sample views only, where sums are order-free): the prepared flame
    /// slice then answers every coarser inverted request of the default view without walking
    /// the stacks again.
    fn derive_slice(&self, v: &View, key: &SliceKey, q: &TreeQuery) -> Option<Slice> {
        let Kind::Samples(sv) = self.kind(v) else { return None };
        if !sv.whole() {
            return None;
        }
        let want = slice::effective_min_frac(&q.lod);
        let src = {
            let c = lock(&v.slices);
            c.items
                .iter()
                .filter(|(k, s)| {
                    let lod = Lod { min_frac: f64::from_bits(k.2), max_nodes: k.3 };
                    k.0 == key.0 && k.1 == key.1 && slice::effective_min_frac(&lod) <= want && slice::is_complete(&s.nodes, &lod)
                })
                .max_by(|a, b| f64::from_bits(a.0 .2).total_cmp(&f64::from_bits(b.0 .2)))
                .map(|(_, s)| s.clone())?
        };
        let mut from = slice::FromSlice::new(&src.nodes);
        let root = from.root();
        let nodes = slice::slice(&mut from, root, &key.1, &q.lod);
        Some(Slice { grand_total: src.grand_total, estimated: src.estimated, nodes })
    }

    fn tree_uncached(&self, v: &View, q: &TreeQuery) -> Result<Slice, QueryError> {
        let root_path = path_u32(&q.root);
        match self.kind(v) {
            Kind::Samples(sv) => {
                let t = sv.table(self.profile());
                let nodes = match q.mode {
                    TreeMode::TopDown => {
                        let mut src = SampleTopDown { v: sv, t, groups: Groups::new(v.stats.len()) };
                        let root = if root_path.is_empty() {
                            Cand { func: None, ..Cand::exact(0, sv.total, sv.root_self, Some(TdState::Roots)) }
                        } else {
                            let n = trees::sample_node_at(sv, t, &root_path)
                                .ok_or_else(|| QueryError::NotFound(format!("no tree node at path {:?}", join(&root_path))))?;
                            Cand::exact(t.func[n as usize].0, sv.incl(n as usize), sv.own(n as usize), Some(TdState::Node(n)))
                        };
                        slice::slice(&mut src, root, &root_path, &q.lod)
                    }
                    TreeMode::Inverted => {
                        let mut src = SampleInverted { v: sv, t, stats: &v.stats, groups: Groups::new(v.stats.len()) };
                        let root = if root_path.is_empty() {
                            Cand { func: None, ..Cand::exact(0, sv.total, sv.root_self, Some(InvState::AllLeaves)) }
                        } else {
                            let mut seeds = src.leaf_seeds(root_path[0]);
                            for &c in &root_path[1..] {
                                seeds.retain_mut(|s| {
                                    let up = s.par != NO_PARENT && t.func[s.par as usize].0 == c;
                                    if up {
                                        *s = Seed::at(t, s.par, s.w);
                                    }
                                    up
                                });
                            }
                            if seeds.is_empty() {
                                return Err(QueryError::NotFound(format!("no inverted tree node at path {:?}", join(&root_path))));
                            }
                            let total = seeds.iter().map(|s| s.w).sum();
                            let own = seeds.iter().filter(|s| s.par == NO_PARENT).map(|s| s.w).sum();
                            let f = root_path[root_path.len() - 1];
                            Cand::exact(f, total, own, Some(InvState::Seeds(seeds)))
                        };
                        slice::slice(&mut src, root, &root_path, &q.lod)
                    }
                };
                Ok(Slice { grand_total: sv.total, estimated: false, nodes })
            }
            Kind::Pstats(pv) => {
                let d = pv.data(self.profile());
                let inverted = q.mode == TreeMode::Inverted;
                let mut src = PstatsTree { v: pv, d, grand_total: 0.0, inverted, metric: InvMetric::SelfTime, path_offset: 0 };
                let tops: Vec<Cand<trees::PState>> = src.top_level().into_iter().map(|f| src.top(f)).collect();
                let top_sum: f64 = tops.iter().map(|c| c.total).sum();
                let grand = if pv.focus.is_some() { top_sum } else { d.total_time.max(top_sum) };
                src.grand_total = grand;
                let root = if root_path.is_empty() {
                    Cand {
                        func: None,
                        total: grand,
                        self_value: (grand - top_sum).max(0.0),
                        calls: None,
                        exactness: Exactness::Exact,
                        min: Some(grand),
                        max: Some(grand),
                        merged: 0,
                        state: Some(PNode::Root),
                    }
                } else {
                    let c = src.resolve(&root_path).map_err(QueryError::NotFound)?;
                    wrap(c)
                };
                let nodes = slice::slice(&mut src, root, &root_path, &q.lod);
                Ok(Slice { grand_total: grand, estimated: true, nodes })
            }
        }
    }

    /// Sandwich of one function: the callers tree above it (inverted, rooted at `id`) and the
    /// callees tree below it (top-down, rooted at `id`, merged over all its occurrences).
    pub fn sandwich(&self, v: &View, id: FuncId, lod: &Lod) -> Result<(Slice, Slice), QueryError> {
        let f = id.0;
        match self.kind(v) {
            Kind::Samples(sv) => {
                let t = sv.table(self.profile());
                let outer: Vec<u32> = sv.by_func(t).slice(id.idx()).iter().copied().filter(|&n| sv.is_outer(n as usize)).collect();
                if outer.is_empty() {
                    return Err(QueryError::NotFound(format!("function {f} has no samples in this view")));
                }
                let total: f64 = outer.iter().map(|&n| sv.incl(n as usize)).sum();
                let root_self_up: f64 = outer.iter().filter(|&&n| t.parent[n as usize] == NO_PARENT).map(|&n| sv.incl(n as usize)).sum();
                let own: f64 = outer.iter().map(|&n| sv.own(n as usize)).sum();
                let seeds: Vec<Seed> = outer.iter().map(|&n| Seed::at(t, n, sv.incl(n as usize))).collect();
                // The two halves are independent: one per core.
                let (callers, callees) = par::join2(
                    || {
                        let mut up = SampleInverted { v: sv, t, stats: &v.stats, groups: Groups::new(v.stats.len()) };
                        slice::slice(&mut up, Cand::exact(f, total, root_self_up, Some(InvState::Seeds(seeds))), &[f], lod)
                    },
                    || {
                        let mut down = SampleTopDown { v: sv, t, groups: Groups::new(v.stats.len()) };
                        slice::slice(&mut down, Cand::exact(f, total, own, Some(TdState::Nodes(outer))), &[f], lod)
                    },
                );
                Ok((
                    Slice { grand_total: sv.total, estimated: false, nodes: callers },
                    Slice { grand_total: sv.total, estimated: false, nodes: callees },
                ))
            }
            Kind::Pstats(pv) => {
                let d = pv.data(self.profile());
                if pgraph::stats_of(d, f).is_none() || !v.is_visible(f) {
                    return Err(QueryError::NotFound(format!("no function {f} in this view")));
                }
                let grand = d.total_time;
                let mut up = PstatsTree { v: pv, d, grand_total: grand, inverted: true, metric: InvMetric::CumTime, path_offset: 0 };
                let top = wrap(up.top(f));
                let callers = slice::slice(&mut up, top, &[f], lod);
                let mut down = PstatsTree { v: pv, d, grand_total: grand, inverted: false, metric: InvMetric::SelfTime, path_offset: 0 };
                let top = wrap(down.top(f));
                let callees = slice::slice(&mut down, top, &[f], lod);
                Ok((
                    Slice { grand_total: grand, estimated: true, nodes: callers },
                    Slice { grand_total: grand, estimated: true, nodes: callees },
                ))
            }
        }
    }

    /// Threads with their totals, in first-seen order (empty for pstats).
    pub fn threads(&self) -> Vec<ThreadInfo> {
        self.thread_list()
            .iter()
            .enumerate()
            .map(|(i, t)| ThreadInfo {
                index: i as u32,
                id: t.id.clone(),
                name: t.name.clone(),
                total: self.thread_totals.get(i).copied().unwrap_or(0.0),
            })
            .collect()
    }
}

/// Locks a mutex, also after a panic elsewhere (the data is caches: always consistent).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn join(p: &[u32]) -> String {
    p.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(".")
}
