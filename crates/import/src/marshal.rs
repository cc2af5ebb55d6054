//! A hardened reader for CPython's `marshal` format (versions 0–6, Python 2 string table).
//!
//! * Iterative (explicit stack), so hostile nesting cannot overflow the native stack; the depth
//!   is capped (`Limits::max_depth`, CPython: 2000).
//! * Every length is checked against the bytes left **before** anything is allocated; container
//!   vectors grow one parsed child at a time (each child consumes at least one input byte), so
//!   memory is linear in the input size.
//! * Objects live in an arena ([`Marshal::objs`]); references (`r`, FLAG_REF) share the arena slot
//!   instead of copying, so reference bombs cost nothing. Containers are registered before their
//!   children (like CPython) and a reference to a container that is still being read is
//!   rejected, so the object graph is always acyclic.
//! * Code objects (`c`) are parsed for the layouts of CPython 2.x, 3.0–3.7, 3.8–3.10 and
//!   3.11–3.14, keeping only `co_filename`, `co_name`, `co_qualname`, `co_firstlineno`.

use crate::ImportError;

/// Index of an object in [`Marshal::objs`].
pub type ObjId = u32;

/// The fields of a code object that label a pstats key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CodeInfo {
    /// `co_filename` when it is a string.
    pub filename: Option<String>,
    /// `co_name` when it is a string.
    pub name: Option<String>,
    /// `co_qualname` (3.11+) when it is a string.
    pub qualname: Option<String>,
    /// `co_firstlineno`.
    pub firstlineno: i64,
}

/// One unmarshalled object.
#[derive(Clone, Debug, PartialEq)]
pub enum Obj {
    /// A container still being read (only visible while reading).
    Pending,
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// `i`, `I` or an `l` that fits.
    Int(i64),
    /// An `l` big int that does not fit `i64`: `Some(v)` when it fits `i128`, else `None`
    /// (with the sign kept in `negative`).
    BigInt {
        /// The value when it fits in `i128`.
        value: Option<i128>,
        /// Sign.
        negative: bool,
    },
    /// `g` / `f`.
    Float(f64),
    /// Complex numbers (`x`, `y`): kept only as a marker.
    Complex,
    /// Text (`u`, `t`, `a`, `A`, `z`, `Z`).
    Str(String),
    /// `s` (bytes in Python 3, str in Python 2).
    Bytes(Vec<u8>),
    /// `(` / `)`.
    Tuple(Vec<ObjId>),
    /// `[`.
    List(Vec<ObjId>),
    /// `{` (and a version-6 frozendict).
    Dict(Vec<(ObjId, ObjId)>),
    /// `<` / `>`.
    Set(Vec<ObjId>),
    /// `c`.
    Code(Box<CodeInfo>),
    /// `:` (version 5), `.` Ellipsis, `S` StopIteration.
    Other(&'static str),
}

impl Obj {
    /// Python type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Obj::Pending => "unfinished container",
            Obj::None => "None",
            Obj::Bool(_) => "bool",
            Obj::Int(_) | Obj::BigInt { .. } => "int",
            Obj::Float(_) => "float",
            Obj::Complex => "complex",
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::Tuple(_) => "tuple",
            Obj::List(_) => "list",
            Obj::Dict(_) => "dict",
            Obj::Set(_) => "set",
            Obj::Code(_) => "code",
            Obj::Other(n) => n,
        }
    }
}

/// The result of reading one top-level object.
#[derive(Debug)]
pub struct Marshal {
    /// Arena of every object read.
    pub objs: Vec<Obj>,
    /// The top-level object.
    pub root: ObjId,
    /// Bytes consumed by the top-level object (anything after it is trailing data).
    pub consumed: usize,
    /// Non-fatal notes (e.g. invalid UTF-8 in a `t` string decoded lossily).
    pub notes: Vec<String>,
}

impl Marshal {
    /// The object behind an id.
    pub fn get(&self, id: ObjId) -> &Obj {
        &self.objs[id as usize]
    }
}

const FLAG_REF: u8 = 0x80;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Int(Field),
    Obj(Field),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Other,
    Filename,
    Name,
    Qualname,
    FirstLine,
}

use Field::*;
use Step::{Int as I, Obj as O};

const PY311: &[Step] = &[
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    O(Other), // code
    O(Other), // consts
    O(Other), // names
    O(Other), // localsplusnames
    O(Other), // localspluskinds
    O(Filename),
    O(Name),
    O(Qualname),
    I(FirstLine),
    O(Other), // linetable
    O(Other), // exceptiontable
];
const PY38: &[Step] = &[
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    O(Other), // code
    O(Other), // consts
    O(Other), // names
    O(Other), // varnames
    O(Other), // freevars
    O(Other), // cellvars
    O(Filename),
    O(Name),
    I(FirstLine),
    O(Other), // lnotab
];
const PY30: &[Step] = &[
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Filename),
    O(Name),
    I(FirstLine),
    O(Other),
];
const PY2: &[Step] = &[
    I(Other),
    I(Other),
    I(Other),
    I(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Other),
    O(Filename),
    O(Name),
    I(FirstLine),
    O(Other),
];

#[derive(Debug)]
enum Frame {
    Seq {
        id: ObjId,
        kind: SeqKind,
        left: usize,
        items: Vec<ObjId>,
    },
    Dict {
        id: ObjId,
        items: Vec<(ObjId, ObjId)>,
        key: Option<ObjId>,
    },
    Code {
        id: ObjId,
        layout: &'static [Step],
        step: usize,
        info: CodeInfo,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeqKind {
    Tuple,
    List,
    Set,
    Slice,
}

/// What reading one object header gave.
enum Got {
    /// A finished object.
    Done(ObjId),
    /// TYPE_NULL (`0`): only valid as a dict key (end of dict).
    Null,
    /// A container frame was pushed; its children come next.
    Pushed,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    objs: Vec<Obj>,
    refs: Vec<ObjId>,
    strings: Vec<ObjId>, // Python 2 interned-string table (`t` / `R`)
    stack: Vec<Frame>,
    max_depth: usize,
    notes: Vec<String>,
}

/// Reads the first marshalled object of `bytes`.
pub fn read(bytes: &[u8], max_depth: usize) -> Result<Marshal, ImportError> {
    let mut r = Reader {
        b: bytes,
        pos: 0,
        objs: Vec::new(),
        refs: Vec::new(),
        strings: Vec::new(),
        stack: Vec::new(),
        max_depth,
        notes: Vec::new(),
    };
    let root = r.run()?;
    Ok(Marshal {
        objs: r.objs,
        root,
        consumed: r.pos,
        notes: r.notes,
    })
}

impl<'a> Reader<'a> {
    fn err<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, ImportError> {
        Err(ImportError::Marshal {
            offset,
            message: message.into(),
        })
    }

    fn eof<T>(&self, want: usize) -> Result<T, ImportError> {
        self.err(
            self.b.len(),
            format!(
                "file truncated (end of data while reading {want} byte(s) at byte {}; {} left)",
                self.pos,
                self.b.len() - self.pos
            ),
        )
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ImportError> {
        if self.b.len() - self.pos < n {
            return self.eof(n);
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, ImportError> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, ImportError> {
        let s = self.take(4)?;
        Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }

    fn i64(&mut self) -> Result<i64, ImportError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(i64::from_le_bytes(a))
    }

    /// A non-negative i32 size; also checks that at least `size * min_item` bytes remain.
    fn size(&mut self, what: &str, min_item: usize) -> Result<usize, ImportError> {
        let at = self.pos;
        let n = self.i32()?;
        if n < 0 {
            return self.err(at, format!("{what} size out of range ({n})"));
        }
        let n = n as usize;
        let need = n.saturating_mul(min_item);
        if need > self.b.len() - self.pos {
            return self.err(
                at,
                format!(
                    "file truncated: {what} declares {n} item(s) but only {} byte(s) remain",
                    self.b.len() - self.pos
                ),
            );
        }
        Ok(n)
    }

    fn push_obj(&mut self, o: Obj) -> ObjId {
        let id = self.objs.len() as ObjId;
        self.objs.push(o);
        id
    }

    fn deref(&self, at: usize, idx: i32) -> Result<ObjId, ImportError> {
        if idx < 0 || idx as usize >= self.refs.len() {
            return self.err(
                at,
                format!(
                    "invalid reference {idx} ({} object(s) registered)",
                    self.refs.len()
                ),
            );
        }
        let id = self.refs[idx as usize];
        if matches!(self.objs[id as usize], Obj::Pending) {
            return self.err(
                at,
                format!("reference {idx} points to a container that is still being read (cycle)"),
            );
        }
        Ok(id)
    }

    fn text(
        &mut self,
        n: usize,
        latin1: bool,
        strict_utf8: bool,
        at: usize,
    ) -> Result<String, ImportError> {
        let raw = self.take(n)?;
        if latin1 {
            return Ok(raw.iter().map(|&c| c as char).collect());
        }
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            // The offset of the first bad byte: the text starts `n` bytes before `pos`.
            Err(e) if strict_utf8 => {
                self.err(self.pos - n + e.valid_up_to(), "invalid UTF-8 in a str object")
            }
            Err(_) => {
                self.notes.push(format!(
                    "invalid UTF-8 in a string at byte {at}, decoded lossily"
                ));
                Ok(String::from_utf8_lossy(raw).into_owned())
            }
        }
    }

    /// Reads one object header. Scalars are finished at once; containers push a frame.
    fn header(&mut self) -> Result<Got, ImportError> {
        let at = self.pos;
        let code = self.u8()?;
        let flag = code & FLAG_REF != 0;
        let ty = code & !FLAG_REF;
        // Containers: reserve the arena slot (and the ref index) before the children.
        let container =
            |r: &mut Self, frame_of: &dyn Fn(ObjId) -> Frame| -> Result<Got, ImportError> {
                if r.stack.len() >= r.max_depth {
                    return r.err(
                        at,
                        format!(
                            "recursion limit exceeded (nesting deeper than {})",
                            r.max_depth
                        ),
                    );
                }
                let id = r.push_obj(Obj::Pending);
                if flag {
                    r.refs.push(id);
                }
                r.stack.push(frame_of(id));
                Ok(Got::Pushed)
            };
        let obj = match ty {
            b'0' => {
                if flag {
                    return self.err(at, "NULL object with the ref flag");
                }
                return Ok(Got::Null);
            }
            b'N' => Obj::None,
            b'T' => Obj::Bool(true),
            b'F' => Obj::Bool(false),
            b'S' => Obj::Other("StopIteration"),
            b'.' => Obj::Other("Ellipsis"),
            b'i' => Obj::Int(self.i32()? as i64),
            b'I' => Obj::Int(self.i64()?),
            b'l' => self.long(at)?,
            b'g' => {
                let s = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                Obj::Float(f64::from_le_bytes(a))
            }
            b'f' => {
                let n = self.u8()? as usize;
                let t = self.text(n, true, false, at)?;
                match t.trim().parse::<f64>() {
                    Ok(v) => Obj::Float(v),
                    Err(_) => return self.err(at, format!("bad text float {t:?}")),
                }
            }
            b'y' => {
                self.take(16)?;
                Obj::Complex
            }
            b'x' => {
                let n = self.u8()? as usize;
                self.take(n)?;
                let n = self.u8()? as usize;
                self.take(n)?;
                Obj::Complex
            }
            b'z' | b'Z' => {
                let n = self.u8()? as usize;
                Obj::Str(self.text(n, true, false, at)?)
            }
            b'a' | b'A' => {
                let n = self.size("string", 1)?;
                Obj::Str(self.text(n, true, false, at)?)
            }
            b'u' => {
                let n = self.size("string", 1)?;
                Obj::Str(self.text(n, false, true, at)?)
            }
            b't' => {
                let n = self.size("string", 1)?;
                let s = self.text(n, false, false, at)?;
                let id = self.push_obj(Obj::Str(s));
                if flag {
                    self.refs.push(id);
                }
                self.strings.push(id);
                return Ok(Got::Done(id));
            }
            b's' => {
                let n = self.size("bytes", 1)?;
                Obj::Bytes(self.take(n)?.to_vec())
            }
            b'R' => {
                let idx = self.i32()?;
                if idx < 0 || idx as usize >= self.strings.len() {
                    return self.err(at, format!("invalid string reference {idx}"));
                }
                return Ok(Got::Done(self.strings[idx as usize]));
            }
            b'r' => {
                let idx = self.i32()?;
                return Ok(Got::Done(self.deref(at, idx)?));
            }
            b'(' | b'[' | b'<' | b'>' | b')' => {
                let n = if ty == b')' {
                    self.u8()? as usize
                } else {
                    self.size("container", 1)?
                };
                if n > self.b.len() - self.pos {
                    return self.eof(n);
                }
                let kind = match ty {
                    b'(' | b')' => SeqKind::Tuple,
                    b'[' => SeqKind::List,
                    _ => SeqKind::Set,
                };
                return container(self, &|id| Frame::Seq {
                    id,
                    kind,
                    left: n,
                    items: Vec::new(),
                });
            }
            b':' => {
                return container(self, &|id| Frame::Seq {
                    id,
                    kind: SeqKind::Slice,
                    left: 3,
                    items: Vec::new(),
                })
            }
            b'{' | b'}' => {
                return container(self, &|id| Frame::Dict {
                    id,
                    items: Vec::new(),
                    key: None,
                })
            }
            b'c' => {
                let layout = self.code_layout(at)?;
                return container(self, &|id| Frame::Code {
                    id,
                    layout,
                    step: 0,
                    info: CodeInfo::default(),
                });
            }
            _ => {
                return self.err(at, format!("unknown type code 0x{code:02x}"));
            }
        };
        let id = self.push_obj(obj);
        if flag {
            self.refs.push(id);
        }
        Ok(Got::Done(id))
    }

    fn long(&mut self, at: usize) -> Result<Obj, ImportError> {
        let n = self.i32()?;
        if n == i32::MIN {
            return self.err(at, "long size out of range");
        }
        let negative = n.is_negative();
        let nd = n.unsigned_abs() as usize;
        if nd.saturating_mul(2) > self.b.len() - self.pos {
            return self.err(
                at,
                format!(
                    "file truncated: long declares {nd} digit(s) but only {} byte(s) remain",
                    self.b.len() - self.pos
                ),
            );
        }
        let digits = self.take(nd * 2)?;
        let mut value: Option<i128> = Some(0);
        for (i, d) in digits.chunks_exact(2).enumerate() {
            let d = u16::from_le_bytes([d[0], d[1]]);
            if d >= 1 << 15 {
                return self.err(at + 5 + 2 * i, "digit out of range in long");
            }
            if i == nd - 1 && d == 0 {
                return self.err(at + 5 + 2 * i, "unnormalized long data");
            }
            if d != 0 {
                value = value.and_then(|v| {
                    let shift = 15u32.checked_mul(i as u32)?;
                    if shift >= 126 {
                        return None;
                    }
                    v.checked_add((d as i128) << shift)
                });
            }
        }
        let value = value.map(|v| if negative { -v } else { v });
        Ok(match value {
            Some(v) if v >= i64::MIN as i128 && v <= i64::MAX as i128 => Obj::Int(v as i64),
            _ => Obj::BigInt { value, negative },
        })
    }

    /// Picks the code-object layout by looking ahead for the `co_code` bytes object that
    /// follows the leading int fields, then for the consts tuple after it.
    fn code_layout(&self, at: usize) -> Result<&'static [Step], ImportError> {
        let p = self.pos;
        let plausible = |nints: usize| -> bool {
            let q = p + 4 * nints;
            let Some(&c) = self.b.get(q) else {
                return false;
            };
            if c & !FLAG_REF != b's' {
                return false;
            }
            let Some(l) = self.b.get(q + 1..q + 5) else {
                return false;
            };
            let l = i32::from_le_bytes([l[0], l[1], l[2], l[3]]);
            if l < 0 {
                return false;
            }
            let after = (q + 5).saturating_add(l as usize);
            match self.b.get(after) {
                Some(&c) => matches!(c & !FLAG_REF, b'(' | b')' | b'r' | b'['),
                None => false,
            }
        };
        if plausible(5) {
            Ok(PY311) // may switch to PY30 at the fifth object
        } else if plausible(6) {
            Ok(PY38)
        } else if plausible(4) {
            Ok(PY2)
        } else {
            self.err(at, "code object of an unrecognised Python version")
        }
    }

    fn str_of(&self, id: ObjId) -> Option<String> {
        match &self.objs[id as usize] {
            Obj::Str(s) => Some(s.clone()),
            Obj::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// Advances the code frame on top of the stack over int fields; returns true when the
    /// frame still needs objects, false when it is complete.
    fn code_advance(&mut self) -> Result<bool, ImportError> {
        loop {
            let (layout, step) = match self.stack.last() {
                Some(Frame::Code { layout, step, .. }) => (*layout, *step),
                _ => return Ok(true),
            };
            if step >= layout.len() {
                return Ok(false);
            }
            match layout[step] {
                Step::Int(f) => {
                    let v = self.i32()?;
                    if let Some(Frame::Code { step, info, .. }) = self.stack.last_mut() {
                        if f == FirstLine {
                            info.firstlineno = v as i64;
                        }
                        *step += 1;
                    }
                }
                Step::Obj(_) => {
                    // 3.11+ and 3.0–3.7 share the first five ints and four objects; the fifth
                    // object is bytes (co_localspluskinds) in 3.11+, a tuple (co_freevars) before.
                    if std::ptr::eq(layout, PY311) && step == 9 {
                        let c = self.b.get(self.pos).copied().unwrap_or(0) & !FLAG_REF;
                        let is_tuple = matches!(c, b'(' | b')' | b'[')
                            || (c == b'r' && {
                                let idx = self
                                    .b
                                    .get(self.pos + 1..self.pos + 5)
                                    .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                                    .unwrap_or(-1);
                                idx >= 0
                                    && (idx as usize) < self.refs.len()
                                    && matches!(
                                        self.objs[self.refs[idx as usize] as usize],
                                        Obj::Tuple(_)
                                    )
                            });
                        if is_tuple {
                            if let Some(Frame::Code { layout, .. }) = self.stack.last_mut() {
                                *layout = PY30;
                            }
                        }
                    }
                    return Ok(true);
                }
            }
        }
    }

    /// Gives a finished child to the frame on top; returns true when that frame is complete.
    fn deliver(&mut self, child: ObjId) -> Result<bool, ImportError> {
        let at = self.pos;
        let child_str = self.str_of(child);
        match self.stack.last_mut() {
            Some(Frame::Seq { left, items, .. }) => {
                items.push(child);
                *left -= 1;
                Ok(*left == 0)
            }
            Some(Frame::Dict { items, key, .. }) => {
                match key.take() {
                    None => *key = Some(child),
                    Some(k) => items.push((k, child)),
                }
                Ok(false)
            }
            Some(Frame::Code {
                layout, step, info, ..
            }) => {
                if let Step::Obj(f) = layout[*step] {
                    match f {
                        Filename => info.filename = child_str,
                        Name => info.name = child_str,
                        Qualname => info.qualname = child_str,
                        _ => {}
                    }
                }
                *step += 1;
                Ok(false)
            }
            None => self.err(at, "internal: no frame"),
        }
    }

    /// Pops the finished frame on top and stores its object; returns its id.
    fn close(&mut self) -> Result<ObjId, ImportError> {
        let at = self.pos;
        let Some(f) = self.stack.pop() else {
            return self.err(at, "internal: no frame");
        };
        let (id, obj) = match f {
            Frame::Seq {
                id, kind, items, ..
            } => (
                id,
                match kind {
                    SeqKind::Tuple => Obj::Tuple(items),
                    SeqKind::List => Obj::List(items),
                    SeqKind::Set => Obj::Set(items),
                    SeqKind::Slice => Obj::Other("slice"),
                },
            ),
            Frame::Dict { id, items, .. } => (id, Obj::Dict(items)),
            Frame::Code { id, info, .. } => (id, Obj::Code(Box::new(info))),
        };
        self.objs[id as usize] = obj;
        Ok(id)
    }

    fn run(&mut self) -> Result<ObjId, ImportError> {
        if self.b.is_empty() {
            return self.err(0, "empty file (EOF read where object expected)");
        }
        loop {
            // A code frame on top may have int fields to read, or be complete.
            let mut finished: Option<ObjId> = None;
            if matches!(self.stack.last(), Some(Frame::Code { .. })) && !self.code_advance()? {
                finished = Some(self.close()?);
            }
            // A zero-length sequence is complete at once.
            if finished.is_none() {
                if let Some(Frame::Seq { left: 0, .. }) = self.stack.last() {
                    finished = Some(self.close()?);
                }
            }
            let mut done = match finished {
                Some(id) => id,
                None => {
                    let at = self.pos;
                    match self.header()? {
                        Got::Pushed => continue,
                        Got::Done(id) => id,
                        Got::Null => match self.stack.last() {
                            Some(Frame::Dict { key: None, .. }) => self.close()?,
                            _ => return self.err(at, "NULL object in marshal data for object"),
                        },
                    }
                }
            };
            // Deliver upwards while frames complete.
            loop {
                if self.stack.is_empty() {
                    return Ok(done);
                }
                if self.deliver(done)? {
                    done = self.close()?;
                } else {
                    break;
                }
            }
        }
    }
}
