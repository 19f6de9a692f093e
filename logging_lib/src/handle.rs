//! Changing the level and the directives of a running logger.
//!
//! The filter is an `EnvFilter` inside `tracing_subscriber::reload`: a handle
//! swaps in a new one, then `reload` rebuilds tracing's per-callsite
//! `Interest` cache (so a callsite that was off is asked again) and the
//! `log` crate's max level.
//!
//! What that costs is said on [`RuntimeFilter`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::{Context, Layered};
use tracing_subscriber::{Layer, Registry, reload};

use crate::error::Error;
use crate::filter::FilterSpec;

/// The subscriber the logger's outputs, and the layers given to
/// [`LoggerBuilder::with_layer`](crate::LoggerBuilder::with_layer), are
/// layered on: the registry under the level filter.
///
/// Most layers are generic over their subscriber and never need this name;
/// it is for a layer written for one subscriber type, or for boxing layers
/// chosen at run time.
///
/// # Examples
///
/// ```
/// use ms_utils_logging::tracing_subscriber::Layer;
/// use ms_utils_logging::{LogSubscriber, Logger};
///
/// let json = std::env::var_os("LOG_STDOUT_JSON").is_some();
/// let extra: Box<dyn Layer<LogSubscriber> + Send + Sync> = if json {
///     ms_utils_logging::tracing_subscriber::fmt::layer().json().boxed()
/// } else {
///     ms_utils_logging::tracing_subscriber::fmt::layer().boxed()
/// };
/// let (_dispatch, _guard) = Logger::builder().no_file().console(false).with_layer(extra).build()?;
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
pub type LogSubscriber = Layered<RuntimeFilter, Registry>;

/// The logger's level filter, changeable at run time through a [`LogHandle`].
///
/// It only appears in the type [`LogSubscriber`]; the builder makes it. A
/// layer above it sees exactly the spans and events it lets through.
///
/// # Cost
///
/// The filter is an `EnvFilter` inside `tracing_subscriber::reload`, which
/// keeps it behind an `RwLock` and takes the read side on every `Layer` call.
/// `RuntimeFilter` forwards only the calls an `EnvFilter` acts on:
///
/// - Per event: `register_callsite` (once per callsite, then cached as
///   `always` or `never` while the directives name no spans) and `enabled`
///   (only for callsites cached as `sometimes`: span directives, or several
///   dispatchers alive at once, as in tests; and for each `log`-crate record,
///   which tracing cannot cache). The per-event `event_enabled` and
///   `on_event`, no-ops in `EnvFilter`, are not forwarded: a line whose
///   callsite is cached takes no filter lock at all.
/// - Per span (`on_new_span`, `on_enter`, `on_exit`, `on_close`,
///   `on_record`): `EnvFilter` only acts on them for directives that name
///   spans (`[ms_task]=debug`), and takes a lock of its own in each. They are
///   forwarded only while such a directive is in place, so with plain
///   `target=level` directives a span costs the filter nothing; with span
///   directives, one more uncontended read lock each.
///
/// # Examples
///
/// ```
/// let (_dispatch, guard) = ms_utils_logging::Logger::builder()
///     .env_directives(false)
///     .no_file()
///     .console(false)
///     .build()?;
/// // The filter is reached through the guard's handle.
/// assert_eq!(guard.handle().filter()?, "info");
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
pub struct RuntimeFilter {
    inner: reload::Layer<EnvFilter, Registry>,
    /// Whether the filter in place has span directives, so that span calls
    /// matter to it.
    span_directives: Arc<AtomicBool>,
}

impl fmt::Debug for RuntimeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeFilter").finish_non_exhaustive()
    }
}

impl RuntimeFilter {
    /// The filter `spec` describes and the handle that changes it.
    pub(crate) fn new(spec: FilterSpec) -> Result<(Self, LogHandle), Error> {
        let (inner, reload) = reload::Layer::new(spec.build()?);
        let span_directives = Arc::new(AtomicBool::new(spec.has_span_directives()));
        let handle = LogHandle {
            shared: Arc::new(Shared {
                reload,
                spec: Mutex::new(spec),
                span_directives: span_directives.clone(),
            }),
        };
        let filter = Self {
            inner,
            span_directives,
        };
        Ok((filter, handle))
    }

    fn spans_matter(&self) -> bool {
        self.span_directives.load(Ordering::Acquire)
    }
}

/// Forwards what `EnvFilter` acts on; see the module comment for why the
/// per-event `event_enabled` and `on_event` are left out, and the span calls
/// forwarded only with span directives.
impl Layer<Registry> for RuntimeFilter {
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut Registry) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, Registry>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    // Without span directives, `EnvFilter` keeps no state per span: its
    // span calls only look up empty tables (under a lock of its own).
    // Skipping them is safe across a change too: each change brings a new
    // `EnvFilter`, which knows nothing of the spans opened before it (as
    // with `reload` alone), so there is no state to keep in step.

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, Registry>) {
        if self.spans_matter() {
            self.inner.on_new_span(attrs, id, ctx);
        }
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, Registry>) {
        if self.spans_matter() {
            self.inner.on_record(span, values, ctx);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, Registry>) {
        if self.spans_matter() {
            self.inner.on_enter(id, ctx);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, Registry>) {
        if self.spans_matter() {
            self.inner.on_exit(id, ctx);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, Registry>) {
        if self.spans_matter() {
            self.inner.on_close(id, ctx);
        }
    }
}

/// Changes the level and the directives of a running logger: the run-time
/// counterpart of [`LoggerBuilder::level`](crate::LoggerBuilder::level) and
/// [`LoggerBuilder::directives`](crate::LoggerBuilder::directives), and of
/// the Python original's `Logger.set_level`.
///
/// Get it from [`LogGuard::handle`](crate::LogGuard::handle). It is a cheap
/// `Clone`, `Send` and `Sync`: hand it to an admin endpoint or a signal
/// handler. A change applies to every output and every layer at once, on
/// every thread, from the next line on; callsites that were off are
/// re-enabled (tracing's interest cache is rebuilt), and so are `log`-crate
/// records.
///
/// Changes are rare and cost a rebuild of the filter and of the interest
/// cache (every callsite seen so far is asked again). Between changes, the
/// filter costs a line nothing more than a fixed one would: see
/// [`RuntimeFilter`].
///
/// # Examples
///
/// ```
/// use ms_utils_logging::Logger;
/// use tracing::Level;
///
/// let (dispatch, guard) = Logger::builder()
///     .env_directives(false)
///     .no_file()
///     .console_writer(std::io::sink())
///     .build()?;
/// let handle = guard.handle();
/// tracing::dispatcher::with_default(&dispatch, || {
///     assert!(!tracing::enabled!(Level::DEBUG));
///     handle.set_level(Level::DEBUG)?;
///     assert!(tracing::enabled!(Level::DEBUG));
///     handle.set_directives("warn,my_service::db=trace")?;
///     assert!(!tracing::enabled!(Level::INFO));
///     Ok::<(), ms_utils_logging::Error>(())
/// })?;
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
#[derive(Clone)]
pub struct LogHandle {
    shared: Arc<Shared>,
}

struct Shared {
    reload: reload::Handle<EnvFilter, Registry>,
    /// What the filter in place was built from. Locked across build and
    /// swap, so that two changes at once apply one after the other and the
    /// filter in place always matches the spec.
    spec: Mutex<FilterSpec>,
    /// Shared with the [`RuntimeFilter`].
    span_directives: Arc<AtomicBool>,
}

impl fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self
            .shared
            .spec
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("LogHandle")
            .field("level", &format_args!("{}", spec.base))
            .field("directives", &spec.directives)
            .finish_non_exhaustive()
    }
}

impl LogHandle {
    /// Makes `level` the level of every target that no directive names, as
    /// [`LoggerBuilder::level`](crate::LoggerBuilder::level) does at setup
    /// (and whatever `run_debug` said). Bare-level directives (`warn`) given
    /// at setup, in `RUST_LOG` or to [`set_directives`](Self::set_directives)
    /// are dropped, since they would override it; directives naming a target
    /// (`hyper=warn`) stay. At TRACE, the `tungstenite` targets are held at
    /// DEBUG as at setup (see the [crate docs](crate)).
    ///
    /// # Errors
    ///
    /// [`Error::LoggerDropped`] when the logger no longer exists (only
    /// possible for one made with
    /// [`build`](crate::LoggerBuilder::build) whose dispatch was dropped).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ms_utils_logging::Logger;
    ///
    /// let guard = Logger::setup("my_service")?;
    /// let handle = guard.handle();
    /// // Later, from an admin endpoint:
    /// handle.set_level(tracing::Level::DEBUG)?;
    /// tracing::debug!("now shown");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn set_level(&self, level: Level) -> Result<(), Error> {
        self.change(|spec| spec.with_level(level))
    }

    /// Replaces the directives given at setup to
    /// [`LoggerBuilder::directives`](crate::LoggerBuilder::directives) (or to
    /// an earlier call) with `directives`, in the same `RUST_LOG` syntax. As
    /// at setup they apply after `RUST_LOG` and the base level: a bare level
    /// (`"warn"`) replaces the base level, a target directive wins for its
    /// target. An empty string goes back to `RUST_LOG` and the base level.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDirective`] naming the first piece that does not parse,
    /// with origin [`DirectiveOrigin::Handle`](crate::DirectiveOrigin::Handle);
    /// nothing is changed then. [`Error::LoggerDropped`] as for
    /// [`set_level`](Self::set_level).
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{DirectiveOrigin, Error, Logger};
    ///
    /// let (_dispatch, guard) = Logger::builder().no_file().console(false).build()?;
    /// let handle = guard.handle();
    /// handle.set_directives("info,hyper=warn")?;
    ///
    /// match handle.set_directives("info,hyper=loud") {
    ///     Err(Error::InvalidDirective { directive, origin, .. }) => {
    ///         assert_eq!(directive, "hyper=loud");
    ///         assert_eq!(origin, DirectiveOrigin::Handle);
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(handle.filter()?.contains("hyper=warn"), "unchanged");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn set_directives(&self, directives: &str) -> Result<(), Error> {
        self.change(|spec| spec.with_directives(directives))
    }

    /// The filter in effect, written as directives (`"info,hyper=warn"`): the
    /// base level, `RUST_LOG` and the directives together, for an admin
    /// endpoint to show.
    ///
    /// # Errors
    ///
    /// [`Error::LoggerDropped`] when the logger no longer exists.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_dispatch, guard) = ms_utils_logging::Logger::builder()
    ///     .env_directives(false)
    ///     .directives("hyper=warn")
    ///     .no_file()
    ///     .console(false)
    ///     .build()?;
    /// let filter = guard.handle().filter()?;
    /// assert!(filter.contains("hyper=warn") && filter.contains("info"), "{filter}");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn filter(&self) -> Result<String, Error> {
        self.shared
            .reload
            .with_current(ToString::to_string)
            .map_err(|_| Error::LoggerDropped)
    }

    /// Builds the filter for the changed spec and swaps it in; on any error
    /// the old filter and spec stay.
    fn change(&self, change: impl FnOnce(&FilterSpec) -> FilterSpec) -> Result<(), Error> {
        let mut spec = self
            .shared
            .spec
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let next = change(&spec);
        let filter = next.build()?;
        // Span calls are forwarded from before a filter that needs them is
        // in place until after one that does not is: forwarding them to a
        // filter without span directives is harmless. (A span opened on
        // another thread at the very moment of the change may still miss
        // the new filter's span directives.)
        if next.has_span_directives() {
            self.shared.span_directives.store(true, Ordering::Release);
        }
        // `reload` rebuilds the interest cache and `log`'s max level after
        // the swap. Its only errors: the subscriber is gone, or its lock is
        // poisoned, which cannot happen here (the lock is written only by
        // this assignment, which does not panic).
        let swapped = self.shared.reload.reload(filter);
        let in_place = if swapped.is_ok() { &next } else { &*spec };
        self.shared
            .span_directives
            .store(in_place.has_span_directives(), Ordering::Release);
        swapped.map_err(|_| Error::LoggerDropped)?;
        *spec = next;
        Ok(())
    }
}

/// Pins at compile time what the docs promise.
fn _assert_impls() {
    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync_clone::<LogHandle>();
    send_sync::<RuntimeFilter>();
}
