//! Pre-order stack tables: every subtree a contiguous range of node ids starting at its root,
//! children in function order. Whole-weight views on such a table need no children lists.

use profview_model::{Profile, StackTable, NO_PARENT};

use super::view::Ends;

/// Tables at or above this many nodes keep the CSR children (pre-order ids use bit 31).
pub(super) const PRE_MAX: usize = 1 << 31;

/// Subtree ends of a pre-order table (the end of a node's last child; children follow their
/// parent).
pub(super) fn ends_of(t: &StackTable) -> Ends {
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
/// and all sums are unchanged. Returns true when the table is in pre-order afterwards (it was,
/// or it was renumbered).
pub(crate) fn preorder_profile(p: &mut Profile) -> bool {
    let Some(sd) = p.samples.as_mut() else { return false };
    let n = sd.stacks.len();
    let mut sum = 0u64;
    for s in &sd.samples {
        if !super::add_whole_u32(&mut sum, s.weight) || s.stack().is_some_and(|st| st.idx() >= n) {
            return false;
        }
    }
    if n >= PRE_MAX {
        return false;
    }
    if is_preorder(&sd.stacks) {
        return true;
    }
    let Some(perm) = to_preorder(&mut sd.stacks) else { return false };
    for s in sd.samples.iter_mut() {
        if let Some(st) = s.stack() {
            s.node = perm[st.idx()];
        }
    }
    true
}

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
/// the 4-byte map and one new column (4 bytes per node) at a time.
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
    // permutation's cycles in place), one column at a time so that only one old column and
    // one new one live at once: 4 bytes per node less at the peak than both at once.
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
