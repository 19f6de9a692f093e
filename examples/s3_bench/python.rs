//! The Python baselines of `s3_bench`: boto3's default transfer and the
//! original `S3BucketClient`, each operation run by `examples/bench/s3_bench.py`
//! in a process of its own.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{BUCKET, Sample, Server};

/// The interpreter to use (`MS_UTILS_PYTHON`, else `python3`), if it has boto3.
pub(crate) fn python_interpreter() -> Option<String> {
    let py = std::env::var("MS_UTILS_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&py)
        .args(["-c", "import boto3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// Runs `client` (`boto3` or `original`) for `op` (`upload` or `download`)
/// `runs` times in one process; `None`, said on stderr, when it failed or
/// printed nothing. With `existing`, downloads that object (already on the
/// server) instead of uploading its own first.
#[allow(clippy::too_many_arguments)] // one call site, each argument a flag of the script
pub(crate) fn python_runs(
    py: &str,
    client: &str,
    op: &str,
    server: &Server,
    src: &Path,
    dir: &Path,
    runs: usize,
    existing: Option<&str>,
) -> Option<Vec<Sample>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/s3_bench.py");
    let out = Command::new(py)
        .arg(script)
        .args([
            "--client",
            client,
            "--op",
            op,
            "--endpoint",
            &server.endpoint,
        ])
        .args([
            "--access-key",
            &server.ak,
            "--secret-key",
            &server.sk,
            "--bucket",
            BUCKET,
        ])
        .args([
            "--key",
            &existing.map_or_else(|| format!("py-{client}.bin"), str::to_owned),
        ])
        .args(existing.map(|_| "--no-upload"))
        .arg("--file")
        .arg(src)
        .arg("--dest")
        .arg(dir.join("py-dl.bin"))
        .args(["--runs", &runs.to_string()])
        .current_dir(dir)
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            eprintln!("python {client} {op} did not start: {e}");
            return None;
        }
    };
    if !out.status.success() {
        eprintln!(
            "python {client} {op} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let samples: Vec<Sample> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| Sample {
            seconds: v["seconds"].as_f64().unwrap_or(f64::NAN),
            cpu: v["cpu_seconds"].as_f64().unwrap_or(f64::NAN),
            rss: v["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
        })
        .collect();
    if samples.is_empty() {
        eprintln!("python {client} {op} printed no result");
        return None;
    }
    Some(samples)
}
