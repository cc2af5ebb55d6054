//! One line of folded text: skipped whitespace and comments (the austin header), the count after
//! the last space, then the stack handed to the thread and frame parsing.

use memchr::{memchr, memrchr2};

use super::dialect::{decide, Mode};
use super::{FoldedParser, HEAD_LINES};


pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

pub(super) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ws(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ws(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}


impl FoldedParser {
    pub(super) fn line(&mut self, raw: &[u8]) {
        self.line_no += 1;
        let mut l = raw;
        if self.at_start {
            self.at_start = false;
            if let Some(r) = l.strip_prefix(b"\xEF\xBB\xBF") {
                l = r;
            }
        }
        // Trailing whitespace (and the `\r` of CRLF).
        while let [rest @ .., last] = l {
            if is_ws(*last) {
                l = rest;
            } else {
                break;
            }
        }
        let Some(&first_nonws) = l.iter().find(|b| !is_ws(**b)) else {
            return;
        };
        if first_nonws == b'#' {
            self.comment(trim(l));
            return;
        }
        let line_no = self.line_no;
        if self.head.len() < HEAD_LINES {
            self.head.push(l[..l.len().min(256)].to_vec());
        }
        let Some(sp) = memrchr2(b' ', b'\t', l) else {
            self.malformed.hit(line_no);
            return;
        };
        let stack = trim(&l[..sp]);
        if self.mode.is_none() && !stack.is_empty() {
            self.mode = Some(decide(stack));
        }
        let Some(weight) = self.count(&l[sp + 1..]) else {
            return;
        };
        self.sample_lines += 1;
        self.abs_total += weight.abs();
        let (thread, frames) = self.thread_of(stack);
        self.frames_of(frames, thread, weight);
    }

    fn comment(&mut self, t: &[u8]) {
        // austin metadata: `# key: value`.
        let Some(body) = t.strip_prefix(b"# ") else {
            return;
        };
        let Some(colon) = memchr(b':', body) else {
            return;
        };
        let key = &body[..colon];
        let value = String::from_utf8_lossy(trim(&body[colon + 1..])).into_owned();
        if key == b"austin" {
            self.austin_header = true;
            if self.mode.is_none() {
                self.mode = Some(Mode::Austin);
            }
        } else if key == b"mode" && (self.austin_header || self.mode == Some(Mode::Austin)) {
            self.austin_mode = Some(value);
        }
    }

    /// Parses the count; counts problems. `None` = skip the line.
    fn count(&mut self, c: &[u8]) -> Option<f64> {
        let line = self.line_no;
        // austin full mode: `time,idle,rss` → first component.
        let c = match memchr(b',', c) {
            Some(i) if self.mode == Some(Mode::Austin) => &c[..i],
            _ => c,
        };
        let (neg, digits) = match c.strip_prefix(b"-") {
            Some(d) => (true, d),
            None => (false, c),
        };
        let (int_part, frac) = match memchr(b'.', digits) {
            Some(i) => (&digits[..i], Some(&digits[i + 1..])),
            None => (digits, None),
        };
        if int_part.is_empty()
            || !int_part.iter().all(u8::is_ascii_digit)
            || frac.is_some_and(|f| !f.iter().all(u8::is_ascii_digit))
        {
            if c.iter()
                .all(|b| b.is_ascii_digit() || *b == b'.' || *b == b'-')
            {
                self.bad_count.hit(line);
            } else {
                self.malformed.hit(line);
            }
            return None;
        }
        let mut v: u64 = 0;
        for &d in int_part {
            match v
                .checked_mul(10)
                .and_then(|x| x.checked_add((d - b'0') as u64))
            {
                Some(x) => v = x,
                None => {
                    self.overflow.hit(line);
                    return None;
                }
            }
        }
        if neg && self.mode != Some(Mode::Austin) {
            self.negative.hit(line);
            return None;
        }
        let mut w = match frac {
            Some(f) if !f.is_empty() => {
                // Exact decimal → nearest double.
                let s = std::str::from_utf8(&digits[..int_part.len() + 1 + f.len()]).ok()?;
                s.parse::<f64>().ok()?
            }
            _ => v as f64,
        };
        if neg {
            w = -w;
        }
        Some(w)
    }
}
