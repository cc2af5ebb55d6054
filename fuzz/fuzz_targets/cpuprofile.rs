//! `cargo +nightly fuzz run cpuprofile fuzz/seeds/cpuprofile` (seeds: the corpus file of `tests/fixtures/corpus/other/`
//! and hand-made edge cases, in `fuzz/seeds/cpuprofile/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{cpuprofile, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, max_stack_depth: 512, ..Limits::default() };
    let _ = cpuprofile::sniff(data);
    if let Ok(i) = cpuprofile::parse(data, &limits) {
        i.profile.check_valid().expect("accepted cpuprofile profile is invalid");

    }
});
