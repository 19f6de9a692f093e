//! `s3_transfer`: a small S3 command-line tool on `S3BucketClient`, configured
//! from `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY` (and
//! `S3_REGION`, default `fr-par`; without keys, the standard AWS chain).
//!
//! ```text
//! cargo run --example s3_transfer -- upload FILE BUCKET [KEY]
//! cargo run --example s3_transfer -- download BUCKET KEY DEST
//! cargo run --example s3_transfer -- list BUCKET [PREFIX]
//! cargo run --example s3_transfer -- delete BUCKET KEY
//! cargo run --example s3_transfer -- meta BUCKET KEY
//! cargo run --example s3_transfer -- buckets
//! cargo run --example s3_transfer -- upload-dir DIR BUCKET PREFIX
//! cargo run --example s3_transfer -- download-prefix BUCKET PREFIX DIR
//! ```
//!
//! `upload-dir` and `download-prefix` move whole folders (8 files at once,
//! one progress bar) and print the summary: `files_done`, `bytes_done`,
//! totals and `failures` (key, path, error, kind); `ok` is false and the
//! exit status 1 when any file failed.
//!
//! Prints one JSON object per command on stdout (`{"ok":true,...}` or
//! `{"ok":false,"error":...,"kind":...}` with exit status 1), and a progress
//! bar on stderr when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;

use ms_utils::communication_utils::s3::{
    BulkOptions, BulkProgressListener, BulkSummary, DownloadOptions, Error, ProgressBarListener,
    ProgressListener, S3BucketClient, UploadOptions,
};
use serde_json::{Value, json};

const USAGE: &str = "usage: s3_transfer upload FILE BUCKET [KEY] | download BUCKET KEY DEST | \
                     list BUCKET [PREFIX] | delete BUCKET KEY | meta BUCKET KEY | buckets | \
                     upload-dir DIR BUCKET PREFIX | download-prefix BUCKET PREFIX DIR";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = run(&args).await;
    let (line, code) = match result {
        Ok(v) => {
            let code = if v["ok"] == json!(false) { 1 } else { 0 };
            (v, code)
        }
        Err(Failure::Usage) => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
        Err(Failure::S3(e)) => (
            json!({"ok": false, "error": e.to_string(), "kind": kind(&e)}),
            1,
        ),
    };
    println!("{line}");
    std::process::exit(code);
}

enum Failure {
    Usage,
    S3(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::S3(e)
    }
}

fn kind(e: &Error) -> &'static str {
    if e.is_not_found() {
        "not_found"
    } else if e.is_access_denied() {
        "access_denied"
    } else if e.is_credentials() {
        "credentials"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_transport() {
        "transport"
    } else if e.is_io() {
        "local_io"
    } else {
        "other"
    }
}

fn progress() -> Option<Arc<dyn ProgressListener>> {
    std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(ProgressBarListener::new()) as Arc<dyn ProgressListener>)
}

fn bulk_options() -> BulkOptions {
    let opts = BulkOptions::new();
    if std::io::stderr().is_terminal() {
        opts.progress(Arc::new(ProgressBarListener::new()) as Arc<dyn BulkProgressListener>)
    } else {
        opts
    }
}

fn bulk_json(command: &str, bucket: &str, prefix: &str, dir: &str, s: &BulkSummary) -> Value {
    let failures: Vec<Value> = s
        .failures
        .iter()
        .map(|f| {
            json!({"key": f.key, "path": f.path.display().to_string(),
                   "error": f.error.to_string(), "kind": kind(&f.error)})
        })
        .collect();
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket, "prefix": prefix,
           "dir": dir, "files_done": s.files_done, "files_total": s.files_total,
           "bytes_done": s.bytes_done, "bytes_total": s.bytes_total,
           "failed": failures.len(), "failures": failures})
}

async fn run(args: &[String]) -> Result<Value, Failure> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    if a.is_empty() {
        return Err(Failure::Usage);
    }
    let client = S3BucketClient::from_env("cli").await?;
    let started = std::time::Instant::now();
    let mut out = match a.as_slice() {
        ["upload", file, bucket, rest @ ..] if rest.len() <= 1 => {
            let mut opts = UploadOptions::new();
            if let Some(p) = progress() {
                opts = opts.progress(p);
            }
            let up = client
                .upload_file(file, bucket, rest.first().copied(), opts)
                .await?;
            json!({"ok": true, "command": "upload", "bucket": bucket, "key": up.key,
                   "size": up.size, "parts": up.parts, "etag": up.e_tag})
        }
        ["download", bucket, key, dest] => {
            let mut opts = DownloadOptions::new();
            if let Some(p) = progress() {
                opts = opts.progress(p);
            }
            let down = client.download_file(bucket, key, dest, opts).await?;
            json!({"ok": true, "command": "download", "bucket": bucket, "key": key,
                   "dest": dest, "size": down.size, "ranges": down.ranges})
        }
        ["list", bucket, rest @ ..] if rest.len() <= 1 => {
            let keys = client
                .list_files_with_prefix(bucket, rest.first().copied().unwrap_or(""))
                .await?;
            json!({"ok": true, "command": "list", "bucket": bucket, "count": keys.len(), "keys": keys})
        }
        ["delete", bucket, key] => {
            client.delete_file(bucket, key).await?;
            json!({"ok": true, "command": "delete", "bucket": bucket, "key": key})
        }
        ["meta", bucket, key] => {
            let m = client.get_file_metadata(bucket, key).await?;
            json!({"ok": true, "command": "meta", "bucket": bucket, "key": key,
                   "size": m.content_length, "content_type": m.content_type,
                   "etag": m.e_tag, "metadata": m.user})
        }
        ["upload-dir", dir, bucket, prefix] => {
            let s = client
                .upload_dir(dir, bucket, prefix, bulk_options())
                .await?;
            bulk_json("upload-dir", bucket, prefix, dir, &s)
        }
        ["download-prefix", bucket, prefix, dir] => {
            let s = client
                .download_prefix(bucket, prefix, dir, bulk_options())
                .await?;
            bulk_json("download-prefix", bucket, prefix, dir, &s)
        }
        ["buckets"] => {
            let names = client.list_buckets().await?;
            json!({"ok": true, "command": "buckets", "buckets": names})
        }
        _ => return Err(Failure::Usage),
    };
    out["seconds"] = json!(started.elapsed().as_secs_f64());
    Ok(out)
}
