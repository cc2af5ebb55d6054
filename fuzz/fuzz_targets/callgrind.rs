//! `cargo +nightly fuzz run callgrind <copy of fuzz/seeds/callgrind>`: the callgrind importer
//! never panics, every accepted file gives a valid profile, and `detect` plus the folded
//! parser's refusal never panic on the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{callgrind, detect, folded, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, ..Limits::default() };
    if let Ok(i) = callgrind::parse(data, &limits) {
        i.profile.check_valid().expect("accepted callgrind profile is invalid");
        let ps = i.profile.pstats.as_ref().expect("callgrind gives pstats data");
        for s in ps.stats.iter().flatten() {
            assert!(s.primcalls <= s.ncalls, "more primitive calls than calls");
            assert!(s.tottime >= 0.0 && s.cumtime >= 0.0);
        }
    }
    let _ = detect("x", data);
    let _ = folded::refusal(data);
});
