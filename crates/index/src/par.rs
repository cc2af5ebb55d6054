//! Two-way fork/join: both cores natively, serial on wasm32 (the index stays wasm-buildable).

/// Runs both closures, on two threads where there are threads.
pub(crate) fn join2<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::thread::scope(|s| {
            let h = s.spawn(b);
            let ra = a();
            let rb = match h.join() {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e),
            };
            (ra, rb)
        })
    }
    #[cfg(target_arch = "wasm32")]
    {
        (a(), b())
    }
}
