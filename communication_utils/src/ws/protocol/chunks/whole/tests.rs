use serde_json::{Value, json};

use super::{MIN_REUSE, parse, plain_prefix, plain_suffix, special};

/// A string of `n` bytes, no escapes needed.
fn big(n: usize) -> String {
    "ab".repeat(n / 2)
}

/// `text` in a buffer holding exactly its bytes (so that a reused buffer
/// is never shrunk, and keeps its address).
fn exact(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    s.push_str(text);
    s
}

/// `parse` answers exactly as `serde_json::from_str::<Value>`.
fn same(text: &str) -> Option<Value> {
    let want = serde_json::from_str::<Value>(text);
    let got = parse(exact(text));
    match (got, want) {
        (Ok(got), Ok(want)) => {
            assert_eq!(got, want);
            Some(got)
        }
        (Err(got), Err(want)) => {
            assert_eq!(got.to_string(), want.to_string());
            None
        }
        (got, want) => panic!("parse gave {got:?}, from_str gave {want:?}"),
    }
}

/// The buffer of `text` became the string `pointer` leads to.
fn reuses(text: &str, pointer: &str) {
    let text = exact(text);
    let base = text.as_ptr().addr();
    let value = parse(text).unwrap();
    let s = value.pointer(pointer).and_then(Value::as_str).unwrap();
    assert_eq!(s.as_ptr().addr(), base, "{pointer} was copied");
}

#[test]
fn the_large_string_of_an_envelope_reuses_the_buffer() {
    let blob = big(MIN_REUSE);
    let text = json!({"event": "e", "data": {"jobId": "j", "blob": blob}}).to_string();
    let value = same(&text).unwrap();
    assert_eq!(value["data"]["blob"], blob.as_str());
    reuses(&text, "/data/blob");
}

#[test]
fn strings_in_arrays_and_at_the_top_level_are_found() {
    let blob = big(MIN_REUSE);
    for (value, pointer) in [
        (json!(blob), ""),
        (json!([1, "x", blob]), "/2"),
        (
            json!({"a": [{"b": null}, {"c": [blob]}], "z": 2}),
            "/a/1/c/0",
        ),
    ] {
        let text = value.to_string();
        same(&text);
        reuses(&text, pointer);
    }
}

#[test]
fn an_escaped_key_on_the_way_is_followed() {
    let text = format!(r#"{{"d\u0061ta": {{"b\"lob": "{}"}}}}"#, big(MIN_REUSE));
    same(&text);
    reuses(&text, "/data/b\"lob");
}

#[test]
fn a_later_duplicate_key_replaces_the_large_string() {
    let blob = big(MIN_REUSE);
    for text in [
        format!(r#"{{"blob": "{blob}", "blob": "x"}}"#),
        format!(r#"{{"data": {{"blob": "{blob}"}}, "data": 1}}"#),
        format!(r#"[{{"data": {{"blob": "{blob}", "k": 1}}, "data": [2]}}]"#),
    ] {
        let value = same(&text).unwrap();
        assert!(!value.to_string().contains(&blob));
    }
}

#[test]
fn an_earlier_duplicate_key_does_not_count() {
    let blob = big(MIN_REUSE);
    let text = format!(r#"{{"blob": "x", "blob": "{blob}"}}"#);
    same(&text);
    reuses(&text, "/blob");
}

#[test]
fn other_texts_parse_as_usual() {
    let blob = big(MIN_REUSE);
    let escaped = format!("{}\\n", big(MIN_REUSE));
    for text in [
        // Escapes: the string is not the text as it stands.
        format!(r#"{{"blob": "{escaped}"}}"#),
        // A large key is a key.
        format!(r#"{{"{blob}": 1}}"#),
        // Two large strings, neither most of the text.
        format!(r#"["{blob}", "{blob}"]"#),
        // Small.
        r#"{"a": "b", "c": [1, 2.5, -3, true, null]}"#.to_owned(),
        // Large, of small values.
        serde_json::to_string(&vec![json!({"k": "v", "n": [1, 2]}); 100_000]).unwrap(),
        // A long run between two strings, not in one.
        format!(r#"["a"{}, "b"]"#, " ".repeat(MIN_REUSE)),
    ] {
        same(&text);
    }
}

#[test]
fn errors_are_the_plain_parse_errors() {
    let blob = big(MIN_REUSE);
    for text in [
        format!(r#"{{"blob": "{blob}"}} x"#),
        format!(r#"{{"blob": "{blob}", }}"#),
        format!(r#"{{"blob": "{blob}""#),
        format!(r#"{{"blob": "{blob}", "n": 1e999}}"#),
        format!("{}{blob}", "[".repeat(200)),
        format!("{}\"{blob}\"", "[".repeat(200)),
        format!("{{\"blob\": \"{blob}\u{1}{blob}\"}}"),
        format!(r#"["a"{blob}"b"]"#),
    ] {
        assert!(same(&text).is_none(), "{}", &text[..20]);
    }
}

#[test]
fn plain_runs_are_measured_to_the_byte() {
    let naive_prefix = |b: &[u8]| b.iter().position(|&c| special(c)).unwrap_or(b.len());
    let naive_suffix = |b: &[u8]| b.iter().rev().position(|&c| special(c)).unwrap_or(b.len());
    for len in [0, 1, 63, 64, 65, 127, 128, 200] {
        let plain = vec![b'a'; len];
        assert_eq!(plain_prefix(&plain), len);
        assert_eq!(plain_suffix(&plain), len);
        for at in 0..len {
            for mark in [b'"', b'\\', b'\n', 0] {
                let mut bytes = plain.clone();
                bytes[at] = mark;
                assert_eq!(plain_prefix(&bytes), naive_prefix(&bytes), "{len} {at}");
                assert_eq!(plain_suffix(&bytes), naive_suffix(&bytes), "{len} {at}");
            }
        }
    }
}
