//! `profview export FILE --format html`: one self-contained file (no external `src`/`href`, a
//! CSP meta tag that allows no network, every inline script allowed by its hash).
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn tmpdir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("profview-html-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn export_html(input: &Path, dir: &Path) -> String {
    let out = dir.join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_profview"))
        .args(["export", input.to_str().unwrap(), "--format", "html", "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // One file, nothing beside it.
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
    std::fs::read_to_string(&out).unwrap()
}

/// The text of every `<script>` element and its opening tag.
fn scripts(html: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let open_end = after.find('>').unwrap();
        let body = &after[open_end + 1..];
        let close = body.find("</script").unwrap();
        out.push((&after[..open_end], &body[..close]));
        rest = &body[close..];
    }
    out
}

fn check_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    let csp_start = html.find("<meta http-equiv=\"Content-Security-Policy\" content=\"").expect("CSP meta tag");
    let csp = &html[csp_start..];
    let csp = &csp[csp.find("content=\"").unwrap() + 9..];
    let csp = &csp[..csp.find('"').unwrap()];
    for d in ["default-src 'none'", "connect-src 'none'", "img-src data:", "'wasm-unsafe-eval'", "base-uri 'none'", "form-action 'none'"] {
        assert!(csp.contains(d), "CSP lacks {d}: {csp}");
    }
    assert!(!csp.contains("unsafe-eval'") || csp.contains("'wasm-unsafe-eval'"));
    assert!(!csp.split(';').any(|d| d.trim().starts_with("script-src") && d.contains("'unsafe-inline'")), "{csp}");
    // The CSP meta comes before any script.
    assert!(csp_start < html.find("<script").unwrap());
    // No external resources: no src= at all, and every href is a data: URL.
    assert!(!html.contains(" src="), "an element with src=");
    for (i, _) in html.match_indices(" href=\"") {
        assert!(html[i + 7..].starts_with("data:"), "external href at {i}: {}", &html[i..i + 60]);
    }
    assert!(!html.contains("@import") && !html.contains("url(http"), "external CSS");
    // Every executable inline script is allowed by its hash; data blocks are not scripts.
    let all = scripts(html);
    let mut executable = 0;
    for (tag, body) in &all {
        if tag.contains("type=\"application/") {
            assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)), "data block is not base64: {tag}");
            continue;
        }
        executable += 1;
        use base64::Engine as _;
        use sha2::Digest as _;
        let h = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body.as_bytes()));
        assert!(csp.contains(&format!("'sha256-{h}'")), "inline script {tag} not in the CSP");
    }
    assert_eq!(executable, 2, "d3 and the app module");
    assert!(html.contains("id=\"profview-profile\""));
}

#[test]
fn the_report_is_one_self_contained_file() {
    let dir = tmpdir("demo");
    let html = export_html(&repo("examples/demo.prof"), &dir);
    check_self_contained(&html);
    assert!(html.contains("data-name=\"demo.prof\""));
}

#[test]
fn script_bearing_names_stay_data() {
    let dir = tmpdir("xss");
    let src = repo("tests/fixtures/bad/pstats_xss_names.prof");
    // The file name itself is hostile too.
    let hostile = dir.join("x\"><img onerror=alert(1)>.prof");
    std::fs::copy(&src, &hostile).unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let html = export_html(&hostile, &out_dir);
    check_self_contained(&html);
    assert!(!html.contains("<img"), "a name reached the markup");
    assert!(html.contains("data-name=\"x&quot;&gt;&lt;img onerror=alert(1)&gt;.prof\""));
}

#[tokio::test]
async fn the_export_route_serves_the_report_of_the_stored_file() {
    let (state, ids) = common::state_with(&["pstats/cprofile_pip_list.prof"]);
    let (status, body, ctype) = common::get(&state, &format!("/api/profiles/{}/export?format=html", ids[0])).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert_eq!(ctype.as_deref(), Some("text/html; charset=utf-8"));
    check_self_contained(&body);
    // The profile inside is the stored file, gzipped.
    let (_, b64) = scripts(&body).into_iter().find(|(tag, _)| tag.contains("id=\"profview-profile\"")).unwrap();
    use base64::Engine as _;
    let gz = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut raw).unwrap();
    assert_eq!(raw, std::fs::read(common::corpus("pstats/cprofile_pip_list.prof")).unwrap());
}
