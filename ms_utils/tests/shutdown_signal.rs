//! `shutdown_signal` ends on Ctrl-C (SIGINT); its doctest covers SIGTERM.
//! The only test in this binary: the signal goes to the whole process.
#![cfg(unix)]

use std::process::Command;
use std::time::Duration;

#[tokio::test]
async fn ctrl_c_ends_the_wait_and_does_not_kill_the_process() {
    // Listening starts at the call, so the signal may come before the first poll.
    let stop = ms_utils::shutdown_signal();
    let pid = std::process::id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    tokio::time::timeout(Duration::from_secs(10), stop)
        .await
        .expect("SIGINT ends the wait");
    // Still alive here: the program, not the signal, decides when to exit.
}
