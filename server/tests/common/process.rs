//! Real processes for the integration tests: `profview serve` replicas, a `moto_server` (S3) and
//! a minimal HTTP/1.1 client over `TcpStream`. Every wait polls for the thing awaited, with a
//! deadline; nothing sleeps for a fixed time instead.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `f` every 20 ms until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A free port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Reads one response (the connection is closed by the server after it: `Connection: close`).
pub fn read_answer(stream: &mut TcpStream) -> std::io::Result<Answer> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut body = Vec::new();
    let len = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.parse().ok());
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if let Some(n) = len {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim(), 16).map_err(std::io::Error::other)?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok(Answer { status, headers, body })
}

/// The head of a request with a body of `len` bytes.
pub fn request_head(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// One request on a fresh connection.
pub fn try_http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Answer> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.write_all(request_head(addr, method, path, headers, body.len()).as_bytes())?;
    s.write_all(body)?;
    read_answer(&mut s)
}

/// One request that must get an answer.
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    try_http(addr, method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    pub stderr: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Sends a signal by its number (`kill -<sig> <pid>`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").arg(format!("-{sig}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(ok.success(), "kill -{sig}");
    }
    /// Kills it with SIGKILL and reaps it.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

fn log_file(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    std::env::temp_dir().join(format!("profview-test-{tag}-{}-{nanos}.log", std::process::id()))
}

/// A running `profview serve` and its address.
pub struct Replica {
    pub proc: Proc,
    pub addr: SocketAddr,
}

/// Starts `profview serve --no-browser --port 0 ARGS` with `env`; waits for its address line.
pub fn start_replica(args: &[&str], env: &[(&str, String)]) -> Replica {
    try_start_replica(args, env).unwrap_or_else(|e| panic!("profview serve {args:?}: {e}"))
}

/// As [`start_replica`], or the reason it exited (its standard error).
pub fn try_start_replica(args: &[&str], env: &[(&str, String)]) -> Result<Replica, String> {
    let stderr = log_file("serve");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_profview"));
    cmd.args(["serve", "--no-browser", "--port", "0"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // Blocks until the line comes or the process exits (EOF).
    out.read_line(&mut line).unwrap();
    let proc = Proc { child, stderr };
    let Some(url) = line.split("serving at ").nth(1) else {
        let mut proc = proc;
        let _ = proc.child.wait();
        return Err(proc.stderr_text());
    };
    let hostport = url.trim().trim_start_matches("http://").split('/').next().unwrap().to_owned();
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Ok(Replica { proc, addr: hostport.parse().unwrap() })
}

/// Where `moto_server` is: `$PROFVIEW_MOTO`, else `target/moto-venv/bin/moto_server` as
/// `scripts/moto.sh` installs it. Missing, the test fails saying so.
pub fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PROFVIEW_MOTO").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(p.exists(), "PROFVIEW_MOTO={} does not exist (scripts/moto.sh installs moto_server)", p.display());
        return p;
    }
    let fallback = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/moto-venv/bin/moto_server");
    assert!(
        fallback.exists(),
        "moto_server not found: set PROFVIEW_MOTO to its path, or run scripts/moto.sh (it installs {})",
        fallback.display()
    );
    fallback
}

/// A `moto_server` on a free 127.0.0.1 port with one bucket.
pub struct Moto {
    pub proc: Proc,
    pub addr: SocketAddr,
}

impl Moto {
    pub fn start(bucket: &str) -> Moto {
        let port = free_port();
        let stderr = log_file("moto");
        let child = Command::new(moto_binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let moto = Moto { proc: Proc { child, stderr }, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
        wait_for("moto_server to answer", Duration::from_secs(60), || try_http(moto.addr, "GET", "/", &[], b"").ok());
        let made = http(moto.addr, "PUT", &format!("/{bucket}"), &[], b"");
        assert_eq!(made.status, 200, "creating bucket {bucket}: {}", made.text());
        moto
    }

    /// The environment a replica needs to use this server (object_store reads it).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", format!("http://{}", self.addr)),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// The keys under `prefix` in `bucket` (one page).
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let a = http(self.addr, "GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), &[], b"");
        assert_eq!(a.status, 200, "{}", a.text());
        a.text().split("<Key>").skip(1).filter_map(|s| s.split("</Key>").next()).map(str::to_owned).collect()
    }

    /// Multipart uploads begun and not completed in `bucket`.
    pub fn open_uploads(&self, bucket: &str) -> usize {
        let a = http(self.addr, "GET", &format!("/{bucket}?uploads"), &[], b"");
        assert_eq!(a.status, 200, "{}", a.text());
        a.text().matches("<UploadId>").count()
    }
}
