//! `cargo +nightly fuzz run folded` (seed with `tests/fixtures/corpus/folded/*` and
//! `tests/fixtures/bad/folded_*`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use profview_import::{folded, FoldedParser, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_stack_depth: 64, max_name_len: 32, ..Limits::default() };
    let whole = folded::parse(data, &limits);
    if let Ok(i) = &whole {
        i.profile.check_valid().expect("accepted folded profile is invalid");
    }
    // Streaming in uneven chunks must give the same answer.
    let mut p = FoldedParser::new(limits);
    let cut = (data.first().copied().unwrap_or(1) as usize % 13) + 1;
    for c in data.chunks(cut) {
        p.feed(c);
    }
    match (whole, p.finish()) {
        (Ok(a), Ok(b)) => assert_eq!(a.profile, b.profile),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("whole and streamed parses disagree"),
    }
});
