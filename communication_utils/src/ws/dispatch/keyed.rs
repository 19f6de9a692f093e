//! The keyed receive loop: Queue, Replace and Ignore, and a [`Router`]'s
//! routes with their own options (see the [module docs](super) for the model).
//!
//! Messages are sorted here, in arrival order, into lanes: lane 0 has the
//! run's options (plain handlers, routes without options, the fallback),
//! lane `1 + i` the `i`-th route with options of its own. A lane has its
//! strategy, its key function, its own keys and, for a route, its own
//! concurrency bound. A message whose key is busy waits in its key's queue
//! (Queue), replaces the running call (Replace) or is dropped (Ignore); one
//! allowed to run but over its lane's or the run's bound waits in its lane's
//! ready queue. Neither kind of waiting holds a place under the run's bound:
//! only running calls do. What waits is bounded by the inbound buffer's size
//! (`inbound_buffer`): at that many waiting messages the loop stops taking
//! from the buffer, which fills, and the connection stops reading.
//!
//! [`Router`]: super::Router

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::ws::dispatch::answer::{Unanswered, answer, answer_later};
use crate::ws::dispatch::context::CallContext;
use crate::ws::dispatch::gate::{Gate, GatePermit};
use crate::ws::dispatch::{Handler, RunOptions, Strategy, invoke};
use crate::ws::in_flight::TaskSlot;
use crate::ws::inbound::process;
use crate::ws::protocol::message::Message;
use crate::ws::shared::Shared;

/// The receive loop of every run but the plain parallel one.
pub(super) async fn keyed_loop<H: Handler>(
    shared: &Arc<Shared>,
    handler: &Arc<H>,
    options: &Arc<RunOptions>,
    cx: &Arc<CallContext>,
    stop: &CancellationToken,
    limit: usize,
) {
    let dispatch = Arc::new(Dispatch::new(shared, handler, options, cx, limit));
    let closing = shared.lifecycle.stop_receiving.cancelled();
    tokio::pin!(closing);
    tokio::select! {
        biased;
        () = &mut closing => {}
        () = take_messages(&dispatch, shared, stop) => return,
    }
    // `close()`: what waits is not started (the running calls finish).
    dispatch.abandon();
}

/// Takes messages from the inbound buffer into the dispatch, until the run
/// stops or the client shuts down.
async fn take_messages<H: Handler>(
    dispatch: &Arc<Dispatch<H>>,
    shared: &Arc<Shared>,
    stop: &CancellationToken,
) {
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    let shutdown = shared.lifecycle.shutdown.cancelled();
    tokio::pin!(shutdown);
    loop {
        // Room for one more waiting message...
        loop {
            let room = dispatch.room.notified();
            tokio::pin!(room);
            // Registered before the check, so a release in between is not missed.
            room.as_mut().enable();
            if dispatch.lock().held < dispatch.cap {
                break;
            }
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = &mut stopped => return,
                () = room => {}
            }
        }
        // ... and a free place under the run's bound (not kept: the message
        // may have to wait for its key or its route, and a waiting message
        // holds no place). When all are taken this loop stops taking from the
        // buffer, it fills, and the connection stops reading.
        let place = match dispatch.gate.try_acquire() {
            Some(p) => p,
            None => tokio::select! {
                biased;
                () = &mut shutdown => return,
                p = dispatch.gate.acquire() => p,
            },
        };
        drop(place);
        // A call that ended while this loop held the place could not give
        // it to a waiting message: give it now (the buffer may stay empty).
        dispatch.pump();
        let frame = tokio::select! {
            biased;
            () = &mut stopped => return,
            () = &mut shutdown => return,
            f = shared.inbound.pop() => match f {
                Some(f) => f,
                None => return,
            },
        };
        if let Some(msg) = process(shared.pipeline(), frame) {
            dispatch.arrive(msg);
        }
    }
}

/// What the loop and the handler tasks share.
struct Dispatch<H> {
    shared: Arc<Shared>,
    handler: Arc<H>,
    cx: Arc<CallContext>,
    /// Each lane's options (the run's layered under a route's).
    options: Vec<Arc<RunOptions>>,
    /// Route index to lane.
    route_lane: Vec<usize>,
    /// The run's concurrency bound, over all lanes.
    gate: Arc<Gate>,
    /// Messages that may wait (in key and ready queues) before the loop
    /// stops taking from the buffer.
    cap: usize,
    state: Mutex<State>,
    /// Signalled when a call ends (waiting messages may have started).
    room: Notify,
}

impl<H> Dispatch<H> {
    /// `close()` has begun: every waiting call is dropped (its task
    /// answered as not started) and nothing more starts.
    fn abandon(&self) {
        let mut abandoned = Vec::new();
        {
            let mut state = self.lock();
            state.closing = true;
            for lane in &mut state.lanes {
                abandoned.extend(lane.ready.drain(..).filter_map(|job| job.task));
                for slot in lane.keys.values_mut() {
                    abandoned.extend(slot.queue.drain(..).filter_map(|(_, task)| task));
                }
            }
            state.held = 0;
        }
        for task in abandoned {
            let shared = self.shared.clone();
            answer_later(
                &shared.lifecycle.handlers,
                shared.clone(),
                task,
                Unanswered::NotStarted,
            );
        }
        self.room.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock::lock(&self.state)
    }
}

struct State {
    lanes: Vec<Lane>,
    /// Messages waiting in key and ready queues.
    held: usize,
    next_gen: u64,
    /// The lane `pump` looks at first (round robin).
    turn: usize,
    /// Tasks dropped under the lock (ignored, replaced while waiting), to
    /// answer once it is released.
    unanswered: Vec<(Arc<TaskSlot>, Unanswered)>,
    /// Set by `abandon`: nothing starts any more.
    closing: bool,
}

struct Lane {
    strategy: Strategy,
    /// The route's own bound on its running calls.
    bound: Option<usize>,
    running: usize,
    /// Calls allowed by their key, waiting for a place.
    ready: VecDeque<Job>,
    keys: HashMap<String, Slot>,
}

/// A key with a call running or ready, and what waits behind it.
struct Slot {
    /// The job that owns the key; a ready job of another generation was
    /// replaced and is skipped.
    generation: u64,
    /// Queue: the messages after it (with their tasks), in arrival order.
    queue: VecDeque<(Message, Option<Arc<TaskSlot>>)>,
    /// Replace: cancels the call.
    cancel: Option<CancellationToken>,
}

/// One handler call, waiting or running.
struct Job {
    lane: usize,
    msg: Message,
    key: Option<String>,
    generation: u64,
    cancel: Option<CancellationToken>,
    /// The task it handles, when the lane answers tasks.
    task: Option<Arc<TaskSlot>>,
}

/// A job given a place: it runs holding `permit`.
struct Start {
    job: Job,
    permit: GatePermit,
}

impl<H: Handler> Dispatch<H> {
    fn new(
        shared: &Arc<Shared>,
        handler: &Arc<H>,
        run: &Arc<RunOptions>,
        cx: &Arc<CallContext>,
        limit: usize,
    ) -> Self {
        let mut options = vec![run.clone()];
        let mut bounds = vec![None];
        let mut route_lane = Vec::new();
        if let Some(router) = handler.as_router() {
            for own in router.route_options() {
                match own {
                    Some(own) => {
                        route_lane.push(options.len());
                        bounds.push(own.concurrency);
                        options.push(Arc::new(own.layered_over(run)));
                    }
                    None => route_lane.push(0),
                }
            }
        }
        let lanes = options
            .iter()
            .zip(bounds)
            .map(|(o, bound)| Lane {
                strategy: o.strategy.unwrap_or_default(),
                bound,
                running: 0,
                ready: VecDeque::new(),
                keys: HashMap::new(),
            })
            .collect();
        Self {
            shared: shared.clone(),
            handler: handler.clone(),
            cx: cx.clone(),
            options,
            route_lane,
            gate: Gate::new(limit),
            cap: shared.config.inbound_buffer.max(1),
            state: Mutex::new(State {
                lanes,
                held: 0,
                next_gen: 0,
                turn: 0,
                unanswered: Vec::new(),
                closing: false,
            }),
            room: Notify::new(),
        }
    }

    /// Sorts a new message into its lane and key, and starts what can start.
    fn arrive(self: &Arc<Self>, msg: Message) {
        let lane = match self.handler.as_router().and_then(|r| r.route_index(&msg)) {
            Some(route) => self.route_lane.get(route).copied().unwrap_or(0),
            None => 0,
        };
        // User code: outside the lock.
        let key = self.options[lane].key_of(&msg);
        let task = self.options[lane].task_of(&msg);
        let mut starts = Vec::new();
        let unanswered = {
            let mut state = self.lock();
            state.arrive(lane, key, msg, task);
            state.pump(&self.gate, &mut starts);
            std::mem::take(&mut state.unanswered)
        };
        self.spawn(starts, unanswered);
    }

    /// Starts what waits, if there are places.
    fn pump(self: &Arc<Self>) {
        let mut starts = Vec::new();
        let unanswered = {
            let mut state = self.lock();
            state.pump(&self.gate, &mut starts);
            std::mem::take(&mut state.unanswered)
        };
        self.spawn(starts, unanswered);
    }

    /// Starts `starts`, and answers the tasks dropped meanwhile.
    fn spawn(self: &Arc<Self>, starts: Vec<Start>, unanswered: Vec<(Arc<TaskSlot>, Unanswered)>) {
        for (task, why) in unanswered {
            answer_later(
                &self.shared.lifecycle.handlers,
                self.shared.clone(),
                task,
                why,
            );
        }
        for start in starts {
            let this = self.clone();
            self.shared.lifecycle.handlers.spawn(this.run(start));
        }
    }

    /// Runs `start`, then, while there is more to start, the next call in
    /// this same task (the others in new ones).
    async fn run(self: Arc<Self>, mut start: Start) {
        loop {
            let Start { job, permit } = start;
            let Job {
                lane,
                msg,
                key,
                generation,
                cancel,
                task,
            } = job;
            let call = invoke(
                &self.shared,
                &*self.handler,
                msg,
                key.clone(),
                &self.options[lane],
                task.clone(),
                &self.cx,
            );
            match cancel {
                // Replaced: the call is dropped at its next await.
                Some(cancel) => tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        if let Some(task) = &task {
                            answer(&self.shared, task, &Unanswered::Replaced).await;
                        }
                    }
                    () = call => {}
                },
                None => call.await,
            }
            drop(permit);
            let mut starts = Vec::new();
            let unanswered = {
                let mut state = self.lock();
                state.finish(lane, key, generation);
                state.pump(&self.gate, &mut starts);
                std::mem::take(&mut state.unanswered)
            };
            self.room.notify_one();
            let next = starts.pop();
            self.spawn(starts, unanswered);
            match next {
                Some(next) => start = next,
                None => return,
            }
        }
    }
}

impl State {
    fn arrive(
        &mut self,
        lane: usize,
        key: Option<String>,
        msg: Message,
        task: Option<Arc<TaskSlot>>,
    ) {
        let strategy = self.lanes[lane].strategy;
        let key = match key {
            Some(key) if strategy != Strategy::Parallel => key,
            // Unkeyed, or Parallel: nothing to wait for but a place.
            key => return self.ready(lane, msg, key, 0, None, task),
        };
        self.next_gen += 1;
        let generation = self.next_gen;
        let cancel = (strategy == Strategy::Replace).then(CancellationToken::new);
        let slots = &mut self.lanes[lane].keys;
        if let Some(slot) = slots.get_mut(&key) {
            match strategy {
                Strategy::Queue => {
                    slot.queue.push_back((msg, task));
                    self.held += 1;
                    return;
                }
                Strategy::Ignore => {
                    tracing::debug!(%key, "message ignored: a handler for this key is running");
                    if let Some(task) = task {
                        self.unanswered.push((task, Unanswered::Ignored));
                    }
                    return;
                }
                _ => {
                    // Replace: the running call is cancelled at its next
                    // await; a call still waiting for a place is skipped.
                    if let Some(running) = slot.cancel.take() {
                        tracing::debug!(%key, "replacing the running handler");
                        running.cancel();
                    }
                    slot.generation = generation;
                    slot.cancel = cancel.clone();
                }
            }
        } else {
            slots.insert(
                key.clone(),
                Slot {
                    generation,
                    queue: VecDeque::new(),
                    cancel: cancel.clone(),
                },
            );
        }
        self.ready(lane, msg, Some(key), generation, cancel, task);
    }

    /// A call allowed by its key waits for a place, behind those before it.
    fn ready(
        &mut self,
        lane: usize,
        msg: Message,
        key: Option<String>,
        generation: u64,
        cancel: Option<CancellationToken>,
        task: Option<Arc<TaskSlot>>,
    ) {
        self.lanes[lane].ready.push_back(Job {
            lane,
            msg,
            key,
            generation,
            cancel,
            task,
        });
        self.held += 1;
    }

    /// A call ended: the place is free, the key goes to what waits for it.
    fn finish(&mut self, lane: usize, key: Option<String>, generation: u64) {
        let l = &mut self.lanes[lane];
        l.running -= 1;
        let Some(key) = key.filter(|_| l.strategy != Strategy::Parallel) else {
            return;
        };
        let Some(slot) = l.keys.get_mut(&key) else {
            return;
        };
        if slot.generation != generation {
            return; // replaced meanwhile: the key is the new call's
        }
        let next = match l.strategy {
            Strategy::Queue => slot.queue.pop_front(),
            _ => None,
        };
        match next {
            Some((next, task)) => {
                self.held -= 1;
                self.ready(lane, next, Some(key), generation, None, task);
            }
            None => {
                l.keys.remove(&key);
            }
        }
    }

    /// Starts waiting calls while there are places: lanes in turn, each in
    /// arrival order, a lane at its own bound skipped.
    fn pump(&mut self, gate: &Arc<Gate>, starts: &mut Vec<Start>) {
        if self.closing {
            return;
        }
        let n = self.lanes.len();
        'places: loop {
            if self.lanes.iter().all(|l| l.ready.is_empty()) {
                return;
            }
            let Some(permit) = gate.try_acquire() else {
                return;
            };
            for i in 0..n {
                let lane = (self.turn + i) % n;
                while let Some(job) = self.take_ready(lane) {
                    if !self.owns_key(&job) {
                        // Replaced while it waited.
                        if let Some(task) = job.task {
                            self.unanswered.push((task, Unanswered::Replaced));
                        }
                        continue;
                    }
                    self.lanes[lane].running += 1;
                    self.turn = (lane + 1) % n;
                    starts.push(Start { job, permit });
                    continue 'places;
                }
            }
            return; // every waiting call is over its route's bound
        }
    }

    /// The next ready job of `lane`, if the lane is under its bound.
    fn take_ready(&mut self, lane: usize) -> Option<Job> {
        let l = &mut self.lanes[lane];
        if l.bound.is_some_and(|b| l.running >= b) {
            return None;
        }
        let job = l.ready.pop_front()?;
        self.held -= 1;
        Some(job)
    }

    fn owns_key(&self, job: &Job) -> bool {
        let lane = &self.lanes[job.lane];
        match &job.key {
            Some(key) if lane.strategy != Strategy::Parallel => lane
                .keys
                .get(key)
                .is_some_and(|slot| slot.generation == job.generation),
            _ => true,
        }
    }
}
