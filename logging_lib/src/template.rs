//! Python `logging` format strings (`Logger.create_formatter(fmt, datefmt)`):
//! parsed once into a [`LineTemplate`], then filled from [`LineParts`] per
//! line. Pure: no clock, no I/O, no global state.

use std::fmt::{self, Write};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::format::{Item, StrftimeItems};
use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};

use crate::error::{Error, FormatProblem};
use crate::line::LineParts;
use crate::percent::{self, Kind, Spec, Value};

/// A line format written as a Python `logging` format string, with its date
/// format: what `logging.Formatter(fmt, datefmt)` takes, checked when parsed.
///
/// Give it to the builder as [`Format::python`](crate::Format::python), or
/// to your own `tracing-subscriber` setup through
/// [`PythonFormat::template`](crate::PythonFormat::template); or fill it
/// yourself from [`LineParts`] with [`format_line`](Self::format_line).
///
/// # The keys
///
/// | key | value | Rust source |
/// |---|---|---|
/// | `%(levelname)s` | `INFO`, `WARNING`, `CRITICAL`, ... | the level ([`PythonLevel`](crate::PythonLevel)) |
/// | `%(levelno)s` | 20, 30, 50, ... (TRACE: 5) | the level |
/// | `%(asctime)s` | `2026-11-22 14:03:07,123`, or as `datefmt` says | local time |
/// | `%(msecs)d` | milliseconds of the second (a float, as in Python) | local time |
/// | `%(created)f` | seconds since the Unix epoch (a float) | the time |
/// | `%(name)s` | the logger's name | the name given to the builder, else the target |
/// | `%(message)s` | the message, then the fields as `key=value` | the event |
/// | `%(module)s` | `handler` | the source file's stem ([`ModuleStyle`](crate::ModuleStyle)) |
/// | `%(filename)s` | `handler.rs` | the source file's name |
/// | `%(pathname)s` | `src/handler.rs` | the source path as the compiler saw it |
/// | `%(lineno)d` | 42 | the source line (0 when unknown) |
/// | `%(funcName)s` | `handle_job` | the innermost span's name (with `#[instrument]`, the function's); `(unknown function)` outside spans |
/// | `%(process)d` | 4242 | the process id |
/// | `%(thread)d` | 1 | Rust's thread number (`ThreadId`), not Python's `get_ident()` |
/// | `%(threadName)s` | `main`, `tokio-runtime-worker` | the thread's name (`<unnamed>` when it has none) |
///
/// `%%` writes a `%`. Each field takes Python's `%` flags, width and
/// precision: `%(levelname)-8s` (left-aligned in 8 columns), `%(lineno)04d`,
/// `%(levelname).1s`, `%(msecs)03d`, `%(name)r`; conversions
/// `s r a d i u o x X e E f F g G c`, where the key's value allows them.
/// Python's `relativeCreated`, `processName`, `taskName`, `msg`, `args`,
/// `exc_info`, `exc_text` and `stack_info` have no counterpart: they are
/// refused as unknown keys.
///
/// # The date format
///
/// Without one, `%(asctime)s` is Python's default `%Y-%m-%d %H:%M:%S,mmm`
/// (milliseconds after a comma). With one, it is written by chrono's
/// strftime, which agrees with Python's (the C library's) on the common
/// codes, in the C locale Python starts with (`%a`, `%b`, `%c`, `%p` in
/// English). It differs on: `%Z`, which chrono writes as the offset
/// (`+01:00`) where Python writes the zone's abbreviation (`CET`); `%f`,
/// `%.3f` and the like, which chrono writes as fractions of the second and
/// Python leaves as they are. A code chrono does not know (such as glibc's
/// `%E`/`%O` modifiers) is refused.
///
/// # Errors are found when parsing
///
/// Python's `Formatter` finds an unknown key or a conversion that does not
/// fit only when it formats a record, and then prints a
/// `--- Logging error ---` instead of the line. [`parse`](Self::parse)
/// finds them before anything is logged: [`Error::InvalidFormat`], with the
/// byte position and a [`FormatProblem`], or [`Error::InvalidDateFormat`].
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use ms_utils_logging::{LineParts, LineTemplate, PythonLevel};
///
/// let template = LineTemplate::parse(
///     "%(asctime)s %(levelname)-8s %(name)s %(funcName)s:%(lineno)d %(message)s",
///     Some("%d-%m-%Y %H:%M:%S"),
/// )?;
/// let time = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(14, 3, 7).unwrap();
/// let parts = LineParts {
///     level: PythonLevel::Warning,
///     time,
///     logger: "billing",
///     function: Some("charge"),
///     line: Some(42),
///     message: "card declined",
///     fields: "user=bob",
///     ..LineParts::default()
/// };
/// assert_eq!(
///     template.format_line(&parts),
///     "22-11-2026 14:03:07 WARNING  billing charge:42 card declined user=bob"
/// );
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
#[derive(Clone)]
pub struct LineTemplate {
    inner: Arc<Parsed>,
}

/// What [`LineTemplate::parse`] makes of its input.
struct Parsed {
    format: String,
    datefmt: Option<String>,
    pieces: Vec<Piece>,
    /// The date format's items; `None`: Python's default.
    date_items: Option<Vec<Item<'static>>>,
    /// Whether a field shows the thread's number or name.
    needs_thread: bool,
    /// Whether a field shows the process id.
    needs_process: bool,
}

enum Piece {
    Literal(String),
    Field { key: Key, spec: Spec },
}

/// The record keys a format may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    LevelName,
    LevelNo,
    PathName,
    FileName,
    Module,
    LineNo,
    FuncName,
    Created,
    Msecs,
    Thread,
    ThreadName,
    Process,
    Message,
    AscTime,
}

impl Key {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "name" => Self::Name,
            "levelname" => Self::LevelName,
            "levelno" => Self::LevelNo,
            "pathname" => Self::PathName,
            "filename" => Self::FileName,
            "module" => Self::Module,
            "lineno" => Self::LineNo,
            "funcName" => Self::FuncName,
            "created" => Self::Created,
            "msecs" => Self::Msecs,
            "thread" => Self::Thread,
            "threadName" => Self::ThreadName,
            "process" => Self::Process,
            "message" => Self::Message,
            "asctime" => Self::AscTime,
            _ => return None,
        })
    }

    fn kind(self) -> Kind {
        match self {
            Self::LevelNo | Self::LineNo | Self::Thread | Self::Process => Kind::Int,
            Self::Created | Self::Msecs => Kind::Float,
            _ => Kind::Str,
        }
    }
}

const UNKNOWN_FILE: &str = "(unknown file)";
const UNKNOWN_FUNCTION: &str = "(unknown function)";
const UNNAMED_THREAD: &str = "<unnamed>";
const RESET: &str = "\x1b[0m";

impl LineTemplate {
    /// The fixed line of [`Format::Text`](crate::Format::Text) as a Python
    /// format string (the original's), to use with [`TEXT_DATEFMT`](Self::TEXT_DATEFMT).
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::LineTemplate;
    ///
    /// // The fleet's line with milliseconds:
    /// let template = LineTemplate::parse(LineTemplate::TEXT_FORMAT, Some("%d-%m-%Y %H:%M:%S%.3f"))?;
    /// # let _ = template;
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub const TEXT_FORMAT: &str =
        "[%(levelname)s] [%(asctime)s] (%(module)s:%(lineno)d) -> %(message)s";

    /// The date format of [`Format::Text`](crate::Format::Text).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(ms_utils_logging::LineTemplate::TEXT_DATEFMT, "%d-%m-%Y %H:%M:%S");
    /// ```
    pub const TEXT_DATEFMT: &str = "%d-%m-%Y %H:%M:%S";

    /// Parses a Python `logging` format string (`%`-style) and its date
    /// format (`None`: Python's default, `2026-11-22 14:03:07,123`). As in
    /// Python, an empty format is the default `%(message)s` and an empty
    /// date format the default one.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidFormat`] for an unknown key, a conversion that does
    /// not fit its key, a malformed field or a format with no field;
    /// [`Error::InvalidDateFormat`] for a date code that cannot be written.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Error, FormatProblem, LineTemplate};
    ///
    /// assert!(LineTemplate::parse("%(levelname)s:%(name)s:%(message)s", None).is_ok());
    ///
    /// let err = LineTemplate::parse("%(levelname)s %(mesage)s", None).unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     Error::InvalidFormat { position: 14, problem: FormatProblem::UnknownKey { .. }, .. }
    /// ));
    /// ```
    pub fn parse(format: &str, datefmt: Option<&str>) -> Result<Self, Error> {
        let source = if format.is_empty() {
            "%(message)s"
        } else {
            format
        };
        let pieces = parse_pieces(source).map_err(|(position, problem)| Error::InvalidFormat {
            format: format.to_owned(),
            position,
            problem,
        })?;
        let date_items = datefmt
            .filter(|datefmt| !datefmt.is_empty())
            .map(|datefmt| {
                parse_datefmt(datefmt).map_err(|position| Error::InvalidDateFormat {
                    datefmt: datefmt.to_owned(),
                    position,
                })
            })
            .transpose()?;
        let uses = |wanted: &dyn Fn(Key) -> bool| {
            pieces
                .iter()
                .any(|piece| matches!(piece, Piece::Field { key, .. } if wanted(*key)))
        };
        let needs_thread = uses(&|key| matches!(key, Key::Thread | Key::ThreadName));
        let needs_process = uses(&|key| key == Key::Process);
        Ok(Self {
            inner: Arc::new(Parsed {
                format: format.to_owned(),
                datefmt: datefmt.map(str::to_owned),
                pieces,
                date_items,
                needs_thread,
                needs_process,
            }),
        })
    }

    /// The format string, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// let template = ms_utils_logging::LineTemplate::parse("%(message)s", None)?;
    /// assert_eq!(template.format(), "%(message)s");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn format(&self) -> &str {
        &self.inner.format
    }

    /// The date format, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// let template = ms_utils_logging::LineTemplate::parse("%(asctime)s %(message)s", Some("%H:%M"))?;
    /// assert_eq!(template.datefmt(), Some("%H:%M"));
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn datefmt(&self) -> Option<&str> {
        self.inner.datefmt.as_deref()
    }

    /// Writes `parts` as one line, without the trailing newline. With
    /// `ansi`, the level name is coloured as in the text format.
    ///
    /// # Errors
    ///
    /// Only what `out` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{LineParts, LineTemplate, PythonLevel};
    ///
    /// let template = LineTemplate::parse("%(levelname)s:%(message)s", None)?;
    /// let parts = LineParts { level: PythonLevel::Critical, message: "disk full", ..LineParts::default() };
    /// let mut out = String::new();
    /// template.write_line(&mut out, &parts, false).unwrap();
    /// assert_eq!(out, "CRITICAL:disk full");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn write_line<W: Write + ?Sized>(
        &self,
        out: &mut W,
        parts: &LineParts<'_>,
        ansi: bool,
    ) -> fmt::Result {
        for piece in &self.inner.pieces {
            match piece {
                Piece::Literal(text) => out.write_str(text)?,
                Piece::Field { key, spec } => {
                    let colour = ansi && *key == Key::LevelName;
                    if colour {
                        out.write_str(parts.level.colour())?;
                    }
                    self.write_field(out, *key, spec, parts)?;
                    if colour {
                        out.write_str(RESET)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// [`write_line`](Self::write_line) into a new `String`, without colour.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{LineParts, LineTemplate, PythonLevel};
    ///
    /// let template = LineTemplate::parse("%(levelno)s %(levelname).1s %(message)r", None)?;
    /// let parts = LineParts { level: PythonLevel::Error, message: "it's", ..LineParts::default() };
    /// assert_eq!(template.format_line(&parts), r#"40 E "it's""#);
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn format_line(&self, parts: &LineParts<'_>) -> String {
        let mut out = String::with_capacity(64 + parts.message.len() + parts.fields.len());
        // Writing into a String cannot fail.
        let _ = self.write_line(&mut out, parts, false);
        out
    }

    /// Whether the format shows the thread's number or name, which the
    /// formatter then looks up.
    pub(crate) fn needs_thread(&self) -> bool {
        self.inner.needs_thread
    }

    /// Whether the format shows the process id.
    pub(crate) fn needs_process(&self) -> bool {
        self.inner.needs_process
    }

    fn write_field<W: Write + ?Sized>(
        &self,
        out: &mut W,
        key: Key,
        spec: &Spec,
        parts: &LineParts<'_>,
    ) -> fmt::Result {
        // Keys made of several parts are written straight to `out` when
        // nothing pads them, through a buffer otherwise.
        let composed =
            matches!(key, Key::AscTime) || (key == Key::Message && !parts.fields.is_empty());
        if composed {
            if spec.is_plain() {
                return self.write_composed(out, key, parts);
            }
            let mut text = String::new();
            self.write_composed(&mut text, key, parts)?;
            return percent::write_value(out, spec, Value::Str(&text));
        }
        let value = match key {
            Key::Name if parts.logger.is_empty() => Value::Str(parts.target),
            Key::Name => Value::Str(parts.logger),
            Key::LevelName => Value::Str(parts.level.name()),
            Key::LevelNo => Value::Int(i64::from(parts.level.number())),
            Key::PathName => Value::Str(parts.file.unwrap_or(UNKNOWN_FILE)),
            Key::FileName => Value::Str(parts.file.map_or(UNKNOWN_FILE, file_name)),
            Key::Module => Value::Str(parts.module),
            Key::LineNo => Value::Int(i64::from(parts.line.unwrap_or(0))),
            Key::FuncName => Value::Str(parts.function.unwrap_or(UNKNOWN_FUNCTION)),
            Key::Created => Value::Float(created(parts)),
            Key::Msecs => Value::Float(f64::from(millis(parts))),
            Key::Thread => Value::Int(i64::try_from(parts.thread_id).unwrap_or(i64::MAX)),
            Key::ThreadName => Value::Str(parts.thread_name.unwrap_or(UNNAMED_THREAD)),
            Key::Process => Value::Int(i64::from(parts.process_id)),
            // A message without fields (`asctime` is always composed).
            Key::Message | Key::AscTime => Value::Str(parts.message),
        };
        match value {
            Value::Str(text) if spec.is_plain() => out.write_str(text),
            value => percent::write_value(out, spec, value),
        }
    }

    /// `%(asctime)s`, or `%(message)s` with its fields.
    fn write_composed<W: Write + ?Sized>(
        &self,
        out: &mut W,
        key: Key,
        parts: &LineParts<'_>,
    ) -> fmt::Result {
        if key == Key::Message {
            out.write_str(parts.message)?;
            out.write_char(' ')?;
            return out.write_str(parts.fields);
        }
        let t = &parts.time;
        match &self.inner.date_items {
            // Python's default, written field by field like the text line.
            None => write!(
                out,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                millis(parts),
            ),
            Some(items) => match parts.utc_offset.from_local_datetime(t).single() {
                Some(time) => write!(out, "{}", time.format_with_items(items.iter())),
                // Out of chrono's range: the time as it is.
                None => write!(out, "{t}"),
            },
        }
    }
}

/// Milliseconds of the second (a leap second's count as 999).
fn millis(parts: &LineParts<'_>) -> u32 {
    (parts.time.nanosecond() / 1_000_000).min(999)
}

/// Seconds since the epoch as CPython computes `time.time()` from
/// nanoseconds: one division of the nanosecond count.
fn created(parts: &LineParts<'_>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    parts
        .time
        .checked_sub_offset(parts.utc_offset)
        .and_then(|utc| utc.and_utc().timestamp_nanos_opt())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// The last component of a path, on either separator.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The pieces of `format`, or the byte position and the problem.
fn parse_pieces(format: &str) -> Result<Vec<Piece>, (usize, FormatProblem)> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest_from = 0;
    while let Some(offset) = format[rest_from..].find('%') {
        let start = rest_from + offset;
        literal.push_str(&format[rest_from..start]);
        let after = &format[start + 1..];
        if after.starts_with('%') {
            literal.push('%');
            rest_from = start + 2;
            continue;
        }
        let (key, spec, end) = parse_field(format, start)?;
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        pieces.push(Piece::Field { key, spec });
        rest_from = end;
    }
    literal.push_str(&format[rest_from..]);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    if !pieces.iter().any(|p| matches!(p, Piece::Field { .. })) {
        return Err((0, FormatProblem::NoField));
    }
    Ok(pieces)
}

/// The field whose `%` is at `start`: its key, its spec and the byte
/// position after it.
fn parse_field(format: &str, start: usize) -> Result<(Key, Spec, usize), (usize, FormatProblem)> {
    let fail = |problem| Err((start, problem));
    let mut chars = format[start + 1..].char_indices().peekable();
    match chars.next() {
        Some((_, '(')) => {}
        Some(_) => return fail(FormatProblem::MissingKey),
        None => return fail(FormatProblem::Incomplete),
    }
    // The key runs to the matching `)`: Python lets parentheses nest.
    let mut depth = 1;
    let mut key_end = None;
    for (i, c) in chars.by_ref() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    key_end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(key_end) = key_end else {
        return fail(FormatProblem::UnclosedKey);
    };
    let name = &format[start + 2..start + 1 + key_end];
    let Some(key) = Key::from_name(name) else {
        return fail(FormatProblem::UnknownKey {
            key: name.to_owned(),
        });
    };

    let mut spec = Spec::default();
    while let Some(&(_, c)) = chars.peek() {
        match c {
            '-' => spec.left = true,
            '0' => spec.zero = true,
            '+' => spec.plus = true,
            ' ' => spec.space = true,
            '#' => spec.alternate = true,
            _ => break,
        }
        chars.next();
    }
    let number = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        if chars.peek().is_some_and(|&(_, c)| c == '*') {
            return Err((start, FormatProblem::StarWidth));
        }
        let mut n: usize = 0;
        while let Some(digit) = chars.peek().and_then(|&(_, c)| c.to_digit(10)) {
            n = n.saturating_mul(10).saturating_add(digit as usize);
            chars.next();
        }
        Ok(n)
    };
    spec.width = number(&mut chars)?;
    if chars.peek().is_some_and(|&(_, c)| c == '.') {
        chars.next();
        spec.precision = Some(number(&mut chars)?);
    }
    // Length modifiers, accepted and ignored as Python does.
    while chars
        .peek()
        .is_some_and(|&(_, c)| matches!(c, 'h' | 'l' | 'L'))
    {
        chars.next();
    }
    let Some((i, conversion)) = chars.next() else {
        return fail(FormatProblem::Incomplete);
    };
    spec.conversion = match conversion {
        'i' | 'u' => 'd',
        c => c,
    };
    if !"sradoxXeEfFgGc".contains(spec.conversion) {
        return fail(FormatProblem::UnknownConversion { conversion });
    }
    if !percent::accepts(spec.conversion, key.kind()) {
        return fail(FormatProblem::WrongType {
            key: name.to_owned(),
            conversion,
        });
    }
    Ok((key, spec, start + 1 + i + conversion.len_utf8()))
}

/// The items of a date format, or the byte position of the first code that
/// cannot be written.
fn parse_datefmt(datefmt: &str) -> Result<Vec<Item<'static>>, usize> {
    let items = StrftimeItems::new(datefmt).parse_to_owned();
    // A code chrono parses may still be one it cannot write (`%#z`): write
    // every code once, at a time that has every field.
    let writable = items.as_ref().is_ok_and(|items| {
        let sample = NaiveDate::from_ymd_opt(2026, 11, 22)
            .and_then(|d| d.and_hms_opt(14, 3, 7))
            .and_then(|t| {
                FixedOffset::east_opt(3600)?
                    .from_local_datetime(&t)
                    .single()
            });
        sample.is_some_and(|time| {
            let mut out = String::new();
            write!(out, "{}", time.format_with_items(items.iter())).is_ok()
        })
    });
    match items {
        Ok(items) if writable => Ok(items),
        _ => Err(first_bad_code(datefmt)),
    }
}

/// The position of the first `%` code of `datefmt` that chrono cannot
/// parse or write on its own.
fn first_bad_code(datefmt: &str) -> usize {
    let sample = NaiveDate::from_ymd_opt(2026, 11, 22)
        .and_then(|d| d.and_hms_opt(14, 3, 7))
        .and_then(|t| {
            FixedOffset::east_opt(3600)?
                .from_local_datetime(&t)
                .single()
        });
    let mut indices = datefmt.char_indices();
    while let Some((i, c)) = indices.next() {
        if c != '%' {
            continue;
        }
        if datefmt[i + 1..].starts_with('%') {
            indices.next();
            continue;
        }
        let Some(item) = StrftimeItems::new(&datefmt[i..]).next() else {
            return i;
        };
        if matches!(item, Item::Error) {
            return i;
        }
        let written = sample.is_some_and(|time| {
            let mut out = String::new();
            write!(out, "{}", time.format_with_items(std::iter::once(item))).is_ok()
        });
        if !written {
            return i;
        }
    }
    0
}

/// Pins at compile time that a template (and so a `Format`) can go to
/// other threads with the builder.
fn _assert_impls() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    send_sync_clone::<LineTemplate>();
}

impl fmt::Debug for LineTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineTemplate")
            .field("format", &self.inner.format)
            .field("datefmt", &self.inner.datefmt)
            .finish()
    }
}

/// Equal when made from the same format and date format.
impl PartialEq for LineTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.inner.format == other.inner.format && self.inner.datefmt == other.inner.datefmt
    }
}

impl Eq for LineTemplate {}

impl Hash for LineTemplate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.format.hash(state);
        self.inner.datefmt.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::level::PythonLevel;

    fn problem(format: &str) -> (usize, FormatProblem) {
        match LineTemplate::parse(format, None) {
            Err(Error::InvalidFormat {
                position, problem, ..
            }) => (position, problem),
            other => panic!("{format}: {other:?}"),
        }
    }

    #[test]
    fn malformed_fields_are_refused_where_they_start() {
        use FormatProblem::*;
        assert_eq!(
            problem("%(levelname)s %(bogus)s"),
            (
                14,
                UnknownKey {
                    key: "bogus".into()
                }
            )
        );
        assert_eq!(problem("%(levelname"), (0, UnclosedKey));
        assert_eq!(problem("%(message)s %("), (12, UnclosedKey));
        assert_eq!(problem("%(message)s %"), (12, Incomplete));
        assert_eq!(problem("%(message)"), (0, Incomplete));
        assert_eq!(problem("%(message)-8"), (0, Incomplete));
        assert_eq!(problem("%(message)s %s"), (12, MissingKey));
        assert_eq!(problem("%(message)s %d"), (12, MissingKey));
        assert_eq!(problem("%(message)*s"), (0, StarWidth));
        assert_eq!(problem("%(message)5.*s"), (0, StarWidth));
        assert_eq!(
            problem("%(message)z"),
            (0, UnknownConversion { conversion: 'z' })
        );
        assert_eq!(
            problem("%(message)%"),
            (0, UnknownConversion { conversion: '%' })
        );
        assert_eq!(
            problem("é %(levelname)d"),
            (
                3,
                WrongType {
                    key: "levelname".into(),
                    conversion: 'd'
                }
            )
        );
        assert_eq!(
            problem("%(msecs)x"),
            (
                0,
                WrongType {
                    key: "msecs".into(),
                    conversion: 'x'
                }
            )
        );
        assert_eq!(problem("hello"), (0, NoField));
        assert_eq!(problem("100%%"), (0, NoField));
    }

    #[test]
    fn keys_pythons_logging_has_but_rust_cannot_fill_are_unknown() {
        for key in ["relativeCreated", "processName", "taskName", "msg", "args"] {
            let (_, problem) = problem(&format!("%({key})s"));
            assert_eq!(problem, FormatProblem::UnknownKey { key: key.into() });
        }
    }

    #[test]
    fn a_date_code_chrono_cannot_write_is_refused_where_it_starts() {
        for (datefmt, at) in [("%Y %Q", 3), ("%H:%M %#z", 6), ("%Ey", 0), ("%Y %", 3)] {
            match LineTemplate::parse("%(asctime)s", Some(datefmt)) {
                Err(Error::InvalidDateFormat { position, .. }) => {
                    assert_eq!(position, at, "{datefmt}");
                }
                other => panic!("{datefmt}: {other:?}"),
            }
        }
        assert!(LineTemplate::parse("%(asctime)s", Some("100%% %H")).is_ok());
    }

    #[test]
    fn the_text_format_as_a_template_writes_the_text_line() {
        let template =
            LineTemplate::parse(LineTemplate::TEXT_FORMAT, Some(LineTemplate::TEXT_DATEFMT))
                .unwrap();
        let time = NaiveDate::from_ymd_opt(2026, 11, 22)
            .unwrap()
            .and_hms_milli_opt(14, 3, 7, 999)
            .unwrap();
        for (fields, level) in [("", PythonLevel::Info), ("job=7", PythonLevel::Critical)] {
            let parts = LineParts {
                level,
                time,
                module: "handler",
                line: Some(42),
                message: "connected",
                fields,
                ..LineParts::default()
            };
            assert_eq!(template.format_line(&parts), crate::format_line(&parts));
            let (mut a, mut b) = (String::new(), String::new());
            template.write_line(&mut a, &parts, true).unwrap();
            crate::write_line(&mut b, &parts, true).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn unknown_parts_show_as_python_shows_them() {
        let template = LineTemplate::parse(
            "%(pathname)s|%(filename)s|%(funcName)s|%(threadName)s|%(name)s|%(lineno)d",
            None,
        )
        .unwrap();
        let parts = LineParts {
            target: "svc::db",
            ..LineParts::default()
        };
        assert_eq!(
            template.format_line(&parts),
            "(unknown file)|(unknown file)|(unknown function)|<unnamed>|svc::db|0"
        );
    }

    #[test]
    fn templates_compare_by_their_text() {
        let a = LineTemplate::parse("%(message)s", None).unwrap();
        let b = LineTemplate::parse("%(message)s", None).unwrap();
        let c = LineTemplate::parse("%(message)s", Some("%H")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(!a.needs_process() && !a.needs_thread());
        let d = LineTemplate::parse("%(thread)d %(process)d", None).unwrap();
        assert!(d.needs_thread() && d.needs_process());
    }
}
