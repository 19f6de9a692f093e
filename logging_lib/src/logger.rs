//! [`Logger`], the entry point: the Python original's `Logger.setup`.

use crate::builder::LoggerBuilder;
use crate::error::Error;
use crate::writer::LogGuard;

/// Entry point: sets up the process-wide logger.
///
/// See the [crate docs](crate) for the line format and the outputs.
///
/// # Examples
///
/// ```no_run
/// use ms_utils_logging::Logger;
///
/// let _guard = Logger::setup("my_service")?;
/// tracing::info!(job = 7, "connected");
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Logger {
    _private: (),
}

impl Logger {
    /// Installs the default logger for the whole process, as the Python
    /// original's `Logger.setup_logger(name)` does: level INFO (or what
    /// `RUST_LOG` says), console (stderr) and `logs/combined.log`, the Python
    /// line format. Shorthand for `Logger::builder().name(name).init()`.
    ///
    /// Safe to call more than once and from several threads: exactly one
    /// call installs the logger; every other call returns
    /// [`Error::AlreadyInitialized`], creates nothing on disk and leaves the
    /// installed logger as it was, so no line is ever written twice.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyInitialized`] as above, [`Error::LogFile`] when
    /// `logs/combined.log` cannot be opened, [`Error::InvalidDirective`] for a
    /// bad `RUST_LOG`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let _guard = ms_utils_logging::Logger::setup("my_service")?;
    /// tracing::warn!("disk almost full");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn setup(name: impl Into<String>) -> Result<LogGuard, Error> {
        Self::builder().name(name).init()
    }

    /// A builder for everything else: level, directives, file, console,
    /// format, rotation.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ms_utils_logging::{Format, Logger};
    ///
    /// let _guard = Logger::builder()
    ///     .name("my_service")
    ///     .run_debug(std::env::var_os("DEBUG").is_some())
    ///     .directives("hyper=warn")
    ///     .file("/var/log/my_service.log")
    ///     .file_format(Format::Json)
    ///     .init()?;
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn builder() -> LoggerBuilder {
        LoggerBuilder::default()
    }
}
