//! `remote_log_sink`: ship every log line to a remote sink over HTTP, next to
//! the console and the file, without ever making the logging call wait.
//!
//! ```text
//! cargo run --example remote_log_sink
//! ```
//!
//! The pieces, each one a section below:
//!
//! - [`RemoteSink`], a `tracing` layer given to `LoggerBuilder::with_layer`:
//!   it turns each event into one JSON line (with the fields of the spans it
//!   is in, so a handler's lines carry their job) and `try_send`s it into a
//!   bounded channel. When the channel is full the line is dropped and
//!   counted: the service is never slowed down by the sink.
//! - [`Shipper`], a background task that drains the channel and POSTs the
//!   lines in batches (NDJSON), with a minimal HTTP/1.1 client written over
//!   `tokio::net::TcpStream`. Whatever queued up while a POST was in flight
//!   goes in the next one, so batches grow with the load and no timer is
//!   needed. `Shipper::shutdown` sends what is queued, then stops.
//! - An in-process HTTP sink on `127.0.0.1:0` standing in for the remote one
//!   (answering after 20 ms, like a sink across a network), so that the
//!   example runs on its own; point `SinkAddr` at yours instead.
//!
//! The layer sits under the logger's level filter, so it ships exactly what
//! the console and the file get, and follows `LogHandle::set_level`.
//!
//! In a real service, replace the in-process sink by your collector's
//! address, keep the shipper's failures off `tracing` (a line about a
//! failed POST would be shipped too, and fail again), and export the
//! `dropped` counter as a metric.

use std::error::Error;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ms_utils::logging_lib::tracing_subscriber::Layer;
use ms_utils::logging_lib::tracing_subscriber::layer::Context;
use ms_utils::logging_lib::tracing_subscriber::registry::LookupSpan;
use ms_utils::logging_lib::{CRITICAL_FIELD, Logger, PythonLevel};
use ms_utils::serde_json::{self, Map, Value};
use ms_utils::tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use ms_utils::tokio::net::{TcpListener, TcpStream};
use ms_utils::tokio::sync::{mpsc, oneshot};
use ms_utils::tokio::task::JoinHandle;
use ms_utils::tracing::field::{Field, Visit};
use ms_utils::tracing::span::{Attributes, Id, Record};
use ms_utils::tracing::{Event, Level, Subscriber};
// The crates ms_utils is built with: this file needs no other dependency.
use ms_utils::{tokio, tracing};

/// Lines that may wait for the shipper; past that, lines are dropped.
const QUEUED_LINES: usize = 512;
/// Lines per POST at most.
const BATCH_LINES: usize = 256;
/// How long one POST may take before its lines are given up.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// How many lines the demonstration logs in one burst.
const BURST: u64 = 5_000;

#[tokio::main(crate = "ms_utils::tokio")]
async fn main() -> Result<(), Box<dyn Error>> {
    let sink = FakeSink::start().await?;
    let (layer, shipper) = RemoteSink::start(sink.addr);
    let counters = layer.counters();
    let guard = Logger::builder()
        .name("remote_log_sink")
        .env_directives(false)
        // Console and file off, so that what is printed below is what the
        // sink received; a service keeps them on.
        .no_file()
        .console(false)
        .with_layer(layer)
        .init()?;

    tracing::info!("service started");
    tracing::debug!("below the level: never reaches the sink");
    guard.handle().set_level(Level::DEBUG)?;
    tracing::debug!("shipped: the level was changed at run time");
    {
        let _task = tracing::info_span!("ms_task", event = "ms-task", job_id = "j1", from = "svc")
            .entered();
        tracing::info!(bytes = 512, "uploaded");
    }

    // Far faster than the sink can take them: what does not fit in the
    // queue is dropped, and the logging call never waits for the network.
    let started = Instant::now();
    let mut calls = Vec::with_capacity(BURST as usize);
    for n in 0..BURST {
        let call = Instant::now();
        tracing::info!(n, "burst line");
        calls.push(call.elapsed());
    }
    let burst_time = started.elapsed();
    calls.sort_unstable();
    let percentile = |p: usize| calls[(calls.len() - 1) * p / 100];

    let shipped = shipper.shutdown().await;
    let received = sink.received();
    let (seen, dropped) = (
        counters.seen.load(Ordering::Relaxed),
        counters.dropped.load(Ordering::Relaxed),
    );

    println!("the sink received {} lines, first ones:", received.len());
    for line in received.iter().take(5) {
        println!("  {line}");
    }
    println!(
        "logged {seen} lines: {} shipped in {} POSTs, {} lost by the sink, {dropped} dropped \
         because the queue ({QUEUED_LINES} lines) was full",
        shipped.lines, shipped.posts, shipped.failed
    );
    println!(
        "{BURST} burst lines logged in {burst_time:?}; one logging call took {:?} (median), \
         {:?} (p99): a full queue drops the line instead of waiting for the sink",
        percentile(50),
        percentile(99),
    );
    let accounted = received.len() as u64 + shipped.failed + dropped;
    if accounted != seen {
        return Err(format!("{seen} lines logged but {accounted} accounted for").into());
    }
    drop(guard);
    Ok(())
}

// ---------------------------------------------------------------------------
// The layer: format, try_send, count.
// ---------------------------------------------------------------------------

/// A `tracing` layer that queues each event as one JSON line for the
/// [`Shipper`], dropping (and counting) it when the queue is full.
struct RemoteSink {
    lines: mpsc::Sender<String>,
    counters: Arc<Counters>,
}

/// What the layer did, readable from anywhere (export them as metrics).
#[derive(Debug, Default)]
struct Counters {
    /// Events the layer saw.
    seen: AtomicU64,
    /// Events dropped because the queue was full (or the shipper stopped).
    dropped: AtomicU64,
}

impl RemoteSink {
    /// The layer, and the shipper task that POSTs its lines to `addr`.
    /// Call from within a tokio runtime.
    fn start(addr: SocketAddr) -> (Self, Shipper) {
        let (lines, queue) = mpsc::channel(QUEUED_LINES);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(ship(queue, stopped, addr));
        let layer = Self {
            lines,
            counters: Arc::default(),
        };
        (layer, Shipper { stop, task })
    }

    fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }
}

/// A span's fields, as the layer recorded them (a span extension).
#[derive(Default)]
struct SpanFields(Map<String, Value>);

impl<S> Layer<S> for RemoteSink
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut fields = SpanFields::default();
            attrs.record(&mut JsonFields(&mut fields.0));
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut JsonFields(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.counters.seen.fetch_add(1, Ordering::Relaxed);
        // Span fields first, outermost span first, then the event's own:
        // a later one wins on a name clash.
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                    fields.extend(span_fields.0.clone());
                }
            }
        }
        event.record(&mut JsonFields(&mut fields));
        let message = fields.remove("message").unwrap_or(Value::Null);
        // CRITICAL is an ERROR event marked `critical = true`: ship the
        // level, not the marker.
        let level = PythonLevel::of(event);
        if level == PythonLevel::Critical {
            fields.remove(CRITICAL_FIELD);
        }
        let meta = event.metadata();
        let line = serde_json::json!({
            "time_ms": SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            "level": level.name(),
            "target": meta.target(),
            "line": meta.line(),
            "message": message,
            "fields": fields,
        });
        // Never `send().await` or `blocking_send` here: this runs inside the
        // service's logging call.
        if self.lines.try_send(line.to_string()).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Records fields into a JSON object: numbers and booleans as such, the rest
/// as strings.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

// ---------------------------------------------------------------------------
// The shipper: drain, batch, POST.
// ---------------------------------------------------------------------------

/// The background task that POSTs the queued lines.
struct Shipper {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Shipped>,
}

/// What the shipper did.
#[derive(Debug, Default, Clone, Copy)]
struct Shipped {
    /// POST requests made.
    posts: u64,
    /// Lines the sink accepted.
    lines: u64,
    /// Lines given up because a POST failed.
    failed: u64,
}

impl Shipper {
    /// Sends what is queued, then stops; lines logged from now on are
    /// dropped (and counted).
    async fn shutdown(self) -> Shipped {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

async fn ship(
    mut queue: mpsc::Receiver<String>,
    mut stop: oneshot::Receiver<()>,
    addr: SocketAddr,
) -> Shipped {
    let mut shipped = Shipped::default();
    let mut batch = Vec::with_capacity(BATCH_LINES);
    let mut stopping = false;
    loop {
        // `recv_many` waits for at least one line, then takes every line
        // queued (up to a batch): under load, batches fill up by themselves.
        let received = tokio::select! {
            received = queue.recv_many(&mut batch, BATCH_LINES) => received,
            _ = &mut stop, if !stopping => {
                // Refuse new lines, then drain the ones already queued.
                stopping = true;
                queue.close();
                continue;
            }
        };
        if received == 0 {
            return shipped; // closed and drained
        }
        let lines = batch.len() as u64;
        let mut body = batch.join("\n");
        body.push('\n');
        batch.clear();
        shipped.posts += 1;
        match tokio::time::timeout(POST_TIMEOUT, post(addr, "/logs", &body)).await {
            Ok(Ok(())) => shipped.lines += lines,
            outcome => {
                shipped.failed += lines;
                // Not through `tracing`: that line would be shipped too.
                let why = match outcome {
                    Ok(Err(error)) => error.to_string(),
                    _ => format!("timed out after {POST_TIMEOUT:?}"),
                };
                eprintln!("remote_log_sink: {lines} lines lost: POST to {addr} {why}");
            }
        }
    }
}

/// One HTTP/1.1 POST of an NDJSON body; `Ok` on a 2xx answer.
async fn post(addr: SocketAddr, path: &str, body: &str) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    // `Connection: close`: the answer ends when the server closes.
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let status = answer.split(|&b| b == b' ').nth(1).unwrap_or_default();
    if status.starts_with(b"2") {
        Ok(())
    } else {
        let first_line = String::from_utf8_lossy(&answer);
        let first_line = first_line.lines().next().unwrap_or_default();
        Err(io::Error::other(format!("answered {first_line:?}")))
    }
}

// ---------------------------------------------------------------------------
// The stand-in for the remote sink.
// ---------------------------------------------------------------------------

/// An HTTP server on `127.0.0.1:0` that keeps the lines POSTed to it.
struct FakeSink {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<String>>>,
}

impl FakeSink {
    async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let keep = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let keep = keep.clone();
                tokio::spawn(async move {
                    if let Err(error) = Self::answer(stream, &keep).await {
                        eprintln!("fake sink: {error}");
                    }
                });
            }
        });
        Ok(Self { addr, received })
    }

    fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads one request (headers, then `Content-Length` bytes), keeps its
    /// lines and answers 204.
    async fn answer(stream: TcpStream, keep: &Mutex<Vec<String>>) -> io::Result<()> {
        let mut stream = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut header = String::new();
            if stream.read_line(&mut header).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(io::Error::other)?;
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        // A sink across a network takes its time.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let body = String::from_utf8(body).map_err(io::Error::other)?;
        keep.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(body.lines().map(str::to_owned));
        let stream = stream.get_mut();
        stream
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await?;
        stream.shutdown().await
    }
}
