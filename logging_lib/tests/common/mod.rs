//! Shared support for the integration tests: a console writer into memory and
//! the line-format regex.
#![allow(dead_code, unreachable_pub)]

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ms_utils_logging::{Logger, LoggerBuilder};
use regex::Regex;

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
        r"^\[(TRACE|DEBUG|INFO|WARNING|ERROR)\] \[(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\] \(([^:()]+):(\d+)\) -> (.*)$",
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
