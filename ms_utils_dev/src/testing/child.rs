//! A test that needs a process of its own (environment variables set, a
//! global logger installed): its parent test runs it in a child process of
//! the same test binary.
//!
//! The child half is an `#[ignore]`d test whose reason names its parent, so
//! that a plain run lists it as ignored instead of reporting a pass it did
//! not earn; the parent runs exactly that test with `--ignored`. A child run
//! any other way fails at [`assert_in_child`] with a message saying so.

use std::process::{Command, Output};

/// The variable that tells a child half it was started by its parent.
const CHILD_VAR: &str = "MS_UTILS_CHILD_TEST";

/// A command that runs the test `path` (its full path in this test binary,
/// e.g. `s3::config::from_env_child`) alone, ignored or not, in a child
/// process of the current test binary. Add the child's environment, then
/// pass the output to [`assert_child_passed`].
///
/// ```no_run
/// use ms_utils_dev::testing::{assert_child_passed, child_test};
///
/// let out = child_test("config::reads_the_env_child")
///     .env("S3_ENDPOINT", "http://127.0.0.1:9000")
///     .output()
///     .expect("the test binary runs");
/// assert_child_passed(&out);
/// ```
pub fn child_test(path: &str) -> Command {
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("the test binary's path is unknown: {e}"));
    let mut cmd = Command::new(exe);
    cmd.args([path, "--exact", "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_VAR, path);
    cmd
}

/// Panics unless `out` is the output of a child run that passed exactly one
/// test, showing the child's output.
pub fn assert_child_passed(out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child test did not pass exactly once ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Panics unless the current test was started by [`child_test`]: the first
/// line of a child half.
pub fn assert_in_child() {
    assert!(
        std::env::var_os(CHILD_VAR).is_some(),
        "this test is the child half of another test, which runs it in a child process \
         with the environment it needs (see ms_utils_dev::testing::child_test)"
    );
}
