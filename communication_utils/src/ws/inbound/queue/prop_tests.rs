//! Property test: the buffer against a `VecDeque` model, on random
//! sequences of pushes (one or many, of random sizes), pops (one or a
//! group), put-backs and releases, under random frame and byte bounds. The
//! seed is random per run and printed on failure; `MS_UTILS_PROP_SEED=<seed>`
//! replays one.

use std::collections::VecDeque;

use bytes::Bytes;
use rand::Rng;
use rand::rngs::StdRng;

use super::*;
use crate::ws::protocol::message::Message;

const CASES: usize = 3000;
const OPS: usize = 200;

/// The buffer as documented, with no consumer waiting.
struct Model {
    items: VecDeque<(u64, usize)>,
    cap: usize,
    max_bytes: usize,
    held: usize,
}

impl Model {
    fn bytes(&self) -> usize {
        self.items.iter().map(|(_, w)| w).sum()
    }

    fn has_room(&self) -> bool {
        self.items.len() < self.cap && self.bytes() < self.max_bytes
    }

    /// A group: half the backlog (none waits), at least one, at most
    /// `BATCH_FRAMES`, and no frame after `BATCH_BYTES` are reached.
    fn batch(&mut self) -> Vec<(u64, usize)> {
        let want = (self.items.len() / 2).clamp(1, BATCH_FRAMES);
        let mut out = Vec::new();
        let mut bytes = 0;
        while out.len() < want && (out.is_empty() || bytes < BATCH_BYTES) {
            let Some(item) = self.items.pop_front() else {
                break;
            };
            bytes += item.1;
            out.push(item);
        }
        out
    }
}

/// A frame carrying its number, counting for `weight` bytes.
fn item(n: u64, weight: usize) -> Inbound {
    Inbound::Parsed(
        Message::binary(Bytes::copy_from_slice(&n.to_be_bytes())),
        weight,
    )
}

fn number(frame: &Inbound) -> (u64, usize) {
    match frame {
        Inbound::Parsed(m, w) => {
            let b = m.as_binary().expect("a binary message");
            let mut n = [0u8; 8];
            n.copy_from_slice(&b[..8]);
            (u64::from_be_bytes(n), *w)
        }
        other => panic!("{other:?}"),
    }
}

fn weight(rng: &mut StdRng) -> usize {
    match rng.random_range(0..4) {
        0 => rng.random_range(0..=16),
        1 => rng.random_range(17..=2000),
        2 => rng.random_range(2001..=40_000),
        _ => rng.random_range(40_001..=120_000),
    }
}

fn check(q: &InboundQueue, m: &Model) -> Result<(), String> {
    let st = q.lock();
    let got: Vec<_> = st.items.iter().map(number).collect();
    let want: Vec<_> = m.items.iter().copied().collect();
    if got != want {
        return Err(format!("holds {got:?}, model {want:?}"));
    }
    if st.bytes != m.bytes() {
        return Err(format!("counts {} bytes, model {}", st.bytes, m.bytes()));
    }
    drop(st);
    if q.is_empty() != m.items.is_empty() {
        return Err("is_empty differs".into());
    }
    if q.has_waiting() != (m.held > 1 || !m.items.is_empty()) {
        return Err(format!("has_waiting differs (held {})", m.held));
    }
    Ok(())
}

/// Runs one random case; `Err` says what differed at which step.
fn case(rng: &mut StdRng) -> Result<(), String> {
    let cap = rng.random_range(1..=40);
    let max_bytes = match rng.random_range(0..3) {
        0 => rng.random_range(1..=1000),
        1 => rng.random_range(1001..=200_000),
        _ => usize::MAX,
    };
    let q = InboundQueue::new(cap, max_bytes);
    let mut m = Model {
        items: VecDeque::new(),
        cap,
        max_bytes,
        held: 0,
    };
    // Frames taken in groups and not yet let go of.
    let mut taken: VecDeque<(u64, usize)> = VecDeque::new();
    let mut next = 0u64;
    for step in 0..OPS {
        let at = |e: String| format!("step {step}: {e}");
        match rng.random_range(0..7) {
            0 | 1 => {
                let w = weight(rng);
                let room = m.has_room();
                match (q.try_push(item(next, w)), room) {
                    (Ok(()), true) => m.items.push_back((next, w)),
                    (Err(PushError::Full), false) => {}
                    (r, room) => return Err(at(format!("push: {r:?} with room {room}"))),
                }
                next += 1;
            }
            2 => {
                let mut staged: VecDeque<_> = (0..rng.random_range(0..=10))
                    .map(|i| (next + i, weight(rng)))
                    .collect();
                next += staged.len() as u64;
                let mut frames: VecDeque<_> = staged.iter().map(|&(n, w)| item(n, w)).collect();
                if q.push_many(&mut frames).is_err() {
                    return Err(at("push_many refused".into()));
                }
                while m.has_room() {
                    let Some(x) = staged.pop_front() else { break };
                    m.items.push_back(x);
                }
                let left: Vec<_> = frames.iter().map(number).collect();
                if staged != left {
                    return Err(at(format!("push_many left {left:?}")));
                }
            }
            3 => {
                let got = q.try_pop().map(|f| number(&f));
                if got != m.items.pop_front() {
                    return Err(at(format!("try_pop gave {got:?}")));
                }
            }
            4 => {
                let mut out = VecDeque::new();
                let r = q.try_pop_batch(&mut out);
                let want = if m.items.is_empty() {
                    Vec::new()
                } else {
                    m.batch()
                };
                let got: Vec<_> = out.iter().map(number).collect();
                if got != want || r.is_some() == want.is_empty() || r == Some(true) {
                    return Err(at(format!(
                        "pop_batch gave {got:?} ({r:?}), model {want:?}"
                    )));
                }
                m.held += want.len();
                taken.extend(want);
            }
            5 => {
                // Put back the last few taken (as a worker does with the
                // rest of its group), in their order, then let go of them.
                let n = rng.random_range(0..=taken.len());
                let back: Vec<_> = taken.split_off(taken.len() - n).into();
                let mut frames: VecDeque<_> = back.iter().map(|&(n, w)| item(n, w)).collect();
                q.put_back(&mut frames);
                for x in back.into_iter().rev() {
                    m.items.push_front(x);
                }
                q.release(n);
                m.held -= n;
            }
            _ => {
                // Handled: let go of the oldest few taken.
                let n = rng.random_range(0..=taken.len());
                taken.drain(..n);
                q.release(n);
                m.held -= n;
            }
        }
        check(&q, &m).map_err(at)?;
    }
    q.close();
    if !matches!(q.try_push(item(next, 1)), Err(PushError::Closed)) {
        return Err("a push after close was not refused as closed".into());
    }
    Ok(())
}

#[test]
fn the_buffer_behaves_as_a_bounded_fifo_model() {
    let (mut rng, seed) = crate::prop_seed::rng();
    for n in 0..CASES {
        if let Err(e) = case(&mut rng) {
            panic!("seed {seed} case {n}: {e}");
        }
    }
}
