//! `s3_bulk_bench`: a folder of small files up and back down, with
//! `S3BucketClient::upload_dir` / `download_prefix` against boto3 in a thread
//! pool (`examples/bench/s3_bulk_bench.py`), the way a Python service moves a
//! batch of documents. Both talk to the same in-process development S3
//! server, one after the other.
//!
//! ```text
//! MS_UTILS_PYTHON=$HOME/.cache/ms_utils-venv/bin/python \
//!     cargo run --release --example s3_bulk_bench -- [--files 1000] [--size 4096]
//! ```
//!
//! Prints one JSON line per client and direction (`seconds`, `files_per_s`),
//! then `ratio` lines (Rust / boto3, higher is better for Rust). Without
//! `MS_UTILS_PYTHON` only the Rust lines are printed.
//!
//! Then the re-sync scenario: the same folder synced again, unchanged, both
//! ways: `sync_up` / `sync_down` (ops `resync-up`, `resync-down`) against
//! `aws s3 sync`'s rules written in boto3 (list, stat, compare size and
//! time; the bench's Python side) and against what a re-run of today's
//! folder calls costs (`upload_dir` / `download_prefix` again, ops
//! `rerun-up`, `rerun-down`, which move every file). `sync_down` is timed
//! on its second run into a folder (the first gives the files the
//! objects' times), as is the Python side's. Op `list` is a bare listing
//! of the prefix, the part of a re-sync the server's listing takes.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use ms_utils::communication_utils::s3::{BulkOptions, S3BucketClient, SyncOptions};
use ms_utils::dev::s3::DevS3Server;
use ms_utils::serde_json::{Value, json};
use ms_utils::tokio;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() -> Result<(), BoxError> {
    let mut files = 1000usize;
    let mut size = 4096usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--files" => files = value.parse()?,
            "--size" => size = value.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let work = tempdir()?;
    let src = work.join("src");
    std::fs::create_dir_all(&src)?;
    for i in 0..files {
        let body: Vec<u8> = (0..size).map(|b| (b * 31 + i) as u8).collect();
        std::fs::write(src.join(format!("doc-{i:05}.txt")), body)?;
    }
    let server = DevS3Server::builder().bucket("bench").start().await?;
    let s3 = S3BucketClient::new("bench", server.client_config()).await?;
    let mut lines = Vec::new();

    for concurrency in [8usize, 32] {
        let prefix = format!("rust-c{concurrency}");
        let options = BulkOptions::new().concurrency(concurrency);
        let t0 = Instant::now();
        let up = s3
            .upload_dir(&src, "bench", &prefix, options.clone())
            .await?;
        let up_s = t0.elapsed().as_secs_f64();
        let dest = work.join(format!("down-{concurrency}"));
        let t0 = Instant::now();
        let down = s3.download_prefix("bench", &prefix, &dest, options).await?;
        let down_s = t0.elapsed().as_secs_f64();
        if !up.is_complete() || !down.is_complete() || down.files_done != files {
            return Err(format!("incomplete: {up:?} {down:?}").into());
        }
        for (op, secs) in [("upload", up_s), ("download", down_s)] {
            lines.push(json!({"client": format!("rust-c{concurrency}"), "op": op,
                              "files": files, "seconds": secs, "files_per_s": files as f64 / secs}));
        }

        // What a re-sync cannot avoid: listing the prefix (the server's
        // share of both clients' re-syncs).
        let t0 = Instant::now();
        let listed = s3.list_files_with_prefix("bench", &prefix).await?;
        let list_s = t0.elapsed().as_secs_f64();
        if listed.len() != files {
            return Err(format!("listed {} of {files}", listed.len()).into());
        }

        // Re-sync, unchanged: nothing may move.
        let sync = SyncOptions::new().concurrency(concurrency);
        let t0 = Instant::now();
        let up = s3.sync_up(&src, "bench", &prefix, sync.clone()).await?;
        let resync_up = t0.elapsed().as_secs_f64();
        let mirror = work.join(format!("mirror-{concurrency}"));
        let first = s3
            .sync_down("bench", &prefix, &mirror, sync.clone())
            .await?;
        let t0 = Instant::now();
        let down = s3.sync_down("bench", &prefix, &mirror, sync).await?;
        let resync_down = t0.elapsed().as_secs_f64();
        if !up.copied.is_empty()
            || up.skipped.len() != files
            || first.copied.len() != files
            || !down.copied.is_empty()
            || down.skipped.len() != files
        {
            return Err(format!("re-sync moved files: {up:?} {down:?}").into());
        }
        // Today's folder calls, run again: every file moves.
        let t0 = Instant::now();
        let rerun = s3
            .upload_dir(
                &src,
                "bench",
                &prefix,
                BulkOptions::new().concurrency(concurrency),
            )
            .await?;
        let rerun_up = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let rerun_d = s3
            .download_prefix(
                "bench",
                &prefix,
                &dest,
                BulkOptions::new().concurrency(concurrency),
            )
            .await?;
        let rerun_down = t0.elapsed().as_secs_f64();
        if rerun.files_done != files || rerun_d.files_done != files {
            return Err(format!("incomplete re-run: {rerun:?} {rerun_d:?}").into());
        }
        for (op, secs) in [
            ("list", list_s),
            ("resync-up", resync_up),
            ("resync-down", resync_down),
            ("rerun-up", rerun_up),
            ("rerun-down", rerun_down),
        ] {
            lines.push(json!({"client": format!("rust-c{concurrency}"), "op": op,
                              "files": files, "seconds": secs, "files_per_s": files as f64 / secs}));
        }
    }

    if let Some(python) = std::env::var_os("MS_UTILS_PYTHON") {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/s3_bulk_bench.py");
        let (key, secret) = (
            server.access_key().to_owned(),
            server.secret_key().to_owned(),
        );
        for threads in [10usize, 32] {
            let out = Command::new(&python)
                .arg(&script)
                .args([
                    "--endpoint",
                    &server.endpoint(),
                    "--access-key",
                    &key,
                    "--secret-key",
                    &secret,
                ])
                .args(["--bucket", "bench", "--prefix", &format!("py-t{threads}")])
                .arg("--dir")
                .arg(&src)
                .arg("--dest")
                .arg(work.join(format!("py-down-{threads}")))
                .args(["--threads", &threads.to_string()])
                .output()?;
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
            }
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let mut v: Value = ms_utils::serde_json::from_str(line)?;
                let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
                v["files_per_s"] = json!(files as f64 / secs);
                lines.push(v);
            }
        }
    }
    for line in &lines {
        println!("{line}");
    }
    let secs = |client: &str, op: &str| {
        lines
            .iter()
            .find(|l| l["client"] == client && l["op"] == op)
            .and_then(|l| l["seconds"].as_f64())
    };
    for op in ["upload", "download", "resync-up", "resync-down"] {
        for (rust, py) in [
            ("rust-c8", "boto3-threads10"),
            ("rust-c32", "boto3-threads32"),
        ] {
            if let (Some(r), Some(p)) = (secs(rust, op), secs(py, op)) {
                println!(
                    "{}",
                    json!({"ratio": format!("{rust}/{py}"), "op": op, "value": p / r})
                );
            }
        }
    }
    // A re-sync against re-running today's folder calls, both Rust.
    for client in ["rust-c8", "rust-c32"] {
        for (sync, rerun) in [("resync-up", "rerun-up"), ("resync-down", "rerun-down")] {
            if let (Some(s), Some(r)) = (secs(client, sync), secs(client, rerun)) {
                println!(
                    "{}",
                    json!({"ratio": format!("{client} {rerun}/{sync}"), "op": sync, "value": r / s})
                );
            }
        }
    }
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

/// A fresh folder under the system's temporary directory.
fn tempdir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("s3_bulk_bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
