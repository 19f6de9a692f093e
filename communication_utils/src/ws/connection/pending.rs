//! The pending-reply table: the requests waiting for their answer, by
//! `jobId`. It lives in the connection task, which reads every frame, so
//! that a reply is matched where it arrives and nothing else needs to know
//! the table exists.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::ws::error::Error;
use crate::ws::protocol::message::Message;
use crate::ws::protocol::outcome::is_running;

type Reply = oneshot::Sender<Result<Message, Error>>;

/// Tables at least this large are swept for waiters that gave up when they
/// double in size (smaller ones whenever a request arrives).
const SWEEP_FROM: usize = 64;

#[derive(Debug)]
pub(crate) struct Pending {
    waiting: HashMap<String, Reply>,
    /// The next sweep happens when the table reaches this size.
    sweep_at: usize,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            waiting: HashMap::new(),
            sweep_at: SWEEP_FROM,
        }
    }
}

impl Pending {
    /// True while no request waits: frames need not be looked at here.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Notes that the answer under `job_id` goes to `reply`. A request
    /// waiting under the same id keeps its place: `reply` is answered with
    /// [`Error::DuplicateRequest`] and false returned (the new request's
    /// frame must not be sent). A request whose caller gave up (its receiver
    /// dropped: a deadline, a cancelled call) does not count; it is replaced.
    pub(crate) fn insert(&mut self, job_id: String, reply: Reply) -> bool {
        if self.waiting.len() + 1 >= self.sweep_at {
            self.sweep();
        }
        if let Some(old) = self.waiting.get(&job_id)
            && !old.is_closed()
        {
            let _ = reply.send(Err(Error::DuplicateRequest { job_id }));
            return false;
        }
        self.waiting.insert(job_id, reply);
        true
    }

    /// Drops the entries whose caller gave up.
    pub(crate) fn sweep(&mut self) {
        self.waiting.retain(|_, reply| !reply.is_closed());
        self.sweep_at = (self.waiting.len() * 2).max(SWEEP_FROM);
    }

    /// Hands `msg` to the request waiting for its `jobId`, if any; returns
    /// it when it is nobody's answer (or its caller gave up meanwhile), to
    /// be delivered as any message. An outcome still in progress
    /// (`"running"`) is not the answer: it goes on, and so does the wait.
    pub(crate) fn answer(&mut self, msg: Message) -> Option<Message> {
        let Some(job_id) = msg.job_id() else {
            return Some(msg);
        };
        if !self.waiting.contains_key(job_id) || is_running(&msg) {
            return Some(msg);
        }
        let reply = self.waiting.remove(job_id)?;
        match reply.send(Ok(msg)) {
            Ok(()) => None,
            Err(Ok(msg)) => Some(msg),
            Err(Err(_)) => None,
        }
    }

    /// The client is ending: every waiter gets [`Error::Closed`] now
    /// instead of waiting for its deadline.
    pub(crate) fn close_all(&mut self) {
        for (_, reply) in self.waiting.drain() {
            let _ = reply.send(Err(Error::Closed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_to(job: &str) -> Message {
        Message::json(serde_json::json!({"event": "ms-task", "data": {"from": "b", "jobId": job}}))
    }

    #[test]
    fn a_reply_goes_to_its_waiter_and_others_pass_through() {
        let mut p = Pending::default();
        let (tx, mut rx) = oneshot::channel();
        assert!(p.insert("j1".into(), tx));
        assert!(p.answer(answer_to("other")).is_some());
        assert!(p.answer(answer_to("j1")).is_none());
        assert!(rx.try_recv().unwrap().is_ok());
        assert!(p.is_empty());
    }

    #[test]
    fn a_second_request_under_a_waiting_id_is_a_duplicate_unless_the_first_gave_up() {
        let mut p = Pending::default();
        let (first, first_rx) = oneshot::channel();
        assert!(p.insert("j".into(), first));
        let (second, mut second_rx) = oneshot::channel();
        assert!(!p.insert("j".into(), second));
        assert!(matches!(
            second_rx.try_recv(),
            Ok(Err(Error::DuplicateRequest { .. }))
        ));
        drop(first_rx); // its caller timed out
        let (third, mut third_rx) = oneshot::channel();
        assert!(p.insert("j".into(), third));
        assert!(p.answer(answer_to("j")).is_none());
        assert!(third_rx.try_recv().unwrap().is_ok());
    }

    #[test]
    fn an_answer_whose_caller_gave_up_is_delivered_as_any_message() {
        let mut p = Pending::default();
        let (tx, rx) = oneshot::channel();
        p.insert("j".into(), tx);
        drop(rx);
        assert!(p.answer(answer_to("j")).is_some());
    }

    #[test]
    fn waiters_that_gave_up_are_swept_as_the_table_grows() {
        let mut p = Pending::default();
        for i in 0..SWEEP_FROM * 3 {
            let (tx, rx) = oneshot::channel();
            p.insert(format!("j{i}"), tx);
            drop(rx);
        }
        assert!(p.waiting.len() < SWEEP_FROM, "{}", p.waiting.len());
        p.sweep();
        assert!(p.is_empty());
    }

    #[test]
    fn closing_answers_every_waiter_with_closed() {
        let mut p = Pending::default();
        let (tx, mut rx) = oneshot::channel();
        p.insert("j".into(), tx);
        p.close_all();
        assert!(matches!(rx.try_recv(), Ok(Err(Error::Closed))));
        assert!(p.is_empty());
    }
}
