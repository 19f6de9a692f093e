//! Level filtering: base level, run_debug, and directives that override both.

use tracing::Level;

use crate::support::{SharedBuf, capture, console_only};

fn messages(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.rsplit("-> ").next().unwrap())
        .collect()
}

fn every_level() {
    tracing::trace!("trace");
    tracing::debug!("debug");
    tracing::info!("info");
    tracing::warn!("warn");
    tracing::error!("error");
}

#[test]
fn default_level_is_info() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, every_level);
    assert_eq!(messages(&lines), ["info", "warn", "error"]);
}

#[test]
fn level_sets_the_threshold() {
    let console = SharedBuf::new();
    let lines = capture(
        console_only(&console).level(Level::WARN),
        &console,
        every_level,
    );
    assert_eq!(messages(&lines), ["warn", "error"]);
}

#[test]
fn run_debug_forces_debug_over_the_level() {
    let console = SharedBuf::new();
    let builder = console_only(&console).level(Level::ERROR).run_debug(true);
    let lines = capture(builder, &console, every_level);
    assert_eq!(messages(&lines), ["debug", "info", "warn", "error"]);
}

#[test]
fn a_bare_level_directive_overrides_the_base_level() {
    let console = SharedBuf::new();
    let builder = console_only(&console).run_debug(true).directives("error");
    let lines = capture(builder, &console, every_level);
    assert_eq!(messages(&lines), ["error"]);
}

#[test]
fn a_target_directive_changes_only_that_target() {
    let console = SharedBuf::new();
    let builder = console_only(&console).directives("noisy=error,chatty=trace");
    let lines = capture(builder, &console, || {
        tracing::info!(target: "noisy", "noisy info");
        tracing::error!(target: "noisy", "noisy error");
        tracing::trace!(target: "chatty", "chatty trace");
        tracing::debug!(target: "other", "other debug");
        tracing::info!(target: "other", "other info");
    });
    assert_eq!(
        messages(&lines),
        ["noisy error", "chatty trace", "other info"]
    );
}

#[test]
fn a_later_directive_for_the_same_target_wins() {
    let console = SharedBuf::new();
    let builder = console_only(&console).directives("app=error,app=debug");
    let lines = capture(builder, &console, || {
        tracing::debug!(target: "app", "shown");
    });
    assert_eq!(messages(&lines), ["shown"]);
}

/// tungstenite logs its handshake request, the gateway token in the URI,
/// at TRACE: at a TRACE default its targets are held at DEBUG.
#[test]
fn at_trace_tungstenites_targets_stay_at_debug_unless_named() {
    let handshake = || {
        tracing::trace!(target: "tungstenite::handshake::client", "Request: GET /?token=secret");
        tracing::debug!(target: "tungstenite::handshake::client", "Client handshake done.");
        tracing::trace!(target: "tokio_tungstenite::compat", "poll_read");
        tracing::trace!(target: "app", "app trace");
    };
    let console = SharedBuf::new();
    let lines = capture(
        console_only(&console).level(Level::TRACE),
        &console,
        handshake,
    );
    assert_eq!(messages(&lines), ["Client handshake done.", "app trace"]);

    // A bare `trace` directive does not lift the cap either.
    let console = SharedBuf::new();
    let lines = capture(
        console_only(&console).directives("trace"),
        &console,
        handshake,
    );
    assert_eq!(messages(&lines), ["Client handshake done.", "app trace"]);

    // Naming the target is an explicit choice, and it wins.
    let console = SharedBuf::new();
    let lines = capture(
        console_only(&console)
            .level(Level::TRACE)
            .directives("tungstenite=trace"),
        &console,
        handshake,
    );
    assert_eq!(
        messages(&lines),
        [
            "Request: GET /?token=secret",
            "Client handshake done.",
            "app trace"
        ]
    );
}
