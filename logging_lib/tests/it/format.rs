//! The line format on real output: text as the Python original, and JSON lines.

use chrono::{Local, NaiveDateTime};
use ms_utils_logging::{Format, ModuleStyle};
use serde_json::Value;

use crate::support::{SharedBuf, capture, console_only, line_regex, messages};

#[test]
fn text_line_has_python_level_local_time_file_stem_and_caller_line() {
    let console = SharedBuf::new();
    let mut line = 0;
    let lines = capture(console_only(&console), &console, || {
        line = line!() + 1;
        tracing::warn!("disk almost full");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let caps = line_regex().captures(&lines[0]).expect(&lines[0]);
    assert_eq!(&caps[1], "WARNING");
    assert_eq!(
        &caps[3], "format",
        "module is the file stem of tests/format.rs"
    );
    assert_eq!(caps[4].parse::<u32>().unwrap(), line);
    assert_eq!(&caps[5], "disk almost full");

    let time = NaiveDateTime::parse_from_str(&caps[2], "%d-%m-%Y %H:%M:%S").unwrap();
    let skew = (Local::now().naive_local() - time).num_seconds().abs();
    assert!(skew < 60, "time {time} is not local now");
}

#[test]
fn fields_are_appended_as_key_value_after_the_message() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        tracing::info!(
            job = 7,
            user = "bob",
            reason = "bad token",
            ok = true,
            "job done"
        );
    });
    assert!(
        lines[0].ends_with(r#"-> job done job=7 user=bob reason="bad token" ok=true"#),
        "{}",
        lines[0]
    );
}

#[test]
fn every_level_is_written_with_its_python_name() {
    let console = SharedBuf::new();
    let builder = console_only(&console).level(tracing::Level::TRACE);
    let lines = capture(builder, &console, || {
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    });
    let levels: Vec<String> = lines
        .iter()
        .map(|l| line_regex().captures(l).expect(l)[1].to_owned())
        .collect();
    assert_eq!(levels, ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR"]);
}

#[test]
fn target_style_shows_the_full_target() {
    let console = SharedBuf::new();
    let builder = console_only(&console).module_style(ModuleStyle::Target);
    let lines = capture(builder, &console, || {
        tracing::info!(target: "svc::handlers::connect", "hello");
    });
    assert!(
        lines[0].contains("(svc::handlers::connect:"),
        "{}",
        lines[0]
    );
}

#[test]
fn custom_console_writer_gets_no_colour_unless_asked() {
    let plain = SharedBuf::new();
    let lines = capture(console_only(&plain), &plain, || tracing::error!("x"));
    assert!(lines[0].starts_with("[ERROR] "), "{:?}", lines[0]);

    let coloured = SharedBuf::new();
    let lines = capture(console_only(&coloured).ansi(true), &coloured, || {
        tracing::error!("x")
    });
    assert!(
        lines[0].starts_with("[\x1b[31mERROR\x1b[0m] "),
        "{:?}",
        lines[0]
    );
}

#[test]
fn json_lines_each_parse_with_the_documented_keys() {
    let console = SharedBuf::new();
    let builder = console_only(&console).name("svc").format(Format::Json);
    let mut line = 0;
    let lines = capture(builder, &console, || {
        let span = tracing::info_span!("request", id = "abc", n = 3);
        let _entered = span.enter();
        line = line!() + 1;
        tracing::info!(job = 7, user = "bob", "connected");
        tracing::warn!("second \"quoted\"\nline");
    });
    assert_eq!(
        lines.len(),
        2,
        "a message's newline stays inside its JSON line"
    );

    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["message"], "connected");
    assert_eq!(first["module"], "format");
    assert_eq!(first["target"], "it::format");
    assert_eq!(first["line"], line);
    assert_eq!(first["fields"]["job"], 7);
    assert_eq!(first["fields"]["user"], "bob");
    assert_eq!(first["span"]["name"], "request");
    assert_eq!(first["span"]["id"], "abc");
    assert_eq!(first["span"]["n"], 3);
    assert_eq!(first["logger"], "svc");
    let time = first["time"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(time).expect(time);

    let second: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(second["level"], "WARNING");
    assert_eq!(second["message"], "second \"quoted\"\nline");
    assert_eq!(second["fields"], serde_json::json!({}));
}

#[test]
fn json_span_is_null_outside_any_span() {
    let console = SharedBuf::new();
    let builder = console_only(&console).format(Format::Json);
    let lines = capture(builder, &console, || tracing::info!("alone"));
    let value: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(value["span"], Value::Null);
    assert_eq!(value["spans"], serde_json::json!([]));
    assert!(value.get("logger").is_none(), "no name, no logger key");
}

#[test]
fn span_fields_follow_the_event_fields_outermost_span_first() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        let _conn = tracing::info_span!("conn", host = "gw").entered();
        let _task = tracing::info_span!("ms_task", event = "ms-task", job_id = "j1", from = "svc")
            .entered();
        tracing::info!(bytes = 512, "uploaded");
    });
    let caps = line_regex().captures(&lines[0]).expect(&lines[0]);
    assert_eq!(
        &caps[5],
        "uploaded bytes=512 host=gw event=ms-task job_id=j1 from=svc"
    );
}

#[test]
fn span_values_are_written_as_event_values_are() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        let span = tracing::info_span!(
            "upload",
            note = "two words",
            n = 3,
            ok = true,
            ratio = 0.5,
            status = tracing::field::Empty
        );
        let _entered = span.enter();
        tracing::info!("start");
        span.record("status", "done");
        tracing::info!("end");
    });
    assert_eq!(
        messages(&lines),
        [
            r#"start note="two words" n=3 ok=true ratio=0.5"#,
            r#"end note="two words" n=3 ok=true ratio=0.5 status=done"#,
        ]
    );
}

#[test]
fn an_explicit_parent_counts_and_a_span_without_fields_adds_nothing() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        let job = tracing::info_span!("job", job_id = "j2");
        let _bare = tracing::info_span!("bare").entered();
        tracing::info!("in bare");
        tracing::info!(parent: &job, "for the job");
        tracing::info!(parent: None, "root");
    });
    assert_eq!(
        messages(&lines),
        ["in bare", "for the job job_id=j2", "root"]
    );
}

#[test]
fn a_span_the_level_filters_out_adds_nothing() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        let _task = tracing::debug_span!("ms_task", job_id = "j1").entered();
        tracing::info!("inside a debug span");
    });
    assert_eq!(messages(&lines), ["inside a debug span"]);
}

#[test]
fn span_fields_reach_file_and_console_in_either_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let console = SharedBuf::new();
    let builder = crate::support::console_and_file(&console, &path).ansi(true);
    let lines = capture(builder, &console, || {
        let _task = tracing::info_span!("ms_task", job_id = "j1").entered();
        tracing::info!("hello");
    });
    assert!(lines[0].ends_with("-> hello job_id=j1"), "{:?}", lines[0]);
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.ends_with("-> hello job_id=j1\n"), "{file:?}");
}

#[test]
fn json_spans_lists_every_span_outermost_first() {
    let console = SharedBuf::new();
    let builder = console_only(&console).format(Format::Json);
    let lines = capture(builder, &console, || {
        let _conn = tracing::info_span!("conn", host = "gw").entered();
        let _task = tracing::info_span!("ms_task", job_id = "j1", n = 2).entered();
        tracing::info!("inside");
    });
    let value: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        value["spans"],
        serde_json::json!([
            {"name": "conn", "host": "gw"},
            {"name": "ms_task", "job_id": "j1", "n": 2},
        ])
    );
    assert_eq!(value["span"], value["spans"][1], "span is the innermost");
}
