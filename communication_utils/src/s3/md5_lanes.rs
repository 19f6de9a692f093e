//! The MD5s of the parts of a download, computed on one thread, four parts
//! at a time.
//!
//! A multipart object is checked part by part (its ETag is the MD5 of the
//! parts' MD5s), and its parts arrive side by side. MD5 is a chain: one
//! stream cannot be hashed faster than one block after the other, about
//! 650 MB/s per core here, which made the check of a download cost more CPU
//! than the rest of it. Four streams can go through the compression
//! function together, one SIMD register holding a word of each
//! (`compress`), at about four times the throughput. So the download's GETs
//! hand their bytes (`Bytes`: no copy) to one thread, which queues them per
//! part and, once a batch is queued, hashes the parts with the most bytes
//! four by four.
//!
//! Each lane gathers 64 KiB before it sends them, so that the thread is
//! woken per 64 KiB, not per body frame. The channel is bounded: a download
//! whose hashing fell behind waits instead of holding its bytes. The
//! thread holds at most a batch and one message, and ends when
//! the last handle is dropped (the download ended, failed or was
//! cancelled).

mod compress;
mod stream;

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use self::compress::LANES;
use self::stream::{IDLE, Stream};
use crate::s3::error::Error;

/// Bytes queued before the thread hashes them: enough that the parts in
/// flight each have a run of blocks to go through side by side.
const BATCH: usize = 1024 * 1024;
/// Bytes a lane gathers before it sends them: the bodies arrive in small
/// frames (4 KiB from s3s-fs), and one message per frame would wake the
/// thread for each.
const SEND: usize = 64 * 1024;
/// Messages waiting in the channel.
const CHANNEL: usize = 64;

enum Msg {
    Data(usize, Vec<Bytes>),
    Finish(usize, oneshot::Sender<[u8; 16]>),
}

/// The hashing thread of one download. Hands out a [`Lane`] per stream.
#[derive(Debug)]
pub(crate) struct LaneHasher {
    tx: mpsc::Sender<Msg>,
}

/// One stream's handle: its bytes in order, then [`Lane::finish`].
pub(crate) struct Lane {
    id: usize,
    tx: mpsc::Sender<Msg>,
    /// Bytes not sent yet, fewer than [`SEND`].
    gathered: Vec<Bytes>,
    gathered_len: usize,
}

/// The stream's id and how much it holds, never its bytes (object content).
impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("id", &self.id)
            .field("gathered_len", &self.gathered_len)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Data(id, data) => write!(f, "Data({id}, {} buffers)", data.len()),
            Msg::Finish(id, _) => write!(f, "Finish({id})"),
        }
    }
}

impl LaneHasher {
    /// Starts the thread: a thread of its own, not one of the runtime's
    /// blocking pool, which the download's file writes need (with a pool of
    /// one thread, the hasher waiting for bytes would hold the writes that
    /// bring them).
    pub(crate) fn spawn() -> Result<Self, Error> {
        let (tx, rx) = mpsc::channel(CHANNEL);
        std::thread::Builder::new()
            .name("ms-utils-md5".into())
            .spawn(move || run(rx))
            .map_err(|e| Error::Task { cause: Box::new(e) })?;
        Ok(Self { tx })
    }

    /// The handle of stream `id` (unique within this hasher).
    pub(crate) fn lane(&self, id: usize) -> Lane {
        Lane {
            id,
            tx: self.tx.clone(),
            gathered: Vec::new(),
            gathered_len: 0,
        }
    }
}

impl Lane {
    /// The stream's next bytes; waits while the thread is behind.
    pub(crate) async fn update(&mut self, data: Bytes) -> Result<(), Error> {
        self.gathered_len += data.len();
        self.gathered.push(data);
        if self.gathered_len >= SEND {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), Error> {
        self.gathered_len = 0;
        let data = std::mem::take(&mut self.gathered);
        self.tx
            .send(Msg::Data(self.id, data))
            .await
            .map_err(|_| gone())
    }

    /// The MD5 of everything passed to [`Lane::update`].
    pub(crate) async fn finish(mut self) -> Result<[u8; 16], Error> {
        if !self.gathered.is_empty() {
            self.send().await?;
        }
        let (reply, digest) = oneshot::channel();
        self.tx
            .send(Msg::Finish(self.id, reply))
            .await
            .map_err(|_| gone())?;
        digest.await.map_err(|_| gone())
    }
}

/// The thread is gone: it can only have panicked.
fn gone() -> Error {
    Error::Task {
        cause: Box::new(std::io::Error::other("the download's MD5 thread stopped")),
    }
}

/// The thread: queues what arrives; hashes once a batch is queued or a
/// stream is finished; answers the finished streams.
fn run(mut rx: mpsc::Receiver<Msg>) {
    let mut streams: HashMap<usize, Stream> = HashMap::new();
    let mut queued = 0usize;
    let mut finished = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Msg::Data(id, data) => {
                    let stream = streams.entry(id).or_insert_with(Stream::new);
                    for bytes in data {
                        queued += bytes.len();
                        stream.push(bytes);
                    }
                }
                Msg::Finish(id, reply) => finished.push((id, reply)),
            }
            // A batch is enough: what else waits stays in the bounded
            // channel, so the thread holds at most a batch and a message.
            next = if queued < BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if queued < BATCH && finished.is_empty() {
            continue;
        }
        hash_blocks(&mut streams);
        queued = streams.values().map(Stream::queued).sum();
        for (id, reply) in finished.drain(..) {
            let stream = streams.remove(&id).unwrap_or_else(Stream::new);
            // The receiver may be gone (the download was dropped).
            let _ = reply.send(stream.finish());
        }
    }
}

/// Hashes every whole block queued, four streams at a time, the streams
/// with the most bytes first so that the streams hashed together run out
/// at about the same step.
fn hash_blocks(streams: &mut HashMap<usize, Stream>) {
    let mut ready: Vec<(usize, usize)> = streams
        .iter()
        .filter(|(_, s)| s.queued() >= 64)
        .map(|(id, s)| (s.queued(), *id))
        .collect();
    ready.sort_unstable_by(|a, b| b.cmp(a));
    for group in ready.chunks(LANES) {
        let mut lanes: Vec<(usize, Stream)> = group
            .iter()
            .filter_map(|&(_, id)| streams.remove_entry(&id))
            .collect();
        hash_group(&mut lanes);
        streams.extend(lanes);
    }
}

/// Hashes the queued whole blocks of up to four streams side by side. A
/// lane that runs out goes on with a block of zeros and keeps its state.
fn hash_group(lanes: &mut [(usize, Stream)]) {
    let mut state = [[0u32; LANES]; 4];
    for (l, (_, s)) in lanes.iter().enumerate() {
        for (w, word) in state.iter_mut().enumerate() {
            word[l] = s.state[w];
        }
    }
    let mut runs: [Bytes; LANES] = Default::default();
    let mut at = [0usize; LANES];
    loop {
        let mut active = [false; LANES];
        for (l, (_, s)) in lanes.iter_mut().enumerate() {
            if at[l] >= runs[l].as_chunks::<64>().0.len()
                && let Some(run) = s.next_run()
            {
                runs[l] = run;
                at[l] = 0;
            }
            active[l] = at[l] < runs[l].as_chunks::<64>().0.len();
        }
        if !active.contains(&true) {
            break;
        }
        let before = state;
        let blocks: [&[u8; 64]; LANES] =
            std::array::from_fn(|l| runs[l].as_chunks::<64>().0.get(at[l]).unwrap_or(&IDLE));
        compress::compress(&mut state, blocks);
        for l in 0..LANES {
            if active[l] {
                at[l] += 1;
            } else {
                for (w, word) in state.iter_mut().enumerate() {
                    word[l] = before[w][l];
                }
            }
        }
    }
    for (l, (_, s)) in lanes.iter_mut().enumerate() {
        for (w, word) in state.iter().enumerate() {
            s.state[w] = word[l];
        }
    }
}

#[cfg(test)]
mod tests;
