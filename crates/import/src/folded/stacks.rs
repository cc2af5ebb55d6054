//! The stack table: frames interned by their raw bytes into functions, the prefix tree of
//! stacks as columns, and the samples aggregated per (node, thread). A line that shares its
//! start with the previous one resumes from the state saved after each frame.

use memchr::memchr;
use profview_model::{Function, Sample, ThreadId, NO_PARENT};

use super::dialect::{split_annotation, split_austin, split_pyspy, Mode};
use super::FoldedParser;
use crate::hash::{hash_bytes, hash_pair, IdTable};



/// The parse state after one frame of the previous line (see `FoldedParser::prev`).
#[derive(Clone, Copy, Debug)]
pub(super) struct PrevFrame {
    /// Where the frame ends (exclusive; the byte there, if any, is the `;`).
    end: usize,
    /// Empty frames met so far on the line.
    empties: usize,
    /// The node reached.
    node: u32,
    /// Frames kept so far.
    depth: u32,
    /// The function of the node this frame added, or `NONE` (an empty frame adds no node):
    /// `path_count` counts the entries by this.
    func: u32,
}

/// No function (see `PrevFrame::func`).
const NONE: u32 = u32::MAX;

/// `flagged` bits: the frame was decoded lossily / its name was truncated.
pub(super) const LOSSY: u8 = 1;
pub(super) const LONG: u8 = 2;

impl FoldedParser {
    pub(super) fn frames_of(&mut self, frames: &[u8], thread: u32, weight: f64) {
        let line = self.line_no;
        let max_depth = self.limits.max_stack_depth;
        let len = frames.len();
        // Resume after the longest prefix of whole frames shared with the previous line.
        let common = common_prefix(frames, &self.prev);
        // (An empty stack has no frames at all, not an empty first frame.)
        let mut keep = if len == 0 {
            0
        } else {
            self.prev_state.partition_point(|s| s.end <= common)
        };
        let mut node = NO_PARENT;
        let mut depth: u32 = 0;
        let mut empties = 0usize;
        let mut pos = 0usize;
        let mut fresh = false;
        let mut added = NONE;
        let mut done = len == 0;
        while keep > 0 {
            let st = self.prev_state[keep - 1];
            if st.end == len {
                // The same stack as the previous line (up to here, which is its end).
                (node, depth, empties, done) = (st.node, st.depth, st.empties, true);
                break;
            }
            if frames[st.end] == b';' {
                (node, depth, empties, pos) = (st.node, st.depth, st.empties, st.end + 1);
                if pos == len {
                    empties += 1; // trailing `;`
                    done = true;
                }
                break;
            }
            keep -= 1;
        }
        for st in &self.prev_state[keep..] {
            if st.func != NONE {
                self.path_count[st.func as usize] -= 1;
            }
        }
        self.prev_state.truncate(keep);
        let reuse = common.min(self.prev.len());
        self.prev.truncate(reuse);
        self.prev.extend_from_slice(&frames[reuse..]);
        loop {
            if done {
                break;
            }
            let (end, more) = match memchr(b';', &frames[pos..]) {
                Some(i) => (pos + i, true),
                None => (len, false),
            };
            let f = &frames[pos..end];
            if f.is_empty() {
                empties += 1;
            } else {
                if depth as usize >= max_depth {
                    self.deep.hit(line);
                    break;
                }
                let h = hash_bytes(f);
                let func = match self.known.as_deref().and_then(|k| k.find(h, f)) {
                    Some(func) => func,
                    None => {
                        let raw = match find_raw(&self.frame_table, &self.frame_bytes, &self.frame_span, h, f) {
                            Some(r) => r,
                            None => self.new_frame(f, h),
                        };
                        self.frame_func[raw as usize]
                    }
                };
                let nested = self.path_count[func as usize] > 0;
                (node, fresh) = self.child(node, func, fresh, fresh, nested);
                self.path_count[func as usize] += 1;
                depth += 1;
                added = func;
            }
            self.prev_state.push(PrevFrame {
                end,
                empties,
                node,
                depth,
                func: std::mem::replace(&mut added, NONE),
            });
            if !more {
                break;
            }
            pos = end + 1;
            if pos == len {
                empties += 1; // trailing `;`
                break;
            }
        }
        self.empty_frames.hit_n(line, empties as u64);
        self.add_sample(node, thread, weight, fresh);
    }

    /// Adds `weight` to the (node, thread) sample; `fresh` = the node was created just now,
    /// so it has no sample yet.
    #[inline]
    pub(super) fn add_sample(&mut self, node: u32, thread: u32, weight: f64, fresh: bool) {
        let h = hash_pair(node, thread);
        let samples = &self.samples;
        if !fresh {
            let found = self.sample_table.find(h, |i| {
                let s = &samples[i as usize];
                s.thread.0 == thread && s.node == node
            });
            if let Some(i) = found {
                self.samples[i as usize].weight += weight;
                return;
            }
        }
        let i = self.samples.len() as u32;
        self.samples.push(Sample {
            node,
            thread: ThreadId(thread),
            weight,
        });
        let samples = &self.samples;
        self.sample_table.insert(h, i, || {
            samples[..i as usize].iter().enumerate().map(|(j, s)| {
                (hash_pair(s.node, s.thread.0), j as u32)
            })
        });
    }

    /// The node for `func` under `parent`, and whether it was created now. `nested`: `func` is
    /// on the stack of `parent` already (kept in `nested` for a new node).
    ///
    /// A node created right after its parent (`n == parent + 1`, the usual case when a line
    /// adds new frames below a new node) is found by looking at `parent + 1` and is not put in
    /// the hash table; only the other children are. A new stack therefore costs no table access
    /// below its first new frame, and the table stays small.
    ///
    /// `parent_fresh`: `parent` is the node created last (so it has no children yet and the new
    /// node is its successor). `parent_new`: `parent` cannot have a child for `func` yet (a
    /// merge knows it for a node it created: each of the merged tree's children of a node has
    /// a function of its own), so the search is skipped.
    #[inline]
    pub(super) fn child(&mut self, parent: u32, func: u32, parent_fresh: bool, parent_new: bool, nested: bool) -> (u32, bool) {
        let n = self.parent.len() as u32;
        if parent_fresh && parent != NO_PARENT {
            // `parent` was created just now: it has no children yet, and `n == parent + 1`.
            self.push_node(parent, func, nested);
            return (n, true);
        }
        let h = hash_pair(parent, func);
        if !parent_new {
            if let Some(found) = self.find_child(parent, func, h) {
                return (found, false);
            }
        }
        self.push_node(parent, func, nested);
        if parent == NO_PARENT || n != parent + 1 {
            let (pc, fc) = (&self.parent, &self.func);
            // Members: the nodes that are not their parent's successor.
            self.child_table.insert(h, n, || {
                (0..n as usize)
                    .filter(|&m| pc[m] == NO_PARENT || pc[m] as usize + 1 != m)
                    .map(|m| (hash_pair(pc[m], fc[m]), m as u32))
            });
        }
        (n, true)
    }

    /// Starts loading what [`child`](Self::child) will read for (`parent`, `func`): the
    /// table slot and the parent's successor (see `prefetch.rs`).
    #[inline]
    #[mutants::skip] // mutants: a cache hint; no result can depend on it
    pub(super) fn prefetch_child(&self, parent: u32, func: u32) {
        self.child_table.prefetch(hash_pair(parent, func));
        let next = parent as usize + 1;
        crate::prefetch::slot(&self.parent, next);
        crate::prefetch::slot(&self.func, next);
    }

    /// Starts loading the slot [`add_sample`](Self::add_sample) will use for (`node`, `thread`).
    #[inline]
    #[mutants::skip] // mutants: a cache hint; no result can depend on it
    pub(super) fn prefetch_sample(&self, node: u32, thread: u32) {
        self.sample_table.prefetch(hash_pair(node, thread));
    }

    /// The existing child of `parent` for `func` (`h`: their `hash_pair`).
    #[inline]
    fn find_child(&self, parent: u32, func: u32, h: u64) -> Option<u32> {
        let (pc, fc) = (&self.parent, &self.func);
        if parent != NO_PARENT {
            let next = parent as usize + 1;
            if next < pc.len() && pc[next] == parent && fc[next] == func {
                return Some(next as u32);
            }
        }
        self.child_table
            .find(h, |n| pc[n as usize] == parent && fc[n as usize] == func)
    }

    #[inline]
    fn push_node(&mut self, parent: u32, func: u32, nested: bool) {
        let n = self.parent.len();
        self.parent.push(parent);
        self.func.push(func);
        if n.is_multiple_of(64) {
            self.nested.push(0);
        }
        if nested {
            self.nested[n / 64] |= 1 << (n % 64);
        }
    }

    /// True when node `n`'s function is on its parent's stack already.
    #[inline]
    pub(super) fn is_nested(&self, n: usize) -> bool {
        (self.nested[n / 64] >> (n % 64)) & 1 == 1
    }

    #[cold]
    fn new_frame(&mut self, raw: &[u8], h: u64) -> u32 {
        let line = self.line_no;
        let mode = self.mode.unwrap_or(Mode::Gregg);
        let mut lossy = false;
        let text = match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                self.lossy.hit(line);
                lossy = true;
                String::from_utf8_lossy(raw)
            }
        };
        let (name, file, lineno) = match mode {
            Mode::Gregg => {
                let (n, marker) = split_annotation(&text);
                if marker.is_some() {
                    self.saw_annotation = true;
                }
                (n, marker.unwrap_or(""), 0)
            }
            Mode::PySpy => split_pyspy(&text),
            Mode::Austin | Mode::Tachyon => split_austin(&text),
        };
        let max = self.limits.max_name_len;
        let (name, cut_a) = cut_name(name, max);
        let (file, cut_b) = cut_name(file, max);
        if cut_a || cut_b {
            self.long_names.hit(line);
        }
        let id = self.intern_function(name, file, lineno);
        let r = self.push_frame(raw, h, id);
        let flags = if lossy { LOSSY } else { 0 } | if cut_a || cut_b { LONG } else { 0 };
        if flags != 0 {
            self.flagged.push((r, line, flags));
        }
        r
    }

    /// The id of function (name, file, line), added when new (a fork's own functions are
    /// numbered from its `func_base` on; a function its `known` has keeps that id).
    pub(super) fn intern_function(&mut self, name: &str, file: &str, line: i64) -> u32 {
        let h = hash_function(name, file, line);
        if let Some(id) = self.known.as_deref().and_then(|k| k.find_function(h, name, file, line)) {
            return id;
        }
        if let Some(i) = find_function(&self.func_table, &self.functions, h, name, file, line) {
            return self.func_base + i;
        }
        let id = self.functions.len() as u32;
        self.functions.push(Function {
            name: name.to_owned(),
            file: file.to_owned(),
            line,
        });
        self.path_count.push(0);
        let fs = &self.functions;
        self.func_table.insert(h, id, || {
            fs[..id as usize]
                .iter()
                .enumerate()
                .map(|(i, f)| (hash_function(&f.name, &f.file, f.line), i as u32))
        });
        self.func_base + id
    }

    /// Interns raw frame bytes (not present yet) for function `func`; returns the raw id.
    pub(super) fn push_frame(&mut self, raw: &[u8], h: u64, func: u32) -> u32 {
        let r = self.frame_span.len() as u32;
        self.frame_span.push((self.frame_bytes.len(), raw.len()));
        self.frame_bytes.extend_from_slice(raw);
        self.frame_hash.push(h);
        self.frame_func.push(func);
        let hashes = &self.frame_hash;
        self.frame_table.insert(h, r, || {
            hashes[..r as usize].iter().enumerate().map(|(x, &h)| (h, x as u32))
        });
        r
    }
}

/// The interned raw frame equal to `raw` (`h`: its `hash_bytes`): `table` over the frames of
/// `bytes` cut at `span`.
#[inline]
pub(super) fn find_raw(table: &IdTable, bytes: &[u8], span: &[(usize, usize)], h: u64, raw: &[u8]) -> Option<u32> {
    table.find(h, |r| {
        let (s, l) = span[r as usize];
        bytes[s..s + l] == *raw
    })
}

/// The index in `fs` of function (name, file, line) (`h`: its `hash_function`; `table` over `fs`).
#[inline]
pub(super) fn find_function(table: &IdTable, fs: &[Function], h: u64, name: &str, file: &str, line: i64) -> Option<u32> {
    table.find(h, |i| {
        let f = &fs[i as usize];
        f.line == line && f.name == name && f.file == file
    })
}

#[mutants::skip] // mutants: hash mixing; the table compares the real function, so a worse hash is only slower
fn hash_function(name: &str, file: &str, line: i64) -> u64 {
    hash_bytes(name.as_bytes())
        ^ hash_bytes(file.as_bytes()).rotate_left(21)
        ^ hash_pair(line as u32, (line >> 32) as u32).rotate_left(42)
}

/// `s` cut to at most `max` bytes at a character boundary, and whether it was cut.
fn cut_name(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    (&s[..crate::boundary_at_or_below(s, max)], true)
}

/// Length of the common prefix of two byte strings.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let mut x = [0u8; 8];
        let mut y = [0u8; 8];
        x.copy_from_slice(&a[i..i + 8]);
        y.copy_from_slice(&b[i..i + 8]);
        let d = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if d != 0 {
            return i + (d.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn common_prefix_equals_a_byte_by_byte_count() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len_a in [0, 1, 7, 8, 9, 16, 23, 40] {
            for len_b in [0, 5, 8, 17, 40] {
                for diff in 0..40 {
                    let a = &base[..len_a];
                    let mut b = base[..len_b].to_vec();
                    if diff < b.len() {
                        b[diff] ^= 0x20;
                    }
                    let naive = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
                    assert_eq!(common_prefix(a, &b), naive, "{len_a} {len_b} {diff}");
                    assert_eq!(common_prefix(&b, a), naive, "{len_b} {len_a} {diff}");
                }
            }
        }
    }
}
