//! The receive loop: each message in its own task, a concurrency bound that
//! pushes back on the socket, per-key strategies, and isolation of handler
//! errors and panics.
//!
//! # The model
//!
//! A run ([`MicroServiceWs::run_with`]) has one set of [`RunOptions`]: a
//! [`Strategy`], a key function (default: the job id), a concurrency bound,
//! a deadline and an error hook. A [`Router`](router::Router) may give a route options of
//! its own ([`Router::route_with`], a [`RunOptions`] too): the route's
//! messages then go by its strategy, its key and its deadline and hook,
//! with what it leaves unset taken from the run's, and its `concurrency` is
//! a bound on that route's calls inside the run's bound. Each route with
//! options has its own keys (the same `jobId` under two such routes never
//! waits across them); routes without options and the fallback share the
//! run's options and keys, as one plain handler would. The loop finds the
//! route through [`Handler::as_router`] (default `None`; a `Router` returns
//! itself), so `run_with(options, router)` is all it takes.
//!
//! # The loops
//!
//! - A plain handler (or a router whose routes have no options of their
//!   own) with [`Strategy::Parallel`]: `limit` worker tasks take messages
//!   from the inbound buffer one at a time (`worker`, the fast path).
//! - Everything else: one loop sorts messages, in arrival order, into lanes
//!   (the run's, and one per route with options) and keys (`keyed`). A
//!   message whose key is busy waits in that key's queue (Queue), cancels
//!   the running call (Replace) or is dropped (Ignore); one that may run but
//!   finds its route's bound or the run's bound full waits in its lane's
//!   ready queue. Only running calls take places under the bounds, so a
//!   burst on one key never keeps other keys waiting. Waiting messages are
//!   bounded by the client's `inbound_buffer` size: at that many the loop
//!   stops taking from the inbound buffer, which fills, and the connection
//!   stops reading (backpressure; nothing is dropped). The loop also stops
//!   taking while every place under the run's bound is busy.

mod answer;
pub(crate) mod context;
pub(crate) mod gate;
mod keyed;
mod options;
pub(crate) mod router;
pub(crate) mod task;

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::ws::client::MicroServiceWs;
use crate::ws::dispatch::answer::{Unanswered, answer};
use crate::ws::dispatch::context::CallContext;
use crate::ws::dispatch::router::RouteTable;
use crate::ws::error::Error;
use crate::ws::in_flight::{TaskSlot, as_handler_of};
use crate::ws::inbound::process;
use crate::ws::inbound::queue::InboundQueue;
use crate::ws::protocol::message::Message;
use crate::ws::shared::Shared;
use crate::ws::state::{Counters, Event, HandlerFailure};

pub use options::{FailedCall, RunOptions, Strategy};

/// What a handler may fail with; logged with the message's key, never fatal.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Handles one message. Implemented for every
/// `Fn(Message) -> impl Future<Output = Result<(), E>>` with `E: Into<HandlerError>`
/// (so `anyhow::Error`, `std::io::Error`, `Infallible`, ... all work), and by [`Router`](super::Router).
///
/// ```
/// use ms_utils_communication::ws::{Handler, Message};
/// fn takes<H: Handler>(_: H) {}
/// takes(|msg: Message| async move {
///     let _ = msg.event();
///     Ok::<(), std::io::Error>(())
/// });
/// ```
pub trait Handler: Send + Sync + 'static {
    /// The future of one call.
    type Future: Future<Output = Result<(), HandlerError>> + Send + 'static;
    /// Handle `msg`.
    fn call(&self, msg: Message) -> Self::Future;

    /// Handle `msg`, with what the receive loop knows of the call (the
    /// client it runs for: [`CallContext::client`]). The receive loop calls
    /// this one; the default calls [`call`](Self::call). A [`Router`](router::Router) uses it
    /// to give its task handlers their [`Context`](crate::ws::Context).
    ///
    /// ```
    /// use ms_utils_communication::ws::{Handler, Message};
    /// // A closure handler needs no context: the default calls it.
    /// fn takes<H: Handler>(_: H) {}
    /// takes(|_: Message| async { Ok::<(), std::io::Error>(()) });
    /// ```
    fn call_with(&self, msg: Message, cx: &CallContext) -> Self::Future {
        let _ = cx;
        self.call(msg)
    }

    /// The route table of the [`Router`](router::Router) this handler routes with, if any:
    /// the receive loop then dispatches each message by the options of the
    /// route it takes ([`Router::route_with`](crate::ws::Router::route_with)), the others by the run's
    /// [`RunOptions`]. The default, `None`, puts every message under the
    /// run's options; a [`Router`](router::Router) returns its own, and a handler that
    /// wraps one (to add metrics, say) may return the inner router's to
    /// keep its routes' options.
    ///
    /// ```
    /// use ms_utils_communication::ws::{Handler, Message, Router};
    /// let plain = |_: Message| async { Ok::<(), std::io::Error>(()) };
    /// assert!(plain.as_router().is_none());
    /// assert!(Router::new().as_router().is_some());
    /// ```
    fn as_router(&self) -> Option<&RouteTable> {
        None
    }
}

impl<F, Fut, E> Handler for F
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<HandlerError> + 'static,
{
    type Future = HandlerCall<Fut>;
    fn call(&self, msg: Message) -> Self::Future {
        HandlerCall { fut: (self)(msg) }
    }
}

pin_project_lite::pin_project! {
    /// The future of one call of a closure [`Handler`]: the closure's own
    /// future, with its error turned into a [`HandlerError`]. (A type of this
    /// crate, so that the signature names no other crate's.)
    pub struct HandlerCall<Fut> {
        #[pin]
        fut: Fut,
    }
}

impl<Fut, E> Future for HandlerCall<Fut>
where
    Fut: Future<Output = Result<(), E>>,
    E: Into<HandlerError>,
{
    type Output = Result<(), HandlerError>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        self.project().fut.poll(cx).map(|r| r.map_err(Into::into))
    }
}

impl<Fut> fmt::Debug for HandlerCall<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerCall").finish_non_exhaustive()
    }
}

/// A running receive loop, from [`MicroServiceWs::run`]. Holds a client handle,
/// so the client stays open while it exists. Dropping it leaves the loop running.
#[derive(Debug)]
pub struct RunHandle {
    client: MicroServiceWs,
    stop: CancellationToken,
    join: JoinHandle<Result<(), Error>>,
}

impl RunHandle {
    /// Stop taking new messages (running handlers finish on their own, and
    /// messages already taken that wait for their key or route run after them).
    ///
    /// ```no_run
    /// # fn f(run: ms_utils_communication::ws::RunHandle) { run.stop(); }
    /// ```
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// The client this loop receives for.
    ///
    /// ```no_run
    /// # fn f(run: ms_utils_communication::ws::RunHandle) { let _ms = run.client().clone(); }
    /// ```
    pub fn client(&self) -> &MicroServiceWs {
        &self.client
    }

    /// Wait until the loop ends: after [`stop`](Self::stop), or once the client is
    /// closed and every buffered message was handed out.
    ///
    /// # Errors
    /// [`Error::ReceiverBusy`] when another `run` loop was already receiving.
    ///
    /// # Cancellation safety
    /// Cancel-safe; the loop keeps running.
    ///
    /// ```no_run
    /// # async fn f(run: ms_utils_communication::ws::RunHandle) -> Result<(), ms_utils_communication::ws::Error> {
    /// run.finished().await?;
    /// # Ok(()) }
    /// ```
    pub async fn finished(self) -> Result<(), Error> {
        self.join.await.unwrap_or(Ok(()))
    }
}

impl MicroServiceWs {
    /// Start the receive loop: each message goes to `handler` in its own task,
    /// at most `max_concurrency` at once (the socket is not read while all are
    /// busy). A handler's error or panic is logged and counted; the loop goes on.
    /// Chunked messages arrive reassembled; non-JSON text frames are dropped.
    ///
    /// ```no_run
    /// use ms_utils_communication::ws::{Message, MicroServiceWs};
    /// # async fn f(ms: MicroServiceWs) {
    /// let run = ms.run(|msg: Message| async move {
    ///     if msg.event() == Some("ms-task") {
    ///         // ... do the work ...
    ///     }
    ///     Ok::<(), std::io::Error>(())
    /// });
    /// let _ = run.finished().await;
    /// # }
    /// ```
    pub fn run<H: Handler>(&self, handler: H) -> RunHandle {
        self.run_with(RunOptions::new(), handler)
    }

    /// [`run`](Self::run) with a per-key strategy and concurrency.
    ///
    /// ```no_run
    /// use ms_utils_communication::ws::{Message, MicroServiceWs, RunOptions, Strategy};
    /// # async fn f(ms: MicroServiceWs) {
    /// // One job at a time per jobId, in order.
    /// let run = ms.run_with(RunOptions::new().strategy(Strategy::Queue), |msg: Message| async move {
    ///     Ok::<(), std::io::Error>(())
    /// });
    /// # drop(run); }
    /// ```
    pub fn run_with<H: Handler>(&self, options: RunOptions, handler: H) -> RunHandle {
        let stop = CancellationToken::new();
        let shared = self.shared.clone();
        let busy = shared.receiving.swap(true, Ordering::AcqRel);
        let join = if busy {
            tokio::spawn(async { Err(Error::ReceiverBusy) })
        } else {
            shared.lifecycle.handlers.spawn(run_loop(
                shared.clone(),
                Arc::new(handler),
                options,
                Arc::new(CallContext::new(self.downgrade())),
                stop.clone(),
            ))
        };
        RunHandle {
            client: self.clone(),
            stop,
            join,
        }
    }
}

async fn run_loop<H: Handler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    options: RunOptions,
    cx: Arc<CallContext>,
    stop: CancellationToken,
) -> Result<(), Error> {
    let limit = options.concurrency.unwrap_or(shared.config.max_concurrency);
    let options = Arc::new(options);
    // A router with per-route options goes through the keyed loop, whatever
    // the run's strategy: its routes may have other strategies and bounds.
    let routed = handler
        .as_router()
        .is_some_and(|r| r.route_options().any(|o| o.is_some()));
    if options.strategy.unwrap_or_default() == Strategy::Parallel && !routed {
        // `limit` workers take messages from the inbound buffer one at a time:
        // at most `limit` handler calls at once, and when all are busy nobody
        // takes from the buffer, it fills, and the connection stops reading.
        // Cheaper than a task per message (a spawn costs more than parsing a
        // small frame), with the same isolation: each call is caught on its own.
        let workers: Vec<_> = (0..limit)
            .map(|_| {
                shared.lifecycle.handlers.spawn(worker(
                    shared.clone(),
                    handler.clone(),
                    options.clone(),
                    cx.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        let workers = async {
            for w in workers {
                let _ = w.await;
            }
        };
        tokio::pin!(workers);
        tokio::select! {
            () = &mut workers => {}
            // Closing: a worker may be busy with a call for a while yet;
            // what arrives meanwhile is answered now, not after it.
            () = shared.lifecycle.stop_receiving.cancelled(), if !stop.is_cancelled() => {
                tokio::join!(workers, not_started_until_closed(&shared, &*handler, &options));
            }
        }
    } else {
        keyed::keyed_loop(&shared, &handler, &options, &cx, &stop, limit).await;
        if shared.lifecycle.stop_receiving.is_cancelled() && !stop.is_cancelled() {
            not_started_until_closed(&shared, &*handler, &options).await;
        }
    }
    shared.receiving.store(false, Ordering::Release);
    Ok(())
}

/// While `close()` lets running handlers finish, and until the connection
/// ends: every message still buffered or arriving is taken and not run;
/// each task among them is answered as not started.
async fn not_started_until_closed<H: Handler>(shared: &Arc<Shared>, handler: &H, run: &RunOptions) {
    let table = handler.as_router();
    loop {
        let frame = tokio::select! {
            biased;
            () = shared.lifecycle.shutdown.cancelled() => return,
            frame = shared.inbound.pop() => match frame {
                Some(frame) => frame,
                None => return,
            },
        };
        let Some(msg) = process(shared.pipeline(), frame) else {
            continue;
        };
        let own = table.and_then(|t| t.options_of(&msg));
        let task = match own {
            Some(own) => own.layered_over(run).task_of(&msg),
            None => run.task_of(&msg),
        };
        if let Some(task) = task {
            answer(shared, &task, &Unanswered::NotStarted).await;
        }
    }
}

/// One of the parallel strategy's workers.
///
/// A worker takes frames in small groups (one lock for several frames under a
/// flood) and handles them one after the other. So that a slow handler never
/// holds the rest of its group hostage, the group goes back to the buffer, for
/// the other workers, as soon as a handler call has to wait.
async fn worker<H: Handler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    options: Arc<RunOptions>,
    cx: Arc<CallContext>,
    stop: CancellationToken,
) {
    // Created once: a cancellation future registers itself when first polled.
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    let shutdown = shared.lifecycle.shutdown.cancelled();
    tokio::pin!(shutdown);
    let closing = shared.lifecycle.stop_receiving.cancelled();
    tokio::pin!(closing);
    let mut local = VecDeque::new();
    // The group in `local` counts as held in the buffer until it is done
    // (see `InboundQueue::has_waiting`); released on every way out.
    let mut holding = Holding {
        queue: &shared.inbound,
        frames: 0,
    };
    for turn in 0u64.. {
        // Checking a token takes a lock: under a flood, look every 256
        // messages (an idle worker notices at once, in the select below).
        if turn.is_multiple_of(256)
            && (stop.is_cancelled()
                || shared.lifecycle.shutdown.is_cancelled()
                || shared.lifecycle.stop_receiving.is_cancelled())
        {
            shared.inbound.put_back(&mut local);
            return;
        }
        if local.is_empty() {
            holding.release_all();
            // Frames first: polling a cancellation future takes a lock, and a
            // worker woken for frames should not pay it (the check above
            // still stops a busy worker). `pop_batch` takes what is there
            // without waiting.
            let popped = tokio::select! {
                biased;
                popped = shared.inbound.pop_batch(&mut local) => popped,
                () = &mut stopped => return,
                () = &mut shutdown => return,
                () = &mut closing => return,
            };
            holding.frames = local.len();
            match popped {
                None => return, // closed and drained
                // The worker just woken for the rest of the backlog sits in
                // this thread's LIFO slot, which no other thread may steal
                // from: a handler that computes without awaiting would keep
                // it (and the backlog) waiting. Let it run first; this task
                // goes to the run queue, from which an idle thread steals.
                Some(true) => tokio::task::yield_now().await,
                Some(false) => {}
            }
        }
        let Some(frame) = local.pop_front() else {
            continue;
        };
        if let Some(msg) = process(shared.pipeline(), frame) {
            let key = options.key_of(&msg);
            let task = options.task_of(&msg);
            let call = invoke(&shared, &*handler, msg, key, &options, task, &cx);
            tokio::pin!(call);
            let first = poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
            if first.is_pending() {
                // Neither the frames put back nor this waiting call are
                // held any more.
                holding.release_all();
                shared.inbound.put_back(&mut local);
                call.await;
                // A call that waited may have outlasted the run or the
                // client's receiving: look before taking more.
                if stop.is_cancelled() || shared.lifecycle.stop_receiving.is_cancelled() {
                    return;
                }
            }
        }
        // The buffer never makes this task wait while it has frames, so give
        // the scheduler its turn now and then (cooperative budget).
        tokio::task::consume_budget().await;
    }
}

/// A worker's group of frames, counted in the buffer's `held`.
struct Holding<'a> {
    queue: &'a InboundQueue,
    frames: usize,
}

impl Holding<'_> {
    fn release_all(&mut self) {
        if self.frames > 0 {
            self.queue.release(self.frames);
            self.frames = 0;
        }
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.release_all();
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic)")
}

/// One handler call: caught (error, panic), bounded (`deadline`), counted
/// in flight, marked as this client's handler (see `close()`), and, when
/// it handles a task and fails without having answered it, the task's
/// error outcome sent back.
async fn invoke<H: Handler>(
    shared: &Arc<Shared>,
    handler: &H,
    msg: Message,
    key: Option<String>,
    options: &RunOptions,
    task: Option<Arc<TaskSlot>>,
    cx: &CallContext,
) {
    let _in_flight = shared.calls.enter();
    // Every line a handler logs carries the message it handles (at the
    // default level: a span that is off would hide them).
    let span = tracing::info_span!(
        "ws_message",
        event = msg.event(),
        job_id = msg.job_id(),
        from = msg.sender()
    );
    // Read only when a hook wants them: owned copies cost an allocation each.
    let about = options.on_error.as_ref().map(|_| About {
        event: msg.event().map(str::to_owned),
        job_id: msg.job_id().map(str::to_owned),
        from: msg.sender().map(str::to_owned),
        // The task's reference id, even where the loop does not answer.
        task: task.clone().or_else(|| TaskSlot::of(&msg)),
    });
    let call = as_handler_of(
        shared.id(),
        task.clone(),
        AssertUnwindSafe(handler.call_with(msg, cx)).catch_unwind(),
    )
    .instrument(span);
    let outcome = match options.deadline {
        None => Some(call.await),
        Some(limit) => tokio::time::timeout(limit, call).await.ok(),
    };
    let failure = match outcome {
        Some(Ok(Ok(()))) => return,
        Some(Ok(Err(error))) => match error.downcast::<PayloadError>() {
            Ok(bad) => HandlerFailure::BadPayload {
                message: bad.0.to_string(),
            },
            Err(error) => HandlerFailure::Error {
                message: error.to_string(),
            },
        },
        Some(Err(panic)) => HandlerFailure::Panic {
            message: panic_text(&*panic).to_owned(),
        },
        None => {
            Counters::add(&shared.counters.handler_timeouts, 1);
            HandlerFailure::TimedOut {
                after: options.deadline.unwrap_or_default(),
            }
        }
    };
    let answered = match &task {
        Some(task) => answer(shared, task, &Unanswered::Failed(failure.clone())).await,
        None => false,
    };
    fail(shared, options, about, key, failure, answered);
}

/// What a message was, for the error hook.
struct About {
    event: Option<String>,
    job_id: Option<String>,
    from: Option<String>,
    task: Option<Arc<TaskSlot>>,
}

/// A typed route's payload that does not fit its type: told apart from the
/// handler's own errors (its answer says what did not fit).
#[derive(Debug)]
pub(crate) struct PayloadError(pub(crate) Error);

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Error::Json { error } => fmt::Display::fmt(error, f),
            other => fmt::Display::fmt(other, f),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Count, log and report a failed handler call, and call the hook.
fn fail(
    shared: &Shared,
    options: &RunOptions,
    about: Option<About>,
    key: Option<String>,
    failure: HandlerFailure,
    answered: bool,
) {
    Counters::add(&shared.counters.handler_errors, 1);
    tracing::error!(key = key.as_deref().unwrap_or("-"), %failure, answered, "message handler failed");
    if let (Some(hook), Some(about)) = (&options.on_error, about) {
        let failed = FailedCall {
            event: about.event,
            job_id: about.job_id,
            reference_id: about.task.as_deref().map(TaskSlot::reference_id),
            from: about.from,
            key: key.clone(),
            failure: failure.clone(),
            answered,
        };
        // A hook that panics must not take the receive loop's bookkeeping
        // (the key, the route's place) down with it.
        if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| hook(failed))) {
            tracing::error!(
                key = key.as_deref().unwrap_or("-"),
                panic = panic_text(&*panic),
                "the on_error hook panicked"
            );
        }
    }
    let _ = shared.events.send(Event::HandlerFailed { key, failure });
}
