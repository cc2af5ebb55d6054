//! `--store s3://…` against a real S3 server (`moto_server`, started here on 127.0.0.1; found
//! through `PROFVIEW_MOTO`, which `scripts/test.sh` sets, or `target/moto-venv`): two replicas on
//! one bucket, `kill -9` during uploads, an unreachable store.
#![cfg(test)] // integration test code: clippy.toml's allow-unwrap-in-tests covers it

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::process::{http, start_replica, try_start_replica, wait_for, Moto, Replica};

const BUCKET: &str = "profview";
const STORE: &str = "s3://profview/team";

fn replica(moto: &Moto, extra: &[&str]) -> Replica {
    let mut args = vec!["--store", STORE, "--store-timeout", "5", "--store-retries", "2"];
    args.extend_from_slice(extra);
    start_replica(&args, &moto.env())
}

fn upload(addr: SocketAddr, name: &str, bytes: &[u8]) -> String {
    let a = http(addr, "POST", &format!("/api/profiles?name={name}"), &[], bytes);
    assert_eq!(a.status, 201, "upload {name}: {}", a.text());
    a.json()["id"].as_str().unwrap().to_owned()
}

fn listed(addr: SocketAddr) -> Vec<(String, String)> {
    let a = http(addr, "GET", "/api/profiles", &[], b"");
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    let rows = v.as_array().or_else(|| v["profiles"].as_array()).cloned().unwrap_or_default();
    rows.iter().map(|r| (r["id"].as_str().unwrap().to_owned(), r["name"].as_str().unwrap().to_owned())).collect()
}

fn corpus(rel: &str) -> Vec<u8> {
    std::fs::read(common::corpus(rel)).unwrap()
}

/// A folded-stacks profile of about `mb` MB, distinct per `seed`.
fn big_folded(mb: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(mb << 20);
    let mut i = 0u64;
    while out.len() < mb << 20 {
        let line = format!("main_{seed};work_{};step_{};leaf_{} {}\n", i % 97, i % 1013, i % 7919, 1 + i % 13);
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

#[test]
fn two_replicas_on_one_bucket_share_uploads_renames_and_deletes() {
    let moto = Moto::start(BUCKET);
    let a = replica(&moto, &[]);
    let b = replica(&moto, &["--cache-profiles", "1"]);
    let pstats = corpus("pstats/cprofile_recursion.prof");
    let id = upload(a.addr, "fib.prof", &pstats);
    // Listed and served by the other replica, which never saw the upload.
    assert_eq!(listed(b.addr), vec![(id.clone(), "fib.prof".to_owned())]);
    let tree = http(b.addr, "GET", &format!("/api/profiles/{id}/tree"), &[], b"");
    assert_eq!(tree.status, 200, "{}", tree.text());
    assert_eq!(tree.json(), http(a.addr, "GET", &format!("/api/profiles/{id}/tree"), &[], b"").json());
    // The same file uploaded to the other replica: the same id, one row.
    assert_eq!(upload(b.addr, "again.prof", &pstats), id);
    assert_eq!(listed(a.addr).len(), 1);
    // A rename on one is seen by the other.
    let r = http(b.addr, "PATCH", &format!("/api/profiles/{id}"), &[("Content-Type", "application/json")], br#"{"name":"renamed"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(listed(a.addr), vec![(id.clone(), "renamed".to_owned())]);
    // A second profile evicts the first from b's one-slot cache; b rebuilds it on demand.
    let id2 = upload(b.addr, "sampled.txt", &corpus("folded/pyspy_threads_raw_threads_idle_nolineno.txt"));
    assert_eq!(http(b.addr, "GET", &format!("/api/profiles/{id2}/tree"), &[], b"").status, 200);
    assert_eq!(http(b.addr, "GET", &format!("/api/profiles/{id}/functions"), &[], b"").status, 200);
    let metrics = http(b.addr, "GET", "/metrics", &[], b"").text();
    assert!(metrics.contains("profview_index_cache_evictions_total "), "{metrics}");
    assert!(!metrics.contains("profview_index_cache_evictions_total 0\n"), "b evicted an index:\n{metrics}");
    // A delete on one is seen by both, even where the index was cached.
    assert_eq!(http(a.addr, "DELETE", &format!("/api/profiles/{id}"), &[], b"").status, 204);
    for r in [&a, &b] {
        assert_eq!(listed(r.addr).iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(), vec![id2.clone()]);
        assert_eq!(http(r.addr, "GET", &format!("/api/profiles/{id}/tree"), &[], b"").status, 404);
    }
    assert_eq!(http(b.addr, "DELETE", &format!("/api/profiles/{id}"), &[], b"").status, 404);
    // The bucket holds what the layout says: blobs by id, one metadata object per profile.
    let mut keys = moto.keys(BUCKET, "team/");
    keys.sort();
    let want = vec![format!("team/blobs/{id2}"), format!("team/meta/{id2}.json"), "team/profview-store.json".to_owned()];
    assert_eq!(keys, want);
    for r in [&a, &b] {
        assert_eq!(http(r.addr, "GET", "/readyz", &[], b"").status, 200);
    }
}

#[test]
fn kill_9_during_uploads_loses_nothing_stored_and_lists_nothing_half_written() {
    let moto = Moto::start(BUCKET);
    let mut a = replica(&moto, &[]);
    let b = replica(&moto, &[]);
    let kept = upload(a.addr, "kept.prof", &corpus("pstats/cprofile_recursion.prof"));

    // 1. Killed while the body arrives: nothing reaches the bucket.
    let big = big_folded(40, 1);
    {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(a.addr).unwrap();
        let head = common::process::request_head(a.addr, "POST", "/api/profiles?name=half.txt", &[], big.len());
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(&big[..big.len() / 2]).unwrap();
        s.flush().unwrap();
        // The staged file growing shows the server is receiving it.
        let staging = std::env::temp_dir().join("profview-staging");
        let mine = format!("upload-{}-", a.proc.child.id());
        wait_for("the upload to be staged", Duration::from_secs(30), || {
            let staged = |e: &std::fs::DirEntry| {
                e.file_name().to_string_lossy().starts_with(&mine) && e.metadata().is_ok_and(|m| m.len() > 0)
            };
            std::fs::read_dir(&staging).ok()?.flatten().any(|e| staged(&e)).then_some(())
        });
    }
    a.proc.kill9();
    assert_eq!(listed(b.addr).into_iter().map(|(i, _)| i).collect::<Vec<_>>(), vec![kept.clone()]);

    // 2. Killed while the blob is being written to the bucket (a multipart upload is open).
    let mut a = replica(&moto, &[]);
    let big = big_folded(40, 2);
    let addr = a.addr;
    let sender = std::thread::spawn(move || common::process::try_http(addr, "POST", "/api/profiles?name=big.txt", &[], &big));
    wait_for("the blob's multipart upload to start", Duration::from_secs(120), || (moto.open_uploads(BUCKET) > 0).then_some(()));
    a.proc.kill9();
    assert!(sender.join().unwrap().is_err(), "the killed replica answered");
    // The other replica lists only what is whole, and it loads.
    let rows = listed(b.addr);
    assert_eq!(rows.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(), vec![kept.clone()]);
    assert_eq!(http(b.addr, "GET", &format!("/api/profiles/{kept}/tree"), &[], b"").status, 200);
    let metas = moto.keys(BUCKET, "team/meta/");
    assert_eq!(metas, vec![format!("team/meta/{kept}.json")], "no metadata for a half-written blob");

    // 3. An orphan (a blob no metadata names, as a kill between the two leaves) is swept.
    let orphan = "00000000000000000000000000000000";
    let put = http(moto.addr, "PUT", &format!("/{BUCKET}/team/blobs/{orphan}"), &[], b"orphan bytes");
    assert_eq!(put.status, 200, "{}", put.text());
    let _c = replica(&moto, &["--sweep-grace", "0"]);
    wait_for("the orphan to be swept", Duration::from_secs(30), || {
        (!moto.keys(BUCKET, "team/blobs/").contains(&format!("team/blobs/{orphan}"))).then_some(())
    });
    assert!(moto.keys(BUCKET, "team/blobs/").contains(&format!("team/blobs/{kept}")), "a listed blob stays");
}

#[test]
fn an_unreachable_store_gives_clear_errors_not_hangs() {
    let mut moto = Moto::start(BUCKET);
    let a = replica(&moto, &[]);
    let id = upload(a.addr, "fib.prof", &corpus("pstats/cprofile_recursion.prof"));
    moto.proc.kill9();
    let start = Instant::now();
    for path in ["/api/profiles".to_owned(), format!("/api/profiles/{id}/tree"), "/readyz".to_owned()] {
        let r = http(a.addr, "GET", &path, &[], b"");
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert!(r.text().contains("did not answer") || r.text().contains("unreachable"), "{path}: {}", r.text());
    }
    let up = http(a.addr, "POST", "/api/profiles?name=x.txt", &[], b"a;b 1\n");
    assert_eq!(up.status, 503, "{}", up.text());
    assert_eq!(http(a.addr, "GET", "/healthz", &[], b"").status, 200, "the process is up");
    // Bounded by --store-timeout 5 and 2 retries with backoff, not hanging.
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
    let errors = http(a.addr, "GET", "/metrics", &[], b"").text();
    assert!(errors.lines().any(|l| l.starts_with("profview_store_errors_total{op=\"meta_list\"}")), "{errors}");

    // A replica started on a store that does not answer exits, saying which store and why.
    let start = Instant::now();
    let err = try_start_replica(&["--store", STORE, "--store-timeout", "2", "--store-retries", "1"], &moto.env())
        .err()
        .expect("a replica on a dead store must not start");
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
    assert!(err.contains(STORE), "{err}");
}

#[test]
fn a_collection_made_on_one_replica_is_listed_and_served_by_the_other() {
    let moto = Moto::start(BUCKET);
    let a = replica(&moto, &[]);
    let b = replica(&moto, &[]);
    let p1 = upload(a.addr, "one.prof", &corpus("pstats/cprofile_recursion.prof"));
    let p2 = upload(b.addr, "two.prof", &corpus("pstats/profile_recursion.prof"));
    let body = serde_json::json!({ "name": "both", "profiles": [p1, p2] }).to_string();
    let made = http(a.addr, "POST", "/api/collections", &[("Content-Type", "application/json")], body.as_bytes());
    assert_eq!(made.status, 201, "{}", made.text());
    let cid = made.json()["id"].as_str().unwrap().to_owned();
    // The same collection made on the other replica: the same id, one object.
    let again = http(b.addr, "POST", "/api/collections", &[("Content-Type", "application/json")], body.as_bytes());
    assert_eq!(again.json()["id"], cid.as_str());
    let listed = http(b.addr, "GET", "/api/collections", &[], b"").json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], cid.as_str());
    let one = http(b.addr, "GET", &format!("/api/collections/{cid}"), &[], b"");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["name"], "both");
    assert_eq!(http(b.addr, "GET", &format!("/api/collections/{cid}/table"), &[], b"").status, 200);
    assert_eq!(moto.keys(BUCKET, "team/collections/"), vec![format!("team/collections/{cid}.json")]);
}
