//! View transforms: one URL-safe string (`tf=`), parsed into a list of operations applied left to
//! right. The grammar and the semantics are documented in `docs/transforms.md`.
//!
//! ```text
//! tf     := op ( "~" op )*            (empty string = no transform)
//! op     := "f:" fid                  focus on a function (all its occurrences)
//!         | "fp:" fid ("." fid)*      focus on one top-down path (subtree)
//!         | "h:" matcher              hide frames (their cost goes to the caller)
//!         | "m:" fid                  merge a function into its callers (= h:fid)
//!         | "x:" matcher              drop every sample whose stack passes through a match
//!         | "rec"                     collapse direct recursion (f;f;f -> f) of every function
//!         | "rec:" fid                collapse all recursion of one function (f;g;f;h -> f;h)
//!         | "grp:pkg" | "grp:mod"     group frames by package / by module (file)
//!         | "idle"                    drop idle samples (leaf frame is a known wait/sleep/poll)
//!         | "d:" n                    keep frames at depth < n; deeper cost goes to depth n-1
//!         | "t:" pct                  fold nodes narrower than pct % of the total into the parent
//! matcher:= fid | "re:" regex         (regex on the name or the file; write "~" as "~~")
//! ```

use regex::{Regex, RegexBuilder};

use profview_model::FuncId;

/// Longest accepted transform string.
pub const MAX_TF_LEN: usize = 4096;
/// Most operations in one transform string.
pub const MAX_OPS: usize = 32;

/// Which frames an operation applies to.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// One function id.
    Id(FuncId),
    /// Functions whose name or file matches.
    Regex(Regex),
}

impl Matcher {
    /// True when the function matches.
    pub fn matches(&self, id: u32, name: &str, file: &str) -> bool {
        match self {
            Matcher::Id(f) => f.0 == id,
            Matcher::Regex(r) => r.is_match(name) || r.is_match(file),
        }
    }
}

/// How `grp:` groups frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// Library frames become `[stdlib]`, `[builtin]`, `[native]` or `[<distribution>]`; user frames stay.
    Package,
    /// Every frame becomes its module (file).
    Module,
}

/// One transform operation.
#[derive(Clone, Debug)]
pub enum Op {
    /// `f:<fid>`.
    Focus(FuncId),
    /// `fp:<path>`.
    FocusPath(Vec<FuncId>),
    /// `h:<matcher>` and `m:<fid>`.
    Hide(Matcher),
    /// `x:<matcher>`.
    Drop(Matcher),
    /// `rec`.
    CollapseDirectRecursion,
    /// `rec:<fid>`.
    CollapseRecursionOf(FuncId),
    /// `grp:pkg` / `grp:mod`.
    Group(GroupBy),
    /// `idle`.
    DropIdle,
    /// `d:<n>`.
    Depth(u32),
    /// `t:<pct>`.
    Threshold(f64),
}

impl Op {
    /// The short name of the operation as written in the grammar.
    pub fn keyword(&self) -> &'static str {
        match self {
            Op::Focus(_) => "f",
            Op::FocusPath(_) => "fp",
            Op::Hide(_) => "h",
            Op::Drop(_) => "x",
            Op::CollapseDirectRecursion => "rec",
            Op::CollapseRecursionOf(_) => "rec:<fid>",
            Op::Group(GroupBy::Package) => "grp:pkg",
            Op::Group(GroupBy::Module) => "grp:mod",
            Op::DropIdle => "idle",
            Op::Depth(_) => "d",
            Op::Threshold(_) => "t",
        }
    }
}

/// A parsed transform string.
#[derive(Clone, Debug, Default)]
pub struct Transforms {
    /// Operations, applied left to right.
    pub ops: Vec<Op>,
}

impl Transforms {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Splits on single `~`; `~~` is a literal `~`.
fn split_ops(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            if chars.peek() == Some(&'~') {
                chars.next();
                cur.push('~');
            } else {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn parse_fid(s: &str, op: &str) -> Result<FuncId, String> {
    s.parse::<u32>().map(FuncId).map_err(|_| format!("transform {op:?}: {s:?} is not a function id"))
}

fn parse_matcher(s: &str, op: &str) -> Result<Matcher, String> {
    if let Some(re) = s.strip_prefix("re:") {
        if re.is_empty() {
            return Err(format!("transform {op:?}: empty regex"));
        }
        let r = RegexBuilder::new(re)
            .size_limit(1 << 20)
            .nest_limit(64)
            .build()
            .map_err(|e| format!("transform {op:?}: bad regex: {e}"))?;
        Ok(Matcher::Regex(r))
    } else {
        Ok(Matcher::Id(parse_fid(s, op)?))
    }
}

/// Parses a transform string. Errors name the offending operation.
pub fn parse(s: &str) -> Result<Transforms, String> {
    if s.len() > MAX_TF_LEN {
        return Err(format!("transform string longer than {MAX_TF_LEN} bytes"));
    }
    let mut ops = Vec::new();
    if s.is_empty() {
        return Ok(Transforms { ops });
    }
    for part in split_ops(s) {
        if part.is_empty() {
            continue;
        }
        if ops.len() >= MAX_OPS {
            return Err(format!("more than {MAX_OPS} transform operations"));
        }
        let (key, arg) = match part.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (part.as_str(), None),
        };
        fn need<'s>(a: Option<&'s str>, part: &str, key: &str) -> Result<&'s str, String> {
            a.ok_or_else(|| format!("transform {part:?}: {key} needs an argument"))
        }
        let op = match key {
            "f" => Op::Focus(parse_fid(need(arg, &part, key)?, &part)?),
            "fp" => {
                let a = need(arg, &part, key)?;
                let path = crate::parse_path(a).map_err(|e| format!("transform {part:?}: {e}"))?;
                if path.is_empty() {
                    return Err(format!("transform {part:?}: empty path"));
                }
                Op::FocusPath(path)
            }
            "h" => Op::Hide(parse_matcher(need(arg, &part, key)?, &part)?),
            "m" => Op::Hide(Matcher::Id(parse_fid(need(arg, &part, key)?, &part)?)),
            "x" => Op::Drop(parse_matcher(need(arg, &part, key)?, &part)?),
            "rec" => match arg {
                None => Op::CollapseDirectRecursion,
                Some(a) => Op::CollapseRecursionOf(parse_fid(a, &part)?),
            },
            "grp" => match arg {
                Some("pkg" | "package") => Op::Group(GroupBy::Package),
                Some("mod" | "module") => Op::Group(GroupBy::Module),
                _ => return Err(format!("transform {part:?}: grp takes pkg or mod")),
            },
            "idle" if arg.is_none() => Op::DropIdle,
            "d" => {
                let a = need(arg, &part, key)?;
                let n: u32 = a.parse().map_err(|_| format!("transform {part:?}: depth must be a whole number"))?;
                if n == 0 {
                    return Err(format!("transform {part:?}: depth must be at least 1"));
                }
                Op::Depth(n)
            }
            "t" => {
                let a = need(arg, &part, key)?;
                let p: f64 = a.parse().map_err(|_| format!("transform {part:?}: threshold must be a number"))?;
                if !(p.is_finite() && (0.0..=100.0).contains(&p)) {
                    return Err(format!("transform {part:?}: threshold must be a percentage in 0..=100"));
                }
                Op::Threshold(p)
            }
            _ => return Err(format!("unknown transform {part:?} (see docs/transforms.md)")),
        };
        ops.push(op);
    }
    Ok(Transforms { ops })
}

/// Leaf names that mark a sample as idle for the `idle` transform: the function name's last
/// component (after the last `.` or space, without `'`/`>`/`}` and without a `(...)` suffix) is
/// one of these, or the whole name is `<idle>`/`[idle]`.
pub const IDLE_NAMES: &[&str] = &[
    "_wait_for_tstate_lock",
    "accept",
    "acquire",
    "cpu_idle",
    "do_idle",
    "epoll_wait",
    "futex_wait",
    "idle",
    "join",
    "kevent",
    "poll",
    "poll_idle",
    "pthread_cond_timedwait",
    "pthread_cond_wait",
    "recv",
    "recv_into",
    "recvfrom",
    "select",
    "sleep",
    "wait",
    "wait_for",
];

/// True when a frame with this name is an idle frame (see [`IDLE_NAMES`]).
pub fn is_idle_name(name: &str) -> bool {
    let n = name.trim();
    if n == "<idle>" || n == "[idle]" {
        return true;
    }
    // `<method 'acquire' of '_thread.lock' objects>`, `{method 'poll' of 'select.epoll' objects}`
    let core = if let Some(rest) = n.strip_prefix("<method '").or_else(|| n.strip_prefix("{method '")) {
        rest.split('\'').next().unwrap_or(rest)
    } else if let Some(rest) = n.strip_prefix("<built-in method ").or_else(|| n.strip_prefix("{built-in method ")) {
        rest.trim_end_matches(['>', '}'])
    } else {
        n
    };
    let core = core.split(" (").next().unwrap_or(core);
    let core = core.trim_end_matches("_[k]");
    let last = core.rsplit(['.', ' ', ':']).next().unwrap_or(core);
    IDLE_NAMES.binary_search(&last).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_names_sorted() {
        assert!(IDLE_NAMES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parses_the_example() {
        let t = parse("f:12~h:re:^_~m:34~rec~grp:pkg~idle~d:20~t:0.5").unwrap();
        assert_eq!(t.ops.len(), 8);
        assert!(matches!(t.ops[0], Op::Focus(FuncId(12))));
        assert!(matches!(&t.ops[1], Op::Hide(Matcher::Regex(r)) if r.as_str() == "^_"));
        assert!(matches!(t.ops[2], Op::Hide(Matcher::Id(FuncId(34)))));
        assert!(matches!(t.ops[3], Op::CollapseDirectRecursion));
        assert!(matches!(t.ops[4], Op::Group(GroupBy::Package)));
        assert!(matches!(t.ops[5], Op::DropIdle));
        assert!(matches!(t.ops[6], Op::Depth(20)));
        assert!(matches!(t.ops[7], Op::Threshold(p) if p == 0.5));
    }

    #[test]
    fn tilde_escape_and_errors() {
        let t = parse("h:re:a~~b~rec").unwrap();
        assert!(matches!(&t.ops[0], Op::Hide(Matcher::Regex(r)) if r.as_str() == "a~b"));
        assert!(parse("").unwrap().is_empty());
        for bad in ["f", "f:x", "zzz", "d:0", "t:200", "h:re:(", "grp:x", "fp:", "idle:3"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(parse(&"rec~".repeat(40)).is_err());
    }

    #[test]
    fn idle_rule() {
        for n in [
            "Condition.wait",
            "<idle>",
            "<method 'acquire' of '_thread.lock' objects>",
            "{method 'poll' of 'select.epoll' objects}",
            "<built-in method time.sleep>",
            "select",
            "do_idle_[k]",
            "Thread.join",
            "wait (threading.py:320)",
        ] {
            assert!(is_idle_name(n), "{n}");
        }
        for n in ["main", "waiter", "selection", "Thread.run", "<module>"] {
            assert!(!is_idle_name(n), "{n}");
        }
    }
}
