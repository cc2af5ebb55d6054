//! A pstats profile big enough for `ProfileIndex::build` to work on two cores (package classes
//! beside the graph; the table's numbers and first order beside the top level): the classes and
//! the table are those of the serial path.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use profview_index::{classify_function, FunctionQuery, Package, ProfileIndex, Selection};
use profview_model::{CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, Unit};

/// Cumulative times with many ties (the table breaks them by id).
fn ct(i: u32) -> f64 {
    f64::from(i.wrapping_mul(7919) % 1000)
}

#[test]
fn big_pstats_profiles_get_the_same_package_classes_and_table() {
    let n = 40_000u32;
    let files = ["~", "/usr/lib/python3.11/json/decoder.py", "/x/site-packages/requests/api.py", "app.py"];
    let functions: Vec<Function> = (0..n)
        .map(|i| Function { name: format!("f{i}"), file: files[i as usize % files.len()].into(), line: i as i64 })
        .collect();
    let stats: Vec<Option<PstatsStats>> = (0..n)
        .map(|i| Some(PstatsStats { primcalls: 1, ncalls: 1, tottime: 1.0, cumtime: ct(i) }))
        .collect();
    let edges: Vec<CallEdge> = (1..n)
        .map(|i| CallEdge {
            caller: FuncId(i - 1),
            callee: FuncId(i),
            ncalls: 1,
            primcalls: Some(1),
            tottime: Some(1.0),
            cumtime: Some(f64::from(n - i)),
        })
        .collect();
    let p = Profile {
        format: Format::Pstats,
        dialect: Dialect::Cprofile,
        unit: Unit::Seconds,
        functions,
        threads: vec![],
        pstats: Some(PstatsData { stats, edges, total_calls: u64::from(n), prim_calls: u64::from(n), total_time: f64::from(n) }),
        samples: None,
        lines_are_current: false,
    };
    assert!(p.check_valid().is_ok());
    let idx = ProfileIndex::build(p);
    for (i, f) in idx.profile().functions.iter().enumerate() {
        assert_eq!(idx.package(FuncId(i as u32)), Some(classify_function(&f.name, &f.file)));
    }
    // The default order (cumtime, largest first; ties by id), whole and under a package filter.
    let mut want: Vec<u32> = (0..n).collect();
    want.sort_by(|&a, &b| ct(b).total_cmp(&ct(a)).then(a.cmp(&b)));
    let (total, page) = idx.query_functions(&FunctionQuery { limit: n as usize, ..Default::default() });
    assert_eq!(total, n as usize);
    assert_eq!(page, want.iter().map(|&i| FuncId(i)).collect::<Vec<_>>());
    let (total, page) = idx.query_functions(&FunctionQuery { package: Some(Package::SitePackages), limit: 50, ..Default::default() });
    assert_eq!(total, n as usize / 4);
    let site: Vec<FuncId> = want.iter().filter(|&&i| i % 4 == 2).take(50).map(|&i| FuncId(i)).collect();
    assert_eq!(page, site);
    // A view that does read the classes (grp:pkg is refused for pstats; h: by name is not).
    let v = idx.view(&Selection { tf: "h:re:^f1$".into(), ..Default::default() }).unwrap();
    assert!(idx.function_stats().len() == n as usize && idx.callers(&v, FuncId(2)).unwrap()[0].func == FuncId(0));
}
