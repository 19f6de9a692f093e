//! Support for tests written against the development servers: an in-memory
//! log sink, to check what a client logs (and that secrets never appear).
//!
//! ```
//! use ms_utils_dev::testing::LogCapture;
//!
//! let (capture, _guard) = LogCapture::on_this_thread("info");
//! tracing::info!(user = "orders", "connected");
//! assert!(capture.text().contains("connected"));
//! ```

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::fmt::MakeWriter;

/// Everything written to any clone of it, in one buffer: a `Write` for a
/// logger's console writer, and a `MakeWriter` for `tracing_subscriber::fmt`.
#[derive(Clone, Debug, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

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

    /// What was written so far, as text (lossy: a log line is for reading).
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
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

/// `len` bytes of deterministic, incompressible-looking data (xorshift from
/// `seed`): the same call gives the same bytes, different seeds differ.
///
/// ```
/// let a = ms_utils_dev::testing::test_data(1000, 7);
/// assert_eq!(a.len(), 1000);
/// assert_eq!(a, ms_utils_dev::testing::test_data(1000, 7));
/// assert_ne!(a, ms_utils_dev::testing::test_data(1000, 8));
/// ```
pub fn test_data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Lower-case hex, as S3 writes ETags and Python's `hexdigest()` does.
///
/// ```
/// assert_eq!(ms_utils_dev::testing::hex(&[0x0f, 0xa0]), "0fa0");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
