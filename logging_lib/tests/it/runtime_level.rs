//! The level and the directives changed while the logger runs, through the
//! guard's `LogHandle`. (The globally installed case, with tracing's cached
//! interests and `log` records, is in `tests/global/runtime_level.rs`.)

use std::sync::mpsc;

use ms_utils_logging::{DirectiveOrigin, Error, Format, Logger};
use tracing::Level;

use crate::support::{SharedBuf, capture_with_handle, console_only, messages};

/// One callsite per level, the same ones on every call, so that a change
/// must reach callsites tracing has already seen.
fn every_level(tag: &str) {
    tracing::trace!("{tag} trace");
    tracing::debug!("{tag} debug");
    tracing::info!("{tag} info");
    tracing::warn!("{tag} warn");
    tracing::error!("{tag} error");
}

#[test]
fn set_level_turns_levels_on_and_off_for_the_next_line() {
    let console = SharedBuf::new();
    let lines = capture_with_handle(console_only(&console), &console, |handle| {
        every_level("a");
        handle.set_level(Level::DEBUG).unwrap();
        every_level("b");
        handle.set_level(Level::ERROR).unwrap();
        every_level("c");
    });
    assert_eq!(
        messages(&lines),
        [
            "a info", "a warn", "a error", "b debug", "b info", "b warn", "b error", "c error"
        ]
    );
}

#[test]
fn set_level_overrides_run_debug_and_bare_levels_but_keeps_target_directives() {
    let console = SharedBuf::new();
    let builder = console_only(&console)
        .run_debug(true)
        .directives("error,noisy=warn");
    let lines = capture_with_handle(builder, &console, |handle| {
        tracing::info!(target: "noisy", "noisy info");
        tracing::info!("info");
        handle.set_level(Level::INFO).unwrap();
        tracing::info!(target: "noisy", "noisy info");
        tracing::warn!(target: "noisy", "noisy warn");
        tracing::debug!("debug");
        tracing::info!("info");
        assert!(handle.filter().unwrap().contains("noisy=warn"));
    });
    assert_eq!(messages(&lines), ["noisy warn", "info"]);
}

#[test]
fn set_directives_replace_the_builders_and_apply_after_the_base_level() {
    let console = SharedBuf::new();
    let builder = console_only(&console).directives("chatty=error");
    let lines = capture_with_handle(builder, &console, |handle| {
        tracing::warn!(target: "chatty", "chatty warn 1");
        handle.set_directives("warn,chatty=trace").unwrap();
        tracing::trace!(target: "chatty", "chatty trace");
        tracing::warn!(target: "chatty", "chatty warn 2");
        tracing::info!("info 2");
        tracing::warn!("warn 2");
        // Empty: back to the base level, and the builder's directive is gone.
        handle.set_directives("").unwrap();
        tracing::warn!(target: "chatty", "chatty warn 3");
        tracing::info!("info 3");
    });
    assert_eq!(
        messages(&lines),
        [
            "chatty trace",
            "chatty warn 2",
            "warn 2",
            "chatty warn 3",
            "info 3"
        ]
    );
}

#[test]
fn a_bad_directive_is_a_typed_error_naming_it_and_changes_nothing() {
    let console = SharedBuf::new();
    let builder = console_only(&console).directives("app=debug");
    let lines = capture_with_handle(builder, &console, |handle| {
        let before = handle.filter().unwrap();
        match handle.set_directives("warn, other=trace ,app=loud") {
            Err(Error::InvalidDirective {
                directive, origin, ..
            }) => {
                assert_eq!(directive, "app=loud");
                assert_eq!(origin, DirectiveOrigin::Handle);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(handle.filter().unwrap(), before);
        // Still the old filter, and a later change starts from it.
        tracing::debug!(target: "app", "app debug");
        tracing::info!("info");
        tracing::trace!(target: "other", "other trace");
        handle.set_level(Level::WARN).unwrap();
        tracing::debug!(target: "app", "app debug 2");
        tracing::info!("info 2");
    });
    assert_eq!(messages(&lines), ["app debug", "info", "app debug 2"]);
}

#[test]
fn at_trace_the_tungstenite_cap_still_holds_unless_named() {
    let console = SharedBuf::new();
    let lines = capture_with_handle(console_only(&console), &console, |handle| {
        handle.set_level(Level::TRACE).unwrap();
        tracing::trace!(target: "tungstenite::handshake::client", "token 1");
        tracing::trace!(target: "app", "app trace");
        handle.set_directives("tungstenite=trace").unwrap();
        tracing::trace!(target: "tungstenite::handshake::client", "token 2");
    });
    assert_eq!(messages(&lines), ["app trace", "token 2"]);
}

#[test]
fn a_change_reaches_every_thread_and_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.jsonl");
    let console = SharedBuf::new();
    let builder = console_only(&console).file(&path).file_format(Format::Json);
    let (dispatch, guard) = builder.build().unwrap();
    let handle = guard.handle();

    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let dispatch = dispatch.clone();
        scope.spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                for round in 0..2 {
                    go_rx.recv().unwrap();
                    tracing::debug!(round, "worker debug");
                    done_tx.send(()).unwrap();
                }
            });
        });
        go_tx.send(()).unwrap();
        done_rx.recv().unwrap();
        handle.set_level(Level::DEBUG).unwrap();
        go_tx.send(()).unwrap();
        done_rx.recv().unwrap();
    });
    drop(guard);

    assert_eq!(messages(&console.lines()), ["worker debug round=1"]);
    let file = std::fs::read_to_string(&path).unwrap();
    let objects: Vec<serde_json::Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 1, "{file}");
    assert_eq!(objects[0]["level"], "DEBUG");
    assert_eq!(objects[0]["fields"]["round"], 1);
}

#[test]
fn changes_from_several_threads_at_once_leave_a_consistent_filter() {
    let console = SharedBuf::new();
    let lines = capture_with_handle(console_only(&console), &console, |handle| {
        std::thread::scope(|scope| {
            for t in 0..4 {
                let handle = handle.clone();
                scope.spawn(move || {
                    for i in 0..50 {
                        if (t + i) % 2 == 0 {
                            handle.set_level(Level::DEBUG).unwrap();
                        } else {
                            handle.set_directives("warn,x=trace").unwrap();
                        }
                    }
                });
            }
        });
        handle.set_directives("").unwrap();
        handle.set_level(Level::WARN).unwrap();
        assert_eq!(handle.filter().unwrap(), "warn");
        every_level("end");
    });
    assert_eq!(messages(&lines), ["end warn", "end error"]);
}

#[test]
fn a_handle_that_outlives_its_logger_says_so() {
    let (dispatch, guard) = Logger::builder()
        .env_directives(false)
        .no_file()
        .console(false)
        .build()
        .unwrap();
    let handle = guard.handle();
    let clone = dispatch.clone();
    drop(dispatch);
    handle
        .set_level(Level::DEBUG)
        .expect("a clone keeps it alive");
    drop((clone, guard));
    assert!(
        handle
            .set_level(Level::DEBUG)
            .unwrap_err()
            .is_logger_dropped()
    );
    assert!(
        handle
            .set_directives("info")
            .unwrap_err()
            .is_logger_dropped()
    );
    assert!(handle.filter().unwrap_err().is_logger_dropped());
}

#[test]
fn the_handle_debug_shows_the_level_and_directives() {
    let (_dispatch, guard) = Logger::builder()
        .env_directives(false)
        .directives("hyper=warn")
        .no_file()
        .console(false)
        .build()
        .unwrap();
    let text = format!("{:?}", guard.handle());
    assert!(
        text.contains("INFO") && text.contains("hyper=warn"),
        "{text}"
    );
}

#[test]
fn span_directives_work_at_setup_and_after_a_change() {
    let job = || {
        tracing::debug!("debug outside");
        let _task = tracing::info_span!("ms_task", job_id = "j1").entered();
        tracing::debug!("debug inside");
    };
    let console = SharedBuf::new();
    let builder = console_only(&console).directives("[ms_task]=debug");
    let lines = capture_with_handle(builder, &console, |handle| {
        job();
        handle.set_directives("").unwrap();
        job();
        handle.set_directives("[ms_task]=debug").unwrap();
        job();
        handle.set_level(Level::WARN).unwrap();
        job();
    });
    assert_eq!(
        messages(&lines),
        [
            "debug inside job_id=j1",
            "debug inside job_id=j1",
            "debug inside job_id=j1"
        ]
    );
}
