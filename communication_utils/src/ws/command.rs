//! What a handle asks of the connection task: the [`Command`]s of the one
//! channel between them, in the order the handles queued them.
//!
//! Each command that wants an answer carries its own oneshot, and the
//! connection task answers it: nothing about a command's fate travels back
//! through shared memory.

use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::ws::delivery::Undelivered;
use crate::ws::error::Error;
use crate::ws::protocol::message::Message;
use crate::ws::receipt::ReceiptTx;

/// One request of a handle, answered (when it asks for an answer) by the
/// connection task.
#[derive(Debug)]
pub(crate) enum Command {
    /// A frame to write.
    Send {
        frame: WsMessage,
        /// Learns the message's fate (see [`Receipt`](crate::ws::Receipt)).
        receipt: Option<ReceiptTx>,
        /// Volatile: written only on the connection this names (its
        /// number, `Stats::reconnects` when it was sent), never again.
        volatile: Option<u64>,
    },
    /// Answer once every frame accepted before this command is written.
    Flush {
        /// Answered then; dropped unanswered if the client ends first.
        done: oneshot::Sender<()>,
    },
    /// A task to send, and the wait for the message that answers it.
    Request(Box<Request>),
    /// `close()`: take no more commands, deliver everything taken (within
    /// the close timeout, reconnecting if need be), say goodbye, end.
    Close {
        /// Answered as the connection task ends, with what it could not
        /// deliver (only the first `Close` gets them).
        done: oneshot::Sender<Option<Undelivered>>,
    },
}

/// [`Command::Request`]: `frame` is written like any send, after the
/// connection task has noted that the message coming back under `job_id`
/// goes to `reply`.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) job_id: String,
    pub(crate) frame: WsMessage,
    /// The answer; [`Error::DuplicateRequest`] (the frame then not sent)
    /// when a request under the same job id is waiting, [`Error::Closed`]
    /// when the client ends first.
    pub(crate) reply: oneshot::Sender<Result<Message, Error>>,
}
