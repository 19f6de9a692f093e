//! The crate's one error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

use tracing_subscriber::filter::ParseError;

/// Why setting the logger up failed.
///
/// Nothing is installed when an error is returned, so the caller may fix the
/// input and call again.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::Logger;
///
/// let err = Logger::builder().directives("hyper=loud").build().unwrap_err();
/// assert!(err.is_invalid_directive());
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log file, or the folder it goes in, could not be created or opened
    /// for appending.
    #[error("cannot open log file {}", path.display())]
    LogFile {
        /// The path that was asked for.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The daily rolling file appender could not start in `dir`.
    #[error("cannot start the rolling log file in {}", dir.display())]
    RollingFile {
        /// The folder the daily files go in.
        dir: PathBuf,
        /// What `tracing-appender` said.
        #[source]
        source: tracing_appender::rolling::InitError,
    },
    /// A `RUST_LOG`-style directive did not parse.
    #[error("invalid log directive `{directive}` (from {origin})")]
    InvalidDirective {
        /// The directive as written (one comma-separated piece).
        directive: String,
        /// Where the directive came from.
        origin: DirectiveOrigin,
        /// The parser's reason.
        #[source]
        source: ParseError,
    },
    /// A global logger is already installed: by an earlier setup of this crate
    /// (`by` names it), or by other code (`by` is `None`). The existing one
    /// stays in place and keeps writing; nothing was created on disk by the
    /// refused call unless another library, not this crate, had installed the
    /// global subscriber.
    #[error("a global logger is already installed{}", by.as_deref().map(|n| format!(" (by setup of `{n}`)")).unwrap_or_default())]
    AlreadyInitialized {
        /// The name given to the setup that won, when it was this crate's.
        by: Option<String>,
    },
}

impl Error {
    /// The log file could not be opened (including the rolling variant).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let blocker = dir.path().join("a-file");
    /// # std::fs::write(&blocker, b"").unwrap();
    /// // A path under a regular file cannot be a log file.
    /// let err = ms_utils_logging::Logger::builder()
    ///     .file(blocker.join("combined.log"))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.is_log_file());
    /// ```
    #[must_use]
    pub fn is_log_file(&self) -> bool {
        matches!(self, Self::LogFile { .. } | Self::RollingFile { .. })
    }

    /// A directive did not parse.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ms_utils_logging::Logger::builder().directives("=[").build().unwrap_err();
    /// assert!(err.is_invalid_directive());
    /// ```
    #[must_use]
    pub fn is_invalid_directive(&self) -> bool {
        matches!(self, Self::InvalidDirective { .. })
    }

    /// A global logger was already installed.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ms_utils_logging::Logger;
    ///
    /// let _guard = Logger::setup("svc")?;
    /// assert!(Logger::setup("svc").unwrap_err().is_already_initialized());
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn is_already_initialized(&self) -> bool {
        matches!(self, Self::AlreadyInitialized { .. })
    }
}

/// Where a directive came from, for [`Error::InvalidDirective`].
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{DirectiveOrigin, Error, Logger};
///
/// match Logger::builder().directives("x=nope").build() {
///     Err(Error::InvalidDirective { origin, .. }) => assert_eq!(origin, DirectiveOrigin::Builder),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DirectiveOrigin {
    /// The `RUST_LOG` environment variable.
    Env,
    /// [`LoggerBuilder::directives`](crate::LoggerBuilder::directives).
    Builder,
}

impl fmt::Display for DirectiveOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Env => "the RUST_LOG environment variable",
            Self::Builder => "the builder",
        })
    }
}
