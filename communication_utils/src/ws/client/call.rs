//! The calling side of a task: send it, wait for its answer, read the
//! answer typed ([`Call`], [`Reply`]); and the untyped `request`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::ws::client::MicroServiceWs;
use crate::ws::command::{Command, Request};
use crate::ws::error::Error;
use crate::ws::protocol::message::{Message, field};
use crate::ws::protocol::outcome::{Answer, answer_of, read_answer};
use crate::ws::protocol::python_json::ms_send_task;

/// How long a [`Call`] waits for its answer unless told otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A task to send to another service and the wait for its answer, made by
/// [`MicroServiceWs::call`]; set its ids and deadline, then `.await` it
/// for the [`Reply`], or call [`data`](Self::data) for the answer typed.
///
/// ```no_run
/// use std::time::Duration;
/// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
/// #[derive(serde::Deserialize)]
/// struct Resized { area: u32 }
///
/// let resized: Resized = ms
///     .call("resizer", serde_json::json!({"width": 21}))
///     .reference_id("upload-7")
///     .timeout(Duration::from_secs(10))
///     .data()
///     .await?;
/// # let _ = resized.area; Ok(()) }
/// ```
#[must_use = "a call does nothing until awaited"]
pub struct Call<'a, T> {
    client: &'a MicroServiceWs,
    to: String,
    data: T,
    job_id: Option<String>,
    reference_id: Option<String>,
    timeout: Option<Duration>,
}

impl<T> fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("to", &self.to)
            .field("job_id", &self.job_id)
            .field("reference_id", &self.reference_id)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'a, T: Serialize + Send + 'a> Call<'a, T> {
    /// The task's job id: the key its answer comes back under (default: a
    /// fresh random one). Unique among this client's calls in flight.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let reply = ms.call("svc", 1).job_id("order-17:resize").await?;
    /// # let _ = reply; Ok(()) }
    /// ```
    pub fn job_id(mut self, job_id: impl Into<String>) -> Self {
        self.job_id = Some(job_id.into());
        self
    }

    /// The task's reference id, the workflow it belongs to, passed along
    /// unchanged (default: the job id).
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let reply = ms.call("svc", 1).reference_id("workflow-3").await?;
    /// # let _ = reply; Ok(()) }
    /// ```
    pub fn reference_id(mut self, reference_id: impl Into<String>) -> Self {
        self.reference_id = Some(reference_id.into());
        self
    }

    /// How long to wait for the answer (default [`DEFAULT_CALL_TIMEOUT`]).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let reply = ms.call("svc", 1).timeout(Duration::from_secs(5)).await?;
    /// # let _ = reply; Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Wait for the answer for as long as the client is open.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let reply = ms.call("batch-worker", 1).no_timeout().await?;
    /// # let _ = reply; Ok(()) }
    /// ```
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// Sends the task and waits for the answer, read into `R`: the
    /// `response` of an `ok` outcome, else the answer's data as it is.
    ///
    /// # Errors
    /// Those of awaiting the call ([`IntoFuture`] below), and
    /// [`Error::Json`] when the answer does not fit `R`.
    ///
    /// # Cancellation safety
    /// Cancelling gives up the wait; a late answer then reaches the
    /// application like any other message.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let total: u64 = ms.call("adder", [1, 2, 3]).data().await?;
    /// # let _ = total; Ok(()) }
    /// ```
    pub async fn data<R: DeserializeOwned>(self) -> Result<R, Error> {
        self.await?.data()
    }

    async fn run(self) -> Result<Reply, Error> {
        let job_id = self
            .job_id
            .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
        let reference_id = self.reference_id.unwrap_or_else(|| job_id.clone());
        let text = ms_send_task(&self.to, &reference_id, &job_id, &self.data)?;
        drop(self.data);
        let message = self
            .client
            .await_answer(&self.to, &job_id, text, self.timeout)
            .await?;
        Ok(Reply { message })
    }
}

impl<'a, T: Serialize + Send + 'a> IntoFuture for Call<'a, T> {
    type Output = Result<Reply, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send + 'a>>;

    /// Sends the task and waits for its answer.
    ///
    /// # Errors
    /// [`Error::TaskFailed`] when the service answers with the error outcome;
    /// [`Error::Remote`] when the gateway cannot route the task (`ms-error`);
    /// [`Error::Timeout`] past the timeout; [`Error::Closed`] when the client
    /// closes first; [`Error::DuplicateRequest`] when a call with the same
    /// job id is waiting; those of [`MicroServiceWs::send`].
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The answer to a [`Call`]: the message as it came (an `ms-task` from the
/// service that answered), and its answer read typed.
///
/// ```
/// use ms_utils_communication::ws::{Message, Reply};
/// use serde_json::json;
///
/// let msg = Message::json(json!({"event": "ms-task", "data": {
///     "from": "resizer", "jobId": "j1", "referenceId": "j1", "data": {"area": 42}}}));
/// let reply = Reply::from_message(msg);
/// assert_eq!(reply.from(), Some("resizer"));
/// assert_eq!(reply.data::<serde_json::Value>().unwrap(), json!({"area": 42}));
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    message: Message,
}

impl Reply {
    /// The reply that `message` makes (for tests, and for answers read from
    /// [`MicroServiceWs::receive`]).
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Reply};
    /// let r = Reply::from_message(Message::json(serde_json::json!({"event": "ms-task"})));
    /// # let _ = r;
    /// ```
    pub fn from_message(message: Message) -> Self {
        Reply { message }
    }

    /// The answer, read into `R`: the `response` of an `ok` outcome
    /// (`ms-task-result`), else the answer's data as it is.
    ///
    /// # Errors
    /// [`Error::Json`] when it does not fit `R`.
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Reply};
    /// let msg = Message::json(serde_json::json!({"event": "ms-task", "data": {"from": "w", "jobId": "j",
    ///     "data": {"event": "ms-task-result", "data": {"jobId": "j", "type": "ok", "response": "out.json", "consumption": 3}}}}));
    /// assert_eq!(Reply::from_message(msg).data::<String>().unwrap(), "out.json");
    /// ```
    pub fn data<R: DeserializeOwned>(&self) -> Result<R, Error> {
        let value = match read_answer(answer_of(&self.message)) {
            Answer::Plain(v) | Answer::Ok(v) => v,
            Answer::Running | Answer::Failed(_) => &Value::Null,
        };
        Ok(R::deserialize(value)?)
    }

    /// The `consumption` of an `ok` outcome, as the service reported it
    /// (`None` for a plain answer).
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Reply};
    /// let msg = Message::json(serde_json::json!({"event": "ms-task-result",
    ///     "data": {"jobId": "j", "type": "ok", "response": "r", "consumption": {"gpu_s": 2}}}));
    /// assert_eq!(Reply::from_message(msg).consumption().unwrap()["gpu_s"], 2);
    /// ```
    pub fn consumption(&self) -> Option<&Value> {
        let answer = answer_of(&self.message);
        match read_answer(answer) {
            Answer::Ok(_) => field(field(answer, "data")?, "consumption"),
            _ => None,
        }
    }

    /// The service that answered (`from`), when the gateway wrote it.
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Reply};
    /// let r = Reply::from_message(Message::json(serde_json::json!({"event": "ms-task", "data": {"from": "svc"}})));
    /// assert_eq!(r.from(), Some("svc"));
    /// ```
    pub fn from(&self) -> Option<&str> {
        self.message.sender()
    }

    /// The message as it came.
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Reply};
    /// let r = Reply::from_message(Message::json(serde_json::json!({"event": "ms-task"})));
    /// assert_eq!(r.message().event(), Some("ms-task"));
    /// ```
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The message as it came, owned.
    ///
    /// ```
    /// # use ms_utils_communication::ws::{Message, Reply};
    /// let m = Reply::from_message(Message::json(serde_json::json!({"event": "ms-task"}))).into_message();
    /// # let _ = m;
    /// ```
    pub fn into_message(self) -> Message {
        self.message
    }
}

impl MicroServiceWs {
    /// A task for `to`, with `data` as its payload, and the wait for its
    /// answer: set the job and reference ids and the timeout on the
    /// returned [`Call`], then `.await` it for the [`Reply`] (or call
    /// [`Call::data`] for the answer typed). An error outcome is an error
    /// ([`Error::TaskFailed`]), not a reply.
    ///
    /// The answer is the first `ms-task` (or `ms-error`) that comes back
    /// under the task's job id; an outcome still `"running"` does not end
    /// the wait (it reaches the application). It goes to the call, not to
    /// the `run` handler or to `receive()`.
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let reply = ms.call("resizer", serde_json::json!({"width": 21})).await?;
    /// let area: u32 = reply.data::<serde_json::Value>()?["area"].as_u64().unwrap_or(0) as u32;
    /// println!("{} answered: {area}", reply.from().unwrap_or("?"));
    /// # Ok(()) }
    /// ```
    pub fn call<T: Serialize + Send>(&self, to: impl Into<String>, data: T) -> Call<'_, T> {
        Call {
            client: self,
            to: to.into(),
            data,
            job_id: None,
            reference_id: None,
            timeout: Some(DEFAULT_CALL_TIMEOUT),
        }
    }

    /// Send a task to another microservice and wait for its answer, the
    /// untyped form of [`call`](Self::call): `job_id` is also the task's
    /// reference id, and the answer is the message as it came.
    ///
    /// # Errors
    /// As awaiting a [`Call`]: [`Error::TaskFailed`] for an error outcome,
    /// [`Error::Remote`] for an `ms-error`, [`Error::Timeout`],
    /// [`Error::DuplicateRequest`], [`Error::Closed`], and those of
    /// [`send`](Self::send).
    ///
    /// # Cancellation safety
    /// Cancelling gives up the wait; a late answer then reaches the
    /// application like any other message.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs) -> Result<(), ms_utils_communication::ws::Error> {
    /// let answer = ms
    ///     .request("workers_manager", "job-1", serde_json::json!({"x": 1}), Duration::from_secs(30))
    ///     .await?;
    /// println!("{:?}", answer.data());
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        to: &str,
        job_id: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Message, Error> {
        let text = ms_send_task(to, job_id, job_id, &data)?;
        self.await_answer(to, job_id, text, Some(timeout)).await
    }

    /// Sends the task (`text`, for `to` under `job_id`) and waits for the
    /// message that answers it.
    async fn await_answer(
        &self,
        to: &str,
        job_id: &str,
        text: String,
        timeout: Option<Duration>,
    ) -> Result<Message, Error> {
        self.check_size(text.len())?;
        // The connection task notes the request, then writes it; the
        // answer, or why there is none, comes back on `reply`. A caller that
        // gives up (deadline, cancellation) drops `answer`, and its entry
        // is dropped there in turn.
        let (reply, answer) = oneshot::channel();
        let request = Command::Request(Box::new(Request {
            job_id: job_id.to_owned(),
            frame: WsMessage::Text(text.into()),
            reply,
        }));
        let wait = async {
            self.command(request).await?;
            answer.await.map_err(|_| Error::Closed)?
        };
        let answer = match timeout {
            Some(after) => {
                tokio::time::timeout(after, wait)
                    .await
                    .map_err(|_| Error::Timeout {
                        what: "the answer to a task",
                        after,
                    })??
            }
            None => wait.await?,
        };
        if answer.event() == Some("ms-error") {
            let message = answer
                .data()
                .and_then(|d| d.get("message"))
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_owned();
            return Err(Error::Remote {
                job_id: job_id.to_owned(),
                message,
            });
        }
        if let Answer::Failed(message) = read_answer(answer_of(&answer)) {
            return Err(Error::TaskFailed {
                to: answer.sender().unwrap_or(to).to_owned(),
                job_id: job_id.to_owned(),
                message,
            });
        }
        Ok(answer)
    }
}
