//! `profview`: the command line. Parses flags, then hands over to the library.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use profview_server::{compare_cli, report, router, AppState};

/// Explore Python performance profiles (cProfile, profile, yappi, py-spy, austin, perf) in the browser.
#[derive(Debug, Parser)]
#[command(name = "profview", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on standard error: `text` for people, `json` (one object per line, with the
    /// request id of each request) for a log collector.
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard for the given profiles (pstats, folded or profview recordings, optionally gzipped).
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
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        ops: OpsArgs,
    },
    /// Write a profile as an SVG flame graph, folded stacks, the `stats --json` report, (for
    /// profiles with pstats data: pstats files, a recording's cProfile part) a pstats file, or a
    /// self-contained HTML report (the dashboard and the profile in one file; no server, no network).
    Export {
        /// The profile to read.
        file: PathBuf,
        /// Output format. Folded stacks of a pstats file are two-frame `caller;callee` stacks
        /// weighted by edge tottime in µs (pstats has no stacks). pprof (gzipped profile.proto)
        /// holds a sampled profile's stacks; a pstats profile is refused (it has no stacks).
        #[arg(long, value_parser = ["svg", "folded", "json", "pstats", "speedscope", "pprof", "html"])]
        format: String,
        /// Output file; `-` or nothing writes to standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
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
    /// Collate many profiles of one kind (per-request dumps, say): per function, in how many it
    /// appears, the sums (for pstats equal to `pstats.Stats(*files)`) and the min, median, p90,
    /// p95, max and mean of each number over all of them (absent = 0).
    Collate {
        /// Profiles to collate (all pstats, or all sampled).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Sort by: sum (default), present, min, median, p90, p95, max, mean, name or file.
        #[arg(long)]
        sort: Option<String>,
        #[command(flatten)]
        listing: compare_cli::Listing,
    },
    /// Diff two profiles (`diff BASE NEW`) or two sets (`diff --base A... --new B...`): each
    /// function's numbers on both sides, the change (for pstats split into more calls and slower
    /// calls) and, where it can be tested, whether it is bigger than the noise.
    Diff {
        /// BASE and NEW, when each side is one file.
        #[arg(num_args = 0..=2, conflicts_with_all = ["base", "new"])]
        files: Vec<PathBuf>,
        /// The base side's profiles.
        #[arg(long, num_args = 1.., requires = "new")]
        base: Vec<PathBuf>,
        /// The new side's profiles.
        #[arg(long, num_args = 1.., requires = "base")]
        new: Vec<PathBuf>,
        /// Scale each side: absolute (default), total (shares of each side's total) or profile
        /// (per profile: sets of different sizes).
        #[arg(long, default_value = "absolute")]
        normalize: String,
        /// Sort by: delta (default: largest change first), relative, significance, base, new,
        /// name or file.
        #[arg(long)]
        sort: Option<String>,
        #[command(flatten)]
        listing: compare_cli::Listing,
    },
}

/// Where and how profiles are stored.
#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// Directory of the profile store (default: $XDG_DATA_HOME/profview or ~/.local/share/profview).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Where profiles are stored: a directory (as --data-dir), or an object store shared by
    /// several replicas: s3://BUCKET/PREFIX, gs://BUCKET/PREFIX, az://CONTAINER/PREFIX or memory://.
    /// Credentials and endpoint come from the environment (AWS_*, GOOGLE_*, AZURE_*; docs/deploy.md).
    #[arg(long, value_name = "URL", conflicts_with_all = ["data_dir", "in_memory"])]
    store: Option<String>,
    /// Keep uploads in memory only: nothing is written to disk, nothing survives a restart.
    #[arg(long, conflicts_with = "data_dir")]
    in_memory: bool,
    /// Time limit of one request to an object store, in seconds (its retries share it too).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    store_timeout: f64,
    /// Age in seconds from which a stored file that no profile names (an upload a crash cut
    /// short) is removed, at start and (object stores) every hour.
    #[arg(long, value_name = "SECS", default_value_t = 3600.0)]
    sweep_grace: f64,
    /// How often a failed object-store request is retried (exponential backoff from 100 ms).
    #[arg(long, value_name = "N", default_value_t = 3)]
    store_retries: usize,
    /// Largest accepted upload, in bytes (larger ones are answered 413).
    #[arg(long, value_name = "N", default_value_t = profview_server::state::DEFAULT_MAX_UPLOAD)]
    max_upload_bytes: u64,
    /// Largest accepted gunzipped size of a compressed profile, in bytes.
    #[arg(long, value_name = "N", default_value_t = profview_import::Limits::default().max_decompressed_bytes)]
    max_decompressed_bytes: u64,
    /// How many built profile indexes to keep in memory (others are rebuilt on access).
    #[arg(long, value_name = "N", default_value_t = 16)]
    cache_profiles: usize,
}

/// What a shared server needs: who may write, limits against slow clients, shutdown.
#[derive(Debug, clap::Args)]
struct OpsArgs {
    /// Writes (POST, PATCH, DELETE) need `Authorization: Bearer <token>` with one of the tokens in
    /// FILE (one per line; the file is read again when it changes).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Longest time to receive a request body, in seconds (then 408).
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    body_timeout: f64,
    /// Uploads imported at once (default: the number of CPUs); others wait in a queue.
    #[arg(long, value_name = "N")]
    max_imports: Option<usize>,
    /// Uploads that may wait for an import; beyond that an upload is answered 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 64)]
    import_queue: usize,
    /// On SIGTERM or Ctrl-C, how long requests in flight (uploads among them) may take to finish, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    shutdown_grace: f64,
    /// Let the detail panel show a function's source, from files under DIR only (repeatable; off
    /// by default). Names in a profile are looked up under the roots, never elsewhere.
    #[arg(long, value_name = "DIR")]
    source_root: Vec<PathBuf>,
}

fn secs(name: &str, v: f64) -> anyhow::Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(v).map_err(|e| anyhow::anyhow!("--{name} {v}: {e}"))
}

fn init_logs(format: &str) {
    // Request lines (target profview::access) are logged by default only in JSON, for a collector;
    // RUST_LOG chooses otherwise.
    let default = if format == "json" { "profview=info,warn" } else { "profview=info,profview::access=warn,warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        fmt.json().flatten_event(true).with_current_span(false).init();
    } else {
        fmt.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(&cli.log_format);
    let result = match cli.command {
        Command::Serve { files, host, port, no_browser, store, ops } => serve(files, host, port, no_browser, store, ops),
        Command::Export { file, format, output } => export(&file, &format, output.as_deref()),
        Command::Stats { files, json, sort, limit } => stats(&files, json, sort.as_deref(), limit),
        Command::Collate { files, sort, listing } => print_out(compare_cli::collate_files(&files, sort, &listing)),
        Command::Diff { files, base, new, normalize, sort, listing } => diff(files, base, new, &normalize, sort, &listing),
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
    if let [path] = files {
        // One file: the server's streamed importer (folded text parsed on every core as it is
        // read, gunzipped on the fly; other formats read whole).
        let name = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("{name}: cannot read"))?;
        let opts = profview_import::StreamOptions::default();
        return profview_import::import_reader(&name, file, &limits, &opts).map_err(|e| anyhow::anyhow!("{name}: {e}"));
    }
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
    // Where the time goes, with RUST_LOG=profview=debug (BENCHMARKS.md, "A fast CLI").
    let started = std::time::Instant::now();
    let imported = import_files(files)?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "stats: read and parsed");
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    use std::io::Write;
    if json {
        // The JSON rows carry callers, callees and lines: the whole index.
        let started = std::time::Instant::now();
        let index = profview_index::ProfileIndex::build(imported.profile);
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "stats: indexed");
        let started = std::time::Instant::now();
        // Streamed as it is serialized: rows are never collected into one document.
        let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut out);
        serde_json::to_writer(&mut buffered, &report::JsonReport::new(&index, sort, limit))?;
        writeln!(buffered)?;
        buffered.flush()?;
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "stats: reported");
    } else {
        // The text lists self and total only: the function table; the views are never built.
        let started = std::time::Instant::now();
        let index = profview_index::ProfileIndex::build_deferred(imported.profile, imported.nested);
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), direct = index.table_is_direct(), "stats: indexed");
        let started = std::time::Instant::now();
        let label: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        out.write_all(report::text_report(&index, &label.join(", "), sort, limit).as_bytes())?;
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "stats: reported");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_out(text: anyhow::Result<String>) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    std::io::stdout().lock().write_all(text?.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn diff(
    files: Vec<PathBuf>,
    base: Vec<PathBuf>,
    new: Vec<PathBuf>,
    normalize: &str,
    sort: Option<String>,
    l: &compare_cli::Listing,
) -> anyhow::Result<ExitCode> {
    let normalize: profview_api::Normalize = normalize.parse().map_err(anyhow::Error::msg)?;
    let (base, new) = match files.as_slice() {
        [] if !base.is_empty() => (base, new),
        [b, n] => (vec![b.clone()], vec![n.clone()]),
        _ => anyhow::bail!("give two profiles (diff BASE NEW) or two sets (diff --base A... --new B...)"),
    };
    print_out(compare_cli::diff_files(&base, &new, normalize, sort, l))
}

fn export(file: &std::path::Path, format: &str, output: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let fmt = profview_server::export::ExportFormat::parse(format).ok_or_else(|| anyhow::anyhow!("unknown format {format:?}"))?;
    let imported = import_files(std::slice::from_ref(&file.to_path_buf()))?;
    for w in &imported.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    let title = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = if fmt == profview_server::export::ExportFormat::Html {
        // The report carries the file itself (it imported above) and imports it in the browser.
        drop(imported);
        let raw = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
        profview_server::html_report::build(&raw, &title).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
    } else {
        let index = profview_index::ProfileIndex::build(imported.profile);
        profview_server::export::export(&index, &title, fmt).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
    };
    match output.filter(|o| o.as_os_str() != "-") {
        Some(out) => std::fs::write(out, &bytes).with_context(|| format!("{}: cannot write", out.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Registers files through the same path as an upload (staged, hashed, imported, stored).
fn load_files(state: &AppState, files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let entry = state.add_file(&name, path).map_err(|e| match e {
            profview_server::state::IngestError::Import { error, .. } => anyhow::anyhow!("{}: {error}", path.display()),
            other => anyhow::anyhow!("{}: {other}", path.display()),
        })?;
        for w in &entry.warnings {
            eprintln!("warning: {}: {w}", path.display());
        }
        ids.push(entry.id.clone());
    }
    Ok(ids)
}

fn open_state(args: &StoreArgs, ops: &OpsArgs) -> anyhow::Result<AppState> {
    let store_url = args.store.clone().filter(|s| profview_server::objstore::is_store_url(s));
    let store_dir = args.store.as_ref().filter(|s| !profview_server::objstore::is_store_url(s)).map(PathBuf::from);
    let data_dir = if args.in_memory || store_url.is_some() {
        None
    } else if let Some(d) = store_dir {
        Some(d)
    } else {
        Some(args.data_dir.clone().or_else(profview_server::state::default_data_dir).ok_or_else(|| {
            anyhow::anyhow!("no data directory: set HOME or XDG_DATA_HOME, or pass --data-dir DIR (or --in-memory)")
        })?)
    };
    let limits = profview_import::Limits { max_decompressed_bytes: args.max_decompressed_bytes, ..Default::default() };
    let defaults = profview_server::state::StoreConfig::default();
    if let Some(f) = &ops.token_file {
        let n = profview_server::auth::Tokens::new(f.clone()).check_file().map_err(|e| anyhow::anyhow!(e))?;
        eprintln!("writes need one of the {n} token(s) in {}", f.display());
    }
    let cfg = profview_server::state::StoreConfig {
        data_dir,
        max_upload_bytes: args.max_upload_bytes,
        limits,
        cache_profiles: args.cache_profiles,
        store_url,
        client: profview_server::objstore::ClientLimits {
            timeout: secs("store-timeout", args.store_timeout)?,
            retries: args.store_retries,
        },
        token_file: ops.token_file.clone(),
        body_timeout: secs("body-timeout", ops.body_timeout)?,
        max_imports: ops.max_imports.unwrap_or(defaults.max_imports),
        import_queue: ops.import_queue,
        sweep_grace: secs("sweep-grace", args.sweep_grace)?,
        source_roots: profview_server::source::SourceRoots::new(&ops.source_root).map_err(|e| anyhow::anyhow!(e))?,
    };
    AppState::open(cfg).map_err(|e| anyhow::anyhow!(e))
}

/// Resolves on Ctrl-C or (Unix) SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    std::future::pending::<()>().await
                }
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn serve(
    files: Vec<PathBuf>,
    host: IpAddr,
    port: u16,
    no_browser: bool,
    store: StoreArgs,
    ops: OpsArgs,
) -> anyhow::Result<ExitCode> {
    let grace = secs("shutdown-grace", ops.shutdown_grace)?;
    let state = open_state(&store, &ops)?;
    match (state.data_dir(), store.in_memory) {
        (Some(d), _) => eprintln!("profiles are stored in {}", d.display()),
        (None, true) => eprintln!("profiles are kept in memory only (--in-memory)"),
        (None, false) => eprintln!("profiles are stored in {}", state.location()),
    }
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
        // On a signal: stop accepting, let requests in flight finish (an upload is stored),
        // for at most --shutdown-grace.
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing the requests in flight (at most {grace:?})");
            let _ = stop_tx.send(true);
        });
        tokio::select! {
            r = async { server.await } => r?,
            _ = async {
                let _ = stop_rx.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!("requests still in flight after {grace:?}: exiting anyway");
                return Ok(ExitCode::FAILURE);
            }
        }
        tracing::info!("stopped");
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
