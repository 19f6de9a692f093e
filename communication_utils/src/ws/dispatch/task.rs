//! [`Task`]: an incoming `ms-task`, typed, with the replies a service sends
//! back ([protocol: tasks](crate::protocol#tasks), [replies](crate::protocol#replies)).

use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ws::client::MicroServiceWs;
use crate::ws::error::Error;
use crate::ws::protocol::message::Message;
use crate::ws::protocol::outcome::ErrorOutcome;

/// A task another service sent: the `data` of an `ms-task` message, with
/// its payload deserialized into `T`.
///
/// Replies go back to [`Task::from`] under the same job and reference ids,
/// as the Python services expect: [`Task::reply`] with any payload,
/// [`Task::reply_error`] with the platform's `ms-task-result` error
/// outcome.
///
/// ```no_run
/// use ms_utils_communication::ws::{Message, MicroServiceWs, Task};
///
/// #[derive(serde::Deserialize)]
/// struct Resize { width: u32 }
///
/// # async fn f(ms: MicroServiceWs, msg: Message) -> Result<(), ms_utils_communication::ws::Error> {
/// let task: Task<Resize> = Task::from_message(&msg)?;
/// if task.data.width == 0 {
///     task.reply_error(&ms, "width must be positive").await?;
/// } else {
///     task.reply(&ms, &serde_json::json!({"status": "ok"})).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Wire<T>", bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct Task<T = Value> {
    /// The service that sent it (the gateway writes it).
    pub from: String,
    /// The unit of work; replies carry it back.
    #[serde(rename = "jobId")]
    pub job_id: String,
    /// The workflow the job belongs to, passed along unchanged (the
    /// `workflowId` of older senders when `referenceId` is missing).
    #[serde(rename = "referenceId")]
    pub reference_id: String,
    /// The task itself.
    pub data: T,
}

/// The wire shape, before the reference id falls back to `workflowId`,
/// then to the job id: the one way a task is read, by
/// [`Task::from_message`] and by `Task`'s `Deserialize` (a typed route).
#[derive(Deserialize)]
struct Wire<T> {
    from: String,
    #[serde(rename = "jobId")]
    job_id: String,
    #[serde(rename = "referenceId")]
    reference_id: Option<String>,
    #[serde(rename = "workflowId")]
    workflow_id: Option<String>,
    data: T,
}

impl<T> From<Wire<T>> for Task<T> {
    fn from(wire: Wire<T>) -> Self {
        let reference_id = wire
            .reference_id
            .or(wire.workflow_id)
            .unwrap_or_else(|| wire.job_id.clone());
        Task {
            from: wire.from,
            job_id: wire.job_id,
            reference_id,
            data: wire.data,
        }
    }
}

impl<T: DeserializeOwned> Task<T> {
    /// Reads the task of an `ms-task` message.
    ///
    /// # Errors
    /// [`Error::Json`] when the message is not an `ms-task`, lacks `from` or
    /// `jobId`, or its payload does not fit `T` (the error names the field).
    ///
    /// ```
    /// use ms_utils_communication::ws::{Message, Task};
    /// use serde_json::json;
    ///
    /// let msg = Message::json(json!({"event": "ms-task", "data": {
    ///     "from": "svc", "referenceId": "r1", "workflowId": "r1", "jobId": "j1",
    ///     "data": {"n": 3}}}));
    /// let task: Task<serde_json::Value> = Task::from_message(&msg).unwrap();
    /// assert_eq!((task.from.as_str(), task.job_id.as_str()), ("svc", "j1"));
    /// assert_eq!(task.data["n"], 3);
    /// ```
    pub fn from_message(msg: &Message) -> Result<Self, Error> {
        if msg.event() != Some("ms-task") {
            let event = msg.event().unwrap_or("(none)");
            return Err(serde_json::Error::custom(format!(
                "not an ms-task message: event {event}"
            ))
            .into());
        }
        msg.parse_data()
    }
}

impl<T> Task<T> {
    /// Answers the sender: a task back to [`Task::from`] with the same job
    /// and reference ids, carrying `data` (byte-for-byte what the Python
    /// client's `send_task_to_ms` would send).
    ///
    /// # Errors
    /// As [`MicroServiceWs::send_task_to_ms`].
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs, task: ms_utils_communication::ws::Task) -> Result<(), ms_utils_communication::ws::Error> {
    /// task.reply(&ms, &serde_json::json!({"status": "ok"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn reply<R: Serialize + ?Sized>(
        &self,
        client: &MicroServiceWs,
        data: &R,
    ) -> Result<(), Error> {
        client
            .send_task_to_ms(&self.from, &self.reference_id, &self.job_id, data)
            .await
    }

    /// Answers the sender that the task failed: the platform's outcome
    /// envelope (`{"event": "ms-task-result", "data": {"jobId", "type":
    /// "error", "response": null, "consumption": null, "message"}}`, see
    /// [protocol: embedding jobs](crate::protocol#embedding-jobs)) as the
    /// reply's data, which the Python services, [`MicroServiceWs::call`]
    /// ([`Error::TaskFailed`]) and `send_encoding_job` read as a failed job.
    ///
    /// # Errors
    /// As [`MicroServiceWs::send_task_to_ms`].
    ///
    /// ```no_run
    /// # async fn f(ms: ms_utils_communication::ws::MicroServiceWs, task: ms_utils_communication::ws::Task) -> Result<(), ms_utils_communication::ws::Error> {
    /// task.reply_error(&ms, "unknown model").await?;
    /// # Ok(()) }
    /// ```
    pub async fn reply_error(
        &self,
        client: &MicroServiceWs,
        message: impl fmt::Display,
    ) -> Result<(), Error> {
        let message = message.to_string();
        self.reply(client, &ErrorOutcome::new(&self.job_id, &message))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task_msg(data: Value) -> Message {
        Message::json(json!({"event": "ms-task", "data": data}))
    }

    #[test]
    fn the_reference_id_falls_back_to_the_workflow_id_then_the_job_id() {
        let t: Task = Task::from_message(&task_msg(
            json!({"from": "a", "workflowId": "w", "jobId": "j", "data": 1}),
        ))
        .unwrap();
        assert_eq!(t.reference_id, "w");
        let t: Task =
            Task::from_message(&task_msg(json!({"from": "a", "jobId": "j", "data": 1}))).unwrap();
        assert_eq!(t.reference_id, "j");
    }

    #[test]
    fn a_typed_route_reads_a_task_as_from_message_does() {
        // The route path: `Task<T>` deserialized from the message's data.
        for data in [
            json!({"from": "a", "jobId": "j", "data": 1}),
            json!({"from": "a", "referenceId": null, "workflowId": "w", "jobId": "j", "data": 1}),
            json!({"from": "a", "referenceId": "r", "workflowId": "w", "jobId": "j", "data": 1}),
        ] {
            let msg = task_msg(data);
            let routed: Task<u32> = msg.parse_data().unwrap();
            assert_eq!(routed, Task::<u32>::from_message(&msg).unwrap());
        }
        let routed: Task<u32> = task_msg(json!({"from": "a", "jobId": "j", "data": 1}))
            .parse_data()
            .unwrap();
        assert_eq!(routed.reference_id, "j");
    }

    #[test]
    fn other_events_and_missing_fields_are_json_errors() {
        let other = Message::json(json!({"event": "ms-error", "data": {"jobId": "j"}}));
        assert!(matches!(
            Task::<Value>::from_message(&other),
            Err(Error::Json { .. })
        ));
        let no_from = task_msg(json!({"jobId": "j", "data": 1}));
        assert!(matches!(
            Task::<Value>::from_message(&no_from),
            Err(Error::Json { .. })
        ));
        let wrong_type = task_msg(json!({"from": "a", "jobId": "j", "data": "x"}));
        assert!(matches!(
            Task::<u32>::from_message(&wrong_type),
            Err(Error::Json { .. })
        ));
    }
}
