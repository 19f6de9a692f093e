//! From frames to messages: JSON parsing, chunk reassembly ([protocol: chunking](crate::protocol#chunking)) and
//! request/reply correlation. Runs on whichever task consumes the frame (a
//! handler task, `receive()`, or the connection task while requests are
//! pending), so that parsing is spread over the runtime's workers instead of
//! serialising on the socket reader.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::chunks::{ChunkAssembler, ChunkDrop};
use super::client::Shared;
use super::message::Message;
use super::state::{Counters, Event};

/// One frame read from the socket, not yet parsed.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A text frame, still as received (no copy).
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Bytes),
    /// Already turned into a message (by the connection task while requests
    /// wait), with the size of the frame it came from.
    Parsed(Message, usize),
}

impl Inbound {
    /// What the frame counts for against the inbound buffer's byte bound.
    pub(crate) fn weight(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) => b.len(),
            Self::Parsed(_, len) => *len,
        }
    }
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
pub(crate) fn process(shared: &Shared, frame: Inbound) -> Option<Message> {
    let value = match frame {
        Inbound::Parsed(m, _) => return correlate(shared, m),
        Inbound::Binary(b) => return Some(Message::Binary(b)),
        Inbound::Text(text) => match serde_json::from_str::<Value>(text.as_str()) {
            Ok(v) => v,
            Err(error) => {
                tracing::warn!(len = text.len(), %error, frame = preview(text.as_str(), 500), "dropping a text frame that is not JSON");
                Counters::add(&shared.counters.frames_dropped, 1);
                let _ = shared.events.send(Event::FrameDropped { len: text.len() });
                return None;
            }
        },
    };
    let value = if ChunkAssembler::is_chunk(&value) {
        reassemble(shared, value)?
    } else {
        value
    };
    correlate(shared, Message::Json(value))
}

fn reassemble(shared: &Shared, chunk: Value) -> Option<Value> {
    let (result, evicted) = {
        let mut asm = shared.chunks.lock().unwrap_or_else(|p| p.into_inner());
        let r = asm.push(chunk, Instant::now());
        publish_pending(shared, &asm);
        (r, asm.take_evicted())
    };
    for drop in &evicted {
        report_drop(shared, drop);
    }
    match result {
        Ok(None) => None,
        Ok(Some(value)) => {
            Counters::add(&shared.counters.chunk_jobs_completed, 1);
            Some(value)
        }
        Err(drop) => {
            report_drop(shared, &drop);
            None
        }
    }
}

/// The assembler's gauges, into the counters.
fn publish_pending(shared: &Shared, asm: &ChunkAssembler) {
    let c = &shared.counters;
    c.chunk_jobs_pending
        .store(asm.pending_jobs() as u64, Ordering::Relaxed);
    c.chunk_bytes_pending
        .store(asm.pending_bytes() as u64, Ordering::Relaxed);
}

/// Log, count and announce one drop.
fn report_drop(shared: &Shared, drop: &ChunkDrop) {
    let job_id = drop.job_id().unwrap_or("?");
    if drop.kills_job() {
        Counters::add(&shared.counters.chunk_jobs_dropped, 1);
        if let ChunkDrop::Evicted { .. } = drop {
            Counters::add(&shared.counters.chunk_jobs_evicted, 1);
        }
        tracing::warn!(job_id, reason = %drop, "chunk job dropped");
    } else {
        Counters::add(&shared.counters.chunks_ignored, 1);
        tracing::debug!(job_id, reason = %drop, "chunk ignored");
    }
    let _ = shared.events.send(Event::ChunkDropped {
        job_id: drop.job_id().map(str::to_owned),
        reason: drop.reason(),
    });
}

/// Hand `msg` to the `request` waiting for its `jobId`, if any.
fn correlate(shared: &Shared, msg: Message) -> Option<Message> {
    if shared.pending_count.load(Ordering::Acquire) == 0 {
        return Some(msg);
    }
    let Some(job_id) = msg.job_id() else {
        return Some(msg);
    };
    let waiter = shared
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(job_id);
    match waiter {
        Some(tx) => {
            shared.pending_count.fetch_sub(1, Ordering::AcqRel);
            // The requester may have given up just now; then deliver normally.
            tx.send(msg).err()
        }
        None => Some(msg),
    }
}

/// Drops partial chunk jobs past their TTL, on a timer, until the client ends.
pub(crate) async fn expire_chunks(shared: std::sync::Arc<Shared>) {
    let ttl = shared
        .config
        .chunk_limits
        .ttl
        .max(std::time::Duration::from_millis(10));
    loop {
        let next = {
            let asm = shared.chunks.lock().unwrap_or_else(|p| p.into_inner());
            asm.next_expiry()
        };
        // A job started after this sleep began expires after it ends, so sleeping
        // at most one TTL never misses one.
        let deadline = next
            .unwrap_or_else(|| Instant::now() + ttl)
            .min(Instant::now() + ttl);
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            // Closing: buffered chunks are still consumed, but nothing waits long
            // enough for a TTL to matter, and this task must not keep the client alive.
            () = shared.close_requested.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => {}
        }
        let expired = {
            let mut asm = shared.chunks.lock().unwrap_or_else(|p| p.into_inner());
            let expired = asm.expire(Instant::now());
            publish_pending(&shared, &asm);
            expired
        };
        for job_id in expired {
            report_drop(&shared, &ChunkDrop::Expired { job_id });
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
