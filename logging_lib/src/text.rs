//! The text event formatter: gathers an event's parts and hands them to
//! [`write_line`](crate::write_line), or to a
//! [`LineTemplate`](crate::LineTemplate).

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{FixedOffset, Local, NaiveDateTime, TimeZone, Timelike};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::level::{CRITICAL_FIELD, PythonLevel};
use crate::line::{
    LineParts, ModuleStyle, module_name, push_field, start_field, write_line, write_str_value,
};
use crate::template::LineTemplate;

/// The Python original's line format as a `tracing-subscriber` event
/// formatter: `[INFO] [22-11-2026 14:03:07] (handler:42) -> connected key=value`.
///
/// [`Logger`](crate::Logger) uses it for every text output; it is public so
/// that a service that builds its own subscriber can still write the fleet's
/// format. Records bridged from the `log` crate show their own file and line,
/// and their `log.*` bookkeeping fields are left out.
///
/// The fields of the spans the event is in follow the event's own fields,
/// outermost span first, so that every line logged while handling a job
/// carries it: `-> uploaded bytes=512 event=ms-task job_id=j1 from=svc`.
/// Span names are not shown (the Python layout has no place for them; the
/// JSON format has). Span fields are written by the layer's field formatter:
/// with [`PythonFields`], as [`Logger`](crate::Logger) sets it, they are
/// quoted like event fields; with `tracing-subscriber`'s default one, strings
/// are always quoted.
///
/// With a [`template`](Self::template), it writes that Python format string
/// instead of the fixed line.
///
/// An ERROR event marked `critical = true` (see
/// [`critical!`](crate::critical)) is written as `CRITICAL`, without the
/// marker field.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{ModuleStyle, PythonFields, PythonFormat};
///
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(PythonFields::new())
///     .event_format(PythonFormat::new().module_style(ModuleStyle::Target))
///     .with_writer(std::io::stderr)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     let _job = tracing::info_span!("task", job_id = "j1").entered();
///     tracing::info!("ready"); // ... -> ready job_id=j1
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct PythonFormat {
    module_style: ModuleStyle,
    template: Option<LineTemplate>,
    logger: String,
}

impl PythonFormat {
    /// The default: module shown as the file stem.
    ///
    /// # Examples
    ///
    /// ```
    /// let format = ms_utils_logging::PythonFormat::new();
    /// # let _ = format;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses how the `(module:line)` part names the source.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{ModuleStyle, PythonFormat};
    ///
    /// let format = PythonFormat::new().module_style(ModuleStyle::Target);
    /// # let _ = format;
    /// ```
    #[must_use]
    pub fn module_style(mut self, style: ModuleStyle) -> Self {
        self.module_style = style;
        self
    }

    /// Writes each line as `template` says instead of the fixed line: a
    /// Python `logging` format string (see [`LineTemplate`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{LineTemplate, PythonFields, PythonFormat};
    ///
    /// let template = LineTemplate::parse("%(levelname)-8s %(name)s: %(message)s", None)?;
    /// let subscriber = tracing_subscriber::fmt()
    ///     .fmt_fields(PythonFields::new())
    ///     .event_format(PythonFormat::new().template(template).logger("billing"))
    ///     .with_writer(std::io::stderr)
    ///     .finish();
    /// tracing::subscriber::with_default(subscriber, || {
    ///     tracing::warn!("card declined"); // WARNING  billing: card declined
    /// });
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    #[must_use]
    pub fn template(mut self, template: LineTemplate) -> Self {
        self.template = Some(template);
        self
    }

    /// The logger's name, shown by a template's `%(name)s` (empty, the
    /// default: the event's target is shown). [`Logger`](crate::Logger)
    /// sets it to the builder's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let format = ms_utils_logging::PythonFormat::new().logger("billing");
    /// # let _ = format;
    /// ```
    #[must_use]
    pub fn logger(mut self, name: impl Into<String>) -> Self {
        self.logger = name.into();
        self
    }
}

/// Message and fields of one event. Reused per thread, so that a line costs no
/// allocation once the buffers have grown.
#[derive(Default)]
struct Scratch {
    message: String,
    fields: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    static LAST_SECOND: Cell<Option<(u64, NaiveDateTime, FixedOffset)>> = const { Cell::new(None) };
    static THREAD_NUMBER: u64 = thread_number();
}

/// Local wall-clock time and its offset from UTC.
///
/// Converting to local time costs more than reading the clock, and a busy
/// thread logs many lines within one second, so the conversion is done once
/// per second per thread and the fraction of the second added to it.
fn local_now() -> (NaiveDateTime, FixedOffset) {
    let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        let now = Local::now();
        return (now.naive_local(), *now.offset());
    };
    let second = since_epoch.as_secs();
    let (time, offset) = match LAST_SECOND.get() {
        Some((cached, time, offset)) if cached == second => (time, offset),
        _ => {
            let now = i64::try_from(second)
                .ok()
                .and_then(|s| Local.timestamp_opt(s, 0).single())
                .unwrap_or_else(Local::now);
            let (time, offset) = (now.naive_local(), *now.offset());
            LAST_SECOND.set(Some((second, time, offset)));
            (time, offset)
        }
    };
    let time = time
        .with_nanosecond(since_epoch.subsec_nanos())
        .unwrap_or(time);
    (time, offset)
}

/// This thread's number, as Rust's `ThreadId` shows it (`ThreadId(1)` for
/// the main thread): its value is not public otherwise.
fn thread_number() -> u64 {
    let id = format!("{:?}", std::thread::current().id());
    id.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

impl<S, N> FormatEvent<S, N> for PythonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (time, utc_offset) = local_now();
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let ansi = writer.has_ansi_escapes();
        let mut write = |scratch: &mut Scratch| {
            scratch.message.clear();
            scratch.fields.clear();
            let mut visitor = EventVisitor {
                scratch,
                skip_log_fields: normalized.is_some(),
                marker: *meta.level() == Level::ERROR,
                critical: false,
            };
            event.record(&mut visitor);
            let critical = visitor.critical;
            // Outside any span this is one look at the thread's span stack:
            // nothing is allocated.
            let span = ctx.parent_span();
            if let Some(span) = &span {
                push_span_fields::<S, N>(span, &mut scratch.fields);
            }
            let mut parts = LineParts {
                level: PythonLevel::from(*meta.level()).with_marker(critical),
                time,
                utc_offset,
                module: module_name(self.module_style, meta.file(), meta.target()),
                line: meta.line(),
                message: &scratch.message,
                fields: &scratch.fields,
                ..LineParts::default()
            };
            match &self.template {
                None => write_line(&mut writer, &parts, ansi)?,
                Some(template) => {
                    parts.logger = &self.logger;
                    parts.target = meta.target();
                    parts.file = meta.file();
                    parts.function = span.as_ref().map(SpanRef::name);
                    // Looked up only when the format shows them.
                    let thread = template.needs_thread().then(std::thread::current);
                    if let Some(thread) = &thread {
                        parts.thread_id = THREAD_NUMBER.with(|n| *n);
                        parts.thread_name = thread.name();
                    }
                    if template.needs_process() {
                        parts.process_id = std::process::id();
                    }
                    template.write_line(&mut writer, &parts, ansi)?;
                }
            }
            writer.write_char('\n')
        };
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => write(&mut scratch),
            // A field's `Debug` logged while being formatted: fresh buffers
            // instead of a `RefCell` panic.
            Err(_) => write(&mut Scratch::default()),
        })
    }
}

/// Appends the fields of `span` and of its parents, outermost first, as
/// formatted by the layer's field formatter `N` when the span was created
/// (and when fields were recorded into it later). Recursing instead of
/// `Scope::from_root` collects nothing.
fn push_span_fields<S, N>(span: &SpanRef<'_, S>, fields: &mut String)
where
    S: for<'a> LookupSpan<'a>,
    N: 'static,
{
    if let Some(parent) = span.parent() {
        push_span_fields::<S, N>(&parent, fields);
    }
    let extensions = span.extensions();
    if let Some(formatted) = extensions.get::<FormattedFields<N>>()
        && !formatted.fields.is_empty()
    {
        if !fields.is_empty() {
            fields.push(' ');
        }
        fields.push_str(&formatted.fields);
    }
}

/// Formats span fields as [`PythonFormat`] formats event fields:
/// `key=value` pairs separated by single spaces, a string value quoted and
/// escaped only when it would not split back (see
/// [`push_field`](crate::push_field)), other values with `Debug`.
///
/// [`Logger`](crate::Logger) uses it for its text outputs; give it to your
/// own `tracing-subscriber` fmt layer (`.fmt_fields(PythonFields::new())`)
/// with [`PythonFormat`] to get the same span fields.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::{PythonFields, PythonFormat};
///
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(PythonFields::new())
///     .event_format(PythonFormat::new())
///     .with_writer(std::io::stderr)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("upload", bucket = "media", note = "two words").entered();
///     tracing::info!("done"); // -> done bucket=media note="two words"
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonFields {
    _private: (),
}

impl PythonFields {
    /// The field formatter.
    ///
    /// # Examples
    ///
    /// ```
    /// let fields = ms_utils_logging::PythonFields::new();
    /// # let _ = fields;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<'writer> FormatFields<'writer> for PythonFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = SpanVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes span fields straight into the span's buffer.
struct SpanVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl SpanVisitor<'_> {
    fn start(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        self.writer.write_str(field.name())?;
        self.writer.write_char('=')
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self
                .start(field)
                .and_then(|()| write_str_value(&mut self.writer, value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self
                .start(field)
                .and_then(|()| write!(self.writer, "{value:?}"));
        }
    }
}

struct EventVisitor<'a> {
    scratch: &'a mut Scratch,
    /// `log` records carry their metadata as `log.file`, `log.line`, ... fields;
    /// the normalized metadata already shows them.
    skip_log_fields: bool,
    /// Whether a boolean [`CRITICAL_FIELD`] is the CRITICAL marker (on ERROR
    /// events) rather than a field to show.
    marker: bool,
    /// The marker's value.
    critical: bool,
}

impl EventVisitor<'_> {
    fn skip(&self, field: &Field) -> bool {
        self.skip_log_fields && field.name().starts_with("log.")
    }
}

impl Visit for EventVisitor<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.marker && field.name() == CRITICAL_FIELD {
            self.critical = value;
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.scratch.message.push_str(value);
        } else if !self.skip(field) {
            push_field(&mut self.scratch.fields, field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.scratch.message, "{value:?}");
        } else if !self.skip(field) {
            start_field(&mut self.scratch.fields, field.name());
            let _ = write!(self.scratch.fields, "{value:?}");
        }
    }
}
