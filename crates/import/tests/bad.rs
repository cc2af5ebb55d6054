//! Every file in `shared/bad/` behaves as `bad/README.md` says. A file without an expectation
//! here fails the test, so new hostile inputs cannot go unchecked.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use profview_import::{folded, import, ImportError, Imported, Limits};
use profview_model::{Dialect, Profile};

enum Want {
    /// Refused; the message contains this text.
    Err(&'static str),
    /// Accepted; the closure checks the numbers.
    Ok(fn(&Imported)),
}

fn leaf_totals(p: &Profile) -> std::collections::BTreeMap<String, f64> {
    let s = p.samples.as_ref().unwrap();
    let mut m = std::collections::BTreeMap::new();
    for smp in &s.samples {
        let k = match smp.stack() {
            Some(st) => p.func(s.stacks.func[st.idx()]).name.clone(),
            None => String::new(),
        };
        *m.entry(k).or_insert(0.0) += smp.weight;
    }
    m
}

fn total(p: &Profile) -> f64 {
    p.samples.as_ref().unwrap().total()
}

fn has_warning(i: &Imported, text: &str) -> bool {
    i.warnings.iter().any(|w| w.message.contains(text))
}

fn pstats_totals(i: &Imported) -> (u64, u64, f64) {
    let p = i.profile.pstats.as_ref().unwrap();
    (p.total_calls, p.prim_calls, p.total_time)
}

fn expectation(name: &str) -> Option<Want> {
    use Want::*;
    Some(match name {
        "folded_200k_distinct_stacks.folded" => Ok(|i| {
            assert_eq!(total(&i.profile), 1_399_980.0);
            assert_eq!(i.profile.samples.as_ref().unwrap().samples.len(), 200_000);
        }),
        "folded_annotations.folded" => Ok(|i| {
            let p = &i.profile;
            assert_eq!(total(p), 9.0);
            assert_eq!(p.dialect, Dialect::Perf);
            let has = |n: &str, f: &str| p.functions.iter().any(|x| x.name == n && x.file == f);
            assert!(has("sys_read", "[kernel]") && has("vfs_read", "[kernel]"));
            assert!(has("java/lang/Thread.run", "[jit]"));
            assert!(has("inlined_fn", "[inlined]"));
            assert!(has("waker", "[waker]"));
            assert!(has("weird_[x]", ""), "unknown annotations are kept");
            assert!(
                has("_[k]", ""),
                "a frame that is only an annotation keeps its text"
            );
        }),
        "folded_crlf_blank_comments_bom.folded" => Ok(|i| {
            let p = &i.profile;
            assert_eq!(total(p), 10.0);
            let l = leaf_totals(p);
            assert_eq!((l["a"], l["b"], l["c"]), (7.0, 2.0, 1.0));
            let mut names: Vec<_> = p.functions.iter().map(|f| f.name.as_str()).collect();
            names.sort();
            assert_eq!(names, ["a", "b", "c", "main"]);
            assert!(i.warnings.is_empty(), "{:?}", i.warnings);
        }),
        "folded_deep_1e6_distinct_frames.folded" => Ok(|i| {
            assert_eq!(total(&i.profile), 1.0);
            let s = i.profile.samples.as_ref().unwrap();
            assert_eq!(s.stacks.len(), Limits::default().max_stack_depth);
            assert!(has_warning(i, "deeper than"));
        }),
        "folded_empty_file.folded" => Err("empty file"),
        // Policy: empty frames are dropped (warning); a line whose stack is empty is a sample
        // with no frames (py-spy writes ` 2` for idle samples); so all 28 are kept.
        "folded_empty_frames_and_semicolons.folded" => Ok(|i| {
            let p = &i.profile;
            assert_eq!(total(p), 28.0);
            let l = leaf_totals(p);
            assert_eq!((l["a"], l["main"], l[""]), (6.0, 6.0, 16.0));
            assert!(has_warning(i, "empty frame"));
            assert!(p.functions.iter().all(|f| !f.name.is_empty()));
        }),
        "folded_huge_single_frame_1MiB.folded" => Ok(|i| {
            assert_eq!(total(&i.profile), 1.0);
            assert!(i
                .profile
                .functions
                .iter()
                .all(|f| f.name.len() <= Limits::default().max_name_len));
            assert!(has_warning(i, "truncated"));
        }),
        "folded_no_trailing_newline.folded" => Ok(|i| assert_eq!(total(&i.profile), 3.0)),
        "folded_only_comments_and_blanks.folded" => Err("no samples"),
        "folded_unsorted_duplicates.folded" => Ok(|i| {
            let l = leaf_totals(&i.profile);
            assert_eq!((l["a"], l["b"]), (6.0, 4.0));
            assert_eq!(i.profile.samples.as_ref().unwrap().samples.len(), 2);
        }),
        "pstats_big_truncated_at_187778.prof" => Err("truncated"),
        "pstats_bigint_counts.prof" => Err("count out of range"),
        "pstats_bool_counts.prof" => Ok(|i| assert_eq!(pstats_totals(i), (1, 1, 0.0))),
        "pstats_callers_not_dict.prof" => Err("callers is not a dict (got list)"),
        "pstats_cc_gt_nc.prof" => Ok(|i| {
            assert_eq!(pstats_totals(i), (3, 10, 0.5));
            assert_eq!(i.profile.dialect, Dialect::Yappi);
            assert!(has_warning(i, "cc > nc"));
        }),
        "pstats_deep_dicts_100000.prof" => Err("recursion limit exceeded"),
        "pstats_deep_lists_3000.prof" => Err("recursion limit exceeded"),
        "pstats_empty_dict.prof" => Err("profile contains no functions"),
        "pstats_empty_file.prof" => Err("empty file"),
        "pstats_float_counts.prof" => Err("is a float"),
        "pstats_gzip_of_valid.prof.gz" => Ok(|i| {
            let (tc, pc, tt) = pstats_totals(i);
            assert_eq!((tc, pc), (132_078, 3_300));
            assert_eq!(tt.to_bits(), 0.25910532700000005f64.to_bits());
        }),
        "pstats_huge_ascii_len.prof" => Err("truncated"),
        "pstats_huge_list_len.prof" => Err("truncated"),
        "pstats_huge_long_digits.prof" => Err("truncated"),
        "pstats_huge_tuple_len.prof" => Err("truncated"),
        "pstats_int_top_level.prof" => Err("not a pstats dict (got int)"),
        "pstats_invalid_utf8_in_u.prof" => Err("invalid UTF-8"),
        "pstats_key_wrong_arity.prof" => {
            Err("key is not a (file, line, function) tuple (got a tuple of 2")
        }
        "pstats_list_not_dict.prof" => Err("not a pstats dict (got list)"),
        "pstats_long_digit_out_of_range.prof" => Err("digit out of range"),
        "pstats_negative_and_nan.prof" => Err("negative"),
        "pstats_nonascii_in_a.prof" => Ok(|i| {
            assert_eq!(pstats_totals(i).0, 1);
            assert!(i
                .profile
                .functions
                .iter()
                .any(|f| f.name.contains('é') || f.file.contains('é')));
        }),
        "pstats_none_top_level.prof" => Err("not a pstats dict (got None)"),
        "pstats_nonstring_filename.prof" => Err("key file name is not a string (got int)"),
        "pstats_null_at_top.prof" => Err("NULL object"),
        "pstats_ref_negative.prof" => Err("invalid reference -1"),
        "pstats_ref_out_of_range.prof" => Err("invalid reference 999"),
        "pstats_string_keys.prof" => Err("key is not a (file, line, function) tuple (got str)"),
        "pstats_trailing_garbage.prof" => Ok(|i| {
            let (tc, pc, tt) = pstats_totals(i);
            assert_eq!((tc, pc, i.profile.functions.len()), (132_078, 3_300, 18));
            assert_eq!(tt.to_bits(), 0.25910532700000005f64.to_bits());
            assert!(has_warning(i, "trailing"));
        }),
        "pstats_truncated_at_100_of_2067.prof"
        | "pstats_truncated_at_17_of_2067.prof"
        | "pstats_truncated_at_1_of_2067.prof"
        | "pstats_truncated_at_2066_of_2067.prof"
        | "pstats_truncated_at_2_of_2067.prof"
        | "pstats_truncated_at_5_of_2067.prof" => Err("truncated"),
        "pstats_unknown_caller.prof" => Ok(|i| {
            let p = i.profile.pstats.as_ref().unwrap();
            assert_eq!((p.total_calls, p.prim_calls, p.total_time), (1, 1, 0.5));
            assert_eq!(i.profile.functions.len(), 2);
            assert!(
                p.stats[0].is_some() && p.stats[1].is_none(),
                "the unknown caller is external"
            );
            assert_eq!(p.edges.len(), 1);
            assert_eq!(p.edges[0].caller.0, 1);
        }),
        "pstats_unknown_type_code.prof" => Err("unknown type code 0x3f"),
        "pstats_value_wrong_arity.prof" => {
            Err("value is not a (cc, nc, tt, ct, callers) tuple (got a tuple of 4")
        }
        "pstats_value_wrong_types.prof" => Err("is not an integer (got str)"),
        "pstats_xss_names.prof" => Ok(|i| {
            let p = i.profile.pstats.as_ref().unwrap();
            assert_eq!(i.profile.functions.len(), 5);
            assert_eq!((p.total_calls, p.prim_calls), (8, 8));
            assert_eq!(p.total_time, 0.4575);
            assert!(i
                .profile
                .functions
                .iter()
                .any(|f| f.name.contains('<') || f.file.contains('<')));
        }),
        "random_4096_bytes.bin" => Err("format not recognised"),
        "random_bytes_starting_with_dict_code.prof" => Err("bad marshal data"),
        _ => return None,
    })
}

#[test]
fn every_bad_file_behaves_as_documented() {
    let mut names: Vec<String> = std::fs::read_dir(bad())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md" && n != "REFERENCE_RESULTS.json")
        .collect();
    names.sort();
    assert!(names.len() >= 50, "bad/ has {} files", names.len());
    let mut unknown = Vec::new();
    for name in &names {
        let bytes = read(&bad().join(name));
        let got = import(name, &bytes, &Limits::default());
        match expectation(name) {
            None => unknown.push(name.clone()),
            Some(Want::Err(text)) => match got {
                Ok(_) => panic!("{name}: accepted, expected an error containing {text:?}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains(text),
                        "{name}: error {msg:?} does not contain {text:?}"
                    );
                }
            },
            Some(Want::Ok(check)) => {
                let i = got.unwrap_or_else(|e| panic!("{name}: refused: {e}"));
                i.profile.check_valid().unwrap();
                check(&i);
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "no expectation for {unknown:?}: add them to tests/bad.rs"
    );
}

#[test]
fn binary_errors_name_the_byte_offset() {
    let bytes = read(&bad().join("pstats_unknown_type_code.prof"));
    let e = import("x.prof", &bytes, &Limits::default()).unwrap_err();
    assert!(matches!(e, ImportError::Marshal { .. }));
    assert!(
        e.to_string().starts_with("bad marshal data at byte "),
        "{e}"
    );
    let bytes = read(&bad().join("pstats_truncated_at_100_of_2067.prof"));
    let e = import("x.prof", &bytes, &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("at byte"), "{e}");
}

#[test]
fn folded_warnings_name_the_line() {
    let i = folded::parse(b"a;b 1\nno count here\na 2\n", &Limits::default()).unwrap();
    assert_eq!(i.warnings.len(), 1);
    assert!(
        i.warnings[0].message.contains("first on line 2"),
        "{}",
        i.warnings[0]
    );
    let e = folded::parse(b"", &Limits::default()).unwrap_err();
    assert_eq!(e, ImportError::NoSamples);
}
