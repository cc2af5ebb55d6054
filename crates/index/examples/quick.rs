//! Quick index-only timings: `cargo run --release -p profview-index --example quick -- FILE`.
use std::time::Instant;

use profview_index::*;

fn main() {
    let Some(path) = std::env::args().nth(1) else { return eprintln!("usage: quick FILE") };
    let bytes = std::fs::read(&path).expect("read");
    let t0 = Instant::now();
    let imp = profview_import::import(&path, &bytes, &Default::default()).expect("import");
    let t1 = Instant::now();
    let idx = ProfileIndex::build(imp.profile);
    println!("import {:?} build {:?}", t1 - t0, t1.elapsed());
    let v = idx.default_view();
    let small = idx.tree(&v, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 20 }, ..Default::default() }).expect("tree");
    let top = small.nodes.iter().find(|n| n.parent == Some(0) && n.func.is_some()).map(|n| n.path.clone()).unwrap_or_default();
    for (label, q) in [
        ("top-down", TreeQuery::default()),
        ("inverted", TreeQuery { mode: TreeMode::Inverted, ..Default::default() }),
        ("zoom top", TreeQuery { root: parse_path(&top).expect("path"), ..Default::default() }),
    ] {
        let mut best = f64::MAX;
        let mut n = 0;
        for _ in 0..5 {
            let a = Instant::now();
            n = idx.tree(&v, &q).expect("tree").nodes.len();
            best = best.min(a.elapsed().as_secs_f64() * 1e3);
        }
        println!("{label}: best of 5 {best:.2} ms ({n} nodes)");
    }
}
