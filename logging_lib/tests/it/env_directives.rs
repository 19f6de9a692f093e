//! Directives from `RUST_LOG`. The variable is set only for a child process
//! (this test binary run again), never in the test process itself.

use std::process::Command;

use ms_utils_logging::{DirectiveOrigin, Error};

use crate::support::{SharedBuf, console_only};

const CHILD: &str = "LOGGING_LIB_ENV_CHILD";

/// What the child does: build with the inherited `RUST_LOG`, log, and print
/// the outcome for the parent.
#[test]
fn child_entry() {
    let Some(mode) = std::env::var_os(CHILD) else {
        return; // Run directly: nothing to do.
    };
    let console = SharedBuf::new();
    let builder = match mode.to_str().unwrap() {
        "env" => console_only(&console).env_directives(true),
        "env+builder" => console_only(&console)
            .env_directives(true)
            .directives("chatty=error"),
        "ignored" => console_only(&console).env_directives(false),
        other => panic!("unknown mode {other}"),
    };
    let (dispatch, guard) = match builder.build() {
        Ok(built) => built,
        Err(Error::InvalidDirective {
            directive, origin, ..
        }) => {
            assert_eq!(origin, DirectiveOrigin::Env);
            println!("\nCHILD-ERROR:{directive}");
            return;
        }
        Err(other) => panic!("{other:?}"),
    };
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("info");
        tracing::warn!("warn");
        tracing::debug!(target: "chatty", "chatty debug");
    });
    drop(guard);
    // The leading newline keeps libtest's "test child_entry ... " apart.
    println!();
    for line in console.lines() {
        println!("CHILD-LINE:{}", line.rsplit("-> ").next().unwrap());
    }
}

fn run_child(mode: &str, rust_log: &str) -> Vec<String> {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "env_directives::child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mode)
        .env("RUST_LOG", rust_log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("CHILD-").map(str::to_owned))
        .collect()
}

#[test]
fn rust_log_overrides_the_base_level() {
    assert_eq!(
        run_child("env", "warn,chatty=debug"),
        ["LINE:warn", "LINE:chatty debug"]
    );
}

#[test]
fn builder_directives_win_over_rust_log_for_the_same_target() {
    assert_eq!(run_child("env+builder", "warn,chatty=debug"), ["LINE:warn"]);
}

#[test]
fn rust_log_is_ignored_when_asked() {
    assert_eq!(
        run_child("ignored", "warn,chatty=debug"),
        ["LINE:info", "LINE:warn"]
    );
}

#[test]
fn a_bad_rust_log_is_an_invalid_directive_from_the_environment() {
    assert_eq!(run_child("env", "info,chatty=loud"), ["ERROR:chatty=loud"]);
}
