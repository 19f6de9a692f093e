//! The text line, as pure functions: no clock, no I/O, no global state.
//!
//! The fleet's dashboards and greps read the Python original's format
//! `[LEVEL] [dd-mm-YYYY HH:MM:SS] (module:lineno) -> message`, so this module is
//! the single place that spells it; the event formatter only gathers the parts.

use std::fmt::{self, Write};

use chrono::{Datelike, FixedOffset, NaiveDateTime, Offset, Timelike, Utc};

use crate::level::PythonLevel;

/// How the `(module:line)` part names where a record came from.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{ModuleStyle, module_name};
///
/// let file = Some("src/handlers/connect.rs");
/// assert_eq!(module_name(ModuleStyle::FileStem, file, "svc::handlers::connect"), "connect");
/// assert_eq!(module_name(ModuleStyle::Target, file, "svc::handlers::connect"), "svc::handlers::connect");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModuleStyle {
    /// The source file's name without its extension, like Python's
    /// `%(module)s` (`src/handler.rs` shows as `handler`). The default.
    #[default]
    FileStem,
    /// The record's full target, usually its module path
    /// (`my_service::handler`).
    Target,
}

/// The name shown in `(module:line)` for a record from `file` with `target`.
///
/// With [`ModuleStyle::FileStem`], a record without a file (rare: some `log`
/// records) falls back to the last `::` segment of its target.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{ModuleStyle, module_name};
///
/// assert_eq!(module_name(ModuleStyle::FileStem, Some("src/main.rs"), "svc"), "main");
/// assert_eq!(module_name(ModuleStyle::FileStem, None, "hyper::proto::h1"), "h1");
/// ```
#[must_use]
pub fn module_name<'a>(style: ModuleStyle, file: Option<&'a str>, target: &'a str) -> &'a str {
    match (style, file) {
        (ModuleStyle::Target, _) => target,
        (ModuleStyle::FileStem, Some(file)) => {
            let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
            match name.rsplit_once('.') {
                Some((stem, _)) if !stem.is_empty() => stem,
                _ => name,
            }
        }
        (ModuleStyle::FileStem, None) => target.rsplit("::").next().unwrap_or(target),
    }
}

/// The parts of one text line, gathered from an event: what
/// [`write_line`] writes, and what a [`LineTemplate`](crate::LineTemplate)
/// may show (Python's `LogRecord` attributes).
///
/// The fixed line uses `level`, `time` (to the second), `module`, `line`,
/// `message` and `fields`; the rest is for format strings. Build one with
/// `..LineParts::default()` for the parts you do not care about.
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use ms_utils_logging::{LineParts, PythonLevel, format_line};
///
/// let time = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(14, 3, 7).unwrap();
/// let parts = LineParts {
///     level: PythonLevel::Info,
///     time,
///     module: "handler",
///     line: Some(42),
///     message: "connected",
///     ..LineParts::default()
/// };
/// assert_eq!(format_line(&parts), "[INFO] [22-11-2026 14:03:07] (handler:42) -> connected");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineParts<'a> {
    /// The record's level (`%(levelname)s`, `%(levelno)s`).
    pub level: PythonLevel,
    /// Local wall-clock time of the record (`%(asctime)s`, `%(msecs)d`; the
    /// fixed line shows it to the second).
    pub time: NaiveDateTime,
    /// How far local time is ahead of UTC at `time` (`%z` in a date format,
    /// `%(created)f`). Default: UTC.
    pub utc_offset: FixedOffset,
    /// What [`module_name`] gave for the record (`%(module)s`).
    pub module: &'a str,
    /// Source line (`%(lineno)d`); `None` (unknown) is shown as `0`, so that
    /// the `(module:number)` shape greps rely on always holds.
    pub line: Option<u32>,
    /// The formatted message.
    pub message: &'a str,
    /// Structured fields already rendered as `key=value` pairs separated by
    /// single spaces (see [`push_field`]), or empty. They follow the message
    /// after one space, in the fixed line and in `%(message)s`.
    pub fields: &'a str,
    /// The logger's name (`%(name)s`): the name given to the builder; when
    /// empty, `target` is shown.
    pub logger: &'a str,
    /// The record's target, usually its module path.
    pub target: &'a str,
    /// The source file as the compiler saw it (`%(pathname)s`; its last
    /// component is `%(filename)s`); `None` shows `(unknown file)`.
    pub file: Option<&'a str>,
    /// What stands for Python's function name (`%(funcName)s`): the name of
    /// the innermost span the event is in; `None` shows `(unknown function)`.
    pub function: Option<&'a str>,
    /// The process id (`%(process)d`).
    pub process_id: u32,
    /// The thread's number (`%(thread)d`): Rust's `ThreadId`, 1 for the main
    /// thread.
    pub thread_id: u64,
    /// The thread's name (`%(threadName)s`, `main` for the main thread);
    /// `None` shows `<unnamed>`.
    pub thread_name: Option<&'a str>,
}

impl Default for LineParts<'_> {
    /// An INFO record at the Unix epoch, UTC, with every text empty and
    /// every number 0.
    fn default() -> Self {
        Self {
            level: PythonLevel::Info,
            time: NaiveDateTime::default(),
            utc_offset: Utc.fix(),
            module: "",
            line: None,
            message: "",
            fields: "",
            logger: "",
            target: "",
            file: None,
            function: None,
            process_id: 0,
            thread_id: 0,
            thread_name: None,
        }
    }
}

/// Writes `parts` as one line, without the trailing newline.
///
/// With `ansi`, the level name is coloured (for terminals).
///
/// # Errors
///
/// Only what `out` returns.
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use ms_utils_logging::{LineParts, PythonLevel, write_line};
///
/// let time = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap().and_hms_opt(3, 4, 5).unwrap();
/// let parts = LineParts {
///     level: PythonLevel::Warning,
///     time,
///     module: "s3",
///     line: Some(7),
///     message: "slow upload",
///     fields: "bucket=media secs=12.5",
///     ..LineParts::default()
/// };
/// let mut out = String::new();
/// write_line(&mut out, &parts, false).unwrap();
/// assert_eq!(out, "[WARNING] [02-01-2026 03:04:05] (s3:7) -> slow upload bucket=media secs=12.5");
/// ```
pub fn write_line<W: Write + ?Sized>(
    out: &mut W,
    parts: &LineParts<'_>,
    ansi: bool,
) -> fmt::Result {
    let name = parts.level.name();
    if ansi {
        write!(out, "[{}{name}\x1b[0m] ", parts.level.colour())?;
    } else {
        write!(out, "[{name}] ")?;
    }
    let t = &parts.time;
    // Written field by field rather than through chrono's `format`, which would
    // parse the pattern again on every line.
    write!(
        out,
        "[{:02}-{:02}-{:04} {:02}:{:02}:{:02}] ({}:{}) -> {}",
        t.day(),
        t.month(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second(),
        parts.module,
        parts.line.unwrap_or(0),
        parts.message,
    )?;
    if !parts.fields.is_empty() {
        out.write_char(' ')?;
        out.write_str(parts.fields)?;
    }
    Ok(())
}

/// [`write_line`] into a new `String`, without colour.
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use ms_utils_logging::{LineParts, PythonLevel, format_line};
///
/// let time = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(14, 3, 7).unwrap();
/// let parts = LineParts {
///     level: PythonLevel::Critical,
///     time,
///     module: "main",
///     message: "disk full",
///     ..LineParts::default()
/// };
/// assert_eq!(format_line(&parts), "[CRITICAL] [22-11-2026 14:03:07] (main:0) -> disk full");
/// ```
#[must_use]
pub fn format_line(parts: &LineParts<'_>) -> String {
    let mut out = String::with_capacity(64 + parts.message.len() + parts.fields.len());
    // Writing into a String cannot fail.
    let _ = write_line(&mut out, parts, false);
    out
}

/// Appends ` key=value` (no leading space when `fields` is empty) for a string
/// value.
///
/// A value that is empty or holds whitespace, `"` or `=` is written quoted
/// and escaped, so that a line always splits back into its pairs.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::push_field;
///
/// let mut fields = String::new();
/// push_field(&mut fields, "user", "bob");
/// push_field(&mut fields, "reason", "bad token");
/// assert_eq!(fields, r#"user=bob reason="bad token""#);
/// ```
pub fn push_field(fields: &mut String, key: &str, value: &str) {
    start_field(fields, key);
    // Writing into a String cannot fail.
    let _ = write_str_value(fields, value);
}

/// Writes a string value as [`push_field`] does: as is, or quoted and escaped
/// when it would not split back.
pub(crate) fn write_str_value<W: Write + ?Sized>(out: &mut W, value: &str) -> fmt::Result {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '=' || c.is_control());
    if plain {
        out.write_str(value)
    } else {
        write!(out, "{value:?}")
    }
}

/// Starts a field: the separating space if needed, the key and `=`.
pub(crate) fn start_field(fields: &mut String, key: &str) {
    if !fields.is_empty() {
        fields.push(' ');
    }
    fields.push_str(key);
    fields.push('=');
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn time() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_micro_opt(14, 3, 7, 999_999)
            .unwrap()
    }

    fn parts(level: PythonLevel, fields: &str) -> LineParts<'_> {
        LineParts {
            level,
            time: time(),
            module: "handler",
            line: Some(42),
            message: "connected",
            fields,
            ..LineParts::default()
        }
    }

    #[test]
    fn default_line_matches_the_python_format() {
        assert_eq!(
            format_line(&parts(PythonLevel::Info, "")),
            "[INFO] [22-11-2026 14:03:07] (handler:42) -> connected"
        );
    }

    #[test]
    fn every_level_is_spelled_as_python_does() {
        let levels = [
            PythonLevel::Trace,
            PythonLevel::Debug,
            PythonLevel::Info,
            PythonLevel::Warning,
            PythonLevel::Error,
            PythonLevel::Critical,
        ];
        let names: Vec<_> = levels
            .into_iter()
            .map(|level| format_line(&parts(level, "")))
            .map(|line| line[1..line.find(']').unwrap()].to_owned())
            .collect();
        assert_eq!(
            names,
            ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
        );
    }

    #[test]
    fn fields_follow_the_message_after_one_space() {
        assert_eq!(
            format_line(&parts(PythonLevel::Debug, "job=7 ok=true")),
            "[DEBUG] [22-11-2026 14:03:07] (handler:42) -> connected job=7 ok=true"
        );
    }

    #[test]
    fn ansi_colours_only_the_level_name() {
        let mut out = String::new();
        write_line(&mut out, &parts(PythonLevel::Error, ""), true).unwrap();
        assert_eq!(
            out,
            "[\x1b[31mERROR\x1b[0m] [22-11-2026 14:03:07] (handler:42) -> connected"
        );
        out.clear();
        write_line(&mut out, &parts(PythonLevel::Critical, ""), true).unwrap();
        assert!(out.starts_with("[\x1b[1;31mCRITICAL\x1b[0m] "), "{out}");
    }

    #[test]
    fn module_is_the_file_stem_on_any_path_style() {
        let m = |f| module_name(ModuleStyle::FileStem, Some(f), "t");
        assert_eq!(m("src/handler.rs"), "handler");
        assert_eq!(m(r"C:\svc\src\handler.rs"), "handler");
        assert_eq!(m("handler"), "handler");
        assert_eq!(m("src/.hidden"), ".hidden");
        assert_eq!(m("src/a.b.rs"), "a.b");
    }

    #[test]
    fn module_falls_back_to_the_last_target_segment() {
        assert_eq!(module_name(ModuleStyle::FileStem, None, "a::b::c"), "c");
        assert_eq!(module_name(ModuleStyle::FileStem, None, "plain"), "plain");
        assert_eq!(
            module_name(ModuleStyle::Target, Some("src/x.rs"), "a::b"),
            "a::b"
        );
    }

    #[test]
    fn field_values_are_quoted_only_when_they_would_not_split_back() {
        let mut f = String::new();
        push_field(&mut f, "a", "plain");
        push_field(&mut f, "b", "two words");
        push_field(&mut f, "c", "");
        push_field(&mut f, "d", "k=v");
        push_field(&mut f, "e", "say \"hi\"");
        push_field(&mut f, "f", "line\nbreak");
        assert_eq!(
            f,
            r#"a=plain b="two words" c="" d="k=v" e="say \"hi\"" f="line\nbreak""#
        );
    }
}
