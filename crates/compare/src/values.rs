//! Per-function numbers of one profile, and the union of functions over many.

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use profview_api::Metric;
use profview_model::{Format, Function, Profile, Unit};

/// What a profile's numbers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Deterministic: calls and times (`ncalls`, `primcalls`, `tottime`, `cumtime`).
    Pstats,
    /// Statistical: sample weights (`self`, `total`).
    Samples,
}

impl Kind {
    /// The fields of this kind, in wire order.
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            Kind::Pstats => Metric::PSTATS,
            Kind::Samples => Metric::SAMPLES,
        }
    }
    /// The field whose difference is the headline (sorting, the diff views' colour).
    pub fn primary(self) -> Metric {
        match self {
            Kind::Pstats => Metric::Tottime,
            Kind::Samples => Metric::SelfWeight,
        }
    }
    /// `pstats` or `samples`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pstats => "pstats",
            Kind::Samples => "samples",
        }
    }
}

/// Up to four numbers of a function, in the order of [`Kind::metrics`].
pub type Vals = [f64; 4];

/// Position of a metric in [`Vals`].
pub fn slot(m: Metric) -> usize {
    match m {
        Metric::Ncalls | Metric::SelfWeight => 0,
        Metric::Primcalls | Metric::TotalWeight => 1,
        Metric::Tottime => 2,
        Metric::Cumtime => 3,
    }
}

/// A function's identity across profiles: pstats' `(file, line, name)` key, or the frame of a
/// sampled profile.
fn key_hash(f: &Function) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    f.file.hash(&mut h);
    f.line.hash(&mut h);
    f.name.hash(&mut h);
    h.finish()
}

fn same(a: &Function, b: &Function) -> bool {
    a.line == b.line && a.name == b.name && a.file == b.file
}

/// One profile reduced to its per-function numbers.
#[derive(Clone, Debug)]
pub struct ProfileValues {
    /// Its kind.
    pub kind: Kind,
    /// Unit of the times or weights.
    pub unit: Unit,
    /// pstats: total time; samples: total weight.
    pub total: f64,
    /// pstats: total calls (the `total` normalization of call counts); samples: 0.
    pub total_calls: f64,
    /// Samples: how many samples one unit of weight is (1 when the unit is samples; for weights
    /// in time, the number of sample records over the total weight). The binomial test counts.
    pub samples_per_unit: f64,
    /// Functions with their numbers, in the profile's order.
    pub rows: Vec<(Function, Vals)>,
}

/// Why profiles cannot be compared.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareError(pub String);

impl std::fmt::Display for CompareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CompareError {}

/// The per-function numbers of a profile: pstats' own for a pstats profile; for a sampled one,
/// each function's self weight (samples whose leaf it is) and total weight (samples whose stack
/// holds it, once per sample however often it recurs).
pub fn values_of(p: &Profile) -> ProfileValues {
    if p.format == Format::Pstats {
        if let Some(ps) = &p.pstats {
            let rows = p
                .functions
                .iter()
                .zip(&ps.stats)
                .filter_map(|(f, s)| {
                    s.map(|s| (f.clone(), [s.ncalls as f64, s.primcalls as f64, s.tottime, s.cumtime]))
                })
                .collect();
            return ProfileValues {
                kind: Kind::Pstats,
                unit: p.unit,
                total: ps.total_time,
                total_calls: ps.total_calls as f64,
                samples_per_unit: 0.0,
                rows,
            };
        }
    }
    let nf = p.functions.len();
    let mut own = vec![0.0f64; nf];
    let mut incl = vec![0.0f64; nf];
    let mut total = 0.0;
    let mut records = 0u64;
    if let Some(sd) = &p.samples {
        // Weight per stack node first, then one walk up from each weighted node.
        let nodes = sd.stacks.func.len();
        let mut node_w = vec![0.0f64; nodes];
        for s in &sd.samples {
            if let Some(w) = node_w.get_mut(s.node as usize) {
                *w += s.weight;
                total += s.weight;
                records += 1;
            }
        }
        let mut stamp = vec![u32::MAX; nf];
        for (n, &w) in node_w.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let leaf = sd.stacks.func[n].0 as usize;
            if let Some(o) = own.get_mut(leaf) {
                *o += w;
            }
            let mut cur = n as u32;
            let mut steps = 0usize;
            while (cur as usize) < nodes && steps <= nodes {
                let f = sd.stacks.func[cur as usize].0 as usize;
                if f < nf && stamp[f] != n as u32 {
                    stamp[f] = n as u32;
                    incl[f] += w;
                }
                cur = sd.stacks.parent[cur as usize];
                steps += 1;
            }
        }
    }
    let rows = p
        .functions
        .iter()
        .enumerate()
        .filter(|&(i, _)| own[i] != 0.0 || incl[i] != 0.0)
        .map(|(i, f)| (f.clone(), [own[i], incl[i], 0.0, 0.0]))
        .collect();
    let samples_per_unit = if p.unit == Unit::Samples || total <= 0.0 { 1.0 } else { records as f64 / total };
    ProfileValues { kind: Kind::Samples, unit: p.unit, total, total_calls: 0.0, samples_per_unit, rows }
}

/// The union of the functions of many profiles, in first-seen order.
#[derive(Clone, Debug, Default)]
pub struct Union {
    /// Every function once.
    pub funcs: Vec<Function>,
    table: HashTable<u32>,
}

impl Union {
    /// The union of the functions of these profiles, in first-seen order.
    pub fn of(set: &[&ProfileValues]) -> Union {
        let mut u = Union::default();
        for p in set {
            for (f, _) in &p.rows {
                u.intern(f);
            }
        }
        u
    }

    /// The union id of a function, adding it when new.
    pub fn intern(&mut self, f: &Function) -> u32 {
        let h = key_hash(f);
        let funcs = &self.funcs;
        if let Some(&i) = self.table.find(h, |&i| same(&funcs[i as usize], f)) {
            return i;
        }
        let i = self.funcs.len() as u32;
        self.funcs.push(f.clone());
        let funcs = &self.funcs;
        self.table.insert_unique(h, i, |&j| key_hash(&funcs[j as usize]));
        i
    }
    /// The union id of a function, if it is in the union.
    pub fn find(&self, f: &Function) -> Option<u32> {
        self.table.find(key_hash(f), |&i| same(&self.funcs[i as usize], f)).copied()
    }
    /// Number of functions.
    pub fn len(&self) -> usize {
        self.funcs.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }
}

/// Numbers of a set of profiles over a union: for each function `f`, one `Vals` per profile
/// (absent = zeros), laid out flat (`row(f)`), plus presence counts.
#[derive(Clone, Debug)]
pub struct Matrix {
    /// Number of profiles.
    pub profiles: usize,
    vals: Vec<Vals>,
    /// Per union function: in how many profiles it appears.
    pub present: Vec<u64>,
}

impl Matrix {
    /// Lays the profiles' numbers out over `union` (which must hold all their functions).
    pub fn new(union: &Union, set: &[&ProfileValues]) -> Matrix {
        let np = set.len();
        let mut vals = vec![[0.0; 4]; union.len() * np];
        let mut present = vec![0u64; union.len()];
        for (pi, p) in set.iter().enumerate() {
            for (f, v) in &p.rows {
                if let Some(u) = union.find(f) {
                    let u = u as usize;
                    let cell = &mut vals[u * np + pi];
                    if *cell == [0.0; 4] {
                        present[u] += 1;
                    }
                    // A function twice in one profile (not in pstats; a sampled profile may
                    // repeat a frame) adds up.
                    for k in 0..4 {
                        cell[k] += v[k];
                    }
                }
            }
        }
        Matrix { profiles: np, vals, present }
    }

    /// One function's numbers, one `Vals` per profile in profile order.
    pub fn row(&self, f: usize) -> &[Vals] {
        &self.vals[f * self.profiles..(f + 1) * self.profiles]
    }

    /// Sums over the profiles in the order `pstats.Stats(p0, p1, …, pn)` adds them (`p0`, then
    /// `pn` down to `p1`: `add` walks `reversed(arg_list)`), so pstats sums agree bit for bit.
    pub fn sum(&self, f: usize) -> Vals {
        let row = self.row(f);
        let mut s = [0.0; 4];
        let order = row.iter().take(1).chain(row.iter().skip(1).rev());
        for v in order {
            for k in 0..4 {
                s[k] += v[k];
            }
        }
        s
    }

    /// One field of one function over every profile.
    pub fn column(&self, f: usize, m: Metric) -> Vec<f64> {
        let k = slot(m);
        self.row(f).iter().map(|v| v[k]).collect()
    }
}

/// Checks that every profile is of one kind and unit; returns them.
pub fn common_kind(sets: &[&ProfileValues], names: &[String]) -> Result<(Kind, Unit), CompareError> {
    let Some(first) = sets.first() else {
        return Err(CompareError("no profiles to compare".into()));
    };
    for (i, p) in sets.iter().enumerate() {
        if p.kind != first.kind {
            return Err(CompareError(format!(
                "{} is a {} profile but {} is a {} profile: pstats and sampled profiles cannot be collated or diffed",
                names.get(i).map(String::as_str).unwrap_or("a profile"),
                p.kind.as_str(),
                names.first().map(String::as_str).unwrap_or("the first"),
                first.kind.as_str()
            )));
        }
        if p.unit != first.unit {
            return Err(CompareError(format!(
                "{} counts {} but {} counts {}: profiles of different units cannot be compared",
                names.get(i).map(String::as_str).unwrap_or("a profile"),
                p.unit.as_str(),
                names.first().map(String::as_str).unwrap_or("the first"),
                first.unit.as_str()
            )));
        }
    }
    Ok((first.kind, first.unit))
}
