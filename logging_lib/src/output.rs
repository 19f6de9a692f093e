//! Where lines go: the file (plain or rolling) and the formats.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use tracing_appender::rolling::{RollingFileAppender, Rotation as AppenderRotation};

use crate::error::Error;
use crate::template::LineTemplate;

/// The file the Python original writes to, relative to the working directory.
///
/// # Examples
///
/// ```
/// assert_eq!(ms_utils_logging::DEFAULT_LOG_FILE, "logs/combined.log");
/// ```
pub const DEFAULT_LOG_FILE: &str = "logs/combined.log";

/// How a line is written.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{Format, Logger};
///
/// let builder = Logger::builder().format(Format::Json);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `[LEVEL] [dd-mm-YYYY HH:MM:SS] (module:line) -> message key=value`
    /// (see [`PythonFormat`](crate::PythonFormat)). The default.
    #[default]
    Text,
    /// One JSON object per line (see [`JsonFormat`](crate::JsonFormat)).
    Json,
    /// A line of your own, written as a Python `logging` format string
    /// (see [`Format::python`] and [`LineTemplate`](crate::LineTemplate)).
    Python(LineTemplate),
}

impl Format {
    /// A line of your own, as Python's `Logger.create_formatter(fmt,
    /// datefmt)` makes it: `fmt` a `%`-style `logging` format string,
    /// `datefmt` the strftime format of `%(asctime)s` (`None`: Python's
    /// default, `2026-11-22 14:03:07,123`). The keys, flags and date codes
    /// are listed on [`LineTemplate`](crate::LineTemplate).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFormat`] (an unknown key, a conversion that does not
    /// fit its key, a malformed field, no field at all) or
    /// [`Error::InvalidDateFormat`], with the position of the fault.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ms_utils_logging::{Format, Logger};
    ///
    /// let format = Format::python(
    ///     "[%(levelname)s] %(asctime)s %(name)s %(funcName)s:%(lineno)d %(message)s",
    ///     Some("%d-%m-%Y %H:%M:%S"),
    /// )?;
    /// let _guard = Logger::builder().name("billing").format(format).init()?;
    /// tracing::warn!("card declined");
    /// // [WARNING] 22-11-2026 14:03:07 billing (unknown function):7 card declined
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn python(format: &str, datefmt: Option<&str>) -> Result<Self, Error> {
        LineTemplate::parse(format, datefmt).map(Self::Python)
    }
}

/// When the log file starts afresh.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{Logger, Rotation};
///
/// // logs/combined.2026-11-22.log, logs/combined.2026-11-23.log, ...
/// let builder = Logger::builder().rotation(Rotation::Daily);
/// # let _ = builder;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rotation {
    /// One file, appended to across runs (the Python original's behaviour).
    #[default]
    Never,
    /// A new file each day: `combined.log` becomes `combined.YYYY-MM-DD.log`
    /// in the same folder. The date is UTC (`tracing-appender` rolls on UTC
    /// midnight).
    Daily,
}

/// Creates the file's folder and opens the file for appending (or starts the
/// daily appender in that folder).
pub(crate) fn open_file(path: &Path, rotation: Rotation) -> Result<Box<dyn Write + Send>, Error> {
    let log_file = |source| Error::LogFile {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(log_file)?;
    match rotation {
        Rotation::Daily => {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            let ext = path.extension().map(|s| s.to_string_lossy().into_owned());
            let mut builder = RollingFileAppender::builder().rotation(AppenderRotation::DAILY);
            if let Some(stem) = stem {
                builder = builder.filename_prefix(stem);
            }
            if let Some(ext) = ext {
                builder = builder.filename_suffix(ext);
            }
            let appender = builder.build(dir).map_err(|source| Error::RollingFile {
                dir: dir.to_path_buf(),
                source: Box::new(source),
            })?;
            Ok(Box::new(appender))
        }
        _ => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(log_file)?;
            Ok(Box::new(file))
        }
    }
}
