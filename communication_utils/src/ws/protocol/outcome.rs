//! A task's outcome, the `ms-task-result` envelope ([protocol: task
//! outcomes](crate::protocol#task-outcomes)): written for a failed task,
//! read from an answer.

use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ws::protocol::message::{Message, field};

/// The event name of a task's outcome, `ms-task-result`
/// ([protocol: embedding jobs](crate::protocol#embedding-jobs)).
///
/// ```
/// assert_eq!(ms_utils_communication::ws::TASK_RESULT_EVENT, "ms-task-result");
/// ```
pub const TASK_RESULT_EVENT: &str = "ms-task-result";

/// The error outcome, in the order the Python workers write it:
/// `{"event": "ms-task-result", "data": {"jobId", "type": "error",
/// "response": null, "consumption": null, "message"}}`.
#[derive(Serialize)]
pub(crate) struct ErrorOutcome<'a> {
    event: &'static str,
    data: ErrorOutcomeData<'a>,
}

#[derive(Serialize)]
struct ErrorOutcomeData<'a> {
    #[serde(rename = "jobId")]
    job_id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    response: Option<()>,
    consumption: Option<()>,
    message: &'a str,
}

impl<'a> ErrorOutcome<'a> {
    pub(crate) fn new(job_id: &'a str, message: &'a str) -> Self {
        ErrorOutcome {
            event: TASK_RESULT_EVENT,
            data: ErrorOutcomeData {
                job_id,
                kind: "error",
                response: None,
                consumption: None,
                message,
            },
        }
    }
}

/// What an answer's `data` says.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer<'a> {
    /// Not an outcome: the data is the answer itself.
    Plain(&'a Value),
    /// An outcome still in progress (`"type": "running"`): more will come.
    Running,
    /// A successful outcome: its `response`.
    Ok(&'a Value),
    /// A failed outcome (or one that cannot be read): what it says.
    Failed(String),
}

/// Reads the `data` of an answer: an `ms-task-result` envelope or a plain
/// value.
pub(crate) fn read_answer(data: &Value) -> Answer<'_> {
    if field(data, "event").and_then(Value::as_str) != Some(TASK_RESULT_EVENT) {
        return Answer::Plain(data);
    }
    let fields = field(data, "data").unwrap_or(&Value::Null);
    let text = |name| field(fields, name).and_then(Value::as_str);
    match text("type") {
        Some("running") => Answer::Running,
        Some("ok") => Answer::Ok(field(fields, "response").unwrap_or(&Value::Null)),
        Some("error") => Answer::Failed(
            text("message")
                .or_else(|| text("response"))
                .unwrap_or("")
                .to_owned(),
        ),
        Some(other) => Answer::Failed(format!("an outcome of unknown type {other:?}")),
        None => Answer::Failed("an outcome without a type".to_owned()),
    }
}

/// Where the content of an answer is: the `data` of the task that carries
/// it, or a bare `ms-task-result` message itself.
pub(crate) fn answer_of(message: &Message) -> &Value {
    let Some(value) = message.as_json() else {
        return &Value::Null;
    };
    let data = || message.data().unwrap_or(&Value::Null);
    match message.event() {
        Some("ms-task") => field(data(), "data").unwrap_or(&Value::Null),
        Some(TASK_RESULT_EVENT) => value,
        _ => data(),
    }
}

/// True when `message` carries an outcome still in progress (`"type":
/// "running"`): it does not answer a call.
pub(crate) fn is_running(message: &Message) -> bool {
    read_answer(answer_of(message)) == Answer::Running
}

/// True when `msg` carries an outcome (its `data.data` an `ms-task-result`):
/// the answer to a task, never a task to handle. Read from the frame text
/// without building anything when the message came as one.
pub(crate) fn carries_outcome(msg: &Message) -> bool {
    match msg.text() {
        // Every task goes through here: most never name the outcome's
        // event, which then cannot be in them (in JSON text a string spells
        // those letters and `-` literally or as `\u` escapes), and need no
        // second pass over their text.
        Some(text) if !text.contains(TASK_RESULT_EVENT) && !text.contains("\\u") => false,
        Some(text) => serde_json::from_str::<Envelope>(text)
            .is_ok_and(|e| e.data.and_then(|d| d.data).is_some_and(|o| o.0)),
        None => {
            msg.data()
                .and_then(|d| field(d, "data"))
                .and_then(|d| field(d, "event"))
                .and_then(Value::as_str)
                == Some(TASK_RESULT_EVENT)
        }
    }
}

/// `{"data": {"data": {"event": ..}}}`, the rest skipped.
#[derive(Deserialize)]
struct Envelope {
    data: Option<EnvelopeData>,
}

#[derive(Deserialize)]
struct EnvelopeData {
    data: Option<IsOutcome>,
}

/// Any JSON value: true when it is an object whose `event` is the outcome's.
struct IsOutcome(bool);

impl<'de> Deserialize<'de> for IsOutcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = IsOutcome;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IsOutcome, A::Error> {
                let mut outcome = false;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "event" {
                        let event: Option<Cow<'de, str>> = map.next_value()?;
                        outcome = event.as_deref() == Some(TASK_RESULT_EVENT);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(IsOutcome(outcome))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IsOutcome, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(IsOutcome(false))
            }
            fn visit_bool<E>(self, _: bool) -> Result<IsOutcome, E> {
                Ok(IsOutcome(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<IsOutcome, E> {
                Ok(IsOutcome(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<IsOutcome, E> {
                Ok(IsOutcome(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<IsOutcome, E> {
                Ok(IsOutcome(false))
            }
            fn visit_str<E>(self, _: &str) -> Result<IsOutcome, E> {
                Ok(IsOutcome(false))
            }
            fn visit_unit<E>(self) -> Result<IsOutcome, E> {
                Ok(IsOutcome(false))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_error_outcome_is_written_like_the_python_workers_write_it() {
        assert_eq!(
            crate::ws::protocol::python_json::to_python_json(&ErrorOutcome::new("j1", "bad input"))
                .unwrap(),
            r#"{"event": "ms-task-result", "data": {"jobId": "j1", "type": "error", "response": null, "consumption": null, "message": "bad input"}}"#
        );
    }

    #[test]
    fn an_outcome_is_seen_in_the_frame_text_and_in_a_value() {
        let outcome = r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": {"jobId": "j", "event": "ms-task-result", "data": {"type": "error"}}}}"#;
        let msg: Message = outcome.parse().unwrap();
        assert!(carries_outcome(&msg));
        assert!(carries_outcome(&Message::json(
            msg.as_json().unwrap().clone()
        )));
        for text in [
            r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": {"event": "resize"}}}"#,
            r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": [1, {"event": "ms-task-result"}]}}"#,
            r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": "ms-task-result"}}"#,
            r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": null}}"#,
            // The event's name elsewhere, or escaped where it is not the event.
            r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": {"note": "ms-task-result"}}}"#,
            r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": {"event": "\u006ds-task"}}}"#,
            r#"{"event": "ms-task", "data": 3}"#,
        ] {
            let msg: Message = text.parse().unwrap();
            assert!(!carries_outcome(&msg), "{text}");
            assert!(
                !carries_outcome(&Message::json(msg.as_json().unwrap().clone())),
                "{text}"
            );
        }
    }

    #[test]
    fn an_outcome_spelled_with_escapes_is_seen() {
        let escaped = r#"{"event": "ms-task", "data": {"from": "w", "jobId": "j", "data": {"event": "\u006ds-task-resul\u0074", "data": {"type": "error"}}}}"#;
        let msg: Message = escaped.parse().unwrap();
        assert!(carries_outcome(&msg));
    }

    #[test]
    fn answers_are_read_as_outcomes_or_plain_values() {
        let plain = json!({"area": 42});
        assert_eq!(read_answer(&plain), Answer::Plain(&plain));
        let ok = json!({"event": "ms-task-result", "data": {"type": "ok", "response": [1]}});
        assert_eq!(read_answer(&ok), Answer::Ok(&json!([1])));
        let running = json!({"event": "ms-task-result", "data": {"type": "running"}});
        assert_eq!(read_answer(&running), Answer::Running);
        let failed =
            json!({"event": "ms-task-result", "data": {"type": "error", "message": "no GPU"}});
        assert_eq!(read_answer(&failed), Answer::Failed("no GPU".into()));
        let odd = json!({"event": "ms-task-result", "data": {"type": "maybe"}});
        assert!(matches!(read_answer(&odd), Answer::Failed(_)));
    }
}
