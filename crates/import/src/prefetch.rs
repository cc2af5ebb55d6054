//! A cache hint for the folded parser's merge, the one place this crate allows `unsafe`.
//!
//! The merging thread is the parse's serial part, and its time goes to cache misses: each
//! node that is not the successor of its parent is looked up in (or added to) a hash table of
//! tens of MB, at a random slot. It knows the nodes it will look up a few steps ahead, so it
//! asks the CPU to start loading their slots early ([`slot`]). `_mm_prefetch` only hints the
//! cache: it never faults, never reads into the program and has no effect on any result. Other
//! targets (wasm32 among them) get a no-op.

/// Hints the CPU to bring `s[i]` into the cache (nothing when `i` is out of bounds).
#[inline(always)]
#[allow(unsafe_code)]
#[mutants::skip] // mutants: a cache hint; no result can depend on it
pub(crate) fn slot<T>(s: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = s.get(i) {
        // SAFETY: a prefetch is a hint: it does not dereference the pointer in the program's
        // sense, cannot fault, and the address is that of an element of `s` anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (x as *const T).cast(),
            )
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, i);
}
