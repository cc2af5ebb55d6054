//! The transform bar: the operations of `tf=` as removable chips, and toggles for the common ones.
//! Focus / hide / merge for one function are offered by the detail panel through [`push_op`].
//! Grammar and semantics: `docs/transforms.md`.

use leptos::prelude::*;

use crate::api;
use crate::url_state;

/// Splits a transform string into its operations (`~` separates, `~~` is a literal `~`).
pub fn split_ops(tf: &str) -> Vec<String> {
    let mut ops = Vec::new();
    let mut cur = String::new();
    let mut chars = tf.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            if chars.peek() == Some(&'~') {
                chars.next();
                cur.push_str("~~");
            } else {
                if !cur.is_empty() {
                    ops.push(std::mem::take(&mut cur));
                }
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        ops.push(cur);
    }
    ops
}

/// The operations of `tf` that name no function id (`idle`, `rec`, `grp:…`, `d:…`, `t:…`,
/// `h:re:…`, `x:re:…`): the ones that still mean the same after switching between functions and
/// lines (`by=`), whose ids differ.
pub fn without_ids(tf: &str) -> Option<String> {
    let ops: Vec<String> = split_ops(tf)
        .into_iter()
        .filter(|op| {
            let (head, rest) = op.split_once(':').unwrap_or((op.as_str(), ""));
            match head {
                "f" | "fp" | "m" | "rec" => rest.is_empty(),
                "h" | "x" => rest.starts_with("re:"),
                _ => true,
            }
        })
        .collect();
    (!ops.is_empty()).then(|| ops.join("~"))
}

/// The transform string with `op` appended (or removed, when it is already there).
pub fn toggle_op(tf: &str, op: &str) -> Option<String> {
    let mut ops = split_ops(tf);
    if let Some(i) = ops.iter().position(|o| o == op) {
        ops.remove(i);
    } else {
        ops.push(op.to_owned());
    }
    (!ops.is_empty()).then(|| ops.join("~"))
}

/// Appends an operation to `tf` in the URL. The zoom root is dropped: paths change under a transform.
pub fn push_op(set: &(impl Fn(&[(&str, Option<String>)]) + Clone), tf: Option<String>, op: String) {
    let cur = tf.unwrap_or_default();
    if split_ops(&cur).contains(&op) {
        return;
    }
    let next = if cur.is_empty() { op } else { format!("{cur}~{op}") };
    set(&[("tf", Some(next)), ("root", None)]);
}

fn describe(op: &str) -> (String, Option<u32>) {
    let (head, rest) = op.split_once(':').unwrap_or((op, ""));
    let fid = rest.parse::<u32>().ok();
    let text = match head {
        "f" => "focus on".to_owned(),
        "fp" => format!("focus on path {rest}"),
        "h" if rest.starts_with("re:") => format!("hide /{}/", &rest[3..]),
        "h" => "hide".to_owned(),
        "m" => "merge into callers:".to_owned(),
        "x" if rest.starts_with("re:") => format!("drop stacks through /{}/", &rest[3..]),
        "x" => "drop stacks through".to_owned(),
        "rec" if rest.is_empty() => "collapse recursion".to_owned(),
        "rec" => "collapse recursion of".to_owned(),
        "grp" => format!("group by {}", if rest == "mod" { "module" } else { "package" }),
        "idle" => "drop idle samples".to_owned(),
        "d" => format!("depth ≤ {rest}"),
        "t" => format!("fold nodes < {rest}%"),
        _ => op.to_owned(),
    };
    let fid = match head {
        "f" | "h" | "m" | "x" | "rec" => fid,
        _ => None,
    };
    (text, fid)
}

/// The transform bar.
#[component]
pub fn TransformBar(id: String, sampled: bool) -> impl IntoView {
    let tf = url_state::param("tf");
    let set = url_state::setter();
    // Names of the functions the operations mention.
    let names = LocalResource::new(move || {
        let ops = split_ops(&tf.get().unwrap_or_default());
        let id = id.clone();
        async move {
            let mut out = std::collections::HashMap::new();
            for op in ops {
                if let (_, Some(fid)) = describe(&op) {
                    if let Ok(name) = api::function_name(&id, fid, &None, &None).await {
                        out.insert(fid, name);
                    }
                }
            }
            out
        }
    });
    let toggles: Vec<(&'static str, &'static str, &'static str)> = if sampled {
        vec![("rec", "collapse recursion", "tf-rec"), ("idle", "drop idle", "tf-idle"), ("grp:pkg", "group libraries", "tf-group")]
    } else {
        vec![("rec", "collapse recursion", "tf-rec")]
    };
    view! {
        <div class="transforms" data-testid="transforms">
            <span class="muted">"Transforms:"</span>
            {toggles.into_iter().map(|(op, label, testid)| {
                let set = set.clone();
                let on = move || split_ops(&tf.get().unwrap_or_default()).iter().any(|o| o == op);
                view! {
                    <label class="toggle">
                        // data-testid values: tf-rec, tf-idle, tf-group
                        <input type="checkbox" data-testid=testid prop:checked=on on:change=move |_| {
                            let next = toggle_op(&tf.get_untracked().unwrap_or_default(), op);
                            set(&[("tf", next), ("root", None)]);
                        }/>
                        {label}
                    </label>
                }
            }).collect_view()}
            {move || {
                let ops = split_ops(&tf.get().unwrap_or_default());
                let known = names.get().unwrap_or_default();
                ops.into_iter().filter(|o| !matches!(o.as_str(), "rec" | "idle" | "grp:pkg")).map(|op| {
                    let (text, fid) = describe(&op);
                    let name = fid.map(|f| known.get(&f).cloned().unwrap_or_else(|| format!("#{f}")));
                    let set = set.clone();
                    let op2 = op.clone();
                    view! {
                        <span class="chip" data-testid="tf-chip" title=op.clone()>
                            {text}{name.map(|n| format!(" {n}"))}
                            <button class="chip-x" data-testid="tf-remove" title="remove" on:click=move |_| {
                                let next = toggle_op(&tf.get_untracked().unwrap_or_default(), &op2);
                                set(&[("tf", next), ("root", None)]);
                            }>"×"</button>
                        </span>
                    }
                }).collect_view()
            }}
        </div>
    }
}
