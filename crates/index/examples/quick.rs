use std::time::Instant;
use profview_index::*;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let t0 = Instant::now();
    let imp = profview_import::import(&path, &bytes, &Default::default()).unwrap();
    let t1 = Instant::now();
    let n = imp.profile.samples.as_ref().map_or(0, |s| s.stacks.len());
    let idx = ProfileIndex::build(imp.profile);
    let t2 = Instant::now();
    println!("import {:?} build {:?} nodes {} funcs {}", t1 - t0, t2 - t1, n, idx.profile().functions.len());
    let v = idx.default_view();
    for _ in 0..2 {
        let a = Instant::now();
        let (tot, page) = idx.query_functions(&FunctionQuery::default());
        let b = Instant::now();
        let s = idx.tree(&v, &TreeQuery::default()).unwrap();
        let c = Instant::now();
        let si = idx.tree(&v, &TreeQuery { mode: TreeMode::Inverted, ..Default::default() }).unwrap();
        let d = Instant::now();
        let f = page[0];
        let (up, down) = idx.sandwich(&v, f, &Lod::default()).unwrap();
        let e = Instant::now();
        println!("table {:?} ({tot}) tree {:?} ({} nodes) inv {:?} ({}) sandwich {:?} ({}/{})", b - a, c - b, s.nodes.len(), d - c, si.nodes.len(), e - d, up.nodes.len(), down.nodes.len());
    }
    {
        let (_, page) = idx.query_functions(&FunctionQuery::default());
        for &f in page.iter().take(8) {
            let a = Instant::now();
            let (up, down) = idx.sandwich(&v, f, &Lod::default()).unwrap();
            println!("sandwich {} {:?} {:?} ({}/{})", f.0, idx.profile().func(f).name, a.elapsed(), up.nodes.len(), down.nodes.len());
        }
    }
    for tf in ["rec", "h:re:^_", "grp:pkg", "d:10"] {
        let a = Instant::now();
        match idx.view(&Selection { thread: None, tf: tf.into() }) {
            Ok(v2) => {
                let b = Instant::now();
                let s = idx.tree(&v2, &TreeQuery::default()).unwrap();
                println!("tf {tf}: view {:?} tree {:?} ({} nodes)", b - a, b.elapsed(), s.nodes.len());
            }
            Err(e) => println!("tf {tf}: {e}"),
        }
    }
}
