//! The configuration a user gets without asking: every default the issue
//! names, read back from a built `WsConfig`, and a configuration taken from
//! the documented environment variables connecting for real.

use std::collections::HashMap;
use std::time::Duration;

use super::support::*;
use ms_utils_communication::ws::{ChunkLimits, MicroServiceWs, WsConfigBuilder, env};

#[test]
fn the_defaults_are_the_documented_ones() {
    let config = MicroServiceWs::builder("gateway.example")
        .credentials("svc", "pw")
        .build()
        .unwrap();
    // TLS on (system/webpki roots), 64 MiB messages.
    assert!(config.tls());
    assert_eq!(config.max_message_size(), 64 << 20);
    // Backoff: 0.5 s growing by half to 5 s, never giving up.
    let policy = config.reconnect();
    assert_eq!(policy.ceiling(1), Duration::from_millis(500));
    assert_eq!(policy.ceiling(2), Duration::from_millis(750));
    assert_eq!(policy.ceiling(4), Duration::from_micros(1_687_500));
    assert_eq!(policy.ceiling(6), Duration::from_micros(3_796_875));
    assert_eq!(policy.ceiling(7), Duration::from_secs(5));
    assert_eq!(policy.ceiling(1000), Duration::from_secs(5));
    assert!(!policy.gives_up_after(u32::MAX));
    // The rest is visible in Debug (the password is not: see ws_secrets).
    let debug = format!("{config:?}");
    for shown in [
        "path: \"\"",
        "need_token: true",
        "login_timeout: 10s",
        "connect_timeout: 10s",
        "keepalive_interval: 20s",
        "keepalive_timeout: 20s",
        "retry_initial_connect: true",
        "max_concurrency: 64",
        "close_timeout: 10s",
    ] {
        assert!(debug.contains(shown), "{shown} not in {debug}");
    }
    assert!(!debug.contains("\"pw\""), "{debug}");
    // Chunk reassembly: partial jobs kept 5 minutes, bounded in bytes and number.
    let limits = ChunkLimits::default();
    assert_eq!(limits.ttl, Duration::from_secs(300));
    assert_eq!(limits.max_job_bytes, 64 << 20);
    assert!(limits.max_pending_jobs > 0);
}

/// The variables `from_env()` reads (here through `from_lookup`, the same
/// code without touching the process environment) are enough to connect.
#[tokio::test]
async fn a_config_from_the_documented_variables_connects() {
    let gw = gateway().await;
    let vars: HashMap<&str, String> = [
        (env::GATEWAY_HOST, gw.host()),
        (env::GATEWAY_USER, ALICE.0.to_owned()),
        (env::GATEWAY_PASSWORD, ALICE.1.to_owned()),
        (env::GATEWAY_TLS, "false".to_owned()),
        (env::GATEWAY_NEED_TOKEN, "true".to_owned()),
        (env::GATEWAY_PATH, String::new()),
    ]
    .into_iter()
    .collect();
    let config = WsConfigBuilder::from_lookup(|k| vars.get(k).cloned())
        .build()
        .unwrap();
    assert!(!config.tls());
    assert_eq!(config.username(), Some("alice"));
    let ms = within("connect", MicroServiceWs::connect(config))
        .await
        .unwrap();
    assert!(ms.is_connected());
    wait_connected(&gw, "alice").await;
}
