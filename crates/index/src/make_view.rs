//! Building a view: the profile under one thread selection and transform list, with its
//! table numbers and its graph and trees ([`make_view`]), for [`ProfileIndex`](crate::ProfileIndex).

use std::sync::Arc;

use profview_model::{Profile, ThreadId};

use crate::csr::Csr;
use crate::pgraph::{self, PstatsView};
use crate::samples::{self, Funcs};
use crate::table::{self, FunctionQuery, FunctionStats};
use crate::{Kind, Orders, Package, Selection, Transforms, View};

/// An empty pstats view (only used if the default view could not be built, which it cannot).
pub(crate) fn empty_pstats_view() -> PstatsView {
    PstatsView {
        data: Some(Default::default()),
        callers: Csr::default(),
        callees: Csr::default(),
        ncallers: Vec::new(),
        caller_ct: Vec::new(),
        caller_tt: Vec::new(),
        caller_nc: Vec::new(),
        roots: Vec::new(),
        callees_by_ct: Csr::default(),
        callees_sfx: Csr::default(),
        callers_by_ct: Csr::default(),
        callers_sfx: Csr::default(),
        focus: None,
        depth_limit: None,
        threshold: None,
    }
}

/// `pre`: the profile's stack table is known to be in pre-order.
pub(crate) fn make_view(p: &Profile, pkg: &[Package], sel: &Selection, tf: &Transforms, pre: bool) -> Result<View, String> {
    let recorded_idle = p.format == profview_model::Format::Recording;
    let mut funcs = Funcs { base: &p.functions, base_pkg: pkg, extra: Vec::new(), extra_pkg: Vec::new(), recorded_idle };
    if p.samples.is_some() {
        let thread = sel.thread.map(ThreadId);
        let (sv, mut stats) = samples::build_view(p, thread, &tf.ops, &mut funcs, pre)?;
        if let Some(ps) = &p.pstats {
            table::fill_pstats(&mut stats, ps);
        }
        let approx_bytes = sv.heap_bytes() + stats.len() * 80;
        let Funcs { extra, extra_pkg, .. } = funcs;
        Ok(View::new(Kind::Samples(sv), stats, (extra, extra_pkg), None, approx_bytes, Orders::default()))
    } else {
        let mut stats = vec![FunctionStats::default(); p.functions.len()];
        let st = &mut stats;
        // The table's numbers, and without transforms (every function visible) its first page's
        // order, while the graph finds its top level.
        let first_order = tf.ops.is_empty();
        let (pv, order) = pgraph::build_view(p, &tf.ops, &funcs, |d| {
            table::fill_pstats(st, d);
            first_order.then(|| {
                let key = table::effective_sort(true, &FunctionQuery::default());
                (key, Arc::new(table::full_order(&|i| &p.functions[i as usize], &|_| true, st, key.0, key.1)))
            })
        })?;
        let d = pv.data(p);
        let visible = pv.focus.map(|f| {
            let mut vis = vec![false; p.functions.len()];
            let mut stack = vec![f];
            vis[f as usize] = true;
            while let Some(g) = stack.pop() {
                for &k in pv.callees.slice(g as usize) {
                    let h = d.edges[k as usize].callee.idx();
                    if !vis[h] {
                        vis[h] = true;
                        stack.push(h as u32);
                    }
                }
            }
            vis
        });
        let approx_bytes = d.edges.len() * 60 + stats.len() * 100;
        let mut orders = Orders::default();
        if let Some((key, ids)) = order {
            orders.insert(key, ids);
        }
        Ok(View::new(Kind::Pstats(pv), stats, (Vec::new(), Vec::new()), visible, approx_bytes, orders))
    }
}
