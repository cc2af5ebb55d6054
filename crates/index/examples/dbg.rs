use profview_index::*;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let mode = std::env::args().nth(2).unwrap_or_default();
    let bytes = std::fs::read(&path).unwrap();
    let imp = profview_import::import(&path, &bytes, &Default::default()).unwrap();
    let idx = ProfileIndex::build(imp.profile);
    let v = idx.default_view();
    let m = if mode == "inv" { TreeMode::Inverted } else { TreeMode::TopDown };
    let s = idx.tree(&v, &TreeQuery { mode: m, lod: Lod { min_frac: 0.0, max_nodes: 3000 }, ..Default::default() }).unwrap();
    let mut c = std::collections::BTreeMap::new();
    for n in &s.nodes { *c.entry(format!("{:?}", n.exactness)).or_insert(0) += 1; }
    println!("{:?} nodes {}", c, s.nodes.len());
    let lv: f64 = s.nodes.iter().filter(|n| n.parent == Some(0)).map(|n| n.total).sum();
    println!("root {} level1 sum {} self {}", s.nodes[0].total, lv, s.nodes[0].self_value);
    for n in s.nodes.iter().take(12) { println!("{:?} {} {} {:?} {:?}-{:?}", n.path, n.total, n.self_value, n.exactness, n.total_min, n.total_max); }
}
