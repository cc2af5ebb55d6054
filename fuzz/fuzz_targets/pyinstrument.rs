//! `cargo +nightly fuzz run pyinstrument fuzz/seeds/pyinstrument` (seeds: `tests/fixtures/formats/pyi_workload.pyisession`
//! and hand-made edge cases, in `fuzz/seeds/pyinstrument/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{pyinstrument, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, max_stack_depth: 512, ..Limits::default() };
    let _ = pyinstrument::sniff(data);
    if let Ok(i) = pyinstrument::parse(data, &limits) {
        i.profile.check_valid().expect("accepted pyinstrument profile is invalid");
    }
});
