//! Nothing is lost: not at the guard's drop right after a burst, not under
//! backpressure, not with many threads; and no line is torn.

use std::collections::HashSet;
use std::io::{self, Write};
use std::time::Duration;

use crate::support::{SharedBuf, console_and_file, console_only, line_regex};

fn read_lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn assert_numbered(lines: &[String], n: usize) {
    assert_eq!(lines.len(), n);
    for (i, line) in lines.iter().enumerate() {
        assert!(line.ends_with(&format!("-> burst line n={i}")), "{line}");
    }
}

#[test]
fn every_line_of_a_burst_is_written_when_the_guard_drops_right_after() {
    const N: usize = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("burst.log");
    let console = SharedBuf::new();
    let (dispatch, guard) = console_and_file(&console, &path).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..N {
            tracing::info!(n, "burst line");
        }
    });
    drop(guard);
    assert_numbered(&read_lines(&path), N);
    assert_numbered(&console.lines(), N);
}

#[test]
fn a_full_queue_makes_callers_wait_instead_of_dropping_lines() {
    const N: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small-queue.log");
    let console = SharedBuf::new();
    let builder = console_and_file(&console, &path).buffered_lines(8);
    let (dispatch, guard) = builder.build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..N {
            tracing::info!(n, "burst line");
        }
    });
    drop(guard);
    assert_numbered(&read_lines(&path), N);
    assert_numbered(&console.lines(), N);
}

/// A writer as slow as a congested disk: each write of the worker's buffer
/// takes 40 ms.
struct SlowWriter(SharedBuf);

impl Write for SlowWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        std::thread::sleep(Duration::from_millis(40));
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_guard_waits_for_a_slow_writer_past_tracing_appenders_one_second() {
    // ~3 MB in 64 KiB writes of 40 ms each: about 2 s of backlog at the drop,
    // more than the 1 s that tracing-appender's own guard waits.
    const N: usize = 50_000;
    let console = SharedBuf::new();
    let builder = console_only(&SharedBuf::new()).console_writer(SlowWriter(console.clone()));
    let (dispatch, guard) = builder.build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..N {
            tracing::info!(n, "burst line");
        }
    });
    drop(guard);
    assert_numbered(&console.lines(), N);
}

#[test]
fn eight_threads_of_ten_thousand_lines_are_all_written_whole() {
    const THREADS: usize = 8;
    const LINES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.log");
    let console = SharedBuf::new();
    let (dispatch, guard) = console_and_file(&console, &path).build().unwrap();

    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let dispatch = dispatch.clone();
            scope.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..LINES {
                        tracing::info!(
                            t,
                            i,
                            pad = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                            "from a thread"
                        );
                    }
                });
            });
        }
    });
    drop(guard);

    let re = line_regex();
    let field = regex::Regex::new(r"^from a thread t=(\d+) i=(\d+) pad=x{32}$").unwrap();
    for lines in [read_lines(&path), console.lines()] {
        assert_eq!(lines.len(), THREADS * LINES);
        let mut seen = HashSet::new();
        for line in &lines {
            let caps = re.captures(line).unwrap_or_else(|| panic!("torn: {line}"));
            let msg = field
                .captures(&caps[5])
                .unwrap_or_else(|| panic!("torn: {line}"));
            let key: (usize, usize) = (msg[1].parse().unwrap(), msg[2].parse().unwrap());
            assert!(seen.insert(key), "duplicate {key:?}");
        }
        assert_eq!(seen.len(), THREADS * LINES);
    }
}
