//! Sending: the checks every send makes, the queue, and each kind of send.

use std::sync::atomic::Ordering;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::ws::chunks::chunk_texts;
use crate::ws::client::MicroServiceWs;
use crate::ws::command::Command;
use crate::ws::error::Error;
use crate::ws::in_flight;
use crate::ws::protocol::python_json::ms_send_task;
use crate::ws::receipt::Receipt;

impl MicroServiceWs {
    pub(super) fn check_size(&self, len: usize) -> Result<(), Error> {
        self.shared.check_size(len)
    }

    pub(super) async fn enqueue(&self, frame: WsMessage) -> Result<(), Error> {
        self.shared.enqueue(frame).await
    }

    /// Queues `command` for the connection task, waiting for room.
    pub(super) async fn command(&self, command: Command) -> Result<(), Error> {
        self.shared.command(command).await
    }

    /// Queue `value` as one JSON text frame (serialized with `serde_json`).
    /// Waits while the outbound queue is full.
    ///
    /// # Delivery
    /// A message this accepts (`Ok`) ends in exactly one of these states:
    /// confirmed read by the gateway; written again on a later connection
    /// after an unconfirmed end ([`DeliveryMode::AtLeastOnce`](crate::ws::DeliveryMode::AtLeastOnce), counted in
    /// [`Stats::resent`](crate::ws::Stats::resent)) or counted as possibly lost
    /// ([`DeliveryMode::AtMostOnce`](crate::ws::DeliveryMode::AtMostOnce), [`Stats::possibly_lost`](crate::ws::Stats::possibly_lost)); or handed
    /// back by [`close`](Self::close) in [`Error::Undelivered`]. Messages
    /// arrive in the order they were accepted, across reconnects.
    ///
    /// # Errors
    /// [`Error::Closed`] after close, [`Error::MessageTooLarge`] over the max
    /// message size, [`Error::Json`] when `value` does not serialize.
    ///
    /// # Cancellation safety
    /// Cancelling while it waits for room in the queue queues nothing.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send(serde_json::json!({"event": "status", "data": "ready"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, value: impl Serialize) -> Result<(), Error> {
        let text = serde_json::to_string(&value)?;
        self.enqueue(WsMessage::Text(text.into())).await
    }

    /// Like [`send`](Self::send), and a [`Receipt`] that resolves once the
    /// gateway has confirmed this message, or fails handing it back.
    ///
    /// `send` and [`flush`](Self::flush) say a message was accepted and
    /// written; only the receipt says the gateway read it. It costs a
    /// little per message (a oneshot channel), nothing on the wire: the
    /// confirmation pings go out whether receipts are asked for or not.
    ///
    /// # Errors
    /// As [`send`](Self::send) (the message was not accepted). The
    /// receipt's own outcome is described at [`Receipt`].
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let receipt = ms.send_with_receipt(serde_json::json!({"event": "done", "data": 1})).await?;
    /// receipt.await?; // the gateway has read it
    /// # Ok(()) }
    /// ```
    pub async fn send_with_receipt(&self, value: impl Serialize) -> Result<Receipt, Error> {
        let text = serde_json::to_string(&value)?;
        self.check_size(text.len())?;
        let (tx, receipt) = Receipt::new();
        self.command(Command::Send {
            frame: WsMessage::Text(text.into()),
            receipt: Some(tx),
            volatile: None,
        })
        .await?;
        Ok(receipt)
    }

    /// Sends `value` as a volatile message: written on the connection open
    /// now, or not at all. It is not queued while disconnected and never
    /// written again on a later connection, whatever the client's
    /// [`DeliveryMode`](crate::ws::DeliveryMode): for what is stale once
    /// late (a progress report, a heartbeat), where a repeat or a replay
    /// after a reconnect would mislead. The [`Receipt`] says whether it got
    /// through; drop it when that does not matter.
    ///
    /// A volatile message that cannot go out on its connection (the
    /// connection ended before it was written, or before the gateway
    /// confirmed it) is dropped: its receipt fails handing it back, and it
    /// is counted in [`Stats::volatile_dropped`](crate::ws::Stats::volatile_dropped)
    /// (unwritten) or [`Stats::possibly_lost`](crate::ws::Stats::possibly_lost)
    /// (written, unconfirmed). It is never in what `close()` hands back.
    ///
    /// # Errors
    /// [`Error::NotConnected`] when the client is not connected now (it
    /// is reconnecting); those of [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// use ms_utils_communication::ws::Error;
    /// match ms.send_volatile(serde_json::json!({"event": "progress", "data": 0.4})).await {
    ///     Ok(_receipt) => {}                      // on its way; not waited for
    ///     Err(Error::NotConnected) => {}          // offline: skip this report
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send_volatile(&self, value: impl Serialize) -> Result<Receipt, Error> {
        let text = serde_json::to_string(&value)?;
        self.check_size(text.len())?;
        if !self.is_connected() {
            return Err(Error::NotConnected);
        }
        // The connection open now: the connection task writes the message
        // on it or drops it.
        let number = self.shared.counters.reconnects.load(Ordering::Relaxed);
        let (tx, receipt) = Receipt::new();
        self.command(Command::Send {
            frame: WsMessage::Text(text.into()),
            receipt: Some(tx),
            volatile: Some(number),
        })
        .await?;
        Ok(receipt)
    }

    /// Like [`send`](Self::send) without waiting.
    ///
    /// # Errors
    /// [`Error::QueueFull`] when the outbound queue is full, and those of `send`.
    ///
    /// ```no_run
    /// # fn f(ms: ms_utils_communication::ws::MicroServiceWs) {
    /// if let Err(e) = ms.try_send(serde_json::json!({"event": "tick"})) {
    ///     assert!(e.is_queue_full() || e.is_closed());
    /// }
    /// # }
    /// ```
    pub fn try_send(&self, value: impl Serialize) -> Result<(), Error> {
        let text = serde_json::to_string(&value)?;
        self.check_size(text.len())?;
        self.shared
            .cmd_tx
            .try_send(Command::Send {
                frame: WsMessage::Text(text.into()),
                receipt: None,
                volatile: None,
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Error::QueueFull,
                mpsc::error::TrySendError::Closed(_) => Error::Closed,
            })
    }

    /// Queue a text frame as is (the caller vouches that it is what the peer expects).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send_text(r#"{"event": "hello"}"#).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), Error> {
        self.enqueue(WsMessage::Text(text.into().into())).await
    }

    /// Queue a binary frame.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send_binary(vec![1u8, 2, 3]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_binary(&self, data: impl Into<bytes::Bytes>) -> Result<(), Error> {
        self.enqueue(WsMessage::Binary(data.into())).await
    }

    /// Send a task to another microservice ([protocol: tasks](crate::protocol#tasks)), byte-for-byte the
    /// JSON the Python original's `send_task_to_ms` sends.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// ms.send_task_to_ms("workers_manager", "wf-1", "job-1", serde_json::json!({"job_type": "inference"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_task_to_ms(
        &self,
        ms: &str,
        reference_id: &str,
        job_id: &str,
        data: impl Serialize,
    ) -> Result<(), Error> {
        let text = ms_send_task(ms, reference_id, job_id, &data)?;
        self.enqueue(WsMessage::Text(text.into())).await?;
        // Sent from the handler of a task, back to its sender under its job
        // id: that task is answered (the receive loop will not answer it).
        in_flight::note_sent(self.shared.id(), ms, job_id);
        Ok(())
    }

    /// Send `value` as [chunk messages](crate::protocol#chunking) (base64 pieces of
    /// [`chunk_piece_size`](crate::ws::WsConfigBuilder::chunk_piece_size) bytes, one fresh
    /// `jobId`), for peers that reassemble chunks (this client does). Returns the
    /// chunk `jobId`.
    ///
    /// # Errors
    /// As [`send`](Self::send); the size limit applies to the whole message.
    ///
    /// # Cancellation safety
    /// Cancelling may leave part of the chunks queued; the receiver drops the
    /// incomplete job after its TTL.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let big = serde_json::json!({"blob": "x".repeat(10 << 20)});
    /// ms.send_chunked(&big).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_chunked(&self, value: impl Serialize) -> Result<String, Error> {
        let bytes = serde_json::to_vec(&value)?;
        self.check_size(bytes.len())?;
        let job_id = format!("{:032x}", rand::random::<u128>());
        let frames =
            chunk_texts(&job_id, &bytes, self.shared.config.chunk_piece_size).map_err(|e| {
                Error::Chunking {
                    reason: e.to_string(),
                }
            })?;
        drop(bytes);
        for frame in frames {
            self.enqueue(WsMessage::Text(frame.into())).await?;
        }
        Ok(job_id)
    }
}
