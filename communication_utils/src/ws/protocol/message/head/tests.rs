use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::*;
use crate::ws::protocol::random_json::Gen;

/// The head of `text`, which must be read without its value.
fn head(text: &str) -> Head {
    match Head::read(text) {
        Ok(Read::Head(head)) => head,
        Ok(Read::Value(v)) => panic!("{text}: read through its value {v}"),
        Err(e) => panic!("{text}: {e}"),
    }
}

fn get(text: &str, span: Option<Span>) -> Option<&str> {
    span.and_then(|s| s.get(text))
}

#[test]
fn reads_the_envelope_in_place() {
    let text = r#"{"event":"ms-task","data":{"from":"svc","jobId":"j1","x":[1,{"a":null}]},"jobId":"top"}"#;
    let h = head(text);
    assert_eq!(get(text, h.event), Some("ms-task"));
    assert_eq!(get(text, h.job_id), Some("j1"));
    assert_eq!(get(text, h.sender), Some("svc"));
    assert!(h.chunk.is_none());
}

#[test]
fn job_id_precedence_matches_the_value_accessor() {
    for (text, want) in [
        (r#"{"jobId":"top"}"#, Some("top")),
        (r#"{"data":{"jobId":"in"},"jobId":"top"}"#, Some("in")),
        (r#"{"jobId":"top","data":{"jobId":"in"}}"#, Some("in")),
        // Present but null: hides the top-level one.
        (r#"{"data":{"jobId":null},"jobId":"top"}"#, None),
        (r#"{"data":null,"jobId":"top"}"#, Some("top")),
        (r#"{"data":{"jobId":"a","jobId":"b"}}"#, Some("b")),
    ] {
        assert_eq!(get(text, head(text).job_id), want, "{text}");
    }
}

/// What the derived struct does not fit is read through the value: another
/// type where a string is read, an escaped string, a duplicate key, `data`
/// that is not an object (a derived struct would read an array as its
/// fields), a text that is not an object.
#[test]
fn what_the_struct_does_not_fit_is_read_through_the_value() {
    for text in [
        r#"{"event":5}"#,
        r#"{"event":"ms-t\u0061sk"}"#,
        r#"{"event":"a","event":"b"}"#,
        r#"{"data":["j","svc"]}"#,
        r#"{"data":{"jobId":7},"jobId":"top"}"#,
        r#"{"data":{"j\u006fbId":"j"}}"#,
        r#"{"jobId":7,"index":0,"max_index":1,"chunk":"e30="}"#,
        r#"{"chunk":{"type":"Buffer","data":[1]}}"#,
        r#"["ms-task","j"]"#,
        " 3",
    ] {
        let want: Value = serde_json::from_str(text).unwrap();
        match Head::read(text) {
            Ok(Read::Value(v)) => assert_eq!(v, want, "{text}"),
            Ok(Read::Head(h)) => panic!("{text}: read as {h:?}"),
            Err(e) => panic!("{text}: {e}"),
        }
    }
}

#[test]
fn a_chunk_comes_with_its_fields_and_its_piece_in_place() {
    let text = r#"{"jobId":"j","index":"1","max_index":2.0,"chunk":"eyJhIg=="}"#;
    let c = head(text).chunk.unwrap();
    assert_eq!(get(text, c.job_id), Some("j"));
    assert_eq!(c.index, Some(json!("1")));
    assert_eq!(c.max_index, Some(json!(2.0)));
    assert_eq!(c.piece.get(text), Some("eyJhIg=="));
    assert!(head(r#"{"chunk":null}"#).chunk.is_none());
}

/// What a message's accessors read from its value (see
/// [`Message`](super::Message)).
fn reference(v: &Value) -> (Option<&str>, Option<&str>, Option<&str>, bool) {
    let data = v.get("data");
    let job_id = data
        .and_then(|d| d.get("jobId"))
        .or_else(|| v.get("jobId"))
        .and_then(Value::as_str);
    let sender = data.and_then(|d| d.get("from")).and_then(Value::as_str);
    let chunk = v.get("chunk").is_some_and(|c| !c.is_null());
    (
        v.get("event").and_then(Value::as_str),
        job_id,
        sender,
        chunk,
    )
}

/// Property: on random texts, the head reads what the accessors read from
/// the text's `Value` (the chunk fields too); every text a `Value` takes is
/// taken; a text a `Value` refuses is refused, unless `IgnoredAny` takes it
/// (a number out of range, nesting past 128 or a lone surrogate in a value
/// the head skips: such a message's value reads as `null`).
#[test]
fn random_texts_read_as_their_value_reads() {
    let mut g = Gen::new();
    let seed = g.seed();
    let (cases, mut in_place, mut refused) = (30_000, 0, 0);
    for case in 0..cases {
        let text = g.text();
        let at = || format!("seed {seed} (MS_UTILS_PROP_SEED), case {case}: {text:?}");
        let value = serde_json::from_str::<Value>(&text);
        match (Head::read(&text), value) {
            (Ok(Read::Head(h)), Ok(v)) => {
                in_place += 1;
                let (event, job_id, sender, chunk) = reference(&v);
                let read = (
                    get(&text, h.event),
                    get(&text, h.job_id),
                    get(&text, h.sender),
                    h.chunk.is_some(),
                );
                assert_eq!(read, (event, job_id, sender, chunk), "{}", at());
                if let Some(c) = h.chunk {
                    let or_null = |f: Option<Value>| f.unwrap_or(Value::Null);
                    assert_eq!(get(&text, c.job_id), v["jobId"].as_str(), "{}", at());
                    assert_eq!(or_null(c.index), v["index"], "{}", at());
                    assert_eq!(or_null(c.max_index), v["max_index"], "{}", at());
                    assert_eq!(c.piece.get(&text), v["chunk"].as_str(), "{}", at());
                }
            }
            (Ok(Read::Value(read)), Ok(v)) => assert_eq!(read, v, "{}", at()),
            (Ok(_), Err(_)) => assert!(
                serde_json::from_str::<IgnoredAny>(&text).is_ok(),
                "{}",
                at()
            ),
            (Err(_), Ok(v)) => panic!("{}: refused, a Value reads {v}", at()),
            (Err(_), Err(_)) => refused += 1,
        }
    }
    assert!(
        in_place > cases / 5,
        "seed {seed}: {in_place} read in place"
    );
    assert!(refused > cases / 20, "seed {seed}: {refused} refused");
}
