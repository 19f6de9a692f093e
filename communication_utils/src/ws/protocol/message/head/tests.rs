use super::*;
use serde_json::Value;

fn get(text: &str, field: &Field) -> Option<String> {
    field.get(text).map(str::to_owned)
}

#[test]
fn reads_the_envelope_borrowed_or_unescaped() {
    let text = r#"{"event":"ms-task","data":{"from":"sv\u0063","jobId":"j1","x":[1,{"a":null}]},"jobId":"top"}"#;
    let head = Head::read(text).unwrap();
    assert!(matches!(head.event, Field::At(..)));
    assert_eq!(get(text, &head.event).as_deref(), Some("ms-task"));
    assert_eq!(get(text, &head.job_id).as_deref(), Some("j1"));
    assert!(matches!(head.sender, Field::Owned(_)));
    assert_eq!(get(text, &head.sender).as_deref(), Some("svc"));
    assert!(head.chunk.is_none());
}

#[test]
fn job_id_precedence_matches_the_value_accessor() {
    for (text, want) in [
        (r#"{"jobId":"top"}"#, Some("top")),
        (r#"{"data":{"jobId":"in"},"jobId":"top"}"#, Some("in")),
        (r#"{"jobId":"top","data":{"jobId":"in"}}"#, Some("in")),
        // Present but not a string: hides the top-level one.
        (r#"{"data":{"jobId":7},"jobId":"top"}"#, None),
        (r#"{"data":[1],"jobId":"top"}"#, Some("top")),
        (
            r#"{"data":{"jobId":"a"},"data":{"x":1},"jobId":"top"}"#,
            Some("top"),
        ),
        (r#"{"jobId":"a","jobId":"b"}"#, Some("b")),
    ] {
        let head = Head::read(text).unwrap();
        assert_eq!(head.job_id.get(text), want, "{text}");
        // The same answer as the accessor over a parsed value.
        let v: Value = serde_json::from_str(text).unwrap();
        let reference = v
            .get("data")
            .and_then(|d| d.get("jobId"))
            .or_else(|| v.get("jobId"))
            .and_then(Value::as_str);
        assert_eq!(reference, want, "{text}");
    }
}

#[test]
fn chunk_is_any_non_null_value() {
    assert!(
        Head::read(r#"{"chunk":{"index":0}}"#)
            .unwrap()
            .chunk
            .is_some()
    );
    assert!(Head::read(r#"{"chunk":0}"#).unwrap().chunk.is_some());
    assert!(Head::read(r#"{"chunk":null}"#).unwrap().chunk.is_none());
    assert!(Head::read(r#"{"event":"x"}"#).unwrap().chunk.is_none());
}

#[test]
fn a_chunk_comes_with_its_fields_and_its_piece_in_place() {
    let text = r#"{"jobId":7,"index":"1","max_index":2.0,"chunk":"eyJhIg=="}"#;
    let head = Head::read(text).unwrap();
    let c = head.chunk.unwrap();
    assert_eq!(c.job_id_number, Some(serde_json::json!(7)));
    assert_eq!(c.job_id_text, Field::Missing);
    assert_eq!(c.index, Some(serde_json::json!("1")));
    assert_eq!(c.max_index, Some(serde_json::json!(2.0)));
    assert!(matches!(c.piece, Field::At(..)));
    assert_eq!(c.piece.get(text), Some("eyJhIg=="));
    // A piece that is not a string is read from the parsed value.
    let text = r#"{"jobId":"j","chunk":{"type":"Buffer","data":[1]}}"#;
    let c = Head::read(text).unwrap().chunk.unwrap();
    assert_eq!(c.job_id_text.get(text), Some("j"));
    assert_eq!((c.job_id_number, c.piece), (None, Field::Missing));
}

#[test]
fn accepts_and_refuses_what_a_value_parse_does() {
    let deep_ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
    let too_deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
    for text in [
        "1",
        "\"s\"",
        "[1,2]",
        "null",
        "{}",
        "1e400",
        "{\"a\":1e400}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "[1] x",
        "",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":-}",
        deep_ok.as_str(),
        too_deep.as_str(),
    ] {
        let value = serde_json::from_str::<Value>(text).is_ok();
        assert_eq!(Head::read(text).is_ok(), value, "{text:?}");
    }
}

#[test]
fn non_objects_have_an_empty_head() {
    for text in ["[{\"event\":\"x\"}]", "\"event\"", "3"] {
        assert_eq!(Head::read(text).unwrap(), Head::default());
    }
}
