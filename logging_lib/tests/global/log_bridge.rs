//! `log`-crate records reach the installed logger with their real file and
//! line. (A `global` scenario, in a process of its own: the global logger is
//! installed once.)

use ms_utils_logging::{Format, Logger};

use crate::support::{SharedBuf, line_regex};

pub(crate) fn log_crate_records_show_their_own_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.jsonl");
    let console = SharedBuf::new();
    let guard = Logger::builder()
        .env_directives(false)
        .file(&path)
        .file_format(Format::Json)
        .console_writer(console.clone())
        .init()
        .unwrap();

    let line = line!() + 1;
    log::warn!("from the log crate");
    log::debug!("below the level");
    drop(guard);

    let lines = console.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let caps = line_regex().captures(&lines[0]).unwrap();
    assert_eq!(&caps[1], "WARNING");
    assert_eq!(&caps[3], "log_bridge");
    assert_eq!(caps[4].parse::<u32>().unwrap(), line);
    assert_eq!(&caps[5], "from the log crate", "no log.* fields appended");

    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(json["module"], "log_bridge");
    assert_eq!(json["line"], line);
    assert_eq!(json["target"], "global::log_bridge");
    assert_eq!(json["fields"], serde_json::json!({}));
}
