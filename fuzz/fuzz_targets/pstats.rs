//! `cargo +nightly fuzz run pstats` (seed with `tests/fixtures/corpus/pstats/*.prof` and
//! `tests/fixtures/bad/*.prof`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{import, pstats, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(i) = pstats::parse(data, &limits) {
        i.profile.check_valid().expect("accepted pstats profile is invalid");
    }
    if let Ok(i) = import("fuzz.prof", data, &limits) {
        i.profile.check_valid().expect("accepted profile is invalid");
    }
});
