//! The level changed at run time on the globally installed logger, where
//! tracing caches each callsite's interest and `log` has its own max level:
//! a callsite that was off must come on, and `log` records with it. (A `global`
//! scenario, in a process of its own: the global logger is installed once.)

use ms_utils_logging::Logger;
use tracing::Level;

use crate::support::{SharedBuf, messages};

/// The same callsites every time.
fn emit(tag: &str) {
    tracing::debug!("{tag} debug");
    tracing::info!("{tag} info");
    log::debug!("{tag} log debug");
    log::info!("{tag} log info");
}

pub(crate) fn set_level_and_set_directives_reach_cached_callsites_and_log_records() {
    let console = SharedBuf::new();
    let guard = Logger::builder()
        .env_directives(false)
        .no_file()
        .console_writer(console.clone())
        .init()
        .unwrap();
    let handle = guard.handle();

    emit("a");
    handle.set_level(Level::DEBUG).unwrap();
    assert_eq!(
        tracing::level_filters::LevelFilter::current(),
        Level::DEBUG,
        "tracing's max level follows"
    );
    assert_eq!(log::max_level(), log::LevelFilter::Debug, "and log's");
    emit("b");
    handle.set_directives("warn").unwrap();
    emit("c");
    assert!(handle.set_directives("info,app=loud").is_err());
    emit("d");
    // Empty: back to the base level, DEBUG since `set_level`.
    handle.set_directives("").unwrap();
    emit("e");
    drop(guard);

    assert_eq!(
        messages(&console.lines()),
        [
            "a info",
            "a log info",
            "b debug",
            "b info",
            "b log debug",
            "b log info",
            "e debug",
            "e info",
            "e log debug",
            "e log info",
        ]
    );
}
