//! Bad input gets a typed error, and nothing is left behind.

use ms_utils_logging::{DirectiveOrigin, Error, Logger, Rotation};

#[test]
fn a_log_path_under_a_regular_file_is_a_log_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let path = blocker.join("combined.log");

    let err = Logger::builder()
        .env_directives(false)
        .console(false)
        .file(&path)
        .build()
        .unwrap_err();
    assert!(err.is_log_file(), "{err:?}");
    match err {
        Error::LogFile {
            path: reported,
            source,
        } => {
            assert_eq!(reported, path);
            // What the operating system said is kept, typed; its message ends
            // the error's own, so `source()` does not repeat it.
            assert!(source.raw_os_error().is_some(), "{source:?}");
            let err = Error::LogFile {
                path: reported,
                source,
            };
            assert!(std::error::Error::source(&err).is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directory_as_log_file_is_a_log_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Logger::builder()
        .env_directives(false)
        .console(false)
        .file(dir.path())
        .build()
        .unwrap_err();
    assert!(err.is_log_file(), "{err:?}");
}

#[test]
fn an_unwritable_rolling_folder_is_a_log_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"").unwrap();
    let err = Logger::builder()
        .env_directives(false)
        .console(false)
        .rotation(Rotation::Daily)
        .file(blocker.join("combined.log"))
        .build()
        .unwrap_err();
    assert!(err.is_log_file(), "{err:?}");
}

#[test]
fn a_bad_directive_is_reported_with_the_piece_and_its_origin() {
    for bad in ["hyper=loud", "a[b", "=info=x"] {
        let err = Logger::builder()
            .env_directives(false)
            .no_file()
            .console(false)
            .directives(format!("info,{bad}"))
            .build()
            .unwrap_err();
        match err {
            Error::InvalidDirective {
                directive, origin, ..
            } => {
                assert_eq!(directive, bad);
                assert_eq!(origin, DirectiveOrigin::Builder);
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn a_bad_directive_creates_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let err = Logger::builder()
        .env_directives(false)
        .console(false)
        .file(logs.join("combined.log"))
        .directives("x=nope")
        .build()
        .unwrap_err();
    assert!(err.is_invalid_directive());
    assert!(!logs.exists());
}
