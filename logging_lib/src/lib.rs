//! The platform's common logger: the Python `ms_utils` line format, on
//! [`tracing`], to the console and to `logs/combined.log`.
//!
//! # Quick start
//!
//! ```no_run
//! use ms_utils_logging::{Logger, time_it};
//!
//! fn main() -> Result<(), ms_utils_logging::Error> {
//!     // Keep the guard until the end of main: dropping it flushes the file.
//!     let _guard = Logger::setup("my_service")?;
//!
//!     tracing::info!("connected");
//!     // [INFO] [22-11-2026 14:03:07] (main:7) -> connected
//!     tracing::warn!(job = 7, user = "bob", "slow job");
//!     // [WARNING] [22-11-2026 14:03:07] (main:9) -> slow job job=7 user=bob
//!
//!     let sum = time_it!("sum", (1..=1000u64).sum::<u64>());
//!     // [INFO] [22-11-2026 14:03:07] (main:12) -> sum executed in 0.00000120s
//!     assert_eq!(sum, 500_500);
//!     Ok(())
//! }
//! ```
//!
//! For more control, [`Logger::builder`]:
//!
//! ```no_run
//! use ms_utils_logging::{Format, Logger, Rotation};
//!
//! let _guard = Logger::builder()
//!     .name("my_service")
//!     .level(tracing::Level::INFO)
//!     .run_debug(false)                  // true forces DEBUG
//!     .directives("hyper=warn")          // after RUST_LOG, which is read too
//!     .file("logs/combined.log")         // or .no_file() for console only
//!     .rotation(Rotation::Daily)         // logs/combined.2026-11-22.log, ...
//!     .file_format(Format::Json)         // one JSON object per line
//!     .console(true)                     // stderr, coloured on a terminal
//!     .init()?;
//! # Ok::<(), ms_utils_logging::Error>(())
//! ```
//!
//! # What is written
//!
//! - The line: `[LEVEL] [dd-mm-YYYY HH:MM:SS] (module:line) -> message key=value`,
//!   as the Python original writes it, with Python's level names (`DEBUG`,
//!   `INFO`, `WARNING`, `ERROR`, `CRITICAL`; `TRACE` for tracing's extra level), local
//!   time, and the module as the source file's stem (like `%(module)s`;
//!   [`ModuleStyle::Target`] shows the full target instead). Event fields
//!   follow the message as `key=value`, then the fields of the spans the
//!   event is in, outermost first (`-> uploaded bytes=512 job_id=j1`), so
//!   that the lines logged while handling a job carry it. [`format_line`] is
//!   the format as a pure function.
//! - Or JSON lines ([`Format::Json`], see [`JsonFormat`]).
//! - Or a line of your own, written as a Python `logging` format string
//!   ([`Format::python`], see [`LineTemplate`]), as the original's
//!   `Logger.create_formatter(fmt, datefmt)` takes it.
//! - The console is stderr, like Python's `StreamHandler`; colour only when
//!   stderr is a terminal.
//! - Records of the [`log`](https://docs.rs/log) crate, which many
//!   dependencies use, are bridged in and show their real file and line.
//!
//! # Python format strings
//!
//! ```no_run
//! use ms_utils_logging::{Format, Logger};
//!
//! let format = Format::python(
//!     "%(asctime)s %(levelname)-8s %(name)s %(module)s:%(lineno)d %(message)s",
//!     None, // Python's default date format: 2026-11-22 14:03:07,123
//! )?;
//! let _guard = Logger::builder().name("billing").format(format).init()?;
//! tracing::info!("ready");
//! // 2026-11-22 14:03:07,123 INFO     billing main:8 ready
//! # Ok::<(), ms_utils_logging::Error>(())
//! ```
//!
//! The same bytes as Python's `logging` for the same record (checked
//! against a table CPython printed), with every fault found when the
//! format is parsed ([`Error::InvalidFormat`], [`FormatProblem`]). The keys,
//! and what stands for those Rust has no counterpart of (`funcName` is the
//! innermost span's name), are listed on [`LineTemplate`].
//!
//! # CRITICAL
//!
//! [`critical!`] logs at Python's CRITICAL: an ERROR event marked
//! `critical = true` ([`CRITICAL_FIELD`]), written as `[CRITICAL]` and
//! `"level":"CRITICAL"`. To filters it is an ERROR: it passes wherever an
//! ERROR passes.
//!
//! ```
//! use ms_utils_logging::critical;
//!
//! critical!(volume = "/data", "disk full");
//! // [CRITICAL] [22-11-2026 14:03:07] (main:3) -> disk full volume=/data
//! ```
//!
//! # Levels
//!
//! The base level is INFO ([`LoggerBuilder::level`]), DEBUG with
//! [`LoggerBuilder::run_debug`]. Directives in the `RUST_LOG` syntax then
//! override it: first those of the `RUST_LOG` variable, then those given to
//! [`LoggerBuilder::directives`].
//!
//! Both change while the service runs, through the guard's [`LogHandle`]
//! (the original's `Logger.set_level`):
//!
//! ```no_run
//! let guard = ms_utils_logging::Logger::setup("my_service")?;
//! let handle = guard.handle(); // Clone + Send + Sync
//! handle.set_level(tracing::Level::DEBUG)?;
//! handle.set_directives("info,hyper=warn")?; // a bad one changes nothing
//! # Ok::<(), ms_utils_logging::Error>(())
//! ```
//!
//! The filter sits under `tracing_subscriber::reload`; a line whose callsite
//! tracing has already classified takes no lock for it (see
//! [`RuntimeFilter`]).
//!
//! # More outputs
//!
//! [`LoggerBuilder::with_layer`] adds any `tracing-subscriber` layer
//! (OpenTelemetry, a remote sink) under the same level filter as the
//! console and the file. `examples/remote_log_sink.rs` in the repository
//! ships every line over HTTP without ever blocking the logging call.
//!
//! # Secrets in dependencies' TRACE lines
//!
//! `tungstenite` logs every websocket handshake request at TRACE, and the
//! gateway's token travels in its URI (`/?token=...`). So when the default
//! level is TRACE (base level, or a bare `trace` directive), the targets
//! `tungstenite` and `tokio_tungstenite` are held at DEBUG. A directive that
//! names one of them (`tungstenite=trace`) lifts the cap for it: that is an
//! explicit choice to see the token. The cap is a filter directive, so it
//! costs nothing per line; lines are not rewritten, because a redactor could
//! only guess at what a secret looks like. (A span directive such as
//! `[conn]=trace` enables every target inside that span, these included.)
//!
//! # Writing never waits on the disk
//!
//! Each output has a writer thread; a logging call formats its line and queues
//! it. The queue is bounded but not lossy: when it is full, the call waits for
//! room rather than dropping a line. The [`LogGuard`] returned by setup
//! writes out everything queued when dropped: keep it alive until the end of
//! `main`.
//!
//! # Setting up twice
//!
//! [`Logger::setup`] and [`LoggerBuilder::init`] install one logger for the
//! whole process. Exactly one call wins; any other, from any thread, returns
//! [`Error::AlreadyInitialized`] and changes nothing, so no line is written
//! twice. [`LoggerBuilder::build`] installs nothing and may be called freely
//! (tests use it with `tracing::dispatcher::with_default`).
//!
//! # Nothing happens before setup
//!
//! Unlike the original, which creates `./logs/` when imported, this crate
//! touches the disk only when the logger is built.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod builder;
mod error;
mod filter;
mod handle;
mod json;
mod level;
mod line;
mod logger;
mod output;
mod percent;
mod template;
mod text;
mod time_it;
mod writer;

pub use builder::LoggerBuilder;
pub use error::{DirectiveOrigin, Error, FormatProblem};
pub use handle::{LogHandle, LogSubscriber, RuntimeFilter};
pub use json::JsonFormat;
pub use level::{CRITICAL_FIELD, PythonLevel, level_name};
pub use line::{LineParts, ModuleStyle, format_line, module_name, push_field, write_line};
pub use logger::Logger;
pub use output::{DEFAULT_LOG_FILE, Format, Rotation};
pub use template::LineTemplate;
pub use text::{PythonFields, PythonFormat};
pub use time_it::TimeItGuard;
pub use writer::LogGuard;

/// `tracing`, re-exported so that a service can log with
/// `ms_utils_logging::tracing::info!` without depending on it separately.
///
/// # Examples
///
/// ```
/// ms_utils_logging::tracing::info!("through the re-export");
/// ```
pub use tracing;

/// `tracing-subscriber`, re-exported for writing the layers given to
/// [`LoggerBuilder::with_layer`] (its `Layer` trait) against the very
/// version this crate is built with.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::tracing_subscriber::Layer;
///
/// struct Nothing;
/// impl<S: tracing::Subscriber> Layer<S> for Nothing {}
///
/// let (_dispatch, _guard) = ms_utils_logging::Logger::builder()
///     .no_file()
///     .console(false)
///     .with_layer(Nothing)
///     .build()?;
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
pub use tracing_subscriber;

// The README's examples are compiled as doctests too, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Paths used by this crate's macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use tracing;
}
