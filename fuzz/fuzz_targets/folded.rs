//! `cargo +nightly fuzz run folded` (seed with `tests/fixtures/corpus/folded/*` and
//! `tests/fixtures/bad/folded_*`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{folded, parse_folded_parallel, FoldedParser, Limits, StreamOptions};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_stack_depth: 64, max_name_len: 32, ..Limits::default() };
    let whole = folded::parse(data, &limits);
    if let Ok(i) = &whole {
        i.profile.check_valid().expect("accepted folded profile is invalid");
        // The nested bits: node i's function is among its ancestors' (walked up here; a root's
        // parent is u32::MAX).
        let t = &i.profile.samples.as_ref().expect("a folded profile has samples").stacks;
        let bits = i.nested.as_ref().expect("the folded parser gives nested bits");
        assert_eq!(bits.len(), t.len().div_ceil(64));
        for n in 0..t.len() {
            let mut a = t.parent[n];
            let mut nested = false;
            while a != u32::MAX {
                if t.func[a as usize] == t.func[n] {
                    nested = true;
                    break;
                }
                a = t.parent[a as usize];
            }
            assert_eq!((bits[n / 64] >> (n % 64)) & 1 == 1, nested, "nested bit of node {n}");
        }
    }
    // The parallel driver (blocks of 4 KiB, the smallest it cuts: run with -max_len=65536 so that
    // inputs span blocks, and the forks share the frames merged so far) must give it too.
    let opts = StreamOptions { threads: 2, block_size: 1, in_flight: 2 };
    match (&whole, parse_folded_parallel(data, &limits, &opts)) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.profile, b.profile);
            assert_eq!(a.warnings, b.warnings);
            assert_eq!(a.nested, b.nested);
        }
        (Err(a), Err(b)) => assert_eq!(a, &b),
        _ => panic!("whole and parallel parses disagree"),
    }
    // Streaming in uneven chunks must give the same answer.
    let mut p = FoldedParser::new(limits);
    let cut = (data.first().copied().unwrap_or(1) as usize % 13) + 1;
    for c in data.chunks(cut) {
        p.feed(c);
    }
    match (whole, p.finish()) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.profile, b.profile);
            assert_eq!(a.nested, b.nested);
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("whole and streamed parses disagree"),
    }
});
