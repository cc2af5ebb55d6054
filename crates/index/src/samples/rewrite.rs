//! The stack-rewriting transforms: each operation maps the nodes of a weighted stack table to
//! the nodes of a new table (or drops them), and moves the self weights along.

use std::borrow::Cow;

use profview_model::{Profile, StackTable, ThreadId, NO_PARENT};
use rustc_hash::FxHashMap;

use super::{Funcs, RECORDED_IDLE_FRAME};
use crate::classify::{site_package_name, Package};
use crate::transform::{is_idle_name, GroupBy, Op};

// An operation maps each input node to a node of the new table or to one of these marks.

/// Sample goes to the root (empty stack).
const TO_ROOT: u32 = u32::MAX;
/// Sample is dropped; children are dropped too.
const DROPPED: u32 = u32::MAX - 1;
/// Focus not reached yet: samples are dropped, children may still match.
const AWAITING_FOCUS: u32 = u32::MAX - 2;

/// A stack table with per-node weights, the unit every transform rewrites. The first
/// operation reads the profile's own table (borrowed, not copied).
#[derive(Clone, Debug, Default)]
pub(crate) struct WeightedStacks<'a> {
    /// The table (the profile's own, borrowed, until an operation rewrites it).
    pub table: Cow<'a, StackTable>,
    /// Weight of samples ending at the node.
    pub self_weight: Vec<f64>,
    /// A sample ends at the node (weights may sum to 0).
    pub has_self: Vec<bool>,
    /// Weight of samples with an empty stack.
    pub root_self: f64,
    /// Some sample has an empty stack.
    pub root_has_self: bool,
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
#[mutants::skip] // mutants: hash mixing; the table compares the real keys, so a worse hash is only slower
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
    /// The node `func` under `parent` (`TO_ROOT` = a root frame).
    fn child(&mut self, parent: u32, func: u32) -> u32 {
        let p = if parent == TO_ROOT { NO_PARENT } else { parent };
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
        (node < AWAITING_FOCUS).then(|| self.out.func[node as usize].0)
    }
    /// Moves the weights along `map` and returns the new stacks.
    fn finish(self, s: &WeightedStacks<'_>, map: &[u32]) -> WeightedStacks<'static> {
        let Rebuild { mut out, intern } = self;
        drop(intern);
        out.parent.shrink_to_fit();
        out.func.shrink_to_fit();
        let n = out.len();
        let mut at = vec![0.0; n];
        let mut hit = vec![false; n];
        let (mut rs, mut rh) = (s.root_self, s.root_has_self);
        for (i, &m) in map.iter().enumerate() {
            if !s.has_self[i] {
                continue;
            }
            if m == TO_ROOT {
                rs += s.self_weight[i];
                rh = true;
            } else if m < AWAITING_FOCUS {
                at[m as usize] += s.self_weight[i];
                hit[m as usize] = true;
            }
        }
        WeightedStacks { table: Cow::Owned(out), self_weight: at, has_self: hit, root_self: rs, root_has_self: rh }
    }
}

fn parent_map(map: &[u32], t: &StackTable, i: usize) -> u32 {
    let p = t.parent[i];
    if p == NO_PARENT {
        TO_ROOT
    } else {
        map[p as usize]
    }
}

/// Applies one stack-rewriting operation.
pub(crate) fn apply(op: &Op, s: &WeightedStacks<'_>, funcs: &mut Funcs<'_>) -> Result<WeightedStacks<'static>, String> {
    let t: &StackTable = &s.table;
    let n = t.len();
    let mut rb = Rebuild::new(n);
    let mut map = vec![DROPPED; n];
    // Focus drops samples with an empty stack (they never reach the focus).
    let drop_root = matches!(op, Op::Focus(_) | Op::FocusPath(_));
    match op {
        Op::Hide(m) => {
            let mask = funcs.mask(m);
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let f = t.func[i].0;
                map[i] = if pm == DROPPED {
                    DROPPED
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
                map[i] = if pm == DROPPED || mask[f as usize] { DROPPED } else { rb.child(pm, f) };
            }
        }
        Op::Focus(g) => {
            for i in 0..n {
                let f = t.func[i].0;
                let pm = if t.parent[i] == NO_PARENT { AWAITING_FOCUS } else { map[t.parent[i] as usize] };
                map[i] = if pm == AWAITING_FOCUS {
                    if f == g.0 {
                        rb.child(TO_ROOT, f)
                    } else {
                        AWAITING_FOCUS
                    }
                } else if pm == DROPPED {
                    DROPPED
                } else {
                    rb.child(pm, f)
                };
            }
            // Samples that never reach the focus are dropped (AWAITING_FOCUS is not moved by `finish`).
        }
        Op::FocusPath(path) => {
            let last = path.len() - 1;
            let depth = t.depths();
            for i in 0..n {
                let f = t.func[i].0;
                let d = depth[i] as usize;
                let pm = if t.parent[i] == NO_PARENT { AWAITING_FOCUS } else { map[t.parent[i] as usize] };
                map[i] = if pm == AWAITING_FOCUS {
                    if d <= last && path[d].0 == f {
                        if d == last {
                            rb.child(TO_ROOT, f)
                        } else {
                            AWAITING_FOCUS
                        }
                    } else {
                        DROPPED
                    }
                } else if pm == DROPPED {
                    DROPPED
                } else {
                    rb.child(pm, f)
                };
            }
        }
        Op::CollapseDirectRecursion => {
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let f = t.func[i].0;
                map[i] = if pm == DROPPED {
                    DROPPED
                } else if rb.func_of(pm) == Some(f) {
                    pm
                } else {
                    rb.child(pm, f)
                };
            }
        }
        Op::CollapseRecursionOf(g) => {
            // anc[i]: the new node of the nearest `g` on the rewritten path of input node i.
            let mut anc = vec![DROPPED; n];
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let pa = if t.parent[i] == NO_PARENT { DROPPED } else { anc[t.parent[i] as usize] };
                let f = t.func[i].0;
                map[i] = if pm == DROPPED {
                    DROPPED
                } else if f == g.0 && pa != DROPPED {
                    pa
                } else {
                    rb.child(pm, f)
                };
                anc[i] = if f == g.0 && map[i] != DROPPED { map[i] } else { pa };
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
                let file = f.file.clone();
                let target = match (by, pkg) {
                    (GroupBy::Package, Package::User) => None,
                    (GroupBy::Package, Package::Stdlib) => Some(("[stdlib]".to_owned(), String::new(), pkg)),
                    (GroupBy::Package, Package::Builtin) => Some(("[builtin]".to_owned(), String::new(), pkg)),
                    (GroupBy::Package, Package::Native) => Some(("[native]".to_owned(), String::new(), pkg)),
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
                        gmap.push(funcs.synthetic(gname, gfile, gpkg, &mut cache));
                        synth.push(true);
                    }
                }
            }
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                let fo = t.func[i].0 as usize;
                let gf = gmap[fo];
                map[i] = if pm == DROPPED {
                    DROPPED
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
            let mut out = WeightedStacks {
                table: Cow::Owned(StackTable::clone(&s.table)),
                self_weight: s.self_weight.clone(),
                has_self: s.has_self.clone(),
                root_self: s.root_self,
                root_has_self: s.root_has_self,
            };
            for i in 0..n {
                if idle[t.func[i].idx()] {
                    out.self_weight[i] = 0.0;
                    out.has_self[i] = false;
                }
            }
            return Ok(out);
        }
        Op::Depth(d) => {
            let depth = t.depths();
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                map[i] = if pm == DROPPED {
                    DROPPED
                } else if depth[i] >= *d {
                    pm
                } else {
                    rb.child(pm, t.func[i].0)
                };
            }
        }
        Op::Threshold(pct) => {
            let incl = inclusive(t, &s.self_weight);
            let total: f64 = s.self_weight.iter().sum::<f64>() + s.root_self;
            let cut = total.abs() * pct / 100.0;
            for i in 0..n {
                let pm = parent_map(&map, t, i);
                map[i] = if pm == DROPPED {
                    DROPPED
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
        out.root_has_self = false;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::parse;
    use profview_model::{Dialect, SampleBuilder, Unit};

    fn frames_of(s: &WeightedStacks, i: usize) -> Vec<u32> {
        s.table.frames(profview_model::StackId(i as u32)).iter().map(|f| f.0).collect()
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
        let s0 = WeightedStacks { table: Cow::Owned(p.samples.as_ref().unwrap().stacks.clone()), self_weight: at, has_self: hit, root_self: rs, root_has_self: rh };
        let leaf = |s: &WeightedStacks| s.has_self.iter().position(|&h| h).unwrap();
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
        assert_eq!(s5.self_weight.iter().sum::<f64>(), 5.0);
    }
}
