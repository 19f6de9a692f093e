//! The scenarios that install the process-wide logger (tracing's global
//! dispatcher, the `log` crate's logger). Each may be done once per process
//! and they conflict with each other, so this binary (`harness = false`)
//! runs each scenario in a fresh child process of itself and reports like
//! libtest: `cargo test -p ms_utils_logging --test global -- log_bridge`.

mod log_already_set;
mod log_bridge;
mod runner;
mod runtime_level;
mod setup_twice;
#[path = "../it/support.rs"]
mod support;

use runner::Scenario;

/// Every scenario, by the name it is run and filtered by.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "log_already_set",
        run: log_already_set::setup_succeeds_when_a_log_logger_is_already_set,
    },
    Scenario {
        name: "log_bridge",
        run: log_bridge::log_crate_records_show_their_own_file_and_line,
    },
    Scenario {
        name: "runtime_level",
        run: runtime_level::set_level_and_set_directives_reach_cached_callsites_and_log_records,
    },
    Scenario {
        name: "setup_twice",
        run: setup_twice::concurrent_and_repeated_setups_install_one_logger_and_never_duplicate,
    },
];

fn main() -> std::process::ExitCode {
    runner::main("global", SCENARIOS)
}
