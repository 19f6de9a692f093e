//! The client under test: `MicroServiceWs`, receiving through `run(handler)`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ms_utils::communication_utils::ws::chunks::ChunkLimits;
use ms_utils::communication_utils::ws::{Message, MicroServiceWs};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

use super::{Args, BoxError, Scenario, add_latencies, echo_warmup, result};

pub(crate) async fn run(args: &Args) -> Result<Map<String, Value>, BoxError> {
    // Room for the 64 MiB bench payload plus its JSON envelope.
    let max = args.bytes.max(64 << 20) + (1 << 20);
    let client = MicroServiceWs::builder(args.host.clone().unwrap_or_default())
        .credentials(args.user.clone(), args.password.clone())
        .tls(false)
        .max_message_size(max)
        .chunk_limits(ChunkLimits::default().with_max_job_bytes(max))
        .connect()
        .await?;
    let out = match args.scenario {
        Scenario::Flood => ms_flood(&client, args).await?,
        Scenario::Chunked => ms_chunked(&client, args).await?,
        Scenario::Echo => ms_echo(&client, args).await?,
        // Its own child code, in soak.rs.
        // Their own child code, in soak.rs and tasks.rs.
        Scenario::Soak | Scenario::Tasks => {
            return Err(format!("ms::run has no {} scenario", args.scenario.name()).into());
        }
    };
    client.close().await?;
    Ok(out)
}

/// A counter that threads add to without sharing a cache line: each thread
/// has its own slot (a shared atomic would cost a cache-line transfer per
/// message between the cores, measuring the counter instead of the client).
struct Sharded([Slot; SLOTS]);

const SLOTS: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Slot(AtomicU64);

impl Sharded {
    fn new() -> Self {
        Self(std::array::from_fn(|_| Slot::default()))
    }

    fn add(&self) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local!(static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS);
        MINE.with(|i| self.0[*i].0.fetch_add(1, Ordering::Relaxed));
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Acquire)).sum()
    }
}

async fn ms_flood(client: &MicroServiceWs, args: &Args) -> Result<Map<String, Value>, BoxError> {
    let n = args.count();
    let seen = Arc::new(Sharded::new());
    let done = Arc::new(Notify::new());
    let (s, d) = (seen.clone(), done.clone());
    // The handler does its (tiny) work before returning a ready future, as a
    // handler that never awaits would be written.
    let _run = client.run(move |msg: Message| {
        match msg.event() {
            Some("bench") => s.add(),
            Some("bench-end") => d.notify_one(),
            _ => {}
        }
        std::future::ready(Ok::<(), std::convert::Infallible>(()))
    });
    let start = Instant::now();
    client
        .send(json!({"event": "bench-flood", "data": {"count": n, "size": args.size}}))
        .await?;
    let wait = async {
        done.notified().await;
        // Handlers run concurrently: `bench-end` can be handled just before
        // the last `bench` frames are.
        while seen.sum() != n {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .map_err(|_| format!("ms flood stuck at {}", seen.sum()))?;
    Ok(result(args, "ms", start.elapsed().as_secs_f64()))
}

async fn ms_chunked(client: &MicroServiceWs, args: &Args) -> Result<Map<String, Value>, BoxError> {
    let (tx, mut rx) = mpsc::channel::<usize>(1);
    let _run = client.run(move |msg: Message| {
        let tx = tx.clone();
        async move {
            if msg.event() == Some("bench-payload") {
                let len = msg
                    .data()
                    .and_then(|d| d["blob"].as_str())
                    .map_or(0, str::len);
                drop(msg);
                let _ = tx.send(len).await;
            }
            Ok::<(), std::convert::Infallible>(())
        }
    });
    let start = Instant::now();
    client
        .send(json!({"event": "bench-chunked", "data": {"bytes": args.bytes, "chunk": args.chunk}}))
        .await?;
    let got = tokio::time::timeout(Duration::from_secs(300), rx.recv())
        .await?
        .ok_or("receive loop ended")?;
    let secs = start.elapsed().as_secs_f64();
    if got != args.bytes {
        return Err(format!("ms chunked blob of {got} bytes").into());
    }
    Ok(result(args, "ms", secs))
}

async fn ms_echo(client: &MicroServiceWs, args: &Args) -> Result<Map<String, Value>, BoxError> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let _run = client.run(move |msg: Message| {
        let tx = tx.clone();
        async move {
            if msg.event() == Some("bench-echo-reply") {
                let _ = tx.send(()).await;
            }
            Ok::<(), std::convert::Infallible>(())
        }
    });
    let n = args.count();
    let warm = echo_warmup(n);
    let mut lat = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for i in 0..n + warm {
        let t = Instant::now();
        client
            .send(json!({"event": "bench-echo", "data": {"i": i}}))
            .await?;
        tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await?
            .ok_or("receive loop ended")?;
        if i >= warm {
            lat.push(t.elapsed());
        }
    }
    let mut m = result(args, "ms", start.elapsed().as_secs_f64());
    add_latencies(&mut m, lat);
    Ok(m)
}
