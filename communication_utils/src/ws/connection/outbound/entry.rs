//! One frame in the ledger, with what its sender asked for: a receipt to
//! resolve when the gateway confirms it (or to fail, handing the message
//! back), and whether it is volatile (never queued across a disconnect,
//! never written twice).

use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::ws::delivery::{OutgoingFrame, Undelivered};
use crate::ws::error::Error;
use crate::ws::receipt::ReceiptTx;

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) frame: WsMessage,
    receipt: Option<ReceiptTx>,
    pub(crate) volatile: bool,
}

impl Entry {
    /// A data frame (text or binary) a handle sent.
    pub(crate) fn data(frame: WsMessage, receipt: Option<ReceiptTx>, volatile: bool) -> Self {
        Self {
            frame,
            receipt,
            volatile,
        }
    }

    /// A frame of the client's own (a ping, a close).
    pub(crate) fn control(frame: WsMessage) -> Self {
        Self {
            frame,
            receipt: None,
            volatile: false,
        }
    }

    pub(crate) fn is_data(&self) -> bool {
        self.frame.is_text() || self.frame.is_binary()
    }

    pub(crate) fn len(&self) -> usize {
        self.frame.len()
    }

    /// The gateway confirmed it: its receipt resolves.
    pub(crate) fn confirmed(self) {
        if let Some(receipt) = self.receipt {
            let _ = receipt.send(Ok(()));
        }
    }

    /// True when its sender waits for a receipt.
    pub(crate) fn has_receipt(&self) -> bool {
        self.receipt.is_some()
    }

    /// The message, as handed back (`None` for a control frame).
    pub(crate) fn outgoing(&self) -> Option<OutgoingFrame> {
        to_outgoing(&self.frame)
    }

    /// It will not be delivered (or confirmed): its receipt fails, handing
    /// the message back, `written` when it was written (the gateway may
    /// have read it).
    pub(crate) fn failed(self, written: bool) {
        if let Some(receipt) = self.receipt
            && !receipt.is_closed()
            && let Some(frame) = to_outgoing(&self.frame)
        {
            let back = Undelivered::new(vec![frame], usize::from(written));
            let _ = receipt.send(Err(Error::Undelivered(back)));
        }
    }
}

fn to_outgoing(frame: &WsMessage) -> Option<OutgoingFrame> {
    match frame {
        WsMessage::Text(t) => Some(OutgoingFrame::Text(t.as_str().to_owned())),
        WsMessage::Binary(b) => Some(OutgoingFrame::Binary(b.clone())),
        _ => None,
    }
}
