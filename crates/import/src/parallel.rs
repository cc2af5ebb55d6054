//! Parallel and streaming drivers for the folded importer (native targets only: they use
//! `std::thread`; the parser they drive stays pure and builds for wasm32).
//!
//! The input is cut into blocks at line ends; the first lines (up to the one that fixes the
//! dialect) are parsed by the main parser, every later block by a fresh
//! [`fork`](FoldedParser::fork) on a worker thread, and the results are
//! [`join`](FoldedParser::join)ed in input order on a merging thread while the workers parse
//! the next blocks. The profile is the one a serial [`folded::parse`](crate::folded::parse)
//! gives (same functions, threads, stacks and samples in the same order, same warnings).
//!
//! Memory: the profile being built plus at most `in_flight` blocks (and their forks' tables);
//! [`parse_folded_reader`] never holds the whole input.
//!
//! ```no_run
//! use profview_import::{import_reader, Limits, StreamOptions};
//! let file = std::fs::File::open("big.folded")?;
//! let out = import_reader("big.folded", file, &Limits::default(), &StreamOptions::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{mpsc, Arc, Mutex};

use memchr::{memchr, memrchr};

use crate::{is_gzip, FoldedParser, ImportError, Imported, Kind, Limits};

/// How to split the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// Parser threads (a merging thread and the reading thread come on top; they mostly wait).
    /// `0` = the number of CPUs. `1` still overlaps parsing with merging and reading.
    pub threads: usize,
    /// Bytes per block (cut at the next line end). Default 1 MiB: the blocks in flight and
    /// the parser state per block are memory the allocator keeps after the parse (4 MiB
    /// blocks left ≈ 50 MiB more resident on a 1 GB file).
    pub block_size: usize,
    /// Blocks read but not yet merged, at most. `0` = `2 × threads + 1`.
    pub in_flight: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            threads: 0,
            block_size: 1 << 20,
            in_flight: 0,
        }
    }
}

impl StreamOptions {
    fn workers(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.threads
        }
    }
    #[mutants::skip] // mutants: bounds the blocks in memory; any bound ≥ 1 gives the same profile
    fn in_flight(&self) -> usize {
        if self.in_flight == 0 {
            2 * self.workers() + 1
        } else {
            self.in_flight
        }
    }
    fn block(&self) -> usize {
        self.block_size.max(4096)
    }
}

/// Parses folded text held in memory on several threads; the result equals
/// [`folded::parse`](crate::folded::parse)'s.
pub fn parse_folded_parallel(
    bytes: &[u8],
    limits: &Limits,
    opts: &StreamOptions,
) -> Result<Imported, ImportError> {
    let mut main = FoldedParser::new(limits.clone());
    let used = main.feed_until_forkable(bytes);
    let mut rest = &bytes[used..];
    if !main.can_fork() || rest.is_empty() {
        main.feed(rest);
        return main.finish();
    }
    let block = opts.block();
    let next = move |_recycled: Option<&[u8]>| -> Result<Option<&[u8]>, ImportError> {
        if rest.is_empty() {
            return Ok(None);
        }
        let cut = if rest.len() <= block {
            rest.len()
        } else {
            memchr(b'\n', &rest[block..]).map_or(rest.len(), |i| block + i + 1)
        };
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Ok(Some(piece))
    };
    pipeline(&mut main, opts, None, next)?;
    main.finish()
}

/// Reads folded text from `reader` in blocks of [`StreamOptions::block_size`] and parses it on
/// several threads; memory stays bounded by the distinct stacks plus the blocks in flight,
/// whatever the input size. The result equals [`folded::parse`](crate::folded::parse)'s on the
/// whole input. A read error ends the import with [`ImportError::Io`].
pub fn parse_folded_reader<R: Read>(
    reader: R,
    limits: &Limits,
    opts: &StreamOptions,
) -> Result<Imported, ImportError> {
    let mut blocks = Blocks::new(reader, opts.block());
    let mut main = FoldedParser::new(limits.clone());
    // Prologue: serially, until the dialect is known.
    let first = loop {
        let Some(buf) = blocks.next(None)? else {
            return main.finish();
        };
        let used = main.feed_until_forkable(&buf);
        if main.can_fork() {
            break buf[used..].to_vec();
        }
        main.feed(&buf[used..]);
    };
    let first = (!first.is_empty()).then_some(first);
    pipeline(&mut main, opts, first, |recycled| blocks.next(recycled))?;
    main.finish()
}

/// [`import`](crate::import) for input read from `reader` (a file, a socket, a pipe): gunzips
/// a gzip stream on the fly (within [`Limits::max_decompressed_bytes`]), detects the format
/// from the first block and the name, then streams folded text through
/// [`parse_folded_reader`] (bounded memory, several threads). pstats and raw perf script input
/// is read whole and parsed as by [`import`](crate::import).
pub fn import_reader<R: Read>(
    file_name: &str,
    mut reader: R,
    limits: &Limits,
    opts: &StreamOptions,
) -> Result<Imported, ImportError> {
    let head = read_head(&mut reader, 1 << 20)?;
    if head.is_empty() {
        return Err(ImportError::Empty);
    }
    if is_gzip(&head) {
        let name = file_name.strip_suffix(".gz").unwrap_or(file_name);
        let gz = flate2::read::MultiGzDecoder::new(std::io::Cursor::new(head).chain(reader));
        let mut capped = Capped {
            inner: gz,
            left: limits.max_decompressed_bytes,
            over: false,
        };
        let r = import_plain_reader(name, &mut capped, limits, opts);
        return match r {
            Err(_) if capped.over => Err(ImportError::DecompressedTooLarge {
                limit: limits.max_decompressed_bytes,
            }),
            Err(ImportError::Io(m)) => Err(ImportError::Gzip(m)),
            r => r,
        };
    }
    import_plain_reader(file_name, std::io::Cursor::new(head).chain(reader), limits, opts)
}

fn import_plain_reader<R: Read>(
    file_name: &str,
    mut reader: R,
    limits: &Limits,
    opts: &StreamOptions,
) -> Result<Imported, ImportError> {
    let head = read_head(&mut reader, 1 << 20)?;
    if head.is_empty() {
        return Err(ImportError::Empty);
    }
    let whole = head.len() < 1 << 20;
    match crate::detect(file_name, &head) {
        Some(Kind::Folded) if !whole => {
            parse_folded_reader(std::io::Cursor::new(head).chain(reader), limits, opts)
        }
        // Everything else, and folded text of under 1 MiB (read whole already), in memory.
        _ => {
            let mut all = head;
            reader
                .read_to_end(&mut all)
                .map_err(|e| ImportError::Io(e.to_string()))?;
            crate::import_plain(file_name, &all, limits)
        }
    }
}

fn read_head<R: Read>(reader: &mut R, n: u64) -> Result<Vec<u8>, ImportError> {
    let mut head = Vec::new();
    reader
        .by_ref()
        .take(n)
        .read_to_end(&mut head)
        .map_err(|e| ImportError::Io(e.to_string()))?;
    Ok(head)
}

/// A reader that fails once more than `left` bytes come through.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.over = true;
            return Err(std::io::Error::other("decompressed size exceeds the limit"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Cuts a reader into blocks that end at a line end (except the last).
struct Blocks<R> {
    reader: R,
    block: usize,
    carry: Vec<u8>,
    eof: bool,
}

/// Room for `want` more bytes, exactly (read_to_end would double the capacity): freed blocks
/// stay in the allocator, so their size is memory the process keeps. The extra byte is
/// read_to_end's probe for the end of input.
#[mutants::skip] // mutants: a capacity; any mutant changes memory use, never a result
fn reserve_block(buf: &mut Vec<u8>, want: usize) {
    buf.reserve_exact(want + 1);
}

impl<R: Read> Blocks<R> {
    fn new(reader: R, block: usize) -> Self {
        Blocks {
            reader,
            block,
            carry: Vec::new(),
            eof: false,
        }
    }

    fn next(&mut self, recycled: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, ImportError> {
        let mut buf = recycled.unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        loop {
            if !self.eof {
                let want = self.block.saturating_sub(buf.len()).max(64 << 10);
                reserve_block(&mut buf, want);
                let got = (&mut self.reader)
                    .take(want as u64)
                    .read_to_end(&mut buf)
                    .map_err(|e| ImportError::Io(e.to_string()))?;
                if got < want {
                    self.eof = true;
                }
            }
            if self.eof {
                return Ok((!buf.is_empty()).then_some(buf));
            }
            if let Some(i) = memrchr(b'\n', &buf) {
                self.carry.extend_from_slice(&buf[i + 1..]);
                buf.truncate(i + 1);
                return Ok(Some(buf));
            }
        }
    }
}

/// Parses blocks from `next` on worker threads and joins them into `main` in order. `next`
/// gets back a block that was merged (to reuse its buffer) and returns the next one.
fn pipeline<B, F>(
    main: &mut FoldedParser,
    opts: &StreamOptions,
    first: Option<B>,
    mut next: F,
) -> Result<(), ImportError>
where
    B: AsRef<[u8]> + Send,
    F: FnMut(Option<B>) -> Result<Option<B>, ImportError>,
{
    let workers = opts.workers();
    let in_flight = opts.in_flight().max(1);
    let template = main.fork();
    // The frames merged so far, for the next forks; renewed as they grow by a quarter (each
    // copy is at most a few MB, and the copies of a parse add up to a few times the last).
    let known_cell = Mutex::new(Arc::new(main.known_frames()));
    let known = &known_cell;
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, B)>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) = mpsc::channel::<(u64, FoldedParser, B)>();
    // Tokens bound the blocks between reading and merging (and carry buffers back).
    let (tok_tx, tok_rx) = mpsc::sync_channel::<Option<B>>(in_flight);
    for _ in 0..in_flight {
        let _ = tok_tx.send(None);
    }
    let mut first = first;
    let mut spawn_failed = false;
    std::thread::scope(|s| {
        for _ in 0..workers {
            let res_tx = res_tx.clone();
            let job_rx = &job_rx;
            let template = &template;
            let spawned = std::thread::Builder::new()
                .name("folded-parse".into())
                .spawn_scoped(s, move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((seq, block)) = job else { return };
                let frames = match known.lock() {
                    Ok(k) => Arc::clone(&k),
                    Err(_) => return,
                };
                let mut p = template.fork_known(frames);
                p.feed(block.as_ref());
                p.flush();
                if res_tx.send((seq, p, block)).is_err() {
                    return;
                }
            });
            if spawned.is_err() {
                spawn_failed = true; // the jobs are dropped unparsed: an error below
                break;
            }
        }
        drop(res_tx);
        let merger = std::thread::Builder::new().name("folded-merge".into()).spawn_scoped(s, move || {
            let mut pending = BTreeMap::new();
            let mut want = 0u64;
            let mut shared = main.frame_count();
            for (seq, p, b) in res_rx {
                pending.insert(seq, (p, b));
                while let Some((p, b)) = pending.remove(&want) {
                    main.join(p);
                    want += 1;
                    let _ = tok_tx.send(Some(b));
                    let frames = main.frame_count();
                    if frames >= shared + shared / 4 + 256 {
                        shared = frames;
                        let k = Arc::new(main.known_frames());
                        if let Ok(mut slot) = known.lock() {
                            *slot = k;
                        }
                    }
                }
            }
            pending.is_empty()
        });
        let mut seq = 0u64;
        let mut err = None;
        while let Ok(tok) = tok_rx.recv() {
            let block = match first.take() {
                Some(b) => Ok(Some(b)),
                None => next(tok),
            };
            match block {
                Ok(Some(b)) => {
                    if job_tx.send((seq, b)).is_err() {
                        break;
                    }
                    seq += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        drop(job_tx);
        let complete = match merger {
            Ok(m) => m.join().unwrap_or(false) && !spawn_failed,
            Err(_) => false,
        };
        match err {
            Some(e) => Err(e),
            None if !complete => Err(ImportError::Invalid(
                "could not start or finish the parser threads".into(),
            )),
            None => Ok(()),
        }
    })
}
