//! The profile model: one shape for every input format.
//!
//! A [`Profile`] holds a function table plus one or both of:
//! - [`PstatsData`]: the aggregated per-function statistics and the caller→callee edge table of a
//!   deterministic profiler (cProfile, `profile`, yappi). pstats has **no stacks**: any tree drawn
//!   from it is an estimate.
//! - [`SampleData`]: weighted stacks from a sampling profiler (folded/collapsed files), stored as a
//!   prefix tree of frames ([`StackTable`]) plus aggregated samples. Trees drawn from it are exact.
//!
//! The model does no I/O, has no dependencies and builds for `wasm32-unknown-unknown`.
//! Constructors cannot fail; [`Profile::check_valid`] checks the invariants after an import.
//!
//! ```
//! use profview_model::*;
//! let mut b = SampleBuilder::new();
//! let t = b.thread("1", Some("main".into()));
//! let main = b.function("main", "app.py", 1);
//! let work = b.function("work", "app.py", 5);
//! b.add_sample(&[main, work], t, 3.0);
//! let p = b.finish(Dialect::Gregg, Unit::Samples);
//! assert!(p.check_valid().is_ok());
//! assert_eq!(p.samples.as_ref().unwrap().total(), 3.0);
//! ```
#![deny(missing_docs)]

use std::collections::HashMap;

/// Index of a function in [`Profile::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

/// Index of a thread in [`Profile::threads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(pub u32);

/// Index of a node in a [`StackTable`]: the stack from a root down to this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(pub u32);

impl FuncId {
    /// The index as `usize`.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}
impl ThreadId {
    /// The index as `usize`.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}
impl StackId {
    /// The index as `usize`.
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// The container format of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// pstats data: a `marshal` dump of a `pstats` dict, or callgrind text read into the same
    /// per-function table and caller edges (the dialect says which; every view switches on this
    /// format, and a callgrind profile carries exactly that data).
    Pstats,
    /// Collapsed ("folded") stacks, one weighted stack per line.
    Folded,
    /// A profview recording: sampled stacks per thread, optionally with exact cProfile numbers.
    Recording,
    /// pprof `profile.proto`: sampled stacks with one value column kept.
    Pprof,
    /// speedscope's JSON file format (`sampled` or `evented` profiles).
    Speedscope,
    /// Chrome trace events (`B`/`E`/`X` phases), as viztracer and py-spy write them.
    ChromeTrace,
    /// A V8 `.cpuprofile` (Node.js `--cpu-prof`, Chrome DevTools).
    Cpuprofile,
    /// A pyinstrument session (`pyinstrument -r session`).
    Pyinstrument,
    /// The Firefox Profiler's processed format (CPython 3.15's sampler `--gecko`, samply).
    Gecko,
}

impl Format {
    /// The name used on the wire and in `profview stats --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pstats => "pstats",
            Format::Folded => "folded",
            Format::Recording => "recording",
            Format::Pprof => "pprof",
            Format::Speedscope => "speedscope",
            Format::ChromeTrace => "chrome-trace",
            Format::Cpuprofile => "cpuprofile",
            Format::Pyinstrument => "pyinstrument",
            Format::Gecko => "gecko",
        }
    }
}

/// The producer dialect of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// cProfile (C `_lsprof`), also files merged by `pstats.Stats.add`.
    Cprofile,
    /// The pure-Python `profile` module: callers are plain call counts.
    Profile,
    /// yappi's `save(type="pstat")`: cc and nc are swapped in the outer tuple.
    Yappi,
    /// Brendan Gregg's / inferno's plain folded stacks.
    Gregg,
    /// py-spy `record -f raw`.
    PySpy,
    /// austin's sample-per-line output.
    Austin,
    /// CPython 3.15 `profiling.sampling` ("Tachyon") collapsed output.
    Tachyon,
    /// `perf script` collapsed by inferno (`comm-pid/tid` roots, `_[k]` suffixes).
    Perf,
    /// The `profview` Python package's recorder.
    Profview,
    /// yappi's `save(type="callgrind")`: callgrind text read into pstats data (cc and nc in order).
    YappiCallgrind,
    /// Other callgrind text (pyprof2calltree, valgrind) read into pstats data.
    Callgrind,
    /// pprof `profile.proto` (Go, pyroscope, ddtrace, Cloud Profiler, `profview export`).
    Pprof,
    /// A speedscope file (any exporter).
    Speedscope,
    /// Chrome trace events (any producer).
    ChromeTrace,
    /// A V8 `.cpuprofile`.
    Cpuprofile,
    /// pyinstrument.
    Pyinstrument,
    /// A Firefox Profiler processed profile.
    Gecko,
}

impl Dialect {
    /// The name used on the wire and in `profview stats --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Cprofile => "cprofile",
            Dialect::Profile => "profile",
            Dialect::Yappi => "yappi",
            Dialect::Gregg => "gregg",
            Dialect::PySpy => "py-spy",
            Dialect::Austin => "austin",
            Dialect::Tachyon => "tachyon",
            Dialect::Perf => "perf",
            Dialect::Profview => "profview",
            Dialect::YappiCallgrind => "yappi-callgrind",
            Dialect::Callgrind => "callgrind",
            Dialect::Pprof => "pprof",
            Dialect::Speedscope => "speedscope",
            Dialect::ChromeTrace => "chrome-trace",
            Dialect::Cpuprofile => "cpuprofile",
            Dialect::Pyinstrument => "pyinstrument",
            Dialect::Gecko => "gecko",
        }
    }
}

/// The unit of the profile's primary metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Seconds (pstats times).
    Seconds,
    /// Sample counts.
    Samples,
    /// Microseconds (austin wall/cpu mode).
    Microseconds,
    /// Bytes (austin memory mode).
    Bytes,
}

impl Unit {
    /// The name used on the wire and in `profview stats --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Samples => "samples",
            Unit::Microseconds => "microseconds",
            Unit::Bytes => "bytes",
        }
    }
}

/// One function: the pstats key `(file, line, name)` or a parsed folded frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Function name as stored (`<built-in method builtins.exec>`, `Node.count`, `main`).
    pub name: String,
    /// File as stored (`~` for cProfile built-ins, `""` when a folded frame has none).
    pub file: String,
    /// Line as stored (0 when unknown).
    pub line: i64,
}

/// Per-function pstats numbers, as `pstats.Stats` holds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PstatsStats {
    /// `cc`: primitive (non-recursive) calls.
    pub primcalls: u64,
    /// `nc`: all calls.
    pub ncalls: u64,
    /// `tt`: own time in seconds.
    pub tottime: f64,
    /// `ct`: cumulative time in seconds.
    pub cumtime: f64,
}

/// One caller→callee edge of a pstats file (an entry of a callee's callers dict).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallEdge {
    /// The caller.
    pub caller: FuncId,
    /// The callee (the function whose callers dict holds this entry).
    pub callee: FuncId,
    /// Calls along this edge.
    pub ncalls: u64,
    /// Primitive calls along this edge; `None` for the `profile` module (plain int callers).
    pub primcalls: Option<u64>,
    /// Callee's own time spent under this caller; `None` for `profile`.
    pub tottime: Option<f64>,
    /// Callee's cumulative time under this caller; `None` for `profile`.
    pub cumtime: Option<f64>,
}

/// The deterministic-profiler part of a profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PstatsData {
    /// Per function, indexed by [`FuncId`]. `None` for a function that only appears as a caller
    /// (a key missing from the top-level dict).
    pub stats: Vec<Option<PstatsStats>>,
    /// Every caller edge, grouped by callee in file order, each group in its callers-dict order.
    pub edges: Vec<CallEdge>,
    /// Σ nc in file order, as `pstats.Stats.total_calls`.
    pub total_calls: u64,
    /// Σ cc in file order, as `pstats.Stats.prim_calls`.
    pub prim_calls: u64,
    /// Σ tt in file order, as `pstats.Stats.total_tt` (bit-exact when summed in file order).
    pub total_time: f64,
}

/// Sentinel for "no parent" in [`StackTable::parent`].
pub const NO_PARENT: u32 = u32::MAX;

/// A prefix tree of frames: node `i` is the stack `parent[i]`'s stack plus `func[i]`.
/// Nodes are interned, so one stack is one node; a parent always precedes its children.
/// Depths are not stored (4 bytes per node); [`StackTable::depths`] computes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StackTable {
    /// Parent node index, or [`NO_PARENT`] for a root frame.
    pub parent: Vec<u32>,
    /// The frame's function.
    pub func: Vec<FuncId>,
}

impl StackTable {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.func.len()
    }
    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.func.is_empty()
    }
    /// The parent of a node.
    pub fn parent_of(&self, s: StackId) -> Option<StackId> {
        let p = self.parent[s.idx()];
        (p != NO_PARENT).then_some(StackId(p))
    }
    /// Depth of every node (root = 0), in one pass (parents precede children).
    pub fn depths(&self) -> Vec<u32> {
        let mut d: Vec<u32> = Vec::with_capacity(self.parent.len());
        for &p in &self.parent {
            let v = if p == NO_PARENT { 0 } else { d.get(p as usize).map_or(0, |x| x + 1) };
            d.push(v);
        }
        d
    }
    /// Depth of one node (root = 0), by walking up.
    pub fn depth_of(&self, s: StackId) -> u32 {
        let mut d = 0;
        let mut cur = self.parent[s.idx()];
        while cur != NO_PARENT {
            d += 1;
            cur = self.parent[cur as usize];
        }
        d
    }
    /// The frames of a stack, root first.
    pub fn frames(&self, s: StackId) -> Vec<FuncId> {
        let mut out = Vec::new();
        let mut cur = Some(s);
        while let Some(n) = cur {
            out.push(self.func[n.idx()]);
            cur = self.parent_of(n);
        }
        out.reverse();
        out
    }
}

/// [`Sample::node`] of a sample with an empty stack.
pub const NO_STACK: u32 = u32::MAX;

/// One aggregated sample: a stack on a thread with a weight (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The leaf node of the stack; [`NO_STACK`] for a sample with an empty stack (see
    /// [`Sample::stack`]).
    pub node: u32,
    /// The thread the sample was taken on.
    pub thread: ThreadId,
    /// The metric: sample count, µs, or bytes (may be negative for austin memory deltas).
    pub weight: f64,
}

impl Sample {
    /// A sample at `stack` (`None` = the empty stack).
    pub fn new(stack: Option<StackId>, thread: ThreadId, weight: f64) -> Self {
        Sample { node: stack.map_or(NO_STACK, |s| s.0), thread, weight }
    }
    /// The leaf node of the stack; `None` for a sample with an empty stack.
    #[inline]
    pub fn stack(&self) -> Option<StackId> {
        (self.node != NO_STACK).then_some(StackId(self.node))
    }
}

/// The sampling-profiler part of a profile.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleData {
    /// All stacks, interned.
    pub stacks: StackTable,
    /// Samples, aggregated per (stack, thread), in first-seen order.
    pub samples: Vec<Sample>,
}

impl SampleData {
    /// Sum of all sample weights, in sample order.
    pub fn total(&self) -> f64 {
        self.samples.iter().map(|s| s.weight).sum()
    }
}

/// A thread (or process/thread pair) that samples were taken on.
#[derive(Clone, Debug, PartialEq)]
pub struct Thread {
    /// Stable id as the producer wrote it, e.g. `19680`, `P123;T0:456`, `python-123/456`.
    pub id: String,
    /// Human name when the producer gives one (`MainThread`).
    pub name: Option<String>,
}

/// A whole imported profile.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Container format.
    pub format: Format,
    /// Producer dialect.
    pub dialect: Dialect,
    /// Unit of the primary metric.
    pub unit: Unit,
    /// All functions; [`FuncId`] indexes this.
    pub functions: Vec<Function>,
    /// Threads; [`ThreadId`] indexes this. pstats files have none.
    pub threads: Vec<Thread>,
    /// Deterministic-profiler data.
    pub pstats: Option<PstatsData>,
    /// Sampling-profiler data.
    pub samples: Option<SampleData>,
    /// True when a function's line is the line the frame was executing when sampled (py-spy,
    /// austin, Tachyon), so one Python function is several functions here, one per line seen;
    /// false when it is the definition line (pstats, the recorder) or unknown. The index then
    /// groups the functions by (name, file) (`profview-index`, `lines.rs`).
    pub lines_are_current: bool,
}

impl Profile {
    /// The function behind an id.
    pub fn func(&self, id: FuncId) -> &Function {
        &self.functions[id.idx()]
    }

    /// Checks every invariant the queries rely on. Importers call it before returning a profile,
    /// and fuzzers assert it for every accepted input.
    pub fn check_valid(&self) -> Result<(), String> {
        let nf = self.functions.len();
        if nf > u32::MAX as usize {
            return Err("too many functions".into());
        }
        if self.pstats.is_none() && self.samples.is_none() {
            return Err("profile has neither pstats data nor samples".into());
        }
        if let Some(p) = &self.pstats {
            if p.stats.len() != nf {
                return Err(format!("pstats table has {} rows for {} functions", p.stats.len(), nf));
            }
            for (i, s) in p.stats.iter().enumerate() {
                if let Some(s) = s {
                    if !s.tottime.is_finite() || !s.cumtime.is_finite() {
                        return Err(format!("function {i} has a non-finite time"));
                    }
                }
            }
            for (i, e) in p.edges.iter().enumerate() {
                if e.caller.idx() >= nf || e.callee.idx() >= nf {
                    return Err(format!("edge {i} points outside the function table"));
                }
                if e.tottime.is_some_and(|t| !t.is_finite()) || e.cumtime.is_some_and(|t| !t.is_finite()) {
                    return Err(format!("edge {i} has a non-finite time"));
                }
            }
            if !p.total_time.is_finite() {
                return Err("total time is not finite".into());
            }
        }
        if let Some(s) = &self.samples {
            let t = &s.stacks;
            if t.parent.len() != t.func.len() {
                return Err("stack table columns differ in length".into());
            }
            if t.len() >= NO_STACK as usize {
                return Err("too many stack nodes".into());
            }
            for i in 0..t.len() {
                if t.func[i].idx() >= nf {
                    return Err(format!("stack node {i} points outside the function table"));
                }
                // Parents precede children: every depth is finite and no node is its own ancestor.
                let p = t.parent[i];
                if p != NO_PARENT && p as usize >= i {
                    return Err(format!("stack node {i} has a parent that does not precede it"));
                }
            }
            for (i, smp) in s.samples.iter().enumerate() {
                if smp.stack().is_some_and(|st| st.idx() >= t.len()) {
                    return Err(format!("sample {i} points outside the stack table"));
                }
                if smp.thread.idx() >= self.threads.len() {
                    return Err(format!("sample {i} points outside the thread table"));
                }
                if !smp.weight.is_finite() {
                    return Err(format!("sample {i} has a non-finite weight"));
                }
            }
        }
        Ok(())
    }
}

/// Builds the sampled part of a profile: interns functions, threads and stacks, and sums
/// duplicate (stack, thread) samples.
#[derive(Debug, Default)]
pub struct SampleBuilder {
    functions: Vec<Function>,
    func_ids: HashMap<(String, String, i64), FuncId>,
    threads: Vec<Thread>,
    thread_ids: HashMap<String, ThreadId>,
    stacks: StackTable,
    children: HashMap<(u32, FuncId), StackId>,
    samples: Vec<Sample>,
    sample_ids: HashMap<(u32, ThreadId), usize>,
}

impl SampleBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Interns a function by `(name, file, line)`.
    pub fn function(&mut self, name: &str, file: &str, line: i64) -> FuncId {
        // Look up without allocating on the hot path.
        let key = (name.to_owned(), file.to_owned(), line);
        if let Some(&id) = self.func_ids.get(&key) {
            return id;
        }
        let id = FuncId(self.functions.len() as u32);
        self.functions.push(Function { name: key.0.clone(), file: key.1.clone(), line });
        self.func_ids.insert(key, id);
        id
    }

    /// Interns a thread by id; the first non-`None` name wins.
    pub fn thread(&mut self, id: &str, name: Option<String>) -> ThreadId {
        if let Some(&t) = self.thread_ids.get(id) {
            let th = &mut self.threads[t.idx()];
            if th.name.is_none() {
                th.name = name;
            }
            return t;
        }
        let t = ThreadId(self.threads.len() as u32);
        self.threads.push(Thread { id: id.to_owned(), name });
        self.thread_ids.insert(id.to_owned(), t);
        t
    }

    /// Interns one child node under `parent` (or a root when `None`).
    pub fn child(&mut self, parent: Option<StackId>, func: FuncId) -> StackId {
        let p = parent.map_or(NO_PARENT, |s| s.0);
        if let Some(&s) = self.children.get(&(p, func)) {
            return s;
        }
        let s = StackId(self.stacks.func.len() as u32);
        self.stacks.parent.push(p);
        self.stacks.func.push(func);
        self.children.insert((p, func), s);
        s
    }

    /// Adds `weight` to the sample at `stack` on `thread`.
    pub fn add_at(&mut self, stack: Option<StackId>, thread: ThreadId, weight: f64) {
        let key = (stack.map_or(NO_PARENT, |s| s.0), thread);
        match self.sample_ids.get(&key) {
            Some(&i) => self.samples[i].weight += weight,
            None => {
                self.sample_ids.insert(key, self.samples.len());
                self.samples.push(Sample::new(stack, thread, weight));
            }
        }
    }

    /// Adds a whole stack (root first).
    pub fn add_sample(&mut self, frames: &[FuncId], thread: ThreadId, weight: f64) {
        let mut cur = None;
        for &f in frames {
            cur = Some(self.child(cur, f));
        }
        self.add_at(cur, thread, weight);
    }

    /// Number of functions interned so far.
    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// Finishes a folded profile.
    pub fn finish(self, dialect: Dialect, unit: Unit) -> Profile {
        Profile {
            format: Format::Folded,
            dialect,
            unit,
            functions: self.functions,
            threads: self.threads,
            pstats: None,
            samples: Some(SampleData { stacks: self.stacks, samples: self.samples }),
            lines_are_current: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_interns_and_sums() {
        let mut b = SampleBuilder::new();
        let t = b.thread("1", None);
        let t2 = b.thread("1", Some("main".into()));
        assert_eq!(t, t2);
        let a = b.function("a", "f.py", 1);
        let c = b.function("c", "f.py", 2);
        assert_eq!(b.function("a", "f.py", 1), a);
        b.add_sample(&[a, c], t, 2.0);
        b.add_sample(&[a, c], t, 3.0);
        b.add_sample(&[a], t, 1.0);
        let p = b.finish(Dialect::Gregg, Unit::Samples);
        assert_eq!(p.threads[0].name.as_deref(), Some("main"));
        let s = p.samples.as_ref().unwrap();
        assert_eq!(s.samples.len(), 2);
        assert_eq!(s.total(), 6.0);
        assert_eq!(s.stacks.frames(s.samples[0].stack().unwrap()), vec![a, c]);
        assert!(p.check_valid().is_ok());
        assert_eq!(std::mem::size_of::<Sample>(), 16);
        let st = &s.stacks;
        assert_eq!(st.depths(), (0..st.len()).map(|i| st.depth_of(StackId(i as u32))).collect::<Vec<_>>());
        assert_eq!(st.depths(), vec![0, 1]);
    }

    #[test]
    fn check_valid_rejects_dangling_edges() {
        let p = Profile {
            format: Format::Pstats,
            dialect: Dialect::Cprofile,
            unit: Unit::Seconds,
            functions: vec![Function { name: "f".into(), file: "a.py".into(), line: 1 }],
            threads: vec![],
            pstats: Some(PstatsData {
                stats: vec![None],
                edges: vec![CallEdge {
                    caller: FuncId(3),
                    callee: FuncId(0),
                    ncalls: 1,
                    primcalls: None,
                    tottime: None,
                    cumtime: None,
                }],
                ..Default::default()
            }),
            samples: None,
            lines_are_current: false,
        };
        assert!(p.check_valid().is_err());
    }
}
