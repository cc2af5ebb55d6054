//! A small, fast, non-cryptographic hasher (the rustc "Fx" hash) for interning tables.
//! Inputs are untrusted, but the tables are only keyed by data the user loaded themselves
//! (no remote party can pick keys to attack a server-side table), so HashDoS is not a concern.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    #[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    #[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    #[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    #[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    #[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    #[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
    fn finish(&self) -> u64 {
        // Final avalanche so the low bits that hashbrown uses are well mixed.
        let h = self.hash;
        (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Hashes a byte string (the Fx word loop plus the final mix of [`FxHasher::finish`]).
#[inline]
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(b);
    h.finish()
}

/// Hashes a pair of ids.
#[inline]
#[mutants::skip] // mutants: hash mixing; every table compares the real keys, so a worse hash is only slower
pub(crate) fn hash_pair(a: u32, b: u32) -> u64 {
    let x = ((a as u64) << 32 | b as u64).wrapping_mul(SEED);
    let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 32)
}

/// An open-addressing (linear probing) set of ids whose keys live elsewhere (in the caller's
/// columns): each slot is one `u32` holding `id + 1` in its low `id_bits` bits and a few bits
/// of the key's hash above them, so a probe touches one cache line and compares the real key
/// only when the hash bits agree. 4 bytes per slot, at most 3/4 full: about 5.3 bytes per
/// member, against 24+ for a `HashMap<(u32, u32), u32>`. The table size follows the number of
/// members, not the largest id (the child table holds a fifth of all stack nodes).
#[derive(Debug, Clone, Default)]
pub(crate) struct IdTable {
    slots: Vec<u32>,
    /// Bits of a slot that hold `id + 1`; the rest hold hash bits.
    id_bits: u32,
    len: usize,
}

impl IdTable {
    #[inline]
    #[mutants::skip] // mutants: hash bits in a slot only spare key comparisons; `find` compares the keys
    fn tag(&self, h: u64) -> u32 {
        if self.id_bits >= 32 {
            0
        } else {
            ((h >> 40) as u32) << self.id_bits
        }
    }

    #[inline]
    fn id_mask(&self) -> u32 {
        if self.id_bits >= 32 {
            u32::MAX
        } else {
            (1u32 << self.id_bits) - 1
        }
    }

    /// Finds an id whose key has hash `h` and for which `eq(id)` holds.
    #[inline]
    pub(crate) fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let idm = self.id_mask();
        let tag = self.tag(h) & !idm;
        let mut i = (h as usize) & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if s & !idm == tag {
                let id = (s & idm) - 1;
                if eq(id) {
                    return Some(id);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts `id` (not present yet) with key hash `h`. When the table must grow (or widen
    /// its id bits), `members()` lists every stored id with its hash, in id order, so the
    /// caller reads its key columns sequentially rather than in slot order.
    #[inline]
    pub(crate) fn insert<I: Iterator<Item = (u64, u32)>>(
        &mut self,
        h: u64,
        id: u32,
        members: impl FnOnce() -> I,
    ) {
        let wide = self.id_bits >= 32 || (id as u64 + 1) < (1u64 << self.id_bits);
        if (self.len + 1) * 4 > self.slots.len() * 3 || !wide {
            self.grow(id, members());
        }
        self.place(h, id);
        self.len += 1;
    }

    #[inline]
    fn place(&mut self, h: u64, id: u32) {
        let mask = self.slots.len() - 1;
        let v = self.tag(h) & !self.id_mask() | (id + 1);
        let mut i = (h as usize) & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = v;
    }

    #[cold]
    fn grow(&mut self, id: u32, members: impl Iterator<Item = (u64, u32)>) {
        let mut bits = (self.slots.len().max(16)).trailing_zeros();
        while (self.len + 1) * 4 > (1usize << bits) * 3 && bits < 40 {
            bits += 1;
        }
        // Id bits: room for `id + 1` and for ids up to twice as large.
        let mut id_bits = self.id_bits.max(8);
        while id_bits < 32 && (id as u64 + 1) * 2 > 1u64 << id_bits {
            id_bits += 1;
        }
        self.id_bits = id_bits;
        self.slots = Vec::new(); // free the old slots first
        self.slots = vec![0; 1usize << bits];
        for (h, m) in members {
            self.place(h, m);
        }
    }

    /// Hints the cache to load the slot where a search or an insert for hash `h` starts: a
    /// caller that knows its next keys a few steps ahead overlaps their cache misses.
    #[inline]
    #[mutants::skip] // mutants: a cache hint; no result can depend on it
    pub(crate) fn prefetch(&self, h: u64) {
        crate::prefetch::slot(&self.slots, (h as usize) & self.slots.len().wrapping_sub(1));
    }

    /// Drops the slots.
    pub(crate) fn clear(&mut self) {
        *self = IdTable::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest power of two ≥ 16 that holds `n` members at most 3/4 full.
    fn slots_for(n: usize) -> usize {
        let mut s = 16;
        while n * 4 > s * 3 {
            s *= 2;
        }
        s
    }

    #[test]
    fn the_table_grows_by_members_not_by_ids() {
        let mut t = IdTable::default();
        let mut hashes: Vec<u64> = Vec::new();
        for i in 0..1000u32 {
            // Ids far apart: the size must follow the member count only.
            let id = i * 1000;
            let h = hash_pair(id, 7);
            let members = hashes.clone();
            t.insert(h, id, || {
                members
                    .into_iter()
                    .enumerate()
                    .map(|(j, h)| (h, j as u32 * 1000))
            });
            hashes.push(h);
            assert_eq!(t.slots.len(), slots_for(i as usize + 1), "after {} members", i + 1);
        }
        for (j, &h) in hashes.iter().enumerate() {
            assert_eq!(t.find(h, |id| id == j as u32 * 1000), Some(j as u32 * 1000));
        }
        assert_eq!(t.find(hash_pair(1, 7), |id| id == 1), None);
    }
}
