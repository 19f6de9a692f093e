//! `s3_transfer`: an S3 command-line tool on `S3BucketClient`, one command
//! per call of the client, configured from `S3_ENDPOINT`, `S3_ACCESS_KEY_ID`,
//! `S3_SECRET_ACCESS_KEY` (and `S3_REGION`, default `fr-par`; without keys,
//! the standard AWS chain).
//!
//! ```text
//! cargo run --example s3_transfer -- --help
//! cargo run --example s3_transfer -- upload FILE BUCKET [KEY]
//! cargo run --example s3_transfer -- download BUCKET KEY DEST [--version-id V]
//! cargo run --example s3_transfer -- cat BUCKET KEY [--version-id V] > out.bin
//! cargo run --example s3_transfer -- sync-up DIR BUCKET PREFIX --delete --exclude '*.tmp'
//! ```
//!
//! Prints one JSON object per command on stdout (`{"ok":true,...}`, or
//! `{"ok":false,"error":...,"kind":...}` with exit status 1); `cat` and
//! `range` write the object's bytes to stdout instead and their JSON to
//! stderr. `kind` is one of `not_found`, `access_denied`, `credentials`,
//! `timeout`, `transport`, `integrity` (the bytes did not match what the
//! store says the object is), `local_io`, `invalid_input`, `config`,
//! `not_implemented`, `service`, `other`. Commands over many files
//! (`upload-dir`, `download-prefix`, `sync-*`, `delete-*`,
//! `abort-incomplete`) report every failure and exit 1 when any file
//! failed. Usage errors exit 2 with the usage on stderr; `--help` prints it
//! on stdout and exits 0. A progress bar goes to stderr when stderr is a
//! terminal; logs go to stderr (level `warn`, `RUST_LOG` to change it).
//!
//! `upload`, `upload-dir`, `sync-up` (for every file) and `copy` take the
//! upload options (`--sse AES256|aws:kms`, `--sse-kms-key-id`,
//! `--sse-c-key-file`, `--storage-class`, `--tag k=v`, `--acl`,
//! `--content-type`, `--cache-control`, `--content-disposition`,
//! `--content-encoding`, `--content-language`, `--expires` RFC 3339);
//! `download`, `cat`, `range` and `meta` read an SSE-C object with
//! `--sse-c-key-file`, `copy` its source with `--source-sse-c-key-file`
//! (both also for an old version, with `--version-id`). A key file holds the 32 bytes of
//! the key, or their base64; the key is never printed or logged.

use ms_utils::Logger;
use ms_utils::communication_utils::s3::{Error, S3BucketClient};
use ms_utils::serde_json::{Value, json};
use ms_utils::tokio;
use ms_utils::tokio::io::{AsyncWrite, AsyncWriteExt};

#[path = "s3_transfer/command_line.rs"]
mod command_line;
#[path = "s3_transfer/report.rs"]
mod report;

use command_line::{Command, USAGE, bulk_options, progress};
use report::{Failure, bulk_json, delete_json, error_json, kind, object_json, sync_json};

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Logs to stderr (warn unless RUST_LOG says otherwise); no log file.
    let guard = Logger::builder()
        .name("s3_transfer")
        .level(ms_utils::tracing::Level::WARN)
        .no_file()
        .console_writer(std::io::stderr())
        .init()
        .ok();
    let code = cli(
        &args,
        || S3BucketClient::from_env("cli"),
        &mut tokio::io::stdout(),
        &mut tokio::io::stderr(),
    )
    .await;
    drop(guard);
    std::process::exit(code);
}

/// Runs one command line: the JSON line (or the usage) to `out` or `err`,
/// the bytes of `cat` and `range` to `out`; returns the exit status.
/// `connect` makes the client (from the environment in `main`).
pub(crate) async fn cli<'a, F, Fut>(
    args: &[String],
    connect: F,
    out: &'a mut (dyn AsyncWrite + Unpin + Send),
    err: &'a mut (dyn AsyncWrite + Unpin + Send),
) -> i32
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<S3BucketClient, Error>>,
{
    if args.iter().any(|a| a == "--help" || a == "-h") || args.first().is_some_and(|a| a == "help")
    {
        print(out, USAGE).await;
        return 0;
    }
    let Ok(cmd) = Command::parse(args) else {
        print(err, USAGE).await;
        return 2;
    };
    let result = match connect().await {
        Ok(client) => run(&client, &cmd, out).await,
        Err(e) => Err(Failure::S3(e)),
    };
    let (line, code) = match result {
        Ok(v) => {
            let code = i32::from(v["ok"] == json!(false));
            (v, code)
        }
        Err(Failure::Usage) => {
            print(err, USAGE).await;
            return 2;
        }
        Err(Failure::S3(e)) => (error_json(&e), 1),
    };
    // `cat` and `range` keep stdout for the bytes.
    let to = if matches!(cmd.name.as_str(), "cat" | "range") {
        err
    } else {
        out
    };
    print(to, &line.to_string()).await;
    code
}

/// Writes `text` and a newline; a closed stream is ignored (as `println!`
/// would not be: it panics).
async fn print(to: &mut (dyn AsyncWrite + Unpin + Send), text: &str) {
    let _ = to.write_all(text.as_bytes()).await;
    let _ = to.write_all(b"\n").await;
    let _ = to.flush().await;
}

/// Runs one command; `data` receives the bytes of `cat` and `range`.
async fn run(
    client: &S3BucketClient,
    cmd: &Command,
    data: &mut (dyn AsyncWrite + Unpin + Send),
) -> Result<Value, Failure> {
    let a: Vec<&str> = cmd.args.iter().map(String::as_str).collect();
    let version = cmd.version_id.as_deref();
    let started = std::time::Instant::now();
    let mut out = match (cmd.name.as_str(), a.as_slice()) {
        ("upload", [file, bucket, rest @ ..]) if rest.len() <= 1 => {
            let mut opts = cmd.upload_options().await?;
            if let Some(p) = progress() {
                opts = opts.progress(p);
            }
            let up = client
                .upload_file(file, bucket, rest.first().copied(), opts)
                .await?;
            json!({"ok": true, "command": "upload", "bucket": bucket, "key": up.key,
                   "size": up.size, "parts": up.parts, "etag": up.e_tag})
        }
        ("download", [bucket, key, dest]) => {
            let down = client
                .download_file(bucket, key, dest, cmd.download_options().await?)
                .await?;
            json!({"ok": true, "command": "download", "bucket": bucket, "key": key,
                   "version_id": version, "dest": dest, "size": down.size,
                   "ranges": down.ranges})
        }
        ("cat", [bucket, key]) => {
            let down = client
                .download_to_writer(bucket, key, data, cmd.download_options().await?)
                .await?;
            json!({"ok": true, "command": "cat", "bucket": bucket, "key": key,
                   "version_id": version, "size": down.size, "ranges": down.ranges})
        }
        ("range", [bucket, key, start, end]) => {
            let start: u64 = start.parse().map_err(|_| Failure::Usage)?;
            let bytes = if *end == "-" {
                client
                    .download_range(bucket, key, start.., cmd.download_options().await?)
                    .await?
            } else {
                let end: u64 = end.parse().map_err(|_| Failure::Usage)?;
                client
                    .download_range(bucket, key, start..end, cmd.download_options().await?)
                    .await?
            };
            data.write_all(&bytes)
                .await
                .and(data.flush().await)
                .map_err(|error| Failure::S3(Error::Writer { error }))?;
            json!({"ok": true, "command": "range", "bucket": bucket, "key": key,
                   "version_id": version, "start": start, "size": bytes.len()})
        }
        ("meta", [bucket, key]) => {
            let m = client
                .get_file_metadata_with(bucket, key, cmd.metadata_options().await?)
                .await?;
            json!({"ok": true, "command": "meta", "bucket": bucket, "key": key,
                   "version_id": m.version_id, "size": m.content_length,
                   "content_type": m.content_type, "etag": m.e_tag, "metadata": m.user})
        }
        ("copy", [src_bucket, src_key, dst_bucket, dst_key]) => {
            let options = cmd.copy_options().await?;
            client
                .copy_with(src_bucket, src_key, dst_bucket, dst_key, options)
                .await?;
            json!({"ok": true, "command": "copy", "src_bucket": src_bucket, "src_key": src_key,
                   "src_version_id": version, "dst_bucket": dst_bucket, "dst_key": dst_key})
        }
        ("delete", [bucket, key]) => {
            match version {
                Some(v) => client.delete_file_version(bucket, key, v).await?,
                None => client.delete_file(bucket, key).await?,
            }
            json!({"ok": true, "command": "delete", "bucket": bucket, "key": key,
                   "version_id": version})
        }
        ("delete-many", [bucket, keys @ ..]) if !keys.is_empty() => {
            let s = client.delete_files(bucket, keys.iter().copied()).await?;
            delete_json("delete-many", bucket, &s)
        }
        ("delete-prefix", [bucket, prefix]) => {
            let s = client.delete_prefix(bucket, prefix).await?;
            let mut v = delete_json("delete-prefix", bucket, &s);
            v["prefix"] = json!(prefix);
            v
        }
        ("buckets", []) => {
            let names = client.list_buckets().await?;
            json!({"ok": true, "command": "buckets", "buckets": names})
        }
        ("list", [bucket, rest @ ..]) if rest.len() <= 1 => {
            let keys = client
                .list_files_with_prefix(bucket, rest.first().copied().unwrap_or(""))
                .await?;
            json!({"ok": true, "command": "list", "bucket": bucket, "count": keys.len(), "keys": keys})
        }
        ("ls", [bucket, rest @ ..]) if rest.len() <= 1 => {
            let prefix = rest.first().copied().unwrap_or("");
            let delimiter = cmd.delimiter.as_deref().unwrap_or("/");
            let l = client.list_folder(bucket, prefix, delimiter).await?;
            let objects: Vec<Value> = l.objects.iter().map(object_json).collect();
            json!({"ok": true, "command": "ls", "bucket": bucket, "prefix": prefix,
                   "delimiter": delimiter, "prefixes": l.prefixes, "objects": objects})
        }
        ("versions", [bucket, rest @ ..]) if rest.len() <= 1 => {
            let prefix = rest.first().copied().unwrap_or("");
            let versions: Vec<Value> = client
                .list_versions(bucket, prefix)
                .await?
                .iter()
                .map(|v| {
                    json!({"key": v.key, "version_id": v.version_id, "is_latest": v.is_latest,
                           "delete_marker": v.delete_marker, "size": v.size, "etag": v.e_tag})
                })
                .collect();
            json!({"ok": true, "command": "versions", "bucket": bucket, "prefix": prefix,
                   "count": versions.len(), "versions": versions})
        }
        ("upload-dir", [dir, bucket, prefix]) => {
            let options = bulk_options().upload_options(cmd.upload_options().await?);
            let s = client.upload_dir(dir, bucket, prefix, options).await?;
            bulk_json("upload-dir", bucket, prefix, dir, &s)
        }
        ("download-prefix", [bucket, prefix, dir]) => {
            let s = client
                .download_prefix(bucket, prefix, dir, bulk_options())
                .await?;
            bulk_json("download-prefix", bucket, prefix, dir, &s)
        }
        ("sync-up", [dir, bucket, prefix]) => {
            let options = cmd
                .sync_options()?
                .upload_options(cmd.upload_options().await?);
            let s = client.sync_up(dir, bucket, prefix, options).await?;
            sync_json("sync-up", bucket, prefix, dir, &s)
        }
        ("sync-down", [bucket, prefix, dir]) => {
            let s = client
                .sync_down(bucket, prefix, dir, cmd.sync_options()?)
                .await?;
            sync_json("sync-down", bucket, prefix, dir, &s)
        }
        ("incomplete", [bucket, rest @ ..]) if rest.len() <= 1 => {
            let prefix = rest.first().copied().unwrap_or("");
            let uploads: Vec<Value> = client
                .list_incomplete_uploads(bucket, prefix)
                .await?
                .iter()
                .map(|u| {
                    let age = u
                        .initiated
                        .and_then(|t| t.elapsed().ok())
                        .map(|d| d.as_secs());
                    json!({"key": u.key, "upload_id": u.upload_id, "age_seconds": age})
                })
                .collect();
            json!({"ok": true, "command": "incomplete", "bucket": bucket, "prefix": prefix,
                   "count": uploads.len(), "uploads": uploads})
        }
        ("abort-incomplete", [bucket, rest @ ..]) if rest.len() <= 1 => {
            let prefix = rest.first().copied().unwrap_or("");
            let older_than = match cmd.older_than.as_deref() {
                Some(s) => std::time::Duration::from_secs(s.parse().map_err(|_| Failure::Usage)?),
                None => std::time::Duration::ZERO,
            };
            let s = client
                .abort_incomplete_uploads(bucket, prefix, older_than)
                .await?;
            let ids = |list: &[ms_utils::communication_utils::s3::IncompleteUpload]| -> Vec<Value> {
                list.iter()
                    .map(|u| json!({"key": u.key, "upload_id": u.upload_id}))
                    .collect()
            };
            let failed: Vec<Value> = s
                .failed
                .iter()
                .map(|(u, e)| {
                    json!({"key": u.key, "upload_id": u.upload_id, "error": e.to_string(),
                           "kind": kind(e)})
                })
                .collect();
            json!({"ok": s.all_aborted(), "command": "abort-incomplete", "bucket": bucket,
                   "prefix": prefix, "older_than_seconds": older_than.as_secs(),
                   "aborted": ids(&s.aborted), "kept": ids(&s.kept),
                   "failed": failed.len(), "failures": failed})
        }
        _ => return Err(Failure::Usage),
    };
    out["seconds"] = json!(started.elapsed().as_secs_f64());
    Ok(out)
}
