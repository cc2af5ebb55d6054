//! Threads: the pseudo-frames at the root of a line (py-spy `thread (TID)`, perf `comm-PID/TID`,
//! austin `P<pid>;T<tid>`, Tachyon `tid:N`) name the thread its sample belongs to.

use memchr::memchr;
use profview_model::Thread;

use super::dialect::{is_pyspy_pseudo, perf_thread_root, thread_identity, Mode};
use super::{FoldedParser, NONE};


impl FoldedParser {
    pub(super) fn thread_named(&mut self, id: String, name: Option<String>) -> u32 {
        if let Some(&t) = self.thread_ids.get(&id) {
            let th = &mut self.threads[t as usize];
            if th.name.is_none() {
                th.name = name;
            }
            return t;
        }
        let t = self.threads.len() as u32;
        self.threads.push(Thread {
            id: id.clone(),
            name,
        });
        self.thread_ids.insert(id, t);
        t
    }

    fn default_thread(&mut self) -> u32 {
        if self.default_thread == NONE {
            self.default_thread = self.thread_named("all".to_owned(), None);
        }
        self.default_thread
    }

    /// Splits the leading thread/process pseudo-frames off a stack.
    pub(super) fn thread_of<'s>(&mut self, stack: &'s [u8]) -> (u32, &'s [u8]) {
        let mode = self.mode.unwrap_or(Mode::Gregg);
        let cut = match mode {
            Mode::Austin => {
                // `P<pid>;T<iid>:<tid>`
                if stack.first() == Some(&b'P') {
                    match memchr(b';', stack) {
                        Some(i) if stack.get(i + 1) == Some(&b'T') => {
                            let j =
                                memchr(b';', &stack[i + 1..]).map_or(stack.len(), |j| i + 1 + j);
                            Some(j)
                        }
                        _ => None,
                    }
                } else {
                    None
                }
            }
            Mode::Tachyon => {
                if stack.starts_with(b"tid:") {
                    Some(memchr(b';', stack).unwrap_or(stack.len()))
                } else {
                    None
                }
            }
            Mode::PySpy => {
                let mut end = 0;
                let mut pos = 0;
                loop {
                    let f = &stack[pos..];
                    if !(f.starts_with(b"thread (") || f.starts_with(b"process ")) {
                        break;
                    }
                    let next = memchr(b';', f).map_or(stack.len(), |j| pos + j);
                    if !is_pyspy_pseudo(&stack[pos..next]) {
                        break;
                    }
                    end = next;
                    if next >= stack.len() {
                        break;
                    }
                    pos = next + 1;
                }
                (end > 0).then_some(end)
            }
            Mode::Gregg => {
                let root_end = memchr(b';', stack).unwrap_or(stack.len());
                let root = &stack[..root_end];
                if root.is_empty() {
                    None
                } else if let Some(&t) = self.prefixes.get(root) {
                    if t == NONE {
                        None
                    } else {
                        return (t, rest_after(stack, root_end));
                    }
                } else if let Some(comm) = perf_thread_root(root) {
                    let id = String::from_utf8_lossy(root).into_owned();
                    let name = String::from_utf8_lossy(comm).into_owned();
                    let t = self.thread_named(id, Some(name));
                    self.prefixes.insert(root.into(), t);
                    self.saw_perf_thread = true;
                    return (t, rest_after(stack, root_end));
                } else {
                    self.prefixes.insert(root.into(), NONE);
                    None
                }
            }
        };
        let Some(end) = cut else {
            return (self.default_thread(), stack);
        };
        let prefix = &stack[..end];
        let t = match self.prefixes.get(prefix) {
            Some(&t) => t,
            None => {
                let (id, name) = thread_identity(mode, prefix);
                let t = self.thread_named(id, name);
                self.prefixes.insert(prefix.into(), t);
                t
            }
        };
        (t, rest_after(stack, end))
    }
}

fn rest_after(stack: &[u8], end: usize) -> &[u8] {
    if end >= stack.len() {
        &stack[stack.len()..]
    } else {
        &stack[end + 1..]
    }
}
