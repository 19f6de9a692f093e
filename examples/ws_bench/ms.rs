//! The client under test: `MicroServiceWs`, receiving through `run(handler)`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    };
    client.close().await?;
    Ok(out)
}

async fn ms_flood(client: &MicroServiceWs, args: &Args) -> Result<Map<String, Value>, BoxError> {
    let n = args.count();
    let seen = Arc::new(AtomicU64::new(0));
    let ended = Arc::new(AtomicBool::new(false));
    let done = Arc::new(Notify::new());
    let (s, e, d) = (seen.clone(), ended.clone(), done.clone());
    // Handlers run concurrently: `bench-end` can be handled before the
    // last `bench` frames, so completion needs both.
    // SeqCst: each side writes one counter then reads the other, and weaker
    // orderings would let both miss the other's write.
    let _run = client.run(move |msg: Message| {
        let (seen, ended, done) = (s.clone(), e.clone(), d.clone());
        async move {
            let event = msg.event();
            let finished = if event == Some("bench") {
                seen.fetch_add(1, Ordering::SeqCst) + 1 == n && ended.load(Ordering::SeqCst)
            } else if event == Some("bench-end") {
                ended.store(true, Ordering::SeqCst);
                seen.load(Ordering::SeqCst) == n
            } else {
                false
            };
            if finished {
                done.notify_one();
            }
            Ok::<(), std::convert::Infallible>(())
        }
    });
    let start = Instant::now();
    client
        .send(json!({"event": "bench-flood", "data": {"count": n, "size": args.size}}))
        .await?;
    while !(ended.load(Ordering::SeqCst) && seen.load(Ordering::SeqCst) == n) {
        tokio::time::timeout(Duration::from_secs(120), done.notified())
            .await
            .map_err(|_| format!("ms flood stuck at {}", seen.load(Ordering::SeqCst)))?;
    }
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
