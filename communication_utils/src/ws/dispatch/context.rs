//! What a handler call may reach besides its message: the client it runs
//! for and the router's shared state ([`Context`]), and the receive loop's
//! side of it ([`CallContext`]).

use std::fmt;
use std::sync::Arc;

use crate::ws::client::{MicroServiceWs, WeakClient};

/// What the receive loop gives each handler call besides its message (see
/// [`Handler::call_with`](super::Handler::call_with)): the client it runs
/// for, on demand.
pub struct CallContext {
    client: WeakClient,
}

impl CallContext {
    pub(crate) fn new(client: WeakClient) -> Self {
        CallContext { client }
    }

    /// A handle of the client the call runs for. It keeps the client open
    /// while the call holds it, as any handle does.
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use ms_utils_communication::ws::{CallContext, Handler, HandlerError, Message};
    ///
    /// /// Answers every message with a status line, through the client the loop runs for.
    /// struct Status;
    /// impl Handler for Status {
    ///     type Future = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send>>;
    ///     fn call(&self, _: Message) -> Self::Future {
    ///         Box::pin(async { Ok(()) })
    ///     }
    ///     fn call_with(&self, _: Message, cx: &CallContext) -> Self::Future {
    ///         let ms = cx.client();
    ///         Box::pin(async move { Ok(ms.send(serde_json::json!({"event": "status"})).await?) })
    ///     }
    /// }
    /// ```
    pub fn client(&self) -> MicroServiceWs {
        self.client.upgrade()
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext").finish_non_exhaustive()
    }
}

/// The second argument of a task handler ([`Router::task`](crate::ws::Router::task)):
/// the client the call runs for and the state the router was built with
/// ([`Router::with_state`](crate::ws::Router::with_state)), shared by every call
/// without a clone of it (the state is behind an `Arc`).
///
/// ```
/// use ms_utils_communication::ws::{Context, Router, Task};
///
/// struct App { greeting: String }
///
/// async fn greet(task: Task<String>, cx: Context<App>) -> Result<String, std::io::Error> {
///     // cx.client() is the gateway client, for sending anything else.
///     Ok(format!("{}, {}", cx.state().greeting, task.data))
/// }
///
/// let router = Router::with_state(App { greeting: "hello".into() }).task(greet);
/// # let _ = router;
/// ```
pub struct Context<S = ()> {
    client: MicroServiceWs,
    state: Arc<S>,
}

impl<S> Context<S> {
    pub(crate) fn new(client: MicroServiceWs, state: Arc<S>) -> Self {
        Context { client, state }
    }

    /// The client the call runs for.
    ///
    /// ```no_run
    /// # async fn f(cx: ms_utils_communication::ws::Context) -> Result<(), ms_utils_communication::ws::Error> {
    /// cx.client().send(serde_json::json!({"event": "progress", "data": 50})).await?;
    /// # Ok(()) }
    /// ```
    pub fn client(&self) -> &MicroServiceWs {
        &self.client
    }

    /// The router's state.
    ///
    /// ```
    /// # fn f(cx: ms_utils_communication::ws::Context<Vec<u8>>) {
    /// let bytes: &Vec<u8> = cx.state();
    /// # let _ = bytes; }
    /// ```
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The router's state, shared: for work that outlives the call (a
    /// spawned task).
    ///
    /// ```
    /// # fn f(cx: ms_utils_communication::ws::Context<String>) {
    /// let state = cx.shared_state();
    /// std::thread::spawn(move || println!("{state}"));
    /// # }
    /// ```
    pub fn shared_state(&self) -> Arc<S> {
        self.state.clone()
    }
}

impl<S> Clone for Context<S> {
    fn clone(&self) -> Self {
        Context {
            client: self.client.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S> fmt::Debug for Context<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}
