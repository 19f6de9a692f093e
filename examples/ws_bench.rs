//! `ws_bench`: `MicroServiceWs` against a bare tokio-tungstenite client (and,
//! optionally, the Python original) on the bench commands ([protocol: development gateway](ms_utils::communication_utils::protocol#development-gateway)).
//!
//! ```text
//! cargo run --release -p ms_utils_examples --example ws_bench -- [--host H:P --user U --password P]
//!     --scenario flood|chunked|echo|soak|tasks [--count N --size S] [--bytes B --chunk C]
//!     [--rounds R] [--client ms|bare|both] [--python PATH]
//!     [--close-every MS --mode at-least-once|at-most-once|both --rate MSGS_PER_S --grace MS]
//!     [--window W --caller NAME]
//! ```
//!
//! Prints one JSON object per line per client (`client`, `scenario`, the
//! parameters, `secs`, `msgs_per_s`, `mb_per_s`, `p50_us`, `p99_us`,
//! `peak_rss_mb` as they apply; medians over `--rounds`, default 9), then,
//! with `--client both`, one `ratio` line per baseline. `--client ms` prints
//! exactly one line. Without `--host` the development gateway runs in this
//! process.
//!
//! Each client run is a child process (this same program with `--child`), so
//! that `peak_rss_mb` is that client's alone; runs of the clients alternate.
//! The Python baseline (`examples/bench/ws_bench.py`, the original
//! `MicroServiceWs`) runs when `--python PATH` is given or `MS_UTILS_PYTHON`
//! is set, for `flood` and `chunked` (with pieces of at most 512 KiB: the
//! original closes the connection on a frame over 1 MiB).
//!
//! For `echo`, pin everything to one CPU: `taskset -c 0 cargo run ...`.
//!
//! ## `tasks`: a service answering tasks, from a raw sender's side
//!
//! ```text
//! ws_bench --scenario tasks [--count N (20000)] [--window W (64)] [--size S (200)]
//!     [--rounds R (9)] [--client ms|bare|both] [--python PATH] [--caller NAME (bench_caller)]
//! ```
//!
//! The service under test runs in a child process logged in as `--user`;
//! a sender child, a bare tokio-tungstenite client logged in as `--caller`
//! (no ms_utils code on the calling side), sends it `ms-send-task`
//! messages through the gateway (`{"to", "workflowId", "referenceId",
//! "jobId", "data": {"n", "text"}}`, `text` of `--size` bytes, distinct
//! job and reference ids), keeping `--window` tasks in flight, and times
//! each task from its send to the arrival of its answer, matched by jobId
//! (its `referenceId` and `{"n", "chars"}` checked; a wrong or missing
//! answer fails the run). A warm-up of `min(N/10, 200)` tasks comes first,
//! untimed. Services (`--client both` runs `bare` and `ms`, and `python`
//! when `--python`/`MS_UTILS_PYTHON` is set):
//! - `ms`: `ms.run(Router::with_state(..).task(|task: Task<Payload>, cx| ..))`
//!   returning the answer, which the library sends back under the task's
//!   jobId and referenceId;
//! - `bare`: the floor, a tokio-tungstenite loop reading each `ms-task` into
//!   a borrowed struct and writing its `ms-send-task` by hand (writes
//!   flushed once no more frames are at hand);
//! - `python`: the original `MicroServiceWs` (`bench/ws_bench.py --scenario
//!   tasks`): `receive()`, a task per message (the `handle_data` pattern),
//!   answering with `send_task_to_ms`.
//!
//! One line per service: `count`, `window`, `size`, `secs`, `tasks_per_s`,
//! `p50_us`, `p99_us` (the round trips), the sender's `peak_rss_mb` and
//! the service's `service_peak_rss_mb`; medians over `--rounds`; then `ratio`
//! lines ms/bare and ms/python. Throughput wants a window (64); latency
//! wants `--window 1` (a wider window adds queueing to every round trip),
//! pinned like `echo`: `taskset -c 0 cargo run ... --scenario tasks --window 1`.
//! `service_cpu_us_per_task` is the service's own CPU (all its threads,
//! from its `ready` to the end of the run) per task served: what the
//! service costs, apart from the gateway and the sender that share the
//! machine with it. To profile a Rust service, set
//! `WS_BENCH_SERVICE_PREFIX` to a command that runs it (e.g.
//! `WS_BENCH_SERVICE_PREFIX="perf record -g -o ms.data"`).
//!
//! ## `soak`: delivery through rolling-deploy closes
//!
//! ```text
//! ws_bench --scenario soak [--count N (10000)] [--close-every MS (50)]
//!     [--mode at-least-once|at-most-once|both (at-least-once)]
//!     [--rate MSGS_PER_S (0 = full speed)] [--grace MS (1000)] [--rounds R (1)]
//!     [--receipts yes|no (no)]
//! ```
//!
//! Needs the in-process development gateway (`--host` is refused). The parent
//! starts it with its record of frames read switched on and, while a child
//! client runs, closes that client's connection every `--close-every` ms as a
//! rolling deploy does (`FaultControl::close_user_with_grace`: a close frame
//! 1001, then reading, and recording, for `--grace` ms). The child connects as
//! the bench user, sends `count` messages `{"event":"soak","data":{"seq":N}}`
//! at `--rate` (paced against the clock from the first send; the gateway
//! records them as read and otherwise ignores them), then calls `close()`.
//! From the gateway's record, connection by connection in arrival order, the
//! parent counts `lost` (sequence numbers never recorded, handed back by
//! `close()` or not), `duplicated` (recordings beyond a number's first),
//! `out_of_order` (first arrivals after a higher number had arrived) and
//! `closes` (connections the closing task closed). One JSON line per run:
//! `client`, `scenario`, `count`, `close_every_ms`, `grace_ms`, `mode`, `rate`,
//! `lost`, `duplicated`, `out_of_order`, `closes`, `connections`, `recorded`,
//! `reconnects`, `resent`, `possibly_lost`, `close_result` (`ok`, or how many
//! messages `close()` handed back in `Error::Undelivered`, or its error),
//! `undelivered`, `send_secs` and `secs` (first send to `close()`'s return).
//! With `--receipts yes` the `ms` child sends each message with
//! `send_with_receipt` and, after `close()`, adds `receipts_ok` (resolved:
//! confirmed by the gateway) and `receipts_failed` (failed handing the
//! message back), and `receipts_open` (neither, which should be 0).
//!
//! Clients: `ms` (`MicroServiceWs` in the `--mode` given; `both` runs each
//! mode) and `python` (the original, when `--python`/`MS_UTILS_PYTHON` is set:
//! the same sends at the same rate, then, once its send queue has drained (at
//! most 5 minutes), its `close()`; it has no delivery modes, so it runs once
//! per round whatever `--mode` says, with `mode` "none" and `resent`,
//! `possibly_lost` null; `reconnects` counts its connections after the
//! first). The bare tokio-tungstenite client does not reconnect, so it has no
//! soak run: `--client both` prints a `skipped` line for it, `--client bare`
//! is refused. Rounds default to 1 here and each run prints its own line (no
//! medians, no ratios).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ms_utils::dev::gateway::DevGateway;
use serde_json::{Map, Value, json};

#[path = "ws_bench/bare.rs"]
mod bare;
#[path = "ws_bench/ms.rs"]
mod ms;
#[path = "ws_bench/soak.rs"]
mod soak;
#[path = "ws_bench/tasks.rs"]
mod tasks;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A child run that takes longer than this is killed and reported.
const CHILD_TIMEOUT: Duration = Duration::from_secs(600);
/// The Python original refuses frames over 1 MiB: 512 KiB pieces are the
/// largest that fit once base64-encoded.
const PYTHON_MAX_CHUNK: usize = 512 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Flood,
    Chunked,
    Echo,
    Soak,
    Tasks,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Flood => "flood",
            Self::Chunked => "chunked",
            Self::Echo => "echo",
            Self::Soak => "soak",
            Self::Tasks => "tasks",
        }
    }
}

#[derive(Debug, Clone)]
struct Args {
    host: Option<String>,
    user: String,
    password: String,
    scenario: Scenario,
    count: Option<u64>,
    size: usize,
    bytes: usize,
    chunk: usize,
    rounds: Option<usize>,
    client: String,
    python: Option<PathBuf>,
    child: bool,
    /// `soak`: milliseconds between the gateway's closes.
    close_every: u64,
    /// `soak`: the delivery mode (`both` in the parent only).
    mode: String,
    /// `soak`: messages a second, 0 for full speed.
    rate: f64,
    /// `soak`: the gateway's grace period after its close frame, in ms.
    grace: u64,
    /// `tasks`: the sender's login (the service logs in as `user`).
    caller: String,
    /// `tasks`: tasks in flight.
    window: usize,
    /// `tasks`, in a child: the service to run (`ms`, `bare`), instead of
    /// the sender.
    serve: Option<String>,
    /// `soak`: send every message with a receipt and count the outcomes.
    receipts: bool,
}

impl Args {
    fn count(&self) -> u64 {
        self.count.unwrap_or(match self.scenario {
            Scenario::Echo => 5_000,
            Scenario::Soak => 10_000,
            Scenario::Tasks => 20_000,
            _ => 200_000,
        })
    }

    fn rounds(&self) -> usize {
        self.rounds.unwrap_or(match self.scenario {
            Scenario::Soak => 1,
            _ => 9,
        })
    }

    fn parse() -> Result<Self, String> {
        let mut args = Self {
            host: None,
            user: "bench".into(),
            password: "bench-pw".into(),
            scenario: Scenario::Flood,
            count: None,
            size: 200,
            bytes: 64 * 1024 * 1024,
            chunk: 1024 * 1024,
            rounds: None,
            client: "both".into(),
            python: std::env::var_os("MS_UTILS_PYTHON").map(PathBuf::from),
            child: false,
            close_every: 50,
            mode: "at-least-once".into(),
            rate: 0.0,
            grace: 1000,
            caller: "bench_caller".into(),
            window: 64,
            serve: None,
            receipts: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--child" {
                args.child = true;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
            match flag.as_str() {
                "--host" => args.host = Some(value),
                "--user" => args.user = value,
                "--password" => args.password = value,
                "--scenario" => {
                    args.scenario = match value.as_str() {
                        "flood" => Scenario::Flood,
                        "chunked" => Scenario::Chunked,
                        "echo" => Scenario::Echo,
                        "soak" => Scenario::Soak,
                        "tasks" => Scenario::Tasks,
                        other => return Err(format!("unknown scenario {other}")),
                    }
                }
                "--count" => args.count = Some(num(&value)?),
                "--size" => args.size = num(&value)? as usize,
                "--bytes" => args.bytes = num(&value)? as usize,
                "--chunk" => args.chunk = num(&value)?.max(1) as usize,
                "--rounds" => args.rounds = Some(num(&value)?.max(1) as usize),
                "--client" if ["ms", "bare", "both"].contains(&value.as_str()) => {
                    args.client = value
                }
                "--python" => args.python = Some(PathBuf::from(value)),
                "--close-every" => args.close_every = num(&value)?,
                "--mode" => {
                    if value != "both" {
                        soak::delivery_mode(&value)?;
                    }
                    args.mode = value
                }
                "--rate" => {
                    args.rate = value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && *r >= 0.0)
                        .ok_or_else(|| format!("--rate {value}: not a rate"))?
                }
                "--grace" => args.grace = num(&value)?,
                "--caller" => args.caller = value,
                "--window" => args.window = num(&value)?.max(1) as usize,
                "--serve" if ["ms", "bare"].contains(&value.as_str()) => args.serve = Some(value),
                "--receipts" => {
                    args.receipts = match value.as_str() {
                        "yes" => true,
                        "no" => false,
                        other => return Err(format!("--receipts {other}: yes or no")),
                    }
                }
                other => return Err(format!("unknown argument {other} {value}")),
            }
        }
        Ok(args)
    }
}

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ws_bench: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ws_bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if args.child {
        // Both clients run in a runtime task, as a service's code does: code
        // in `block_on` runs on the main thread, outside the runtime's
        // workers, and every hand-over between it and the client's tasks
        // would be a thread switch that a service does not pay.
        runtime.block_on(async {
            tokio::spawn(child(args))
                .await
                .unwrap_or_else(|e| Err(e.to_string().into()))
        })
    } else {
        runtime.block_on(parent(args))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- parent

async fn parent(args: Args) -> Result<(), BoxError> {
    match args.scenario {
        Scenario::Soak => return soak::parent(args).await,
        Scenario::Tasks => return tasks::parent(args).await,
        _ => {}
    }
    let mut args = args;
    let _gateway = match &args.host {
        Some(_) => None,
        None => {
            let gw = DevGateway::builder()
                .user(args.user.clone(), args.password.clone())
                .start()
                .await?;
            args.host = Some(gw.host());
            Some(gw)
        }
    };
    let mut clients: Vec<&str> = match args.client.as_str() {
        "ms" => vec!["ms"],
        "bare" => vec!["bare"],
        _ => vec!["bare", "ms"],
    };
    if args.client == "both" && args.python.is_some() && args.scenario != Scenario::Echo {
        clients.push("python");
    }

    let mut runs: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for _ in 0..args.rounds() {
        for &client in &clients {
            let a = args.clone();
            let line = tokio::task::spawn_blocking(move || run_child(&a, client)).await??;
            runs.entry(client).or_default().push(line);
        }
    }
    let medians: BTreeMap<&str, Value> = runs
        .iter()
        .map(|(client, lines)| (*client, median_line(lines, args.rounds())))
        .collect();
    for client in &clients {
        println!("{}", medians[client]);
    }
    if let Some(ms) = medians.get("ms") {
        for base in ["bare", "python"] {
            if let Some(b) = medians.get(base) {
                println!("{}", ratio_line(ms, b, base, args.scenario));
            }
        }
    }
    Ok(())
}

/// Runs one client in a child process and returns its JSON line.
fn run_child(args: &Args, client: &str) -> Result<Value, BoxError> {
    let host = args.host.clone().unwrap_or_default();
    let scratch = std::env::temp_dir().join(format!("ws_bench_py_{}", std::process::id()));
    let mut cmd = if client == "python" {
        let python = args.python.clone().unwrap_or_else(|| "python3".into());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/ws_bench.py");
        // The original writes ./logs/combined.log: keep it out of the repo.
        std::fs::create_dir_all(&scratch)?;
        let mut cmd = Command::new(python);
        cmd.arg(script).current_dir(&scratch);
        cmd.args(["--chunk", &args.chunk.min(PYTHON_MAX_CHUNK).to_string()]);
        cmd
    } else {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["--child", "--client", client]);
        cmd.args(["--chunk", &args.chunk.to_string()]);
        cmd.args(["--count", &args.count().to_string()]);
        cmd
    };
    cmd.args([
        "--host",
        &host,
        "--user",
        &args.user,
        "--password",
        &args.password,
    ]);
    cmd.args(["--scenario", args.scenario.name()]);
    cmd.args([
        "--size",
        &args.size.to_string(),
        "--bytes",
        &args.bytes.to_string(),
    ]);
    if client == "python" {
        cmd.args(["--count", &args.count().to_string()]);
    }
    if args.scenario == Scenario::Soak {
        cmd.args(["--rate", &args.rate.to_string()]);
        if client != "python" {
            cmd.args(["--mode", &args.mode]);
            cmd.args(["--receipts", if args.receipts { "yes" } else { "no" }]);
        }
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn()?;
    let started = Instant::now();
    // A benchmark harness: polling the child is simpler than a reaper task.
    while child.try_wait()?.is_none() {
        if started.elapsed() > CHILD_TIMEOUT {
            child.kill()?;
            return Err(format!("{client} run timed out").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output()?;
    if client == "python" {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("{client} run printed no result ({})", out.status))?;
    Ok(serde_json::from_str(line)?)
}

/// The median of every numeric field over the rounds; other fields from
/// the first run.
fn median_line(lines: &[Value], rounds: usize) -> Value {
    let mut out = lines.first().cloned().unwrap_or_else(|| json!({}));
    if let Some(obj) = out.as_object_mut() {
        let keys: Vec<String> = obj.keys().cloned().collect();
        for key in keys {
            let mut xs: Vec<f64> = lines.iter().filter_map(|l| l[&key].as_f64()).collect();
            if xs.len() == lines.len() && obj[&key].is_number() {
                xs.sort_by(f64::total_cmp);
                obj.insert(key, round3(xs[xs.len() / 2]));
            }
        }
        obj.insert("rounds".into(), json!(rounds));
    }
    out
}

fn round3(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!((x * 1000.0).round() / 1000.0)
    }
}

/// `ms` over `base` for each figure both have (>1 means ms is higher).
fn ratio_line(ms: &Value, base: &Value, base_name: &str, scenario: Scenario) -> Value {
    let mut out = Map::new();
    out.insert("ratio".into(), json!(format!("ms/{base_name}")));
    out.insert("scenario".into(), json!(scenario.name()));
    for key in [
        "secs",
        "msgs_per_s",
        "mb_per_s",
        "p50_us",
        "p99_us",
        "peak_rss_mb",
    ] {
        if let (Some(a), Some(b)) = (ms[key].as_f64(), base[key].as_f64())
            && b > 0.0
        {
            out.insert(key.into(), round3(a / b));
        }
    }
    Value::Object(out)
}

// ----------------------------------------------------------------- child

async fn child(args: Args) -> Result<(), BoxError> {
    if args.scenario == Scenario::Tasks
        && let Some(service) = &args.serve
    {
        return tasks::serve(&args, service).await;
    }
    let mut line = match args.client.as_str() {
        _ if args.scenario == Scenario::Tasks => tasks::send(&args).await?,
        _ if args.scenario == Scenario::Soak => soak::ms_child(&args).await?,
        "bare" => bare::run(&args).await?,
        _ => ms::run(&args).await?,
    };
    line.insert("peak_rss_mb".into(), round3(peak_rss_mb()));
    println!("{}", Value::Object(line));
    Ok(())
}

/// Peak resident set of this process (VmHWM), in MiB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn result(args: &Args, client: &str, secs: f64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("client".into(), json!(client));
    m.insert("scenario".into(), json!(args.scenario.name()));
    match args.scenario {
        Scenario::Flood => {
            let n = args.count();
            m.insert("count".into(), json!(n));
            m.insert("size".into(), json!(args.size));
            m.insert("secs".into(), round3(secs));
            m.insert("msgs_per_s".into(), round3(n as f64 / secs));
            m.insert(
                "mb_per_s".into(),
                round3(n as f64 * args.size as f64 / secs / 1e6),
            );
        }
        Scenario::Chunked => {
            m.insert("bytes".into(), json!(args.bytes));
            m.insert("chunk".into(), json!(args.chunk));
            m.insert("secs".into(), round3(secs));
            m.insert("mb_per_s".into(), round3(args.bytes as f64 / secs / 1e6));
        }
        Scenario::Echo | Scenario::Soak | Scenario::Tasks => {
            m.insert("count".into(), json!(args.count()));
            m.insert("secs".into(), round3(secs));
        }
    }
    m
}

fn add_latencies(m: &mut Map<String, Value>, mut lat: Vec<Duration>) {
    lat.sort();
    let pick = |q: f64| lat.get(((lat.len() as f64 - 1.0) * q).round() as usize);
    if let (Some(p50), Some(p99)) = (pick(0.5), pick(0.99)) {
        m.insert("p50_us".into(), round3(p50.as_secs_f64() * 1e6));
        m.insert("p99_us".into(), round3(p99.as_secs_f64() * 1e6));
    }
}

/// Round trips not counted, so that connection warm-up does not weigh in.
fn echo_warmup(count: u64) -> u64 {
    (count / 10).min(200)
}
