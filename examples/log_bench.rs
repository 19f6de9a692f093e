//! `log_bench`: lines per second and the caller's cost per line of the
//! common logger, file + console, against Python's `logging` with the same
//! format, run in the same invocation.
//!
//! ```text
//! cargo run --release -p ms_utils_examples --example log_bench [-- N]
//! ```
//!
//! Writes N lines (default 200,000) through `Logger` (installed globally, as a
//! service would) to a file in a fresh temporary folder and to the console,
//! with the console pointed at `/dev/null` (`LoggerBuilder::console_writer`)
//! so the terminal is not flooded; Python's side points its `StreamHandler`
//! at `os.devnull` the same way. Prints one JSON line for Rust, then, when
//! `python3` is on the PATH, runs `examples/bench/log_bench.py` with the same N
//! and prints its JSON line and a JSON line of ratios.
//!
//! - `lines_per_s`: N over the time from the first call until the guard's drop
//!   returned, that is until every line is in the file: end to end.
//! - `caller_lines_per_s`: N over the time the logging calls took.
//! - `caller_ns_p50` / `p99` / `max`: the cost of one logging call, timed on
//!   every 64th call.
//! - `lines_written`: lines found in the file afterwards (must equal N).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ms_utils::logging_lib::Logger;
use serde_json::{Value, json};

const DEFAULT_LINES: usize = 200_000;
const SAMPLE_EVERY: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => DEFAULT_LINES,
    };
    let dir = std::env::temp_dir().join(format!("log_bench-{}", std::process::id()));
    fs::create_dir_all(&dir)?;

    let rust = bench_rust(lines, &dir.join("rust"))?;
    println!("{rust}");

    match bench_python(lines, &dir.join("python")) {
        Some(python) => {
            println!("{python}");
            let get = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
            // Each ratio says how many times better Rust does: more lines per
            // second, or fewer nanoseconds per call.
            let faster = |key: &str| get(&rust, key) / get(&python, key);
            let cheaper = |key: &str| get(&python, key) / get(&rust, key);
            println!(
                "{}",
                json!({
                    "bench": "log",
                    "ratio": "rust vs python, times better",
                    "lines_per_s": faster("lines_per_s"),
                    "caller_lines_per_s": faster("caller_lines_per_s"),
                    "caller_ns_p50": cheaper("caller_ns_p50"),
                    "caller_ns_p99": cheaper("caller_ns_p99"),
                })
            );
        }
        None => eprintln!("log_bench: python3 not found or failed, no baseline"),
    }

    fs::remove_dir_all(&dir)?;
    Ok(())
}

fn bench_rust(lines: usize, dir: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let path = dir.join("combined.log");
    let console: Box<dyn Write + Send> = match OpenOptions::new().write(true).open("/dev/null") {
        Ok(null) => Box::new(null),
        Err(_) => Box::new(io::sink()),
    };
    let guard = Logger::builder()
        .name("log_bench")
        .env_directives(false)
        .file(&path)
        .console_writer(console)
        .init()?;

    let mut samples = Vec::with_capacity(lines / SAMPLE_EVERY + 1);
    let start = Instant::now();
    for n in 0..lines {
        if n % SAMPLE_EVERY == 0 {
            let t = Instant::now();
            tracing::info!(n, "bench line");
            samples.push(t.elapsed().as_nanos() as u64);
        } else {
            tracing::info!(n, "bench line");
        }
    }
    let caller = start.elapsed();
    drop(guard);
    let total = start.elapsed();

    let written = fs::read(&path)?.iter().filter(|&&b| b == b'\n').count();
    samples.sort_unstable();
    Ok(json!({
        "bench": "log",
        "impl": "rust",
        "lines": lines,
        "lines_written": written,
        "seconds": total.as_secs_f64(),
        "lines_per_s": lines as f64 / total.as_secs_f64(),
        "caller_lines_per_s": lines as f64 / caller.as_secs_f64(),
        "caller_ns_p50": percentile(&samples, 50),
        "caller_ns_p99": percentile(&samples, 99),
        "caller_ns_max": samples.last().copied().unwrap_or(0),
    }))
}

fn bench_python(lines: usize, dir: &Path) -> Option<Value> {
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "bench", "log_bench.py"]
        .iter()
        .collect();
    let out = Command::new("python3")
        .arg(script)
        .arg(lines.to_string())
        .arg(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let stdout = String::from_utf8(out.stdout).ok()?;
    serde_json::from_str(stdout.lines().last()?).ok()
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}
