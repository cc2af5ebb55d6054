//! Functions, not lines: py-spy, austin and Tachyon write the line each frame was executing, so
//! one Python function is one function per line seen in the profile. [`group_by_function`]
//! makes one function per (name, file) — its line the lowest seen — and rebuilds the stack table
//! so that siblings which now share a function are one node; samples follow their nodes and are
//! summed per (node, thread) again. One pass over functions, nodes and samples.
//!
//! Names of these producers are qualified (`JSONEncoder.encode`), so (name, file) is one
//! function; two lambdas (or two nested functions of one name) in one file become one row.

use std::sync::{Mutex, OnceLock};

use rustc_hash::FxHashMap as HashMap;

use profview_model::{FuncId, Function, Profile, Sample, SampleData, StackTable, NO_PARENT, NO_STACK};

use crate::{lock, Csr, ProfileIndex, QueryError, Selection};

/// A line-level profile grouped by function.
pub struct Grouped {
    /// The grouped profile (same threads, same total, `lines_are_current` kept).
    pub profile: Profile,
    /// For every line-level function, its grouped function.
    pub group_of: Vec<FuncId>,
}

/// Groups the functions of a sampled profile by (name, file). `None` when the profile has no
/// samples or pstats data (whose functions are definitions, never grouped).
pub fn group_by_function(p: &Profile) -> Option<Grouped> {
    let sd = p.samples.as_ref()?;
    if p.pstats.is_some() {
        return None;
    }
    let mut ids: HashMap<(&str, &str), u32> = HashMap::with_capacity_and_hasher(p.functions.len(), Default::default());
    let mut functions: Vec<Function> = Vec::new();
    let mut group_of = Vec::with_capacity(p.functions.len());
    for f in &p.functions {
        let g = *ids.entry((f.name.as_str(), f.file.as_str())).or_insert_with(|| {
            functions.push(Function { name: f.name.clone(), file: f.file.clone(), line: f.line });
            (functions.len() - 1) as u32
        });
        let line = &mut functions[g as usize].line;
        // The lowest line seen; 0 (unknown) only when no line is known.
        if f.line > 0 {
            *line = if *line > 0 { (*line).min(f.line) } else { f.line };
        }
        group_of.push(FuncId(g));
    }
    drop(ids);
    let t = &sd.stacks;
    let mut parent = Vec::with_capacity(t.len());
    let mut func = Vec::with_capacity(t.len());
    let mut node_of = Vec::with_capacity(t.len());
    let mut children: HashMap<(u32, u32), u32> = HashMap::with_capacity_and_hasher(t.len(), Default::default());
    for i in 0..t.len() {
        let par = t.parent[i];
        let np = if par == NO_PARENT { NO_PARENT } else { node_of[par as usize] };
        let g = group_of[t.func[i].idx()];
        let n = *children.entry((np, g.0)).or_insert_with(|| {
            parent.push(np);
            func.push(g);
            (func.len() - 1) as u32
        });
        node_of.push(n);
    }
    drop(children);
    let mut samples: Vec<Sample> = Vec::with_capacity(sd.samples.len());
    let mut at: HashMap<(u32, u32), usize> = HashMap::with_capacity_and_hasher(sd.samples.len(), Default::default());
    for s in &sd.samples {
        let node = if s.node == NO_STACK { NO_STACK } else { node_of[s.node as usize] };
        match at.entry((node, s.thread.0)) {
            std::collections::hash_map::Entry::Occupied(e) => samples[*e.get()].weight += s.weight,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(samples.len());
                samples.push(Sample { node, thread: s.thread, weight: s.weight });
            }
        }
    }
    let profile = Profile {
        format: p.format,
        dialect: p.dialect,
        unit: p.unit,
        functions,
        threads: p.threads.clone(),
        pstats: None,
        samples: Some(SampleData { stacks: StackTable { parent, func }, samples }),
        lines_are_current: p.lines_are_current,
    };
    Some(Grouped { profile, group_of })
}

/// The line-level side of a grouped index: the line-level profile as imported (kept: its stack
/// table and samples, about as big as the grouped ones), its index only once asked for
/// (`by=line`, a lines breakdown), and each grouped function's line-level functions.
pub(crate) struct LineLevel {
    raw: Mutex<Option<Profile>>,
    index: OnceLock<Box<ProfileIndex>>,
    /// Grouped function → its line-level functions, by line.
    members: Csr<u32>,
}

impl LineLevel {
    pub(crate) fn new(raw: Profile, group_of: &[FuncId], groups: usize) -> Self {
        let mut counts = vec![0u32; groups];
        for g in group_of {
            counts[g.idx()] += 1;
        }
        let mut members = Csr::from_counts(&counts, group_of.iter().enumerate().map(|(f, g)| (g.idx(), f as u32)));
        for g in 0..groups {
            members.slice_mut(g).sort_by_key(|&f| (raw.functions[f as usize].line, f));
        }
        LineLevel { raw: Mutex::new(Some(raw)), index: OnceLock::new(), members }
    }
}

/// One line of a function: its line-level function's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineStats {
    /// The line (0 when unknown).
    pub line: i64,
    /// The line-level function (an id of [`ProfileIndex::by_line`]'s table).
    pub func: FuncId,
    /// Self weight (samples) or tottime (pstats).
    pub self_value: f64,
    /// Total weight, each sample once per stack (samples) or cumtime (pstats).
    pub total: f64,
}

impl ProfileIndex {
    /// True when this index groups a line-level profile by function (py-spy, austin, Tachyon).
    pub fn groups_lines(&self) -> bool {
        self.lines.is_some()
    }

    /// The index with one function per line (`by=line`): built on first use from the kept
    /// line-level profile; this index itself when its functions are not grouped.
    pub fn by_line(&self) -> &ProfileIndex {
        match &self.lines {
            None => self,
            Some(l) => l.index.get_or_init(|| {
                let raw = lock(&l.raw).take().unwrap_or_else(|| empty_like(self.profile()));
                Box::new(ProfileIndex::build_plain(raw))
            }),
        }
    }

    /// The line-level functions of a function, by line (the function itself when not grouped).
    pub fn line_functions(&self, id: FuncId) -> Vec<FuncId> {
        match &self.lines {
            Some(l) => l.members.slice(id.idx()).iter().map(|&f| FuncId(f)).collect(),
            None => vec![id],
        }
    }

    /// A function's lines with their numbers under the selection's thread (transforms are not
    /// applied: their function ids name the grouped functions). One row, the function's own
    /// line and numbers under the whole selection, when the functions are not grouped.
    pub fn function_lines(&self, sel: &Selection, id: FuncId) -> Result<Vec<LineStats>, QueryError> {
        if self.lines.is_none() {
            let v = self.view(sel)?;
            let f = self.function_in(&v, id).ok_or_else(|| QueryError::NotFound(format!("no function {}", id.0)))?;
            let s = self.stats_in(&v, id).unwrap_or_default();
            return Ok(vec![LineStats { line: f.line, func: id, self_value: s.own(), total: s.inclusive() }]);
        }
        if id.idx() >= self.functions().len() {
            return Err(QueryError::NotFound(format!("no function {}", id.0)));
        }
        let li = self.by_line();
        let v = li.view(&Selection { thread: sel.thread, tf: String::new() })?;
        let mut out: Vec<LineStats> = self
            .line_functions(id)
            .into_iter()
            .filter_map(|f| {
                let s = li.stats_in(&v, f)?;
                let line = li.functions().get(f.idx())?.line;
                Some(LineStats { line, func: f, self_value: s.own(), total: s.inclusive() })
            })
            .collect();
        out.sort_by_key(|r| (r.line, r.func));
        Ok(out)
    }
}

/// A profile with the same header and no functions or samples (stands in for a line-level
/// profile that is gone, which cannot happen: it is taken once, inside `OnceLock::get_or_init`).
fn empty_like(p: &Profile) -> Profile {
    Profile {
        format: p.format,
        dialect: p.dialect,
        unit: p.unit,
        functions: Vec::new(),
        threads: p.threads.clone(),
        pstats: None,
        samples: Some(SampleData::default()),
        lines_are_current: p.lines_are_current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use profview_model::{Dialect, SampleBuilder, Unit};

    #[test]
    fn siblings_that_share_a_function_merge_and_weights_follow() {
        let mut b = SampleBuilder::new();
        let t = b.thread("1", None);
        let main = b.function("main", "a.py", 3);
        let w10 = b.function("work", "a.py", 10);
        let w12 = b.function("work", "a.py", 12);
        let w8 = b.function("work", "a.py", 8);
        let other = b.function("work", "b.py", 1);
        b.add_sample(&[main, w10], t, 2.0);
        b.add_sample(&[main, w12], t, 3.0);
        b.add_sample(&[main, w12, w8], t, 1.0);
        b.add_sample(&[main, other], t, 4.0);
        let mut p = b.finish(Dialect::PySpy, Unit::Samples);
        p.lines_are_current = true;
        let g = group_by_function(&p).unwrap();
        assert!(g.profile.check_valid().is_ok());
        assert_eq!(g.profile.functions.len(), 3);
        let work = g.group_of[w10.idx()];
        assert_eq!(g.group_of[w12.idx()], work);
        assert_eq!(g.group_of[w8.idx()], work);
        assert_ne!(g.group_of[other.idx()], work);
        assert_eq!(g.profile.func(work).line, 8);
        let sd = g.profile.samples.as_ref().unwrap();
        // main, main;work, main;work;work, main;work(b.py)
        assert_eq!(sd.stacks.len(), 4);
        assert_eq!(sd.samples.len(), 3);
        assert_eq!(sd.total(), 10.0);
        let leaf_work = sd.samples.iter().find(|s| sd.stacks.frames(s.stack().unwrap()) == vec![g.group_of[main.idx()], work]);
        assert_eq!(leaf_work.map(|s| s.weight), Some(5.0));
    }
}
