//! Sampled profiles: thread selection and stack-rewriting transforms, then the derived data every
//! query uses (inclusive weights, children, per-function totals, caller→callee weights).

use profview_model::{Function, Profile, StackTable, ThreadId, NO_PARENT};
use rustc_hash::FxHashMap;

use crate::classify::{site_package_name, Package};
use crate::table::FunctionStats;
use crate::transform::{is_idle_name, GroupBy, Matcher, Op};
use crate::Csr;
use crate::par::join2;

/// Sample goes to the root (empty stack).
const MROOT: u32 = u32::MAX;
/// Sample is dropped; children are dropped too.
const MDROP: u32 = u32::MAX - 1;
/// Focus not reached yet: samples are dropped, children may still match.
const MWAIT: u32 = u32::MAX - 2;

/// The function table of a view: the profile's functions plus synthetic ones (groups).
/// The synthetic leaf frame under a sample a recording marks idle (`profview_import::recording::IDLE_FRAME`).
pub(crate) const RECORDED_IDLE_FRAME: &str = "<idle>";

pub(crate) struct Funcs<'a> {
    pub base: &'a [Function],
    pub base_pkg: &'a [Package],
    pub extra: Vec<Function>,
    pub extra_pkg: Vec<Package>,
    /// The profile records which samples were idle (a profview recording marks them with a
    /// synthetic `<idle>` leaf): the `idle` transform drops exactly those, with no name heuristic.
    pub recorded_idle: bool,
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

/// A stack table with per-node weights, the unit every transform rewrites. The first
/// operation reads the profile's own table (borrowed, not copied).
#[derive(Clone, Debug, Default)]
pub(crate) struct Stacks<'a> {
    pub t: std::borrow::Cow<'a, StackTable>,
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
        match s.stack() {
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

/// The rewritten table being built: `child(parent, func)` finds or adds a node. The
/// interning table holds node ids only (keys are read back from the table: 5 bytes a slot
/// instead of 13 for a map of pairs).
struct Rebuild {
    out: StackTable,
    intern: hashbrown::HashTable<u32>,
}

#[inline]
fn pair_hash(parent: u32, func: u32) -> u64 {
    // splitmix64's finalizer: high bits (hashbrown's tags) and low bits (its buckets) both mixed.
    let mut x = (parent as u64) << 32 | func as u64;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Rebuild {
    fn new(cap: usize) -> Self {
        Rebuild {
            out: StackTable {
                parent: Vec::with_capacity(cap),
                func: Vec::with_capacity(cap),
            },
            // Sized for the input (an upper bound of the output): growing would re-read every key.
            intern: hashbrown::HashTable::with_capacity(cap),
        }
    }
    /// The node `func` under `parent` (`MROOT` = a root frame).
    fn child(&mut self, parent: u32, func: u32) -> u32 {
        let p = if parent == MROOT { NO_PARENT } else { parent };
        let h = pair_hash(p, func);
        let Rebuild { out, intern } = self;
        if let Some(&c) = intern.find(h, |&id| out.parent[id as usize] == p && out.func[id as usize].0 == func) {
            return c;
        }
        let id = out.func.len() as u32;
        out.parent.push(p);
        out.func.push(profview_model::FuncId(func));
        intern.insert_unique(h, id, |&id| pair_hash(out.parent[id as usize], out.func[id as usize].0));
        id
    }
    fn func_of(&self, node: u32) -> Option<u32> {
        (node < MWAIT).then(|| self.out.func[node as usize].0)
    }
    /// Moves the weights along `map` and returns the new stacks.
    fn finish(self, s: &Stacks<'_>, map: &[u32]) -> Stacks<'static> {
        let Rebuild { mut out, intern } = self;
        drop(intern);
        out.parent.shrink_to_fit();
        out.func.shrink_to_fit();
        let n = out.len();
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
        Stacks { t: std::borrow::Cow::Owned(out), at, hit, root_self: rs, root_hit: rh }
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
pub(crate) fn apply(op: &Op, s: &Stacks<'_>, funcs: &mut Funcs<'_>) -> Result<Stacks<'static>, String> {
    let t: &StackTable = &s.t;
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
            let depth = t.depths();
            for i in 0..n {
                let f = t.func[i].0;
                let d = depth[i] as usize;
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
            let idle: Vec<bool> = (0..funcs.len() as u32)
                .map(|i| {
                    let f = funcs.get(i);
                    if funcs.recorded_idle {
                        f.name == RECORDED_IDLE_FRAME && f.file.is_empty()
                    } else {
                        is_idle_name(&f.name)
                    }
                })
                .collect();
            let table = std::borrow::Cow::Owned(StackTable::clone(&s.t));
            let mut out = Stacks { t: table, at: s.at.clone(), hit: s.hit.clone(), root_self: s.root_self, root_hit: s.root_hit };
            for i in 0..n {
                if idle[t.func[i].idx()] {
                    out.at[i] = 0.0;
                    out.hit[i] = false;
                }
            }
            return Ok(out);
        }
        Op::Depth(d) => {
            let depth = t.depths();
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                map[i] = if pm == MDROP {
                    MDROP
                } else if depth[i] >= *d {
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
        if let Some(st) = s.stack() {
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
        match s.stack() {
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

/// Self and inclusive weights per node.
#[derive(Debug)]
pub(crate) enum Weights {
    /// Sparse self weights and inclusive weights (any table order).
    Sparse { at: SelfWeights, incl: Incl },
    /// Whole weights on a pre-order table ([`Shape::Pre`]): `p[k]` = Σ of the self weights of
    /// nodes `0..k` (`n + 1` entries, at most `u32::MAX`). Self weight of `i` = `p[i + 1] - p[i]`,
    /// inclusive = `p[end[i]] - p[i]`: exact integers, the values the f64 sums give.
    Prefix(Vec<u32>),
}

/// How the children of a node are found.
#[derive(Debug)]
pub(crate) enum Shape {
    /// Children per node, sorted by function id.
    Csr(Csr<u32>),
    /// The table is in pre-order with the children of a node sorted by function id: node `i`'s
    /// subtree is `i..end[i]`, its first child `i + 1`, the sibling after child `c` is `end[c]`.
    Pre(Ends),
}

/// Subtree ends of a pre-order table, 2 bytes per node: `end[i] - i` when below `u16::MAX`,
/// else looked up among the few large subtrees.
#[derive(Debug, Default)]
pub(crate) struct Ends {
    small: Vec<u16>,
    /// (node, end) of the subtrees of `u16::MAX` nodes or more, by node.
    big: Vec<(u32, u32)>,
}

impl Ends {
    fn from_u32(end: &[u32]) -> Self {
        let mut e = Ends { small: Vec::with_capacity(end.len()), big: Vec::new() };
        for (i, &x) in end.iter().enumerate() {
            let size = x - i as u32;
            if size < u16::MAX as u32 {
                e.small.push(size as u16);
            } else {
                e.small.push(u16::MAX);
                e.big.push((i as u32, x));
            }
        }
        e
    }
    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        match self.small.get(i) {
            Some(&s) if s != u16::MAX => i as u32 + s as u32,
            Some(_) => self.big.binary_search_by_key(&(i as u32), |b| b.0).map_or(i as u32 + 1, |k| self.big[k].1),
            None => 0,
        }
    }
    fn heap_bytes(&self) -> usize {
        self.small.capacity() * 2 + self.big.capacity() * 8
    }
}

/// The children of one node, in function order.
pub(crate) enum Kids<'a> {
    Slice(std::slice::Iter<'a, u32>),
    Pre { end: &'a Ends, c: u32, stop: u32 },
}

impl Iterator for Kids<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        match self {
            Kids::Slice(it) => it.next().copied(),
            Kids::Pre { end, c, stop } => {
                if *c < *stop {
                    let x = *c;
                    *c = end.get(x as usize);
                    Some(x)
                } else {
                    None
                }
            }
        }
    }
}

/// A sampled profile under one thread selection and one transform list.
#[derive(Debug)]
pub(crate) struct SampleView {
    /// The rewritten table; `None` = the profile's own table.
    pub table: Option<StackTable>,
    /// Self and inclusive weights per node.
    pub w: Weights,
    pub shape: Shape,
    pub root_self: f64,
    /// Σ of every selected sample (including empty stacks).
    pub total: f64,
    /// Root nodes, sorted by function id.
    pub roots: Vec<u32>,
    /// Nodes per function, built on first use (sandwich).
    by_func: std::sync::OnceLock<Csr<u32>>,
    nfuncs: usize,
    /// Nodes with self weight per function (the leaves of the inverted tree), built on first
    /// use for pre-order views.
    leaves: std::sync::OnceLock<Csr<u32>>,
    /// Bit i: no ancestor of node i has the same function.
    outer: Vec<u64>,
    /// Caller→callee weights.
    edges: EdgeRows,
}

/// Per callee: (caller, weight); per caller: (callee, weight). Sorted by the other id. Whole
/// weights are stored as `u32` (a pair's weight is at most the total, which fits).
#[derive(Debug)]
pub(crate) enum EdgeRows {
    F64 { callers: Csr<(u32, f64)>, callees: Csr<(u32, f64)> },
    U32 { callers: Csr<(u32, u32)>, callees: Csr<(u32, u32)> },
}

/// One row of [`EdgeRows`] as (other function, weight).
pub(crate) enum EdgeIter<'a> {
    F(std::slice::Iter<'a, (u32, f64)>),
    U(std::slice::Iter<'a, (u32, u32)>),
}

impl Iterator for EdgeIter<'_> {
    type Item = (u32, f64);
    #[inline]
    fn next(&mut self) -> Option<(u32, f64)> {
        match self {
            EdgeIter::F(it) => it.next().copied(),
            EdgeIter::U(it) => it.next().map(|&(o, w)| (o, w as f64)),
        }
    }
}

impl SampleView {
    pub fn table<'a>(&'a self, p: &'a Profile) -> &'a StackTable {
        match &self.table {
            Some(t) => t,
            None => p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE_REF.0),
        }
    }
    /// Inclusive weight of node `i`.
    #[inline]
    pub fn incl(&self, i: usize) -> f64 {
        match (&self.w, &self.shape) {
            (Weights::Sparse { incl, .. }, _) => incl.get(i),
            (Weights::Prefix(p), Shape::Pre(end)) => (p[end.get(i) as usize] - p[i]) as f64,
            (Weights::Prefix(_), Shape::Csr(_)) => unreachable!("prefix weights need a pre-order table"),
        }
    }
    /// Weight of samples ending at node `i`.
    #[inline]
    pub fn own(&self, i: usize) -> f64 {
        match &self.w {
            Weights::Sparse { at, .. } => at.get(i),
            Weights::Prefix(p) => (p[i + 1] - p[i]) as f64,
        }
    }
    /// Children of node `n`, sorted by function id.
    #[inline]
    pub fn kids(&self, n: u32) -> Kids<'_> {
        match &self.shape {
            Shape::Csr(c) => Kids::Slice(c.slice(n as usize).iter()),
            Shape::Pre(end) => Kids::Pre { end, c: n + 1, stop: end.get(n as usize) },
        }
    }
    /// The children of `n` as (node, inclusive, own), in function order: one pass that reads
    /// each child's subtree end and prefix sums once (the sibling walk of a pre-order table).
    pub fn kids_weighted(&self, n: u32, out: &mut Vec<(u32, f64, f64)>) {
        if let (Weights::Prefix(p), Shape::Pre(end)) = (&self.w, &self.shape) {
            let stop = end.get(n as usize);
            let mut c = n + 1;
            while c < stop {
                let e = end.get(c as usize);
                let pc = p[c as usize];
                out.push((c, (p[e as usize] - pc) as f64, (p[c as usize + 1] - pc) as f64));
                c = e;
            }
        } else {
            out.extend(self.kids(n).map(|c| (c, self.incl(c as usize), self.own(c as usize))));
        }
    }
    /// Whole weights summed as integers (`Weights::Prefix`): any order of additions gives the
    /// same values.
    pub fn whole(&self) -> bool {
        matches!(self.w, Weights::Prefix(_))
    }
    /// Callers (`callers`) or callees of function `f` with the edge weights.
    pub fn edges(&self, f: usize, callers: bool) -> EdgeIter<'_> {
        match (&self.edges, callers) {
            (EdgeRows::F64 { callers, .. }, true) => EdgeIter::F(callers.slice(f).iter()),
            (EdgeRows::F64 { callees, .. }, false) => EdgeIter::F(callees.slice(f).iter()),
            (EdgeRows::U32 { callers, .. }, true) => EdgeIter::U(callers.slice(f).iter()),
            (EdgeRows::U32 { callees, .. }, false) => EdgeIter::U(callees.slice(f).iter()),
        }
    }
    /// Nodes with a non-zero self weight per function, in node order (built on first use).
    pub fn leaves(&self, t: &StackTable) -> &Csr<u32> {
        self.leaves.get_or_init(|| {
            let n = t.len();
            let mut lcount = vec![0u32; self.nfuncs];
            for i in 0..n {
                if self.own(i) != 0.0 {
                    lcount[t.func[i].idx()] += 1;
                }
            }
            Csr::from_counts(&lcount, (0..n).filter(|&i| self.own(i) != 0.0).map(|i| (t.func[i].idx(), i as u32)))
        })
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
        self.table.as_ref().map_or(0, |t| t.len() * 8)
            + match &self.w {
                Weights::Sparse { at, incl } => at.heap_bytes() + incl.heap_bytes(),
                Weights::Prefix(p) => p.capacity() * 4,
            }
            + match &self.shape {
                Shape::Csr(c) => c.heap_bytes(),
                Shape::Pre(e) => e.heap_bytes(),
            }
            + self.by_func.get().map_or(0, |c| c.heap_bytes())
            + self.leaves.get().map_or(0, |c| c.heap_bytes())
            + self.outer.capacity() * 8
            + match &self.edges {
                EdgeRows::F64 { callers, callees } => callers.heap_bytes() + callees.heap_bytes(),
                EdgeRows::U32 { callers, callees } => callers.heap_bytes() + callees.heap_bytes(),
            }
    }
}

struct EmptyTable(StackTable);
static EMPTY_TABLE_REF: EmptyTable = EmptyTable(StackTable { parent: Vec::new(), func: Vec::new() });

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
                return Ok(finish_view(p, None, w, rs, funcs.len()));
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
        return Ok(finish_view(p, table, w, rs, funcs.len()));
    }
    let mut s = Stacks { t: std::borrow::Cow::Borrowed(base_table), at, hit, root_self: rs, root_hit: rh };
    for op in ops {
        s = apply(op, &s, funcs)?;
    }
    let (t, a) = match compact(&s.t, &s.at, &s.hit) {
        None => (s.t.into_owned(), s.at),
        Some(x) => x,
    };
    let h: Vec<bool> = a.iter().map(|&x| x.to_bits() != 0).collect();
    let w = SelfWeights::from_dense(&a, &h);
    drop((a, h));
    Ok(finish_view(p, Some(t), w, s.root_self, funcs.len()))
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
            w: Weights::Sparse { at, incl },
            shape: Shape::Csr(children),
            root_self,
            total,
            roots,
            by_func: std::sync::OnceLock::new(),
            nfuncs,
            leaves: std::sync::OnceLock::from(leaves),
            outer,
            edges: EdgeRows::F64 { callers, callees },
        },
        stats,
    )
}

/// Whole weights on a table below 2^31 nodes go to [`derive_pre`] (the table put in pre-order
/// first when it is not), any other to [`derive`].
fn finish_view(p: &Profile, table: Option<StackTable>, w: SelfWeights, root_self: f64, nfuncs: usize) -> (SampleView, Vec<FunctionStats>) {
    let base_table = p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE_REF.0);
    let n = table.as_ref().unwrap_or(base_table).len();
    if n >= PRE_MAX || nfuncs > PAIR_FUNCS_MAX || !whole_u32(&w) {
        return derive(p, table, w, root_self, nfuncs);
    }
    let (table, perm) = if is_preorder(table.as_ref().unwrap_or(base_table)) {
        (table, None)
    } else {
        let mut t = table.unwrap_or_else(|| base_table.clone());
        let perm = to_preorder(&mut t);
        (Some(t), perm)
    };
    let ends = ends_of(table.as_ref().unwrap_or(base_table));
    // Self weights as u32 at k + 1, then the prefix sum in place.
    let mut pre = vec![0u32; n + 1];
    for (i, v) in w.iter() {
        let k = perm.as_ref().map_or(i, |pm| pm[i] as usize);
        pre[k + 1] = v as u32;
    }
    drop(perm);
    drop(w);
    for k in 1..=n {
        pre[k] += pre[k - 1];
    }
    derive_pre(p, table, ends, pre, root_self, nfuncs)
}

/// Subtree ends of a pre-order table (the end of a node's last child; children follow their
/// parent).
fn ends_of(t: &StackTable) -> Ends {
    let n = t.len();
    let mut end: Vec<u32> = (1..=n as u32).collect();
    for i in (0..n).rev() {
        let par = t.parent[i];
        if par != NO_PARENT && end[par as usize] < end[i] {
            end[par as usize] = end[i];
        }
    }
    Ends::from_u32(&end)
}

/// Renumbers the profile's stack table in pre-order (see [`to_preorder`]) when its weights are
/// whole (every sample weight a non-negative whole number, the sum at most `u32::MAX`) and
/// every sample's stack is in range; remaps the samples' stack ids. Sample order, the stacks
/// and all sums are unchanged.
pub(crate) fn preorder_profile(p: &mut Profile) {
    let Some(sd) = p.samples.as_mut() else { return };
    let n = sd.stacks.len();
    let mut sum = 0u64;
    for s in &sd.samples {
        let w = s.weight;
        if !(w >= 0.0 && w.fract() == 0.0 && w <= u32::MAX as f64) {
            return;
        }
        sum += w as u64;
        if sum > u32::MAX as u64 || s.stack().is_some_and(|st| st.idx() >= n) {
            return;
        }
    }
    if n >= PRE_MAX || is_preorder(&sd.stacks) {
        return;
    }
    if let Some(perm) = to_preorder(&mut sd.stacks) {
        for s in sd.samples.iter_mut() {
            if let Some(st) = s.stack() {
                s.node = perm[st.idx()];
            }
        }
    }
}

/// Views with more functions keep [`derive`] (a (caller, callee) pair must fit in a `u32` key).
const PAIR_FUNCS_MAX: usize = 65_535;

/// Tables at or above this many nodes keep the CSR children (pre-order ids use bit 31).
const PRE_MAX: usize = 1 << 31;

/// True when `t` is in pre-order (every subtree is a contiguous range starting at its root) and
/// the children of every node, and the roots, come in strictly increasing function order.
pub(crate) fn is_preorder(t: &StackTable) -> bool {
    const VROOT: u32 = u32::MAX;
    // (node, function of its last child seen)
    let mut path: Vec<(u32, u32)> = vec![(VROOT, u32::MAX)];
    for i in 0..t.len() {
        let p = t.parent[i];
        let target = if p == NO_PARENT { VROOT } else { p };
        loop {
            let Some(&(top, _)) = path.last() else { return false };
            if top == target {
                break;
            }
            if top == VROOT {
                return false;
            }
            path.pop();
        }
        let f = t.func[i].0;
        let Some(last) = path.last_mut() else { return false };
        if last.1 != u32::MAX && f <= last.1 {
            return false;
        }
        last.1 = f;
        path.push((i as u32, u32::MAX));
    }
    true
}

/// Renumbers `t` in place into pre-order with the children of each node (and the roots) sorted
/// by function id (ties by old id). Returns old id → new id; `None` (table unchanged) when the
/// table has 2^31 nodes or more. Extra memory: 8 bytes per node while the order is found, then
/// the 4-byte map.
pub(crate) fn to_preorder(t: &mut StackTable) -> Option<Vec<u32>> {
    const NONE: u32 = u32::MAX;
    let n = t.len();
    if n >= PRE_MAX {
        return None;
    }
    // First child / next sibling, children in increasing id order.
    let mut first = vec![NONE; n];
    let mut next = vec![NONE; n];
    let mut roots = Vec::new();
    for i in (0..n).rev() {
        let p = t.parent[i];
        if p == NO_PARENT {
            roots.push(i as u32);
        } else {
            next[i] = first[p as usize];
            first[p as usize] = i as u32;
        }
    }
    let func = &t.func;
    roots.sort_unstable_by_key(|&r| (func[r as usize], r));
    let mut stack: Vec<u32> = roots.into_iter().rev().collect();
    let mut buf: Vec<u32> = Vec::new();
    let mut counter = 0u32;
    // Depth-first; `first[v]` becomes v's new id once its children are gathered.
    while let Some(v) = stack.pop() {
        let mut c = first[v as usize];
        first[v as usize] = counter;
        counter += 1;
        buf.clear();
        while c != NONE {
            buf.push(c);
            c = next[c as usize];
        }
        if buf.len() > 1 {
            buf.sort_unstable_by_key(|&c| (func[c as usize], c));
        }
        stack.extend(buf.iter().rev());
    }
    drop(next);
    let perm = first;
    // Scatter each column to the new ids (independent writes: far faster than following the
    // permutation's cycles in place), one column at a time.
    let mut np = vec![0u32; n];
    for (i, &p) in t.parent.iter().enumerate() {
        np[perm[i] as usize] = if p == NO_PARENT { NO_PARENT } else { perm[p as usize] };
    }
    t.parent = np;
    let mut nf = vec![profview_model::FuncId(0); n];
    for (i, &f) in t.func.iter().enumerate() {
        nf[perm[i] as usize] = f;
    }
    t.func = nf;
    Some(perm)
}

/// [`derive`] for whole weights on a pre-order table: children are implicit (a subtree end per
/// node), inclusive and self weights come from one prefix sum, and the depth-first walk is a
/// single pass in node order.
fn derive_pre(p: &Profile, table: Option<StackTable>, end: Ends, pre: Vec<u32>, root_self: f64, nfuncs: usize) -> (SampleView, Vec<FunctionStats>) {
    let base_table = p.samples.as_ref().map(|s| &s.stacks).unwrap_or(&EMPTY_TABLE_REF.0);
    let t = table.as_ref().unwrap_or(base_table);
    let n = t.len();
    let mut roots = Vec::new();
    let mut c = 0usize;
    while c < n {
        roots.push(c as u32);
        c = end.get(c) as usize;
    }
    let total = pre[n] as f64 + root_self;
    let incl = |i: usize| pre[end.get(i) as usize] - pre[i];

    // One pass in node order with the path from the root: outermost occurrence per function and
    // per (caller, callee) pair (whole weights: the sums are exact in any order).
    let mut outer = vec![0u64; n.div_ceil(64)];
    let mut on_path = vec![0u32; nfuncs];
    let mut path: Vec<u32> = Vec::new();
    // Nodes that are the outermost occurrence of their (caller, callee) pair on their stack.
    let mut first = vec![0u64; n.div_ceil(64)];
    for i in 0..n {
        while let Some(&top) = path.last() {
            if end.get(top as usize) as usize > i {
                break;
            }
            on_path[t.func[top as usize].idx()] -= 1;
            path.pop();
        }
        let f = t.func[i].0;
        let recursive = on_path[f as usize] > 0;
        if !recursive {
            outer[i >> 6] |= 1 << (i & 63);
        }
        if let Some(&par) = path.last() {
            let pf = t.func[par as usize].0;
            let mut first_pair = true;
            if recursive {
                // Is (pf, f) already on the path above? path[k] has function f and path[k-1] pf.
                for k in (1..path.len()).rev() {
                    if t.func[path[k] as usize].0 == f && t.func[path[k - 1] as usize].0 == pf {
                        first_pair = false;
                        break;
                    }
                }
            }
            if first_pair {
                first[i >> 6] |= 1 << (i & 63);
            }
        }
        on_path[f as usize] += 1;
        path.push(i as u32);
    }
    drop(on_path);
    drop(path);

    let stats_of = || {
        let mut stats = vec![FunctionStats::default(); nfuncs];
        for i in 0..n {
            let o = &mut stats[t.func[i].idx()];
            o.listed = true;
            *o.self_weight.get_or_insert(0.0) += (pre[i + 1] - pre[i]) as f64;
            let tot = o.total_weight.get_or_insert(0.0);
            if (outer[i >> 6] >> (i & 63)) & 1 == 1 {
                *tot += incl(i) as f64;
            }
        }
        stats
    };
    // (caller, callee) sums for callers in lo..hi, as sorted (caller * nfuncs + callee, weight).
    let nf = nfuncs as u32;
    let part = |lo: u32, hi: u32| {
        let mut sums = PairSums::new();
        for (wi, &word) in first.iter().enumerate() {
            let mut w = word;
            while w != 0 {
                let i = wi * 64 + w.trailing_zeros() as usize;
                w &= w - 1;
                let pf = t.func[t.parent[i] as usize].0;
                if pf >= lo && pf < hi {
                    sums.add(pf * nf + t.func[i].0, incl(i));
                }
            }
        }
        sums.into_sorted()
    };
    let mid = nf / 2;
    let ((stats, mut items), hi) =
        if n >= 1 << 16 { join2(|| (stats_of(), part(0, mid)), || part(mid, nf)) } else { ((stats_of(), part(0, mid)), part(mid, nf)) };
    drop(first);
    items.extend_from_slice(&hi);
    drop(hi);
    // Callees: the sorted pairs themselves, keyed down to the callee.
    let mut ce = vec![0u32; nfuncs];
    let mut cc = vec![0u32; nfuncs];
    for e in items.iter_mut() {
        let (a, b) = (e.0 / nf, e.0 % nf);
        ce[a as usize] += 1;
        cc[b as usize] += 1;
        e.0 = b;
    }
    let mut off = Vec::with_capacity(nfuncs + 1);
    let mut acc = 0u32;
    off.push(0);
    for &c in &ce {
        acc += c;
        off.push(acc);
    }
    let callees = Csr::from_parts(off, items);
    let callers = Csr::from_counts(&cc, (0..nfuncs).flat_map(|a| callees.slice(a).iter().map(move |&(b, w)| (b as usize, (a as u32, w)))));

    (
        SampleView {
            table,
            w: Weights::Prefix(pre),
            shape: Shape::Pre(end),
            root_self,
            total,
            roots,
            by_func: std::sync::OnceLock::new(),
            nfuncs,
            leaves: std::sync::OnceLock::new(),
            outer,
            edges: EdgeRows::U32 { callers, callees },
        },
        stats,
    )
}

/// Sums of `u32` values keyed by a `u32` (not `u32::MAX`) in an open-addressing table (8 bytes
/// per slot, at most 3/4 full).
struct PairSums {
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl PairSums {
    const EMPTY: u32 = u32::MAX;
    fn new() -> Self {
        PairSums { slots: vec![(Self::EMPTY, 0); 1 << 12], len: 0 }
    }
    #[inline]
    fn add(&mut self, key: u32, v: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut h = (key.wrapping_mul(0x9E37_79B1) as usize ^ (key as usize >> 15)) & mask;
        loop {
            let s = &mut self.slots[h];
            if s.0 == key {
                s.1 += v;
                return;
            }
            if s.0 == Self::EMPTY {
                *s = (key, v);
                self.len += 1;
                return;
            }
            h = (h + 1) & mask;
        }
    }
    fn grow(&mut self) {
        let cap = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![(Self::EMPTY, 0); cap]);
        self.len = 0;
        for (k, v) in old {
            if k != Self::EMPTY {
                self.add(k, v);
            }
        }
    }
    /// The (key, sum) pairs sorted by key, in the table's own memory.
    fn into_sorted(self) -> Vec<(u32, u32)> {
        let mut s = self.slots;
        s.retain(|e| e.0 != Self::EMPTY);
        s.sort_unstable_by_key(|e| e.0);
        s.shrink_to_fit();
        s
    }
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
        let mut funcs = Funcs { base: &p.functions, base_pkg: &pkg, extra: vec![], extra_pkg: vec![], recorded_idle: false };
        let (at, hit, rs, rh) = initial_weights(&p, None);
        let s0 = Stacks { t: std::borrow::Cow::Owned(p.samples.as_ref().unwrap().stacks.clone()), at, hit, root_self: rs, root_hit: rh };
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
            let mut funcs = Funcs { base: &p.functions, base_pkg: &pkg, extra: vec![], extra_pkg: vec![], recorded_idle: false };
            let (sv, stats) = build_view(&p, None, &[], &mut funcs).unwrap();
            assert_eq!(matches!(sv.w, Weights::Prefix(_)), !frac);
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
                let e = sv.edges(a as usize, false).find(|e| e.0 == c).unwrap();
                if frac {
                    assert!((e.1 - w).abs() <= 1e-9 * w.abs().max(1.0), "{a}->{c}: {} vs {w}", e.1);
                } else {
                    assert_eq!(e.1.to_bits(), w.to_bits(), "{a}->{c}");
                }
                got += 1;
            }
            assert_eq!(got, (0..7).map(|f| sv.edges(f, false).count()).sum::<usize>());
        }
    }

}
