//! One websocket connection: a reader that routes what the client sends, a
//! writer that drains the connection's queue, and a watchdog that drops the
//! connection when a close's grace period runs out, joined in one task.
//!
//! Reader and writer are separate futures so that a client that stops
//! reading (pushing back) never stops the gateway from reading what that
//! client sends, and the other way round.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::record::{ConnectionEnd, FrameTap};
use super::socket::ConnIo;
use super::state::{Outbound, SessionCtl, SessionHandle, Shared};
use ms_utils_communication::ws::chunks::{ChunkAssembler, ChunkLimits, chunk_frames};

/// Frames queued for one connection before routers to it wait.
const OUTBOUND_QUEUE: usize = 256;
/// Frames drained from the queue before one flush.
const DRAIN_BATCH: usize = 64;
/// How long a client gets to answer the close frame of a graceful close
/// (`FaultControl::close_user_gracefully`) before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
mod bench;

use bench::{MAX_BENCH_BYTES, bench_payload, flood};

type Sink<S> = SplitSink<WebSocketStream<S>, Message>;
type Stream<S> = SplitStream<WebSocketStream<S>>;

/// Serves one upgraded connection of `user` until either side ends it, the
/// gateway shuts down or a fault closes it.
pub(super) async fn serve(shared: Arc<Shared>, user: String, ws: WebSocketStream<ConnIo>) {
    let (tx, mut rx) = mpsc::channel(OUTBOUND_QUEUE);
    let close = shared.cancel.child_token();
    let ctl = Arc::new(SessionCtl::new(ws.get_ref().reset_switch()));
    let predecessors = shared.predecessors(&user);
    let id = shared.add_session(SessionHandle {
        user: user.clone(),
        tx: tx.clone(),
        close: close.clone(),
        closing: Arc::new(AtomicBool::new(false)),
        ended: CancellationToken::new(),
        ctl: Arc::clone(&ctl),
    });
    // Listed in the record from the start, even before its first frame.
    let _ = shared.recorder.log_for(id, &user);
    info!(user = %user, id, "websocket connected");
    let (sink, stream) = ws.split();
    let reader = async {
        // Keep the user's messages in order across a reconnect: the old
        // connection's reader may still be routing what it read.
        for ended in &predecessors {
            tokio::select! {
                _ = close.cancelled() => return,
                _ = ended.cancelled() => {}
            }
        }
        let mut tap = FrameTap::new(&shared.recorder, id, &user);
        read_loop(&shared, &user, &ctl, &mut tap, stream, &tx, &close).await;
        close.cancel();
    };
    let writer = async {
        write_loop(&shared, &ctl, sink, &mut rx, &close).await;
        close.cancel();
    };
    // Both halves of the socket are dropped once the join is done: the TCP
    // connection ends there (with a reset when aborted).
    tokio::join!(reader, writer, grace_watchdog(&ctl, &close));
    let end = ctl.ended_by();
    shared.remove_session(id, end);
    info!(user = %user, id, ?end, "websocket closed");
    redeliver(&shared, &user, &mut rx).await;
}

/// Drops the connection when the grace period of a close runs out (see
/// `SessionCtl::close_by`); returns when the connection ends first.
async fn grace_watchdog(ctl: &SessionCtl, close: &CancellationToken) {
    let mut grace = ctl.grace();
    loop {
        let deadline = *grace.borrow_and_update();
        let expired = async {
            match deadline {
                Some(deadline) => sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = close.cancelled() => return,
            // A shorter grace asked for meanwhile.
            changed = grace.changed() => if changed.is_err() { return },
            () = expired => {
                debug!("client did not end the connection within the grace period");
                ctl.end(ConnectionEnd::GraceExpired);
                close.cancel();
                return;
            }
        }
    }
}

/// Hands what was still queued for an ended connection (routed tasks,
/// injected frames) to the user's newest remaining connection, so that a
/// client that opens its new connection before closing the old one loses
/// nothing. They queue behind what was routed to the newer connection
/// meanwhile: losing nothing is preferred to keeping that order. With no
/// other connection, the frames are dropped and counted.
async fn redeliver(shared: &Shared, user: &str, rx: &mut mpsc::Receiver<Outbound>) {
    rx.close();
    let mut left = Vec::new();
    while let Ok(out) = rx.try_recv() {
        if matches!(
            out,
            Outbound::Text(_) | Outbound::Binary(_) | Outbound::Chunked { .. }
        ) {
            left.push(out);
        }
    }
    if left.is_empty() {
        return;
    }
    let n = left.len();
    if let Some(tx) = shared.sender_for(user) {
        let mut sent = 0;
        for out in left {
            if tx.send(out).await.is_err() {
                break;
            }
            sent += 1;
        }
        debug!(
            user,
            frames = sent,
            "frames of an ended connection handed to the newer one"
        );
        if sent == n {
            return;
        }
        shared.count(|c| c.undelivered += (n - sent) as u64);
    } else {
        warn!(
            user,
            frames = n,
            "frames queued for an ended connection dropped: no other connection"
        );
        shared.count(|c| c.undelivered += n as u64);
    }
}

/// Waits while the gateway is stalled. Returns false if the connection was
/// closed meanwhile.
async fn wait_unstalled(stalled: &mut watch::Receiver<bool>, close: &CancellationToken) -> bool {
    if !*stalled.borrow_and_update() {
        return true;
    }
    tokio::select! {
        _ = close.cancelled() => false,
        r = stalled.wait_for(|s| !*s) => r.is_ok(),
    }
}

async fn read_loop<S>(
    shared: &Shared,
    user: &str,
    ctl: &SessionCtl,
    tap: &mut FrameTap<'_>,
    mut stream: Stream<S>,
    tx: &mpsc::Sender<Outbound>,
    close: &CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stalled = shared.stalled.subscribe();
    let mut read_delay = shared.read_delay.subscribe();
    let limits = ChunkLimits::default().with_max_job_bytes(shared.settings.max_message_size);
    let mut assembler = ChunkAssembler::new(limits);
    loop {
        if !wait_unstalled(&mut stalled, close).await {
            return;
        }
        // A slow gateway: a pause before each frame. A new delay (or none)
        // applies at once, also to a pause or read under way.
        let delay = *read_delay.borrow_and_update();
        if let Some(delay) = delay {
            tokio::select! {
                biased;
                _ = close.cancelled() => return,
                _ = stalled.changed() => continue,
                _ = read_delay.changed() => continue,
                () = tokio::time::sleep(delay) => {}
            }
        }
        let frame = tokio::select! {
            biased;
            _ = close.cancelled() => return,
            // A stall must stop reading at once, not after the next frame.
            _ = stalled.changed() => continue,
            _ = read_delay.changed() => continue,
            frame = stream.next() => frame,
        };
        match frame {
            None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                ctl.end(ConnectionEnd::Eof);
                return;
            }
            Some(Err(e)) => {
                debug!(user, error = %e, "websocket read failed");
                ctl.end(ConnectionEnd::Eof);
                return;
            }
            Some(Ok(Message::Text(text))) => {
                tap.text(&text);
                shared.count(|c| c.messages_in += 1);
                let value = match serde_json::from_str::<Value>(text.as_str()) {
                    Ok(v) => v,
                    Err(e) => {
                        let preview: String = text.as_str().chars().take(200).collect();
                        debug!(user, error = %e, %preview, "non-JSON text frame ignored");
                        continue;
                    }
                };
                drop(text);
                let Some(value) = reassemble(shared, user, &mut assembler, value) else {
                    continue;
                };
                let handled = tokio::select! {
                    _ = close.cancelled() => return,
                    handled = handle_message(shared, user, value, tx) => handled,
                };
                if !handled {
                    return;
                }
            }
            Some(Ok(Message::Binary(b))) => {
                tap.binary(&b);
                debug!(user, len = b.len(), "binary frame ignored");
            }
            // Pings are answered and closes completed by tungstenite while
            // the stream is polled; keep reading until it ends.
            Some(Ok(Message::Ping(_))) => shared.count(|c| c.pings_in += 1),
            Some(Ok(Message::Close(frame))) => {
                tap.close(frame.map_or(1005, |f| u16::from(f.code)));
                ctl.end(ConnectionEnd::ClientClose);
                shared.count(|c| c.close_frames_in += 1);
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Passes a plain message through; feeds a chunk message to the assembler
/// and returns the whole message once its last chunk is in.
fn reassemble(
    shared: &Shared,
    user: &str,
    assembler: &mut ChunkAssembler,
    value: Value,
) -> Option<Value> {
    if !ChunkAssembler::is_chunk(&value) {
        return Some(value);
    }
    let now = Instant::now();
    if assembler.next_expiry().is_some_and(|t| t <= now) {
        for job_id in assembler.expire(now) {
            warn!(user, %job_id, "chunked message from client expired incomplete");
            shared.count(|c| c.chunk_drops += 1);
        }
    }
    match assembler.push(value, now) {
        Ok(whole) => whole,
        Err(dropped) => {
            warn!(user, job_id = dropped.job_id().unwrap_or("?"), error = %dropped, "chunk from client dropped");
            shared.count(|c| c.chunk_drops += 1);
            None
        }
    }
}

/// Acts on one whole message. Returns false when this connection's own
/// writer is gone (the connection is ending).
async fn handle_message(
    shared: &Shared,
    user: &str,
    mut value: Value,
    tx: &mpsc::Sender<Outbound>,
) -> bool {
    let event = value.get("event").and_then(Value::as_str).unwrap_or("");
    match event {
        "ms-send-task" => {
            let data = value
                .get_mut("data")
                .map(Value::take)
                .unwrap_or(Value::Null);
            route_task(shared, user, data, tx).await
        }
        "bench-flood" => {
            let count = value["data"]["count"].as_u64().unwrap_or(0);
            let size = value["data"]["size"]
                .as_u64()
                .and_then(|s| usize::try_from(s).ok())
                .unwrap_or(200)
                .min(shared.settings.max_message_size);
            debug!(user, count, size, "bench-flood");
            tx.send(Outbound::Flood { count, size }).await.is_ok()
        }
        "bench-chunked" => {
            let bytes = value["data"]["bytes"]
                .as_u64()
                .unwrap_or(0)
                .min(MAX_BENCH_BYTES);
            let piece = value["data"]["chunk"]
                .as_u64()
                .and_then(|c| usize::try_from(c).ok())
                .unwrap_or(shared.settings.chunk_piece_size)
                .clamp(1, shared.settings.max_message_size);
            debug!(user, bytes, piece, "bench-chunked");
            let payload = bench_payload(usize::try_from(bytes).unwrap_or(0));
            let job_id = uuid::Uuid::new_v4().to_string();
            let out = Outbound::Chunked {
                job_id,
                payload,
                piece,
            };
            tx.send(out).await.is_ok()
        }
        "bench-echo" => {
            let data = value
                .get_mut("data")
                .map(Value::take)
                .unwrap_or(Value::Null);
            let reply = json!({"event": "bench-echo-reply", "data": data}).to_string();
            tx.send(Outbound::Text(reply)).await.is_ok()
        }
        other => {
            debug!(
                user,
                event = other,
                "message with no gateway meaning ignored"
            );
            true
        }
    }
}

/// Routes an `ms-send-task` (its `data`) to the named microservice, or
/// answers `ms-error` when it is not connected.
async fn route_task(
    shared: &Shared,
    from: &str,
    mut data: Value,
    tx: &mpsc::Sender<Outbound>,
) -> bool {
    let job_id = data.get("jobId").cloned().unwrap_or(Value::Null);
    let to = data.get("to").and_then(Value::as_str).map(str::to_owned);
    let dest = to.as_deref().and_then(|to| shared.sender_for(to));
    let (Some(to), Some(dest)) = (to, dest) else {
        shared.count(|c| c.unknown_recipients += 1);
        warn!(from, to = ?data.get("to"), "ms-send-task for a microservice that is not connected");
        let error = json!({"event": "ms-error",
                           "data": {"jobId": job_id, "message": "unknown microservice"}});
        return tx.send(Outbound::Text(error.to_string())).await.is_ok();
    };
    let mut take = |key: &str| data.get_mut(key).map(Value::take).unwrap_or(Value::Null);
    let mut reference_id = take("referenceId");
    let mut workflow_id = take("workflowId");
    let payload = take("data");
    // Senders that give only one of the two ids still get both filled in.
    if reference_id.is_null() {
        reference_id = workflow_id.clone();
    } else if workflow_id.is_null() {
        workflow_id = reference_id.clone();
    }
    let task = json!({"event": "ms-task", "data": {
        "from": from,
        "referenceId": reference_id,
        "workflowId": workflow_id,
        "jobId": job_id,
        "data": payload,
    }});
    let out = outbound_for(shared, &task);
    let chunked = matches!(out, Outbound::Chunked { .. });
    debug!(from, %to, chunked, "ms-send-task routed");
    // The recipient may go away between lookup and delivery: then its
    // newest other connection, if any, takes the task.
    let undelivered = match dest.send(out).await {
        Ok(()) => false,
        Err(mpsc::error::SendError(out)) => match shared.sender_for(&to) {
            Some(next) => next.send(out).await.is_err(),
            None => true,
        },
    };
    if undelivered {
        shared.count(|c| c.unknown_recipients += 1);
        let error = json!({"event": "ms-error",
                           "data": {"jobId": task["data"]["jobId"], "message": "unknown microservice"}});
        return tx.send(Outbound::Text(error.to_string())).await.is_ok();
    }
    shared.count(|c| {
        c.tasks_routed += 1;
        c.tasks_chunked += u64::from(chunked);
    });
    true
}

/// A message as it goes to a client: whole, or as chunk messages when its
/// serialization is above the threshold ([protocol: development gateway](ms_utils_communication::protocol#development-gateway)).
pub(super) fn outbound_for(shared: &Shared, value: &Value) -> Outbound {
    let text = value.to_string();
    if text.len() > shared.settings.chunk_threshold {
        Outbound::Chunked {
            job_id: uuid::Uuid::new_v4().to_string(),
            payload: text.into_bytes(),
            piece: shared.settings.chunk_piece_size,
        }
    } else {
        Outbound::Text(text)
    }
}

async fn write_loop<S>(
    shared: &Shared,
    ctl: &SessionCtl,
    mut sink: Sink<S>,
    rx: &mut mpsc::Receiver<Outbound>,
    close: &CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stalled = shared.stalled.subscribe();
    let mut grace = ctl.grace();
    let close_queued = loop {
        if !wait_unstalled(&mut stalled, close).await {
            return;
        }
        let first = tokio::select! {
            biased;
            _ = close.cancelled() => return,
            _ = stalled.changed() => continue,
            // A close with a grace period goes out ahead of what is queued.
            _ = grace.wait_for(Option::is_some) => break false,
            out = rx.recv() => match out {
                Some(out) => out,
                None => return,
            },
        };
        let written = tokio::select! {
            _ = close.cancelled() => return,
            r = write_batch(&mut sink, first, rx, &mut stalled, close) => r,
        };
        match written {
            Ok(Flow::Continue) => {}
            Ok(Flow::Closing) => break true,
            Err(e) => {
                debug!(error = %e, "websocket write failed");
                ctl.end(ConnectionEnd::Eof);
                return;
            }
        }
    };
    if close_queued {
        ctl.close_by(Instant::now() + CLOSE_GRACE);
    } else {
        let sent = tokio::select! {
            _ = close.cancelled() => return,
            r = sink.send(close_frame()) => r,
        };
        if let Err(e) = sent {
            debug!(error = %e, "websocket write failed");
            ctl.end(ConnectionEnd::Eof);
            return;
        }
    }
    shared.count(|c| c.close_frames_out += 1);
    // A close frame went out: the reader drains until the client's end and
    // the watchdog drops the connection when the grace runs out (either
    // cancels `close`). Nothing more may be written; what is still queued
    // is handed on when the session ends (see `redeliver`).
    close.cancelled().await;
}

/// The gateway's close frame: 1001, going away.
fn close_frame() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "closing (fault injected)".into(),
    }))
}

/// Whether the writer may go on after a batch.
enum Flow {
    Continue,
    /// A close frame was written: nothing else may be.
    Closing,
}

/// Writes `first` and whatever else is already queued (up to a batch),
/// then flushes once.
async fn write_batch<S>(
    sink: &mut Sink<S>,
    first: Outbound,
    rx: &mut mpsc::Receiver<Outbound>,
    stalled: &mut watch::Receiver<bool>,
    close: &CancellationToken,
) -> Result<Flow, WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut next = Some(first);
    let mut written = 0;
    while let Some(out) = next.take() {
        if matches!(out, Outbound::Close) {
            sink.send(close_frame()).await?;
            return Ok(Flow::Closing);
        }
        write_one(sink, out, stalled, close).await?;
        written += 1;
        if written < DRAIN_BATCH {
            next = rx.try_recv().ok();
        }
    }
    sink.flush().await?;
    Ok(Flow::Continue)
}

async fn write_one<S>(
    sink: &mut Sink<S>,
    out: Outbound,
    stalled: &mut watch::Receiver<bool>,
    close: &CancellationToken,
) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match out {
        Outbound::Text(text) => sink.feed(Message::text(text)).await,
        Outbound::Binary(bytes) => sink.feed(Message::binary(bytes)).await,
        Outbound::Chunked {
            job_id,
            payload,
            piece,
        } => {
            let frames = match chunk_frames(&job_id, &payload, piece) {
                Ok(frames) => frames,
                Err(e) => {
                    warn!(error = %e, "could not chunk a message");
                    return Ok(());
                }
            };
            for frame in frames {
                // Each frame is hundreds of KiB: flushing each costs nothing
                // extra and keeps one frame's worth of buffer.
                sink.send(Message::text(frame)).await?;
                if !wait_unstalled(stalled, close).await {
                    return Ok(());
                }
            }
            Ok(())
        }
        Outbound::Flood { count, size } => flood(sink, count, size, stalled, close).await,
        // Handled by the caller, which must stop writing after it.
        Outbound::Close => Ok(()),
    }
}
