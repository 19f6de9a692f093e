//! TEMPORARY (issue #23 item 6 measurement build, not for main): switches
//! the plain alternatives of hand-made parts on at run time, from the
//! comma-separated `MS_PLAIN` environment variable (`gate`, `queue`,
//! `handshake`, `guard`). Read once.

use std::sync::OnceLock;

/// True when `part`'s plain alternative is switched on.
pub(crate) fn plain(part: &str) -> bool {
    static PLAIN: OnceLock<Vec<String>> = OnceLock::new();
    PLAIN
        .get_or_init(|| {
            std::env::var("MS_PLAIN")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|p| p == part)
}
