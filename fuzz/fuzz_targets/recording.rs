//! `cargo +nightly fuzz run recording fuzz/seeds/recording` (seeds: `tests/fixtures/recordings/*.pvrec`,
//! copied into `fuzz/seeds/recording/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{recording, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, ..Limits::default() };
    if let Ok(i) = recording::parse(data, &limits) {
        i.profile.check_valid().expect("accepted recording is invalid");
        // Whatever was accepted can be written as pstats (when it has a cProfile part) and read back.
        if let Some(bytes) = profview_import::pstats_out::write(&i.profile) {
            profview_import::pstats::parse(&bytes, &Limits::default()).expect("exported pstats does not read back");
        }
    }
});
