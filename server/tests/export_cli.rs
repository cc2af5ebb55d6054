//! `profview export` and `profview serve`'s store, run as real processes.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A file of the repository's test fixtures, `tests/fixtures/` (origins in its `MANIFEST.md`).
fn fixtures(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(rel)
}

fn tmpdir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("profview-cli-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn profview(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_profview")).args(args).output().unwrap()
}

#[test]
fn export_writes_svg_folded_and_the_stats_json() {
    let dir = tmpdir("export");
    let prof = fixtures("corpus/pstats/cprofile_black_one_file.prof");
    let p = prof.to_str().unwrap();
    for fmt in ["svg", "folded", "json"] {
        let out = dir.join(format!("out.{fmt}"));
        let o = profview(&["export", p, "--format", fmt, "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{fmt}: {}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&out).unwrap();
        match fmt {
            "svg" => assert!(text.starts_with("<?xml") && text.contains("cprofile_black_one_file.prof")),
            "folded" => assert!(text.lines().skip(1).all(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().is_ok())),
            _ => {
                let stats = profview(&["stats", p, "--json"]);
                let a: serde_json::Value = serde_json::from_str(&text).unwrap();
                let b: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
                assert_eq!(a, b, "export json is the stats --json report");
            }
        }
    }
    // Without -o: standard output.
    let o = profview(&["export", fixtures("corpus/folded/pyspy_cpu_raw_default.txt").to_str().unwrap(), "--format", "folded"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("<module> (cpu_work.py:34);main (cpu_work.py:31)"));
    // A bad file: exit 1, the path and the problem on stderr.
    let badf = fixtures("bad/pstats_truncated_at_100_of_2067.prof");
    let o = profview(&["export", badf.to_str().unwrap(), "--format", "svg"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pstats_truncated_at_100_of_2067.prof") && err.contains("byte"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn serve_stores_its_files_and_refuses_a_bad_one_storing_nothing() {
    let dir = tmpdir("serve");
    let badf = fixtures("bad/pstats_truncated_at_100_of_2067.prof");
    let o = profview(&["serve", badf.to_str().unwrap(), "--no-browser", "--port", "0", "--data-dir", dir.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("pstats_truncated_at_100_of_2067.prof"));
    assert_eq!(std::fs::read_dir(dir.join("blobs")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);

    let good = fixtures("corpus/pstats/cprofile_tiny.prof");
    let mut child = Command::new(env!("CARGO_BIN_EXE_profview"))
        .args(["serve", good.to_str().unwrap(), "--no-browser", "--port", "0", "--data-dir", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let id = line.trim().rsplit("/p/").next().unwrap().to_owned();
    assert_eq!(id, profview_server::state::content_id(&std::fs::read(&good).unwrap()), "{line}");
    let blobs: Vec<String> =
        std::fs::read_dir(dir.join("blobs")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(blobs, vec![id]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The JSON importers through the CLI: each real file is recognised by its content under a wrong
/// name, its totals and threads are the independent truth's (`tests/fixtures/formats/`), and a
/// sampled profile exported as speedscope reads back with the same totals per thread.
#[test]
fn json_formats_are_read_by_content_and_sampled_profiles_export_as_speedscope() {
    let dir = tmpdir("json");
    let files = [
        ("corpus/other/pyspy_edge_names.speedscope.json", "speedscope"),
        ("corpus/other/pyspy_cpu.chrometrace.json", "chrome-trace"),
        ("corpus/other/node20_js_work.cpuprofile", "cpuprofile"),
        ("formats/pyi_workload.pyisession", "pyinstrument"),
    ];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    for (rel, format) in files {
        let name = rel.rsplit('/').next().unwrap();
        let copy = dir.join("profile.txt");
        std::fs::copy(fixtures(rel), &copy).unwrap();
        let o = profview(&["stats", copy.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{rel}: {}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let t: serde_json::Value = serde_json::from_slice(&std::fs::read(fixtures(&format!("formats/{name}.functions.json"))).unwrap()).unwrap();
        assert_eq!(v["format"], format, "{rel}");
        assert_eq!(v["unit"], t["unit"], "{rel}");
        assert!(close(v["total"].as_f64().unwrap(), t["total"].as_f64().unwrap()), "{rel}: {} vs {}", v["total"], t["total"]);
        let threads: Vec<(String, Option<String>)> =
            v["threads"].as_array().unwrap().iter().map(|x| (x["id"].as_str().unwrap().to_owned(), x["name"].as_str().map(str::to_owned))).collect();
        let want: Vec<(String, Option<String>)> =
            t["threads"].as_array().unwrap().iter().map(|x| (x[0].as_str().unwrap().to_owned(), x[1].as_str().map(str::to_owned))).collect();
        assert_eq!(threads, want, "{rel}");
        assert_eq!(v["function_count"].as_u64().unwrap() as usize, t["functions"].as_array().unwrap().len(), "{rel}");
    }

    let folded = fixtures("corpus/folded/pyspy_threads_raw_threads_idle_nolineno.txt");
    let out = dir.join("out.speedscope.json");
    let o = profview(&["export", folded.to_str().unwrap(), "--format", "speedscope", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stats = |p: &Path| -> serde_json::Value { serde_json::from_slice(&profview(&["stats", p.to_str().unwrap(), "--json"]).stdout).unwrap() };
    let (a, b) = (stats(&folded), stats(&out));
    assert_eq!(b["format"], "speedscope");
    assert_eq!((&a["total"], &a["threads"], &a["function_count"]), (&b["total"], &b["threads"], &b["function_count"]));

    let o = profview(&["export", fixtures("corpus/pstats/cprofile_tiny.prof").to_str().unwrap(), "--format", "speedscope"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("this profile has no samples"), "{}", String::from_utf8_lossy(&o.stderr));
}
