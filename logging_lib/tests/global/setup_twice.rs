//! Global install: many concurrent setups, exactly one wins, the others get a
//! typed error, create nothing and duplicate nothing. (A `global` scenario,
//! in a process of its own: the global logger can be installed once per
//! process.)

use std::path::Path;
use std::sync::Barrier;

use ms_utils_logging::{Error, Logger};

use crate::support::SharedBuf;

pub(crate) fn concurrent_and_repeated_setups_install_one_logger_and_never_duplicate() {
    const THREADS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let consoles: Vec<SharedBuf> = (0..THREADS).map(|_| SharedBuf::new()).collect();
    let barrier = Barrier::new(THREADS);

    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (barrier, console, dir) = (&barrier, consoles[i].clone(), dir.path());
                scope.spawn(move || {
                    let builder = Logger::builder()
                        .name(format!("setup-{i}"))
                        .env_directives(false)
                        .file(dir.join(format!("t{i}/combined.log")))
                        .console_writer(console);
                    barrier.wait();
                    builder.init()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let winners: Vec<usize> = (0..THREADS).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one setup installs");
    let winner = winners[0];
    for (i, result) in results.iter().enumerate().filter(|(i, _)| *i != winner) {
        match result {
            Err(Error::AlreadyInitialized { by }) => {
                assert_eq!(by.as_deref(), Some(format!("setup-{winner}").as_str()));
            }
            other => panic!("setup {i}: {other:?}"),
        }
        assert!(
            !dir.path().join(format!("t{i}")).exists(),
            "a refused setup creates nothing"
        );
    }

    // A later setup, with the defaults, is refused too and creates no ./logs.
    let again = Logger::setup("again").unwrap_err();
    assert!(again.is_already_initialized());
    assert!(!Path::new("logs").exists());

    tracing::info!("written once");
    let mut results = results;
    drop(results.swap_remove(winner));

    let file = std::fs::read_to_string(dir.path().join(format!("t{winner}/combined.log"))).unwrap();
    assert_eq!(file.matches("-> written once").count(), 1, "{file}");
    assert_eq!(
        consoles[winner].text().matches("-> written once").count(),
        1
    );
    for (i, console) in consoles.iter().enumerate().filter(|(i, _)| *i != winner) {
        assert!(console.text().is_empty(), "console {i} of a refused setup");
    }
}
