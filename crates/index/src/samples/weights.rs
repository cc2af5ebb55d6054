//! Self and inclusive weights per node, stored compactly.

use profview_model::{Profile, StackTable, NO_PARENT};


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
    pub(super) fn from_dense(at: &[f64], hit: &[bool]) -> Self {
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
    #[mutants::skip] // mutants: a memory estimate for the view cache's budget; no query result depends on it
    pub(super) fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.rank.capacity() * 4 + self.vals.capacity() * 8
    }
}

/// The profile's own self weights for all threads, summed in sample order (as
/// [`initial_weights`] does), without a dense per-node vector. `None` when a stack id is out of
/// range. Returns the weights and the weight of empty-stack samples.
pub(super) fn initial_sparse(p: &Profile, n: usize) -> Option<(SelfWeights, f64)> {
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
pub(super) fn all_live(t: &StackTable, w: &SelfWeights) -> bool {
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
    #[mutants::skip] // mutants: a memory estimate for the view cache's budget; no query result depends on it
    pub(super) fn heap_bytes(&self) -> usize {
        match self {
            Incl::F64(v) => v.capacity() * 8,
            Incl::U32(v) => v.capacity() * 4,
        }
    }
}

/// True when every self weight is a non-negative whole number and their sum is at most
/// `u32::MAX` (see [`Incl`]).
pub(super) fn whole_u32(at: &SelfWeights) -> bool {
    let mut sum = 0u64;
    at.vals.iter().all(|&v| add_whole_u32(&mut sum, v))
}

/// Adds `w` to the running `sum` of whole weights: false when `w` is not a non-negative whole
/// number or the sum passes `u32::MAX` (then the weights are not the whole ones of [`Incl`]).
#[inline]
pub(crate) fn add_whole_u32(sum: &mut u64, w: f64) -> bool {
    if !(w >= 0.0 && w.fract() == 0.0 && w <= u32::MAX as f64) {
        return false;
    }
    *sum += w as u64;
    *sum <= u32::MAX as u64
}

/// Inclusive weight per node from sparse self weights (same sums as [`inclusive`]).
pub(super) fn inclusive_sparse(t: &StackTable, at: &SelfWeights, whole: bool) -> Incl {
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
