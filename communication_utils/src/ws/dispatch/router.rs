//! [`Router`]: a [`Handler`] that routes messages by their `event` name.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::ws::dispatch::{Handler, HandlerError, RunOptions};
use crate::ws::protocol::message::Message;

type RouteFn = Box<dyn Fn(Message) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync>;

/// A [`Handler`] that routes messages by their `event` name, with typed
/// (serde) payloads read from `data`, and, per route, its own strategy,
/// key, concurrency bound, deadline and error hook
/// ([`route_with`](Self::route_with)); messages without a route go to the
/// [`fallback`](Self::fallback), under the run's [`RunOptions`].
///
/// Give it to [`MicroServiceWs::run`](super::MicroServiceWs::run) or
/// [`run_with`](super::MicroServiceWs::run_with): the receive loop reads
/// the routes' options through [`Handler::as_router`].
///
/// ```no_run
/// use ms_utils_communication::ws::{Message, MicroServiceWs, Router};
/// #[derive(serde::Deserialize)]
/// struct Task { #[serde(rename = "jobId")] job_id: String, data: serde_json::Value }
///
/// # fn f(ms: MicroServiceWs) {
/// let router = Router::new()
///     .route("ms-task", |task: Task| async move {
///         println!("job {} with {}", task.job_id, task.data);
///         Ok::<(), std::io::Error>(())
///     })
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
#[derive(Default)]
pub struct Router {
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

impl fmt::Debug for Router {
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

impl Router {
    /// An empty router (messages without a route are logged at debug and dropped).
    ///
    /// ```
    /// let r = ms_utils_communication::ws::Router::new();
    /// # let _ = r;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Route messages with `event == name` to `f`, with `data` deserialized
    /// into `T`. A payload that does not fit `T` is a handler error (logged).
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
        self.insert(
            name.into(),
            Box::new(move |msg: Message| {
                let f = f.clone();
                async move {
                    let payload: T = msg.parse_data().map_err(|e| Box::new(e) as HandlerError)?;
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
        router.set_options(&name, options);
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
        router.set_options(&name, options);
        router
    }

    /// Route messages with `event == name` to `f`, untouched.
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Router};
    /// let r = Router::new().route_message("ms-task", |m: Message| async move { Ok::<(), std::io::Error>(()) });
    /// # let _ = r;
    /// ```
    #[must_use]
    pub fn route_message<H: Handler>(mut self, name: impl Into<String>, handler: H) -> Self {
        let handler = Arc::new(handler);
        self.insert(
            name.into(),
            Box::new(move |msg| handler.call(msg).boxed()),
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
        self.fallback = Some(Box::new(move |msg| handler.call(msg).boxed()));
        self
    }

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
}

impl Handler for Router {
    type Future = BoxFuture<'static, Result<(), HandlerError>>;

    fn call(&self, msg: Message) -> Self::Future {
        let route = self
            .route_index(&msg)
            .map(|i| &self.entries[i].call)
            .or(self.fallback.as_ref());
        match route {
            Some(f) => f(msg),
            None => {
                tracing::debug!(event = msg.event().unwrap_or("-"), "no route for message");
                futures_util::future::ready(Ok(())).boxed()
            }
        }
    }

    fn as_router(&self) -> Option<&Router> {
        Some(self)
    }
}
