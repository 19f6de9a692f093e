//! `Format::python`: a line of the service's own, written as a Python
//! `logging` format string, on real output.

use chrono::{Local, NaiveDateTime};
use ms_utils_logging::{Error, Format, FormatProblem, Logger, ModuleStyle, critical};
use regex::Regex;

use crate::support::{SharedBuf, capture, console_and_file, console_only};

fn python(fmt: &str, datefmt: Option<&str>) -> Format {
    Format::python(fmt, datefmt).unwrap()
}

#[test]
fn the_issues_example_writes_level_time_name_function_line_and_message() {
    let console = SharedBuf::new();
    let format = python(
        "[%(levelname)s] %(asctime)s %(name)s %(funcName)s:%(lineno)d %(message)s",
        Some("%d-%m-%Y %H:%M:%S"),
    );
    let builder = console_only(&console).name("billing").format(format);
    let mut line = 0;
    let lines = capture(builder, &console, || {
        let _span = tracing::info_span!("charge", user = "bob").entered();
        line = line!() + 1;
        tracing::warn!(amount = 12, "card declined");
    });
    assert_eq!(lines.len(), 1, "{lines:?}");
    let re = Regex::new(r"^\[WARNING\] (\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}) billing charge:(\d+) card declined amount=12 user=bob$").unwrap();
    let caps = re.captures(&lines[0]).expect(&lines[0]);
    assert_eq!(caps[2].parse::<u32>().unwrap(), line);
    let time = NaiveDateTime::parse_from_str(&caps[1], "%d-%m-%Y %H:%M:%S").unwrap();
    let skew = (Local::now().naive_local() - time).num_seconds().abs();
    assert!(skew < 60, "time {time} is not local now");
}

#[test]
fn source_keys_name_this_file() {
    let console = SharedBuf::new();
    let format = python("%(module)s %(filename)s %(pathname)s %(name)s", None);
    let lines = capture(console_only(&console).format(format), &console, || {
        tracing::info!("x");
    });
    // No name given to the builder: `%(name)s` is the target.
    assert_eq!(
        lines,
        ["custom_format custom_format.rs logging_lib/tests/it/custom_format.rs it::custom_format"]
    );

    let console = SharedBuf::new();
    let format = python("%(module)s", None);
    let builder = console_only(&console)
        .module_style(ModuleStyle::Target)
        .format(format);
    let lines = capture(builder, &console, || tracing::info!("x"));
    assert_eq!(lines, ["it::custom_format"]);
}

#[test]
fn process_and_thread_keys_are_this_process_and_thread() {
    let console = SharedBuf::new();
    let format = python("%(process)d %(thread)d %(threadName)s", None);
    let lines = capture(console_only(&console).format(format), &console, || {
        tracing::info!("from the test's thread");
        // The logger is this thread's default: hand it to the other thread.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        std::thread::Builder::new()
            .name("worker-7".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    tracing::info!("from a named thread");
                });
            })
            .unwrap()
            .join()
            .unwrap();
    });
    let fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split(' ').collect()).collect();
    let pid = std::process::id().to_string();
    assert_eq!(fields[0][0], pid);
    assert_eq!(fields[1][0], pid);
    // libtest names each test's thread after the test.
    assert_eq!(
        fields[0][2],
        "custom_format::process_and_thread_keys_are_this_process_and_thread"
    );
    assert_eq!(fields[1][2], "worker-7");
    let ids: Vec<u64> = fields.iter().map(|f| f[1].parse().unwrap()).collect();
    assert!(ids[0] > 1 && ids[1] > 1 && ids[0] != ids[1], "{ids:?}");
}

#[tracing::instrument]
fn upload(bucket: &str) {
    tracing::info!("uploading");
}

#[test]
fn func_name_is_the_innermost_span_and_instrument_names_it_after_the_function() {
    let console = SharedBuf::new();
    let format = python("%(funcName)s: %(message)s", None);
    let lines = capture(console_only(&console).format(format), &console, || {
        tracing::info!("outside");
        let _outer = tracing::info_span!("request").entered();
        upload("media");
        tracing::info!("inside");
    });
    assert_eq!(
        lines,
        [
            "(unknown function): outside",
            "upload: uploading bucket=media",
            "request: inside",
        ]
    );
}

#[test]
fn the_default_date_format_is_pythons_with_milliseconds() {
    let console = SharedBuf::new();
    let format = python("%(asctime)s|%(msecs)03d|%(created)f", None);
    let lines = capture(console_only(&console).format(format), &console, || {
        tracing::info!("x");
    });
    let re = Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},(\d{3})\|(\d{3})\|(\d+)\.\d{6}$")
        .unwrap();
    let caps = re.captures(&lines[0]).expect(&lines[0]);
    assert_eq!(&caps[1], &caps[2], "asctime's milliseconds are msecs");
    let created: i64 = caps[3].parse().unwrap();
    assert!((Local::now().timestamp() - created).abs() < 60);
}

#[test]
fn widths_pad_and_critical_has_its_name_and_number() {
    let console = SharedBuf::new();
    let format = python("%(levelname)-8s|%(levelno)02d|%(message)s", None);
    let lines = capture(console_only(&console).format(format), &console, || {
        tracing::info!("i");
        tracing::error!("e");
        critical!(disk = "/data", "c");
    });
    assert_eq!(
        lines,
        ["INFO    |20|i", "ERROR   |40|e", "CRITICAL|50|c disk=/data"]
    );
}

#[test]
fn the_console_colours_the_level_name_only() {
    let console = SharedBuf::new();
    let format = python("%(levelname)s: %(message)s", None);
    let lines = capture(
        console_only(&console).ansi(true).format(format),
        &console,
        || tracing::warn!("w"),
    );
    assert_eq!(lines, ["\x1b[33mWARNING\x1b[0m: w"]);
}

#[test]
fn file_and_console_may_use_different_python_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let console = SharedBuf::new();
    let builder = console_and_file(&console, &path)
        .console_format(python("console %(message)s", None))
        .file_format(python("file %(levelname)s %(message)s", None));
    let lines = capture(builder, &console, || tracing::info!("x"));
    assert_eq!(lines, ["console x"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "file INFO x\n");
}

#[test]
fn a_bad_format_is_a_typed_error_before_anything_is_built() {
    match Format::python("%(levelname)s %(user)s", None) {
        Err(Error::InvalidFormat {
            format,
            position,
            problem: FormatProblem::UnknownKey { key },
        }) => {
            assert_eq!(format, "%(levelname)s %(user)s");
            assert_eq!(position, 14);
            assert_eq!(key, "user");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Format::python("%(lineno)s %(levelname)-8d", None),
        Err(Error::InvalidFormat {
            position: 11,
            problem: FormatProblem::WrongType { .. },
            ..
        })
    ));
    assert!(matches!(
        Format::python("%(message)s", Some("%d-%m-%Y %Q")),
        Err(Error::InvalidDateFormat { position: 9, .. })
    ));
    let err = Format::python("no field", None).unwrap_err();
    assert!(err.is_invalid_format());
    assert!(!err.is_invalid_directive());
}

#[test]
fn an_empty_format_is_pythons_default_message_only() {
    let console = SharedBuf::new();
    let lines = capture(
        console_only(&console).format(python("", Some(""))),
        &console,
        || tracing::info!(job = 7, "x"),
    );
    assert_eq!(lines, ["x job=7"]);
}

#[test]
fn formats_compare_by_their_text() {
    assert_eq!(python("%(message)s", None), python("%(message)s", None));
    assert_ne!(
        python("%(message)s", None),
        python("%(message)s", Some("%H"))
    );
    assert_ne!(python("%(message)s", None), Format::Text);
    let _unchanged = Logger::builder().format(python("%(message)s", None));
}
