//! Where lines go: file and console, each switchable, files created only when
//! the logger is built, daily rolling files.

use ms_utils_logging::{Format, Logger, Rotation};

use crate::support::{SharedBuf, capture, console_and_file, console_only, line_regex};

#[test]
fn file_and_console_both_get_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/combined.log");
    let console = SharedBuf::new();
    let lines = capture(console_and_file(&console, &path), &console, || {
        tracing::info!("one");
        tracing::error!("two");
    });
    let file: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(file, lines, "file and console carry the same lines");
    assert!(lines.iter().all(|l| line_regex().is_match(l)));
}

#[test]
fn nothing_is_created_on_disk_before_build() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let builder = Logger::builder()
        .env_directives(false)
        .console(false)
        .file(logs.join("combined.log"));
    assert!(!logs.exists(), "the builder alone touches nothing");
    let (_dispatch, guard) = builder.build().unwrap();
    assert!(logs.join("combined.log").is_file());
    drop(guard);
}

#[test]
fn the_file_is_appended_to_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    for word in ["first", "second"] {
        let console = SharedBuf::new();
        capture(console_and_file(&console, &path), &console, || {
            tracing::info!("{word}")
        });
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let messages: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit("-> ").next().unwrap())
        .collect();
    assert_eq!(messages, ["first", "second"]);
}

#[test]
fn console_off_writes_the_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let console = SharedBuf::new();
    let builder = console_and_file(&console, &path).console(false);
    let lines = capture(builder, &console, || tracing::info!("quiet"));
    assert!(lines.is_empty());
    assert!(std::fs::read_to_string(&path).unwrap().contains("-> quiet"));
}

#[test]
fn file_and_console_may_use_different_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.jsonl");
    let console = SharedBuf::new();
    let builder = console_and_file(&console, &path).file_format(Format::Json);
    let lines = capture(builder, &console, || tracing::info!("both"));
    assert!(line_regex().is_match(&lines[0]), "{}", lines[0]);
    let text = std::fs::read_to_string(&path).unwrap();
    let value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(value["message"], "both");
}

#[test]
fn daily_rotation_writes_a_dated_file_beside_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let console = SharedBuf::new();
    let builder = console_and_file(&console, &dir.path().join("logs/combined.log"))
        .rotation(Rotation::Daily)
        .console(false);
    capture(builder, &console, || tracing::info!("rolled"));

    let names: Vec<String> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let re = regex::Regex::new(r"^combined\.\d{4}-\d{2}-\d{2}\.log$").unwrap();
    assert!(re.is_match(&names[0]), "{names:?}");
    let text = std::fs::read_to_string(dir.path().join("logs").join(&names[0])).unwrap();
    assert!(text.contains("-> rolled"));
}

#[test]
fn console_only_creates_no_file() {
    let console = SharedBuf::new();
    let lines = capture(console_only(&console), &console, || tracing::info!("x"));
    assert_eq!(lines.len(), 1);
    assert!(!std::path::Path::new(ms_utils_logging::DEFAULT_LOG_FILE).exists());
}
