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
    /// Starting this job would exceed [`ChunkLimits::max_pending_jobs`](super::ChunkLimits::max_pending_jobs);
    /// the chunk is dropped, other jobs are kept.
    #[error("job {job_id} refused: {limit} partial jobs already pending")]
    TooManyJobs {
        /// The job that could not start.
        job_id: String,
        /// The limit in force.
        limit: usize,
    },
    /// The piece is neither valid base64 nor a `{"data": [bytes]}` Buffer;
    /// the job is dropped (it can no longer be reassembled).
    #[error("chunk {index} of job {job_id} is neither base64 nor a byte Buffer")]
    BadPiece {
        /// The job.
        job_id: String,
        /// The index of the bad piece.
        index: u64,
        /// The base64 error, when the piece was a string.
        #[source]
        source: Option<base64::DecodeError>,
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
            | Self::TooManyJobs { job_id, .. }
            | Self::BadPiece { job_id, .. }
            | Self::NotUtf8 { job_id, .. }
            | Self::NotJson { job_id, .. }
            | Self::Expired { job_id } => Some(job_id),
            Self::BadFields { job_id, .. } => job_id.as_deref(),
        }
    }

    /// True when the job's partial data was discarded along with this chunk
    /// (false for a duplicate, a bad field or a refused new job, which leave
    /// every pending job as it was).
    pub fn kills_job(&self) -> bool {
        !matches!(
            self,
            Self::Duplicate { .. } | Self::BadFields { .. } | Self::TooManyJobs { .. }
        )
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
