//! Chunked messages ([protocol: chunking](crate::protocol#chunking)): a bounded reassembler and the splitter.
//!
//! The core is pure: no I/O, no tasks, no clock of its own. The caller passes
//! `now` into [`ChunkAssembler::push`] and [`ChunkAssembler::expire`], so TTL
//! behaviour is tested with fabricated instants and the connection actor can
//! drive expiry from its own timer ([`ChunkAssembler::next_expiry`]).
//!
//! ```
//! use ms_utils_communication::ws::chunks::{chunk_messages, ChunkAssembler, ChunkLimits};
//! use serde_json::json;
//! use tokio::time::Instant;
//!
//! let original = json!({"event": "ms-task", "data": {"blob": "x".repeat(10_000)}});
//! let pieces = chunk_messages("job-1", &original, 4096).unwrap();
//! assert_eq!(pieces.len(), 3);
//!
//! let mut assembler = ChunkAssembler::new(ChunkLimits::default());
//! let now = Instant::now();
//! let mut whole = None;
//! for piece in pieces.into_iter().rev() {
//!     assert!(ChunkAssembler::is_chunk(&piece));
//!     whole = assembler.push(piece, now).unwrap();
//! }
//! assert_eq!(whole, Some(original));
//! assert_eq!(assembler.pending_jobs(), 0);
//! ```

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

mod error;
mod read;
mod split;
mod whole;

pub use error::{ChunkDrop, ChunkDropReason, ChunkError, Eviction};
pub use split::{ChunkFrames, chunk_frames, chunk_messages, chunk_texts};

pub(crate) use read::Piece;
use read::{Header, PieceFault, decode_piece, finish, read_header};

/// What an out-of-order piece costs beyond its bytes (map node, vector
/// header). Charged against [`ChunkLimits::max_job_bytes`] so that a flood of
/// empty pieces with distinct indices under a huge `max_index` stays bounded.
const PIECE_OVERHEAD: usize = 64;

/// Most eviction records kept for [`ChunkAssembler::take_evicted`]: a caller
/// that never takes them loses the oldest records, never memory.
const MAX_EVICTION_RECORDS: usize = 1024;

/// Limits for chunk reassembly.
///
/// ```
/// use std::time::Duration;
/// use ms_utils_communication::ws::chunks::ChunkLimits;
///
/// let mut limits = ChunkLimits::default();
/// limits.ttl = Duration::from_secs(30);
/// assert_eq!(limits.max_job_bytes, 64 * 1024 * 1024);
/// assert_eq!(limits.max_total_bytes, 256 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkLimits {
    /// How long a partial job may wait for its missing chunks, counted from
    /// its first chunk. Default 5 minutes.
    pub ttl: Duration,
    /// Most decoded bytes one job may hold (the reassembled message size).
    /// Default 64 MiB.
    pub max_job_bytes: usize,
    /// Most partial jobs held at once. A chunk that starts one more evicts
    /// the oldest partial job (the one whose first chunk came first):
    /// a sender that abandons jobs cannot lock out the ones that follow.
    /// Default 1024.
    pub max_pending_jobs: usize,
    /// Most decoded bytes all partial jobs may hold together. A chunk that
    /// takes the total over it evicts the oldest partial jobs until the rest
    /// fit (the job the chunk belongs to too, if it is the oldest). Default
    /// 256 MiB: four jobs of the largest size, whatever the job count.
    pub max_total_bytes: usize,
}

impl ChunkLimits {
    /// These limits with another [`ChunkLimits::ttl`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use ms_utils_communication::ws::chunks::ChunkLimits;
    ///
    /// let limits = ChunkLimits::default()
    ///     .with_ttl(Duration::from_secs(30))
    ///     .with_max_job_bytes(1 << 20)
    ///     .with_max_pending_jobs(16)
    ///     .with_max_total_bytes(8 << 20);
    /// assert_eq!(limits.max_pending_jobs, 16);
    /// assert_eq!(limits.max_total_bytes, 8 << 20);
    /// ```
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// These limits with another [`ChunkLimits::max_job_bytes`].
    #[must_use]
    pub fn with_max_job_bytes(mut self, bytes: usize) -> Self {
        self.max_job_bytes = bytes;
        self
    }

    /// These limits with another [`ChunkLimits::max_pending_jobs`].
    #[must_use]
    pub fn with_max_pending_jobs(mut self, jobs: usize) -> Self {
        self.max_pending_jobs = jobs;
        self
    }

    /// These limits with another [`ChunkLimits::max_total_bytes`].
    #[must_use]
    pub fn with_max_total_bytes(mut self, bytes: usize) -> Self {
        self.max_total_bytes = bytes;
        self
    }
}

impl Default for ChunkLimits {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_job_bytes: 64 * 1024 * 1024,
            max_pending_jobs: 1024,
            max_total_bytes: 256 * 1024 * 1024,
        }
    }
}

/// One partial job. Pieces that arrive in order are decoded straight onto
/// the end of `prefix`, so the common case keeps a single growing buffer and
/// no base64 text; pieces that arrive early wait in `early` until the gap
/// before them is filled.
struct Job {
    /// Start order: the smallest is the oldest job, evicted first.
    seq: u64,
    max_index: u64,
    deadline: Instant,
    prefix: Vec<u8>,
    /// Number of pieces in `prefix` (pieces `0..next`).
    next: u64,
    early: BTreeMap<u64, Vec<u8>>,
    /// Bytes charged against the limit: decoded bytes plus
    /// [`PIECE_OVERHEAD`] per early piece.
    charged: usize,
}

/// Bounded reassembly of chunked messages ([protocol: chunking](crate::protocol#chunking)).
///
/// Unlike the Python original, a repeated index is ignored instead of
/// counted, an index out of range or a changed `max_index` drops the job,
/// partial jobs expire after [`ChunkLimits::ttl`], and the bytes per job,
/// the bytes of all jobs and the number of jobs are bounded: over a bound
/// the oldest partial job is evicted, a new one is never refused. Every drop
/// comes back as a [`ChunkDrop`] so the caller can log and count it: the
/// chunk's own from [`ChunkAssembler::push`], other jobs' evictions from
/// [`ChunkAssembler::take_evicted`].
///
/// ```
/// use ms_utils_communication::ws::chunks::{ChunkAssembler, ChunkLimits};
/// use serde_json::json;
/// use tokio::time::Instant;
///
/// let mut assembler = ChunkAssembler::new(ChunkLimits::default());
/// let now = Instant::now();
/// // `{"a":1}` as two pieces: the second in Node Buffer form, the first base64.
/// let second = json!({"jobId": "j", "index": "1", "max_index": 2,
///                     "chunk": {"type": "Buffer", "data": [b':', b'1', b'}']}});
/// let first = json!({"jobId": "j", "index": 0, "max_index": "2", "chunk": "eyJhIg=="});
/// assert_eq!(assembler.push(second, now).unwrap(), None);
/// assert_eq!(assembler.push(first, now).unwrap(), Some(json!({"a": 1})));
/// ```
pub struct ChunkAssembler {
    limits: ChunkLimits,
    jobs: HashMap<String, Job>,
    pending_bytes: usize,
    next_seq: u64,
    evicted: VecDeque<ChunkDrop>,
}

impl fmt::Debug for ChunkAssembler {
    // Buffers can be tens of MiB: show the totals, never the bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkAssembler")
            .field("limits", &self.limits)
            .field("pending_jobs", &self.jobs.len())
            .field("pending_bytes", &self.pending_bytes)
            .finish()
    }
}

impl ChunkAssembler {
    /// An empty assembler with the given limits.
    ///
    /// ```
    /// use ms_utils_communication::ws::chunks::{ChunkAssembler, ChunkLimits};
    /// let assembler = ChunkAssembler::new(ChunkLimits::default());
    /// assert_eq!(assembler.pending_jobs(), 0);
    /// ```
    pub fn new(limits: ChunkLimits) -> Self {
        Self {
            limits,
            jobs: HashMap::new(),
            pending_bytes: 0,
            next_seq: 0,
            evicted: VecDeque::new(),
        }
    }

    /// True when `msg` is a chunk message: an object with a `chunk` key that
    /// is not `null` (the original's test).
    ///
    /// ```
    /// use ms_utils_communication::ws::chunks::ChunkAssembler;
    /// use serde_json::json;
    /// assert!(ChunkAssembler::is_chunk(&json!({"jobId": "j", "chunk": "AA=="})));
    /// assert!(!ChunkAssembler::is_chunk(&json!({"chunk": null})));
    /// assert!(!ChunkAssembler::is_chunk(&json!(["chunk"])));
    /// ```
    pub fn is_chunk(msg: &Value) -> bool {
        msg.get("chunk").is_some_and(|c| !c.is_null())
    }

    /// Feeds one chunk message (already parsed).
    ///
    /// Returns `Ok(None)` while the job needs more chunks, `Ok(Some(value))`
    /// with the reassembled JSON value when this chunk completed it (the job
    /// is then forgotten), or `Err` when this chunk, or its whole job, was
    /// dropped (see [`ChunkDrop::kills_job`]). The piece is decoded into the
    /// job's buffer at once; its base64 text is not kept.
    ///
    /// `now` is the arrival time (`tokio::time::Instant::now()` in a client).
    ///
    /// A chunk that takes the partial jobs over [`ChunkLimits::max_pending_jobs`]
    /// or [`ChunkLimits::max_total_bytes`] evicts the oldest ones; those other
    /// jobs' drops wait in [`ChunkAssembler::take_evicted`].
    ///
    /// # Errors
    /// Any [`ChunkDrop`]; a chunk for a job whose TTL has passed returns
    /// [`ChunkDrop::Expired`] and drops that job; [`ChunkDrop::Evicted`] when
    /// this chunk's own job was the oldest and had to go.
    pub fn push(&mut self, msg: Value, now: Instant) -> Result<Option<Value>, ChunkDrop> {
        let header = read_header(msg.get("jobId"), msg.get("index"), msg.get("max_index"))?;
        let piece = msg.get("chunk").unwrap_or(&Value::Null);
        self.push_piece(header, Piece::Value(piece), now)
    }

    /// [`push`](Self::push) for a chunk read from its frame text: the
    /// header fields as read, and the piece as it stands in the frame (a
    /// base64 string is decoded from there, never copied).
    pub(crate) fn push_parts(
        &mut self,
        job_id: Option<&Value>,
        index: Option<&Value>,
        max_index: Option<&Value>,
        piece: Piece<'_>,
        now: Instant,
    ) -> Result<Option<Value>, ChunkDrop> {
        let header = read_header(job_id, index, max_index)?;
        self.push_piece(header, piece, now)
    }

    fn push_piece(
        &mut self,
        header: Header,
        piece: Piece<'_>,
        now: Instant,
    ) -> Result<Option<Value>, ChunkDrop> {
        let Header {
            job_id,
            index,
            max_index,
        } = header;

        if let Some(job) = self.jobs.get(&job_id) {
            if job.deadline <= now {
                self.remove(&job_id);
                return Err(ChunkDrop::Expired { job_id });
            }
            if job.max_index != max_index {
                let was = job.max_index;
                self.remove(&job_id);
                return Err(ChunkDrop::MaxIndexChanged {
                    job_id,
                    was,
                    now: max_index,
                });
            }
        }
        if index >= max_index {
            self.remove(&job_id);
            return Err(ChunkDrop::IndexOutOfRange {
                job_id,
                index,
                max_index,
            });
        }

        let limit = self.limits.max_job_bytes;
        let Some(job) = self.jobs.get_mut(&job_id) else {
            return self.start_job(job_id, index, max_index, piece, now);
        };
        if index < job.next || job.early.contains_key(&index) {
            return Err(ChunkDrop::Duplicate { job_id, index });
        }

        let before = job.charged;
        let decoded = if index == job.next {
            let start = job.prefix.len();
            let res = decode_piece(piece, &mut job.prefix, limit.saturating_sub(job.charged));
            job.charged += job.prefix.len() - start;
            if res.is_ok() {
                job.next += 1;
                // Fill the gap this piece closed with the early pieces behind it.
                while let Some(slot) = job.early.remove(&job.next) {
                    job.prefix.extend_from_slice(&slot);
                    job.charged -= PIECE_OVERHEAD;
                    job.next += 1;
                }
            }
            res
        } else {
            let mut slot = Vec::new();
            let res = match limit.checked_sub(job.charged + PIECE_OVERHEAD) {
                Some(room) => decode_piece(piece, &mut slot, room),
                None => Err(PieceFault::TooBig),
            };
            if res.is_ok() {
                job.charged += slot.len() + PIECE_OVERHEAD;
                job.early.insert(index, slot);
            }
            res
        };
        let complete = job.next >= job.max_index;
        self.pending_bytes = self.pending_bytes - before + job.charged;
        if let Err(fault) = decoded {
            self.remove(&job_id);
            return Err(fault.into_drop(job_id, index, limit));
        }
        if !complete {
            return match self.shed_bytes(&job_id) {
                Some(own) => Err(own),
                None => Ok(None),
            };
        }
        match self.remove(&job_id) {
            Some(job) => finish(job_id, job.prefix).map(Some),
            None => Ok(None),
        }
    }

    fn start_job(
        &mut self,
        job_id: String,
        index: u64,
        max_index: u64,
        piece: Piece<'_>,
        now: Instant,
    ) -> Result<Option<Value>, ChunkDrop> {
        let limit = self.limits.max_job_bytes;
        let single = max_index == 1;
        let cause = Eviction::PendingJobs {
            limit: self.limits.max_pending_jobs,
        };
        while !single && self.jobs.len() >= self.limits.max_pending_jobs {
            match self.evict_oldest(cause) {
                Some(drop) => self.record_eviction(drop),
                // A limit of 0: no job may wait, so this one goes at once.
                None => {
                    return Err(ChunkDrop::Evicted {
                        job_id,
                        held: 0,
                        cause,
                    });
                }
            }
        }
        let mut job = Job {
            seq: self.next_seq,
            max_index,
            deadline: now + self.limits.ttl,
            prefix: Vec::new(),
            next: 0,
            early: BTreeMap::new(),
            charged: 0,
        };
        let decoded = if index == 0 {
            let res = decode_piece(piece, &mut job.prefix, limit);
            job.charged = job.prefix.len();
            job.next = 1;
            res
        } else {
            let mut slot = Vec::new();
            let res = match limit.checked_sub(PIECE_OVERHEAD) {
                Some(room) => decode_piece(piece, &mut slot, room),
                None => Err(PieceFault::TooBig),
            };
            job.charged = slot.len() + PIECE_OVERHEAD;
            job.early.insert(index, slot);
            res
        };
        if let Err(fault) = decoded {
            return Err(fault.into_drop(job_id, index, limit));
        }
        if single {
            // A one-piece job never waits, so it never counts as pending.
            return finish(job_id, job.prefix).map(Some);
        }
        self.next_seq += 1;
        self.pending_bytes += job.charged;
        self.jobs.insert(job_id.clone(), job);
        match self.shed_bytes(&job_id) {
            Some(own) => Err(own),
            None => Ok(None),
        }
    }

    /// Evicts the oldest partial jobs until all fit in
    /// [`ChunkLimits::max_total_bytes`]; returns the drop of `current` when
    /// it was among them (the others are recorded for `take_evicted`).
    fn shed_bytes(&mut self, current: &str) -> Option<ChunkDrop> {
        let cause = Eviction::PendingBytes {
            limit: self.limits.max_total_bytes,
        };
        let mut own = None;
        while self.pending_bytes > self.limits.max_total_bytes {
            let Some(drop) = self.evict_oldest(cause) else {
                break;
            };
            if drop.job_id() == Some(current) {
                own = Some(drop);
            } else {
                self.record_eviction(drop);
            }
        }
        own
    }

    /// Removes the partial job whose first chunk came first.
    fn evict_oldest(&mut self, cause: Eviction) -> Option<ChunkDrop> {
        let oldest = self
            .jobs
            .iter()
            .min_by_key(|(_, job)| job.seq)
            .map(|(id, _)| id.clone())?;
        let job = self.remove(&oldest)?;
        Some(ChunkDrop::Evicted {
            job_id: oldest,
            held: job.charged,
            cause,
        })
    }

    fn record_eviction(&mut self, drop: ChunkDrop) {
        if self.evicted.len() >= MAX_EVICTION_RECORDS {
            self.evicted.pop_front();
        }
        self.evicted.push_back(drop);
    }

    /// The jobs evicted to make room since the last call, oldest first
    /// (each a [`ChunkDrop::Evicted`]), for the caller to log and count. At
    /// most the last 1024 are kept.
    ///
    /// ```
    /// use ms_utils_communication::ws::chunks::{ChunkAssembler, ChunkDrop, ChunkLimits};
    /// use serde_json::json;
    /// use tokio::time::Instant;
    ///
    /// let mut assembler = ChunkAssembler::new(ChunkLimits::default().with_max_pending_jobs(1));
    /// let now = Instant::now();
    /// let first = |job: &str| json!({"jobId": job, "index": 0, "max_index": 2, "chunk": "WzE="});
    /// assembler.push(first("old"), now).unwrap();
    /// assembler.push(first("new"), now).unwrap(); // never refused
    /// let evicted = assembler.take_evicted();
    /// assert!(matches!(&evicted[..], [ChunkDrop::Evicted { job_id, .. }] if job_id == "old"));
    /// assert_eq!(assembler.pending_jobs(), 1);
    /// ```
    pub fn take_evicted(&mut self) -> Vec<ChunkDrop> {
        self.evicted.drain(..).collect()
    }

    fn remove(&mut self, job_id: &str) -> Option<Job> {
        let job = self.jobs.remove(job_id)?;
        self.pending_bytes -= job.charged;
        Some(job)
    }

    /// Drops every partial job whose TTL has passed at `now` and returns
    /// their ids (for the caller to log and count).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ms_utils_communication::ws::chunks::{ChunkAssembler, ChunkLimits};
    /// use serde_json::json;
    /// use tokio::time::Instant;
    ///
    /// let mut assembler = ChunkAssembler::new(ChunkLimits::default());
    /// let t0 = Instant::now();
    /// let first = json!({"jobId": "j", "index": 0, "max_index": 2, "chunk": "AA=="});
    /// assembler.push(first, t0).unwrap();
    /// assert!(assembler.expire(t0 + Duration::from_secs(299)).is_empty());
    /// assert_eq!(assembler.expire(t0 + Duration::from_secs(300)), vec!["j".to_string()]);
    /// ```
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, job)| job.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            self.remove(id);
        }
        expired
    }

    /// Number of partial jobs held.
    pub fn pending_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Bytes held by partial jobs (decoded bytes, plus a small fixed charge
    /// per piece that arrived ahead of a gap).
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// When the oldest partial job expires, if any: the time to call
    /// [`ChunkAssembler::expire`] next.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.jobs.values().map(|job| job.deadline).min()
    }
}

#[cfg(test)]
mod tests;
