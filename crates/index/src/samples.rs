//! Sampled profiles: thread selection and stack-rewriting transforms, then the derived data every
//! query uses (inclusive weights, children, per-function totals, caller→callee weights).

use profview_model::{Function, Profile, StackTable, ThreadId, NO_PARENT};
use rustc_hash::FxHashMap;

use crate::classify::{site_package_name, Package};
use crate::table::FunctionStats;
use crate::transform::{is_idle_name, GroupBy, Matcher, Op};
use crate::Csr;

/// Sample goes to the root (empty stack).
const MROOT: u32 = u32::MAX;
/// Sample is dropped; children are dropped too.
const MDROP: u32 = u32::MAX - 1;
/// Focus not reached yet: samples are dropped, children may still match.
const MWAIT: u32 = u32::MAX - 2;

/// The function table of a view: the profile's functions plus synthetic ones (groups).
pub(crate) struct Funcs<'a> {
    pub base: &'a [Function],
    pub base_pkg: &'a [Package],
    pub extra: Vec<Function>,
    pub extra_pkg: Vec<Package>,
}

impl Funcs<'_> {
    pub fn len(&self) -> usize {
        self.base.len() + self.extra.len()
    }
    pub fn get(&self, i: u32) -> &Function {
        let i = i as usize;
        if i < self.base.len() {
            &self.base[i]
        } else {
            &self.extra[i - self.base.len()]
        }
    }
    pub fn pkg(&self, i: u32) -> Package {
        let i = i as usize;
        if i < self.base.len() {
            self.base_pkg[i]
        } else {
            self.extra_pkg[i - self.base.len()]
        }
    }
    pub fn mask(&self, m: &Matcher) -> Vec<bool> {
        (0..self.len() as u32)
            .map(|i| {
                let f = self.get(i);
                m.matches(i, &f.name, &f.file)
            })
            .collect()
    }
    /// Interns a synthetic function by (name, file).
    fn synthetic(&mut self, name: String, file: String, pkg: Package, cache: &mut FxHashMap<(String, String), u32>) -> u32 {
        if let Some(&id) = cache.get(&(name.clone(), file.clone())) {
            return id;
        }
        let id = (self.base.len() + self.extra.len()) as u32;
        self.extra.push(Function { name: name.clone(), file: file.clone(), line: 0 });
        self.extra_pkg.push(pkg);
        cache.insert((name, file), id);
        id
    }
}

/// A stack table with per-node weights, the unit every transform rewrites.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stacks {
    pub t: StackTable,
    /// Weight of samples ending at the node.
    pub at: Vec<f64>,
    /// A sample ends at the node (weights may sum to 0).
    pub hit: Vec<bool>,
    /// Weight of samples with an empty stack.
    pub root_self: f64,
    pub root_hit: bool,
}

/// Weights per node of the profile's table for one thread (or all).
pub(crate) fn initial_weights(p: &Profile, thread: Option<ThreadId>) -> (Vec<f64>, Vec<bool>, f64, bool) {
    let Some(sd) = &p.samples else { return (Vec::new(), Vec::new(), 0.0, false) };
    let n = sd.stacks.len();
    let mut at = vec![0.0; n];
    let mut hit = vec![false; n];
    let (mut rs, mut rh) = (0.0, false);
    for s in &sd.samples {
        if thread.is_some_and(|t| t != s.thread) {
            continue;
        }
        match s.stack {
            Some(st) => {
                at[st.idx()] += s.weight;
                hit[st.idx()] = true;
            }
            None => {
                rs += s.weight;
                rh = true;
            }
        }
    }
    (at, hit, rs, rh)
}

struct Rebuild {
    out: StackTable,
    intern: FxHashMap<(u32, u32), u32>,
}

impl Rebuild {
    fn new(cap: usize) -> Self {
        Rebuild {
            out: StackTable {
                parent: Vec::with_capacity(cap),
                func: Vec::with_capacity(cap),
                depth: Vec::with_capacity(cap),
            },
            intern: FxHashMap::with_capacity_and_hasher(cap, Default::default()),
        }
    }
    /// The node `func` under `parent` (`MROOT` = a root frame).
    fn child(&mut self, parent: u32, func: u32) -> u32 {
        let p = if parent == MROOT { NO_PARENT } else { parent };
        if let Some(&c) = self.intern.get(&(p, func)) {
            return c;
        }
        let id = self.out.func.len() as u32;
        let depth = if p == NO_PARENT { 0 } else { self.out.depth[p as usize] + 1 };
        self.out.parent.push(p);
        self.out.func.push(profview_model::FuncId(func));
        self.out.depth.push(depth);
        self.intern.insert((p, func), id);
        id
    }
    fn func_of(&self, node: u32) -> Option<u32> {
        (node < MWAIT).then(|| self.out.func[node as usize].0)
    }
    /// Moves the weights along `map` and returns the new stacks.
    fn finish(self, s: &Stacks, map: &[u32]) -> Stacks {
        let n = self.out.len();
        let mut at = vec![0.0; n];
        let mut hit = vec![false; n];
        let (mut rs, mut rh) = (s.root_self, s.root_hit);
        for (i, &m) in map.iter().enumerate() {
            if !s.hit[i] {
                continue;
            }
            if m == MROOT {
                rs += s.at[i];
                rh = true;
            } else if m < MWAIT {
                at[m as usize] += s.at[i];
                hit[m as usize] = true;
            }
        }
        Stacks { t: self.out, at, hit, root_self: rs, root_hit: rh }
    }
}

fn parent_map(map: &[u32], t: &StackTable, i: usize) -> u32 {
    let p = t.parent[i];
    if p == NO_PARENT {
        MROOT
    } else {
        map[p as usize]
    }
}

/// Applies one stack-rewriting operation.
pub(crate) fn apply(op: &Op, s: &Stacks, funcs: &mut Funcs<'_>) -> Result<Stacks, String> {
    let t = &s.t;
    let n = t.len();
    let mut rb = Rebuild::new(n);
    let mut map = vec![MDROP; n];
    // Focus drops samples with an empty stack (they never reach the focus).
    let drop_root = matches!(op, Op::Focus(_) | Op::FocusPath(_));
    match op {
        Op::Hide(m) => {
            let mask = funcs.mask(m);
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let f = t.func[i].0;
                map[i] = if pm == MDROP {
                    MDROP
                } else if mask[f as usize] {
                    pm
                } else {
                    rb.child(pm, f)
                };
            }
        }
        Op::Drop(m) => {
            let mask = funcs.mask(m);
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let f = t.func[i].0;
                map[i] = if pm == MDROP || mask[f as usize] { MDROP } else { rb.child(pm, f) };
            }
        }
        Op::Focus(g) => {
            for i in 0..n {
                let f = t.func[i].0;
                let pm = if t.parent[i] == NO_PARENT { MWAIT } else { map[t.parent[i] as usize] };
                map[i] = if pm == MWAIT {
                    if f == g.0 {
                        rb.child(MROOT, f)
                    } else {
                        MWAIT
                    }
                } else if pm == MDROP {
                    MDROP
                } else {
                    rb.child(pm, f)
                };
            }
            // Samples that never reach the focus are dropped (MWAIT is not moved by `finish`).
        }
        Op::FocusPath(path) => {
            let last = path.len() - 1;
            for i in 0..n {
                let f = t.func[i].0;
                let d = t.depth[i] as usize;
                let pm = if t.parent[i] == NO_PARENT { MWAIT } else { map[t.parent[i] as usize] };
                map[i] = if pm == MWAIT {
                    if d <= last && path[d].0 == f {
                        if d == last {
                            rb.child(MROOT, f)
                        } else {
                            MWAIT
                        }
                    } else {
                        MDROP
                    }
                } else if pm == MDROP {
                    MDROP
                } else {
                    rb.child(pm, f)
                };
            }
        }
        Op::CollapseDirectRecursion => {
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let f = t.func[i].0;
                map[i] = if pm == MDROP {
                    MDROP
                } else if rb.func_of(pm) == Some(f) {
                    pm
                } else {
                    rb.child(pm, f)
                };
            }
        }
        Op::CollapseRecursionOf(g) => {
            // anc[i]: the new node of the nearest `g` on the rewritten path of input node i.
            let mut anc = vec![MDROP; n];
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let pa = if t.parent[i] == NO_PARENT { MDROP } else { anc[t.parent[i] as usize] };
                let f = t.func[i].0;
                map[i] = if pm == MDROP {
                    MDROP
                } else if f == g.0 && pa != MDROP {
                    pa
                } else {
                    rb.child(pm, f)
                };
                anc[i] = if f == g.0 && map[i] != MDROP { map[i] } else { pa };
            }
        }
        Op::Group(by) => {
            let mut cache = FxHashMap::default();
            let nf = funcs.len();
            let mut gmap: Vec<u32> = Vec::with_capacity(nf);
            let mut synth: Vec<bool> = Vec::with_capacity(nf);
            for i in 0..nf as u32 {
                let pkg = funcs.pkg(i);
                let f = funcs.get(i);
                let (name, file) = (f.name.clone(), f.file.clone());
                let target = match (by, pkg) {
                    (GroupBy::Package, Package::User) => None,
                    (GroupBy::Package, Package::Stdlib) => Some(("[stdlib]".to_owned(), String::new(), pkg)),
                    (GroupBy::Package, Package::Builtin) => Some(("[builtin]".to_owned(), String::new(), pkg)),
                    (GroupBy::Package, Package::SitePackages) => {
                        let dist = site_package_name(&file).unwrap_or("site-packages");
                        Some((format!("[{dist}]"), String::new(), pkg))
                    }
                    (GroupBy::Module, Package::Builtin) => Some(("[builtin]".to_owned(), String::new(), pkg)),
                    (GroupBy::Module, _) if file.is_empty() => None,
                    (GroupBy::Module, _) => Some((file.clone(), file.clone(), pkg)),
                };
                match target {
                    None => {
                        gmap.push(i);
                        synth.push(false);
                    }
                    Some((gname, gfile, gpkg)) => {
                        let _ = name;
                        gmap.push(funcs.synthetic(gname, gfile, gpkg, &mut cache));
                        synth.push(true);
                    }
                }
            }
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let fo = t.func[i].0 as usize;
                let gf = gmap[fo];
                map[i] = if pm == MDROP {
                    MDROP
                } else if synth[fo] && rb.func_of(pm) == Some(gf) {
                    pm
                } else {
                    rb.child(pm, gf)
                };
            }
        }
        Op::DropIdle => {
            let idle: Vec<bool> = (0..funcs.len() as u32).map(|i| is_idle_name(&funcs.get(i).name)).collect();
            let mut out = s.clone();
            for i in 0..n {
                if idle[t.func[i].idx()] {
                    out.at[i] = 0.0;
                    out.hit[i] = false;
                }
            }
            return Ok(out);
        }
        Op::Depth(d) => {
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                map[i] = if pm == MDROP {
                    MDROP
                } else if t.depth[i] >= *d {
                    pm
                } else {
                    rb.child(pm, t.func[i].0)
                };
            }
        }
        Op::Threshold(pct) => {
            let incl = inclusive(t, &s.at);
            let total: f64 = s.at.iter().sum::<f64>() + s.root_self;
            let cut = total.abs() * pct / 100.0;
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                map[i] = if pm == MDROP {
                    MDROP
                } else if incl[i].abs() < cut {
                    pm
                } else {
                    rb.child(pm, t.func[i].0)
                };
            }
        }
    }
    let mut out = rb.finish(s, &map);
    if drop_root {
        out.root_self -= s.root_self;
        out.root_hit = false;
    }
    Ok(out)
}

/// Inclusive weight per node.
pub(crate) fn inclusive(t: &StackTable, at: &[f64]) -> Vec<f64> {
    let mut incl = at.to_vec();
    for i in (0..t.len()).rev() {
        let p = t.parent[i];
        if p != NO_PARENT {
            incl[p as usize] += incl[i];
        }
    }
    incl
}

/// Keeps only nodes with a sample in their subtree. `None` when every node is live.
pub(crate) fn compact(t: &StackTable, at: &[f64], hit: &[bool]) -> Option<(StackTable, Vec<f64>)> {
    let n = t.len();
    let mut live = hit.to_vec();
    for i in (0..n).rev() {
        if live[i] {
            let p = t.parent[i];
            if p != NO_PARENT {
                live[p as usize] = true;
            }
        }
    }
    if live.iter().all(|&l| l) {
        return None;
    }
    let mut newid = vec![u32::MAX; n];
    let mut out = StackTable::default();
    let mut nat = Vec::new();
    for i in 0..n {
        if !live[i] {
            continue;
        }
        newid[i] = out.func.len() as u32;
        let p = t.parent[i];
        out.parent.push(if p == NO_PARENT { NO_PARENT } else { newid[p as usize] });
        out.func.push(t.func[i]);
        out.depth.push(t.depth[i]);
        nat.push(at[i]);
    }
    Some((out, nat))
}

/// Self weights per node, stored sparsely (most nodes of a sampled profile have no sample of
/// their own): a bit per node that a sample ends there, a rank per 64 nodes, and the weights of
/// the hit nodes in node order. Values are the exact f64 sums a dense vector would hold.
#[derive(Debug, Default)]
pub(crate) struct SelfWeights {
    bits: Vec<u64>,
    rank: Vec<u32>,
    vals: Vec<f64>,
}

impl SelfWeights {
    fn with_bits(bits: Vec<u64>) -> Self {
        let mut rank = Vec::with_capacity(bits.len());
        let mut acc = 0u32;
        for w in &bits {
            rank.push(acc);
            acc += w.count_ones();
        }
        SelfWeights { bits, rank, vals: vec![0.0; acc as usize] }
    }
    /// Position of node `i` among the hit nodes, when it is one.
    #[inline]
    fn slot(&self, i: usize) -> Option<usize> {
        let word = *self.bits.get(i >> 6)?;
        let b = i & 63;
        if (word >> b) & 1 == 0 {
            return None;
        }
        Some(self.rank[i >> 6] as usize + (word & ((1u64 << b) - 1)).count_ones() as usize)
    }
    /// Weight of samples ending at node `i` (0 when none).
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        self.slot(i).map_or(0.0, |k| self.vals[k])
    }
    /// Hit nodes in ascending order with their weights.
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        let mut k = 0usize;
        self.bits
            .iter()
            .enumerate()
            .flat_map(move |(wi, &w)| {
                let mut w = w;
                std::iter::from_fn(move || {
                    if w == 0 {
                        return None;
                    }
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    Some(wi * 64 + b)
                })
            })
            .map(move |i| {
                let v = self.vals[k];
                k += 1;
                (i, v)
            })
    }
    fn from_dense(at: &[f64], hit: &[bool]) -> Self {
        let mut bits = vec![0u64; at.len().div_ceil(64)];
        for (i, &h) in hit.iter().enumerate() {
            if h || at[i].to_bits() != 0 {
                bits[i >> 6] |= 1 << (i & 63);
            }
        }
        let mut s = Self::with_bits(bits);
        let mut k = 0;
        for (i, &h) in hit.iter().enumerate() {
            if h || at[i].to_bits() != 0 {
                s.vals[k] = at[i];
                k += 1;
            }
        }
        s
    }
    fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.rank.capacity() * 4 + self.vals.capacity() * 8
    }
}

/// The profile's own self weights for all threads, summed in sample order (as
/// [`initial_weights`] does), without a dense per-node vector. `None` when a stack id is out of
/// range. Returns the weights and the weight of empty-stack samples.
fn initial_sparse(p: &Profile, n: usize) -> Option<(SelfWeights, f64)> {
    let sd = p.samples.as_ref()?;
    let mut bits = vec![0u64; n.div_ceil(64)];
    for s in &sd.samples {
        if let Some(st) = s.stack {
            let i = st.idx();
            if i >= n {
                return None;
            }
            bits[i >> 6] |= 1 << (i & 63);
        }
    }
    let mut w = SelfWeights::with_bits(bits);
    let mut rs = 0.0;
    for s in &sd.samples {
        match s.stack {
            Some(st) => {
                if let Some(k) = w.slot(st.idx()) {
                    w.vals[k] += s.weight;
                }
            }
            None => rs += s.weight,
        }
    }
    Some((w, rs))
}

/// True when every node has a sample in its subtree (then [`compact`] would keep the table).
fn all_live(t: &StackTable, w: &SelfWeights) -> bool {
    let n = t.len();
    let mut live = w.bits.clone();
    for i in (0..n).rev() {
        if (live[i >> 6] >> (i & 63)) & 1 == 1 {
            let p = t.parent[i];
            if p != NO_PARENT {
                live[p as usize >> 6] |= 1 << (p as usize & 63);
            }
        } else {
            return false;
        }
    }
    true
}

/// A sampled profile under one thread selection and one transform list.
#[derive(Debug)]
pub(crate) struct SampleView {
    /// The rewritten table; `None` = the profile's own table.
    pub table: Option<StackTable>,
    /// Self weight per node (sparse).
    pub at: SelfWeights,
    pub incl: Incl,
    pub root_self: f64,
    /// Σ of every selected sample (including empty stacks).
    pub total: f64,
    /// Children per node, sorted by function id.
    pub children: Csr<u32>,
    /// Root nodes, sorted by function id.
    pub roots: Vec<u32>,
    /// Nodes per function, built on first use (sandwich).
    by_func: std::sync::OnceLock<Csr<u32>>,
    nfuncs: usize,
    /// Nodes with self weight per function (the leaves of the inverted tree).
    pub leaves: Csr<u32>,
    /// Bit i: no ancestor of node i has the same function.
    outer: Vec<u64>,
    /// Per callee: (caller, weight); per caller: (callee, weight). Sorted by the other id.
    pub callers: Csr<(u32, f64)>,
    pub callees: Csr<(u32, f64)>,
}

impl SampleView {
    pub fn table<'a>(&'a self, p: &'a Profile) -> &'a StackTable {
        match &self.table {
            Some(t) => t,
            None => p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE_REF.0),
        }
    }
    /// No ancestor of node `i` has the same function.
    pub fn is_outer(&self, i: usize) -> bool {
        self.outer.get(i >> 6).is_some_and(|w| (w >> (i & 63)) & 1 == 1)
    }
    /// Nodes per function (built on first use).
    pub fn by_func(&self, t: &StackTable) -> &Csr<u32> {
        self.by_func.get_or_init(|| {
            let n = t.len();
            let mut fcount = vec![0u32; self.nfuncs];
            for f in &t.func {
                fcount[f.idx()] += 1;
            }
            Csr::from_counts(&fcount, (0..n).map(|i| (t.func[i].idx(), i as u32)))
        })
    }
    /// Approximate heap size in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.table.as_ref().map_or(0, |t| t.len() * 12)
            + self.at.heap_bytes()
            + self.incl.heap_bytes()
            + self.children.heap_bytes()
            + self.by_func.get().map_or(0, |c| c.heap_bytes())
            + self.leaves.heap_bytes()
            + self.outer.capacity() * 8
            + self.callers.heap_bytes()
            + self.callees.heap_bytes()
    }
}

struct EmptyTable(StackTable);
static EMPTY_TABLE_REF: EmptyTable = EmptyTable(StackTable { parent: Vec::new(), func: Vec::new(), depth: Vec::new() });

/// Builds the view data; returns the view and the per-function stats (len = `nfuncs`).
pub(crate) fn build_view(
    p: &Profile,
    thread: Option<ThreadId>,
    ops: &[Op],
    funcs: &mut Funcs<'_>,
) -> Result<(SampleView, Vec<FunctionStats>), String> {
    let base_table = p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE_REF.0);
    if thread.is_none() && ops.is_empty() {
        // The default view: no dense per-node weight vector, no copy of the table.
        if let Some((w, rs)) = initial_sparse(p, base_table.len()) {
            if all_live(base_table, &w) {
                return Ok(derive(p, None, w, rs, funcs.len()));
            }
        }
    }
    let (at, hit, rs, rh) = initial_weights(p, thread);
    if ops.is_empty() {
        let (table, at, hit) = match compact(base_table, &at, &hit) {
            None => (None, at, hit),
            Some((t, a)) => {
                let h = a.iter().map(|&x| x.to_bits() != 0).collect::<Vec<bool>>();
                (Some(t), a, h)
            }
        };
        let w = SelfWeights::from_dense(&at, &hit);
        drop((at, hit));
        return Ok(derive(p, table, w, rs, funcs.len()));
    }
    let mut s = Stacks { t: base_table.clone(), at, hit, root_self: rs, root_hit: rh };
    for op in ops {
        s = apply(op, &s, funcs)?;
    }
    let (t, a) = match compact(&s.t, &s.at, &s.hit) {
        None => (s.t, s.at),
        Some(x) => x,
    };
    let h: Vec<bool> = a.iter().map(|&x| x.to_bits() != 0).collect();
    let w = SelfWeights::from_dense(&a, &h);
    drop((a, h));
    Ok(derive(p, Some(t), w, s.root_self, funcs.len()))
}

/// Inclusive weight per node. Stored as `u32` when every self weight is a non-negative whole
/// number and their sum fits in `u32`: then every inclusive weight (and every sum of the
/// inclusive weights of disjoint subtrees) is a whole number below 2^32, which f64 holds exactly
/// whatever the order of the additions, so the values are bit-for-bit those of the f64 sums.
#[derive(Debug)]
pub(crate) enum Incl {
    F64(Vec<f64>),
    U32(Vec<u32>),
}

impl Incl {
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        match self {
            Incl::F64(v) => v[i],
            Incl::U32(v) => v[i] as f64,
        }
    }
    fn heap_bytes(&self) -> usize {
        match self {
            Incl::F64(v) => v.capacity() * 8,
            Incl::U32(v) => v.capacity() * 4,
        }
    }
}

/// True when every self weight is a non-negative whole number and their sum is at most
/// `u32::MAX` (see [`Incl`]).
fn whole_u32(at: &SelfWeights) -> bool {
    let mut sum = 0u64;
    for &v in &at.vals {
        if !(v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
            return false;
        }
        sum += v as u64;
        if sum > u32::MAX as u64 {
            return false;
        }
    }
    true
}

/// Inclusive weight per node from sparse self weights (same sums as [`inclusive`]).
fn inclusive_sparse(t: &StackTable, at: &SelfWeights, whole: bool) -> Incl {
    if whole {
        let mut incl = vec![0u32; t.len()];
        for (i, v) in at.iter() {
            incl[i] = v as u32;
        }
        for i in (0..t.len()).rev() {
            let p = t.parent[i];
            if p != NO_PARENT {
                incl[p as usize] += incl[i];
            }
        }
        return Incl::U32(incl);
    }
    let mut incl = vec![0.0; t.len()];
    for (i, v) in at.iter() {
        incl[i] = v;
    }
    for i in (0..t.len()).rev() {
        let p = t.parent[i];
        if p != NO_PARENT {
            incl[p as usize] += incl[i];
        }
    }
    Incl::F64(incl)
}

/// Children per node sorted by function id, and the roots sorted by function id.
fn children_of(t: &StackTable) -> (Csr<u32>, Vec<u32>) {
    let n = t.len();
    let mut roots = Vec::new();
    // off[p + 2] counts p's children; after the prefix sum off[p + 1] is the start of row p and
    // serves as its fill cursor, ending at the start of row p + 1.
    let mut off = vec![0u32; n + 2];
    for i in 0..n {
        let par = t.parent[i];
        if par == NO_PARENT {
            roots.push(i as u32);
        } else {
            off[par as usize + 2] += 1;
        }
    }
    for k in 2..n + 2 {
        off[k] += off[k - 1];
    }
    let mut items = vec![0u32; n - roots.len()];
    for i in 0..n {
        let par = t.parent[i];
        if par != NO_PARENT {
            let c = &mut off[par as usize + 1];
            items[*c as usize] = i as u32;
            *c += 1;
        }
    }
    off.pop();
    let mut children = Csr::from_parts(off, items);
    for k in 0..n {
        let row = children.slice_mut(k);
        if row.len() > 1 {
            row.sort_unstable_by_key(|&c| t.func[c as usize]);
        }
    }
    roots.sort_unstable_by_key(|&c| t.func[c as usize]);
    (children, roots)
}

/// Runs two closures, on two threads where there are threads.
fn join2<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::scope(|s| {
            let h = s.spawn(b);
            let ra = a();
            let rb = match h.join() {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e),
            };
            (ra, rb)
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        (a(), b())
    }
}

fn derive(p: &Profile, table: Option<StackTable>, at: SelfWeights, root_self: f64, nfuncs: usize) -> (SampleView, Vec<FunctionStats>) {
    let base_table = p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE_REF.0);
    let t = table.as_ref().unwrap_or(base_table);
    let n = t.len();
    let big = n >= 1 << 16;
    let whole = whole_u32(&at);
    let ((incl, leaves), (children, roots)) = if big {
        join2(|| (inclusive_sparse(t, &at, whole), leaves_of(t, &at, nfuncs)), || children_of(t))
    } else {
        ((inclusive_sparse(t, &at, whole), leaves_of(t, &at, nfuncs)), children_of(t))
    };
    let total = at.iter().map(|x| x.1).fold(0.0, |a, b| a + b) + root_self;

    // Depth-first walk: outermost occurrence per function and per (caller, callee) pair. With
    // f64 weights the edge weights are summed here, in walk order; with whole weights any order
    // gives the same sums, so they are summed afterwards in node order (on two threads).
    let mut outer = vec![0u64; n.div_ceil(64)];
    let mut first = if whole { vec![0u64; n.div_ceil(64)] } else { Vec::new() };
    let mut on_path = vec![0u32; nfuncs];
    let mut edge_w: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    let mut stack: Vec<(u32, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((node, leaving)) = stack.pop() {
        let i = node as usize;
        let f = t.func[i].0;
        if leaving {
            on_path[f as usize] -= 1;
            continue;
        }
        let recursive = on_path[f as usize] > 0;
        if !recursive {
            outer[i >> 6] |= 1 << (i & 63);
        }
        let par = t.parent[i];
        if par != NO_PARENT {
            let pf = t.func[par as usize].0;
            // A (caller, callee) pair counts once per stack: only its outermost occurrence. It can
            // only repeat when the callee is already on the path; then look for it above.
            let mut first_pair = true;
            if recursive {
                let mut a = par;
                while a != NO_PARENT {
                    let b = t.parent[a as usize];
                    if b != NO_PARENT && t.func[a as usize].0 == f && t.func[b as usize].0 == pf {
                        first_pair = false;
                        break;
                    }
                    a = b;
                }
            }
            if first_pair {
                if whole {
                    first[i >> 6] |= 1 << (i & 63);
                } else {
                    *edge_w.entry((pf, f)).or_insert(0.0) += incl.get(i);
                }
            }
        }
        on_path[f as usize] += 1;
        stack.push((node, true));
        for &c in children.slice(i).iter().rev() {
            stack.push((c, false));
        }
    }
    drop(on_path);
    drop(stack);

    let stats_of = || {
        let mut stats = vec![FunctionStats::default(); nfuncs];
        let mut hits = at.iter().peekable();
        for i in 0..n {
            let o = &mut stats[t.func[i].idx()];
            o.listed = true;
            let s = o.self_weight.get_or_insert(0.0);
            if hits.peek().is_some_and(|h| h.0 == i) {
                if let Some((_, v)) = hits.next() {
                    *s += v;
                }
            }
            let tot = o.total_weight.get_or_insert(0.0);
            if (outer[i >> 6] >> (i & 63)) & 1 == 1 {
                *tot += incl.get(i);
            }
        }
        stats
    };
    let (stats, edge_w): (Vec<FunctionStats>, Vec<(u32, u32, f64)>) = if whole {
        let Incl::U32(iv) = &incl else { unreachable!("whole weights give u32 inclusive weights") };
        // Per (caller, callee): Σ of the inclusive weights of the pair's outermost nodes, as u64.
        let part = |half: u32| {
            let mut m: FxHashMap<(u32, u32), u64> = FxHashMap::default();
            for (wi, &word) in first.iter().enumerate() {
                let mut w = word;
                while w != 0 {
                    let i = wi * 64 + w.trailing_zeros() as usize;
                    w &= w - 1;
                    let f = t.func[i].0;
                    if f & 1 != half {
                        continue;
                    }
                    let pf = t.func[t.parent[i] as usize].0;
                    *m.entry((pf, f)).or_insert(0) += iv[i] as u64;
                }
            }
            m
        };
        let ((stats, m0), m1) = if big { join2(|| (stats_of(), part(0)), || part(1)) } else { ((stats_of(), part(0)), part(1)) };
        let mut e: Vec<(u32, u32, f64)> = Vec::with_capacity(m0.len() + m1.len());
        e.extend(m0.into_iter().chain(m1).map(|((a, b), w)| (a, b, w as f64)));
        (stats, e)
    } else {
        (stats_of(), edge_w.into_iter().map(|((a, b), w)| (a, b, w)).collect())
    };
    drop(first);

    let mut edges: Vec<(u32, u32, f64)> = edge_w;
    edges.sort_unstable_by_key(|e| (e.0, e.1));
    let mut cc = vec![0u32; nfuncs];
    let mut ce = vec![0u32; nfuncs];
    for e in &edges {
        cc[e.1 as usize] += 1;
        ce[e.0 as usize] += 1;
    }
    let callers = Csr::from_counts(&cc, edges.iter().map(|e| (e.1 as usize, (e.0, e.2))));
    let callees = Csr::from_counts(&ce, edges.iter().map(|e| (e.0 as usize, (e.1, e.2))));

    (
        SampleView {
            table,
            at,
            incl,
            root_self,
            total,
            children,
            roots,
            by_func: std::sync::OnceLock::new(),
            nfuncs,
            leaves,
            outer,
            callers,
            callees,
        },
        stats,
    )
}

/// Nodes with a non-zero self weight, per function, in node order.
fn leaves_of(t: &StackTable, at: &SelfWeights, nfuncs: usize) -> Csr<u32> {
    let mut lcount = vec![0u32; nfuncs];
    for (i, v) in at.iter() {
        if v != 0.0 {
            lcount[t.func[i].idx()] += 1;
        }
    }
    Csr::from_counts(&lcount, at.iter().filter(|x| x.1 != 0.0).map(|(i, _)| (t.func[i].idx(), i as u32)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::parse;
    use profview_model::{Dialect, SampleBuilder, Unit};

    fn frames_of(s: &Stacks, i: usize) -> Vec<u32> {
        s.t.frames(profview_model::StackId(i as u32)).iter().map(|f| f.0).collect()
    }

    #[test]
    fn hide_and_recursion() {
        let mut b = SampleBuilder::new();
        let t = b.thread("1", None);
        let a = b.function("a", "x.py", 1);
        let r = b.function("r", "x.py", 2);
        let g = b.function("g", "x.py", 3);
        b.add_sample(&[a, r, r, g, r], t, 5.0);
        let p = b.finish(Dialect::Gregg, Unit::Samples);
        let pkg = vec![Package::User; 3];
        let mut funcs = Funcs { base: &p.functions, base_pkg: &pkg, extra: vec![], extra_pkg: vec![] };
        let (at, hit, rs, rh) = initial_weights(&p, None);
        let s0 = Stacks { t: p.samples.as_ref().unwrap().stacks.clone(), at, hit, root_self: rs, root_hit: rh };
        let leaf = |s: &Stacks| s.hit.iter().position(|&h| h).unwrap();
        let s1 = apply(&parse("rec").unwrap().ops[0], &s0, &mut funcs).unwrap();
        assert_eq!(frames_of(&s1, leaf(&s1)), vec![a.0, r.0, g.0, r.0]);
        let s2 = apply(&parse(&format!("rec:{}", r.0)).unwrap().ops[0], &s0, &mut funcs).unwrap();
        assert_eq!(frames_of(&s2, leaf(&s2)), vec![a.0, r.0]);
        let s3 = apply(&parse(&format!("h:{}", r.0)).unwrap().ops[0], &s0, &mut funcs).unwrap();
        assert_eq!(frames_of(&s3, leaf(&s3)), vec![a.0, g.0]);
        let s4 = apply(&parse(&format!("f:{}", r.0)).unwrap().ops[0], &s0, &mut funcs).unwrap();
        assert_eq!(frames_of(&s4, leaf(&s4)), vec![r.0, r.0, g.0, r.0]);
        let s5 = apply(&parse("d:2").unwrap().ops[0], &s0, &mut funcs).unwrap();
        assert_eq!(frames_of(&s5, leaf(&s5)), vec![a.0, r.0]);
        assert_eq!(s5.at.iter().sum::<f64>(), 5.0);
    }

    /// The whole-weight path (u32 inclusive weights, edges summed after the walk on 2 threads)
    /// and the f64 path give the reference aggregates: bit-for-bit for whole weights, and the
    /// f64 path's edge weights match a brute-force sum.
    #[test]
    fn whole_and_fractional_weights_agree_with_reference() {
        for frac in [false, true] {
            let mut b = SampleBuilder::new();
            let t = b.thread("1", None);
            let fs: Vec<_> = (0..7).map(|i| b.function(&format!("f{i}"), "x.py", i)).collect();
            let mut seed = 12345u64;
            let mut rnd = |m: u64| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 33) % m
            };
            let mut stacks = Vec::new();
            // Enough nodes for the two-thread path (n >= 65536).
            for _ in 0..60_000 {
                let d = 1 + rnd(12) as usize;
                let st: Vec<_> = (0..d).map(|_| fs[rnd(7) as usize]).collect();
                let w = if frac { rnd(1000) as f64 / 8.0 + 0.1 } else { rnd(1000) as f64 };
                b.add_sample(&st, t, w);
                stacks.push((st, w));
            }
            let p = b.finish(Dialect::Gregg, Unit::Samples);
            let nodes = p.samples.as_ref().unwrap().stacks.len();
            assert!(nodes >= 1 << 16, "{nodes} nodes");
            let pkg = vec![Package::User; p.functions.len()];
            let mut funcs = Funcs { base: &p.functions, base_pkg: &pkg, extra: vec![], extra_pkg: vec![] };
            let (sv, stats) = build_view(&p, None, &[], &mut funcs).unwrap();
            assert_eq!(matches!(sv.incl, Incl::U32(_)), !frac);
            let reference = crate::table::function_stats(&p);
            for (a, r) in stats.iter().zip(&reference) {
                assert_eq!(a.self_weight.map(f64::to_bits), r.self_weight.map(f64::to_bits));
                assert_eq!(a.total_weight.map(f64::to_bits), r.total_weight.map(f64::to_bits));
            }
            // Edge weights: once per stack per (caller, callee) pair.
            let mut want: FxHashMap<(u32, u32), f64> = FxHashMap::default();
            for (st, w) in &stacks {
                let mut seen = Vec::new();
                for pair in st.windows(2) {
                    let k = (pair[0].0, pair[1].0);
                    if !seen.contains(&k) {
                        seen.push(k);
                        *want.entry(k).or_insert(0.0) += w;
                    }
                }
            }
            let mut got = 0;
            for (&(a, c), &w) in &want {
                let row = sv.callees.slice(a as usize);
                let e = row.iter().find(|e| e.0 == c).unwrap();
                if frac {
                    assert!((e.1 - w).abs() <= 1e-9 * w.abs().max(1.0), "{a}->{c}: {} vs {w}", e.1);
                } else {
                    assert_eq!(e.1.to_bits(), w.to_bits(), "{a}->{c}");
                }
                got += 1;
            }
            assert_eq!(got, (0..7).map(|f| sv.callees.slice(f).len()).sum::<usize>());
        }
    }

}
