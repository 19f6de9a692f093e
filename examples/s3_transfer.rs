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

use std::io::IsTerminal;
use std::sync::Arc;

use ms_utils::Logger;
use ms_utils::communication_utils::s3::{
    BulkFailure, BulkOptions, BulkProgressListener, BulkSummary, CopyOptions, DeleteFailure,
    DeleteSummary, DownloadOptions, Encryption, Error, MetadataOptions, ObjectInfo,
    ProgressBarListener, ProgressListener, S3BucketClient, SseCustomerKey, SyncCompare, SyncEntry,
    SyncOptions, SyncReason, SyncSummary, UploadOptions,
};
use ms_utils::serde_json::{Value, json};
use ms_utils::tokio;
use ms_utils::tokio::io::{AsyncWrite, AsyncWriteExt};

const USAGE: &str = "\
usage: s3_transfer COMMAND ARGS... [FLAGS]

objects
  upload FILE BUCKET [KEY]                  upload_file (multipart when large)
  download BUCKET KEY DEST                  download_file, verified [--version-id V]
  cat BUCKET KEY                            download_to_writer to stdout [--version-id V]
  range BUCKET KEY START END                download_range, bytes START..END to stdout
                                            (END exclusive, '-' for the end) [--version-id V]
  meta BUCKET KEY                           get_file_metadata [--version-id V]
  copy SRC_BUCKET SRC_KEY DST_BUCKET DST_KEY
                                            copy, any size [--version-id V of the source]
  delete BUCKET KEY                         delete_file [--version-id V]
  delete-many BUCKET KEY...                 delete_files, 1,000 keys a request
  delete-prefix BUCKET PREFIX               delete_prefix

listings
  buckets                                   list_buckets
  list BUCKET [PREFIX]                      list_files_with_prefix (every key)
  ls BUCKET [PREFIX]                        list_folder: sub-folders and objects [--delimiter D]
  versions BUCKET [PREFIX]                  list_versions: versions and delete markers

folders
  upload-dir DIR BUCKET PREFIX              upload_dir (8 files at once)
  download-prefix BUCKET PREFIX DIR         download_prefix
  sync-up DIR BUCKET PREFIX                 sync_up: only new or changed files
  sync-down BUCKET PREFIX DIR               sync_down
      sync flags: --delete  --dry-run  --include PATTERN  --exclude PATTERN (repeatable,
                  the last match decides)  --compare size-and-time|size-only|etag

multipart uploads left open
  incomplete BUCKET [PREFIX]                list_incomplete_uploads
  abort-incomplete BUCKET [PREFIX]          abort_incomplete_uploads [--older-than SECONDS]

upload options (upload, upload-dir and sync-up: every file; copy: the copy's own)
  --sse AES256|aws:kms                      server-side encryption: SSE-S3 or SSE-KMS
  --sse-kms-key-id ID                       the KMS key (id, ARN or alias; implies aws:kms)
  --sse-c-key-file PATH                     SSE-C: encrypt with this key (a file of its 32
                                            bytes or their base64); download, cat, range
                                            and meta read an SSE-C object with it
  --source-sse-c-key-file PATH              copy: the SSE-C key of the source
  --storage-class CLASS                     e.g. STANDARD_IA, ONEZONE_IA, GLACIER_IR
  --tag KEY=VALUE                           an object tag (repeatable)
  --acl ACL                                 a canned ACL, e.g. private, public-read
  --content-type T  --cache-control V  --content-disposition V
  --content-encoding V  --content-language V
                                            the object's standard headers
  --expires TIME                            the Expires header, RFC 3339
                                            (e.g. 2030-01-01T00:00:00Z)

  -h, --help                                this text

Configured from S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION.
Prints one JSON object on stdout (on stderr for cat and range); exit 0 when
everything succeeded, 1 on a failure, 2 on a usage error.";

/// Flags taking a value.
const VALUE_FLAGS: [&str; 6] = [
    "--version-id",
    "--delimiter",
    "--older-than",
    "--include",
    "--exclude",
    "--compare",
];
/// The upload options' flags (a value each), for `upload` and `copy`.
const UPLOAD_FLAGS: [&str; 12] = [
    "--sse",
    "--sse-kms-key-id",
    "--storage-class",
    "--tag",
    "--acl",
    "--content-type",
    "--cache-control",
    "--content-disposition",
    "--content-encoding",
    "--content-language",
    "--expires",
    "--source-sse-c-key-file",
];
/// The commands that read or write an object with `--sse-c-key-file`.
const SSE_C_COMMANDS: [&str; 8] = [
    "upload",
    "upload-dir",
    "sync-up",
    "copy",
    "download",
    "cat",
    "range",
    "meta",
];
/// The commands that write objects, and take the upload options.
const UPLOAD_COMMANDS: [&str; 4] = ["upload", "upload-dir", "sync-up", "copy"];
/// Flags on their own.
const SWITCHES: [&str; 2] = ["--delete", "--dry-run"];
/// The commands (their arguments are checked when they run).
const COMMANDS: [&str; 19] = [
    "upload",
    "download",
    "cat",
    "range",
    "meta",
    "copy",
    "delete",
    "delete-many",
    "delete-prefix",
    "buckets",
    "list",
    "ls",
    "versions",
    "upload-dir",
    "download-prefix",
    "sync-up",
    "sync-down",
    "incomplete",
    "abort-incomplete",
];

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

/// A command line: the command, its positional arguments and its flags.
#[derive(Debug, Default)]
struct Command {
    name: String,
    args: Vec<String>,
    version_id: Option<String>,
    delimiter: Option<String>,
    older_than: Option<String>,
    compare: Option<String>,
    rules: Vec<(bool, String)>,
    delete: bool,
    dry_run: bool,
    /// The upload options' flags, in order (`--tag` repeatable).
    upload_flags: Vec<(String, String)>,
    /// `--sse-c-key-file`: the path of the key, read when the command runs.
    sse_c_key_file: Option<String>,
}

impl Command {
    fn parse(args: &[String]) -> Result<Command, Failure> {
        let mut cmd = Command::default();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if VALUE_FLAGS.contains(&a.as_str()) {
                let v = it.next().ok_or(Failure::Usage)?.clone();
                match a.as_str() {
                    "--version-id" => cmd.version_id = Some(v),
                    "--delimiter" => cmd.delimiter = Some(v),
                    "--older-than" => cmd.older_than = Some(v),
                    "--compare" => cmd.compare = Some(v),
                    "--include" => cmd.rules.push((true, v)),
                    _ => cmd.rules.push((false, v)),
                }
            } else if UPLOAD_FLAGS.contains(&a.as_str()) {
                let v = it.next().ok_or(Failure::Usage)?.clone();
                cmd.upload_flags.push((a.clone(), v));
            } else if a == "--sse-c-key-file" {
                cmd.sse_c_key_file = Some(it.next().ok_or(Failure::Usage)?.clone());
            } else if SWITCHES.contains(&a.as_str()) {
                match a.as_str() {
                    "--delete" => cmd.delete = true,
                    _ => cmd.dry_run = true,
                }
            } else if a.starts_with("--") {
                return Err(Failure::Usage);
            } else if cmd.name.is_empty() {
                cmd.name = a.clone();
            } else {
                cmd.args.push(a.clone());
            }
        }
        if !COMMANDS.contains(&cmd.name.as_str()) {
            return Err(Failure::Usage);
        }
        // Options a command would not use are refused, not ignored.
        let name = cmd.name.as_str();
        if (!cmd.upload_flags.is_empty() && !UPLOAD_COMMANDS.contains(&name))
            || (cmd.sse_c_key_file.is_some() && !SSE_C_COMMANDS.contains(&name))
            || (name != "copy" && cmd.flag("--source-sse-c-key-file").is_some())
        {
            return Err(Failure::Usage);
        }
        cmd.check_upload_flags()?;
        Ok(cmd)
    }

    /// The last value of an upload option's flag.
    fn flag(&self, name: &str) -> Option<&str> {
        self.upload_flags
            .iter()
            .rev()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.as_str())
    }

    /// The upload options' flags that are wrong whatever the files say.
    fn check_upload_flags(&self) -> Result<(), Failure> {
        let sse = self.flag("--sse");
        let kms_key = self.flag("--sse-kms-key-id");
        let bad_sse = !matches!(sse, None | Some("AES256" | "aws:kms"))
            || (kms_key.is_some() && sse == Some("AES256"))
            || ((sse.is_some() || kms_key.is_some()) && self.sse_c_key_file.is_some());
        let bad_tag = self
            .upload_flags
            .iter()
            .any(|(f, v)| f == "--tag" && !v.contains('='));
        if bad_sse || bad_tag || self.expires().is_err() {
            return Err(Failure::Usage);
        }
        Ok(())
    }

    /// `--expires`, an RFC 3339 time (`2030-01-01T00:00:00Z`).
    fn expires(&self) -> Result<Option<std::time::SystemTime>, Failure> {
        self.flag("--expires")
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v)
                    .map(std::time::SystemTime::from)
                    .map_err(|_| Failure::Usage)
            })
            .transpose()
    }

    /// The encryption of the object written: `--sse`, `--sse-kms-key-id`,
    /// `--sse-c-key-file`.
    async fn encryption(&self) -> Result<Option<Encryption>, Failure> {
        if let Some(key) = self.sse_c_key().await? {
            return Ok(Some(Encryption::Customer(key)));
        }
        Ok(match (self.flag("--sse"), self.flag("--sse-kms-key-id")) {
            (Some("AES256"), _) => Some(Encryption::S3),
            (_, Some(id)) => Some(Encryption::kms(id)),
            (Some(_), None) => Some(Encryption::kms_default()),
            (None, None) => None,
        })
    }

    /// The tags of `--tag K=V`, in order.
    fn tags(&self) -> Vec<(String, String)> {
        self.upload_flags
            .iter()
            .filter(|(f, _)| f == "--tag")
            .filter_map(|(_, v)| v.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    async fn sse_c_key(&self) -> Result<Option<SseCustomerKey>, Failure> {
        match &self.sse_c_key_file {
            Some(path) => Ok(Some(read_key(path).await?)),
            None => Ok(None),
        }
    }

    /// The upload options of the flags (`upload` adds its progress bar;
    /// `upload-dir` and `sync-up` give them to every file, with the
    /// batch's bar).
    async fn upload_options(&self) -> Result<UploadOptions, Failure> {
        let mut opts = UploadOptions::new();
        if let Some(at) = self.expires()? {
            opts = opts.expires(at);
        }
        if let Some(e) = self.encryption().await? {
            opts = opts.encryption(e);
        }
        let tags = self.tags();
        if !tags.is_empty() {
            opts = opts.tags(tags);
        }
        for (flag, v) in &self.upload_flags {
            opts = match flag.as_str() {
                "--storage-class" => opts.storage_class(v),
                "--acl" => opts.acl(v),
                "--content-type" => opts.content_type(v),
                "--cache-control" => opts.cache_control(v),
                "--content-disposition" => opts.content_disposition(v),
                "--content-encoding" => opts.content_encoding(v),
                "--content-language" => opts.content_language(v),
                _ => opts,
            };
        }
        Ok(opts)
    }

    async fn copy_options(&self) -> Result<CopyOptions, Failure> {
        let mut opts = CopyOptions::new();
        if let Some(path) = self.flag("--source-sse-c-key-file") {
            opts = opts.source_sse_customer_key(read_key(path).await?);
        }
        if let Some(v) = &self.version_id {
            opts = opts.source_version_id(v);
        }
        if let Some(at) = self.expires()? {
            opts = opts.expires(at);
        }
        if let Some(e) = self.encryption().await? {
            opts = opts.encryption(e);
        }
        let tags = self.tags();
        if !tags.is_empty() {
            opts = opts.tags(tags);
        }
        for (flag, v) in &self.upload_flags {
            opts = match flag.as_str() {
                "--storage-class" => opts.storage_class(v),
                "--acl" => opts.acl(v),
                "--content-type" => opts.content_type(v),
                "--cache-control" => opts.cache_control(v),
                "--content-disposition" => opts.content_disposition(v),
                "--content-encoding" => opts.content_encoding(v),
                "--content-language" => opts.content_language(v),
                _ => opts,
            };
        }
        Ok(opts)
    }

    async fn metadata_options(&self) -> Result<MetadataOptions, Failure> {
        let mut opts = MetadataOptions::new();
        if let Some(key) = self.sse_c_key().await? {
            opts = opts.sse_customer_key(key);
        }
        if let Some(v) = &self.version_id {
            opts = opts.version_id(v);
        }
        Ok(opts)
    }

    async fn download_options(&self) -> Result<DownloadOptions, Failure> {
        let mut opts = DownloadOptions::new();
        if let Some(p) = progress() {
            opts = opts.progress(p);
        }
        if let Some(key) = self.sse_c_key().await? {
            opts = opts.sse_customer_key(key);
        }
        Ok(match &self.version_id {
            Some(v) => opts.version_id(v),
            None => opts,
        })
    }

    fn sync_options(&self) -> Result<SyncOptions, Failure> {
        let mut opts = SyncOptions::new().delete(self.delete).dry_run(self.dry_run);
        opts = match self.compare.as_deref() {
            None | Some("size-and-time") => opts,
            Some("size-only") => opts.compare(SyncCompare::SizeOnly),
            Some("etag") => opts.compare(SyncCompare::SizeAndEtag),
            Some(_) => return Err(Failure::Usage),
        };
        for (include, pattern) in &self.rules {
            opts = if *include {
                opts.include(pattern)
            } else {
                opts.exclude(pattern)
            };
        }
        if std::io::stderr().is_terminal() {
            opts = opts.progress(bar());
        }
        Ok(opts)
    }
}

/// An SSE-C key from a file: its 32 bytes, or their base64 (the key in no
/// error text).
async fn read_key(path: &str) -> Result<SseCustomerKey, Failure> {
    let bytes = tokio::fs::read(path).await.map_err(|error| Error::Io {
        path: path.into(),
        error,
    })?;
    let key = if bytes.len() == 32 {
        SseCustomerKey::from_bytes(&bytes)
    } else {
        std::str::from_utf8(&bytes)
            .map_err(|_| Error::InvalidInput(format!("the SSE-C key file `{path}`: not base64")))
            .and_then(SseCustomerKey::from_base64)
    };
    key.map_err(|e| match e {
        Error::InvalidInput(why) => Failure::S3(Error::InvalidInput(format!(
            "the SSE-C key file `{path}`: {why}"
        ))),
        other => Failure::S3(other),
    })
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

/// The kind of a failure, for scripts (see the module docs).
fn kind(e: &Error) -> &'static str {
    // First: whatever the upload's own failure, its parts were left behind.
    if e.is_upload_left_open() {
        "upload_left_open"
    } else if e.is_not_found() {
        "not_found"
    } else if e.is_access_denied() {
        "access_denied"
    } else if e.is_credentials() {
        "credentials"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_transport() {
        "transport"
    } else if e.is_integrity() {
        "integrity"
    } else if e.is_io() {
        "local_io"
    } else if e.is_not_implemented() {
        "not_implemented"
    } else if e.is_unverifiable() {
        "unverifiable"
    } else if e.is_sse_customer_key() {
        "sse_customer_key"
    } else {
        match e {
            Error::InvalidInput(_) => "invalid_input",
            Error::Config { .. } => "config",
            Error::Service { .. } => "service",
            _ => "other",
        }
    }
}

fn error_json(e: &Error) -> Value {
    json!({"ok": false, "error": e.to_string(), "kind": kind(e)})
}

fn progress() -> Option<Arc<dyn ProgressListener>> {
    std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(ProgressBarListener::new()) as Arc<dyn ProgressListener>)
}

fn bar() -> Arc<dyn BulkProgressListener> {
    Arc::new(ProgressBarListener::new())
}

fn bulk_options() -> BulkOptions {
    let opts = BulkOptions::new();
    if std::io::stderr().is_terminal() {
        opts.progress(bar())
    } else {
        opts
    }
}

fn failures_json(failures: &[BulkFailure]) -> Vec<Value> {
    failures
        .iter()
        .map(|f| {
            json!({"key": f.key, "path": f.path.display().to_string(),
                   "error": f.error.to_string(), "kind": kind(&f.error)})
        })
        .collect()
}

fn delete_failures_json(failures: &[DeleteFailure]) -> Vec<Value> {
    failures
        .iter()
        .map(|f| {
            let kind = f.request_error.as_deref().map_or("refused", kind);
            json!({"key": f.key, "version_id": f.version_id, "code": f.code,
                   "error": f.to_string(), "kind": kind})
        })
        .collect()
}

fn bulk_json(command: &str, bucket: &str, prefix: &str, dir: &str, s: &BulkSummary) -> Value {
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket, "prefix": prefix,
           "dir": dir, "files_done": s.files_done, "files_total": s.files_total,
           "bytes_done": s.bytes_done, "bytes_total": s.bytes_total,
           "failed": s.failures.len(), "failures": failures_json(&s.failures)})
}

fn delete_json(command: &str, bucket: &str, s: &DeleteSummary) -> Value {
    let deleted: Vec<Value> = s
        .deleted
        .iter()
        .map(|d| {
            json!({"key": d.key, "version_id": d.version_id, "delete_marker": d.delete_marker,
                   "delete_marker_version_id": d.delete_marker_version_id})
        })
        .collect();
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket,
           "deleted": deleted.len(), "objects": deleted,
           "failed": s.failures.len(), "failures": delete_failures_json(&s.failures)})
}

fn sync_json(command: &str, bucket: &str, prefix: &str, dir: &str, s: &SyncSummary) -> Value {
    let entries = |list: &[SyncEntry]| -> Vec<Value> {
        list.iter()
            .map(|e| {
                json!({"key": e.key, "path": e.path.display().to_string(), "size": e.size,
                       "reason": reason(e.reason)})
            })
            .collect()
    };
    json!({"ok": s.is_complete(), "command": command, "bucket": bucket, "prefix": prefix,
           "dir": dir, "dry_run": s.dry_run,
           "copied": s.copied.len(), "bytes_copied": s.bytes_copied(),
           "skipped": s.skipped.len(), "deleted": s.deleted.len(), "excluded": s.excluded,
           "copied_files": entries(&s.copied), "deleted_files": entries(&s.deleted),
           "failed": s.failures.len() + s.delete_failures.len(),
           "failures": failures_json(&s.failures),
           "delete_failures": delete_failures_json(&s.delete_failures)})
}

fn reason(r: SyncReason) -> &'static str {
    match r {
        SyncReason::New => "new",
        SyncReason::SizeDiffers => "size_differs",
        SyncReason::TimeDiffers => "time_differs",
        SyncReason::ContentDiffers => "content_differs",
        SyncReason::Unchanged => "unchanged",
        SyncReason::Gone => "gone",
        _ => "other",
    }
}

fn object_json(o: &ObjectInfo) -> Value {
    json!({"key": o.key, "size": o.size, "etag": o.e_tag})
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
