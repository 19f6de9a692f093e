//! `shutdown_signal` ends on Ctrl-C (SIGINT); its doctest covers SIGTERM.
//! The signal goes to the whole process: the test runs in a child process.

use std::process::Command;
use std::time::Duration;

use ms_utils::dev::testing::{assert_child_passed, assert_in_child, child_test};

#[test]
fn ctrl_c_ends_the_wait_and_does_not_kill_the_process() {
    let out = child_test("shutdown_signal::ctrl_c_child")
        .output()
        .expect("the test binary runs");
    assert_child_passed(&out);
}

#[tokio::test]
#[ignore = "child half of ctrl_c_ends_the_wait_and_does_not_kill_the_process, run by it in a child process"]
async fn ctrl_c_child() {
    assert_in_child();
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
