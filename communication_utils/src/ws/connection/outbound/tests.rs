//! The ledger alone: turns, pongs, ends and closes, without a socket.
use super::*;

fn text(s: &str) -> WsMessage {
    WsMessage::Text(s.into())
}

/// What `poll_write` does to the ledger in one turn, minus the socket:
/// every pending frame (and the turn's confirmation ping, if it takes
/// one) handed over. Returns the ping's payload, if any.
fn turn(ledger: &mut Ledger, now: Instant) -> Option<Vec<u8>> {
    let before = ledger.pending.len();
    ledger.mark_turn(now, false);
    let ping =
        (ledger.pending.len() > before).then(|| match ledger.pending.back().map(|e| &e.frame) {
            Some(WsMessage::Ping(p)) => p.to_vec(),
            other => panic!("expected the confirmation ping, got {other:?}"),
        });
    ledger.started = ledger.pending.len();
    ping
}

fn send(ledger: &mut Ledger, texts: &[&str]) {
    for t in texts {
        ledger.accept(text(t), None, false);
    }
}

#[test]
fn a_pong_confirms_everything_before_its_ping() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    send(&mut l, &["a", "b"]);
    let mark = turn(&mut l, t0).unwrap();
    assert_eq!(l.flushed(), 2);
    assert_eq!(l.unconfirmed_len(), 2);
    send(&mut l, &["c"]);
    l.pong(&[0; 8]); // not our mark
    assert_eq!(l.unconfirmed_len(), 2);
    l.pong(&mark);
    assert_eq!(l.unconfirmed_len(), 0);
    assert!(l.has_undelivered(), "c is not written yet");
}

/// Past the write window no new turn starts; one ping for what is
/// written goes first, and its pong opens the window again.
#[test]
fn a_full_window_holds_new_turns_back_until_a_pong() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let big = "x".repeat(WINDOW_BYTES / 4);
    let texts: Vec<&str> = vec![big.as_str(); 4];
    send(&mut l, &texts);
    // One turn of four frames takes its ping (the first turn is due one).
    let first = turn(&mut l, t0).unwrap();
    assert_eq!(l.flushed(), 4);
    assert!(l.window_full());
    send(&mut l, &["late"]);
    // The ping in flight covers what is written: nothing to do.
    assert!(!l.mark_written(t0));
    l.pong(&first);
    assert!(!l.window_full());
    assert_eq!(l.unconfirmed_len(), 0);
    // Fill it again without a ping (a turn within MARK_EVERY of the last).
    send(&mut l, &texts);
    assert_eq!(turn(&mut l, t0), None);
    l.flushed();
    assert!(l.window_full());
    // Now a ping for the written frames goes to the front, alone.
    assert!(l.mark_written(t0));
    assert!(
        matches!(l.pending.front().map(|e| &e.frame), Some(WsMessage::Ping(p)) if p[..] == 9u64.to_be_bytes())
    );
    assert_eq!(l.marks.back(), Some(&9));
}

/// The window fills while the only ping covering the written frames waits
/// in `pending` behind an unwritten one (the confirmation timer queued it
/// after everything accepted): a ping for what is written must still go
/// first, or no pong would ever open the window.
#[test]
fn a_full_window_whose_covering_ping_is_unwritten_still_sends_one_first() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let big = "x".repeat(WINDOW_BYTES / 4);
    let texts: Vec<&str> = vec![big.as_str(); 4];
    send(&mut l, &texts);
    let first = turn(&mut l, t0).unwrap();
    l.flushed();
    l.pong(&first);
    // Four more, in a turn that takes no ping: the window is full again.
    send(&mut l, &texts);
    assert_eq!(turn(&mut l, t0), None);
    assert_eq!(l.flushed(), 4);
    assert!(l.window_full());
    // One more accepted, then the timer's ping behind it.
    send(&mut l, &["late"]);
    l.mark_turn(t0 + MARK_EVERY, true);
    assert!(
        matches!(l.pending.back().map(|e| &e.frame), Some(WsMessage::Ping(p)) if p[..] == 9u64.to_be_bytes())
    );
    assert!(
        l.mark_written(t0 + MARK_EVERY),
        "a ping for the written 8 goes first"
    );
    assert!(
        matches!(l.pending.front().map(|e| &e.frame), Some(WsMessage::Ping(p)) if p[..] == 8u64.to_be_bytes())
    );
    // Asked again before its write started: the same ping, not another.
    assert!(l.mark_written(t0 + MARK_EVERY));
    assert_eq!(l.pending_len(), 3);
    // Written; its pong confirms the eight and opens the window.
    l.started = 1;
    assert_eq!(l.flushed(), 0);
    assert!(
        !l.mark_written(t0 + MARK_EVERY),
        "a written ping covers them"
    );
    l.pong(&8u64.to_be_bytes());
    assert_eq!(l.unconfirmed_len(), 0);
    assert!(!l.window_full());
}

/// A token-refresh handover queues our close frame behind the data; a
/// keepalive or confirmation ping after it would make the socket refuse
/// the write, end the connection uncleanly and write the tail twice.
#[test]
fn nothing_is_queued_behind_our_close_frame_and_the_echo_confirms_all() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    send(&mut l, &["a", "b"]);
    l.push_control(WsMessage::Close(None));
    assert_eq!(
        turn(&mut l, t0 + MARK_EVERY),
        None,
        "no ping after the close"
    );
    l.push_control(WsMessage::Ping(Default::default()));
    assert!(l.pending.back().is_some_and(|e| e.frame.is_close()));
    assert_eq!(l.flushed(), 2);
    assert_eq!(l.mark_due(), None, "the echo confirms, not a ping");
    assert_eq!(l.connection_ended(Ending::Clean), Settled::default());
    send(&mut l, &["c"]);
    assert!(
        turn(&mut l, t0 + MARK_EVERY * 2).is_some(),
        "a new connection pings again"
    );
}

#[test]
fn a_turn_takes_a_ping_when_one_is_due_and_a_later_pong_confirms_earlier_turns() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    send(&mut l, &["a"]);
    let first = turn(&mut l, t0).unwrap();
    l.flushed();
    assert_eq!(turn(&mut l, t0), None, "nothing new: no ping");
    send(&mut l, &["b"]);
    let soon = t0 + Duration::from_millis(1);
    assert_eq!(turn(&mut l, soon), None, "a ping is in flight and not old");
    l.flushed();
    assert_eq!(l.mark_due(), Some(t0 + MARK_EVERY), "b waits for one");
    send(&mut l, &["c"]);
    let second = turn(&mut l, t0 + MARK_EVERY).unwrap();
    l.flushed();
    assert_eq!(l.mark_due(), None);
    assert_ne!(first, second);
    assert_eq!(l.unconfirmed_len(), 3);
    l.pong(&second);
    assert_eq!(l.unconfirmed_len(), 0);
    l.pong(&first); // already answered by the later one
    assert!(l.marks.is_empty());
}

#[test]
fn a_burst_takes_a_ping_at_once() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    send(&mut l, &["a"]);
    turn(&mut l, t0).unwrap();
    l.flushed();
    for _ in 0..MARK_FRAMES {
        send(&mut l, &["x"]);
    }
    assert!(turn(&mut l, t0 + Duration::from_millis(1)).is_some());
}

#[test]
fn an_unclean_end_requeues_the_unconfirmed_first_at_least_once() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    send(&mut l, &["a", "b"]);
    turn(&mut l, t0);
    l.flushed();
    send(&mut l, &["c"]);
    assert_eq!(
        l.connection_ended(Ending::Unclean),
        Settled {
            resent: 2,
            ..Settled::default()
        }
    );
    let order: Vec<_> = l
        .pending
        .iter()
        .map(|e| e.frame.to_text().unwrap().to_owned())
        .collect();
    assert_eq!(order, ["a", "b", "c"], "no ping left, order kept");
    turn(&mut l, t0);
    assert_eq!(l.flushed(), 3);
    assert_eq!(l.connection_ended(Ending::Clean), Settled::default());
    assert!(!l.has_undelivered());
}

#[test]
fn an_unclean_end_reports_the_unconfirmed_at_most_once() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtMostOnce);
    send(&mut l, &["a"]);
    turn(&mut l, t0);
    l.flushed();
    assert_eq!(
        l.connection_ended(Ending::Unclean),
        Settled {
            possibly_lost: 1,
            ..Settled::default()
        }
    );
    assert!(l.pending.is_empty());
    assert!(!l.has_undelivered());
}

#[test]
fn flush_answers_once_everything_before_it_is_written() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let (tx, mut rx) = oneshot::channel();
    l.flush(tx);
    assert!(rx.try_recv().is_ok(), "nothing pending: at once");
    send(&mut l, &["a"]);
    let (tx, mut rx) = oneshot::channel();
    l.flush(tx);
    send(&mut l, &["b"]);
    assert!(rx.try_recv().is_err());
    turn(&mut l, t0);
    l.flushed();
    assert!(rx.try_recv().is_ok());
}

#[test]
fn undelivered_lists_unconfirmed_then_unwritten() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    send(&mut l, &["a"]);
    turn(&mut l, t0);
    l.flushed();
    send(&mut l, &["b", "c"]);
    let Leftover {
        undelivered: u,
        settled,
    } = l.take_undelivered();
    let lost = settled.possibly_lost;
    assert_eq!(lost, 0);
    assert_eq!(u.written(), 1);
    let texts: Vec<_> = u.frames().iter().map(|f| f.as_text().unwrap()).collect();
    assert_eq!(texts, ["a", "b", "c"]);
}

/// A receipt, and what it says now (`None`: not yet).
fn receipt() -> (
    ReceiptTx,
    oneshot::Receiver<Result<(), crate::ws::error::Error>>,
) {
    oneshot::channel()
}

fn handed_back(
    rx: &mut oneshot::Receiver<Result<(), crate::ws::error::Error>>,
) -> Option<(String, usize)> {
    match rx.try_recv() {
        Ok(Err(e)) => {
            let u = e.undelivered().expect("hands the message back");
            Some((u.frames()[0].as_text().unwrap().to_owned(), u.written()))
        }
        other => panic!("expected a failed receipt, got {other:?}"),
    }
}

#[test]
fn a_receipt_resolves_when_a_pong_confirms_its_message() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let (tx, mut rx) = receipt();
    l.accept(text("a"), Some(tx), false);
    let mark = turn(&mut l, t0).unwrap();
    l.flushed();
    assert!(rx.try_recv().is_err(), "written, not confirmed yet");
    l.pong(&mark);
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));
}

#[test]
fn at_least_once_a_receipt_waits_through_an_unclean_end_and_resolves_on_the_next_connection() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let (tx, mut rx) = receipt();
    l.accept(text("a"), Some(tx), false);
    turn(&mut l, t0);
    l.flushed();
    l.connection_ended(Ending::Unclean);
    assert!(rx.try_recv().is_err(), "queued again: still open");
    turn(&mut l, t0);
    l.flushed();
    l.connection_ended(Ending::Clean);
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));
}

#[test]
fn at_most_once_an_unclean_end_fails_the_receipt_handing_the_message_back() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtMostOnce);
    let (tx, mut rx) = receipt();
    l.accept(text("a"), Some(tx), false);
    turn(&mut l, t0);
    l.flushed();
    l.connection_ended(Ending::Unclean);
    assert!(rx.try_recv().is_err(), "failed only once counted");
    l.answer_given_up();
    assert_eq!(handed_back(&mut rx), Some(("a".into(), 1)));
}

#[test]
fn closing_fails_the_receipts_of_what_it_hands_back() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let (tx_a, mut rx_a) = receipt();
    let (tx_b, mut rx_b) = receipt();
    l.accept(text("a"), Some(tx_a), false);
    turn(&mut l, t0);
    l.flushed();
    l.accept(text("b"), Some(tx_b), false);
    let left = l.take_undelivered();
    assert_eq!(left.undelivered.len(), 2);
    l.answer_given_up();
    assert_eq!(handed_back(&mut rx_a), Some(("a".into(), 1)));
    assert_eq!(handed_back(&mut rx_b), Some(("b".into(), 0)));
}

/// Volatile frames leave with their connection, written or not, whatever
/// the mode; the frames after them keep their order, and a flush waiting
/// behind them is answered when what remains before it is written.
#[test]
fn volatile_frames_are_dropped_when_their_connection_ends_and_never_written_again() {
    let t0 = Instant::now();
    let mut l = Ledger::new(DeliveryMode::AtLeastOnce);
    let (tx_w, mut rx_w) = receipt();
    let (tx_u, mut rx_u) = receipt();
    send(&mut l, &["a"]);
    l.accept(text("v-written"), Some(tx_w), true);
    turn(&mut l, t0);
    l.flushed();
    send(&mut l, &["b"]);
    l.accept(text("v-unwritten"), Some(tx_u), true);
    send(&mut l, &["c"]);
    let (done, mut flushed) = oneshot::channel();
    l.flush(done);
    let settled = l.connection_ended(Ending::Unclean);
    assert_eq!(
        settled,
        Settled {
            resent: 1,
            possibly_lost: 1,
            dropped: 1
        }
    );
    l.answer_given_up();
    assert_eq!(handed_back(&mut rx_w), Some(("v-written".into(), 1)));
    assert_eq!(handed_back(&mut rx_u), Some(("v-unwritten".into(), 0)));
    let order: Vec<_> = l
        .pending
        .iter()
        .map(|e| e.frame.to_text().unwrap().to_owned())
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(l.unwritten(), 3);
    let mark = turn(&mut l, t0 + MARK_EVERY).unwrap();
    assert_eq!(l.flushed(), 3);
    assert!(
        flushed.try_recv().is_ok(),
        "the flush behind them is answered"
    );
    l.pong(&mark);
    assert_eq!(l.unconfirmed_len(), 0);
    assert!(!l.has_undelivered());
}
