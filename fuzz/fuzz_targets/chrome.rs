//! `cargo +nightly fuzz run chrome fuzz/seeds/chrome` (seeds: the corpus file of `tests/fixtures/corpus/other/`
//! and hand-made edge cases, in `fuzz/seeds/chrome/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{chrome, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, max_stack_depth: 512, ..Limits::default() };
    let _ = chrome::sniff(data);
    if let Ok(i) = chrome::parse(data, &limits) {
        i.profile.check_valid().expect("accepted chrome profile is invalid");

    }
});
