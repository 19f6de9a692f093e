//! The command line of `s3_transfer`: its usage text, the flags each
//! command takes, and the client options they make.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::SystemTime;

use ms_utils::communication_utils::s3::{
    BulkOptions, BulkProgressListener, CopyOptions, DownloadOptions, Encryption, Error,
    MetadataOptions, ProgressBarListener, ProgressListener, SseCustomerKey, SyncCompare,
    SyncOptions, UploadOptions,
};
use ms_utils::tokio;

use super::report::Failure;

pub(crate) const USAGE: &str = "\
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
pub(crate) const VALUE_FLAGS: [&str; 6] = [
    "--version-id",
    "--delimiter",
    "--older-than",
    "--include",
    "--exclude",
    "--compare",
];
/// The upload options' flags (a value each), for `upload` and `copy`.
pub(crate) const UPLOAD_FLAGS: [&str; 12] = [
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
pub(crate) const SSE_C_COMMANDS: [&str; 8] = [
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
pub(crate) const UPLOAD_COMMANDS: [&str; 4] = ["upload", "upload-dir", "sync-up", "copy"];
/// Flags on their own.
pub(crate) const SWITCHES: [&str; 2] = ["--delete", "--dry-run"];
/// The commands (their arguments are checked when they run).
pub(crate) const COMMANDS: [&str; 19] = [
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

/// A command line: the command, its positional arguments and its flags.
#[derive(Debug, Default)]
pub(crate) struct Command {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) delimiter: Option<String>,
    pub(crate) older_than: Option<String>,
    pub(crate) compare: Option<String>,
    pub(crate) rules: Vec<(bool, String)>,
    pub(crate) delete: bool,
    pub(crate) dry_run: bool,
    /// The upload options' flags, in order (`--tag` repeatable).
    pub(crate) upload_flags: Vec<(String, String)>,
    /// `--sse-c-key-file`: the path of the key, read when the command runs.
    pub(crate) sse_c_key_file: Option<String>,
}

impl Command {
    pub(crate) fn parse(args: &[String]) -> Result<Command, Failure> {
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
    pub(crate) fn flag(&self, name: &str) -> Option<&str> {
        self.upload_flags
            .iter()
            .rev()
            .find(|(f, _)| f == name)
            .map(|(_, v)| v.as_str())
    }

    /// The upload options' flags that are wrong whatever the files say.
    pub(crate) fn check_upload_flags(&self) -> Result<(), Failure> {
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
    pub(crate) fn expires(&self) -> Result<Option<SystemTime>, Failure> {
        self.flag("--expires")
            .map(|v| {
                chrono::DateTime::parse_from_rfc3339(v)
                    .map(SystemTime::from)
                    .map_err(|_| Failure::Usage)
            })
            .transpose()
    }

    /// The encryption of the object written: `--sse`, `--sse-kms-key-id`,
    /// `--sse-c-key-file`.
    pub(crate) async fn encryption(&self) -> Result<Option<Encryption>, Failure> {
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
    pub(crate) fn tags(&self) -> Vec<(String, String)> {
        self.upload_flags
            .iter()
            .filter(|(f, _)| f == "--tag")
            .filter_map(|(_, v)| v.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub(crate) async fn sse_c_key(&self) -> Result<Option<SseCustomerKey>, Failure> {
        match &self.sse_c_key_file {
            Some(path) => Ok(Some(read_key(path).await?)),
            None => Ok(None),
        }
    }

    /// The upload options of the flags (`upload` adds its progress bar;
    /// `upload-dir` and `sync-up` give them to every file, with the
    /// batch's bar).
    pub(crate) async fn upload_options(&self) -> Result<UploadOptions, Failure> {
        self.object_flags(UploadOptions::new()).await
    }

    pub(crate) async fn copy_options(&self) -> Result<CopyOptions, Failure> {
        let mut opts = CopyOptions::new();
        if let Some(path) = self.flag("--source-sse-c-key-file") {
            opts = opts.source_sse_customer_key(read_key(path).await?);
        }
        if let Some(v) = &self.version_id {
            opts = opts.source_version_id(v);
        }
        self.object_flags(opts).await
    }

    /// What the flags set on the object an `upload` or a `copy` writes:
    /// `--expires`, the encryption, the tags, then the other headers in
    /// the order given.
    async fn object_flags<O: WrittenObject>(&self, mut opts: O) -> Result<O, Failure> {
        if let Some(at) = self.expires()? {
            opts = opts.with_expires(at);
        }
        if let Some(e) = self.encryption().await? {
            opts = opts.with_encryption(e);
        }
        let tags = self.tags();
        if !tags.is_empty() {
            opts = opts.with_tags(tags);
        }
        for (flag, v) in &self.upload_flags {
            opts = opts.with_flag(flag, v);
        }
        Ok(opts)
    }

    pub(crate) async fn metadata_options(&self) -> Result<MetadataOptions, Failure> {
        let mut opts = MetadataOptions::new();
        if let Some(key) = self.sse_c_key().await? {
            opts = opts.sse_customer_key(key);
        }
        if let Some(v) = &self.version_id {
            opts = opts.version_id(v);
        }
        Ok(opts)
    }

    pub(crate) async fn download_options(&self) -> Result<DownloadOptions, Failure> {
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

    pub(crate) fn sync_options(&self) -> Result<SyncOptions, Failure> {
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
pub(crate) async fn read_key(path: &str) -> Result<SseCustomerKey, Failure> {
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

pub(crate) fn progress() -> Option<Arc<dyn ProgressListener>> {
    std::io::stderr()
        .is_terminal()
        .then(|| Arc::new(ProgressBarListener::new()) as Arc<dyn ProgressListener>)
}

pub(crate) fn bar() -> Arc<dyn BulkProgressListener> {
    Arc::new(ProgressBarListener::new())
}

pub(crate) fn bulk_options() -> BulkOptions {
    let opts = BulkOptions::new();
    if std::io::stderr().is_terminal() {
        opts.progress(bar())
    } else {
        opts
    }
}

/// The options of an object being written that `UploadOptions` and
/// `CopyOptions` both have, so that the flags set them in one place.
pub(crate) trait WrittenObject: Sized {
    fn with_expires(self, at: SystemTime) -> Self;
    fn with_encryption(self, encryption: Encryption) -> Self;
    fn with_tags(self, tags: Vec<(String, String)>) -> Self;
    /// `--storage-class`, `--acl` and the standard headers; other flags
    /// leave the options as they are.
    fn with_flag(self, flag: &str, value: &str) -> Self;
}

macro_rules! written_object {
    ($options:ty) => {
        impl WrittenObject for $options {
            fn with_expires(self, at: SystemTime) -> Self {
                self.expires(at)
            }
            fn with_encryption(self, encryption: Encryption) -> Self {
                self.encryption(encryption)
            }
            fn with_tags(self, tags: Vec<(String, String)>) -> Self {
                self.tags(tags)
            }
            fn with_flag(self, flag: &str, v: &str) -> Self {
                match flag {
                    "--storage-class" => self.storage_class(v),
                    "--acl" => self.acl(v),
                    "--content-type" => self.content_type(v),
                    "--cache-control" => self.cache_control(v),
                    "--content-disposition" => self.content_disposition(v),
                    "--content-encoding" => self.content_encoding(v),
                    "--content-language" => self.content_language(v),
                    _ => self,
                }
            }
        }
    };
}

written_object!(UploadOptions);
written_object!(CopyOptions);
