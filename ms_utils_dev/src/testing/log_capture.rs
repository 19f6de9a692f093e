//! An in-memory log sink, to check what a client logs (and that secrets
//! never appear), on one thread or on every thread of a runtime.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::Notify;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

/// Everything written to any clone of it, in one buffer: a `Write` for a
/// logger's console writer, and a `MakeWriter` for `tracing_subscriber::fmt`.
///
/// Two ways to fill it from `tracing`:
/// - [`LogCapture::on_this_thread`]: a subscriber for the calling thread
///   only, until its guard drops (a current-thread runtime runs every task
///   there);
/// - [`LogCapture::run_multi_thread`]: a new multi-thread runtime whose
///   threads (workers, blocking pool, and the caller while it waits) all log
///   into the capture, for code that spawns tasks or blocking work. Any
///   number of tests in one process may do this at once: each runtime's
///   events go to its own capture.
///
/// ```
/// use ms_utils_dev::testing::LogCapture;
///
/// let (capture, _guard) = LogCapture::on_this_thread("info");
/// tracing::info!(user = "orders", "connected");
/// assert!(capture.text().contains("connected"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct LogCapture(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    bytes: Mutex<Vec<u8>>,
    written: Notify,
}

impl LogCapture {
    /// A capture receiving this thread's `tracing` events that pass
    /// `filter` (env-filter directives), until the guard drops.
    pub fn on_this_thread(filter: &str) -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// Runs `body` to its end on a new multi-thread runtime (two workers)
    /// whose every thread logs its events at `level` and above into the
    /// capture given to `body`.
    ///
    /// The first call installs a process-wide subscriber that hands each
    /// event to the capture of the thread it happens on (threads of no
    /// capture cost one thread-local read per event); it panics if the
    /// process already has another global subscriber.
    ///
    /// ```
    /// use ms_utils_dev::testing::LogCapture;
    /// use tracing::level_filters::LevelFilter;
    ///
    /// let line = LogCapture::run_multi_thread(LevelFilter::INFO, |logs| async move {
    ///     tokio::spawn(async { tracing::info!("from a worker") }).await.unwrap();
    ///     logs.wait_for_line(|line| line.contains("from a worker")).await
    /// });
    /// assert!(line.contains("INFO"));
    /// ```
    pub fn run_multi_thread<F, Fut>(level: LevelFilter, body: F) -> Fut::Output
    where
        F: FnOnce(LogCapture) -> Fut,
        Fut: Future,
    {
        install_thread_router();
        let capture = LogCapture::default();
        let for_threads = capture.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || set_thread_capture(Some((for_threads.clone(), level))))
            .build()
            .unwrap_or_else(|e| panic!("a test runtime could not start: {e}"));
        let _caller = CallerCapture::set(capture.clone(), level);
        runtime.block_on(body(capture))
    }

    /// What was written so far, as text (lossy: a log line is for reading).
    pub fn text(&self) -> String {
        let bytes = self.0.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Waits until a line satisfying `pred` has been written, and returns
    /// it. Wrap it in a timeout (`testing::within`): it waits as long as no
    /// such line comes.
    pub async fn wait_for_line(&self, mut pred: impl FnMut(&str) -> bool) -> String {
        loop {
            let written = self.0.written.notified();
            tokio::pin!(written);
            // Registered before reading, so that a write in between wakes us.
            written.as_mut().enable();
            if let Some(line) = self.text().lines().find(|l| pred(l)) {
                return line.to_owned();
            }
            written.await;
        }
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .bytes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        self.0.written.notify_waiters();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

thread_local! {
    /// The capture (and its level) of the runtime this thread belongs to.
    static THREAD_CAPTURE: RefCell<Option<(LogCapture, LevelFilter)>> = const { RefCell::new(None) };
}

fn set_thread_capture(capture: Option<(LogCapture, LevelFilter)>) {
    THREAD_CAPTURE.with(|c| *c.borrow_mut() = capture);
}

/// The calling thread's capture for as long as `run_multi_thread` blocks
/// on it, taken off again even if the body panics.
struct CallerCapture;

impl CallerCapture {
    fn set(capture: LogCapture, level: LevelFilter) -> Self {
        set_thread_capture(Some((capture, level)));
        CallerCapture
    }
}

impl Drop for CallerCapture {
    fn drop(&mut self) {
        set_thread_capture(None);
    }
}

/// The process-wide subscriber of `run_multi_thread`: formats an event
/// only on a thread that has a capture, into that capture.
fn install_thread_router() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        // Decided per event, never cached per callsite: whether a callsite
        // is on depends on the thread it runs on (a `filter_fn` would cache
        // the answer of the first thread to reach it, and a callsite first
        // reached on a thread capturing INFO would stay off for a test
        // capturing TRACE).
        let enabled = dynamic_filter_fn(|meta, _| {
            THREAD_CAPTURE.with(|c| {
                c.borrow()
                    .as_ref()
                    .is_some_and(|(_, level)| meta.level() <= level)
            })
        })
        .with_callsite_filter(|_| Interest::sometimes());
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(ThreadWriter)
            .with_filter(enabled);
        if tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .is_err()
        {
            panic!(
                "LogCapture::run_multi_thread needs the process's global tracing subscriber, \
                 and another one is installed"
            );
        }
    });
}

/// Writes into the capture of the thread the event is formatted on.
struct ThreadWriter;

impl<'a> MakeWriter<'a> for ThreadWriter {
    type Writer = ThreadSink;
    fn make_writer(&'a self) -> ThreadSink {
        ThreadSink(THREAD_CAPTURE.with(|c| c.borrow().as_ref().map(|(c, _)| c.clone())))
    }
}

struct ThreadSink(Option<LogCapture>);

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Some(capture) => capture.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
