//! Importer benchmarks against baselines run by this same program (issue 3, deliverable 9).
//! Not a timed test: it prints a Markdown table; BENCHMARKS.md ("## Importers") records runs.
//!
//! Inputs come from `shared/perf/gen.py` (never committed; a benchmark, not a test, so it may use
//! the reference material beside the clone; the tests read only `tests/fixtures/`):
//! ```text
//! python3 shared/perf/gen.py pstats /tmp/p200k.prof 200000
//! python3 shared/perf/gen.py folded /tmp/f100m.folded 104857600 --seed 2
//! python3 shared/perf/gen.py folded /tmp/f1g.folded 1073741824 --seed 3
//! cargo install inferno            # for inferno-flamegraph
//! CARGO_TARGET_DIR=/tmp/target-perf cargo run --release -p profview-import --example bench_import -- \
//!     --pstats /tmp/p200k.prof --folded /tmp/f100m.folded --big /tmp/f1g.folded --runs 3
//! ```
//! Every figure is the median of `--runs` runs (min–max shown as the noise). Wall clock, and
//! CPU time (user+sys of every thread, or of the spawned baseline) from /proc/self/stat.
//!
//! * pstats: `import` + `ProfileIndex::build` (file read included; the index is dropped after
//!   the clock stops, as the server keeps it) vs
//!   `python3 -c 'import pstats,sys; pstats.Stats(sys.argv[1]).sort_stats("cumulative")' FILE`.
//! * folded: `import_reader` on the file (streamed in blocks, parsed on every core: the server's
//!   path) + index, the index dropped after the clock, vs `inferno-flamegraph FILE > /dev/null`;
//!   serial parse vs a minimal floor (split lines on `;`, intern names in a std `HashMap`) on
//!   the same bytes in memory; the raw read of the file (page cache) as a reference line.
//! * big folded: a child process (this program with `--stream`) streams the file with
//!   `parse_folded_reader` (blocks, all cores) and reports its wall time and peak RSS (VmHWM)
//!   after the parse and after `ProfileIndex::build`.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Instant;

use profview_import::{folded, import, parse_folded_parallel, parse_folded_reader, Limits, StreamOptions};
use profview_index::ProfileIndex;

/// (user+sys of this process's threads, of its waited-for children), seconds.
fn cpu() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14); ticks of 1/100 s
    let g = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    (g(11) + g(12), g(13) + g(14))
}

fn status_kb(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[derive(Default, Clone, Copy)]
struct M {
    wall: f64,
    cpu: f64,
}

/// Runs `f` once, measuring wall and CPU (own threads + waited children).
fn measure(mut f: impl FnMut()) -> M {
    let (a, b) = cpu();
    let t = Instant::now();
    f();
    let wall = t.elapsed().as_secs_f64();
    let (c, d) = cpu();
    M {
        wall,
        cpu: (c - a) + (d - b),
    }
}

struct Series(Vec<M>);

impl Series {
    fn med(&self, f: impl Fn(&M) -> f64) -> f64 {
        let mut v: Vec<f64> = self.0.iter().map(f).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }
    fn wall(&self) -> f64 {
        self.med(|m| m.wall)
    }
    fn cpu(&self) -> f64 {
        self.med(|m| m.cpu)
    }
    fn range(&self) -> String {
        let lo = self.0.iter().map(|m| m.wall).fold(f64::INFINITY, f64::min);
        let hi = self.0.iter().map(|m| m.wall).fold(0.0, f64::max);
        format!("{lo:.3}–{hi:.3}")
    }
}

fn floor(data: &[u8]) -> (usize, u64) {
    let mut names: HashMap<String, u32> = HashMap::new();
    let mut total = 0u64;
    for line in data.split(|&b| b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            continue;
        };
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(c) = count.trim().parse::<u64>() else {
            continue;
        };
        total += c;
        for f in stack.split(';') {
            let n = names.len() as u32;
            if !names.contains_key(f) {
                names.insert(f.to_owned(), n);
            }
        }
    }
    (names.len(), total)
}

fn spawn_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

struct Row {
    what: String,
    ours: String,
    base: String,
    goal: String,
    got: String,
    met: bool,
}

fn row(rows: &mut Vec<Row>, what: &str, ours: String, base: String, goal: &str, got: String, met: bool) {
    println!("  {what}: ours {ours} | baseline {base} | goal {goal} | got {got} | {}", if met { "met" } else { "MISSED" });
    rows.push(Row {
        what: what.into(),
        ours,
        base,
        goal: goal.into(),
        got,
        met,
    });
}

fn stream_child(path: &str, threads: usize, index: bool) {
    let opts = StreamOptions {
        threads,
        ..StreamOptions::default()
    };
    let size = std::fs::metadata(path).expect("stat the input file").len() as f64;
    let m0 = status_kb("VmHWM:");
    let (c0, _) = cpu();
    let t = Instant::now();
    let file = std::fs::File::open(path).expect("open the input file");
    let out = parse_folded_reader(std::io::BufReader::with_capacity(1 << 16, file), &Limits::default(), &opts).expect("parse the folded file");
    let parse = t.elapsed().as_secs_f64();
    let (c1, _) = cpu();
    let hwm_parse = status_kb("VmHWM:");
    let rss_parse = status_kb("VmRSS:");
    let sd = out.profile.samples.as_ref().expect("a folded file has samples");
    let (nodes, samples, funcs) = (sd.stacks.len(), sd.samples.len(), out.profile.functions.len());
    let (mut idx_s, mut hwm_idx) = (0.0, hwm_parse);
    if index {
        let t = Instant::now();
        let ix = ProfileIndex::build(out.profile);
        idx_s = t.elapsed().as_secs_f64();
        hwm_idx = status_kb("VmHWM:");
        drop(ix);
    }
    println!(
        "STREAM parse_s={parse:.3} parse_cpu_s={:.3} index_s={idx_s:.3} hwm_start_kb={m0} hwm_parse_kb={hwm_parse} rss_after_parse_kb={rss_parse} hwm_index_kb={hwm_idx} size={size} nodes={nodes} samples={samples} functions={funcs}",
        c1 - c0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let threads: usize = opt("--threads").map_or(0, |t| t.parse().expect("--threads takes a number"));
    if let Some(p) = opt("--stream") {
        stream_child(&p, threads, !args.iter().any(|a| a == "--no-index"));
        return;
    }
    let runs: usize = opt("--runs").map_or(3, |r| r.parse().expect("--runs takes a number"));
    let no_ext = args.iter().any(|a| a == "--no-external");
    let popts = StreamOptions {
        threads,
        ..StreamOptions::default()
    };
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_owned();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {nproc} CPUs, load average at start {}", load());
    let mut rows = Vec::new();

    if let Some(p) = opt("--pstats") {
        println!("pstats {p}: {} bytes", std::fs::metadata(&p).expect("stat the input file").len());
        let mut ours = Vec::new();
        let mut py = Vec::new();
        let mut nfun = 0;
        for _ in 0..runs {
            // The index leaves the closure and is dropped after the clock stops: the server keeps
            // a loaded profile (freeing 200k functions' strings is not part of loading one). The
            // file's bytes are freed (on the clock) before indexing, as in the server, whose
            // `import_reader` drops its buffer before `ProfileIndex::build`; with glibc, a 46 MB
            // buffer still held during the build makes the later runs fault in ~12k more pages
            // each (+15–30 ms; see BENCHMARKS.md).
            let mut loaded = None;
            ours.push(measure(|| {
                let b = std::fs::read(&p).expect("read the input file");
                let out = import(&p, &b, &Limits::default()).expect("import the pstats file");
                drop(b);
                nfun = out.profile.functions.len();
                loaded = Some(ProfileIndex::build(out.profile));
            }));
            drop(std::hint::black_box(loaded));
            if !no_ext {
                py.push(measure(|| {
                    let ok = spawn_ok(Command::new("python3").args([
                        "-c",
                        "import pstats,sys; pstats.Stats(sys.argv[1]).sort_stats(\"cumulative\")",
                        &p,
                    ]));
                    assert!(ok, "python3 pstats failed");
                }));
            }
        }
        let o = Series(ours);
        println!("  ours import+index: {:.3} s wall (range {}), {:.3} s CPU, {nfun} functions", o.wall(), o.range(), o.cpu());
        if !py.is_empty() {
            let b = Series(py);
            println!("  python pstats load+sort: {:.3} s wall (range {}), {:.3} s CPU", b.wall(), b.range(), b.cpu());
            let r = b.wall() / o.wall();
            row(&mut rows, "200k-function pstats: load + index vs `pstats.Stats(f).sort_stats`", format!("{:.3} s", o.wall()), format!("{:.3} s", b.wall()), "≥ 20×", format!("{r:.1}×"), r >= 20.0);
        }
    }

    if let Some(p) = opt("--folded") {
        let size = std::fs::metadata(&p).expect("stat the input file").len() as f64;
        let mb = size / 1e6;
        println!("folded {p}: {size} bytes");
        let (mut read, mut fl, mut ser, mut par, mut full, mut inf) = (vec![], vec![], vec![], vec![], vec![], vec![]);
        let mut info = String::new();
        for _ in 0..runs {
            let mut data = Vec::new();
            read.push(measure(|| data = std::fs::read(&p).expect("read the input file")));
            let mut names = 0;
            fl.push(measure(|| names = floor(&data).0));
            ser.push(measure(|| {
                let out = folded::parse(&data, &Limits::default()).expect("parse the folded file");
                let sd = out.profile.samples.as_ref().expect("a folded file has samples");
                info = format!("{} functions (floor: {names} names), {} stack nodes, {} samples", out.profile.functions.len(), sd.stacks.len(), sd.samples.len());
            }));
            par.push(measure(|| {
                std::hint::black_box(parse_folded_parallel(&data, &Limits::default(), &popts).expect("parse the folded file"));
            }));
            drop(data);
            // As the server loads a file: streamed from disk in blocks, parsed on both cores,
            // indexed; the index is dropped after the clock stops (as for pstats).
            let mut loaded = None;
            full.push(measure(|| {
                let f = std::fs::File::open(&p).expect("open the input file");
                let out = profview_import::import_reader(&p, f, &Limits::default(), &popts).expect("stream the folded file");
                loaded = Some(ProfileIndex::build(out.profile));
            }));
            drop(std::hint::black_box(loaded));
            if !no_ext {
                inf.push(measure(|| {
                    let ok = spawn_ok(Command::new("inferno-flamegraph").arg(&p));
                    assert!(ok, "inferno-flamegraph failed (cargo install inferno)");
                }));
            }
        }
        let (read, fl, ser, par, full) = (Series(read), Series(fl), Series(ser), Series(par), Series(full));
        println!("  {info}");
        for (n, s) in [("raw read (page cache)", &read), ("floor (split + HashMap intern)", &fl), ("ours parse, 1 thread", &ser), ("ours parse, parallel", &par), ("ours streamed read + parse + index (server path)", &full)] {
            println!("  {n}: {:.3} s wall (range {}), {:.0} MB/s, {:.3} s CPU", s.wall(), s.range(), mb / s.wall(), s.cpu());
        }
        let r = fl.wall() / ser.wall();
        row(&mut rows, "100 MB folded: parse (1 thread) vs floor", format!("{:.0} MB/s", mb / ser.wall()), format!("{:.0} MB/s", mb / fl.wall()), "≥ 60%", format!("{:.0}%", 100.0 * r), r >= 0.6);
        let r = fl.wall() / par.wall();
        row(&mut rows, "100 MB folded: parse (parallel) vs floor", format!("{:.0} MB/s", mb / par.wall()), format!("{:.0} MB/s", mb / fl.wall()), "(info)", format!("{:.0}%", 100.0 * r), true);
        row(&mut rows, "100 MB folded: raw read (reference)", format!("{:.0} MB/s", mb / read.wall()), "-".into(), "-", "-".into(), true);
        if !inf.is_empty() {
            let i = Series(inf);
            println!("  inferno-flamegraph: {:.3} s wall (range {}), {:.3} s CPU", i.wall(), i.range(), i.cpu());
            let r = i.wall() / full.wall();
            row(&mut rows, "100 MB folded: read + parse + index vs `inferno-flamegraph`", format!("{:.3} s", full.wall()), format!("{:.3} s", i.wall()), "≥ 4×", format!("{r:.1}×"), r >= 4.0);
        }
    }

    if let Some(p) = opt("--big") {
        let size = std::fs::metadata(&p).expect("stat the input file").len() as f64;
        println!("big folded {p}: {size} bytes (streamed by a child process)");
        let me = std::env::current_exe().expect("this benchmark's own path");
        let mut res: Vec<HashMap<String, f64>> = Vec::new();
        for _ in 0..runs {
            let mut c = Command::new(&me);
            c.args(["--stream", &p, "--threads", &threads.to_string()]);
            let out = c.output().expect("run the child");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = text.lines().find(|l| l.starts_with("STREAM")).unwrap_or_else(|| panic!("child failed: {text} {}", String::from_utf8_lossy(&out.stderr)));
            println!("  {line}");
            res.push(line.split_whitespace().skip(1).filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.parse().unwrap_or(0.0))).collect());
        }
        let med = |k: &str| {
            let mut v: Vec<f64> = res.iter().map(|m| m[k]).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        let (t, hp, hi) = (med("parse_s"), med("hwm_parse_kb") * 1024.0, med("hwm_index_kb") * 1024.0);
        row(&mut rows, "1 GB folded: streamed parse, all cores", format!("{t:.2} s ({:.0} MB/s, {:.2} s CPU)", size / 1e6 / t, med("parse_cpu_s")), "-".into(), "≤ 7 s", format!("{t:.2} s"), t <= 7.0);
        row(&mut rows, "1 GB folded: peak RSS after the parse", format!("{:.0} MiB", hp / 1048576.0), "inferno ≈ 2.2×".into(), "≤ 0.5× file", format!("{:.2}×", hp / size), hp / size <= 0.5);
        row(&mut rows, "1 GB folded: + ProfileIndex::build", format!("{:.2} s more, peak {:.0} MiB", med("index_s"), hi / 1048576.0), "-".into(), "(info)", format!("{:.2}×", hi / size), true);
        if args.iter().any(|a| a == "--inferno-big") && !no_ext {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "INFERNO wall=%e maxrss_kb=%M", "inferno-flamegraph", &p]).stdout(Stdio::null());
            let o = c.output().expect("run the child");
            let e = String::from_utf8_lossy(&o.stderr);
            if let Some(l) = e.lines().find(|l| l.starts_with("INFERNO")) {
                println!("  {l}");
            }
        }
    }

    println!("load average at end {}", load());
    println!();
    println!("| benchmark | ours | baseline | goal | measured | met? |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!("| {} | {} | {} | {} | {} | {} |", r.what, r.ours, r.base, r.goal, r.got, if r.met { "yes" } else { "**no**" });
    }
}
