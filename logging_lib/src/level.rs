//! Levels as Python's `logging` names them, CRITICAL included.
//!
//! tracing has five levels and no CRITICAL. A CRITICAL record is an ERROR
//! event that carries the field `critical = true` (what [`critical!`] logs):
//! an ERROR to tracing, so it passes every filter an ERROR passes and every
//! other layer sees a plain error with one more field; CRITICAL to this
//! crate's formats, which show it as `[CRITICAL]` / `"level":"CRITICAL"` and
//! leave the marker field out of the line. A field rather than a target of
//! its own, because a target would take the place of the module path that
//! directives filter on and `ModuleStyle::Target` shows.
//!
//! [`critical!`]: crate::critical

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level};

/// The name of the field that marks an ERROR event as CRITICAL, when its
/// value is the boolean `true`.
///
/// # Examples
///
/// ```
/// // What `ms_utils_logging::critical!("disk full")` logs:
/// tracing::error!(critical = true, "disk full");
/// assert_eq!(ms_utils_logging::CRITICAL_FIELD, "critical");
/// ```
pub const CRITICAL_FIELD: &str = "critical";

/// A record's level as Python's `logging` names and numbers it.
///
/// tracing's five levels map one to one (`WARN` is `Warning`; `TRACE`,
/// which Python lacks, is `Trace` with number 5); `Critical` is an ERROR
/// event marked with [`CRITICAL_FIELD`] (see [`critical!`](crate::critical)).
/// Ordered from least to most severe.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::PythonLevel;
///
/// let level = PythonLevel::from(tracing::Level::WARN);
/// assert_eq!(level.name(), "WARNING");
/// assert_eq!(level.number(), 30);
/// assert!(PythonLevel::Critical > PythonLevel::Error);
/// assert_eq!(PythonLevel::Critical.tracing_level(), tracing::Level::ERROR);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PythonLevel {
    /// tracing's `TRACE` (Python has no such level; number 5).
    Trace,
    /// `DEBUG` (10).
    Debug,
    /// `INFO` (20).
    #[default]
    Info,
    /// `WARNING` (30): tracing's `WARN`.
    Warning,
    /// `ERROR` (40).
    Error,
    /// `CRITICAL` (50): an ERROR event with `critical = true`.
    Critical,
}

impl PythonLevel {
    /// The level's name as Python spells it (`%(levelname)s`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ms_utils_logging::PythonLevel::Critical.name(), "CRITICAL");
    /// ```
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }

    /// The level's number in Python's `logging` (`%(levelno)s`): 10 for
    /// DEBUG up to 50 for CRITICAL, and 5 for TRACE.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ms_utils_logging::PythonLevel::Error.number(), 40);
    /// ```
    #[must_use]
    pub const fn number(self) -> u8 {
        match self {
            Self::Trace => 5,
            Self::Debug => 10,
            Self::Info => 20,
            Self::Warning => 30,
            Self::Error => 40,
            Self::Critical => 50,
        }
    }

    /// The tracing level events of this level are logged at (and filtered
    /// by): `Critical` is `ERROR`.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::PythonLevel;
    ///
    /// assert_eq!(PythonLevel::Warning.tracing_level(), tracing::Level::WARN);
    /// ```
    #[must_use]
    pub const fn tracing_level(self) -> Level {
        match self {
            Self::Trace => Level::TRACE,
            Self::Debug => Level::DEBUG,
            Self::Info => Level::INFO,
            Self::Warning => Level::WARN,
            Self::Error | Self::Critical => Level::ERROR,
        }
    }

    /// The level of `event`: its tracing level, or `Critical` for an ERROR
    /// event whose [`CRITICAL_FIELD`] is `true`. For a layer of your own
    /// (see [`LoggerBuilder::with_layer`](crate::LoggerBuilder::with_layer))
    /// that should tell CRITICAL apart; an ERROR event costs one walk over
    /// its fields, any other level nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::PythonLevel;
    /// use ms_utils_logging::tracing_subscriber::{Layer, layer::Context};
    ///
    /// /// Pages someone for CRITICAL only.
    /// struct Pager;
    ///
    /// impl<S: tracing::Subscriber> Layer<S> for Pager {
    ///     fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
    ///         if PythonLevel::of(event) == PythonLevel::Critical {
    ///             // page(...)
    ///         }
    ///     }
    /// }
    /// # let _ = Pager;
    /// ```
    #[must_use]
    pub fn of(event: &Event<'_>) -> Self {
        let level = Self::from(*event.metadata().level());
        if level != Self::Error || event.metadata().fields().field(CRITICAL_FIELD).is_none() {
            return level;
        }
        let mut marker = CriticalMarker::default();
        event.record(&mut marker);
        if marker.critical {
            Self::Critical
        } else {
            level
        }
    }

    /// This level, made `Critical` when it is `Error` and `critical` says so
    /// (what a formatter's field visitor found).
    pub(crate) fn with_marker(self, critical: bool) -> Self {
        if critical && self == Self::Error {
            Self::Critical
        } else {
            self
        }
    }

    /// The terminal colour of the level's name.
    pub(crate) const fn colour(self) -> &'static str {
        match self {
            Self::Trace => "\x1b[35m",
            Self::Debug => "\x1b[34m",
            Self::Info => "\x1b[32m",
            Self::Warning => "\x1b[33m",
            Self::Error => "\x1b[31m",
            Self::Critical => "\x1b[1;31m",
        }
    }
}

impl From<Level> for PythonLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::TRACE => Self::Trace,
            Level::DEBUG => Self::Debug,
            Level::INFO => Self::Info,
            Level::WARN => Self::Warning,
            Level::ERROR => Self::Error,
        }
    }
}

/// The name, as [`PythonLevel::name`].
impl fmt::Display for PythonLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The level's name as Python's `logging` spells it.
///
/// `WARN` becomes `WARNING`; tracing's `TRACE`, which Python lacks, stays
/// `TRACE`. A tracing level is never CRITICAL: see [`PythonLevel::of`] for
/// an event's level with CRITICAL.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::level_name;
/// use tracing::Level;
///
/// assert_eq!(level_name(Level::WARN), "WARNING");
/// assert_eq!(level_name(Level::INFO), "INFO");
/// ```
#[must_use]
pub fn level_name(level: Level) -> &'static str {
    PythonLevel::from(level).name()
}

/// Whether a [`CRITICAL_FIELD`] is `true`, for [`PythonLevel::of`].
#[derive(Default)]
struct CriticalMarker {
    critical: bool,
}

impl Visit for CriticalMarker {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == CRITICAL_FIELD {
            self.critical = value;
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}
}

/// Logs at CRITICAL, Python's level above ERROR: `logger.critical(...)`.
///
/// Takes what [`tracing::error!`] takes (message, format arguments, fields,
/// `target:`, `parent:`, `name:`) and logs an ERROR event with the field
/// `critical = true`. This crate's formats write it as `[CRITICAL]` (text
/// and Python format strings, `%(levelno)s` 50) and `"level":"CRITICAL"`
/// (JSON), without the marker field. Everywhere else it is an ERROR: it
/// passes wherever an ERROR passes (level `ERROR`, `my_service=error`, ...),
/// and other layers see an error with a `critical` field
/// ([`PythonLevel::of`] tells them apart).
///
/// # Examples
///
/// ```
/// use ms_utils_logging::critical;
///
/// critical!("disk full");
/// // [CRITICAL] [22-11-2026 14:03:07] (main:4) -> disk full
/// let free = 0;
/// critical!(volume = "/data", "disk full: {free} bytes left");
/// // [CRITICAL] [22-11-2026 14:03:07] (main:7) -> disk full: 0 bytes left volume=/data
/// critical!(target: "storage", "disk full");
/// ```
///
/// Through the facade crate: `ms_utils::logging_lib::critical!("disk full")`.
#[macro_export]
macro_rules! critical {
    (name: $name:expr, target: $target:expr, parent: $parent:expr, $($rest:tt)+) => {
        $crate::__critical!((name: $name, target: $target, parent: $parent,) $($rest)+)
    };
    (name: $name:expr, target: $target:expr, $($rest:tt)+) => {
        $crate::__critical!((name: $name, target: $target,) $($rest)+)
    };
    (name: $name:expr, parent: $parent:expr, $($rest:tt)+) => {
        $crate::__critical!((name: $name, parent: $parent,) $($rest)+)
    };
    (target: $target:expr, parent: $parent:expr, $($rest:tt)+) => {
        $crate::__critical!((target: $target, parent: $parent,) $($rest)+)
    };
    (name: $name:expr, $($rest:tt)+) => {
        $crate::__critical!((name: $name,) $($rest)+)
    };
    (target: $target:expr, $($rest:tt)+) => {
        $crate::__critical!((target: $target,) $($rest)+)
    };
    (parent: $parent:expr, $($rest:tt)+) => {
        $crate::__critical!((parent: $parent,) $($rest)+)
    };
    ($($rest:tt)+) => {
        $crate::__critical!(() $($rest)+)
    };
}

/// [`critical!`] after its `name:`/`target:`/`parent:` prefix: puts the
/// marker first among the fields. Not part of the public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __critical {
    (($($prefix:tt)*) { $($field:tt)* }, $($arg:tt)*) => {
        $crate::__private::tracing::error!(
            $($prefix)* { critical = true, $($field)* }, $($arg)*
        )
    };
    (($($prefix:tt)*) $($rest:tt)+) => {
        $crate::__private::tracing::error!($($prefix)* critical = true, $($rest)+)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tracing_level_has_its_python_name_and_number() {
        let levels: Vec<_> = [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .into_iter()
        .map(|l| (level_name(l), PythonLevel::from(l).number()))
        .collect();
        assert_eq!(
            levels,
            [
                ("TRACE", 5),
                ("DEBUG", 10),
                ("INFO", 20),
                ("WARNING", 30),
                ("ERROR", 40)
            ]
        );
        assert_eq!(
            (PythonLevel::Critical.name(), PythonLevel::Critical.number()),
            ("CRITICAL", 50)
        );
    }

    #[test]
    fn the_marker_only_raises_an_error() {
        assert_eq!(PythonLevel::Error.with_marker(true), PythonLevel::Critical);
        assert_eq!(PythonLevel::Error.with_marker(false), PythonLevel::Error);
        assert_eq!(PythonLevel::Warning.with_marker(true), PythonLevel::Warning);
    }

    #[test]
    fn tracing_level_round_trips_except_critical() {
        for level in [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ] {
            assert_eq!(PythonLevel::from(level).tracing_level(), level);
        }
        assert_eq!(PythonLevel::Critical.tracing_level(), Level::ERROR);
    }
}
