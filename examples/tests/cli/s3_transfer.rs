//! `s3_transfer` as a user runs it: the example's own `cli` (what `main`
//! runs, with stdout and stderr as buffers and the client made for the
//! in-process development S3 server instead of from the environment), its
//! JSON read back.

#[allow(dead_code)]
#[path = "../../s3_transfer.rs"]
mod tool;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ms_utils::communication_utils::s3::{Error, S3BucketClient, UploadOptions};
use ms_utils::dev::s3::DevS3Server;
use serde_json::Value;

/// What one run printed, and its exit status.
struct Output {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs the tool with `args` against `server` (no server: making the
/// client fails, as without `S3_ENDPOINT` it could), bounded.
async fn run(server: Option<&DevS3Server>, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let config = server.map(DevS3Server::client_config);
    let connect = || async move {
        match config {
            Some(config) => S3BucketClient::new("cli", config).await,
            None => Err(Error::InvalidInput("no server in this test".into())),
        }
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = tokio::time::timeout(
        Duration::from_secs(60),
        tool::cli(&args, connect, &mut stdout, &mut stderr),
    )
    .await
    .expect("s3_transfer ends");
    Output {
        code,
        stdout,
        stderr,
    }
}

fn json(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn ok(server: &DevS3Server, args: &[&str]) -> Value {
    let out = run(Some(server), args).await;
    let v = json(&out.stdout);
    assert_eq!(out.code, 0, "{args:?}: {v}");
    assert_eq!(v["ok"], true, "{args:?}: {v}");
    v
}

fn tmp(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "s3_transfer-test-{}-{name}-{nanos:x}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_goes_to_stdout_and_usage_errors_exit_2() {
    for flag in ["--help", "-h", "help"] {
        let out = run(None, &[flag]).await;
        assert_eq!(out.code, 0, "{flag}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("usage: s3_transfer"), "{text}");
        for command in [
            "cat",
            "range",
            "delete-many",
            "delete-prefix",
            "ls",
            "versions",
            "sync-up",
            "sync-down",
            "copy",
            "incomplete",
            "abort-incomplete",
        ] {
            assert!(
                text.contains(&format!("  {command} ")),
                "{command} in --help"
            );
        }
        for flag in [
            "--sse AES256|aws:kms",
            "--sse-kms-key-id",
            "--sse-c-key-file",
            "--source-sse-c-key-file",
            "--storage-class",
            "--tag KEY=VALUE",
            "--acl",
            "--content-type",
            "--cache-control",
            "--content-disposition",
            "--content-encoding",
            "--content-language",
            "--expires TIME",
        ] {
            assert!(text.contains(flag), "{flag} in --help");
        }
        assert!(out.stderr.is_empty());
    }
    for args in [
        &[][..],
        &["frobnicate"],
        &["sync-up", "--no-such-flag"],
        &["ls", "--delimiter"],
    ] {
        let out = run(None, args).await;
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: s3_transfer"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_has_a_command() {
    let server = DevS3Server::builder().bucket("bkt").start().await.unwrap();
    let client = S3BucketClient::new("t", server.client_config())
        .await
        .unwrap();
    let body: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    client
        .upload_bytes(body.clone(), "bkt", "docs/a.bin", UploadOptions::new())
        .await
        .unwrap();

    // cat: the bytes on stdout, the JSON on stderr.
    let out = run(Some(&server), &["cat", "bkt", "docs/a.bin"]).await;
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, body);
    assert_eq!(json(&out.stderr)["size"], 5000);
    let out = run(Some(&server), &["range", "bkt", "docs/a.bin", "10", "20"]).await;
    assert_eq!(out.stdout, body[10..20]);
    let out = run(Some(&server), &["range", "bkt", "docs/a.bin", "4990", "-"]).await;
    assert_eq!(out.stdout, body[4990..]);

    let v = ok(
        &server,
        &["copy", "bkt", "docs/a.bin", "bkt", "docs/sub/c.bin"],
    )
    .await;
    assert_eq!(v["dst_key"], "docs/sub/c.bin");
    let v = ok(&server, &["ls", "bkt", "docs/"]).await;
    assert_eq!(v["prefixes"], serde_json::json!(["docs/sub/"]));
    assert_eq!(v["objects"][0]["key"], "docs/a.bin");

    // Folders: sync up, then again (nothing moves), dry-run a delete.
    let dir = tmp("sync");
    write(&dir, "x.txt", b"x");
    write(&dir, "y/z.tmp", b"z");
    let v = ok(
        &server,
        &[
            "sync-up",
            dir.to_str().unwrap(),
            "bkt",
            "site",
            "--exclude",
            "*.tmp",
        ],
    )
    .await;
    assert_eq!(
        (v["copied"].clone(), v["excluded"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(v["copied_files"][0]["reason"], "new");
    let v = ok(
        &server,
        &[
            "sync-up",
            dir.to_str().unwrap(),
            "bkt",
            "site",
            "--exclude",
            "*.tmp",
        ],
    )
    .await;
    assert_eq!(
        (v["copied"].clone(), v["skipped"].clone()),
        (0.into(), 1.into())
    );
    std::fs::remove_file(dir.join("x.txt")).unwrap();
    let v = ok(
        &server,
        &[
            "sync-up",
            dir.to_str().unwrap(),
            "bkt",
            "site",
            "--delete",
            "--dry-run",
            "--exclude",
            "*.tmp",
            "--compare",
            "etag",
        ],
    )
    .await;
    assert_eq!(
        (v["deleted"].clone(), v["dry_run"].clone()),
        (1.into(), true.into())
    );
    let down = tmp("down");
    let v = ok(
        &server,
        &["sync-down", "bkt", "site", down.to_str().unwrap()],
    )
    .await;
    assert_eq!(v["copied"], 1);
    assert_eq!(std::fs::read(down.join("x.txt")).unwrap(), b"x");

    // Deletes.
    let v = ok(
        &server,
        &["delete-many", "bkt", "docs/sub/c.bin", "never-there"],
    )
    .await;
    assert_eq!(v["deleted"], 2);
    let v = ok(&server, &["delete-prefix", "bkt", "site/"]).await;
    assert_eq!(v["deleted"], 1);

    // Incomplete uploads: none here.
    let v = ok(&server, &["incomplete", "bkt"]).await;
    assert_eq!(v["count"], 0);
    let v = ok(
        &server,
        &["abort-incomplete", "bkt", "--older-than", "3600"],
    )
    .await;
    assert_eq!(v["aborted"], serde_json::json!([]));

    // The dev server keeps no versions: a failure of its own kind.
    let out = run(Some(&server), &["versions", "bkt"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(json(&out.stdout)["kind"], "not_implemented");
    let out = run(
        Some(&server),
        &["meta", "bkt", "docs/a.bin", "--version-id", "v1"],
    )
    .await;
    assert_eq!(json(&out.stdout)["kind"], "not_implemented");

    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(down);
}

/// A download whose bytes do not match the object's ETag is an
/// `integrity` failure, said without Rust Debug forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integrity_failure_is_its_own_kind() {
    let server = DevS3Server::builder().bucket("bkt").start().await.unwrap();
    let client = S3BucketClient::new("t", server.client_config())
        .await
        .unwrap();
    let body: Vec<u8> = (0..70_001u32).map(|i| (i * 13) as u8).collect();
    client
        .upload_bytes(body, "bkt", "k.bin", UploadOptions::new())
        .await
        .unwrap();
    let path = server.root().join("bkt").join("k.bin");
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[100] ^= 0xFF;
    std::fs::write(&path, &on_disk).unwrap();

    let dest = tmp("integrity");
    let out = run(
        Some(&server),
        &[
            "download",
            "bkt",
            "k.bin",
            dest.join("k.bin").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.code, 1);
    let v = json(&out.stdout);
    assert_eq!(v["kind"], "integrity", "{v}");
    let text = v["error"].as_str().unwrap();
    assert!(!text.contains("Some(") && !text.contains("None"), "{text}");
    assert!(!dest.join("k.bin").exists(), "no file left");

    let out = run(Some(&server), &["cat", "bkt", "k.bin"]).await;
    assert_eq!(out.code, 1);
    assert_eq!(json(&out.stderr)["kind"], "integrity");
    let _ = std::fs::remove_dir_all(dest);
}

/// The upload options on `upload` and `copy`, read back from the server;
/// SSE-C keys from files (raw or base64) on upload, download, cat, range,
/// meta and a copy's source; the key in no output; options a command would
/// not use are usage errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_options_and_sse_c_keys_from_flags() {
    use base64::Engine as _;

    let server = DevS3Server::builder().bucket("bkt").start().await.unwrap();
    let client = S3BucketClient::new("t", server.client_config())
        .await
        .unwrap();
    let sdk = client.sdk();
    let dir = tmp("options");
    let body: Vec<u8> = (0..20_000u32).map(|i| (i * 31) as u8).collect();
    write(&dir, "data.csv", &body);
    const KEY: &[u8; 32] = b"0123456789abcdef0123456789ABCDEF";
    let key_b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
    write(&dir, "key.raw", KEY);
    write(&dir, "key.b64", format!("{key_b64}\n").as_bytes());
    let file = dir.join("data.csv");
    let (file, raw_key, b64_key) = (
        file.to_str().unwrap(),
        dir.join("key.raw"),
        dir.join("key.b64"),
    );
    let (raw_key, b64_key) = (raw_key.to_str().unwrap(), b64_key.to_str().unwrap());
    let mut printed = Vec::new();

    // Every option but encryption's kinds, with SSE-S3.
    let args = [
        "upload",
        file,
        "bkt",
        "opt.csv",
        "--sse",
        "AES256",
        "--storage-class",
        "STANDARD_IA",
        "--tag",
        "team=search",
        "--tag",
        "note=a b=c",
        "--acl",
        "public-read",
        "--content-type",
        "text/csv",
        "--cache-control",
        "max-age=60",
        "--content-disposition",
        "attachment; filename=\"r.csv\"",
        "--content-encoding",
        "identity",
        "--content-language",
        "fr-FR",
        "--expires",
        "2030-01-01T00:00:00Z",
    ];
    ok(&server, &args).await;
    let head = sdk
        .head_object()
        .bucket("bkt")
        .key("opt.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
    assert_eq!(
        head.storage_class().map(|s| s.as_str()),
        Some("STANDARD_IA")
    );
    assert_eq!(head.content_type(), Some("text/csv"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"r.csv\"")
    );
    assert_eq!(head.content_encoding(), Some("identity"));
    assert_eq!(head.content_language(), Some("fr-FR"));
    assert!(
        head.expires_string().is_some_and(|e| e.contains("2030")),
        "{:?}",
        head.expires_string()
    );
    let tagging = sdk
        .get_object_tagging()
        .bucket("bkt")
        .key("opt.csv")
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(&str, &str)> = tagging
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    tags.sort_unstable();
    assert_eq!(tags, [("note", "a b=c"), ("team", "search")]);
    let acl = sdk
        .get_object_acl()
        .bucket("bkt")
        .key("opt.csv")
        .send()
        .await
        .unwrap();
    assert!(
        acl.grants().iter().any(|g| {
            g.grantee().and_then(|g| g.uri())
                == Some("http://acs.amazonaws.com/groups/global/AllUsers")
        }),
        "{acl:?}"
    );

    // SSE-KMS, the key id implying aws:kms.
    ok(
        &server,
        &[
            "upload",
            file,
            "bkt",
            "kms.csv",
            "--sse-kms-key-id",
            "alias/reports",
        ],
    )
    .await;
    let head = sdk
        .head_object()
        .bucket("bkt")
        .key("kms.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    assert_eq!(head.ssekms_key_id(), Some("alias/reports"));

    // SSE-C: written with the raw key file, read with the base64 one.
    let up = run(
        Some(&server),
        &["upload", file, "bkt", "c.csv", "--sse-c-key-file", raw_key],
    )
    .await;
    assert_eq!(up.code, 0, "{}", String::from_utf8_lossy(&up.stdout));
    printed.push(up);
    let dest = dir.join("c.out");
    let dest = dest.to_str().unwrap();
    let out = run(Some(&server), &["download", "bkt", "c.csv", dest]).await;
    assert_eq!(out.code, 1);
    assert_eq!(json(&out.stdout)["kind"], "sse_customer_key");
    printed.push(out);
    let out = run(
        Some(&server),
        &[
            "download",
            "bkt",
            "c.csv",
            dest,
            "--sse-c-key-file",
            b64_key,
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(std::fs::read(dest).unwrap(), body);
    printed.push(out);
    let out = run(
        Some(&server),
        &["cat", "bkt", "c.csv", "--sse-c-key-file", raw_key],
    )
    .await;
    assert_eq!(out.stdout, body);
    printed.push(out);
    let out = run(
        Some(&server),
        &[
            "range",
            "bkt",
            "c.csv",
            "5",
            "9",
            "--sse-c-key-file",
            raw_key,
        ],
    )
    .await;
    assert_eq!(out.stdout, body[5..9]);
    printed.push(out);
    let out = run(
        Some(&server),
        &["meta", "bkt", "c.csv", "--sse-c-key-file", raw_key],
    )
    .await;
    assert_eq!(json(&out.stdout)["size"], 20_000);
    printed.push(out);
    let out = run(Some(&server), &["meta", "bkt", "c.csv"]).await;
    assert_eq!(json(&out.stdout)["kind"], "sse_customer_key");
    printed.push(out);
    // A wrong key is its own kind too.
    write(&dir, "other.raw", &[7u8; 32]);
    let other = dir.join("other.raw");
    let out = run(
        Some(&server),
        &[
            "cat",
            "bkt",
            "c.csv",
            "--sse-c-key-file",
            other.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(json(&out.stderr)["kind"], "sse_customer_key");
    printed.push(out);
    // A key file that is no key: invalid input, the file named, no bytes.
    write(&dir, "bad.key", b"not a key");
    let bad = dir.join("bad.key");
    let out = run(
        Some(&server),
        &[
            "cat",
            "bkt",
            "c.csv",
            "--sse-c-key-file",
            bad.to_str().unwrap(),
        ],
    )
    .await;
    let v = json(&out.stderr);
    assert_eq!(v["kind"], "invalid_input", "{v}");
    assert!(v["error"].as_str().unwrap().contains("bad.key"), "{v}");

    // A copy: the source's key, the copy in another class, not encrypted
    // with a customer key.
    ok(
        &server,
        &[
            "copy",
            "bkt",
            "c.csv",
            "bkt",
            "plain.csv",
            "--source-sse-c-key-file",
            raw_key,
            "--storage-class",
            "ONEZONE_IA",
            "--tag",
            "copy=yes",
        ],
    )
    .await;
    let head = sdk
        .head_object()
        .bucket("bkt")
        .key("plain.csv")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class().map(|s| s.as_str()), Some("ONEZONE_IA"));
    let out = run(Some(&server), &["cat", "bkt", "plain.csv"]).await;
    assert_eq!(out.stdout, body);

    // The key in nothing printed.
    for out in &printed {
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(&key_b64) && !text.contains("0123456789abcdef"),
                "{text}"
            );
        }
    }

    // Options where they would do nothing, or contradict: usage errors.
    for args in [
        &["upload", file, "bkt", "--sse", "rot13"][..],
        &["upload", file, "bkt", "--tag", "no-value"],
        &[
            "upload",
            file,
            "bkt",
            "--sse",
            "AES256",
            "--sse-c-key-file",
            raw_key,
        ],
        &[
            "upload",
            file,
            "bkt",
            "--sse",
            "AES256",
            "--sse-kms-key-id",
            "k",
        ],
        &["upload", file, "bkt", "--source-sse-c-key-file", raw_key],
        &[
            "download",
            "bkt",
            "c.csv",
            dest,
            "--storage-class",
            "GLACIER",
        ],
        &["list", "bkt", "--sse-c-key-file", raw_key],
        &["download-prefix", "bkt", "p", dest, "--tag", "a=b"],
        &["upload", file, "bkt", "--expires", "next tuesday"],
        &[
            "sync-up",
            dir.to_str().unwrap(),
            "bkt",
            "p",
            "--source-sse-c-key-file",
            raw_key,
        ],
    ] {
        let out = run(Some(&server), args).await;
        assert_eq!(out.code, 2, "{args:?}");
    }

    // Folder uploads and syncs give the options to every file.
    write(&dir, "tree/a.txt", b"a");
    write(&dir, "tree/sub/b.txt", b"b");
    let tree = dir.join("tree");
    let tree = tree.to_str().unwrap();
    let flags = [
        "--storage-class",
        "STANDARD_IA",
        "--cache-control",
        "max-age=5",
    ];
    ok(
        &server,
        &[&["upload-dir", tree, "bkt", "batch"][..], &flags].concat(),
    )
    .await;
    ok(
        &server,
        &[&["sync-up", tree, "bkt", "mirror"][..], &flags].concat(),
    )
    .await;
    for key in [
        "batch/a.txt",
        "batch/sub/b.txt",
        "mirror/a.txt",
        "mirror/sub/b.txt",
    ] {
        let head = sdk
            .head_object()
            .bucket("bkt")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.storage_class().map(|s| s.as_str()),
            Some("STANDARD_IA"),
            "{key}"
        );
        assert_eq!(head.cache_control(), Some("max-age=5"), "{key}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
