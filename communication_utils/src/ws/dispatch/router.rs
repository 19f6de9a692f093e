//! [`Router`]: a [`Handler`] that routes messages by their `event` name,
//! with typed payloads, typed tasks answered by what their handler returns,
//! shared state, and per-route options.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ws::dispatch::context::{CallContext, Context};
use crate::ws::dispatch::task::Task;
use crate::ws::dispatch::{Handler, HandlerError, PayloadError, RunOptions};
use crate::ws::in_flight;
use crate::ws::protocol::message::Message;
use crate::ws::protocol::outcome::carries_outcome;

/// A route's call; the context is `None` when the router is called
/// through [`Handler::call`] rather than by a receive loop.
type RouteFn = Box<
    dyn Fn(Message, Option<&CallContext>) -> BoxFuture<'static, Result<(), HandlerError>>
        + Send
        + Sync,
>;

/// The event under which the gateway delivers tasks.
const TASK_EVENT: &str = "ms-task";

/// A [`Handler`] that routes messages by their `event` name: typed tasks
/// answered by what their handler returns ([`task`](Self::task)), typed
/// payloads ([`route`](Self::route)), whole messages
/// ([`route_message`](Self::route_message)), and, per route, its own
/// strategy, key, concurrency bound, deadline and error hook
/// ([`task_with`](Self::task_with), [`route_with`](Self::route_with));
/// messages without a route go to the [`fallback`](Self::fallback), under
/// the run's [`RunOptions`]. State given to [`with_state`](Self::with_state)
/// reaches every task handler through its [`Context`], without a clone.
///
/// Give it to [`MicroServiceWs::run`](super::MicroServiceWs::run) or
/// [`run_with`](super::MicroServiceWs::run_with): the receive loop reads
/// the routes' options through [`Handler::as_router`].
///
/// ```no_run
/// use ms_utils_communication::ws::{Context, Message, MicroServiceWs, Router, Task};
///
/// #[derive(serde::Deserialize)]
/// struct Resize { width: u32 }
/// #[derive(serde::Serialize)]
/// struct Resized { area: u32 }
///
/// struct App { factor: u32 }
///
/// async fn resize(task: Task<Resize>, cx: Context<App>) -> Result<Resized, std::io::Error> {
///     Ok(Resized { area: task.data.width * cx.state().factor })
/// }
///
/// # fn f(ms: MicroServiceWs) {
/// let router = Router::with_state(App { factor: 2 })
///     // Every `ms-task` is answered: with what `resize` returns, or, if it
///     // fails, with the platform's error outcome.
///     .task(resize)
///     .fallback(|msg: Message| async move {
///         println!("unrouted: {:?}", msg.event());
///         Ok::<(), std::io::Error>(())
///     });
/// let _run = ms.run(router);
/// # }
/// ```
///
/// Per-route options: `transcode` jobs queued per jobId, `progress`
/// updates replacing each other, `ping` in parallel (the run's strategy).
///
/// ```no_run
/// use ms_utils_communication::ws::{Message, MicroServiceWs, Router, RunOptions, Strategy};
/// # fn f(ms: MicroServiceWs) {
/// let router = Router::new()
///     .route_message_with(
///         "transcode",
///         RunOptions::new().strategy(Strategy::Queue).concurrency(4),
///         |msg: Message| async move { let _ = msg.job_id(); Ok::<(), std::io::Error>(()) },
///     )
///     .route_message_with(
///         "progress",
///         RunOptions::new().strategy(Strategy::Replace),
///         |msg: Message| async move { let _ = msg.data(); Ok::<(), std::io::Error>(()) },
///     )
///     .route_message("ping", |_: Message| async { Ok::<(), std::io::Error>(()) });
/// let _run = ms.run_with(RunOptions::new().concurrency(32), router);
/// # }
/// ```
pub struct Router<S = ()> {
    table: RouteTable,
    state: Arc<S>,
}

/// A [`Router`]'s routes and their options, as the receive loop reads them
/// ([`Handler::as_router`]).
#[derive(Default)]
pub struct RouteTable {
    /// Event name to its index in `entries`: an index stays the route's
    /// for good (registering a name again replaces the entry in place), so
    /// the receive loop can keep per-route state by index.
    routes: HashMap<String, usize>,
    entries: Vec<Route>,
    fallback: Option<RouteFn>,
}

/// One route: its call and, if it has its own, its dispatch options.
struct Route {
    call: RouteFn,
    options: Option<RunOptions>,
}

impl fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut events: Vec<_> = self.routes.keys().collect();
        events.sort();
        let with_options: Vec<_> = events
            .iter()
            .filter(|e| self.entries[self.routes[e.as_str()]].options.is_some())
            .collect();
        f.debug_struct("Router")
            .field("events", &events)
            .field("with_options", &with_options)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<S> fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.table, f)
    }
}

impl Default for Router {
    fn default() -> Self {
        Router::new()
    }
}

impl Router {
    /// An empty router without state (messages without a route are logged
    /// at debug and dropped).
    ///
    /// ```
    /// let r = ms_utils_communication::ws::Router::new();
    /// # let _ = r;
    /// ```
    pub fn new() -> Self {
        Router::with_state(())
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// An empty router whose task handlers get `state` in their
    /// [`Context`] (shared, behind an `Arc`: no clone per call, and `S`
    /// need not be `Clone`).
    ///
    /// ```
    /// use ms_utils_communication::ws::{Context, Router, Task};
    ///
    /// struct Store { prefix: String }
    ///
    /// let router = Router::with_state(Store { prefix: "doc-".into() })
    ///     .task(|task: Task<u32>, cx: Context<Store>| async move {
    ///         Ok::<_, std::io::Error>(format!("{}{}", cx.state().prefix, task.data))
    ///     });
    /// # let _ = router;
    /// ```
    pub fn with_state(state: S) -> Self {
        Router {
            table: RouteTable::default(),
            state: Arc::new(state),
        }
    }

    /// Handle every task (`ms-task`) with `f`, its payload deserialized
    /// into `T`, and answer it: with what `f` returns, sent back to the
    /// task's sender under its `jobId` and `referenceId` (as
    /// [`Task::reply`] sends it), or, when the call fails, with the
    /// platform's error outcome (see [`RunOptions::answer_tasks`]: a payload
    /// that does not fit `T`, an error, a panic, a deadline passed). One
    /// answer per task: if `f` answered it itself (`task.reply(..)`), what
    /// it returns is not sent.
    ///
    /// `f` gets the task and a [`Context`]: the client and the router's
    /// state. A task whose `referenceId` is missing is read as
    /// [`Task::from_message`] reads it (the `workflowId`, else the job id).
    ///
    /// ```
    /// use ms_utils_communication::ws::{Context, Router, Task};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Add { a: i64, b: i64 }
    ///
    /// let router = Router::new().task(|task: Task<Add>, _cx: Context| async move {
    ///     if task.data.b == 0 {
    ///         // Answered as {"event": "ms-task-result", "data": {"type": "error", "message": "b is zero", ..}}
    ///         return Err(std::io::Error::other("b is zero"));
    ///     }
    ///     Ok(serde_json::json!({"sum": task.data.a + task.data.b}))
    /// });
    /// # let _ = router;
    /// ```
    #[must_use]
    pub fn task<T, F, Fut, R, E>(mut self, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Task<T>, Context<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: Serialize + Send + 'static,
        E: Into<HandlerError>,
    {
        let f = Arc::new(f);
        let state = self.state.clone();
        self.table.insert(
            TASK_EVENT.to_owned(),
            Box::new(move |msg: Message, cx: Option<&CallContext>| {
                let (f, state, client) = (f.clone(), state.clone(), cx.map(CallContext::client));
                async move {
                    let client = client.ok_or(
                        "a task route runs in a receive loop (MicroServiceWs::run), which gives it its client",
                    )?;
                    if carries_outcome(&msg) {
                        // An answer to a task of ours that no call waits for
                        // (any more), or a "running" report: not a task.
                        tracing::debug!(job_id = msg.job_id(), "an outcome reached the task route; not a task");
                        return Ok(());
                    }
                    let task: Task<T> = msg.parse_data().map_err(payload_error)?;
                    let to = (task.from.clone(), task.reference_id.clone(), task.job_id.clone());
                    let answer = f(task, Context::new(client.clone(), state))
                        .await
                        .map_err(Into::into)?;
                    if in_flight::current_task_answered() {
                        tracing::debug!("the task was answered by its handler; its return value is not sent");
                        return Ok(());
                    }
                    let (from, reference_id, job_id) = to;
                    client
                        .send_task_to_ms(&from, &reference_id, &job_id, answer)
                        .await?;
                    Ok(())
                }
                .boxed()
            }),
            None,
        );
        self
    }

    /// [`task`](Self::task) with the task route's own dispatch options, as
    /// [`route_with`](Self::route_with).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ms_utils_communication::ws::{Context, Router, RunOptions, Strategy, Task};
    ///
    /// let router = Router::new().task_with(
    ///     // One task at a time per jobId; a task past 30 s is answered as late.
    ///     RunOptions::new().strategy(Strategy::Queue).deadline(Duration::from_secs(30)),
    ///     |task: Task<String>, _cx: Context| async move { Ok::<_, std::io::Error>(task.data.len()) },
    /// );
    /// # let _ = router;
    /// ```
    #[must_use]
    pub fn task_with<T, F, Fut, R, E>(self, options: RunOptions, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Task<T>, Context<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
        R: Serialize + Send + 'static,
        E: Into<HandlerError>,
    {
        let mut router = self.task(f);
        router.table.set_options(TASK_EVENT, options);
        router
    }

    /// Route messages with `event == name` to `f`, with `data` deserialized
    /// into `T`. A payload that does not fit `T` is a handler failure
    /// ([`HandlerFailure::BadPayload`](crate::ws::HandlerFailure::BadPayload)),
    /// logged and, for a task, answered.
    ///
    /// ```
    /// # use ms_utils_communication::ws::Router;
    /// let r = Router::new().route("ping", |n: u64| async move { Ok::<(), std::io::Error>(()) });
    /// # let _ = r;
    /// ```
    #[must_use]
    pub fn route<T, F, Fut, E>(mut self, name: impl Into<String>, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        let f = Arc::new(f);
        self.table.insert(
            name.into(),
            Box::new(move |msg: Message, _: Option<&CallContext>| {
                let f = f.clone();
                async move {
                    let payload: T = msg.parse_data().map_err(payload_error)?;
                    f(payload).await.map_err(Into::into)
                }
                .boxed()
            }),
            None,
        );
        self
    }

    /// [`route`](Self::route) with the route's own dispatch options: its
    /// [`Strategy`](super::Strategy), key, concurrency bound, deadline and
    /// error hook, in place of the run's (see [`RunOptions`] for each).
    ///
    /// What the route's options leave unset comes from the run's
    /// [`RunOptions`] (the strategy and key included); its
    /// [`concurrency`](RunOptions::concurrency) is a bound of its own, on
    /// this route's calls, inside the run's bound. Keys are the route's own:
    /// the same `jobId` under another event never waits for this route's
    /// calls. Routes registered without options (and the fallback) share
    /// the run's options and key space, as one plain handler would.
    ///
    /// ```
    /// use ms_utils_communication::ws::{Router, RunOptions, Strategy};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Transcode { #[serde(rename = "jobId")] job_id: String }
    /// #[derive(serde::Deserialize)]
    /// struct Progress { #[serde(rename = "jobId")] job_id: String, percent: u8 }
    ///
    /// let router = Router::new()
    ///     // One transcode at a time per jobId, in order; at most 4 at once.
    ///     .route_with(
    ///         "transcode",
    ///         RunOptions::new().strategy(Strategy::Queue).concurrency(4),
    ///         |t: Transcode| async move { let _ = t.job_id; Ok::<(), std::io::Error>(()) },
    ///     )
    ///     // Only the latest progress update per jobId matters.
    ///     .route_with(
    ///         "progress",
    ///         RunOptions::new().strategy(Strategy::Replace),
    ///         |p: Progress| async move { let _ = (p.job_id, p.percent); Ok::<(), std::io::Error>(()) },
    ///     )
    ///     // Under the run's options (Parallel by default).
    ///     .route("ping", |_: serde_json::Value| async { Ok::<(), std::io::Error>(()) });
    /// # let _ = router;
    /// ```
    #[must_use]
    pub fn route_with<T, F, Fut, E>(
        self,
        name: impl Into<String>,
        options: RunOptions,
        f: F,
    ) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HandlerError>,
    {
        let name = name.into();
        // The typed call is `route`'s: one place reads the payload.
        let mut router = self.route(name.clone(), f);
        router.table.set_options(&name, options);
        router
    }

    /// [`route_message`](Self::route_message) with the route's own dispatch
    /// options, as [`route_with`](Self::route_with).
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Router, RunOptions, Strategy};
    /// let r = Router::new().route_message_with(
    ///     "ms-task",
    ///     RunOptions::new().strategy(Strategy::Queue),
    ///     |m: Message| async move { Ok::<(), std::io::Error>(()) },
    /// );
    /// # let _ = r;
    /// ```
    #[must_use]
    pub fn route_message_with<H: Handler>(
        self,
        name: impl Into<String>,
        options: RunOptions,
        handler: H,
    ) -> Self {
        let name = name.into();
        let mut router = self.route_message(name.clone(), handler);
        router.table.set_options(&name, options);
        router
    }

    /// Route messages with `event == name` to `handler`, untouched.
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Router};
    /// let r = Router::new().route_message("ms-task", |m: Message| async move { Ok::<(), std::io::Error>(()) });
    /// # let _ = r;
    /// ```
    #[must_use]
    pub fn route_message<H: Handler>(mut self, name: impl Into<String>, handler: H) -> Self {
        let handler = Arc::new(handler);
        self.table.insert(
            name.into(),
            Box::new(move |msg, cx| call_handler(&*handler, msg, cx)),
            None,
        );
        self
    }

    /// Where messages without a route go (binary ones included).
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Router};
    /// let r = Router::new().fallback(|m: Message| async move { Ok::<(), std::io::Error>(()) });
    /// # let _ = r;
    /// ```
    #[must_use]
    pub fn fallback<H: Handler>(mut self, handler: H) -> Self {
        let handler = Arc::new(handler);
        self.table.fallback = Some(Box::new(move |msg, cx| call_handler(&*handler, msg, cx)));
        self
    }
}

/// Calls `handler` with the loop's context when there is one.
fn call_handler<H: Handler>(
    handler: &H,
    msg: Message,
    cx: Option<&CallContext>,
) -> BoxFuture<'static, Result<(), HandlerError>> {
    match cx {
        Some(cx) => handler.call_with(msg, cx).boxed(),
        None => handler.call(msg).boxed(),
    }
}

/// A payload that does not fit its route's type.
fn payload_error(error: crate::ws::error::Error) -> HandlerError {
    Box::new(PayloadError(error))
}

impl RouteTable {
    /// Adds the route `name`, or replaces it in place (same index).
    fn insert(&mut self, name: String, call: RouteFn, options: Option<RunOptions>) {
        let route = Route { call, options };
        match self.routes.get(&name) {
            Some(&i) => self.entries[i] = route,
            None => {
                self.routes.insert(name, self.entries.len());
                self.entries.push(route);
            }
        }
    }

    fn set_options(&mut self, name: &str, options: RunOptions) {
        if let Some(&i) = self.routes.get(name) {
            self.entries[i].options = Some(options);
        }
    }

    /// The index of the route `msg` takes; `None` for the fallback (or no route).
    pub(crate) fn route_index(&self, msg: &Message) -> Option<usize> {
        self.routes.get(msg.event()?).copied()
    }

    /// Each route's own options, by route index (`None`: the run's).
    pub(crate) fn route_options(&self) -> impl Iterator<Item = Option<&RunOptions>> {
        self.entries.iter().map(|r| r.options.as_ref())
    }

    /// The own options of the route `msg` takes, if it has any.
    pub(crate) fn options_of(&self, msg: &Message) -> Option<&RunOptions> {
        self.entries[self.route_index(msg)?].options.as_ref()
    }

    fn call(
        &self,
        msg: Message,
        cx: Option<&CallContext>,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        let route = self
            .route_index(&msg)
            .map(|i| &self.entries[i].call)
            .or(self.fallback.as_ref());
        match route {
            Some(f) => f(msg, cx),
            None => {
                tracing::debug!(event = msg.event().unwrap_or("-"), "no route for message");
                futures_util::future::ready(Ok(())).boxed()
            }
        }
    }
}

impl<S: Send + Sync + 'static> Handler for Router<S> {
    type Future = BoxFuture<'static, Result<(), HandlerError>>;

    fn call(&self, msg: Message) -> Self::Future {
        self.table.call(msg, None)
    }

    fn call_with(&self, msg: Message, cx: &CallContext) -> Self::Future {
        self.table.call(msg, Some(cx))
    }

    fn as_router(&self) -> Option<&RouteTable> {
        Some(&self.table)
    }
}
