//! [`Router`]: a [`Handler`] that routes messages by their `event` name.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;

use crate::ws::dispatch::{Handler, HandlerError};
use crate::ws::protocol::message::Message;

type RouteFn = Box<dyn Fn(Message) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync>;

/// A [`Handler`] that routes messages by their `event` name, with typed
/// (serde) payloads read from `data`.
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
#[derive(Default)]
pub struct Router {
    routes: HashMap<String, RouteFn>,
    fallback: Option<RouteFn>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("events", &self.routes.keys().collect::<Vec<_>>())
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
        self.routes.insert(
            name.into(),
            Box::new(move |msg: Message| {
                let f = f.clone();
                async move {
                    let payload: T = msg.parse_data().map_err(|e| Box::new(e) as HandlerError)?;
                    f(payload).await.map_err(Into::into)
                }
                .boxed()
            }),
        );
        self
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
        self.routes
            .insert(name.into(), Box::new(move |msg| handler.call(msg).boxed()));
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
}

impl Handler for Router {
    type Future = BoxFuture<'static, Result<(), HandlerError>>;

    fn call(&self, msg: Message) -> Self::Future {
        let route = msg
            .event()
            .and_then(|e| self.routes.get(e))
            .or(self.fallback.as_ref());
        match route {
            Some(f) => f(msg),
            None => {
                tracing::debug!(event = msg.event().unwrap_or("-"), "no route for message");
                futures_util::future::ready(Ok(())).boxed()
            }
        }
    }
}
