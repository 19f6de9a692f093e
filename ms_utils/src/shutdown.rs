//! The signal a service stops on.

use std::future::Future;

/// A future that resolves when the process is asked to stop: Ctrl-C
/// (SIGINT), or on Unix also SIGTERM, which container runtimes and systemd
/// send. Serve until it resolves, then close the clients.
///
/// The signal handlers are installed when this function is called, not when
/// the future is first polled, so a signal that comes in between is not lost.
/// From then on these signals no longer end the process by themselves: the
/// program decides when to exit.
///
/// # Panics
/// When called outside a tokio runtime (the handlers need its signal driver).
///
/// # Cancellation safety
/// Dropping the future stops listening; a signal that arrives while no
/// future listens is not remembered for a later call.
///
/// ```rust,standalone_crate
/// use std::time::Duration;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     let stop = ms_utils::shutdown_signal(); // listening from here on
///     # #[cfg(unix)]
///     # {
///     // What `kill -TERM <pid>`, `docker stop` or systemd would do:
///     let pid = std::process::id().to_string();
///     assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
///     tokio::time::timeout(Duration::from_secs(10), stop)
///         .await
///         .expect("SIGTERM ends the wait, and the program goes on to close cleanly");
///     # }
///     # #[cfg(not(unix))]
///     # drop(stop);
/// }
/// ```
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        // Both handlers are registered now; see the doc comment.
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                    one.recv().await;
                }
                // Registration only fails when the runtime has no signal
                // driver; tokio's own Ctrl-C listener is the last resort.
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
