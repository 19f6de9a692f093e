//! Integration tests of the `ms_utils` facade, in one binary: the README's
//! Python mapping compiles against the re-exports, and `shutdown_signal`.

#[cfg(all(
    feature = "ws",
    feature = "s3",
    feature = "encoding",
    feature = "logging",
    feature = "test-util"
))]
mod python_mapping;
#[cfg(all(unix, feature = "test-util"))]
mod shutdown_signal;
