//! What a client's handles, its connection task and its handler tasks
//! share. A leaf of the module graph: it names the parts' types and calls
//! none of them.

use std::sync::atomic::{AtomicBool, Ordering};
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
    pub(crate) cmd_tx: mpsc::Sender<Command>,
    pub(crate) state_tx: watch::Sender<ConnectionState>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) counters: Counters,
    pub(crate) inbound: InboundQueue,
    pub(crate) receiving: AtomicBool,
    pub(crate) chunks: Mutex<ChunkAssembler>,
    /// Set before `close_requested`: sends from now on answer `Closed`.
    pub(crate) closing: AtomicBool,
    /// Set by `close()`: its caller gets the undelivered messages back, so
    /// the connection task need not shout about them.
    pub(crate) close_called: AtomicBool,
    /// What the connection task could not deliver, for `close()` to return.
    pub(crate) undelivered: Mutex<Option<Undelivered>>,
    pub(crate) gave_up: AtomicBool,
    /// `close()` has begun: run loops stop taking messages and answer the
    /// tasks they hold or receive with "not started" while handlers finish.
    pub(crate) stop_receiving: CancellationToken,
    /// Graceful close: flush, close frame, stop reconnecting.
    pub(crate) close_requested: CancellationToken,
    /// Hard stop of every task.
    pub(crate) shutdown: CancellationToken,
    /// The connection task and the chunk janitor.
    pub(crate) tasks: TaskTracker,
    /// The run loop and the handler tasks.
    pub(crate) handlers: TaskTracker,
    /// Handler calls running now.
    pub(crate) calls: InFlight,
}

impl Shared {
    /// This client's identity, for [`is_handler_of`](crate::ws::in_flight::is_handler_of).
    pub(crate) fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }
}

impl Shared {
    /// Queues `frame` for the connection task, waiting for room.
    ///
    /// # Errors
    /// [`Error::Closed`] once closing, [`Error::MessageTooLarge`] over the
    /// configured size.
    pub(crate) async fn enqueue(&self, frame: WsMessage) -> Result<(), Error> {
        self.check_open(frame.len())?;
        self.cmd_tx
            .send(Command::Send(frame))
            .await
            .map_err(|_| Error::Closed)
    }

    /// The checks every send makes before it queues.
    pub(crate) fn check_open(&self, len: usize) -> Result<(), Error> {
        if self.closing.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
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

    pub(crate) fn request_close(&self) {
        self.closing.store(true, Ordering::Release);
        self.close_requested.cancel();
    }
}
