//! A `log` logger installed by someone else does not make setup fail.
//! (A `global` scenario, in a process of its own: both loggers are
//! process-wide.)

use ms_utils_logging::Logger;

use crate::support::SharedBuf;

struct OtherLogger;

impl log::Log for OtherLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, _: &log::Record<'_>) {}
    fn flush(&self) {}
}

static OTHER: OtherLogger = OtherLogger;

pub(crate) fn setup_succeeds_when_a_log_logger_is_already_set() {
    log::set_logger(&OTHER).unwrap();
    let console = SharedBuf::new();
    let guard = Logger::builder()
        .env_directives(false)
        .no_file()
        .console_writer(console.clone())
        .init()
        .expect("the log bridge is optional");
    tracing::info!("tracing still works");
    drop(guard);
    assert!(console.text().contains("-> tracing still works"));
}
