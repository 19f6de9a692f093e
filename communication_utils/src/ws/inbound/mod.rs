//! From frames to messages: JSON parsing and chunk reassembly ([protocol:
//! chunking](crate::protocol#chunking)). Runs on whichever task consumes the
//! frame (a handler worker, `receive()`, or the connection task for large
//! frames and while requests wait), so that parsing is spread over the
//! runtime's workers instead of serialising on the socket reader. Matching
//! replies to waiting requests is not done here: the connection task owns
//! that table and looks at what this returns.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::lock::lock;
use crate::ws::chunks::{ChunkAssembler, ChunkDrop};
use crate::ws::protocol::message::Message;
use crate::ws::state::{Counters, Event};

mod frame;
pub(crate) mod queue;

pub(crate) use frame::Inbound;

/// What turning frames into messages uses of the client: the chunk
/// assembler, and where drops are counted and announced. Borrowed from the
/// client's shared state by whoever processes a frame.
#[derive(Clone, Copy)]
pub(crate) struct Pipeline<'a> {
    pub(crate) chunks: &'a Mutex<ChunkAssembler>,
    pub(crate) counters: &'a Counters,
    pub(crate) events: &'a broadcast::Sender<Event>,
}

/// The first `max` characters of `text`, for log lines.
fn preview(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Turn one frame into the message to deliver, or `None` when there is nothing to
/// deliver (not JSON, a chunk of an unfinished job, a dropped chunk).
pub(crate) fn process(pipe: Pipeline<'_>, frame: Inbound) -> Option<Message> {
    let msg = match frame {
        Inbound::Parsed(m, _) => return Some(m),
        Inbound::Binary(b) => return Some(Message::binary(b)),
        Inbound::Text(text) => match Message::from_frame(text) {
            Ok(msg) => msg,
            Err((text, error)) => {
                tracing::warn!(len = text.len(), %error, frame = preview(text.as_str(), 500), "dropping a text frame that is not JSON");
                Counters::add(&pipe.counters.frames_dropped, 1);
                let _ = pipe.events.send(Event::FrameDropped { len: text.len() });
                return None;
            }
        },
    };
    if msg.is_chunk() {
        return Some(Message::json(reassemble(pipe, msg)?));
    }
    Some(msg)
}

fn reassemble(pipe: Pipeline<'_>, chunk: Message) -> Option<Value> {
    let (result, evicted) = {
        let mut asm = lock(pipe.chunks);
        let now = Instant::now();
        // From the frame text when the piece is a string there (no copy of
        // it into a `Value`), else from the parsed message.
        let r = match chunk.push_chunk(&mut asm, now) {
            Some(r) => r,
            None => asm.push(chunk.into_json()?, now),
        };
        publish_pending(pipe, &asm);
        (r, asm.take_evicted())
    };
    for drop in &evicted {
        report_drop(pipe, drop);
    }
    match result {
        Ok(None) => None,
        Ok(Some(value)) => {
            Counters::add(&pipe.counters.chunk_jobs_completed, 1);
            Some(value)
        }
        Err(drop) => {
            report_drop(pipe, &drop);
            None
        }
    }
}

/// The assembler's gauges, into the counters.
fn publish_pending(pipe: Pipeline<'_>, asm: &ChunkAssembler) {
    let c = pipe.counters;
    c.chunk_jobs_pending
        .store(asm.pending_jobs() as u64, Ordering::Relaxed);
    c.chunk_bytes_pending
        .store(asm.pending_bytes() as u64, Ordering::Relaxed);
}

/// Log, count and announce one drop.
fn report_drop(pipe: Pipeline<'_>, drop: &ChunkDrop) {
    let job_id = drop.job_id().unwrap_or("?");
    if drop.kills_job() {
        Counters::add(&pipe.counters.chunk_jobs_dropped, 1);
        if let ChunkDrop::Evicted { .. } = drop {
            Counters::add(&pipe.counters.chunk_jobs_evicted, 1);
        }
        tracing::warn!(job_id, reason = %drop, "chunk job dropped");
    } else {
        Counters::add(&pipe.counters.chunks_ignored, 1);
        tracing::debug!(job_id, reason = %drop, "chunk ignored");
    }
    let _ = pipe.events.send(Event::ChunkDropped {
        job_id: drop.job_id().map(str::to_owned),
        reason: drop.reason(),
    });
}

/// Drops partial chunk jobs past their TTL, on a timer; runs until the
/// caller stops it (the client closing).
pub(crate) async fn expire_chunks(pipe: Pipeline<'_>, ttl: Duration) {
    let ttl = ttl.max(Duration::from_millis(10));
    loop {
        let next = lock(pipe.chunks).next_expiry();
        // A job started after this sleep began expires after it ends, so sleeping
        // at most one TTL never misses one.
        let deadline = next
            .unwrap_or_else(|| Instant::now() + ttl)
            .min(Instant::now() + ttl);
        tokio::time::sleep_until(deadline).await;
        let expired = {
            let mut asm = lock(pipe.chunks);
            let expired = asm.expire(Instant::now());
            publish_pending(pipe, &asm);
            expired
        };
        for job_id in expired {
            report_drop(pipe, &ChunkDrop::Expired { job_id });
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
