//! Support for tests written against the development servers, shared by
//! this workspace's tests and open to users' own: a log capture, a bound on
//! every wait, tests that need a process of their own, deterministic data,
//! a loopback HTTP proxy.
//!
//! ```
//! use ms_utils_dev::testing::{LogCapture, test_data};
//!
//! let (capture, _guard) = LogCapture::on_this_thread("info");
//! tracing::info!(bytes = test_data(16, 1).len(), "generated");
//! assert!(capture.text().contains("bytes=16"));
//! ```

mod child;
mod data;
mod log_capture;
mod proxy;
mod within;

pub use child::{assert_child_passed, assert_in_child, child_test};
pub use data::{hex, test_data};
pub use log_capture::LogCapture;
pub use proxy::LoopbackProxy;
pub use within::{STEP_LIMIT, within, within_for};
