//! Python format strings against Python itself: `tests/python/format_table.json`
//! holds what CPython's `logging` prints for a set of format strings and one
//! fixed record (made by `tests/python/gen_format_table.py`); the
//! `LineTemplate` must print the same bytes for the same record, and refuse
//! what Python refuses.

use std::path::Path;
use std::process::Command;

use chrono::{FixedOffset, NaiveDate};
use ms_utils_logging::{Error, LineParts, LineTemplate, PythonLevel};
use serde_json::Value;

const TABLE: &str = include_str!("../python/format_table.json");

/// The record the generator formats, as `LineParts`.
fn record<'a>(level: PythonLevel, message: &'a str) -> LineParts<'a> {
    // 1795356187.123456 s after the epoch, in UTC+01:30 (the generator's TZ).
    let time = NaiveDate::from_ymd_opt(2026, 11, 22)
        .unwrap()
        .and_hms_micro_opt(15, 33, 7, 123_456)
        .unwrap();
    LineParts {
        level,
        time,
        utc_offset: FixedOffset::east_opt(90 * 60).unwrap(),
        module: "handler",
        line: Some(42),
        message,
        fields: "",
        logger: "svc",
        target: "svc",
        file: Some("/srv/app/handler.py"),
        function: Some("handle"),
        process_id: 4242,
        thread_id: 140_234,
        thread_name: Some("MainThread"),
    }
}

fn level(name: &str) -> PythonLevel {
    match name {
        "DEBUG" => PythonLevel::Debug,
        "INFO" => PythonLevel::Info,
        "WARNING" => PythonLevel::Warning,
        "ERROR" => PythonLevel::Error,
        "CRITICAL" => PythonLevel::Critical,
        other => panic!("level {other}"),
    }
}

fn rows() -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(TABLE).unwrap()
}

#[test]
fn every_format_python_accepts_prints_the_same_bytes() {
    let mut checked = 0;
    for row in rows().iter().filter(|row| row.get("out").is_some()) {
        let fmt = row["fmt"].as_str().unwrap();
        let datefmt = row["datefmt"].as_str();
        let template = LineTemplate::parse(fmt, datefmt)
            .unwrap_or_else(|e| panic!("{fmt:?} {datefmt:?}: {e}"));
        let parts = record(
            level(row["level"].as_str().unwrap()),
            row["message"].as_str().unwrap(),
        );
        assert_eq!(
            template.format_line(&parts),
            row["out"].as_str().unwrap(),
            "format {fmt:?}, date format {datefmt:?}"
        );
        checked += 1;
    }
    assert!(checked >= 25, "the table has {checked} printed rows");
}

#[test]
fn every_format_python_refuses_is_refused_when_parsed() {
    let mut checked = 0;
    for row in rows().iter().filter(|row| row.get("error").is_some()) {
        let fmt = row["fmt"].as_str().unwrap();
        let result = LineTemplate::parse(fmt, row["datefmt"].as_str());
        assert!(
            matches!(result, Err(Error::InvalidFormat { .. })),
            "{fmt:?}: {result:?}"
        );
        checked += 1;
    }
    assert!(checked >= 15, "the table has {checked} refused rows");
}

/// The table is what Python prints, not what someone typed: the generator,
/// run again with the Python named by `MS_UTILS_PYTHON`, writes it byte for
/// byte (only the standard library's `logging` is needed).
#[test]
#[ignore = "runs Python: set MS_UTILS_PYTHON to a python3 (any with the standard library; .ci/run's venv will do)"]
fn the_table_is_what_python_prints() {
    let python = std::env::var("MS_UTILS_PYTHON").expect("MS_UTILS_PYTHON names a python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/gen_format_table.py");
    let out = Command::new(python).arg(&script).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        TABLE,
        "regenerate: python3 logging_lib/tests/python/gen_format_table.py > logging_lib/tests/python/format_table.json"
    );
}
