//! A pstats profile big enough for `ProfileIndex::build` to classify packages on a second core
//! while it builds the default view: the classes and the table are those of the serial path.
#![allow(clippy::unwrap_used)]

use profview_index::{classify_function, FunctionQuery, Package, ProfileIndex, Selection};
use profview_model::{CallEdge, Dialect, Format, FuncId, Function, Profile, PstatsData, PstatsStats, Unit};

#[test]
fn big_pstats_profiles_get_the_same_package_classes() {
    let n = 40_000u32;
    let files = ["~", "/usr/lib/python3.11/json/decoder.py", "/x/site-packages/requests/api.py", "app.py"];
    let functions: Vec<Function> = (0..n)
        .map(|i| Function { name: format!("f{i}"), file: files[i as usize % files.len()].into(), line: i as i64 })
        .collect();
    let stats: Vec<Option<PstatsStats>> = (0..n)
        .map(|i| Some(PstatsStats { primcalls: 1, ncalls: 1, tottime: 1.0, cumtime: f64::from(n - i) }))
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
    };
    assert!(p.check_valid().is_ok());
    let idx = ProfileIndex::build(p);
    for (i, f) in idx.profile().functions.iter().enumerate() {
        assert_eq!(idx.package(FuncId(i as u32)), Some(classify_function(&f.name, &f.file)));
    }
    // Package filter and default order (cumtime, largest first) on the built table.
    let (total, page) = idx.query_functions(&FunctionQuery { package: Some(Package::SitePackages), limit: 3, ..Default::default() });
    assert_eq!(total, n as usize / 4);
    assert_eq!(page, vec![FuncId(2), FuncId(6), FuncId(10)]);
    // A view that does read the classes (grp:pkg is refused for pstats; h: by name is not).
    let v = idx.view(&Selection { tf: "h:re:^f1$".into(), ..Default::default() }).unwrap();
    assert!(idx.function_stats().len() == n as usize && idx.callers(&v, FuncId(2)).unwrap()[0].func == FuncId(0));
}
