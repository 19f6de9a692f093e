//! [`LoggerBuilder`], the builder behind `Logger::setup`, and the one global install.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tracing::{Dispatch, Level};
use tracing_log::AsLog;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::fmt::writer::MakeWriterExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};

use crate::error::{DirectiveOrigin, Error};
use crate::filter::{ENV_VAR, FilterSpec};
use crate::handle::{LogSubscriber, RuntimeFilter};
use crate::json::JsonFormat;
use crate::line::ModuleStyle;
use crate::output::{DEFAULT_LOG_FILE, Format, Rotation, open_file};
use crate::text::{PythonFields, PythonFormat};
use crate::writer::{self, DEFAULT_BUFFERED_LINES, DEFAULT_FLUSH_TIMEOUT, LogGuard};

/// Who installed the global logger, if this crate did. The lock also makes
/// check-then-install one step when several threads set up at once.
static INSTALLED: Mutex<Option<String>> = Mutex::new(None);

/// Everything [`Logger::setup`](crate::Logger::setup) fixes, made choosable. Create it with
/// [`Logger::builder`](crate::Logger::builder); the setters never fail, and bad input is reported by
/// [`build`](Self::build) or [`init`](Self::init).
///
/// # Examples
///
/// ```
/// use ms_utils_logging::Logger;
///
/// // A logger for a test: console only, into a buffer, nothing installed.
/// let (dispatch, guard) = Logger::builder()
///     .no_file()
///     .console_writer(std::io::sink())
///     .build()?;
/// tracing::dispatcher::with_default(&dispatch, || tracing::info!("hello"));
/// drop(guard);
/// # Ok::<(), ms_utils_logging::Error>(())
/// ```
#[must_use = "a builder does nothing until `init` or `build` is called"]
pub struct LoggerBuilder {
    name: String,
    level: Level,
    run_debug: bool,
    env_directives: bool,
    directives: String,
    file: Option<PathBuf>,
    rotation: Rotation,
    console: bool,
    console_writer: Option<Box<dyn Write + Send>>,
    ansi: Option<bool>,
    file_format: Format,
    console_format: Format,
    module_style: ModuleStyle,
    buffered_lines: usize,
    flush_timeout: Duration,
    layers: Vec<BoxedLayer>,
}

impl Default for LoggerBuilder {
    fn default() -> Self {
        Self {
            name: String::new(),
            level: Level::INFO,
            run_debug: false,
            env_directives: true,
            directives: String::new(),
            file: Some(PathBuf::from(DEFAULT_LOG_FILE)),
            rotation: Rotation::Never,
            console: true,
            console_writer: None,
            ansi: None,
            file_format: Format::Text,
            console_format: Format::Text,
            module_style: ModuleStyle::FileStem,
            buffered_lines: DEFAULT_BUFFERED_LINES,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            layers: Vec::new(),
        }
    }
}

impl fmt::Debug for LoggerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggerBuilder")
            .field("name", &self.name)
            .field("level", &self.level)
            .field("run_debug", &self.run_debug)
            .field("env_directives", &self.env_directives)
            .field("directives", &self.directives)
            .field("file", &self.file)
            .field("rotation", &self.rotation)
            .field("console", &self.console)
            .field(
                "console_writer",
                &self.console_writer.as_ref().map(|_| ".."),
            )
            .field("ansi", &self.ansi)
            .field("file_format", &self.file_format)
            .field("console_format", &self.console_format)
            .field("module_style", &self.module_style)
            .field("buffered_lines", &self.buffered_lines)
            .field("flush_timeout", &self.flush_timeout)
            .field("layers", &self.layers.len())
            .finish()
    }
}

type BoxedLayer = Box<dyn Layer<LogSubscriber> + Send + Sync>;

impl LoggerBuilder {
    /// Names the logger (Python's `setup_logger(name)`): shown by
    /// [`LogGuard::name`], in [`Error::AlreadyInitialized`], as `logger` in
    /// JSON lines and in the writer threads' names. Default: empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().name("billing");
    /// # let _ = builder;
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The base level (default INFO). Directives override it.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().level(tracing::Level::WARN);
    /// # let _ = builder;
    /// ```
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// With `true`, the base level is DEBUG whatever [`level`](Self::level)
    /// says (the original's `run_debug`). Directives still override it.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().run_debug(true);
    /// # let _ = builder;
    /// ```
    pub fn run_debug(mut self, run_debug: bool) -> Self {
        self.run_debug = run_debug;
        self
    }

    /// `RUST_LOG`-style directives (`"info,hyper=warn,my_service::db=trace"`),
    /// applied after those of the `RUST_LOG` variable, so they win where both
    /// name the same target. A bare level (`"warn"`) replaces the base level.
    /// Calling it again replaces the earlier string.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().directives("hyper=warn,aws_config=error");
    /// # let _ = builder;
    /// ```
    pub fn directives(mut self, directives: impl Into<String>) -> Self {
        self.directives = directives.into();
        self
    }

    /// Whether the `RUST_LOG` environment variable is read (default: yes).
    ///
    /// # Examples
    ///
    /// ```
    /// // Tests that must not depend on the caller's environment:
    /// let builder = ms_utils_logging::Logger::builder().env_directives(false);
    /// # let _ = builder;
    /// ```
    pub fn env_directives(mut self, read_env: bool) -> Self {
        self.env_directives = read_env;
        self
    }

    /// Writes to `path` too (default `logs/combined.log`). Its folder is
    /// created when the logger is built, never before.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().file("/var/log/my_service/app.log");
    /// # let _ = builder;
    /// ```
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Console only: no file (the original's `log_file=None` meant the
    /// default file; this is the Rust way to ask for none).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().no_file();
    /// # let _ = builder;
    /// ```
    pub fn no_file(mut self) -> Self {
        self.file = None;
        self
    }

    /// How the file rolls over (default: never).
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Logger, Rotation};
    ///
    /// let builder = Logger::builder().rotation(Rotation::Daily);
    /// # let _ = builder;
    /// ```
    pub fn rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// Whether lines go to the console (default: yes).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().console(false);
    /// # let _ = builder;
    /// ```
    pub fn console(mut self, on: bool) -> Self {
        self.console = on;
        self
    }

    /// Sends the console's lines to `writer` instead of stderr (for tests,
    /// benchmarks, or a service that wants stdout). No colour unless
    /// [`ansi`](Self::ansi) asks for it. Implies `console(true)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().console_writer(std::io::stdout());
    /// # let _ = builder;
    /// ```
    pub fn console_writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.console = true;
        self.console_writer = Some(Box::new(writer));
        self
    }

    /// Forces colour on the console on or off. By default it is on only when
    /// stderr is a terminal. Files never get colour.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().ansi(false);
    /// # let _ = builder;
    /// ```
    pub fn ansi(mut self, on: bool) -> Self {
        self.ansi = Some(on);
        self
    }

    /// The format of both file and console.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Format, Logger};
    ///
    /// let builder = Logger::builder().format(Format::Json);
    /// # let _ = builder;
    /// ```
    pub fn format(mut self, format: Format) -> Self {
        self.file_format = format.clone();
        self.console_format = format;
        self
    }

    /// The format of the file only.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Format, Logger};
    ///
    /// // People read the console, the shipper reads the file.
    /// let builder = Logger::builder().file_format(Format::Json);
    /// # let _ = builder;
    /// ```
    pub fn file_format(mut self, format: Format) -> Self {
        self.file_format = format;
        self
    }

    /// The format of the console only.
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Format, Logger};
    ///
    /// let builder = Logger::builder().console_format(Format::Json);
    /// # let _ = builder;
    /// ```
    pub fn console_format(mut self, format: Format) -> Self {
        self.console_format = format;
        self
    }

    /// How `(module:line)` names the source (default: file stem, as Python).
    ///
    /// # Examples
    ///
    /// ```
    /// use ms_utils_logging::{Logger, ModuleStyle};
    ///
    /// let builder = Logger::builder().module_style(ModuleStyle::Target);
    /// # let _ = builder;
    /// ```
    pub fn module_style(mut self, style: ModuleStyle) -> Self {
        self.module_style = style;
        self
    }

    /// How many lines may wait for each writer before a logging call waits
    /// for room (default 128,000). Lines are never dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = ms_utils_logging::Logger::builder().buffered_lines(10_000);
    /// # let _ = builder;
    /// ```
    pub fn buffered_lines(mut self, lines: usize) -> Self {
        self.buffered_lines = lines;
        self
    }

    /// How long dropping the [`LogGuard`] may wait for queued lines to be
    /// written (default 30 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let builder = ms_utils_logging::Logger::builder().flush_timeout(Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Adds a `tracing` layer of the service's own next to the console and
    /// the file: OpenTelemetry, an error reporter, a remote log sink. Call it
    /// once per layer; they see spans and events in the order added, after
    /// the built-in outputs.
    ///
    /// Every layer sits under the logger's level filter: it sees exactly the
    /// spans and events the console and the file see, at the level and
    /// directives of the moment (including changes made through
    /// [`LogGuard::handle`]). A layer may narrow that further with a filter
    /// of its own (`layer.with_filter(LevelFilter::WARN)`), but cannot widen
    /// it.
    ///
    /// A layer runs on the thread that logs, inside the logging call: one
    /// that does I/O should hand its work to a task or thread of its own
    /// through a bounded queue and drop what does not fit, as the
    /// `remote_log_sink` example does, rather than block the service.
    ///
    /// A layer is usually generic over its subscriber; one written for a
    /// single subscriber type must accept [`LogSubscriber`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// use ms_utils_logging::Logger;
    /// use ms_utils_logging::tracing_subscriber::{Layer, layer::Context};
    ///
    /// /// Counts the errors logged.
    /// struct ErrorCount(Arc<AtomicUsize>);
    ///
    /// impl<S: tracing::Subscriber> Layer<S> for ErrorCount {
    ///     fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
    ///         if *event.metadata().level() == tracing::Level::ERROR {
    ///             self.0.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     }
    /// }
    ///
    /// let errors = Arc::new(AtomicUsize::new(0));
    /// let (dispatch, _guard) = Logger::builder()
    ///     .no_file()
    ///     .console(false)
    ///     .with_layer(ErrorCount(errors.clone()))
    ///     .build()?;
    /// tracing::dispatcher::with_default(&dispatch, || {
    ///     tracing::error!("disk full");
    ///     tracing::debug!(target: "quiet", "below the level: the layer never sees it");
    /// });
    /// assert_eq!(errors.load(Ordering::Relaxed), 1);
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<LogSubscriber> + Send + Sync + 'static,
    {
        self.layers.push(Box::new(layer));
        self
    }

    /// Builds the logger without installing it: a [`Dispatch`] to install
    /// yourself (`tracing::dispatcher::with_default` in a test,
    /// `set_global_default` elsewhere) and the guard for its writers. Opens
    /// the file (creating its folder) and starts the writer threads; may be
    /// called any number of times.
    ///
    /// `log`-crate records reach the dispatch only once `log` is bridged,
    /// which [`init`](Self::init) does; with `build`, call
    /// `tracing_log::LogTracer::init()` yourself if you need them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDirective`] (checked before anything touches the
    /// disk), [`Error::LogFile`] or [`Error::RollingFile`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use ms_utils_logging::Logger;
    ///
    /// let path = dir.path().join("logs/app.log");
    /// let (dispatch, guard) = Logger::builder().file(&path).console(false).build()?;
    /// tracing::dispatcher::with_default(&dispatch, || tracing::info!(user = "bob", "login"));
    /// drop(guard);
    /// let text = std::fs::read_to_string(&path)?;
    /// assert!(text.ends_with("-> login user=bob\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(mut self) -> Result<(Dispatch, LogGuard), Error> {
        let (filter, handle) = RuntimeFilter::new(self.filter_spec())?;
        let mut layers: Vec<BoxedLayer> = Vec::new();
        let mut writers = Vec::new();
        let thread = |what: &str| match self.name.as_str() {
            "" => format!("log-{what}"),
            name => format!("log-{what}-{name}"),
        };

        let mut outputs = Vec::new();
        if let Some(path) = &self.file {
            let file = open_file(path, self.rotation)?;
            let (writer, handle) = writer::spawn(file, &thread("file"), self.buffered_lines);
            outputs.push((writer, self.file_format.clone(), false));
            writers.push(handle);
        }
        if self.console {
            let (target, ansi): (Box<dyn Write + Send>, bool) = match self.console_writer.take() {
                Some(custom) => (custom, self.ansi.unwrap_or(false)),
                None => (
                    Box::new(io::stderr()),
                    self.ansi.unwrap_or_else(|| io::stderr().is_terminal()),
                ),
            };
            let (writer, handle) = writer::spawn(target, &thread("console"), self.buffered_lines);
            outputs.push((writer, self.console_format.clone(), ansi));
            writers.push(handle);
        }
        // When file and console want the same bytes, format each line once
        // and hand it to both writers: that halves the caller's cost.
        if let [
            (file, file_format, file_ansi),
            (console, console_format, console_ansi),
        ] = outputs.as_slice()
            && (file_format, file_ansi) == (console_format, console_ansi)
        {
            let both = file.clone().and(console.clone());
            layers.push(self.layer(both, file_format, *file_ansi));
        } else {
            for (writer, format, ansi) in outputs {
                layers.push(self.layer(writer, &format, ansi));
            }
        }

        // The service's own layers come after the outputs, under the same
        // filter.
        layers.append(&mut self.layers);

        let subscriber = Registry::default().with(filter).with(layers);
        let guard = LogGuard::new(self.name, writers, self.flush_timeout, handle);
        Ok((Dispatch::new(subscriber), guard))
    }

    /// Builds the logger and installs it for the whole process, and bridges
    /// `log`-crate records into it (unless another `log` logger is already
    /// set, which is left alone). [`Logger::setup`](crate::Logger::setup) is this with defaults.
    ///
    /// Safe to call more than once and from several threads: exactly one
    /// call installs a logger; every later one returns
    /// [`Error::AlreadyInitialized`] without opening any file or starting any
    /// thread, and the installed logger is left as it was (no line is
    /// duplicated).
    ///
    /// # Errors
    ///
    /// As [`build`](Self::build), and [`Error::AlreadyInitialized`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use ms_utils_logging::Logger;
    ///
    /// let _guard = Logger::builder().name("worker").no_file().init()?;
    /// log::info!("from a dependency that uses the log crate");
    /// # Ok::<(), ms_utils_logging::Error>(())
    /// ```
    pub fn init(self) -> Result<LogGuard, Error> {
        let mut installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(by) = installed.as_ref() {
            return Err(Error::AlreadyInitialized {
                by: Some(by.clone()),
            });
        }
        let name = self.name.clone();
        let (dispatch, guard) = self.build()?;
        tracing::dispatcher::set_global_default(dispatch)
            .map_err(|_| Error::AlreadyInitialized { by: None })?;
        // A `log` logger set by someone else keeps working for them; our
        // subscriber is installed either way, so this is not an error.
        let _ = tracing_log::LogTracer::builder()
            .with_max_level(LevelFilter::current().as_log())
            .init();
        *installed = Some(name);
        Ok(guard)
    }

    fn filter_spec(&self) -> FilterSpec {
        let base = if self.run_debug {
            Level::DEBUG
        } else {
            self.level
        };
        let env = if self.env_directives {
            std::env::var_os(ENV_VAR).map(|v| v.to_string_lossy().into_owned())
        } else {
            None
        };
        FilterSpec {
            base,
            env,
            directives: self.directives.clone(),
            origin: DirectiveOrigin::Builder,
        }
    }

    fn layer<W>(&self, writer: W, format: &Format, ansi: bool) -> BoxedLayer
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let layer = tracing_subscriber::fmt::layer().with_writer(writer);
        match format {
            Format::Json => layer
                .with_ansi(false)
                .fmt_fields(JsonFields::new())
                .event_format(
                    JsonFormat::new()
                        .module_style(self.module_style)
                        .logger(self.name.as_str()),
                )
                .boxed(),
            Format::Python(template) => layer
                .with_ansi(ansi)
                .fmt_fields(PythonFields::new())
                .event_format(
                    PythonFormat::new()
                        .module_style(self.module_style)
                        .logger(self.name.as_str())
                        .template(template.clone()),
                )
                .boxed(),
            _ => layer
                .with_ansi(ansi)
                .fmt_fields(PythonFields::new())
                .event_format(PythonFormat::new().module_style(self.module_style))
                .boxed(),
        }
    }
}
