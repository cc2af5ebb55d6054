//! Throughput of the folded importer against a minimal baseline (split lines, split frames on
//! `;`, intern frame names in a std HashMap). Run:
//! `cargo run --release -p profview-import --example bench_folded -- FILE [REPEAT]`
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Instant;

fn baseline(data: &[u8]) -> (usize, u64) {
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut total = 0u64;
    for line in data.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(c) = count.trim().parse::<u64>() else {
            continue;
        };
        total += c;
        for f in stack.split(';') {
            let n = names.len() as u32;
            if !names.contains_key(f) {
                names.insert(f.to_owned(), n);
            }
        }
    }
    (names.len(), total)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let one = std::fs::read(&args[1]).unwrap();
    let repeat: usize = args.get(2).map_or(50, |r| r.parse().unwrap());
    let mut data = Vec::with_capacity(one.len() * repeat);
    for _ in 0..repeat {
        data.extend_from_slice(&one);
        if !data.ends_with(b"\n") {
            data.push(b'\n');
        }
    }
    let mb = data.len() as f64 / 1e6;
    for _ in 0..2 {
        let t = Instant::now();
        let (n, _) = baseline(&data);
        let b = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut p = profview_import::FoldedParser::new(Default::default());
        for c in data.chunks(1 << 20) {
            p.feed(c);
        }
        let out = p.finish().unwrap();
        let o = t.elapsed().as_secs_f64();
        println!(
            "{mb:.0} MB: baseline {:.0} MB/s ({n} names), profview {:.0} MB/s ({} functions): {:.0}% of baseline",
            mb / b,
            mb / o,
            out.profile.functions.len(),
            100.0 * b / o
        );
    }
}
