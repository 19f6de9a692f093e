use super::*;
use serde_json::json;

/// The accessors scan small objects and search large ones, or read the
/// frame's head: all must give what `Value::get` gives, including the
/// `jobId` precedence, on either side of the scan limit, at the top level
/// and inside `data`, for a message built from a value and one read from
/// its text.
#[test]
fn accessors_agree_with_value_get_on_small_and_large_objects() {
    let reference = |v: &Value| {
        v.get("data")
            .and_then(|d| d.get("jobId"))
            .or_else(|| v.get("jobId"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let padded = |base: Value, pad: usize| {
        let mut m = base.as_object().cloned().unwrap_or_default();
        for i in 0..pad {
            m.insert(format!("k{i:03}"), json!(i));
        }
        Value::Object(m)
    };
    let datas = [
        None,
        Some(json!(null)),
        Some(json!([1])),
        Some(json!("x")),
        Some(json!({})),
        Some(json!({"jobId": "inner"})),
        Some(json!({"jobId": 7})),
        Some(json!({"jobId": null})),
    ];
    let tops = [None, Some(json!("top")), Some(json!(3))];
    let sizes = [0, SCAN_MAX - 3, SCAN_MAX - 1, SCAN_MAX, SCAN_MAX + 1, 40];
    let mut cases = vec![json!([1, 2]), json!("jobId"), json!(null)];
    for data in &datas {
        for top in &tops {
            for &outer in &sizes {
                for &inner in &[0, SCAN_MAX + 1] {
                    let mut m = serde_json::Map::new();
                    if let Some(d) = data {
                        let d = if d.is_object() {
                            padded(d.clone(), inner)
                        } else {
                            d.clone()
                        };
                        m.insert("data".into(), d);
                    }
                    if let Some(t) = top {
                        m.insert("jobId".into(), t.clone());
                    }
                    m.insert("event".into(), json!("e"));
                    m.insert(
                        "chunk".into(),
                        if outer % 2 == 0 {
                            json!("AA==")
                        } else {
                            json!(null)
                        },
                    );
                    cases.push(padded(Value::Object(m), outer));
                }
            }
        }
    }
    for v in cases {
        let read: Message = v.to_string().parse().unwrap();
        for m in [Message::json(v.clone()), read] {
            assert_eq!(m.job_id().map(str::to_owned), reference(&v), "{v}");
            assert_eq!(m.event(), v.get("event").and_then(Value::as_str), "{v}");
            assert_eq!(
                m.sender(),
                v.get("data")
                    .and_then(|d| d.get("from"))
                    .and_then(Value::as_str),
                "{v}"
            );
            assert_eq!(m.data(), v.get("data"), "{v}");
            assert_eq!(
                m.is_chunk(),
                v.get("chunk").is_some_and(|c| !c.is_null()),
                "{v}"
            );
            match m.parse_data::<Value>() {
                Ok(data) => {
                    assert_eq!(data, v.get("data").cloned().unwrap_or(Value::Null), "{v}")
                }
                Err(e) => assert!(!v.is_object() && matches!(e, Error::Json { .. }), "{v}"),
            }
        }
    }
    assert_eq!(Message::binary(Bytes::from_static(b"{}")).job_id(), None);
}

#[test]
fn job_id_prefers_data_job_id() {
    let m = Message::json(json!({"jobId": "top", "data": {"jobId": "inner"}}));
    assert_eq!(m.job_id(), Some("inner"));
    assert_eq!(Message::json(json!([1])).job_id(), None);
}

#[test]
fn a_read_message_builds_its_value_once_and_equals_the_built_one() {
    let text = r#"{"event":"e","data":{"jobId":"j","from":"s","n":[1,2.5,null]}}"#;
    let m: Message = text.parse().unwrap();
    assert_eq!(m.text(), Some(text));
    let first: *const Value = m.as_json().unwrap();
    assert!(std::ptr::eq(first, m.as_json().unwrap()));
    let v: Value = serde_json::from_str(text).unwrap();
    assert_eq!(m, Message::json(v.clone()));
    assert_eq!(m.clone().into_json(), Some(v));
    assert_ne!(m, Message::binary(text.as_bytes().to_vec()));
}

#[test]
fn parse_data_reads_null_for_a_missing_data() {
    let m: Message = r#"{"event":"e"}"#.parse().unwrap();
    assert_eq!(m.parse_data::<Option<u8>>().unwrap(), None);
    assert!(matches!(m.parse_data::<u8>(), Err(Error::Json { .. })));
    let not_object: Message = "[1]".parse().unwrap();
    assert!(matches!(
        not_object.parse_data::<Value>(),
        Err(Error::Json { .. })
    ));
    assert!(matches!(
        Message::json(json!([1])).parse_data::<Value>(),
        Err(Error::Json { .. })
    ));
}

/// A chunk fed from its frame text reassembles, and fails, exactly as
/// the same chunk fed as a parsed value.
#[test]
fn chunks_from_the_text_act_as_chunks_from_the_value() {
    let whole = json!({"event": "e", "data": {"blob": "é/x".repeat(50)}});
    let mut frames =
        crate::ws::chunks::chunk_texts("j1", whole.to_string().as_bytes(), 40).unwrap();
    frames.swap(0, 2);
    frames.extend(
        [
            r#"{"jobId":5,"index":"0","max_index":2.0,"chunk":"eyJh"}"#,
            r#"{"jobId":5,"index":1,"max_index":2,"chunk":"IjoxfQ=="}"#,
            r#"{"jobId":"b","index":0,"max_index":1,"chunk":"e3\u0030="}"#,
            r#"{"jobId":"n","index":0,"max_index":1,"chunk":{"type":"Buffer","data":[123,125]}}"#,
            r#"{"index":0,"max_index":1,"chunk":"e30="}"#,
            r#"{"jobId":"x","max_index":1,"chunk":"e30="}"#,
            r#"{"jobId":true,"index":0,"max_index":1,"chunk":"e30="}"#,
            r#"{"jobId":"y","index":0,"max_index":1,"chunk":"!!"}"#,
            r#"{"jobId":"z","index":3,"max_index":1,"chunk":"e30="}"#,
            r#"{"jobId":"d","jobId":"e","index":0,"max_index":1,"chunk":"e30="}"#,
        ]
        .map(str::to_owned),
    );
    let now = Instant::now();
    let limits = crate::ws::chunks::ChunkLimits::default();
    let (mut by_text, mut by_value) = (
        ChunkAssembler::new(limits.clone()),
        ChunkAssembler::new(limits),
    );
    let mut completed = 0;
    for frame in &frames {
        let m: Message = frame.parse().unwrap();
        assert!(m.is_chunk(), "{frame}");
        let from_text = match m.push_chunk(&mut by_text, now) {
            Some(r) => r,
            None => by_text.push(m.into_json().unwrap(), now),
        };
        let v: Value = serde_json::from_str(frame).unwrap();
        let from_value = by_value.push(v, now);
        match (&from_text, &from_value) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{frame}");
                completed += usize::from(a.is_some());
            }
            (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{frame}"),
            _ => panic!("{frame}: {from_text:?} vs {from_value:?}"),
        }
    }
    // j1, 5, b, n, d.
    assert_eq!(completed, 5);
    assert_eq!(by_text.pending_jobs(), 0);
}

/// Duplicate keys: a `Value` keeps the last, a derived struct refuses
/// them; a message read from its text answers as its value does.
#[test]
fn duplicate_keys_read_as_the_value_reads_them() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct P {
        x: u32,
    }
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct E {
        event: String,
    }
    let cases = [
        r#"{"event":"e","data":"x","data":1}"#,
        r#"{"event":"e","data":{"x":1,"x":2}}"#,
        r#"{"event":"a","event":"b","data":{"x":3}}"#,
    ];
    for text in cases {
        let read: Message = text.parse().unwrap();
        let built = Message::json(serde_json::from_str(text).unwrap());
        assert_eq!(
            read.parse_data::<u8>().ok(),
            built.parse_data::<u8>().ok(),
            "{text}"
        );
        assert_eq!(
            read.parse_data::<P>().ok(),
            built.parse_data::<P>().ok(),
            "{text}"
        );
        assert_eq!(read.parse::<E>().ok(), built.parse::<E>().ok(), "{text}");
    }
    let m: Message = r#"{"event":"e","data":"x","data":1}"#.parse().unwrap();
    assert_eq!(m.parse_data::<u8>().unwrap(), 1);
    let m: Message = r#"{"event":"a","event":"b"}"#.parse().unwrap();
    assert_eq!(m.parse::<E>().unwrap().event, "b");
    let task = crate::ws::Task::<Value>::from_message(
        &r#"{"event":"ms-task","data":{"from":"a","jobId":"j","from":"b","data":{}}}"#
            .parse()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(task.from, "b");
}

/// A frame whose JSON a `Value` cannot hold in a value the envelope skips
/// (here a number out of range) is still a message, its envelope read, its
/// value `null`; one that is not JSON at all is not.
#[test]
fn a_frame_a_value_cannot_hold_keeps_its_envelope() {
    let m: Message = r#"{"event":"e","data":{"jobId":"j","n":1e400}}"#.parse().unwrap();
    assert_eq!((m.event(), m.job_id()), (Some("e"), Some("j")));
    assert_eq!(m.as_json(), Some(&Value::Null));
    for text in [r#"{"event":"e","n":1e400"#, r#"{"event":"e",}"#] {
        assert!(matches!(text.parse::<Message>(), Err(Error::Json { .. })));
    }
}
