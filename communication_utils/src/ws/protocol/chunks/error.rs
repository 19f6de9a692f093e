//! Why a chunk was dropped ([`ChunkDrop`]) or could not be made ([`ChunkError`]).

/// Why a chunk message, or its whole job, was dropped.
///
/// Every variant names the job when it could be read, so that the drop can
/// be logged with its `jobId` and counted. [`ChunkDrop::kills_job`] tells
/// whether the job's partial data was discarded too.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkDrop {
    /// A chunk with an index already received; ignored, the job is kept.
    #[error("duplicate chunk {index} of job {job_id} ignored")]
    Duplicate {
        /// The job.
        job_id: String,
        /// The repeated index.
        index: u64,
    },
    /// `index >= max_index`; the job is dropped.
    #[error("chunk index {index} out of range (max_index {max_index}) in job {job_id}")]
    IndexOutOfRange {
        /// The job.
        job_id: String,
        /// The offending index.
        index: u64,
        /// The job's total chunk count.
        max_index: u64,
    },
    /// A chunk announced a different `max_index` than the job's first chunk;
    /// the job is dropped.
    #[error("max_index changed from {was} to {now} in job {job_id}")]
    MaxIndexChanged {
        /// The job.
        job_id: String,
        /// The count the job started with.
        was: u64,
        /// The count this chunk announced.
        now: u64,
    },
    /// The job would hold more than [`ChunkLimits::max_job_bytes`](super::ChunkLimits::max_job_bytes); dropped.
    #[error("job {job_id} exceeds the limit of {limit} bytes")]
    TooManyBytes {
        /// The job.
        job_id: String,
        /// The limit in force.
        limit: usize,
    },
    /// The job was the oldest partial job when a bound on all jobs was
    /// reached, and was dropped to make room (see [`Eviction`]).
    #[error("job {job_id} evicted with {held} bytes: {cause}")]
    Evicted {
        /// The job.
        job_id: String,
        /// The bytes it held.
        held: usize,
        /// Which bound made room necessary.
        cause: Eviction,
    },
    /// The piece is neither valid base64 nor a `{"data": [bytes]}` Buffer;
    /// the job is dropped (it can no longer be reassembled).
    #[error("chunk {index} of job {job_id} is neither base64 nor a byte Buffer")]
    BadPiece {
        /// The job.
        job_id: String,
        /// The index of the bad piece.
        index: u64,
        /// The base64 decoder's error, when the piece was a string (boxed:
        /// the decoder's types are not part of this API).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// `jobId`, `index` or `max_index` is missing or not a non-negative
    /// integer (or numeric string); the chunk is dropped, jobs are kept.
    #[error("chunk message has a missing or bad `{field}` field")]
    BadFields {
        /// The job, when `jobId` itself was readable.
        job_id: Option<String>,
        /// The field at fault.
        field: &'static str,
    },
    /// The reassembled bytes are not UTF-8; the job is dropped.
    #[error("reassembled job {job_id} is not UTF-8")]
    NotUtf8 {
        /// The job.
        job_id: String,
        /// Where decoding failed.
        #[source]
        source: std::str::Utf8Error,
    },
    /// The reassembled text is not JSON; the job is dropped.
    #[error("reassembled job {job_id} is not JSON")]
    NotJson {
        /// The job.
        job_id: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The job waited longer than [`ChunkLimits::ttl`](super::ChunkLimits::ttl) for its missing
    /// chunks; it is dropped.
    #[error("job {job_id} expired before all its chunks arrived")]
    Expired {
        /// The job.
        job_id: String,
    },
}

impl ChunkDrop {
    /// The `jobId` concerned, when it could be read.
    pub fn job_id(&self) -> Option<&str> {
        match self {
            Self::Duplicate { job_id, .. }
            | Self::IndexOutOfRange { job_id, .. }
            | Self::MaxIndexChanged { job_id, .. }
            | Self::TooManyBytes { job_id, .. }
            | Self::Evicted { job_id, .. }
            | Self::BadPiece { job_id, .. }
            | Self::NotUtf8 { job_id, .. }
            | Self::NotJson { job_id, .. }
            | Self::Expired { job_id } => Some(job_id),
            Self::BadFields { job_id, .. } => job_id.as_deref(),
        }
    }

    /// True when the job's partial data was discarded along with this chunk
    /// (false for a duplicate or a bad field, which leave every pending job
    /// as it was).
    pub fn kills_job(&self) -> bool {
        !matches!(self, Self::Duplicate { .. } | Self::BadFields { .. })
    }

    /// What happened, without the job id and the sources: a value that
    /// can be compared, copied and carried by an
    /// [`Event`](crate::ws::Event).
    ///
    /// ```
    /// use ms_utils_communication::ws::chunks::{ChunkDrop, ChunkDropReason};
    /// let drop = ChunkDrop::Expired { job_id: "j".into() };
    /// assert_eq!(drop.reason(), ChunkDropReason::Expired);
    /// ```
    pub fn reason(&self) -> ChunkDropReason {
        match self {
            Self::Duplicate { .. } => ChunkDropReason::Duplicate,
            Self::IndexOutOfRange { .. } => ChunkDropReason::IndexOutOfRange,
            Self::MaxIndexChanged { .. } => ChunkDropReason::MaxIndexChanged,
            Self::TooManyBytes { limit, .. } => ChunkDropReason::TooManyBytes { limit: *limit },
            Self::Evicted { cause, .. } => ChunkDropReason::Evicted(*cause),
            Self::BadPiece { .. } => ChunkDropReason::BadPiece,
            Self::BadFields { field, .. } => ChunkDropReason::BadFields { field },
            Self::NotUtf8 { .. } => ChunkDropReason::NotUtf8,
            Self::NotJson { .. } => ChunkDropReason::NotJson,
            Self::Expired { .. } => ChunkDropReason::Expired,
        }
    }

    /// True for [`ChunkDrop::Duplicate`].
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate { .. })
    }

    /// True for [`ChunkDrop::Expired`].
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired { .. })
    }
}

/// Which bound on all partial jobs made the assembler evict the oldest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Eviction {
    /// [`ChunkLimits::max_pending_jobs`](super::ChunkLimits::max_pending_jobs)
    /// jobs were pending when a new one started.
    #[error("{limit} partial jobs pending, a new one started")]
    PendingJobs {
        /// The limit in force.
        limit: usize,
    },
    /// The partial jobs held more than
    /// [`ChunkLimits::max_total_bytes`](super::ChunkLimits::max_total_bytes).
    #[error("partial jobs over {limit} bytes in all")]
    PendingBytes {
        /// The limit in force.
        limit: usize,
    },
}

/// Why a chunk or a chunk job was dropped, as carried by
/// [`Event::ChunkDropped`](crate::ws::Event::ChunkDropped): the variants of
/// [`ChunkDrop`] without the job id and the error sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkDropReason {
    /// [`ChunkDrop::Duplicate`].
    #[error("duplicate chunk")]
    Duplicate,
    /// [`ChunkDrop::IndexOutOfRange`].
    #[error("chunk index out of range")]
    IndexOutOfRange,
    /// [`ChunkDrop::MaxIndexChanged`].
    #[error("max_index changed")]
    MaxIndexChanged,
    /// [`ChunkDrop::TooManyBytes`].
    #[error("job over the limit of {limit} bytes")]
    TooManyBytes {
        /// The limit in force.
        limit: usize,
    },
    /// [`ChunkDrop::Evicted`].
    #[error("evicted: {0}")]
    Evicted(Eviction),
    /// [`ChunkDrop::BadPiece`].
    #[error("chunk neither base64 nor a byte Buffer")]
    BadPiece,
    /// [`ChunkDrop::BadFields`].
    #[error("missing or bad `{field}` field")]
    BadFields {
        /// The field at fault.
        field: &'static str,
    },
    /// [`ChunkDrop::NotUtf8`].
    #[error("reassembled bytes not UTF-8")]
    NotUtf8,
    /// [`ChunkDrop::NotJson`].
    #[error("reassembled text not JSON")]
    NotJson,
    /// [`ChunkDrop::Expired`].
    #[error("expired before its last chunk")]
    Expired,
}

/// Why [`chunk_messages`](super::chunk_messages) could not split a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChunkError {
    /// `piece_size` was 0.
    #[error("chunk piece size must be at least 1 byte")]
    ZeroPieceSize,
    /// The value could not be serialized.
    #[error("value could not be serialized to JSON")]
    Serialize(#[source] serde_json::Error),
}
