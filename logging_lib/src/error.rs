//! The crate's one error type.
//!
//! How causes are reported (one rule for `ws::Error`, `s3::Error`,
//! `ms_utils_encoding::Error` and `ms_utils_logging::Error`): `Display` is the
//! whole message on one line, what failed, where (the path, the directive) and
//! why (what the operating system or the parser said), and `source()` returns
//! nothing. So `{e}`, a `%e` log field and a reporter that walks `source()` all
//! print each cause exactly once. The causing error stays available, typed, in
//! the variant's `source` field.

use std::fmt;
use std::io;
use std::path::PathBuf;

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
#[non_exhaustive]
pub enum Error {
    /// The log file, or the folder it goes in, could not be created or opened
    /// for appending.
    LogFile {
        /// The path that was asked for.
        path: PathBuf,
        /// What the operating system said (its message ends this error's).
        source: io::Error,
    },
    /// The daily rolling file appender could not start in `dir`.
    RollingFile {
        /// The folder the daily files go in.
        dir: PathBuf,
        /// What `tracing-appender` said (its message ends this error's;
        /// boxed: its type is not part of this API).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A `RUST_LOG`-style directive did not parse.
    InvalidDirective {
        /// The directive as written (one comma-separated piece).
        directive: String,
        /// Where the directive came from.
        origin: DirectiveOrigin,
        /// The parser's reason (its message ends this error's; boxed: its
        /// type is not part of this API).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A global logger is already installed: by an earlier setup of this crate
    /// (`by` names it), or by other code (`by` is `None`). The existing one
    /// stays in place and keeps writing; nothing was created on disk by the
    /// refused call unless another library, not this crate, had installed the
    /// global subscriber.
    AlreadyInitialized {
        /// The name given to the setup that won, when it was this crate's.
        by: Option<String>,
    },
    /// A [`LogHandle`](crate::LogHandle) was used after its logger was
    /// dropped: the [`Dispatch`](tracing::Dispatch) returned by
    /// [`LoggerBuilder::build`](crate::LoggerBuilder::build) and every clone
    /// of it are gone, so there is nothing left to change. The logger
    /// installed by [`LoggerBuilder::init`](crate::LoggerBuilder::init) lives
    /// as long as the process: its handle never returns this.
    LoggerDropped,
    /// A Python `logging` format string (given to
    /// [`Format::python`](crate::Format::python) or
    /// [`LineTemplate::parse`](crate::LineTemplate::parse)) does not parse,
    /// or names a key this crate cannot fill.
    InvalidFormat {
        /// The format string as given.
        format: String,
        /// Byte offset in `format` of the `%` that starts the faulty field
        /// (the end of `format` for a field cut short; 0 when no field at
        /// all is the problem).
        position: usize,
        /// What is wrong there.
        problem: FormatProblem,
    },
    /// The date format given with a Python format string has a `%` code that
    /// cannot be written (not a strftime code chrono knows, or a
    /// parsing-only one such as `%#z`).
    InvalidDateFormat {
        /// The date format as given.
        datefmt: String,
        /// Byte offset in `datefmt` of the `%` of the faulty code.
        position: usize,
    },
}

/// `Debug` is the one line of `Display` (what failed, where, and why, the
/// cause included), so that a `main` returning this error prints a
/// readable line instead of a dump of internal types.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LogFile { path, source } => {
                write!(f, "cannot open log file {}: {source}", path.display())
            }
            Self::RollingFile { dir, source } => write!(
                f,
                "cannot start the rolling log file in {}: {source}",
                dir.display()
            ),
            Self::InvalidDirective {
                directive,
                origin,
                source,
            } => write!(
                f,
                "invalid log directive `{directive}` (from {origin}): {source}"
            ),
            Self::AlreadyInitialized { by: Some(name) } => write!(
                f,
                "a global logger is already installed (by setup of `{name}`)"
            ),
            Self::AlreadyInitialized { by: None } => {
                f.write_str("a global logger is already installed")
            }
            Self::LoggerDropped => f.write_str("the logger this handle changes has been dropped"),
            Self::InvalidFormat {
                format,
                position,
                problem,
            } => write!(
                f,
                "invalid log format `{format}` at byte {position}: {problem}"
            ),
            Self::InvalidDateFormat { datefmt, position } => {
                let code: String = datefmt
                    .get(*position..)
                    .unwrap_or_default()
                    .chars()
                    .take(3)
                    .collect();
                write!(
                    f,
                    "invalid date format `{datefmt}` at byte {position}: `{code}...` is not a strftime code that can be written"
                )
            }
        }
    }
}

/// No `source()`: see the module comment.
impl std::error::Error for Error {}

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

    /// A [`LogHandle`](crate::LogHandle) outlived its logger.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::Logger;
    ///
    /// let (dispatch, guard) = Logger::builder().no_file().console(false).build()?;
    /// let handle = guard.handle();
    /// drop(dispatch);
    /// let err = handle.set_level(tracing::Level::DEBUG).unwrap_err();
    /// assert!(err.is_logger_dropped());
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn is_logger_dropped(&self) -> bool {
        matches!(self, Self::LoggerDropped)
    }

    /// A Python format string, or its date format, was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Error, Format, FormatProblem};
    ///
    /// let err = Format::python("%(levelname)s %(user)s", None).unwrap_err();
    /// assert!(err.is_invalid_format());
    /// match err {
    ///     Error::InvalidFormat { position, problem: FormatProblem::UnknownKey { key }, .. } => {
    ///         assert_eq!((position, key.as_str()), (14, "user"));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(Format::python("%(message)s", Some("%Y %Q")).unwrap_err().is_invalid_format());
    /// ```
    #[must_use]
    pub fn is_invalid_format(&self) -> bool {
        matches!(
            self,
            Self::InvalidFormat { .. } | Self::InvalidDateFormat { .. }
        )
    }
}

/// What is wrong with a Python format string, for [`Error::InvalidFormat`].
///
/// Python's `logging.Formatter` finds most of these only when a record is
/// formatted (and prints a `--- Logging error ---` instead of the line);
/// here they are all found when the format is parsed.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{Error, FormatProblem, LineTemplate};
///
/// match LineTemplate::parse("%(levelname)d %(message)s", None) {
///     Err(Error::InvalidFormat { problem: FormatProblem::WrongType { key, conversion }, .. }) => {
///         assert_eq!((key.as_str(), conversion), ("levelname", 'd'));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FormatProblem {
    /// `%(key)` names no key this crate knows (a typo, or one of Python's
    /// it cannot fill, such as `relativeCreated`; see
    /// [`LineTemplate`](crate::LineTemplate) for the list).
    UnknownKey {
        /// The key between the parentheses.
        key: String,
    },
    /// `%(` without its closing `)`.
    UnclosedKey,
    /// The string ends inside a field: `%`, `%(message)` or
    /// `%(levelname)-8` with no conversion character.
    Incomplete,
    /// The conversion character is not one of Python's
    /// (`s r a d i u o x X e E f F g G c`).
    UnknownConversion {
        /// The character found.
        conversion: char,
    },
    /// The conversion does not fit the key's value: a number conversion
    /// (`d`, `x`, `f`, ...) for a text key such as `levelname`, or `x`, `o`,
    /// `c` for a non-integer one (`msecs`, `created`).
    WrongType {
        /// The key.
        key: String,
        /// The conversion character.
        conversion: char,
    },
    /// A field without a `(key)`, such as `%s` or `%d` (a logging format is
    /// filled from the record's keys only; `%%` writes a `%`).
    MissingKey,
    /// A `*` width or precision (it would take its value from a positional
    /// argument, which a logging format has none of).
    StarWidth,
    /// No `%(key)` field at all (Python refuses such a format too).
    NoField,
}

impl fmt::Display for FormatProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKey { key } => write!(f, "unknown key `{key}`"),
            Self::UnclosedKey => f.write_str("`%(` has no closing `)`"),
            Self::Incomplete => f.write_str("the format ends inside a field"),
            Self::UnknownConversion { conversion } => {
                write!(f, "unknown conversion character `{conversion}`")
            }
            Self::WrongType { key, conversion } => {
                write!(f, "conversion `{conversion}` does not fit the key `{key}`")
            }
            Self::MissingKey => f.write_str("a field without a `(key)` (write `%%` for a `%`)"),
            Self::StarWidth => f.write_str("a `*` width or precision"),
            Self::NoField => f.write_str("no `%(key)` field"),
        }
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
    /// [`LogHandle::set_directives`](crate::LogHandle::set_directives), at
    /// run time.
    Handle,
}

impl fmt::Display for DirectiveOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Env => "the RUST_LOG environment variable",
            Self::Builder => "the builder",
            Self::Handle => "LogHandle::set_directives",
        })
    }
}
