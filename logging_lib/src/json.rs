//! The JSON-lines event formatter.

use std::fmt::{self, Write};

use chrono::{Local, SecondsFormat};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::level::{CRITICAL_FIELD, PythonLevel};
use crate::line::{ModuleStyle, module_name};

/// One JSON object per line, for log shippers:
///
/// ```json
/// {"time":"2026-11-22T14:03:07.123456+01:00","level":"INFO","target":"svc::handler",
///  "module":"handler","line":42,"message":"connected","fields":{"job":7},
///  "span":{"name":"request","id":"abc"},
///  "spans":[{"name":"conn","host":"gw"},{"name":"request","id":"abc"}],"logger":"svc"}
/// ```
///
/// (shown wrapped; each object is written on one line). `time` is local time
/// in RFC 3339 with microseconds, `level` is spelled as Python spells it,
/// `level` is `CRITICAL` for an ERROR event marked `critical = true` (see
/// [`critical!`](crate::critical); the marker is not among the `fields`),
/// `line` is `null` when unknown, `span` is the event's innermost span with
/// its fields (or `null`), `spans` every span the event is in, outermost
/// first, each with its fields (`[]` outside any span), and `logger` is the
/// name given to
/// [`Logger::setup`](crate::Logger::setup) (left out when empty). Span fields
/// are taken as JSON when the layer formats them with
/// `tracing_subscriber::fmt::format::JsonFields`, as [`Logger`](crate::Logger)
/// does; otherwise they appear as one string under `"fields"`.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::JsonFormat;
/// use tracing_subscriber::fmt::format::JsonFields;
///
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(JsonFields::new())
///     .event_format(JsonFormat::new().logger("svc"))
///     .with_writer(std::io::stderr)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || tracing::info!(job = 7, "connected"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct JsonFormat {
    module_style: ModuleStyle,
    logger: String,
}

impl JsonFormat {
    /// The default: module as the file stem, no logger name.
    ///
    /// # Examples
    ///
    /// ```
    /// let format = ms_utils_logging::JsonFormat::new();
    /// # let _ = format;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses how the `module` key names the source.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{JsonFormat, ModuleStyle};
    ///
    /// let format = JsonFormat::new().module_style(ModuleStyle::Target);
    /// # let _ = format;
    /// ```
    #[must_use]
    pub fn module_style(mut self, style: ModuleStyle) -> Self {
        self.module_style = style;
        self
    }

    /// Sets the `logger` key written on every object (empty: left out).
    ///
    /// # Examples
    ///
    /// ```
    /// let format = ms_utils_logging::JsonFormat::new().logger("billing");
    /// # let _ = format;
    /// ```
    #[must_use]
    pub fn logger(mut self, name: impl Into<String>) -> Self {
        self.logger = name.into();
        self
    }
}

impl<S, N> FormatEvent<S, N> for JsonFormat
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
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut visitor = JsonVisitor {
            message: String::new(),
            fields: Map::new(),
            skip_log_fields: normalized.is_some(),
            marker: *meta.level() == Level::ERROR,
            critical: false,
        };
        event.record(&mut visitor);

        let mut spans = Vec::new();
        if let Some(span) = ctx.parent_span() {
            push_spans::<S, N>(&span, &mut spans);
        }
        let span = spans.last().cloned().unwrap_or(Value::Null);

        let mut object = Map::new();
        object.insert(
            "time".into(),
            Value::from(Local::now().to_rfc3339_opts(SecondsFormat::Micros, false)),
        );
        let level = PythonLevel::from(*meta.level()).with_marker(visitor.critical);
        object.insert("level".into(), Value::from(level.name()));
        object.insert("target".into(), Value::from(meta.target()));
        object.insert(
            "module".into(),
            Value::from(module_name(self.module_style, meta.file(), meta.target())),
        );
        object.insert("line".into(), meta.line().map_or(Value::Null, Value::from));
        object.insert("message".into(), Value::from(visitor.message));
        object.insert("fields".into(), Value::Object(visitor.fields));
        object.insert("span".into(), span);
        object.insert("spans".into(), Value::Array(spans));
        if !self.logger.is_empty() {
            object.insert("logger".into(), Value::from(self.logger.as_str()));
        }
        let line = serde_json::to_string(&Value::Object(object)).map_err(|_| fmt::Error)?;
        writer.write_str(&line)?;
        writer.write_char('\n')
    }
}

/// Appends `span` and its parents, outermost first, as `{"name": .., fields..}`.
fn push_spans<S, N>(span: &SpanRef<'_, S>, spans: &mut Vec<Value>)
where
    S: for<'a> LookupSpan<'a>,
    N: 'static,
{
    if let Some(parent) = span.parent() {
        push_spans::<S, N>(&parent, spans);
    }
    let mut object = Map::new();
    object.insert("name".into(), Value::from(span.name()));
    let extensions = span.extensions();
    if let Some(formatted) = extensions.get::<FormattedFields<N>>() {
        match serde_json::from_str::<Map<String, Value>>(&formatted.fields) {
            Ok(fields) => object.extend(fields),
            Err(_) if formatted.fields.is_empty() => {}
            Err(_) => {
                object.insert("fields".into(), Value::from(formatted.fields.as_str()));
            }
        }
    }
    spans.push(Value::Object(object));
}

struct JsonVisitor {
    message: String,
    fields: Map<String, Value>,
    skip_log_fields: bool,
    /// Whether a boolean [`CRITICAL_FIELD`] is the CRITICAL marker (on ERROR
    /// events) rather than a field.
    marker: bool,
    /// The marker's value.
    critical: bool,
}

impl JsonVisitor {
    fn insert(&mut self, field: &Field, value: Value) {
        if !(self.skip_log_fields && field.name().starts_with("log.")) {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for JsonVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.marker && field.name() == CRITICAL_FIELD {
            self.critical = value;
        } else {
            self.insert(field, Value::from(value));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.insert(field, Value::from(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.insert(field, Value::from(format!("{value:?}")));
        }
    }
}
