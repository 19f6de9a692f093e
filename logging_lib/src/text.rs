//! The text event formatter: gathers an event's parts and hands them to
//! [`write_line`](crate::write_line).

use std::cell::{Cell, RefCell};
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Local, NaiveDateTime, TimeZone};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::line::{
    LineParts, ModuleStyle, module_name, push_field, start_field, write_line, write_str_value,
};

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
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonFormat {
    module_style: ModuleStyle,
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
    static LAST_SECOND: Cell<Option<(u64, NaiveDateTime)>> = const { Cell::new(None) };
}

/// Local wall-clock time to the second, which is all the line shows.
///
/// Converting to local time costs more than reading the clock, and a busy
/// thread logs many lines within one second, so the conversion is done once
/// per second per thread.
fn local_now() -> NaiveDateTime {
    let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        return Local::now().naive_local();
    };
    let second = since_epoch.as_secs();
    if let Some((cached, time)) = LAST_SECOND.get()
        && cached == second
    {
        return time;
    }
    let time = i64::try_from(second)
        .ok()
        .and_then(|s| Local.timestamp_opt(s, 0).single())
        .map_or_else(|| Local::now().naive_local(), |t| t.naive_local());
    LAST_SECOND.set(Some((second, time)));
    time
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
        let time = local_now();
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let ansi = writer.has_ansi_escapes();
        let mut write = |scratch: &mut Scratch| {
            scratch.message.clear();
            scratch.fields.clear();
            event.record(&mut EventVisitor {
                scratch,
                skip_log_fields: normalized.is_some(),
            });
            // Outside any span this is one look at the thread's span stack:
            // nothing is allocated.
            if let Some(span) = ctx.parent_span() {
                push_span_fields::<S, N>(&span, &mut scratch.fields);
            }
            let parts = LineParts {
                level: *meta.level(),
                time,
                module: module_name(self.module_style, meta.file(), meta.target()),
                line: meta.line(),
                message: &scratch.message,
                fields: &scratch.fields,
            };
            write_line(&mut writer, &parts, ansi)?;
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
}

impl EventVisitor<'_> {
    fn skip(&self, field: &Field) -> bool {
        self.skip_log_fields && field.name().starts_with("log.")
    }
}

impl Visit for EventVisitor<'_> {
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
