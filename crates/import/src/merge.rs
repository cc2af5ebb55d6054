//! Combining several imported files into one profile.

use profview_model::{
    Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, SampleBuilder,
};

use crate::hash::FxMap;
use crate::pstats::CallerVal;
use crate::{finish, ImportError, ImportWarning, Imported};

pub(crate) fn merge(parts: Vec<(&str, Imported)>) -> Result<Imported, ImportError> {
    let first_format = parts[0].1.profile.format;
    for (name, p) in &parts {
        if p.profile.format != first_format {
            return Err(ImportError::Merge(format!(
                "{name} is {} but {} is {}: files of different formats cannot be combined",
                p.profile.format.as_str(),
                parts[0].0,
                first_format.as_str()
            )));
        }
    }
    let mut warnings = Vec::new();
    for (name, p) in &parts {
        for w in &p.warnings {
            warnings.push(ImportWarning::new(format!("{name}: {w}")));
        }
    }
    if parts[0].1.profile.pstats.is_some() {
        merge_pstats(parts, warnings)
    } else {
        merge_folded(parts, warnings)
    }
}

fn overflow() -> ImportError {
    ImportError::Merge("count out of range: merged counts overflow 64 bits".into())
}

/// `pstats.Stats.add`: element-wise sums of stats and callers, union of keys in first-seen
/// order, totals added file by file.
fn merge_pstats(
    mut parts: Vec<(&str, Imported)>,
    warnings: Vec<ImportWarning>,
) -> Result<Imported, ImportError> {
    // `pstats.Stats(a, b, c)` loads `a`, then adds the rest in reverse (`add` walks
    // `reversed(arg_list)`): a, c, b. The same order gives the same float sums, bit for bit,
    // and the same first-seen order of functions.
    parts[1..].reverse();
    let is_profile = |d: Dialect| d == Dialect::Profile;
    let first_dialect = parts[0].1.profile.dialect;
    for (name, p) in &parts[1..] {
        if is_profile(p.profile.dialect) != is_profile(first_dialect) {
            return Err(ImportError::Merge(format!(
                "{name} was written by the {} module and {} by {}: their caller tables differ \
                 (can only concatenate tuple (not \"int\") to tuple)",
                p.profile.dialect.as_str(),
                parts[0].0,
                first_dialect.as_str()
            )));
        }
    }
    let dialect = if parts
        .iter()
        .any(|(_, p)| p.profile.dialect == Dialect::Yappi)
    {
        Dialect::Yappi
    } else {
        first_dialect
    };
    let mut ids: FxMap<(String, String, i64), FuncId> = FxMap::default();
    let mut functions: Vec<Function> = Vec::new();
    let mut stats: Vec<Option<PstatsStats>> = Vec::new();
    // Per callee: ordered callers.
    let mut callers: Vec<Vec<(FuncId, CallerVal)>> = Vec::new();
    let mut caller_pos: Vec<FxMap<FuncId, usize>> = Vec::new();
    let (mut total_calls, mut prim_calls, mut total_time) = (0u64, 0u64, 0.0f64);
    for (_, part) in &parts {
        let p = &part.profile;
        let Some(ps) = &p.pstats else { continue };
        let mut map: Vec<FuncId> = Vec::with_capacity(p.functions.len());
        for f in &p.functions {
            let key = (f.name.clone(), f.file.clone(), f.line);
            let id = *ids.entry(key).or_insert_with(|| {
                functions.push(f.clone());
                stats.push(None);
                callers.push(Vec::new());
                caller_pos.push(FxMap::default());
                FuncId(functions.len() as u32 - 1)
            });
            map.push(id);
        }
        for (i, s) in ps.stats.iter().enumerate() {
            let Some(s) = s else { continue };
            let t = &mut stats[map[i].idx()];
            *t = Some(match t {
                None => *s,
                Some(o) => PstatsStats {
                    primcalls: o.primcalls.checked_add(s.primcalls).ok_or_else(overflow)?,
                    ncalls: o.ncalls.checked_add(s.ncalls).ok_or_else(overflow)?,
                    tottime: s.tottime + o.tottime,
                    cumtime: s.cumtime + o.cumtime,
                },
            });
        }
        for e in &ps.edges {
            let callee = map[e.callee.idx()];
            let caller = map[e.caller.idx()];
            let v = CallerVal::of(e);
            let list = &mut callers[callee.idx()];
            match caller_pos[callee.idx()].get(&caller) {
                Some(&k) => {
                    list[k].1 = match (list[k].1, v) {
                        (
                            CallerVal::Tuple { nc, cc, tt, ct },
                            CallerVal::Tuple {
                                nc: n2,
                                cc: c2,
                                tt: t2,
                                ct: k2,
                            },
                        ) => CallerVal::Tuple {
                            nc: nc.checked_add(n2).ok_or_else(overflow)?,
                            cc: cc.checked_add(c2).ok_or_else(overflow)?,
                            tt: tt + t2,
                            ct: ct + k2,
                        },
                        (CallerVal::Count(a), CallerVal::Count(b)) => CallerVal::Count(a.checked_add(b).ok_or_else(overflow)?),
                        _ => {
                            return Err(ImportError::Merge(
                                "caller tables of different shapes".into(),
                            ))
                        }
                    }
                }
                None => {
                    caller_pos[callee.idx()].insert(caller, list.len());
                    list.push((caller, v));
                }
            }
        }
        total_calls = total_calls
            .checked_add(ps.total_calls)
            .ok_or_else(overflow)?;
        prim_calls = prim_calls.checked_add(ps.prim_calls).ok_or_else(overflow)?;
        total_time += ps.total_time;
    }
    let mut edges = Vec::new();
    for (callee, list) in callers.into_iter().enumerate() {
        for (caller, v) in list {
            let callee = FuncId(callee as u32);
            edges.push(v.edge(caller, callee));
        }
    }
    let first = &parts[0].1.profile;
    let profile = Profile {
        format: first.format,
        dialect,
        unit: first.unit,
        functions,
        threads: Vec::new(),
        pstats: Some(PstatsData {
            stats,
            edges,
            total_calls,
            prim_calls,
            total_time,
        }),
        samples: None,
        lines_are_current: false,
    };
    finish(profile, warnings)
}

/// Folded: samples concatenated, functions and threads interned by value.
fn merge_folded(
    parts: Vec<(&str, Imported)>,
    warnings: Vec<ImportWarning>,
) -> Result<Imported, ImportError> {
    let first = &parts[0].1.profile;
    let (dialect, unit) = (first.dialect, first.unit);
    for (name, p) in &parts[1..] {
        if p.profile.unit != unit {
            return Err(ImportError::Merge(format!(
                "{name} is measured in {} but {} in {}",
                p.profile.unit.as_str(),
                parts[0].0,
                unit.as_str()
            )));
        }
    }
    let mut b = SampleBuilder::new();
    for (_, part) in &parts {
        let p = &part.profile;
        let Some(s) = &p.samples else { continue };
        let fmap: Vec<FuncId> = p
            .functions
            .iter()
            .map(|f| b.function(&f.name, &f.file, f.line))
            .collect();
        let tmap: Vec<_> = p
            .threads
            .iter()
            .map(|t| b.thread(&t.id, t.name.clone()))
            .collect();
        // Re-intern the stack table node by node (parents precede children).
        let mut nmap = Vec::with_capacity(s.stacks.len());
        for i in 0..s.stacks.len() {
            let par = s.stacks.parent[i];
            let parent = (par != profview_model::NO_PARENT).then(|| nmap[par as usize]);
            nmap.push(b.child(parent, fmap[s.stacks.func[i].idx()]));
        }
        for smp in &s.samples {
            b.add_at(
                smp.stack().map(|st| nmap[st.idx()]),
                tmap[smp.thread.idx()],
                smp.weight,
            );
        }
    }
    let mut dialect = dialect;
    if parts.iter().any(|(_, p)| p.profile.dialect != dialect) {
        dialect = first.dialect;
    }
    // Current lines only when every part has them (a merged Gregg part keeps its functions).
    let lines_are_current = parts.iter().all(|(_, p)| p.profile.lines_are_current);
    let mut merged = b.finish(dialect, unit);
    merged.lines_are_current = lines_are_current;
    // Several speedscope (chrome trace, …) files stay that format; recordings merge into folded
    // samples as before.
    if first.format != Format::Recording {
        merged.format = first.format;
    }
    finish(merged, warnings)
}
