//! CRITICAL, Python's level above ERROR: `critical!` is written as
//! `[CRITICAL]` and `"level":"CRITICAL"`, and passes wherever ERROR passes.

use std::sync::{Arc, Mutex};

use ms_utils_logging::tracing_subscriber::Layer;
use ms_utils_logging::tracing_subscriber::layer::Context;
use ms_utils_logging::{Format, PythonLevel, critical};
use serde_json::Value;
use tracing::Level;

use crate::support::{SharedBuf, capture, capture_with_handle, console_only, line_regex, messages};

#[test]
fn text_shows_critical_and_leaves_the_marker_out() {
    let console = SharedBuf::new();
    let mut line = 0;
    let lines = capture(console_only(&console), &console, || {
        line = line!() + 1;
        critical!(volume = "/data", free = 0, "disk full");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let caps = line_regex().captures(&lines[0]).expect(&lines[0]);
    assert_eq!(&caps[1], "CRITICAL");
    assert_eq!(&caps[3], "critical", "the caller's module");
    assert_eq!(caps[4].parse::<u32>().unwrap(), line, "the caller's line");
    assert_eq!(&caps[5], "disk full volume=/data free=0");
}

#[test]
fn json_shows_critical_and_leaves_the_marker_out() {
    let console = SharedBuf::new();
    let builder = console_only(&console).format(Format::Json);
    let lines = capture(builder, &console, || {
        critical!(volume = "/data", "disk full");
        tracing::error!(job = 7, "failed");
    });
    let objects: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects[0]["level"], "CRITICAL");
    assert_eq!(objects[0]["message"], "disk full");
    assert_eq!(objects[0]["fields"], serde_json::json!({"volume": "/data"}));
    assert_eq!(objects[1]["level"], "ERROR");
    assert_eq!(objects[1]["fields"], serde_json::json!({"job": 7}));
}

#[test]
fn every_form_of_the_macro_logs_critical() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        let span = tracing::info_span!("job", id = 7);
        let code = 28;
        critical!("plain");
        critical!("formatted {code}");
        critical!(code, "shorthand field");
        critical!(?code, %code, "debug and display fields");
        critical!({ code = 1 }, "braced fields");
        critical!(target: "storage", "with a target");
        critical!(parent: &span, "with a parent");
        critical!(target: "storage", parent: &span, "with both");
        critical!(name: "disk", "with a name");
        critical!(name: "disk", target: "storage", "with a name and a target");
        critical!(name: "disk", parent: &span, "with a name and a parent");
        critical!(name: "disk", target: "storage", parent: &span, "with all three");
    });
    assert_eq!(
        messages(&lines),
        [
            "plain",
            "formatted 28",
            "shorthand field code=28",
            "debug and display fields code=28 code=28",
            "braced fields code=1",
            "with a target",
            "with a parent id=7",
            "with both id=7",
            "with a name",
            "with a name and a target",
            "with a name and a parent id=7",
            "with all three id=7",
        ]
    );
    for line in &lines {
        assert!(line.starts_with("[CRITICAL] "), "{line}");
    }
}

#[test]
fn only_a_true_marker_on_an_error_makes_it_critical() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || {
        tracing::error!(critical = true, "marked by hand");
        tracing::error!(critical = false, "marked false");
        tracing::error!(critical = "yes", "not a boolean");
        tracing::warn!(critical = true, "a warning stays a warning");
    });
    assert_eq!(
        lines
            .iter()
            .map(|l| l.split_once(" [").unwrap().0)
            .collect::<Vec<_>>(),
        ["[CRITICAL]", "[ERROR]", "[ERROR]", "[WARNING]"]
    );
    assert_eq!(
        messages(&lines),
        [
            "marked by hand",
            "marked false",
            "not a boolean critical=yes",
            "a warning stays a warning critical=true",
        ]
    );
}

#[test]
fn the_console_colours_critical() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console).ansi(true), &console, || {
        critical!("x");
    });
    assert!(
        lines[0].starts_with("[\x1b[1;31mCRITICAL\x1b[0m] "),
        "{:?}",
        lines[0]
    );
}

#[test]
fn critical_passes_wherever_error_passes() {
    fn both() {
        tracing::error!("error");
        critical!("critical");
        tracing::error!(target: "app", "app error");
        critical!(target: "app", "app critical");
    }
    let cases = [
        (
            "",
            Level::ERROR,
            vec!["error", "critical", "app error", "app critical"],
        ),
        (
            "warn",
            Level::TRACE,
            vec!["error", "critical", "app error", "app critical"],
        ),
        (
            "off,app=error",
            Level::INFO,
            vec!["app error", "app critical"],
        ),
        ("app=off", Level::INFO, vec!["error", "critical"]),
        ("off", Level::INFO, vec![]),
    ];
    for (directives, level, expected) in cases {
        let console = SharedBuf::new();
        let builder = console_only(&console).level(level).directives(directives);
        let lines = capture(builder, &console, both);
        assert_eq!(messages(&lines), expected, "{directives:?} at {level}");
    }

    // And at run time, through the handle.
    let console = SharedBuf::new();
    let lines = capture_with_handle(console_only(&console), &console, |handle| {
        handle.set_level(Level::ERROR).unwrap();
        tracing::warn!("warn");
        critical!("critical");
        handle.set_directives("off").unwrap();
        critical!("critical while off");
    });
    assert_eq!(messages(&lines), ["critical"]);
}

/// Records what `PythonLevel::of` says for each event.
struct Levels(Arc<Mutex<Vec<PythonLevel>>>);

impl<S: tracing::Subscriber> Layer<S> for Levels {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        self.0.lock().unwrap().push(PythonLevel::of(event));
    }
}

#[test]
fn a_layer_of_your_own_tells_critical_apart() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let console = SharedBuf::new();
    let builder = console_only(&console).with_layer(Levels(seen.clone()));
    capture(builder, &console, || {
        tracing::info!("info");
        tracing::error!("error");
        critical!("critical");
        tracing::error!(critical = false, "error again");
    });
    assert_eq!(
        *seen.lock().unwrap(),
        [
            PythonLevel::Info,
            PythonLevel::Error,
            PythonLevel::Critical,
            PythonLevel::Error
        ]
    );
}
