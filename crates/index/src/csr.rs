//! Compressed sparse rows: `rows` lists of items in two flat vectors.

/// Row `k` is `items[off[k]..off[k + 1]]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr<T> {
    off: Vec<u32>,
    items: Vec<T>,
}

/// Row offsets for per-row item counts (`rows + 1` entries, saturating at `u32::MAX`).
pub(crate) fn row_offsets(counts: &[u32]) -> Vec<u32> {
    let mut off = Vec::with_capacity(counts.len() + 1);
    let mut acc: u64 = 0;
    off.push(0u32);
    for &c in counts {
        acc += c as u64;
        off.push(acc.min(u32::MAX as u64) as u32);
    }
    off
}

impl<T: Copy + Default> Csr<T> {
    /// Builds from the number of items per row and `(row, item)` pairs (kept in iteration order
    /// within a row). Pairs beyond a row's count are ignored.
    pub fn from_counts(counts: &[u32], items: impl Iterator<Item = (usize, T)>) -> Self {
        let off = row_offsets(counts);
        let total = *off.last().unwrap_or(&0) as usize;
        let mut fill: Vec<u32> = off[..counts.len()].to_vec();
        let mut out = vec![T::default(); total];
        for (row, it) in items {
            if row >= counts.len() {
                continue;
            }
            let pos = fill[row];
            if pos < off[row + 1] {
                out[pos as usize] = it;
                fill[row] += 1;
            }
        }
        Csr { off, items: out }
    }
}

impl<T> Csr<T> {
    /// From row offsets (`rows + 1` entries, non-decreasing, last = `items.len()`) and items.
    pub fn from_parts(off: Vec<u32>, items: Vec<T>) -> Self {
        debug_assert!(off.last().map_or(items.is_empty(), |&e| e as usize == items.len()));
        Csr { off, items }
    }
    /// Items of row `k` (empty when out of range).
    pub fn slice(&self, k: usize) -> &[T] {
        if k + 1 >= self.off.len() {
            return &[];
        }
        &self.items[self.off[k] as usize..self.off[k + 1] as usize]
    }
    /// Mutable items of row `k`.
    pub fn slice_mut(&mut self, k: usize) -> &mut [T] {
        if k + 1 >= self.off.len() {
            return &mut [];
        }
        let (a, b) = (self.off[k] as usize, self.off[k + 1] as usize);
        &mut self.items[a..b]
    }
    /// Approximate heap size in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.off.capacity() * 4 + self.items.capacity() * std::mem::size_of::<T>()
    }
}
