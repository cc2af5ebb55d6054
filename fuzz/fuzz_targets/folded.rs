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
            assert_eq!(a.warnings, b.warnings);
            assert_eq!(a.nested, b.nested);
            // Weights are summed per block, then across blocks (`FoldedParser::join`): bit for
            // bit the serial sums when they are whole and below 2^53, else equal to the last bits.
            let (sa, sb) = (a.profile.samples.as_ref().expect("samples"), b.profile.samples.as_ref().expect("samples"));
            let exact = sa.samples.iter().all(|s| s.weight.fract() == 0.0)
                && sa.samples.iter().map(|s| s.weight.abs()).sum::<f64>() < 9_007_199_254_740_992.0;
            if exact {
                assert_eq!(a.profile, b.profile);
            } else {
                assert_eq!((&a.profile.functions, &a.profile.threads, &sa.stacks), (&b.profile.functions, &b.profile.threads, &sb.stacks));
                assert_eq!(sa.samples.len(), sb.samples.len());
                for (x, y) in sa.samples.iter().zip(&sb.samples) {
                    assert_eq!((x.node, x.thread), (y.node, y.thread));
                    let scale = x.weight.abs().max(y.weight.abs()).max(1.0);
                    assert!((x.weight - y.weight).abs() <= scale * 1e-9 || (x.weight.is_nan() && y.weight.is_nan()), "{} vs {}", x.weight, y.weight);
                }
            }
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
