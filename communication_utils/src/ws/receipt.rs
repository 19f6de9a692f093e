//! [`Receipt`]: the gateway's confirmation of one message, awaited.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::sync::oneshot;

use crate::ws::error::Error;

/// Where the connection task sends a message's fate.
pub(crate) type ReceiptTx = oneshot::Sender<Result<(), Error>>;

/// The fate of one message sent with
/// [`send_with_receipt`](super::MicroServiceWs::send_with_receipt) or
/// [`send_volatile`](super::MicroServiceWs::send_volatile), as a future.
///
/// It resolves `Ok(())` once the gateway has confirmed the message: a pong
/// answered a ping written after it, or the gateway answered the client's
/// close frame written after it (see [`DeliveryMode`](super::DeliveryMode)
/// for why those confirm). It fails with [`Error::Undelivered`], handing
/// the message back ([`Error::undelivered`]), when the client gives it up:
/// `close()` could not deliver it, a connection ended unconfirmed with
/// [`DeliveryMode::AtMostOnce`](super::DeliveryMode::AtMostOnce), or it was
/// volatile and its connection ended. With
/// [`DeliveryMode::AtLeastOnce`](super::DeliveryMode::AtLeastOnce) (the
/// default) a connection that ends unconfirmed does not fail it: the
/// message is written again and the receipt waits for that confirmation.
///
/// Compared with [`flush`](super::MicroServiceWs::flush): `flush` waits
/// until what was accepted is *written* to the socket (a kernel buffer, not
/// the gateway), for every message before it; a receipt waits until this
/// one message is *read* by the gateway, and says so, or hands it back.
///
/// Dropping a receipt stops nothing: the message is delivered all the same.
///
/// The confirmations are read from the socket like any message, so they
/// wait while the client is not reading it: while the inbound buffer is
/// full because nobody takes messages ([`receive`](super::MicroServiceWs::receive)
/// or [`run`](super::MicroServiceWs::run)) — a service that sends with
/// receipts should also receive. A gateway that reads but never answers
/// pings cannot confirm anything: past 64 MiB written and unconfirmed the
/// oldest are forgotten and their receipts fail (written), so that the
/// client's memory stays bounded.
///
/// ```no_run
/// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
/// let receipt = ms
///     .send_with_receipt(serde_json::json!({"event": "result", "data": 42}))
///     .await?;
/// match receipt.await {
///     Ok(()) => println!("the gateway has it"),
///     Err(e) => {
///         let back = e.undelivered().map(|u| u.len()).unwrap_or(0);
///         println!("not delivered ({back} message handed back): {e}");
///     }
/// }
/// # Ok(()) }
/// ```
///
/// # Cancellation safety
/// Cancel-safe: cancelling only stops the waiting.
pub struct Receipt {
    rx: oneshot::Receiver<Result<(), Error>>,
}

impl Receipt {
    /// A receipt and the end the connection task answers on.
    pub(crate) fn new() -> (ReceiptTx, Receipt) {
        let (tx, rx) = oneshot::channel();
        (tx, Receipt { rx })
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt").finish_non_exhaustive()
    }
}

impl Future for Receipt {
    type Output = Result<(), Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The connection task always answers before it ends; a dropped
        // sender means it ended another way (a panic): `Closed`.
        Poll::Ready(ready!(Pin::new(&mut self.rx).poll(cx)).unwrap_or(Err(Error::Closed)))
    }
}
