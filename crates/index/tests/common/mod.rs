//! Fixtures shared by the index's integration tests.

use profview_index::ProfileIndex;
use profview_model::{Dialect, SampleBuilder, Unit};

/// `main` calling `x1`, `x2`, … (app.py, lines 1, 2, 3, …) once each, one sample per call with
/// the given weights: main's children, all leaves, weigh exactly `weights`.
pub fn main_calling(weights: &[f64]) -> ProfileIndex {
    let mut b = SampleBuilder::new();
    let main = b.function("main", "app.py", 1);
    let t = b.thread("1", None);
    for (i, w) in weights.iter().enumerate() {
        let x = b.function(&format!("x{}", i + 1), "app.py", i as i64 + 2);
        b.add_sample(&[main, x], t, *w);
    }
    ProfileIndex::build(b.finish(Dialect::Gregg, Unit::Samples))
}
