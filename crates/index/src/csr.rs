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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_counts_and_order() {
        // Row 0 holds one item: its second pair comes after row 1's and is dropped.
        let c = Csr::from_counts(&[1, 2, 0], [(1, 20u32), (1, 21), (0, 10), (0, 11), (2, 30), (7, 70)].into_iter());
        assert_eq!(c.slice(0), [10]);
        assert_eq!(c.slice(1), [20, 21]);
        assert_eq!(c.slice(2), [] as [u32; 0]);
        // Past the last row: empty, not a panic.
        assert_eq!(c.slice(3), [] as [u32; 0]);
        assert_eq!(c.slice(9), [] as [u32; 0]);
    }

    #[test]
    fn heap_bytes_counts_both_vectors() {
        let off: Vec<u32> = vec![0, 1, 3];
        let items: Vec<u64> = vec![5, 6, 7];
        let (oc, ic) = (off.capacity(), items.capacity());
        let mut c = Csr::from_parts(off, items);
        assert_eq!(c.heap_bytes(), oc * 4 + ic * 8);
        c.slice_mut(1)[1] = 9;
        assert_eq!(c.slice(1), [6, 9]);
        assert_eq!(c.slice_mut(2), [] as [u64; 0]);
    }
}
