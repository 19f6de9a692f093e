//! What every part of one client reads at once: the handles, the
//! connection task and the handler tasks. Decisions are not made here: the
//! connection task owns the socket, the write ledger, the pending-reply
//! table and the close, and is told what to do by [`Command`]s; what stays
//! shared is configuration, the command channel's sending end, what the
//! client reports (state, events, counters), the frames on their way to the
//! consumers, and how its tasks stop.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ws::command::Command;
use crate::ws::config::WsConfig;
use crate::ws::delivery::Undelivered;
use crate::ws::error::Error;
use crate::ws::in_flight::InFlight;
use crate::ws::inbound::Pipeline;
use crate::ws::inbound::queue::InboundQueue;
use crate::ws::protocol::chunks::ChunkAssembler;
use crate::ws::state::{ConnectionState, Counters, Event};

/// What the handles, the connection task and the handler tasks share.
pub(crate) struct Shared {
    pub(crate) config: WsConfig,
    /// The handles' end of the one command channel; the connection task
    /// closes the other end when it stops taking commands.
    pub(crate) cmd_tx: mpsc::Sender<Command>,
    /// Written by the connection task only.
    pub(crate) state_tx: watch::Sender<ConnectionState>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) counters: Counters,
    /// Frames read, on their way to the consumers (handler workers, `receive()`).
    pub(crate) inbound: InboundQueue,
    /// Chunk pieces of unfinished jobs: every consumer reassembles (and the
    /// connection task, for large frames and while requests wait).
    pub(crate) chunks: Mutex<ChunkAssembler>,
    /// A `run` loop owns the inbound messages (`receive()` is refused).
    pub(crate) receiving: AtomicBool,
    /// Handler calls running now.
    pub(crate) calls: InFlight,
    pub(crate) lifecycle: Lifecycle,
}

/// How the client's tasks stop: the signals, in the order `close()` gives
/// them, and the trackers that say when the tasks are gone.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    /// `close()` has begun: run loops stop taking messages and answer the
    /// tasks they hold or receive with "not started" while handlers finish.
    pub(crate) stop_receiving: CancellationToken,
    /// A close was asked (`close()`, or the last handle dropped): the
    /// connection task, connected or not, takes the commands queued so far,
    /// delivers them and closes.
    pub(crate) close_requested: CancellationToken,
    /// Hard stop of every task.
    pub(crate) shutdown: CancellationToken,
    /// The connection task and its helpers (chunk expiry, metrics export).
    pub(crate) tasks: TaskTracker,
    /// The run loops and their handler tasks.
    pub(crate) handlers: TaskTracker,
    /// What the connection task could not deliver when it ended with no
    /// `close()` waiting (it gave up reconnecting): set once as it ends,
    /// for the first `close()` after it, which returns it.
    pub(crate) left_behind: Mutex<Option<Undelivered>>,
}

impl Lifecycle {
    /// Resolves once a close is asked or the client stops: for the helper
    /// tasks, which must not keep a closing client alive.
    pub(crate) async fn closing(&self) {
        tokio::select! {
            () = self.shutdown.cancelled() => {}
            () = self.close_requested.cancelled() => {}
        }
    }
}

impl Shared {
    /// This client's identity, for [`is_handler_of`](crate::ws::in_flight::is_handler_of).
    pub(crate) fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Queues `frame` for the connection task, waiting for room.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection task takes no more commands,
    /// [`Error::MessageTooLarge`] over the configured size.
    pub(crate) async fn enqueue(&self, frame: WsMessage) -> Result<(), Error> {
        self.check_size(frame.len())?;
        self.command(Command::Send {
            frame,
            receipt: None,
            volatile: None,
        })
        .await
    }

    /// Queues `command` for the connection task, waiting for room.
    ///
    /// # Errors
    /// [`Error::Closed`] once the connection task takes no more commands.
    pub(crate) async fn command(&self, command: Command) -> Result<(), Error> {
        self.cmd_tx.send(command).await.map_err(|_| Error::Closed)
    }

    /// The check every send makes before it queues.
    pub(crate) fn check_size(&self, len: usize) -> Result<(), Error> {
        let limit = self.config.max_message_size;
        if len > limit {
            return Err(Error::MessageTooLarge { size: len, limit });
        }
        Ok(())
    }

    /// What turning a frame into a message needs (see [`process`](crate::ws::inbound::process)).
    pub(crate) fn pipeline(&self) -> Pipeline<'_> {
        Pipeline {
            chunks: &self.chunks,
            counters: &self.counters,
            events: &self.events,
        }
    }
}
