//! Progress reporting for uploads and downloads: a callback trait, and a
//! ready-made `indicatif` progress bar for terminals.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// Local data to the bucket.
    Upload,
    /// Bucket to local data.
    Download,
}

/// One progress report: bytes done so far out of the total, for one object.
///
/// ```
/// use ms_utils_communication::s3::{Direction, Progress};
/// fn percent(p: &Progress) -> Option<f64> {
///     p.total.filter(|t| *t > 0).map(|t| p.transferred as f64 * 100.0 / t as f64)
/// }
/// # let _ = percent;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Upload or download.
    pub direction: Direction,
    /// The object key.
    pub key: String,
    /// Bytes transferred so far (never decreases, never exceeds `total`).
    pub transferred: u64,
    /// Total size when known (unknown for an `AsyncRead` upload until its end).
    pub total: Option<u64>,
}

/// Receives progress reports. Called from the transfer's tasks, possibly from
/// several threads, so keep it quick. Any `Fn(&Progress) + Send + Sync` is one.
///
/// ```
/// use std::sync::Arc;
/// use ms_utils_communication::s3::{Progress, ProgressListener, UploadOptions};
///
/// let listener: Arc<dyn ProgressListener> = Arc::new(|p: &Progress| {
///     eprintln!("{}: {} bytes", p.key, p.transferred);
/// });
/// let options = UploadOptions::new().progress(listener);
/// # let _ = options;
/// ```
pub trait ProgressListener: Send + Sync {
    /// Called each time more bytes are done.
    fn on_progress(&self, progress: &Progress);
}

impl<F> ProgressListener for F
where
    F: Fn(&Progress) + Send + Sync,
{
    fn on_progress(&self, progress: &Progress) {
        self(progress);
    }
}

/// A terminal progress bar, drawn on stderr and hidden when stderr is not a
/// terminal. (It is drawn with `indicatif`, which is not part of the API: for
/// another display, implement [`ProgressListener`].)
///
/// ```no_run
/// use std::sync::Arc;
/// use ms_utils_communication::s3::{ProgressBarListener, UploadOptions};
///
/// let options = UploadOptions::new().progress(Arc::new(ProgressBarListener::new()));
/// # let _ = options;
/// ```
pub struct ProgressBarListener {
    bar: indicatif::ProgressBar,
}

impl fmt::Debug for ProgressBarListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressBarListener")
            .field("position", &self.bar.position())
            .field("length", &self.bar.length())
            .finish()
    }
}

impl Default for ProgressBarListener {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressBarListener {
    /// A bar on stderr (drawn only when stderr is a terminal).
    pub fn new() -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        ProgressBarListener { bar }
    }

    /// Bytes shown as done so far.
    ///
    /// ```
    /// let l = ms_utils_communication::s3::ProgressBarListener::new();
    /// assert_eq!(l.position(), 0);
    /// ```
    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// The total the bar counts to, once a report has given one.
    ///
    /// ```
    /// let l = ms_utils_communication::s3::ProgressBarListener::new();
    /// assert_eq!(l.length(), None);
    /// ```
    pub fn length(&self) -> Option<u64> {
        self.bar.length()
    }

    /// True once a report reached the total (the bar is then drawn complete).
    ///
    /// ```
    /// let l = ms_utils_communication::s3::ProgressBarListener::new();
    /// assert!(!l.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.bar.is_finished()
    }
}

impl ProgressListener for ProgressBarListener {
    fn on_progress(&self, p: &Progress) {
        if self.bar.length() != p.total {
            if let Some(t) = p.total {
                self.bar.set_length(t);
            }
            self.bar.set_message(p.key.clone());
        }
        self.bar.set_position(p.transferred);
        if p.total == Some(p.transferred) {
            self.bar.finish();
        }
    }
}

/// Shared counter behind one transfer; parts add to it from their tasks.
#[derive(Clone)]
pub(crate) struct Tracker {
    inner: Option<Arc<TrackerInner>>,
}

struct TrackerInner {
    listener: Arc<dyn ProgressListener>,
    done: AtomicU64,
    direction: Direction,
    key: String,
    total: Option<u64>,
}

impl Tracker {
    pub(crate) fn new(
        listener: Option<&Arc<dyn ProgressListener>>,
        direction: Direction,
        key: &str,
        total: Option<u64>,
    ) -> Self {
        Tracker {
            inner: listener.map(|l| {
                Arc::new(TrackerInner {
                    listener: Arc::clone(l),
                    done: AtomicU64::new(0),
                    direction,
                    key: key.to_owned(),
                    total,
                })
            }),
        }
    }

    pub(crate) fn add(&self, n: u64) {
        let Some(inner) = &self.inner else { return };
        let mut done = inner.done.fetch_add(n, Ordering::Relaxed).saturating_add(n);
        if let Some(t) = inner.total {
            done = done.min(t);
        }
        inner.listener.on_progress(&Progress {
            direction: inner.direction,
            key: inner.key.clone(),
            transferred: done,
            total: inner.total,
        });
    }

    /// Reports the end of a transfer whose total was unknown until now.
    pub(crate) fn finish(&self, total: u64) {
        let Some(inner) = &self.inner else { return };
        inner.listener.on_progress(&Progress {
            direction: inner.direction,
            key: inner.key.clone(),
            transferred: total,
            total: Some(total),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn tracker_sums_parts_and_never_passes_the_total() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = Arc::clone(&seen);
        let l: Arc<dyn ProgressListener> = Arc::new(move |p: &Progress| {
            s2.lock().unwrap().push(p.transferred);
        });
        let t = Tracker::new(Some(&l), Direction::Upload, "k", Some(10));
        t.add(4);
        t.clone().add(4);
        t.add(4); // a retried part must not push past the total
        assert_eq!(*seen.lock().unwrap(), vec![4, 8, 10]);
    }
}
