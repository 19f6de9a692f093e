//! From frames to messages: JSON parsing, chunk reassembly ([protocol: chunking](crate::protocol#chunking)) and
//! request/reply correlation. Runs on whichever task consumes the frame (a
//! handler task, `receive()`, or the connection task while requests are
//! pending), so that parsing is spread over the runtime's workers instead of
//! serialising on the socket reader.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{broadcast, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ws::chunks::{ChunkAssembler, ChunkDrop};
use crate::ws::protocol::message::Message;
use crate::ws::protocol::outcome::is_running;
use crate::ws::state::{Counters, Event};

mod frame;
pub(crate) mod queue;

pub(crate) use frame::Inbound;

/// What the pipeline needs of the client it runs for. The client's shared
/// state implements it, so that this part depends on no other part of the
/// client (and the client's parts import one another in one direction only).
pub(crate) trait Host: Send + Sync + 'static {
    fn counters(&self) -> &Counters;
    fn events(&self) -> &broadcast::Sender<Event>;
    fn chunks(&self) -> &Mutex<ChunkAssembler>;
    /// Requests waiting for a reply, by `jobId`.
    fn pending(&self) -> &Mutex<HashMap<String, oneshot::Sender<Message>>>;
    /// How many are in `pending` (read without the lock).
    fn pending_count(&self) -> &AtomicUsize;
    fn chunk_ttl(&self) -> Duration;
    /// The tokens that end the chunk janitor: hard stop, and close.
    fn stop_tokens(&self) -> [&CancellationToken; 2];
}

/// The first `max` characters of `text`, for log lines.
fn preview(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Turn one frame into the message to deliver, or `None` when there is nothing to
/// deliver (not JSON, a chunk of an unfinished job, a dropped chunk, or a reply
/// handed to a waiting `request`).
pub(crate) fn process<H: Host + ?Sized>(shared: &H, frame: Inbound) -> Option<Message> {
    let msg = match frame {
        Inbound::Parsed(m, _) => return correlate(shared, m),
        Inbound::Binary(b) => return Some(Message::binary(b)),
        Inbound::Text(text) => match Message::from_frame(text) {
            Ok(msg) => msg,
            Err((text, error)) => {
                tracing::warn!(len = text.len(), %error, frame = preview(text.as_str(), 500), "dropping a text frame that is not JSON");
                Counters::add(&shared.counters().frames_dropped, 1);
                let _ = shared
                    .events()
                    .send(Event::FrameDropped { len: text.len() });
                return None;
            }
        },
    };
    let msg = if msg.is_chunk() {
        Message::json(reassemble(shared, msg)?)
    } else {
        msg
    };
    correlate(shared, msg)
}

fn reassemble<H: Host + ?Sized>(shared: &H, chunk: Message) -> Option<Value> {
    let (result, evicted) = {
        let mut asm = shared.chunks().lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        // From the frame text when the piece is a string there (no copy of
        // it into a `Value`), else from the parsed message.
        let r = match chunk.push_chunk(&mut asm, now) {
            Some(r) => r,
            None => asm.push(chunk.into_json()?, now),
        };
        publish_pending(shared, &asm);
        (r, asm.take_evicted())
    };
    for drop in &evicted {
        report_drop(shared, drop);
    }
    match result {
        Ok(None) => None,
        Ok(Some(value)) => {
            Counters::add(&shared.counters().chunk_jobs_completed, 1);
            Some(value)
        }
        Err(drop) => {
            report_drop(shared, &drop);
            None
        }
    }
}

/// The assembler's gauges, into the counters.
fn publish_pending<H: Host + ?Sized>(shared: &H, asm: &ChunkAssembler) {
    let c = &shared.counters();
    c.chunk_jobs_pending
        .store(asm.pending_jobs() as u64, Ordering::Relaxed);
    c.chunk_bytes_pending
        .store(asm.pending_bytes() as u64, Ordering::Relaxed);
}

/// Log, count and announce one drop.
fn report_drop<H: Host + ?Sized>(shared: &H, drop: &ChunkDrop) {
    let job_id = drop.job_id().unwrap_or("?");
    if drop.kills_job() {
        Counters::add(&shared.counters().chunk_jobs_dropped, 1);
        if let ChunkDrop::Evicted { .. } = drop {
            Counters::add(&shared.counters().chunk_jobs_evicted, 1);
        }
        tracing::warn!(job_id, reason = %drop, "chunk job dropped");
    } else {
        Counters::add(&shared.counters().chunks_ignored, 1);
        tracing::debug!(job_id, reason = %drop, "chunk ignored");
    }
    let _ = shared.events().send(Event::ChunkDropped {
        job_id: drop.job_id().map(str::to_owned),
        reason: drop.reason(),
    });
}

/// Hand `msg` to the `request` waiting for its `jobId`, if any.
fn correlate<H: Host + ?Sized>(shared: &H, msg: Message) -> Option<Message> {
    if shared.pending_count().load(Ordering::Acquire) == 0 {
        return Some(msg);
    }
    let Some(job_id) = msg.job_id() else {
        return Some(msg);
    };
    let waiting = shared
        .pending()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains_key(job_id);
    // An outcome still in progress is not the answer: it goes to the
    // application, and the call goes on waiting.
    if !waiting || is_running(&msg) {
        return Some(msg);
    }
    let waiter = shared
        .pending()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(job_id);
    match waiter {
        Some(tx) => {
            shared.pending_count().fetch_sub(1, Ordering::AcqRel);
            // The requester may have given up just now; then deliver normally.
            tx.send(msg).err()
        }
        None => Some(msg),
    }
}

/// Drops partial chunk jobs past their TTL, on a timer, until the client ends.
pub(crate) async fn expire_chunks<H: Host>(shared: Arc<H>) {
    let ttl = shared.chunk_ttl().max(Duration::from_millis(10));
    let [shutdown, close_requested] = shared.stop_tokens();
    loop {
        let next = {
            let asm = shared.chunks().lock().unwrap_or_else(|p| p.into_inner());
            asm.next_expiry()
        };
        // A job started after this sleep began expires after it ends, so sleeping
        // at most one TTL never misses one.
        let deadline = next
            .unwrap_or_else(|| Instant::now() + ttl)
            .min(Instant::now() + ttl);
        tokio::select! {
            () = shutdown.cancelled() => return,
            // Closing: buffered chunks are still consumed, but nothing waits long
            // enough for a TTL to matter, and this task must not keep the client alive.
            () = close_requested.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => {}
        }
        let expired = {
            let mut asm = shared.chunks().lock().unwrap_or_else(|p| p.into_inner());
            let expired = asm.expire(Instant::now());
            publish_pending(&*shared, &asm);
            expired
        };
        for job_id in expired {
            report_drop(&*shared, &ChunkDrop::Expired { job_id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn preview_cuts_on_char_boundaries() {
        assert_eq!(preview("ééé", 2), "éé");
        assert_eq!(preview("ab", 5), "ab");
    }
}
