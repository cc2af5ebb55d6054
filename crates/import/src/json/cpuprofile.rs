//! V8 `.cpuprofile` (Node.js `--cpu-prof`, Chrome DevTools): a call tree of `nodes` (`id`,
//! `callFrame {functionName, url, lineNumber, columnNumber}`, `children` ids) and the sampled
//! leaf `samples` (node ids) with `timeDeltas` (µs, the first relative to `startTime`).
//!
//! Deltas can be negative (samples written out of order): absolute times are rebuilt, the samples
//! sorted by time (stably), and each sample weighs the time to the next one (the last: to
//! `endTime`), in microseconds. V8's line numbers are 0-based: they become 1-based here (`-1`,
//! unknown, becomes 0, the model's "no line"); columns are dropped. The tree's `(root)` node is
//! not a frame; `(program)`, `(idle)` and `(garbage collector)` are kept as V8 names them; a
//! function without a name is `(anonymous)`, as DevTools shows it. One thread, id `0`.

use std::collections::{HashMap, VecDeque};

use profview_model::{Dialect, Format, SampleBuilder, StackId, Unit};
use serde::Deserialize;

use super::{err, finish_json, first_byte, has_key, head, serde_err, span, Funcs};
use crate::{ImportError, Imported, Limits};

const FMT: &str = "cpuprofile";

/// `Some(true)` for a JSON object with `nodes` and `callFrame` keys in its first MiB.
pub fn sniff(bytes: &[u8]) -> Option<bool> {
    let h = head(bytes);
    Some(first_byte(bytes) == Some(b'{') && has_key(h, "nodes") && has_key(h, "callFrame"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    nodes: Vec<Node>,
    start_time: f64,
    end_time: f64,
    #[serde(default)]
    samples: Vec<u64>,
    #[serde(default)]
    time_deltas: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    id: u64,
    call_frame: CallFrame,
    #[serde(default)]
    children: Vec<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallFrame {
    function_name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    line_number: Option<i64>,
}

/// Parses a `.cpuprofile` (already gunzipped).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Imported, ImportError> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| serde_err(FMT, &e))?;
    let n = doc.nodes.len();
    let mut index: HashMap<u64, usize> = HashMap::with_capacity(n);
    for (i, node) in doc.nodes.iter().enumerate() {
        if index.insert(node.id, i).is_some() {
            return Err(err(FMT, format!("node id {} appears twice", node.id)));
        }
    }
    let mut parent: Vec<Option<usize>> = vec![None; n];
    for (i, node) in doc.nodes.iter().enumerate() {
        for &c in &node.children {
            let ci = *index.get(&c).ok_or_else(|| err(FMT, format!("node {} has child {c}, which is not a node", node.id)))?;
            if let Some(p) = parent[ci] {
                return Err(err(FMT, format!("node {c} is a child of both node {} and node {}", doc.nodes[p].id, node.id)));
            }
            parent[ci] = Some(i);
        }
    }
    // Stacks, breadth first from the roots: a parent's stack is made before its children's.
    let mut b = SampleBuilder::new();
    let mut funcs = Funcs::new(limits);
    let thread = b.thread("0", None);
    let mut stack: Vec<Option<Option<StackId>>> = vec![None; n];
    let mut depth = vec![0usize; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| parent[i].is_none()).collect();
    while let Some(i) = queue.pop_front() {
        let node = &doc.nodes[i];
        let up = parent[i].and_then(|p| stack[p].flatten());
        let above = parent[i].map_or(0, |p| depth[p]);
        let cf = &node.call_frame;
        let here = if parent[i].is_none() && cf.function_name == "(root)" {
            None
        } else {
            if above >= limits.max_stack_depth {
                return Err(err(FMT, format!("node {} is deeper than {} frames", node.id, limits.max_stack_depth)));
            }
            let name = if cf.function_name.is_empty() { "(anonymous)" } else { &cf.function_name };
            let line = cf.line_number.unwrap_or(-1).max(-1).saturating_add(1);
            let f = funcs.intern(&mut b, name, &cf.url, line);
            Some(b.child(up, f))
        };
        stack[i] = Some(here);
        depth[i] = above + usize::from(here.is_some());
        for c in &node.children {
            if let Some(&ci) = index.get(c) {
                queue.push_back(ci);
            }
        }
    }
    if let Some(i) = stack.iter().position(Option::is_none) {
        return Err(err(FMT, format!("node {} is not reachable from a root (the children lists form a cycle)", doc.nodes[i].id)));
    }

    if doc.samples.len() != doc.time_deltas.len() {
        return Err(err(FMT, format!("{} samples but {} timeDeltas", doc.samples.len(), doc.time_deltas.len())));
    }
    if doc.samples.is_empty() {
        return Err(err(FMT, "the profile has no samples"));
    }
    if !doc.start_time.is_finite() || !doc.end_time.is_finite() {
        return Err(err(FMT, "startTime or endTime is not finite"));
    }
    let mut times: Vec<(f64, usize)> = Vec::with_capacity(doc.samples.len());
    let mut t = doc.start_time;
    for (i, (&id, &d)) in doc.samples.iter().zip(&doc.time_deltas).enumerate() {
        t += d;
        if !t.is_finite() {
            return Err(err(FMT, format!("sample {i}: time is not finite")));
        }
        let node = *index.get(&id).ok_or_else(|| err(FMT, format!("sample {i} is node {id}, which is not a node")))?;
        times.push((t, node));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, &(t, node)) in times.iter().enumerate() {
        let next = times.get(i + 1).map_or(doc.end_time, |x| x.0);
        let w = span(FMT, t, next, 1.0)?.max(0.0);
        b.add_at(stack[node].flatten(), thread, w);
    }
    let mut warnings = Vec::new();
    funcs.warn(&mut warnings);
    let mut profile = b.finish(Dialect::Cpuprofile, Unit::Microseconds);
    profile.format = Format::Cpuprofile;
    finish_json(FMT, profile, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64, name: &str, line: i64, children: &str) -> String {
        format!(r#"{{"id": {id}, "callFrame": {{"functionName": "{name}", "scriptId": "1", "url": "a.js", "lineNumber": {line}, "columnNumber": 0}}, "hitCount": 0, "children": [{children}]}}"#)
    }

    #[test]
    fn negative_deltas_are_sorted_and_weighted_by_time() {
        let nodes = [node(1, "(root)", -1, "2"), node(2, "main", 0, "3"), node(3, "", 9, "")].join(",");
        // Times 110 (node 3), 100 (node 2), 130 (node 2), end 150.
        let b = format!(r#"{{"nodes": [{nodes}], "startTime": 0, "endTime": 150, "samples": [3, 2, 2], "timeDeltas": [110, -10, 30]}}"#);
        assert_eq!(sniff(b.as_bytes()), Some(true));
        let p = parse(b.as_bytes(), &Limits::default()).unwrap().profile;
        assert_eq!((p.format, p.unit), (Format::Cpuprofile, Unit::Microseconds));
        let s = p.samples.as_ref().unwrap();
        let got: Vec<(Vec<(&str, i64)>, f64)> = s
            .samples
            .iter()
            .map(|x| (s.stacks.frames(x.stack().unwrap()).iter().map(|f| (p.func(*f).name.as_str(), p.func(*f).line)).collect(), x.weight))
            .collect();
        // 100→110 and 130→150 on main, 110→130 on the anonymous function.
        assert_eq!(got, vec![(vec![("main", 1)], 30.0), (vec![("main", 1), ("(anonymous)", 10)], 20.0)]);
    }

    #[test]
    fn refuses_with_a_reason() {
        let two = [node(1, "(root)", -1, "2"), node(2, "f", 0, "")].join(",");
        let cases = [
            (format!(r#"{{"nodes": [{two}], "startTime": 0, "endTime": 1, "samples": [7], "timeDeltas": [1]}}"#), "node 7, which is not a node"),
            (format!(r#"{{"nodes": [{two}], "startTime": 0, "endTime": 1, "samples": [2], "timeDeltas": []}}"#), "1 samples but 0 timeDeltas"),
            (format!(r#"{{"nodes": [{}], "startTime": 0, "endTime": 1, "samples": [2], "timeDeltas": [1]}}"#, [node(1, "(root)", -1, "9")].join(",")), "child 9"),
            (format!(r#"{{"nodes": [{}], "startTime": 0, "endTime": 1, "samples": [2], "timeDeltas": [1]}}"#, [node(1, "(root)", -1, "2"), node(2, "f", 0, "3"), node(3, "g", 0, "2")].join(",")), "child of both"),
            (format!(r#"{{"nodes": [{}], "startTime": 0, "endTime": 1, "samples": [2], "timeDeltas": [1]}}"#, [node(2, "f", 0, "3"), node(3, "g", 0, "2")].join(",")), "cycle"),
            (format!(r#"{{"nodes": [{}], "startTime": 0, "endTime": 1, "samples": [2], "timeDeltas": [1]}}"#, [node(2, "f", 0, ""), node(2, "g", 0, "")].join(",")), "appears twice"),
            (format!(r#"{{"nodes": [{two}], "startTime": 0, "endTime": 1, "samples": [], "timeDeltas": []}}"#), "no samples"),
            (format!(r#"{{"nodes": [{two}], "startTime": 0, "endTime": 1, "samples": [2, 2], "timeDeltas": [1e308, 1e308]}}"#), "not finite"),
        ];
        for (input, want) in cases {
            let e = parse(input.as_bytes(), &Limits::default()).unwrap_err().to_string();
            assert!(e.starts_with("cpuprofile: ") && e.contains(want), "{input}: {e}");
        }
        let chain: Vec<String> = (1..=20).map(|i| node(i, "f", i as i64, &if i < 20 { (i + 1).to_string() } else { String::new() })).collect();
        let deep = format!(r#"{{"nodes": [{}], "startTime": 0, "endTime": 1, "samples": [20], "timeDeltas": [0]}}"#, chain.join(","));
        let limits = Limits { max_stack_depth: 10, ..Limits::default() };
        assert!(parse(deep.as_bytes(), &limits).unwrap_err().to_string().contains("deeper than 10"));
        assert!(parse(deep.as_bytes(), &Limits::default()).is_ok());
    }
}
