//! `cargo +nightly fuzz run gecko fuzz/seeds/gecko` (seeds: hand-made profiles in the shape CPython 3.15's
//! `gecko_collector.py` writes, and edge cases, in `fuzz/seeds/gecko/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{gecko, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, max_stack_depth: 512, ..Limits::default() };
    let _ = gecko::sniff(data);
    if let Ok(i) = gecko::parse(data, &limits) {
        i.profile.check_valid().expect("accepted gecko profile is invalid");
    }
});
