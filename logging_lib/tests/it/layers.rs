//! The service's own layers (`LoggerBuilder::with_layer`): they see what the
//! outputs see, under the same filter, including changes at run time.

use std::sync::{Arc, Mutex};

use ms_utils_logging::tracing_subscriber::Layer;
use ms_utils_logging::tracing_subscriber::filter::LevelFilter;
use ms_utils_logging::{LogSubscriber, Logger};
use tracing::Level;

use crate::support::{Recorder, SharedBuf, capture, capture_with_handle, console_only, messages};

fn seen(seen: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    seen.lock().unwrap().clone()
}

#[test]
fn a_layer_sees_what_the_outputs_see_under_the_same_filter() {
    let console = SharedBuf::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let builder = console_only(&console)
        .directives("noisy=error")
        .with_layer(Recorder::new("r", &log));
    let lines = capture_with_handle(builder, &console, |handle| {
        tracing::debug!("debug 1");
        tracing::info!("info 1");
        tracing::warn!(target: "noisy", "noisy warn");
        handle.set_level(Level::DEBUG).unwrap();
        tracing::debug!("debug 2");
    });
    assert_eq!(messages(&lines), ["info 1", "debug 2"]);
    assert_eq!(seen(&log), ["r:info 1", "r:debug 2"]);
}

#[test]
fn several_layers_each_see_every_event_in_the_order_added() {
    let console = SharedBuf::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let builder = console_only(&console)
        .with_layer(Recorder::new("a", &log))
        .with_layer(Recorder::new("b", &log));
    capture(builder, &console, || {
        tracing::info!("one");
        tracing::warn!("two");
    });
    assert_eq!(seen(&log), ["a:one", "b:one", "a:two", "b:two"]);
}

#[test]
fn a_layer_can_narrow_the_filter_but_not_widen_it() {
    let console = SharedBuf::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let builder = console_only(&console)
        .with_layer(Recorder::new("warn", &log).with_filter(LevelFilter::WARN))
        .with_layer(Recorder::new("trace", &log).with_filter(LevelFilter::TRACE));
    let lines = capture(builder, &console, || {
        tracing::debug!("debug");
        tracing::info!("info");
        tracing::warn!("warn");
    });
    assert_eq!(messages(&lines), ["info", "warn"]);
    assert_eq!(seen(&log), ["trace:info", "warn:warn", "trace:warn"]);
}

#[test]
fn a_layer_sees_the_spans_through_the_registry() {
    let console = SharedBuf::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let builder = console_only(&console).with_layer(Recorder::new("r", &log));
    capture(builder, &console, || {
        let _task = tracing::info_span!("ms_task", job_id = "j1").entered();
        tracing::info!("inside");
    });
    assert_eq!(seen(&log), ["r:inside@ms_task"]);
}

#[test]
fn a_boxed_layer_chosen_at_run_time_is_accepted() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let boxed: Box<dyn Layer<LogSubscriber> + Send + Sync> = Recorder::new("boxed", &log).boxed();
    let maybe: Option<Box<dyn Layer<LogSubscriber> + Send + Sync>> = None;
    let (dispatch, guard) = Logger::builder()
        .env_directives(false)
        .no_file()
        .console(false)
        .with_layer(boxed)
        .with_layer(maybe)
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || tracing::info!("hello"));
    drop(guard);
    assert_eq!(seen(&log), ["boxed:hello"]);
}

#[test]
fn layers_alone_without_console_or_file_still_get_events() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (dispatch, guard) = Logger::builder()
        .env_directives(false)
        .no_file()
        .console(false)
        .with_layer(Recorder::new("only", &log))
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::debug!("hidden");
        tracing::info!("shown");
    });
    drop(guard);
    assert_eq!(seen(&log), ["only:shown"]);
}
