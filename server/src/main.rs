//! `profview`: the command line. Parses flags, then hands over to the library.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use profview_server::{report, router, AppState};

/// Explore Python performance profiles (cProfile, profile, yappi, py-spy, austin, perf) in the browser.
#[derive(Debug, Parser)]
#[command(name = "profview", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard for the given profiles (pstats or folded files, optionally gzipped).
    Serve {
        /// Profiles to open.
        files: Vec<PathBuf>,
        /// Address to bind. Anything but loopback exposes your profiles to the network.
        #[arg(long, default_value = "127.0.0.1")]
        host: IpAddr,
        /// Port to bind; 0, or a port that is taken, picks a free one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Do not open a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Print the numbers of one or more profiles, like `pstats` `print_stats` (several files are
    /// summed like `pstats.Stats.add`).
    Stats {
        /// Profiles to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the stable JSON report instead of text.
        #[arg(long)]
        json: bool,
        /// Sort column: cumtime|cumulative, tottime|time, ncalls|calls, primcalls, percall_tottime,
        /// percall_cumtime, name, file, line, self, total. Default: file order.
        #[arg(long)]
        sort: Option<String>,
        /// Print at most N functions.
        #[arg(long)]
        limit: Option<usize>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "profview=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { files, host, port, no_browser } => serve(files, host, port, no_browser),
        Command::Stats { files, json, sort, limit } => stats(&files, json, sort.as_deref(), limit),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Reads and imports files, naming the file in any error; several files are merged.
fn import_files(files: &[PathBuf]) -> anyhow::Result<profview_import::Imported> {
    let limits = profview_import::Limits::default();
    let mut blobs = Vec::with_capacity(files.len());
    for path in files {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        blobs.push(bytes);
    }
    // One by one first, so an error names its file.
    let mut single = None;
    for (path, bytes) in files.iter().zip(&blobs) {
        let name = path.display().to_string();
        let imported = profview_import::import(&name, bytes, &limits).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        single = Some(imported);
    }
    if files.len() == 1 {
        return single.ok_or_else(|| anyhow::anyhow!("no input files"));
    }
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let inputs: Vec<(&str, &[u8])> = names.iter().map(String::as_str).zip(blobs.iter().map(Vec::as_slice)).collect();
    profview_import::import_many(&inputs, &limits).map_err(|e| anyhow::anyhow!("{}: {e}", names.join(", ")))
}

fn stats(files: &[PathBuf], json: bool, sort: Option<&str>, limit: Option<usize>) -> anyhow::Result<ExitCode> {
    let sort = match sort {
        None => None,
        Some(s) => Some(report::parse_sort(s).ok_or_else(|| anyhow::anyhow!("unknown sort column {s:?}"))?),
    };
    let imported = import_files(files)?;
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    let index = profview_index::ProfileIndex::build(imported.profile);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    use std::io::Write;
    if json {
        serde_json::to_writer(&mut out, &report::json_report(&index, sort, limit))?;
        writeln!(out)?;
    } else {
        let label: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        out.write_all(report::text_report(&index, &label.join(", "), sort, limit).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn load_files(state: &AppState, files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let entry = state.add_bytes(&name, &bytes).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), strip_name(&e, &name)))?;
        for w in &entry.warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
        ids.push(entry.id.clone());
    }
    Ok(ids)
}

/// `add_bytes` prefixes the display name; the CLI prefixes the full path instead.
fn strip_name<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.strip_prefix(name).and_then(|m| m.strip_prefix(": ")).unwrap_or(msg)
}

fn serve(files: Vec<PathBuf>, host: IpAddr, port: u16, no_browser: bool) -> anyhow::Result<ExitCode> {
    let state = AppState::new();
    let ids = load_files(&state, &files)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(SocketAddr::new(host, port)).await {
            Ok(l) => l,
            Err(e) if port != 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::info!("port {port} is taken; picking a free one");
                tokio::net::TcpListener::bind(SocketAddr::new(host, 0)).await?
            }
            Err(e) => return Err(e).with_context(|| format!("cannot bind {host}:{port}")),
        };
        let addr = listener.local_addr()?;
        if !host.is_loopback() {
            eprintln!("warning: listening on {host}, not loopback: anyone who can reach this machine can read your profiles");
        }
        let url = match ids.as_slice() {
            [one] => format!("http://{addr}/p/{one}"),
            _ => format!("http://{addr}/"),
        };
        println!("profview {} serving at {url}", env!("CARGO_PKG_VERSION"));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        if !no_browser {
            open_browser(&url);
        }
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else if cfg!(windows) { "explorer" } else { "xdg-open" };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("could not open a browser ({e}); open {url} yourself");
    }
}
