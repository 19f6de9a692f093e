//! The integration tests of `ms_utils_logging`, one test binary with a module
//! per area (so that a change links once). The scenarios that install the
//! process-wide logger are in the `global` binary beside this one.

mod critical;
mod custom_format;
mod durability;
mod env_directives;
mod errors;
mod filtering;
mod format;
mod layers;
mod outputs;
mod python_format;
mod runtime_level;
mod support;
mod time_it;
