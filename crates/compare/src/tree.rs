//! The union of two sides' call trees: every path of either, each with its base and new values,
//! so a path that disappeared is still drawn (with a new value of 0).

use std::collections::HashMap;

use profview_api::{DiffNode, DiffTree, Normalize, TreeMode};
use profview_index::{classify_function, Lod, ProfileIndex, TreeQuery};
use profview_model::FuncId;

use crate::values::{CompareError, Union};

/// One side of a tree diff: its index and the factor its values are multiplied by.
pub struct TreeSide<'a> {
    /// The side's profile (a set's summed profile).
    pub index: &'a ProfileIndex,
    /// What its times or weights are divided by (the diff's normalization).
    pub divisor: f64,
}

struct MNode {
    func: Option<u32>,
    base: f64,
    new: f64,
    base_self: f64,
    new_self: f64,
    truncated: bool,
    children: Vec<usize>,
}

/// Parses a `root=` path of union function ids (`"3.17.4"`; empty = the whole tree).
pub fn parse_root(s: &str) -> Result<Vec<u32>, CompareError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split('.')
        .map(|p| p.parse::<u32>().map_err(|_| CompareError(format!("root must be function ids joined by '.', not {s:?}"))))
        .collect()
}

/// The tree slice of the union of both sides under `root` (union ids), at `lod`. `significant`
/// (per union function, from the diff's test) marks each node's function as within the noise or not.
#[allow(clippy::too_many_arguments)] // the two sides, the slice's place and shape, and the diff's test
pub fn diff_tree(
    union: &Union,
    base: &TreeSide<'_>,
    new: &TreeSide<'_>,
    mode: TreeMode,
    root: &[u32],
    lod: Lod,
    normalize: Normalize,
    significant: Option<&[bool]>,
) -> Result<DiffTree, CompareError> {
    if let Some(bad) = root.iter().find(|&&u| u as usize >= union.len()) {
        return Err(CompareError(format!("no function {bad} in this comparison")));
    }
    let mut nodes = vec![MNode { func: None, base: 0.0, new: 0.0, base_self: 0.0, new_self: 0.0, truncated: false, children: Vec::new() }];
    let mut child_of: HashMap<(usize, Option<u32>), usize> = HashMap::new();
    let mut estimated = false;
    for (is_new, side) in [(false, base), (true, new)] {
        // Compared functions are the producer's (values.rs): one per line for py-spy and austin,
        // so the tree is the line-level one too.
        let idx = side.index.by_line();
        let funcs = &idx.profile().functions;
        let to_union: Vec<Option<u32>> = funcs.iter().map(|f| union.find(f)).collect();
        let mut from_union: HashMap<u32, u32> = HashMap::new();
        for (i, u) in to_union.iter().enumerate() {
            if let Some(u) = u {
                from_union.entry(*u).or_insert(i as u32);
            }
        }
        let Some(side_root) = root.iter().map(|u| from_union.get(u).map(|&f| FuncId(f))).collect::<Option<Vec<_>>>() else {
            continue; // the path does not exist on this side
        };
        let v = idx.default_view();
        let q = TreeQuery { mode, root: side_root, lod: Lod { min_frac: lod.min_frac / 4.0, max_nodes: lod.max_nodes } };
        let slice = match idx.tree(&v, &q) {
            Ok(s) => s,
            // A path that is not a path of this side's tree: nothing on this side.
            Err(_) => continue,
        };
        estimated |= slice.estimated;
        let mut at: Vec<usize> = Vec::with_capacity(slice.nodes.len());
        for (i, n) in slice.nodes.iter().enumerate() {
            let m = if i == 0 {
                0
            } else {
                let parent = n.parent.map(|p| at[p as usize]).unwrap_or(0);
                let key = (parent, n.func.and_then(|f| to_union.get(f as usize).copied().flatten()));
                match child_of.get(&key) {
                    Some(&c) => c,
                    None => {
                        nodes.push(MNode { func: key.1, base: 0.0, new: 0.0, base_self: 0.0, new_self: 0.0, truncated: false, children: Vec::new() });
                        let c = nodes.len() - 1;
                        nodes[parent].children.push(c);
                        child_of.insert(key, c);
                        c
                    }
                }
            };
            at.push(m);
            let node = &mut nodes[m];
            let d = if side.divisor == 0.0 { f64::INFINITY } else { side.divisor };
            let (t, s) = (n.total / d, n.self_value / d);
            if is_new {
                node.new += t;
                node.new_self += s;
            } else {
                node.base += t;
                node.base_self += s;
            }
            node.truncated |= n.truncated;
        }
    }
    if nodes[0].func.is_none() && !root.is_empty() {
        nodes[0].func = root.last().copied();
    }
    // Parents first, heaviest children first, within the node budget; small children merge.
    let weight = |n: &MNode| n.base.abs() + n.new.abs();
    let floor = lod.min_frac * weight(&nodes[0]);
    let mut out: Vec<DiffNode> = Vec::new();
    let mut queue: std::collections::VecDeque<(usize, Option<u32>, String, u32)> = std::collections::VecDeque::new();
    let root_path: String = root.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(".");
    queue.push_back((0, None, root_path, 0));
    let budget = lod.max_nodes.max(1);
    while let Some((m, parent, path, depth)) = queue.pop_front() {
        if out.len() >= budget {
            if let Some(p) = parent {
                out[p as usize].truncated = true;
            }
            continue;
        }
        let id = out.len() as u32;
        let n = &nodes[m];
        let (name, file, line, package) = match n.func {
            Some(u) => {
                let f = &union.funcs[u as usize];
                (f.name.clone(), f.file.clone(), f.line, Some(classify_function(&f.name, &f.file)))
            }
            None if m == 0 => ("all".to_owned(), String::new(), 0, None),
            None => ("other".to_owned(), String::new(), 0, None),
        };
        out.push(DiffNode {
            id,
            parent,
            func: n.func,
            name,
            file,
            line,
            path: path.clone(),
            depth,
            base: n.base,
            new: n.new,
            base_self: n.base_self,
            new_self: n.new_self,
            truncated: n.truncated,
            package,
            significant: n.func.and_then(|u| significant.and_then(|s| s.get(u as usize).copied())),
        });
        let mut kids = n.children.clone();
        kids.sort_by(|&a, &b| weight(&nodes[b]).total_cmp(&weight(&nodes[a])));
        let mut small = 0usize;
        for c in kids {
            if weight(&nodes[c]) < floor {
                small += 1;
                continue;
            }
            let cpath = match nodes[c].func {
                Some(u) if path.is_empty() => u.to_string(),
                Some(u) => format!("{path}.{u}"),
                None => path.clone(),
            };
            queue.push_back((c, Some(id), cpath, depth + 1));
        }
        if small > 0 {
            out[id as usize].truncated = true;
        }
    }
    Ok(DiffTree {
        mode,
        unit: base.index.profile().unit.as_str().to_owned(),
        normalize,
        estimated,
        nodes: out,
    })
}
