//! Query profiling harness: `cargo run --release -p profview-index --example qprof -- FILE QUERY [N]`
//! with QUERY one of `mf0` (top-down, min_frac=0), `inv` (inverted), `sand` (sandwich of the
//! 6th function by inclusive weight), `td` (default top-down), `app-td` / `app-inv` (the
//! dashboard's icicle and flame requests: min_frac 0.0005, 20,000 nodes), `tf=STRING` (builds
//! the transformed view once). Loads the file the way the
//! server does (streamed, parallel), then runs the query N times and prints each time.
use std::time::Instant;

use profview_index::*;

fn main() {
    let mut a = std::env::args().skip(1);
    let (Some(path), Some(query)) = (a.next(), a.next()) else { return eprintln!("usage: qprof FILE QUERY [N]") };
    let n: usize = a.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let t0 = Instant::now();
    let f = std::fs::File::open(&path).expect("open");
    let imp = profview_import::import_reader(&path, f, &Default::default(), &Default::default()).expect("import");
    let t1 = Instant::now();
    let idx = ProfileIndex::build(imp.profile);
    println!("import {:?} build {:?}", t1 - t0, t1.elapsed());
    let v = idx.default_view();
    let (_, page) = idx.query_functions_in(&v, &FunctionQuery { limit: 10, ..Default::default() });
    let f6 = *page.get(5).or(page.first()).expect("a function");
    if let Some(tf) = query.strip_prefix("tf=") {
        let t = Instant::now();
        let tv = idx.view(&Selection { thread: None, tf: tf.to_owned() }).expect("view");
        let built = t.elapsed();
        let s = idx.tree(&tv, &TreeQuery::default()).expect("tree");
        println!("tf={tf}: view {:.0} ms, then a slice {:.2} ms ({} nodes)", built.as_secs_f64() * 1e3, (t.elapsed() - built).as_secs_f64() * 1e3, s.nodes.len());
        return;
    }
    for _ in 0..n {
        let t = Instant::now();
        let size = match query.as_str() {
            "mf0" => idx.tree(&v, &TreeQuery { lod: Lod { min_frac: 0.0, max_nodes: 3000 }, ..Default::default() }).expect("tree").nodes.len(),
            "inv" => idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, ..Default::default() }).expect("tree").nodes.len(),
            "td" => idx.tree(&v, &TreeQuery::default()).expect("tree").nodes.len(),
            // What the dashboard's icicle and flame views ask for.
            "app-td" => idx.tree(&v, &TreeQuery { lod: Lod { min_frac: 0.0005, max_nodes: 20_000 }, ..Default::default() }).expect("tree").nodes.len(),
            "app-inv" => idx
                .tree(&v, &TreeQuery { mode: TreeMode::Inverted, lod: Lod { min_frac: 0.0005, max_nodes: 20_000 }, ..Default::default() })
                .expect("tree")
                .nodes
                .len(),
            "sand" => {
                let (a, b) = idx.sandwich(&v, f6, &Lod::default()).expect("sandwich");
                a.nodes.len() + b.nodes.len()
            }
            other => return eprintln!("unknown query {other}"),
        };
        println!("{query}: {:.2} ms ({size} nodes)", t.elapsed().as_secs_f64() * 1e3);
    }
}
