//! The `tasks` scenario: a service answering tasks, measured from a raw
//! sender's side.
//!
//! For each run the parent starts the service under test in a child
//! process (`--serve`), logged in as `--user`, and waits for its `ready`
//! line; then a sender child, a bare tokio-tungstenite client logged in as
//! `--caller`, sends `ms-send-task` messages to it through the gateway,
//! keeping `--window` tasks in flight, and times each from its send to the
//! arrival of its answer (matched by jobId, its `referenceId` and payload
//! checked). Then the parent closes the service's stdin, and the service
//! says how many tasks it served and its peak RSS.
//!
//! The services, answering `{"n", "text"}` with `{"n", "chars"}`:
//! - `ms`: `MicroServiceWs::run(Router::with_state(..).task(..))`, a typed
//!   `Task<Payload>` and the answer the handler returns;
//! - `bare`: a tokio-tungstenite loop that reads each `ms-task` into a
//!   borrowed struct and writes the `ms-send-task` back by hand (the floor);
//! - `python`: the original `MicroServiceWs` with the `handle_data` pattern
//!   (a task per message) answering with `send_task_to_ms`
//!   (`bench/ws_bench.py --scenario tasks`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use ms_utils::communication_utils::ws::{Context, MicroServiceWs, Router, Task};
use ms_utils::dev::gateway::DevGateway;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::bare::bare_login;
use super::{Args, BoxError, add_latencies, median_line, peak_rss_mb, round3};

/// How long a service child may take to log in and say `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a sender run may take, and a service child to end after it.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

/// The task's payload, as the service reads it.
#[derive(Deserialize)]
struct Payload {
    n: u64,
    text: String,
}

/// The answer, as the service writes it.
#[derive(Serialize)]
struct Answer {
    n: u64,
    chars: usize,
}

// ---------------------------------------------------------------- parent

/// The parent side: one gateway, each service in turn per round, medians
/// over the rounds and the ratios.
pub(crate) async fn parent(mut args: Args) -> Result<(), BoxError> {
    let _gateway = match &args.host {
        Some(_) => None,
        None => {
            let gw = DevGateway::builder()
                .user(args.user.clone(), args.password.clone())
                .user(args.caller.clone(), args.password.clone())
                .start()
                .await?;
            args.host = Some(gw.host());
            Some(gw)
        }
    };
    let mut services: Vec<&str> = match args.client.as_str() {
        "ms" => vec!["ms"],
        "bare" => vec!["bare"],
        _ => vec!["bare", "ms"],
    };
    if args.client == "both" && args.python.is_some() {
        services.push("python");
    }
    let mut runs: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for _ in 0..args.rounds() {
        for &service in &services {
            let a = args.clone();
            let line = tokio::task::spawn_blocking(move || run(&a, service)).await??;
            runs.entry(service).or_default().push(line);
        }
    }
    let medians: BTreeMap<&str, Value> = runs
        .iter()
        .map(|(service, lines)| (*service, median_line(lines, args.rounds())))
        .collect();
    for service in &services {
        println!("{}", medians[service]);
    }
    if let Some(ms) = medians.get("ms") {
        for base in ["bare", "python"] {
            if let Some(b) = medians.get(base) {
                println!("{}", ratio_line(ms, b, base));
            }
        }
    }
    Ok(())
}

/// `ms` over `base` for each figure both have (>1 means ms is higher).
fn ratio_line(ms: &Value, base: &Value, base_name: &str) -> Value {
    let mut out = Map::new();
    out.insert("ratio".into(), json!(format!("ms/{base_name}")));
    out.insert("scenario".into(), json!("tasks"));
    out.insert("window".into(), ms["window"].clone());
    for key in [
        "secs",
        "tasks_per_s",
        "p50_us",
        "p99_us",
        "service_cpu_us_per_task",
        "service_peak_rss_mb",
    ] {
        if let (Some(a), Some(b)) = (ms[key].as_f64(), base[key].as_f64())
            && b > 0.0
        {
            out.insert(key.into(), round3(a / b));
        }
    }
    Value::Object(out)
}

/// One run: `service` in a child, then the sender child; the sender's line
/// with the service's figures added.
fn run(args: &Args, service: &str) -> Result<Value, BoxError> {
    let scratch = std::env::temp_dir().join(format!("ws_bench_tasks_{}", std::process::id()));
    let mut server = spawn_service(args, service, &scratch)?;
    let outcome = serve_and_send(args, service, &mut server);
    if outcome.is_err() {
        let _ = server.kill();
        let _ = server.wait();
    }
    if service == "python" {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    outcome
}

fn serve_and_send(args: &Args, service: &str, server: &mut Child) -> Result<Value, BoxError> {
    let stdout = server.stdout.take().ok_or("service stdout")?;
    // The service's lines, read on a thread: `ready`, then its result.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    loop {
        let left = READY_TIMEOUT.saturating_sub(started.elapsed());
        match lines.recv_timeout(left) {
            Ok(line) if line.trim() == "ready" => break,
            Ok(_) => {}
            Err(_) => return Err(format!("the {service} service did not get ready").into()),
        }
    }

    let mut sender = Command::new(std::env::current_exe()?);
    sender.args(["--child", "--scenario", "tasks"]);
    sender.args(["--host", args.host.as_deref().unwrap_or_default()]);
    sender.args(["--user", &args.user, "--password", &args.password]);
    sender.args(["--caller", &args.caller]);
    sender.args(["--count", &args.count().to_string()]);
    sender.args(["--window", &args.window.to_string()]);
    sender.args(["--size", &args.size.to_string()]);
    sender.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let sender = sender.spawn()?;
    let mut line = wait_line(sender, RUN_TIMEOUT, "sender")?;

    // End the service: its stdin closes, it stops and reports.
    drop(server.stdin.take());
    let reported = loop {
        match lines.recv_timeout(EXIT_TIMEOUT) {
            Ok(l) if l.starts_with('{') => break serde_json::from_str::<Value>(&l)?,
            Ok(_) => {}
            Err(_) => return Err(format!("the {service} service did not report").into()),
        }
    };
    let exit_started = Instant::now();
    while server.try_wait()?.is_none() {
        if exit_started.elapsed() > EXIT_TIMEOUT {
            server.kill()?;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let obj = line.as_object_mut().ok_or("sender line")?;
    let mut out = Map::new();
    out.insert("client".into(), json!(service));
    out.append(obj);
    let served = reported["served"].as_u64().unwrap_or(0);
    let expected = args.count() + warmup(args.count());
    if served != expected {
        return Err(format!("the {service} service served {served} tasks, not {expected}").into());
    }
    let cpu = reported["cpu_secs"].as_f64().unwrap_or(0.0);
    out.insert(
        "service_cpu_us_per_task".into(),
        round3(cpu * 1e6 / served.max(1) as f64),
    );
    out.insert(
        "service_peak_rss_mb".into(),
        reported["peak_rss_mb"].clone(),
    );
    Ok(Value::Object(out))
}

fn spawn_service(args: &Args, service: &str, scratch: &PathBuf) -> Result<Child, BoxError> {
    let mut cmd = if service == "python" {
        let python = args.python.clone().unwrap_or_else(|| "python3".into());
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/ws_bench.py");
        // The original writes ./logs/combined.log: keep it out of the repo.
        std::fs::create_dir_all(scratch)?;
        let mut cmd = Command::new(python);
        cmd.arg(script).current_dir(scratch);
        cmd
    } else if let Ok(prefix) = std::env::var("WS_BENCH_SERVICE_PREFIX") {
        let mut words = prefix.split_whitespace();
        let mut cmd = Command::new(words.next().ok_or("empty prefix")?);
        cmd.args(words);
        cmd.arg(std::env::current_exe()?);
        cmd.args(["--child", "--serve", service]);
        cmd
    } else {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["--child", "--serve", service]);
        cmd
    };
    cmd.args(["--scenario", "tasks"]);
    cmd.args(["--host", args.host.as_deref().unwrap_or_default()]);
    cmd.args(["--user", &args.user, "--password", &args.password]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    Ok(cmd.spawn()?)
}

/// Waits for `child` (at most `timeout`) and returns its last JSON line.
fn wait_line(mut child: Child, timeout: Duration, what: &str) -> Result<Value, BoxError> {
    let mut stdout = child.stdout.take().ok_or("child stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    // A benchmark harness: polling the child is simpler than a reaper task.
    while child.try_wait()?.is_none() {
        if started.elapsed() > timeout {
            child.kill()?;
            return Err(format!("the {what} run timed out").into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = child.wait()?;
    let text = reader.join().map_err(|_| "reader thread")?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("the {what} run printed no result ({status})"))?;
    Ok(serde_json::from_str(line)?)
}

// ----------------------------------------------------------------- sender

/// Untimed tasks before the timed ones (at least the first, which waits
/// for the service to be routable).
fn warmup(count: u64) -> u64 {
    super::echo_warmup(count).max(1)
}

/// `{"event": "ms-task", "data": {..}}` as the answer arrives at the sender.
#[derive(Deserialize)]
struct Arrived<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    data: Option<ArrivedTask<'a>>,
}

#[derive(Deserialize)]
struct ArrivedTask<'a> {
    #[serde(rename = "jobId", borrow)]
    job_id: Option<Cow<'a, str>>,
    #[serde(rename = "referenceId", borrow)]
    reference_id: Option<Cow<'a, str>>,
    data: Option<Value>,
}

/// The sender child: N timed tasks after a warm-up, `window` in flight.
pub(crate) async fn send(args: &Args) -> Result<Map<String, Value>, BoxError> {
    let mut login = args.clone();
    login.user = args.caller.clone();
    let token = bare_login(&login).await?;
    let url = format!(
        "ws://{}/?token={token}",
        args.host.as_deref().unwrap_or_default()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    let n = args.count();
    let warm = warmup(n);
    let window = args.window.max(1);
    let text = "x".repeat(args.size);
    let mut sender = Sender {
        to: &args.user,
        text: &text,
        sent_at: vec![None; (warm + n) as usize],
    };
    // The first task may find the service's login not yet routed: it is
    // sent again on `unknown microservice`, for a while.
    sender.first(&mut ws).await?;
    sender.window(&mut ws, 1..warm, window).await?;
    let start = Instant::now();
    let lat = sender.window(&mut ws, warm..warm + n, window).await?;
    let secs = start.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    let mut m = Map::new();
    m.insert("scenario".into(), json!("tasks"));
    m.insert("count".into(), json!(n));
    m.insert("window".into(), json!(window));
    m.insert("size".into(), json!(args.size));
    m.insert("secs".into(), round3(secs));
    m.insert("tasks_per_s".into(), round3(n as f64 / secs));
    add_latencies(&mut m, lat);
    Ok(m)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Sender<'a> {
    to: &'a str,
    text: &'a str,
    sent_at: Vec<Option<Instant>>,
}

impl Sender<'_> {
    fn task(&self, i: u64) -> WsMessage {
        WsMessage::text(format!(
            r#"{{"event":"ms-send-task","data":{{"to":"{}","workflowId":"r{i}","referenceId":"r{i}","jobId":"t{i}","data":{{"n":{i},"text":"{}"}}}}}}"#,
            self.to, self.text
        ))
    }

    async fn first(&mut self, ws: &mut Ws) -> Result<(), BoxError> {
        let started = Instant::now();
        loop {
            ws.send(self.task(0)).await?;
            let frame = ws.next().await.ok_or("connection closed")??;
            let WsMessage::Text(t) = frame else { continue };
            let arrived: Arrived<'_> = serde_json::from_str(t.as_str())?;
            if arrived.event == "ms-error" && started.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            self.check(&t, 0)?;
            return Ok(());
        }
    }

    /// Sends tasks `range`, keeping `window` in flight; the round trips.
    async fn window(
        &mut self,
        ws: &mut Ws,
        range: std::ops::Range<u64>,
        window: usize,
    ) -> Result<Vec<Duration>, BoxError> {
        let mut lat = Vec::with_capacity((range.end - range.start) as usize);
        let (mut next, mut in_flight, mut done) = (range.start, 0usize, 0u64);
        let total = range.end - range.start;
        while done < total {
            if in_flight < window && next < range.end {
                while in_flight < window && next < range.end {
                    self.sent_at[next as usize] = Some(Instant::now());
                    ws.feed(self.task(next)).await?;
                    next += 1;
                    in_flight += 1;
                }
                ws.flush().await?;
            }
            // One answer, then every answer already read.
            let mut frame = Some(ws.next().await.ok_or("connection closed")??);
            while let Some(f) = frame {
                if let WsMessage::Text(t) = f {
                    let i = self.answer_index(&t)?;
                    let sent = self.sent_at[i as usize]
                        .take()
                        .ok_or_else(|| format!("task {i} answered twice"))?;
                    lat.push(sent.elapsed());
                    self.check(&t, i)?;
                    in_flight -= 1;
                    done += 1;
                }
                frame = match ws.next().now_or_never() {
                    Some(Some(f)) => Some(f?),
                    _ => None,
                };
            }
        }
        Ok(lat)
    }

    fn answer_index(&self, text: &str) -> Result<u64, BoxError> {
        let arrived: Arrived<'_> = serde_json::from_str(text)?;
        let job = arrived
            .data
            .and_then(|d| d.job_id)
            .filter(|_| arrived.event == "ms-task")
            .ok_or_else(|| format!("not an answer: {text}"))?;
        let i = job
            .strip_prefix('t')
            .and_then(|i| i.parse::<u64>().ok())
            .filter(|i| (*i as usize) < self.sent_at.len())
            .ok_or_else(|| format!("an answer to an unknown job: {text}"))?;
        Ok(i)
    }

    /// The answer carries the task's reference id and the right figures.
    fn check(&self, text: &str, i: u64) -> Result<(), BoxError> {
        let arrived: Arrived<'_> = serde_json::from_str(text)?;
        let task = arrived.data.ok_or("an answer without data")?;
        let reference = format!("r{i}");
        let data = task.data.unwrap_or(Value::Null);
        if task.reference_id.as_deref() != Some(reference.as_str())
            || data["n"].as_u64() != Some(i)
            || data["chars"].as_u64() != Some(self.text.len() as u64)
        {
            return Err(format!("a wrong answer to task {i}: {text}").into());
        }
        Ok(())
    }
}

// ----------------------------------------------------------------- services

/// A service child: serves tasks until its stdin closes, then prints
/// `{"served", "cpu_secs", "peak_rss_mb"}` (`cpu_secs`: the CPU time of
/// all its threads from `ready` to the end of its stdin).
pub(crate) async fn serve(args: &Args, service: &str) -> Result<(), BoxError> {
    let (served, cpu) = match service {
        "ms" => serve_ms(args).await?,
        "bare" => serve_bare(args).await?,
        other => return Err(format!("no {other} service").into()),
    };
    println!(
        "{}",
        json!({"served": served, "cpu_secs": cpu, "peak_rss_mb": round3(peak_rss_mb())})
    );
    Ok(())
}

/// The CPU time of this process's threads, in seconds (the sum of each
/// thread's time on a CPU from `/proc/self/task/*/schedstat`, in ns: the
/// process's `utime`/`stime` count 10 ms ticks, too coarse for a run).
fn cpu_secs() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ns: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    ns as f64 / 1e9
}

/// Resolves when this process's stdin reaches its end (the parent closed it).
async fn stdin_closed() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
}

/// Serves until stdin closes: the tasks served and the CPU seconds spent.
async fn serve_ms(args: &Args) -> Result<(u64, f64), BoxError> {
    let client = MicroServiceWs::builder(args.host.clone().unwrap_or_default())
        .credentials(args.user.clone(), args.password.clone())
        .tls(false)
        .connect()
        .await?;
    // The service's state: how many tasks it answered (shared with this
    // function, which reports it at the end).
    let served = Arc::new(AtomicU64::new(0));
    let router = Router::with_state(served.clone()).task(
        |task: Task<Payload>, cx: Context<Arc<AtomicU64>>| async move {
            cx.state().fetch_add(1, Ordering::Relaxed);
            Ok::<_, Infallible>(Answer {
                n: task.data.n,
                chars: task.data.text.chars().count(),
            })
        },
    );
    let run = client.run(router);
    let cpu = cpu_secs();
    println!("ready");
    stdin_closed().await;
    let cpu = cpu_secs() - cpu;
    run.stop();
    client.close().await?;
    Ok((served.load(Ordering::Relaxed), cpu))
}

/// `{"event": "ms-task", "data": {..}}` as the bare service reads it.
#[derive(Deserialize)]
struct BareTask<'a> {
    #[serde(borrow)]
    data: BareTaskData<'a>,
}

#[derive(Deserialize)]
struct BareTaskData<'a> {
    #[serde(borrow)]
    from: Cow<'a, str>,
    #[serde(rename = "referenceId", borrow)]
    reference_id: Cow<'a, str>,
    #[serde(rename = "jobId", borrow)]
    job_id: Cow<'a, str>,
    #[serde(borrow)]
    data: BarePayload<'a>,
}

#[derive(Deserialize)]
struct BarePayload<'a> {
    n: u64,
    #[serde(borrow)]
    text: Cow<'a, str>,
}

#[derive(Serialize)]
struct BareSend<'a> {
    event: &'static str,
    data: BareSendData<'a>,
}

#[derive(Serialize)]
struct BareSendData<'a> {
    to: &'a str,
    #[serde(rename = "workflowId")]
    workflow_id: &'a str,
    #[serde(rename = "referenceId")]
    reference_id: &'a str,
    #[serde(rename = "jobId")]
    job_id: &'a str,
    data: Answer,
}

/// The floor: one task reading each `ms-task` and writing its answer,
/// flushing once no more frames are at hand.
async fn serve_bare(args: &Args) -> Result<(u64, f64), BoxError> {
    let token = bare_login(args).await?;
    let url = format!(
        "ws://{}/?token={token}",
        args.host.as_deref().unwrap_or_default()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    let cpu = cpu_secs();
    println!("ready");
    let stop = stdin_closed();
    tokio::pin!(stop);
    let mut served = 0u64;
    loop {
        let frame = tokio::select! {
            () = &mut stop => break,
            frame = ws.next() => frame,
        };
        let mut frame = Some(frame.ok_or("connection closed")??);
        while let Some(f) = frame {
            if let WsMessage::Text(t) = f {
                let task: BareTask<'_> = serde_json::from_str(t.as_str())?;
                let d = task.data;
                let answer = BareSend {
                    event: "ms-send-task",
                    data: BareSendData {
                        to: &d.from,
                        workflow_id: &d.reference_id,
                        reference_id: &d.reference_id,
                        job_id: &d.job_id,
                        data: Answer {
                            n: d.data.n,
                            chars: d.data.text.chars().count(),
                        },
                    },
                };
                ws.feed(WsMessage::text(serde_json::to_string(&answer)?))
                    .await?;
                served += 1;
            }
            frame = match ws.next().now_or_never() {
                Some(Some(f)) => Some(f?),
                _ => None,
            };
        }
        ws.flush().await?;
    }
    let cpu = cpu_secs() - cpu;
    let _ = ws.close(None).await;
    Ok((served, cpu))
}
