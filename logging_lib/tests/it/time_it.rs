//! `time_it!`: the Python text, the caller's file and line, the value given
//! back, and a line however the body ends.

use std::time::Duration;

use ms_utils_logging::time_it;

use crate::support::{SharedBuf, console_only, line_regex};

/// The elapsed seconds in a `"<name> executed in 0.00012345s"` message.
fn parse_elapsed(message: &str, name: &str) -> f64 {
    let re = regex::Regex::new(&format!(r"^{name} executed in (\d+\.\d{{8}})s$")).unwrap();
    let caps = re
        .captures(message)
        .unwrap_or_else(|| panic!("not a time_it message: {message:?}"));
    caps[1].parse().unwrap()
}

/// (level, module, line, message) of each captured line.
fn parsed(console: &SharedBuf) -> Vec<(String, String, u32, String)> {
    let re = line_regex();
    console
        .lines()
        .iter()
        .map(|l| {
            let c = re.captures(l).unwrap();
            (c[1].into(), c[3].into(), c[4].parse().unwrap(), c[5].into())
        })
        .collect()
}

#[test]
fn an_expression_is_timed_at_info_with_the_callers_file_and_line() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let mut line = 0;
    let value = tracing::dispatcher::with_default(&dispatch, || {
        line = line!() + 1;
        time_it!("work", {
            std::thread::sleep(Duration::from_millis(20)); // the work itself
            41 + 1
        })
    });
    drop(guard);

    assert_eq!(value, 42);
    let lines = parsed(&console);
    assert_eq!(lines.len(), 1);
    let (level, module, at, message) = &lines[0];
    assert_eq!(level, "INFO");
    assert_eq!(module, "time_it", "the caller's file, not the macro's");
    assert_eq!(*at, line, "the caller's line");
    assert!(parse_elapsed(message, "work") >= 0.020, "{message}");
}

fn parse_twice(input: &str) -> Result<u32, std::num::ParseIntError> {
    let n = time_it!("parse", input.parse::<u32>())?;
    Ok(n * 2)
}

#[test]
fn an_error_result_is_returned_and_still_timed() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let results = tracing::dispatcher::with_default(&dispatch, || {
        (parse_twice("21"), parse_twice("not a number"))
    });
    drop(guard);

    assert_eq!(results.0, Ok(42));
    assert!(results.1.is_err());
    let lines = parsed(&console);
    assert_eq!(
        lines.len(),
        2,
        "one line per call, the failing one included"
    );
    for (_, _, _, message) in &lines {
        parse_elapsed(message, "parse");
    }
}

#[test]
fn a_panicking_body_is_still_timed() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let outcome = tracing::dispatcher::with_default(&dispatch, || {
        std::panic::catch_unwind(|| time_it!("doomed", panic!("boom")))
    });
    drop(guard);

    assert!(outcome.is_err());
    let lines = parsed(&console);
    assert_eq!(lines.len(), 1);
    parse_elapsed(&lines[0].3, "doomed");
}

#[test]
fn the_name_may_be_any_display_value() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let job = 7;
    tracing::dispatcher::with_default(&dispatch, || time_it!(format!("job {job}"), ()));
    drop(guard);
    parse_elapsed(&parsed(&console)[0].3, "job 7");
}

#[tokio::test]
async fn a_future_is_timed_to_completion_not_creation() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let default = tracing::dispatcher::set_default(&dispatch);

    let line = line!() + 1;
    let timed = time_it!(async "fetch", async {
        std::thread::sleep(Duration::from_millis(20)); // work before the await
        tokio::task::yield_now().await;
        std::thread::sleep(Duration::from_millis(20)); // and after it
        "done"
    });
    assert_eq!(timed.await, "done");

    drop(default);
    drop(guard);
    let lines = parsed(&console);
    assert_eq!(lines.len(), 1);
    let (level, module, at, message) = &lines[0];
    assert_eq!(
        (level.as_str(), module.as_str(), *at),
        ("INFO", "time_it", line)
    );
    assert!(parse_elapsed(message, "fetch") >= 0.040, "{message}");
}

/// A subscriber that writes synchronously, so that the test can look at the
/// output at any moment, not only after a guard drop.
fn synchronous(console: &SharedBuf) -> impl tracing::Subscriber + Send + Sync {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .event_format(ms_utils_logging::PythonFormat::new())
        .with_writer(std::sync::Mutex::new(console.clone()))
        .finish()
}

#[tokio::test]
async fn a_future_is_timed_only_once_polled_and_when_dropped_unfinished() {
    let console = SharedBuf::new();
    let _default = tracing::subscriber::set_default(synchronous(&console));

    let never_polled = time_it!(async "idle", async { 1 });
    assert!(
        console.lines().is_empty(),
        "creating the future logs nothing"
    );
    drop(never_polled);
    assert!(
        console.lines().is_empty(),
        "a future never started was never timed"
    );

    let mut unfinished = Box::pin(time_it!(async "cancelled", std::future::pending::<()>()));
    tokio::select! {
        biased;
        () = &mut unfinished => unreachable!("pending never completes"),
        () = std::future::ready(()) => {}
    }
    assert!(
        console.lines().is_empty(),
        "still running: nothing logged yet"
    );
    drop(unfinished);
    let lines = parsed(&console);
    assert_eq!(lines.len(), 1, "a dropped future logs the time it ran");
    parse_elapsed(&lines[0].3, "cancelled");
}

#[tokio::test]
async fn a_failing_future_is_timed() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let default = tracing::dispatcher::set_default(&dispatch);

    let result: Result<(), String> =
        time_it!(async "upload", async { Err("refused".to_owned()) }).await;

    drop(default);
    drop(guard);
    assert_eq!(result, Err("refused".to_owned()));
    parse_elapsed(&parsed(&console)[0].3, "upload");
}

#[tokio::test]
async fn a_panicking_future_is_timed() {
    let console = SharedBuf::new();
    let (dispatch, guard) = console_only(&console).build().unwrap();
    let default = tracing::dispatcher::set_default(&dispatch);

    let joined = tokio::spawn(time_it!(async "crash", async {
        tokio::task::yield_now().await;
        panic!("boom");
    }))
    .await;

    drop(default);
    drop(guard);
    assert!(joined.unwrap_err().is_panic());
    let lines = parsed(&console);
    assert_eq!(lines.len(), 1);
    parse_elapsed(&lines[0].3, "crash");
}
