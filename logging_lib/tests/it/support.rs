//! Shared support for the integration tests: a console writer into memory,
//! the line-format regex, and a layer that records what it sees.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ms_utils_logging::tracing_subscriber::Layer;
use ms_utils_logging::tracing_subscriber::layer::Context;
use ms_utils_logging::tracing_subscriber::registry::LookupSpan;
use ms_utils_logging::{LogHandle, Logger, LoggerBuilder};
use regex::Regex;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};

/// A console writer whose bytes the test can read back after the guard drops.
#[derive(Debug, Clone, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The Python original's line: level, time, module, line, message.
pub fn line_regex() -> Regex {
    Regex::new(
        r"^\[(TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL)\] \[(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\] \(([^:()]+):(\d+)\) -> (.*)$",
    )
    .unwrap()
}

/// A builder independent of the caller's `RUST_LOG`, with the console going
/// into `console` and no file.
pub fn console_only(console: &SharedBuf) -> LoggerBuilder {
    Logger::builder()
        .env_directives(false)
        .no_file()
        .console_writer(console.clone())
}

/// Like [`console_only`], plus a file at `path`.
pub fn console_and_file(console: &SharedBuf, path: &Path) -> LoggerBuilder {
    console_only(console).file(path)
}

/// Runs `f` with the built logger as the thread's default, drops the guard
/// (flushing everything) and returns the console's lines.
pub fn capture(builder: LoggerBuilder, console: &SharedBuf, f: impl FnOnce()) -> Vec<String> {
    let (dispatch, guard) = builder.build().unwrap();
    tracing::dispatcher::with_default(&dispatch, f);
    drop(guard);
    console.lines()
}

/// Like [`capture`], with the logger's [`LogHandle`] given to `f`.
pub fn capture_with_handle(
    builder: LoggerBuilder,
    console: &SharedBuf,
    f: impl FnOnce(&LogHandle),
) -> Vec<String> {
    let (dispatch, guard) = builder.build().unwrap();
    let handle = guard.handle();
    tracing::dispatcher::with_default(&dispatch, || f(&handle));
    drop(guard);
    console.lines()
}

/// The message of each line (what follows `-> `).
pub fn messages(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.rsplit("-> ").next().unwrap())
        .collect()
}

/// A layer that records `"<tag>:<message>"` for each event it sees, and the
/// name of the event's innermost span when there is one
/// (`"<tag>:<message>@<span>"`).
#[derive(Debug, Clone)]
pub struct Recorder {
    tag: &'static str,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    pub fn new(tag: &'static str, seen: &Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            tag,
            seen: seen.clone(),
        }
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        struct Message(String);
        impl Visit for Message {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let mut entry = format!("{}:{}", self.tag, message.0);
        if let Some(span) = ctx.event_span(event) {
            entry.push('@');
            entry.push_str(span.name());
        }
        self.seen.lock().unwrap().push(entry);
    }
}
