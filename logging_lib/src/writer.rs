//! Background writers and the guard that flushes them.
//!
//! Each output (file, console) gets its own `tracing-appender` worker thread:
//! the caller only formats the line and puts it on a bounded channel. The
//! channel is not lossy: when it is full the caller waits for room
//! (backpressure) instead of the line being dropped.

use std::io::{self, BufWriter, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};

use crate::handle::LogHandle;

/// The default number of lines that may wait for a writer before callers wait.
pub(crate) const DEFAULT_BUFFERED_LINES: usize = 128_000;

/// The default bound on how long dropping a [`LogGuard`] waits for the
/// backlog to reach the outputs.
pub(crate) const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts a worker thread writing to `writer`.
pub(crate) fn spawn(
    writer: impl Write + Send + 'static,
    thread_name: &str,
    buffered_lines: usize,
) -> (NonBlocking, WriterHandle) {
    let (done_tx, done_rx) = mpsc::channel();
    let writer = FlushOnExit {
        // The worker writes line by line and flushes whenever its channel runs
        // empty, so buffering costs no latency and saves a syscall per line.
        inner: BufWriter::with_capacity(64 * 1024, writer),
        _done: done_tx,
    };
    let (non_blocking, worker) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(buffered_lines.max(1))
        .thread_name(thread_name)
        .finish(writer);
    let handle = WriterHandle {
        worker: Some(worker),
        done: done_rx,
    };
    (non_blocking, handle)
}

/// The writer the worker thread owns. The worker drops it (flushing the
/// buffer) when its thread ends, which closes `_done`: that is how the guard
/// learns that every line has been written, beyond the one second that
/// `WorkerGuard` itself waits.
struct FlushOnExit<W: Write> {
    // Field order matters: the buffer is flushed (dropped) before `_done` closes.
    inner: BufWriter<W>,
    _done: mpsc::Sender<()>,
}

impl<W: Write> Write for FlushOnExit<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug)]
pub(crate) struct WriterHandle {
    worker: Option<WorkerGuard>,
    done: mpsc::Receiver<()>,
}

/// Keeps the log writers running; dropping it writes out every line logged
/// before the drop, then stops them.
///
/// Returned by [`Logger::setup`](crate::Logger::setup),
/// [`LoggerBuilder::init`](crate::LoggerBuilder::init) and
/// [`LoggerBuilder::build`](crate::LoggerBuilder::build). Keep it alive for the
/// whole program, typically as a local in `main`: lines logged after it is
/// dropped are lost (the subscriber stays installed, but its writers have
/// stopped).
///
/// Dropping it blocks until the backlog is written, at most the builder's
/// [`flush_timeout`](crate::LoggerBuilder::flush_timeout) (30 s by default).
/// A process that ends without dropping it (`std::process::exit`, an abort)
/// may lose the lines still queued.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("combined.log");
/// use ms_utils_logging::Logger;
///
/// let (dispatch, guard) = Logger::builder().file(&path).console(false).build()?;
/// tracing::dispatcher::with_default(&dispatch, || tracing::info!("last words"));
/// drop(guard); // returns once "last words" is in the file
/// assert!(std::fs::read_to_string(&path)?.contains("last words"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping the guard stops the log writers: keep it alive until the end of main"]
#[derive(Debug)]
pub struct LogGuard {
    name: String,
    writers: Vec<WriterHandle>,
    flush_timeout: Duration,
    handle: LogHandle,
}

impl LogGuard {
    pub(crate) fn new(
        name: String,
        writers: Vec<WriterHandle>,
        flush_timeout: Duration,
        handle: LogHandle,
    ) -> Self {
        Self {
            name,
            writers,
            flush_timeout,
            handle,
        }
    }

    /// A handle that changes this logger's level and directives while it
    /// runs (the original's `Logger.set_level`). Cheap to clone; it may
    /// outlive the guard, and keeps working as long as the logger is
    /// installed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ms_utils_logging::Logger;
    ///
    /// let guard = Logger::setup("my_service")?;
    /// let handle = guard.handle();
    /// std::thread::spawn(move || {
    ///     // e.g. on an admin request
    ///     handle.set_directives("info,my_service::db=debug")
    /// });
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn handle(&self) -> LogHandle {
        self.handle.clone()
    }

    /// The name given at setup.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_dispatch, guard) = ms_utils_logging::Logger::builder()
    ///     .name("billing")
    ///     .no_file()
    ///     .console(false)
    ///     .build()?;
    /// assert_eq!(guard.name(), "billing");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let deadline = Instant::now() + self.flush_timeout;
        // Each `WorkerGuard` queues a shutdown behind the backlog and waits up
        // to a second for its worker; a bigger backlog is waited for below.
        for writer in &mut self.writers {
            drop(writer.worker.take());
        }
        for writer in &self.writers {
            let left = deadline.saturating_duration_since(Instant::now());
            // Nothing is ever sent: `Disconnected` means the worker dropped
            // its writer after writing everything, `Timeout` that we give up.
            let _ = writer.done.recv_timeout(left);
        }
    }
}
