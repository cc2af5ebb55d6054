//! `cargo +nightly fuzz run speedscope fuzz/seeds/speedscope` (seeds: the corpus file of `tests/fixtures/corpus/other/`
//! and hand-made edge cases, in `fuzz/seeds/speedscope/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{speedscope, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_name_len: 32, max_stack_depth: 512, ..Limits::default() };
    let _ = speedscope::sniff(data);
    if let Ok(i) = speedscope::parse(data, &limits) {
        i.profile.check_valid().expect("accepted speedscope profile is invalid");
        // Whatever was accepted can be exported as speedscope and read back with the same total.
        let out = profview_import::export_speedscope::write(&i.profile, "fuzz").expect("sampled profile not exported");
        let back = speedscope::parse(&out, &Limits::default()).expect("exported speedscope does not read back");
        let s = i.profile.samples.as_ref().expect("accepted profile has samples");
        let (a, b) = (s.total(), back.profile.samples.as_ref().map_or(0.0, |s| s.total()));
        let scale: f64 = s.samples.iter().map(|x| x.weight.abs()).sum();
        if a.is_finite() && b.is_finite() && scale.is_finite() {
            assert!((a - b).abs() <= 1e-9 * scale, "round trip changed the total: {a} vs {b}");
        }
        assert_eq!(back.profile.threads, i.profile.threads, "round trip changed the threads");
    }
});
