//! `s3_bench`: upload and download throughput of `S3BucketClient` against the
//! development S3 server (`DevS3Server`), beside boto3's default transfer and the
//! Python original in the same run. Not a test: it prints JSON lines.
//!
//! ```text
//! cargo run --release --example s3_bench -- [--size-mib 256] [--runs 3] [--big-mib 1024] [--no-python]
//! MS_UTILS_PYTHON=$HOME/.cache/ms_utils-venv/bin/python cargo run --release --example s3_bench
//! ```
//!
//! The server runs in a child process (this binary with `--serve`), so the
//! CPU time and peak RSS reported are the client's alone; Python clients run
//! in their own processes too (`examples/bench/s3_bench.py`). Every client
//! and variant runs once per round, in turn, and the medians over the rounds
//! are reported, so that a change of load during the run falls on all of
//! them alike. Each line:
//! `{"client","op","size_mib","median_s","mb_per_s","cpu_s","peak_rss_mib"}`
//! (for the Rust clients, which all run in this process, `peak_rss_mib` also
//! counts memory the allocator kept from earlier variants: read the checks
//! below for memory); then `{"ratio": ...}` lines comparing clients of the
//! same run; then `{"check":"peak_rss"}` lines, the default upload and
//! downloads with 8 and 16 ranges each in a child process of its own
//! (`--child-op`), `{"check":"download_bytes"}` lines (`download_bytes` of
//! the multipart and of a single-PUT object, each in its own process: time
//! and peak RSS, which should be about one object's size), and a
//! `{"check":"peak_rss_big_upload"}` line for the issue's bound (a 1 GiB
//! upload under 80 MiB), also in its own process.
//!
//! `rust-dl` and `boto3-dl` download, with their default settings, an
//! object uploaded before the rounds (`rust` and `boto3` download the one
//! they have just uploaded, while the server's disk still writes it back,
//! which costs every client; `download_vs_boto3_object_uploaded_before` is
//! their ratio).
//!
//! `bare-http-get` and `bare-http-get-16` are the server's own speed in the
//! same run: a presigned GET written by hand on a raw connection, the body
//! read and dropped (one GET, and 16 range GETs at once); the
//! `bare-http-get*_vs_fastest_client` ratios say whether the server, not the
//! clients, was the limit (the clients are measured while they are >= 2).
//!
//! `rust-single-put` uploads with one PUT and downloads that object: at this
//! size it is fetched as parallel ranges, verified by the CRC64NVME the
//! upload stored.
//!
//! `rust-md5` and `rust-single-put-md5` upload without a stored checksum
//! (`UploadChecksum::Off`, as an object written by another client may be),
//! so that their downloads are verified by MD5: the multipart object by its
//! part MD5s (each part hashed as it arrives), the single-PUT object, fetched
//! as ranges, by the MD5 of the whole against its ETag.
//!
//! `--only NAME,NAME` runs only the named variants (e.g.
//! `--only rust-md5,rust-single-put-md5 --big-mib 0`), to compare builds.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use ms_utils::communication_utils::s3::{
    DownloadOptions, S3BucketClient, S3Config, TransferConfig, UploadChecksum, UploadOptions,
};
use ms_utils::dev::s3::DevS3Server;
use serde_json::{Value, json};

#[path = "s3_bench/bare_get.rs"]
mod bare_get;
#[path = "s3_bench/python.rs"]
mod python;

use python::{python_interpreter, python_runs};

const MIB: u64 = 1024 * 1024;
const BUCKET: &str = "bench";
/// The one object the download-only variants read.
const DOWNLOAD_VARIANTS_KEY: &str = "rust-download-variants.bin";

struct Args {
    size_mib: u64,
    runs: usize,
    big_mib: u64,
    python: bool,
    /// Variants to run (all when empty).
    only: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        size_mib: 256,
        runs: 3,
        big_mib: 1024,
        python: true,
        only: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        match flag.as_str() {
            "--size-mib" => a.size_mib = num(),
            "--runs" => a.runs = num().max(1) as usize,
            "--big-mib" => a.big_mib = num(),
            "--no-python" => a.python = false,
            "--only" => {
                a.only = it
                    .next()
                    .map(|v| v.split(',').map(str::to_owned).collect())
                    .unwrap_or_default();
            }
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        serve(Path::new(&args[2]));
        return;
    }
    if args.get(1).map(String::as_str) == Some("--child-op") {
        child_op(&args[2..]);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(parse_args()));
}

/// Child mode: serve `root` and print the endpoint; exit when stdin closes.
fn serve(root: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = DevS3Server::builder()
            .root(root)
            .bucket(BUCKET)
            .start()
            .await
            .unwrap();
        println!(
            "{} {} {}",
            server.endpoint(),
            server.access_key(),
            server.secret_key()
        );
        std::io::stdout().flush().unwrap();
        tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .map(|n| n > 0)
                .unwrap_or(false)
            {}
        })
        .await
        .unwrap();
        server.shutdown().await;
    });
}

/// Child mode, for memory figures that are one operation's alone:
/// `--child-op ENDPOINT AK SK upload|download|download-bytes PATH KEY RANGES`
/// uploads the file PATH as KEY, downloads KEY to PATH, or downloads KEY
/// into memory (PATH a file of the object's size), with the default transfer
/// settings and RANGES downloads in flight; prints
/// `{"parts","seconds","peak_rss_mib"}`.
fn child_op(args: &[String]) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Server {
            child: None,
            endpoint: args[0].clone(),
            ak: args[1].clone(),
            sk: args[2].clone(),
        };
        let (op, path, key) = (args[3].as_str(), Path::new(&args[4]), args[5].as_str());
        let mut transfer = TransferConfig::default();
        transfer.download_concurrency = args[6].parse().unwrap();
        let c = client(&server, transfer).await;
        let t0 = Instant::now();
        let parts = if op == "upload" {
            c.upload_file(path, BUCKET, Some(key), UploadOptions::new())
                .await
                .unwrap()
                .parts
        } else if op == "download-bytes" {
            let bytes = c
                .download_bytes(BUCKET, key, DownloadOptions::new())
                .await
                .unwrap();
            assert_eq!(bytes.len() as u64, std::fs::metadata(path).unwrap().len());
            0
        } else {
            c.download_file(BUCKET, key, path, DownloadOptions::new())
                .await
                .unwrap()
                .ranges
        };
        let line = json!({"parts": parts, "seconds": t0.elapsed().as_secs_f64(),
                          "peak_rss_mib": peak_rss_mib()});
        println!("{line}");
    });
}

/// Runs [`child_op`] in a child process; `None` (said on stderr) if it failed.
fn run_child_op(server: &Server, op: &str, path: &Path, key: &str, ranges: usize) -> Option<Value> {
    let out = Command::new(std::env::current_exe().ok()?)
        .arg("--child-op")
        .args([&server.endpoint, &server.ak, &server.sk, op])
        .arg(path)
        .args([key, &ranges.to_string()])
        .output();
    match out {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout).ok(),
        Ok(out) => {
            eprintln!(
                "s3_bench: child {op} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("s3_bench: child {op} did not start: {e}");
            None
        }
    }
}

/// CPU seconds of this process (user + system, all threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime), counted after the `)`; 100 ticks/s.
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[derive(Clone, Copy)]
struct Sample {
    seconds: f64,
    cpu: f64,
    rss: f64,
}

/// Time, CPU and peak RSS of one operation of this process.
async fn measure<T>(op: impl std::future::Future<Output = T>) -> Sample {
    reset_peak_rss();
    let (c0, t0) = (cpu_seconds(), Instant::now());
    op.await;
    Sample {
        seconds: t0.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - c0,
        rss: peak_rss_mib(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn summarize(client: &str, op: &str, size: u64, samples: &[Sample]) -> Value {
    let s = median(samples.iter().map(|x| x.seconds).collect());
    let line = json!({
        "client": client,
        "op": op,
        "size_mib": size / MIB,
        "runs": samples.len(),
        "median_s": s,
        "mb_per_s": size as f64 / 1e6 / s,
        "cpu_s": median(samples.iter().map(|x| x.cpu).collect()),
        "cpu_s_per_gib": median(samples.iter().map(|x| x.cpu).collect()) * (1024 * MIB) as f64 / size as f64,
        // The smallest of the rounds' peaks: the process runs every variant
        // in turn, and a later round starts with memory the allocator kept
        // from the others (Python runs each operation in a fresh process).
        "peak_rss_mib": samples.iter().map(|x| x.rss).fold(f64::INFINITY, f64::min),
    });
    println!("{line}");
    line
}

fn write_source(path: &Path, size: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..size / MIB {
        for c in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

struct Server {
    /// The server process (none in a child that only talks to it).
    child: Option<std::process::Child>,
    endpoint: String,
    ak: String,
    sk: String,
}

fn start_server(root: &Path) -> Server {
    std::fs::create_dir_all(root).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut p = line.split_whitespace().map(str::to_owned);
    Server {
        endpoint: p.next().unwrap(),
        ak: p.next().unwrap(),
        sk: p.next().unwrap(),
        child: Some(child),
    }
}

async fn client(server: &Server, transfer: TransferConfig) -> S3BucketClient {
    let config = S3Config::builder()
        .endpoint(&server.endpoint)
        .credentials(&server.ak, &server.sk)
        .transfer(transfer)
        .build()
        .unwrap();
    S3BucketClient::new("bench", config).await.unwrap()
}

fn ratio(name: &str, lines: &[Value], a: (&str, &str), b: (&str, &str), target: Option<f64>) {
    let find = |(c, o): (&str, &str)| {
        lines
            .iter()
            .find(|l| l["client"] == c && l["op"] == o)
            .and_then(|l| l["mb_per_s"].as_f64())
    };
    if let (Some(x), Some(y)) = (find(a), find(b)) {
        let mut line =
            json!({"ratio": name, "value": x / y, "of": format!("{}/{}", a.0, b.0), "op": a.1});
        if let Some(t) = target {
            line["target"] = json!(t);
            line["met"] = json!(x / y >= t);
        }
        println!("{line}");
    }
}

/// One measured configuration: a client and what it does each round.
struct Config {
    name: String,
    client: Option<S3BucketClient>,
    up: bool,
    down: bool,
    up_samples: Vec<Sample>,
    down_samples: Vec<Sample>,
}

impl Config {
    async fn rust(name: &str, server: &Server, t: TransferConfig, up: bool, down: bool) -> Self {
        Self {
            name: name.to_owned(),
            client: Some(client(server, t).await),
            up,
            down,
            up_samples: Vec::new(),
            down_samples: Vec::new(),
        }
    }

    fn python(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            client: None,
            up: true,
            down: true,
            up_samples: Vec::new(),
            down_samples: Vec::new(),
        }
    }

    /// A Python client downloading the download-only variants' object (no
    /// upload of its own just before).
    fn python_download_only(name: &str) -> Self {
        Self {
            up: false,
            ..Self::python(name)
        }
    }

    /// The Python script's client: `boto3` for `boto3-dl`.
    fn python_client(&self) -> &str {
        self.name.strip_suffix("-dl").unwrap_or(&self.name)
    }

    /// The object this configuration writes, or (download-only) reads: the
    /// download-only variants share one object.
    fn key(&self) -> String {
        if self.up {
            format!("rust-{}.bin", self.name)
        } else {
            DOWNLOAD_VARIANTS_KEY.to_owned()
        }
    }
}

async fn bench(args: Args) {
    let dir = std::env::temp_dir().join(format!("ms-utils-s3-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = start_server(&dir.join("root"));
    let size = args.size_mib * MIB;
    let src = dir.join("src.bin");
    write_source(&src, size);
    let dest = dir.join("dl.bin");

    // The defaults, then variants to choose the defaults from measurements.
    let default = TransferConfig::default();
    let mut configs = vec![Config::rust("rust", &server, default.clone(), true, true).await];
    let mut single = default.clone();
    single.multipart_threshold = u64::MAX;
    // Also downloaded: a single-PUT object of this size is fetched as ranges.
    configs.push(Config::rust("rust-single-put", &server, single.clone(), true, true).await);
    // Without a stored checksum: downloads verified by MD5.
    for (name, base) in [("rust-md5", &default), ("rust-single-put-md5", &single)] {
        let mut t = base.clone();
        t.upload_checksum = UploadChecksum::Off;
        configs.push(Config::rust(name, &server, t, true, true).await);
    }
    for (conc, part) in [(8, 8), (4, 16), (8, 16)] {
        let mut t = default.clone();
        t.concurrency = conc;
        t.part_size = part * MIB;
        let name = format!("rust-c{conc}-p{part}");
        configs.push(Config::rust(&name, &server, t, true, false).await);
    }
    // The defaults again, downloading an object uploaded before the rounds
    // (the default configuration downloads what it has just uploaded, while
    // the server's disk still writes it back: every client pays for that,
    // and `boto3-dl` is this one's baseline).
    configs.push(Config::rust("rust-dl", &server, default.clone(), false, true).await);
    for (conc, part) in [(8, 8), (12, 8), (16, 16)] {
        let mut t = default.clone();
        t.download_concurrency = conc;
        t.download_part_size = part * MIB;
        let name = format!("rust-dl-c{conc}-p{part}");
        configs.push(Config::rust(&name, &server, t, false, true).await);
    }
    let python = if args.python {
        let py = python_interpreter();
        if py.is_none() {
            eprintln!(
                "python3 with boto3 not found (set MS_UTILS_PYTHON): Python baselines skipped"
            );
        }
        py
    } else {
        None
    };
    if python.is_some() {
        configs.push(Config::python("boto3"));
        configs.push(Config::python("original"));
        configs.push(Config::python_download_only("boto3-dl"));
    }
    if !args.only.is_empty() {
        configs.retain(|c| args.only.contains(&c.name));
    }
    // Download-only variants read one object uploaded once, untimed; so do
    // the bare GETs (the server's own speed: one GET of the whole object, and
    // 16 range GETs at once, as the default client fetches it).
    let mut bare_url = None;
    if let Some(c) = configs.iter().find(|c| c.client.is_some() && !c.up) {
        let client = c.client.as_ref().unwrap();
        client
            .upload_file(&src, BUCKET, Some(&c.key()), UploadOptions::new())
            .await
            .unwrap();
        let expires = std::time::Duration::from_secs(6 * 3600);
        bare_url = Some(
            client
                .presigned_get(BUCKET, &c.key(), expires)
                .await
                .unwrap(),
        );
    }
    let mut bare: Vec<(u64, Vec<Sample>)> = vec![(1, Vec::new()), (16, Vec::new())];

    // Every configuration once per round, in turn, so that a change in the
    // machine's load during the run falls on all of them alike.
    for _ in 0..args.runs {
        if let Some(url) = &bare_url {
            for (streams, samples) in &mut bare {
                let got = measure(bare_get::bare_get(url, size, *streams)).await;
                samples.push(got);
            }
        }
        for c in &mut configs {
            let Some(client) = &c.client else {
                let py = python.as_deref().unwrap_or("python3");
                let existing = (!c.up).then_some(DOWNLOAD_VARIANTS_KEY);
                let name = c.python_client().to_owned();
                for (op, out) in [
                    ("upload", &mut c.up_samples),
                    ("download", &mut c.down_samples),
                ] {
                    if op == "upload" && !c.up {
                        continue;
                    }
                    if let Some(s) = python_runs(py, &name, op, &server, &src, &dir, 1, existing) {
                        out.extend(s);
                    }
                }
                continue;
            };
            let key = c.key();
            if c.up {
                let up = client.upload_file(&src, BUCKET, Some(&key), UploadOptions::new());
                c.up_samples
                    .push(measure(async { up.await.unwrap() }).await);
            }
            if c.down {
                let down = client.download_file(BUCKET, &key, &dest, DownloadOptions::new());
                c.down_samples
                    .push(measure(async { down.await.unwrap() }).await);
                std::fs::remove_file(&dest).unwrap();
            }
            if c.up {
                // Untimed: only one object of the rounds' at a time on disk.
                client.delete_file(BUCKET, &key).await.unwrap();
            }
        }
    }
    let mut lines = Vec::new();
    for c in &configs {
        for (op, samples) in [("upload", &c.up_samples), ("download", &c.down_samples)] {
            if !samples.is_empty() {
                lines.push(summarize(&c.name, op, size, samples));
            }
        }
    }
    for (streams, samples) in &bare {
        if !samples.is_empty() {
            let name = match streams {
                1 => "bare-http-get".to_owned(),
                n => format!("bare-http-get-{n}"),
            };
            lines.push(summarize(&name, "download", size, samples));
        }
    }
    if let Some(client) = configs.iter().find_map(|c| c.client.as_ref()) {
        let _ = client.delete_file(BUCKET, DOWNLOAD_VARIANTS_KEY).await;
    }
    // The server's headroom: the bare GETs against the fastest client's
    // download (the benchmark measures the clients while this is >= 2).
    let fastest = lines
        .iter()
        .filter(|l| {
            l["op"] == "download" && !l["client"].as_str().unwrap_or("").starts_with("bare")
        })
        .max_by(|a, b| {
            a["mb_per_s"]
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&b["mb_per_s"].as_f64().unwrap_or(0.0))
        })
        .and_then(|l| l["client"].as_str().map(str::to_owned));
    if let Some(fastest) = fastest {
        for bare in ["bare-http-get", "bare-http-get-16"] {
            ratio(
                &format!("{bare}_vs_fastest_client"),
                &lines,
                (bare, "download"),
                (&fastest, "download"),
                Some(2.0),
            );
        }
    }

    ratio(
        "upload_vs_boto3",
        &lines,
        ("rust", "upload"),
        ("boto3", "upload"),
        Some(2.0),
    );
    ratio(
        "upload_vs_original",
        &lines,
        ("rust", "upload"),
        ("original", "upload"),
        None,
    );
    ratio(
        "download_vs_original",
        &lines,
        ("rust", "download"),
        ("original", "download"),
        Some(3.0),
    );
    ratio(
        "download_vs_boto3",
        &lines,
        ("rust", "download"),
        ("boto3", "download"),
        Some(1.5),
    );
    ratio(
        "download_vs_boto3_object_uploaded_before",
        &lines,
        ("rust-dl", "download"),
        ("boto3-dl", "download"),
        Some(1.5),
    );
    ratio(
        "single_put_vs_multipart",
        &lines,
        ("rust-single-put", "upload"),
        ("rust", "upload"),
        None,
    );
    ratio(
        "download_single_put_vs_boto3",
        &lines,
        ("rust-single-put", "download"),
        ("boto3", "download"),
        None,
    );
    ratio(
        "download_single_put_vs_multipart",
        &lines,
        ("rust-single-put", "download"),
        ("rust", "download"),
        None,
    );

    // Memory, each operation in a process of its own: in this process the
    // peaks above include what the allocator kept from earlier variants.
    let mem_key = "rust-memory.bin";
    let up = run_child_op(&server, "upload", &src, mem_key, 16);
    let check = |op: &str, ranges: Option<usize>, line: Option<Value>| {
        let rss = line.as_ref().and_then(|l| l["peak_rss_mib"].as_f64());
        println!(
            "{}",
            json!({"check": "peak_rss", "op": op, "size_mib": size / MIB, "ranges": ranges,
                   "peak_rss_mib": rss})
        );
    };
    check("upload", None, up);
    for ranges in [8, 16] {
        let line = run_child_op(&server, "download", &dest, mem_key, ranges);
        check("download", Some(ranges), line);
        let _ = std::fs::remove_file(&dest);
    }
    // Into memory: the peak should be about one object's size (plus the
    // client), not two; `src` is only read for its size.
    let single_key = "rust-memory-single-put.bin";
    let single_client = client(&server, single).await;
    single_client
        .upload_file(&src, BUCKET, Some(single_key), UploadOptions::new())
        .await
        .unwrap();
    for (what, key) in [("multipart", mem_key), ("single_put", single_key)] {
        let line = run_child_op(&server, "download-bytes", &src, key, 16);
        println!(
            "{}",
            json!({"check": "download_bytes", "object": what, "size_mib": size / MIB,
                   "seconds": line.as_ref().map(|l| l["seconds"].clone()),
                   "peak_rss_mib": line.as_ref().and_then(|l| l["peak_rss_mib"].as_f64())})
        );
    }
    let _ = single_client.delete_file(BUCKET, single_key).await;
    if let Some(client) = configs.iter().find_map(|c| c.client.as_ref()) {
        let _ = client.delete_file(BUCKET, mem_key).await;
    }
    if args.big_mib > 0 {
        let big = dir.join("big.bin");
        write_source(&big, args.big_mib * MIB);
        let line = run_child_op(&server, "upload", &big, "big.bin", 16);
        let rss = line.as_ref().and_then(|l| l["peak_rss_mib"].as_f64());
        println!(
            "{}",
            json!({"check": "peak_rss_big_upload", "size_mib": args.big_mib,
                   "parts": line.as_ref().map(|l| l["parts"].clone()),
                   "seconds": line.as_ref().map(|l| l["seconds"].clone()),
                   "peak_rss_mib": rss, "target_mib": 80,
                   "met": rss.is_some_and(|r| r < 80.0)})
        );
        let _ = std::fs::remove_file(&big);
    }

    if let Some(mut child) = server.child {
        drop(child.stdin.take());
        let _ = child.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
