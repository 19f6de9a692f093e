//! One stream of the lane hasher: its MD5 state, the bytes queued for it,
//! and MD5's padding at the end.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::compress::{self, INIT, LANES};

/// A block of zeros: the input of a lane with nothing to hash.
pub(super) const IDLE: [u8; 64] = [0; 64];

/// One stream: its state and what is queued for it, in order.
pub(super) struct Stream {
    /// MD5 state (A, B, C, D) after the blocks hashed so far.
    pub(super) state: [u32; 4],
    queue: VecDeque<Bytes>,
    queued: usize,
    len: u64,
}

/// How much the stream holds, never its bytes (object content).
impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("queued", &self.queued)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Stream {
    pub(super) fn new() -> Self {
        Self {
            state: INIT,
            queue: VecDeque::new(),
            queued: 0,
            len: 0,
        }
    }

    /// Queues the stream's next bytes.
    pub(super) fn push(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        self.queued += data.len();
        self.len += data.len() as u64;
        self.queue.push_back(data);
    }

    /// Bytes queued and not hashed yet.
    pub(super) fn queued(&self) -> usize {
        self.queued
    }

    /// Takes the next whole blocks off the queue, in order: the whole
    /// blocks at the front of the first buffer (a view, no copy), or one
    /// block gathered across buffers when the first holds less than a
    /// block. `None` while less than a block is queued.
    pub(super) fn next_run(&mut self) -> Option<Bytes> {
        if self.queued < 64 {
            return None;
        }
        let front = self.queue.front_mut()?;
        let run = if front.len() >= 64 {
            front.split_to(front.len() / 64 * 64)
        } else {
            let mut block = BytesMut::with_capacity(64);
            while block.len() < 64 {
                let front = self.queue.front_mut()?;
                let n = front.len().min(64 - block.len());
                block.extend_from_slice(&front.split_to(n));
                if front.is_empty() {
                    self.queue.pop_front();
                }
            }
            block.freeze()
        };
        if self.queue.front().is_some_and(Bytes::is_empty) {
            self.queue.pop_front();
        }
        self.queued -= run.len();
        Some(run)
    }

    /// The digest: what is still queued, then MD5's padding (a one bit,
    /// zeros, the length in bits), hashed in lane 0.
    pub(super) fn finish(mut self) -> [u8; 16] {
        let mut tail: Vec<u8> = Vec::with_capacity(self.queued + 72);
        for b in &self.queue {
            tail.extend_from_slice(b);
        }
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&self.len.wrapping_mul(8).to_le_bytes());
        let (blocks, _) = tail.as_chunks::<64>();
        for block in blocks {
            let mut state = [[0u32; LANES]; 4];
            for (w, word) in state.iter_mut().enumerate() {
                word[0] = self.state[w];
            }
            compress::compress(&mut state, [block, &IDLE, &IDLE, &IDLE]);
            for (w, word) in state.iter().enumerate() {
                self.state[w] = word[0];
            }
        }
        let mut out = [0u8; 16];
        for (w, bytes) in out.chunks_exact_mut(4).enumerate() {
            bytes.copy_from_slice(&self.state[w].to_le_bytes());
        }
        out
    }
}
