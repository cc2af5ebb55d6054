//! The team-server load test (BENCHMARKS.md, "Team server"): a `moto_server` (S3) and two
//! `profview serve --store s3://…` replicas on 127.0.0.1, clients sending a mix of function-table,
//! tree and upload requests for a bounded time, optionally one replica killed (`kill -9`) in the
//! middle. Clients fail over to the other replica on a refused or broken connection, as a
//! reverse proxy would (uploads are safe to resend: the id is the content's hash).
//!
//! Prints requests per second, p50/p99 latency per kind, errors (a non-2xx answer, or no replica
//! answering) and lost profiles (an upload answered 201 that the surviving replica does not list
//! or cannot load). Exits non-zero when either is not 0.
//!
//! `cargo run --release --bin bench-team -- --moto target/moto-venv/bin/moto_server --seconds 30 --clients 8 [--kill-at 15]`
//! (`scripts/bench-team.sh` runs both the plain and the kill run.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    moto: PathBuf,
    seconds: f64,
    clients: usize,
    kill_at: Option<f64>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args { moto: PathBuf::from("target/moto-venv/bin/moto_server"), seconds: 30.0, clients: 8, kill_at: None };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        let num = |v: &str| v.parse::<f64>().map_err(|e| format!("{k} {v}: {e}"));
        match k.as_str() {
            "--moto" => a.moto = PathBuf::from(v),
            "--seconds" => a.seconds = num(&v)?,
            "--clients" => a.clients = num(&v)? as usize,
            "--kill-at" => a.kill_at = Some(num(&v)?),
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    Ok(a)
}

struct Answer {
    status: u16,
    body: Vec<u8>,
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len());
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other("no status"))?;
    let mut len = None;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("closed in the headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok();
            }
        }
    }
    let mut body = Vec::new();
    match len {
        Some(n) => {
            body.resize(n, 0);
            r.read_exact(&mut body)?;
        }
        None => {
            r.read_to_end(&mut body)?;
        }
    }
    Ok(Answer { status, body })
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !ok() {
        if start.elapsed() > Duration::from_secs(60) {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn start_replica(moto: SocketAddr) -> Result<(Proc, SocketAddr), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("profview");
    let mut child = Command::new(&exe)
        .args(["serve", "--no-browser", "--port", "0", "--store", "s3://bench/team", "--store-timeout", "10"])
        .env("AWS_ENDPOINT_URL", format!("http://{moto}"))
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    out.read_line(&mut line).map_err(|e| e.to_string())?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|u| u.trim().split('/').next())
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| format!("replica did not start: {line:?}"))?;
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Ok((Proc(child), addr))
}

/// A small folded profile, different for every `n`.
fn profile(n: u64) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..200u64 {
        s.push_str(&format!("main;upload_{n};step_{};leaf_{} {}\n", i % 17, i % 53, 1 + (i * n) % 9));
    }
    s.into_bytes()
}

#[derive(Default)]
struct Stats {
    lat: Mutex<Vec<(u8, f64)>>,
    errors: AtomicU64,
    failovers: AtomicU64,
    uploaded: Mutex<Vec<String>>,
}

fn id_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["id"].as_str().map(str::to_owned)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench-team: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let port = free_port().map_err(|e| e.to_string())?;
    let moto_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let _moto = Proc(
        Command::new(&args.moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", args.moto.display()))?,
    );
    wait_until("moto_server", || request(moto_addr, "GET", "/", b"").is_ok())?;
    let made = request(moto_addr, "PUT", "/bench", b"").map_err(|e| e.to_string())?;
    if made.status != 200 {
        return Err(format!("creating the bucket: HTTP {}", made.status));
    }
    let (a, a_addr) = start_replica(moto_addr)?;
    let (b, b_addr) = start_replica(moto_addr)?;
    let replicas = [a_addr, b_addr];
    let mut procs = [Some(a), Some(b)];
    // Seed: two real profiles to read.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/corpus");
    let mut seeds = Vec::new();
    for f in ["pstats/cprofile_black_one_file.prof", "folded/pyspy_cpu_raw_default.txt"] {
        let bytes = std::fs::read(root.join(f)).map_err(|e| format!("{f}: {e}"))?;
        let r = request(a_addr, "POST", "/api/profiles?name=seed", &bytes).map_err(|e| e.to_string())?;
        seeds.push(id_of(&r.body).ok_or(format!("seeding {f}: HTTP {}", r.status))?);
    }
    let stats = Arc::new(Stats::default());
    let dead = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let next_upload = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..args.clients {
        let (stats, dead, seeds, next_upload) = (stats.clone(), dead.clone(), seeds.clone(), next_upload.clone());
        handles.push(std::thread::spawn(move || {
            let mut i = c as u64;
            while Instant::now() < stop_at {
                i += 1;
                // 45% table, 45% tree, 10% upload.
                let kind: u8 = match i % 20 { 0 | 10 => 2, k if k % 2 == 0 => 0, _ => 1 };
                let seed = &seeds[(i as usize / 2) % seeds.len()];
                let (method, path, body) = match kind {
                    0 => ("GET", format!("/api/profiles/{seed}/functions?sort=cumtime&order=desc&limit=100"), Vec::new()),
                    1 => ("GET", format!("/api/profiles/{seed}/tree?mode=inverted"), Vec::new()),
                    _ => {
                        let n = next_upload.fetch_add(1, Ordering::Relaxed);
                        ("POST", format!("/api/profiles?name=load-{n}.txt"), profile(n))
                    }
                };
                let t = Instant::now();
                let mut answered = None;
                for k in 0..2 {
                    let r = (c + i as usize + k) % 2;
                    if dead[r].load(Ordering::Relaxed) {
                        continue;
                    }
                    match request(replicas[r], method, &path, &body) {
                        Ok(a) => {
                            answered = Some(a);
                            break;
                        }
                        Err(_) => {
                            // As a proxy's passive health check: a replica that drops a
                            // connection gets no more requests.
                            dead[r].store(true, Ordering::Relaxed);
                            stats.failovers.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let took = t.elapsed().as_secs_f64();
                match answered {
                    Some(a) if (200..300).contains(&a.status) => {
                        if kind == 2 {
                            if let Some(id) = id_of(&a.body) {
                                stats.uploaded.lock().unwrap_or_else(|p| p.into_inner()).push(id);
                            }
                        }
                        stats.lat.lock().unwrap_or_else(|p| p.into_inner()).push((kind, took));
                    }
                    _ => {
                        stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    if let Some(at) = args.kill_at {
        std::thread::sleep(Duration::from_secs_f64(at));
        if let Some(mut p) = procs[1].take() {
            // kill -9, then the clients find out by themselves (a refused connection).
            let _ = p.0.kill();
            let _ = p.0.wait();
            eprintln!("killed replica {} at {at} s", replicas[1]);
        }
    }
    for h in handles {
        let _ = h.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Lost profiles: every upload answered 201 must be listed and load on the surviving replica.
    let survivor = replicas[0];
    let listed = request(survivor, "GET", "/api/profiles", b"").map_err(|e| e.to_string())?;
    let rows: serde_json::Value = serde_json::from_slice(&listed.body).map_err(|e| e.to_string())?;
    let ids: std::collections::HashSet<String> =
        rows.as_array().into_iter().flatten().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect();
    let uploaded = stats.uploaded.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut lost = 0;
    for id in &uploaded {
        let loads = request(survivor, "GET", &format!("/api/profiles/{id}/tree"), b"").map(|a| a.status == 200).unwrap_or(false);
        if !ids.contains(id) || !loads {
            lost += 1;
        }
    }
    let mut lat = stats.lat.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let total = lat.len();
    let errors = stats.errors.load(Ordering::Relaxed);
    println!(
        "{} s, {} clients, 2 replicas on moto{}",
        args.seconds,
        args.clients,
        args.kill_at.map(|k| format!(", replica 2 killed at {k} s")).unwrap_or_default()
    );
    println!("requests ok: {total} ({:.0} req/s); errors: {errors}; failovers: {}", total as f64 / elapsed, stats.failovers.load(Ordering::Relaxed));
    for (kind, name) in [(0u8, "table"), (1, "tree"), (2, "upload")] {
        let mut v: Vec<f64> = lat.iter().filter(|(k, _)| *k == kind).map(|(_, t)| *t).collect();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(0.0) * 1e3;
        println!("  {name:6} n={:6}  p50 {:7.1} ms  p99 {:7.1} ms", v.len(), q(0.5), q(0.99));
    }
    lat.sort_by(|a, b| a.1.total_cmp(&b.1));
    let p99 = lat.get(((total as f64 * 0.99) as usize).min(total.saturating_sub(1))).map_or(0.0, |x| x.1) * 1e3;
    println!("  all    p99 {p99:.1} ms");
    println!("uploads answered 201: {}; lost: {lost}", uploaded.len());
    drop(procs);
    if errors > 0 || lost > 0 {
        return Err(format!("{errors} error(s), {lost} lost profile(s)"));
    }
    Ok(())
}
