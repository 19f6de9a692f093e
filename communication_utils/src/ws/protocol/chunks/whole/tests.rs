use rand::Rng;
use serde_json::{Value, json};

use super::{MIN_REUSE, parse, parse_reusing, plain_prefix, plain_suffix, special};
use crate::ws::protocol::random_json::Gen;

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

/// The reuse threshold of the property test: small texts, many cases.
const MIN: usize = 16;

/// A random text around one long string: the string (mostly plain, maybe
/// with escapes, a quote or a control character near its ends) at the
/// bottom of a few random objects and arrays, with random entries before
/// and after it (a later duplicate of its key now and then), sometimes as
/// a key, sometimes cut or mutated.
fn around_a_long_string(g: &mut Gen) -> String {
    let (mut before, mut after) = (String::new(), String::new());
    g.space(&mut before);
    let mut as_key = false;
    for _ in 0..g.rng().random_range(0..4) {
        if g.rng().random_bool(0.5) {
            before.push('[');
            for _ in 0..g.rng().random_range(0..3) {
                g.value(&mut before, 3);
                before.push(',');
            }
            let mut close = String::new();
            for _ in 0..g.rng().random_range(0..3) {
                close.push(',');
                g.value(&mut close, 3);
            }
            close.push(']');
            after.insert_str(0, &close);
        } else {
            before.push('{');
            for _ in 0..g.rng().random_range(0..3) {
                g.key(&mut before);
                g.value(&mut before, 3);
                before.push(',');
            }
            let key = g.key_name();
            as_key = g.rng().random_bool(0.05);
            if !as_key {
                g.named_key(&mut before, key);
            }
            let mut close = String::new();
            if as_key {
                close.push(':');
                g.value(&mut close, 3);
            }
            for _ in 0..g.rng().random_range(0..3) {
                close.push(',');
                if g.rng().random_bool(0.3) {
                    g.named_key(&mut close, key);
                } else {
                    g.key(&mut close);
                }
                g.value(&mut close, 3);
            }
            close.push('}');
            after.insert_str(0, &close);
        }
    }
    g.space(&mut after);
    // The long string: long enough to lie across the middle, or not quite.
    let rest = before.len() + after.len() + 2;
    let len = (rest + g.rng().random_range(0..40)).max(MIN) + g.rng().random_range(0..8);
    let mut long = String::from('"');
    let edge = |g: &mut Gen, s: &mut String| {
        if g.rng().random_bool(0.3) {
            s.push_str(g.pick(&["\\\"", "\\n", "\\u00e9", "\\\\", "\u{1}", "\"", "\\"]));
        }
    };
    edge(g, &mut long);
    while long.len() < len {
        long.push_str(g.pick(&[
            "a", "Z", "0", " ", "é", "日", "😀", "'", "/", "{", "]", ":", ",",
        ]));
    }
    edge(g, &mut long);
    long.push('"');
    let mut text = before + &long + &after;
    if as_key && g.rng().random_bool(0.5) {
        text = format!("{{{}", &text[..]);
    }
    if g.rng().random_bool(0.15) {
        g.mutate(&mut text);
    }
    text
}

/// Whether a string of `value` lies in the allocation that began at `base`.
fn holds_buffer(value: &Value, base: usize) -> bool {
    match value {
        Value::String(s) => s.as_ptr().addr() == base,
        Value::Array(items) => items.iter().any(|v| holds_buffer(v, base)),
        Value::Object(map) => map.values().any(|v| holds_buffer(v, base)),
        _ => false,
    }
}

/// Property: on random texts built around one long string, `parse` gives
/// exactly what `serde_json::from_str::<Value>` gives (the value, or an
/// error of the same category at the same place), whether or not the
/// buffer was reused; and the reuse does happen in a good share of them.
#[test]
fn random_texts_around_a_long_string_parse_as_a_value_does() {
    let mut g = Gen::new();
    let seed = g.seed();
    let (cases, mut reused, mut errors) = (20_000, 0, 0);
    for case in 0..cases {
        let text = around_a_long_string(&mut g);
        let buffer = exact(&text);
        let base = buffer.as_ptr().addr();
        let got = parse_reusing(buffer, MIN);
        let want = serde_json::from_str::<Value>(&text);
        let at = || format!("seed {seed} (MS_UTILS_PROP_SEED), case {case}: {text:?}");
        match (got, want) {
            (Ok(got), Ok(want)) => {
                assert_eq!(got, want, "{}", at());
                reused += usize::from(holds_buffer(&got, base));
            }
            (Err(got), Err(want)) => {
                let place = |e: &serde_json::Error| (e.classify(), e.line(), e.column());
                assert_eq!(place(&got), place(&want), "{}", at());
                errors += 1;
            }
            (got, want) => panic!("{}: parse gave {got:?}, from_str gave {want:?}", at()),
        }
    }
    assert!(
        reused > cases / 5,
        "seed {seed}: the buffer was reused in {reused} cases only"
    );
    assert!(
        errors > cases / 50,
        "seed {seed}: only {errors} texts were not JSON"
    );
}

/// Property: on random texts of any shape, `parse` gives what
/// `serde_json::from_str::<Value>` gives.
#[test]
fn random_texts_parse_as_a_value_does() {
    let mut g = Gen::new();
    let seed = g.seed();
    for case in 0..20_000 {
        let text = g.text();
        let got = parse_reusing(exact(&text), MIN);
        let want = serde_json::from_str::<Value>(&text);
        let at = format!("seed {seed} (MS_UTILS_PROP_SEED), case {case}: {text:?}");
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{at}"),
            (Err(got), Err(want)) => assert_eq!(
                (got.classify(), got.line(), got.column()),
                (want.classify(), want.line(), want.column()),
                "{at}"
            ),
            (got, want) => panic!("{at}: parse gave {got:?}, from_str gave {want:?}"),
        }
    }
}
