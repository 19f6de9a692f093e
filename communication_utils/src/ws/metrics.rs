//! The client's [`Stats`](super::Stats) through the `metrics` facade
//! (feature `metrics`): whatever recorder the service installs (a Prometheus
//! exporter, say) sees them, labelled `client` = the login name.
//!
//! The counters stay plain atomics on the hot paths; a task copies them to
//! the facade once a second (and once more when the client closes), so the
//! export costs nothing per message.

use std::future::Future;
use std::time::Duration;

use metrics::{counter, gauge};

use crate::ws::state::Stats;

/// How often the counters are copied to the facade.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Copies `s` (and whether the client is `connected`) to the facade now,
/// labelled `client`.
pub(crate) fn publish(client: &str, s: &Stats, connected: bool) {
    let total =
        |name: &'static str, v: u64| counter!(name, "client" => client.to_owned()).absolute(v);
    total("ms_utils_ws_messages_in_total", s.messages_in);
    total("ms_utils_ws_messages_out_total", s.messages_out);
    total("ms_utils_ws_reconnects_total", s.reconnects);
    total(
        "ms_utils_ws_chunk_jobs_completed_total",
        s.chunk_jobs_completed,
    );
    total("ms_utils_ws_chunk_jobs_dropped_total", s.chunk_jobs_dropped);
    total("ms_utils_ws_chunk_jobs_evicted_total", s.chunk_jobs_evicted);
    total("ms_utils_ws_chunks_ignored_total", s.chunks_ignored);
    total("ms_utils_ws_frames_dropped_total", s.frames_dropped);
    total("ms_utils_ws_messages_too_big_total", s.messages_too_big);
    total("ms_utils_ws_handler_errors_total", s.handler_errors);
    total("ms_utils_ws_handler_timeouts_total", s.handler_timeouts);
    total("ms_utils_ws_resent_total", s.resent);
    total("ms_utils_ws_possibly_lost_total", s.possibly_lost);
    total("ms_utils_ws_volatile_dropped_total", s.volatile_dropped);
    let level =
        |name: &'static str, v: u64| gauge!(name, "client" => client.to_owned()).set(v as f64);
    level("ms_utils_ws_chunk_jobs_pending", s.chunk_jobs_pending);
    level("ms_utils_ws_chunk_bytes_pending", s.chunk_bytes_pending);
    level("ms_utils_ws_outbound_queued", s.outbound_queued);
    level("ms_utils_ws_outbound_unconfirmed", s.outbound_unconfirmed);
    level("ms_utils_ws_connected", u64::from(connected));
}

/// Publishes what `read` says every [`INTERVAL`] until `closing`
/// resolves, then once more.
pub(crate) async fn export(
    client: String,
    read: impl Fn() -> (Stats, bool),
    closing: impl Future<Output = ()>,
) {
    tokio::pin!(closing);
    loop {
        tokio::select! {
            () = &mut closing => break,
            () = tokio::time::sleep(INTERVAL) => {
                let (stats, connected) = read();
                publish(&client, &stats, connected);
            }
        }
    }
    let (stats, connected) = read();
    publish(&client, &stats, connected);
}
