//! The `soak` scenario: delivery through the closes of a rolling deploy.
//!
//! The parent runs the development gateway with its record on and, while a
//! child client sends `count` messages (`{"event":"soak","data":{"seq":N}}`,
//! which the gateway records as it reads them and otherwise ignores), closes
//! that user's connection every `--close-every` ms the way a deploy does
//! (close frame 1001, then reading for `--grace` ms). The child then calls
//! `close()` and reports what it returned and its `Stats`; the parent counts
//! from the gateway's record what was lost, duplicated and out of order.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ms_utils::communication_utils::ws::{DeliveryMode, Error, MicroServiceWs};
use ms_utils::dev::gateway::{DevGateway, FaultControl};
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::{Args, BoxError, round3, run_child};

/// How long the parent waits, beyond the grace period, for the gateway to
/// see the end of every connection of a finished run.
const SETTLE: Duration = Duration::from_secs(5);

/// `--mode` as the client takes it.
pub(crate) fn delivery_mode(name: &str) -> Result<DeliveryMode, String> {
    match name {
        "at-least-once" => Ok(DeliveryMode::AtLeastOnce),
        "at-most-once" => Ok(DeliveryMode::AtMostOnce),
        other => Err(format!("unknown --mode {other}")),
    }
}

/// The parent side: one gateway for every run, one JSON line per run.
pub(crate) async fn parent(mut args: Args) -> Result<(), BoxError> {
    if args.host.is_some() {
        return Err("--scenario soak needs the in-process development gateway \
                    (it closes the connections and reads its record of them): \
                    run it without --host"
            .into());
    }
    // (Checked when parsed.)
    let modes: Vec<&'static str> = match args.mode.as_str() {
        "both" => vec!["at-least-once", "at-most-once"],
        "at-most-once" => vec!["at-most-once"],
        _ => vec!["at-least-once"],
    };
    // (client, mode) per run; the original has no delivery modes.
    let mut runs: Vec<(&str, &str)> = Vec::new();
    match args.client.as_str() {
        "bare" => {
            return Err("the bare tokio-tungstenite client does not reconnect: \
                        it has no soak run (use --client ms or both)"
                .into());
        }
        "ms" => runs.extend(modes.iter().map(|m| ("ms", *m))),
        _ => {
            println!(
                "{}",
                json!({"client": "bare", "scenario": "soak",
                       "skipped": "the bare tokio-tungstenite client does not reconnect"})
            );
            runs.extend(modes.iter().map(|m| ("ms", *m)));
            if args.python.is_some() {
                runs.push(("python", "none"));
            }
        }
    }

    let gateway = DevGateway::builder()
        .user(args.user.clone(), args.password.clone())
        .start()
        .await?;
    args.host = Some(gateway.host());
    let faults = gateway.faults();
    let mut failed = 0;
    for _ in 0..args.rounds() {
        for &(client, mode) in &runs {
            match soak_run(&args, &faults, client, mode).await {
                Ok(line) => println!("{line}"),
                Err(e) => {
                    failed += 1;
                    println!(
                        "{}",
                        json!({"client": client, "scenario": "soak", "mode": mode,
                               "error": e.to_string()})
                    );
                }
            }
        }
    }
    gateway.shutdown().await;
    if failed > 0 {
        return Err(format!("{failed} soak run(s) failed").into());
    }
    Ok(())
}

/// One client run under closes; its line with the gateway's counts added.
async fn soak_run(
    args: &Args,
    faults: &FaultControl,
    client: &'static str,
    mode: &'static str,
) -> Result<Value, BoxError> {
    let grace = Duration::from_millis(args.grace);
    let settle = grace + SETTLE;
    // A fresh record, once the previous run's connections are all gone.
    tokio::time::timeout(settle, faults.wait_disconnected(&args.user))
        .await
        .map_err(|_| "the previous run's connections did not end")?;
    faults.record(false);
    faults.record(true);

    let (stop, stopped) = oneshot::channel::<()>();
    let closer = tokio::spawn(close_every(
        faults.clone(),
        args.user.clone(),
        Duration::from_millis(args.close_every.max(1)),
        grace,
        stopped,
    ));
    let mut child_args = args.clone();
    child_args.mode = mode.to_owned();
    let line = tokio::task::spawn_blocking(move || run_child(&child_args, client)).await;
    let _ = stop.send(());
    let closes = closer.await?;
    let mut line = line??;

    // The child has exited: every socket of it is closed, and the gateway
    // reads each to its end (or to the end of its grace period).
    tokio::time::timeout(settle, faults.wait_disconnected(&args.user))
        .await
        .map_err(|_| "the gateway did not see the client's connections end")?;
    let connections = faults.recorded(&args.user).len();
    let seqs = soak_seqs(&faults.recorded_texts(&args.user));
    let tally = Tally::of(&seqs, args.count());

    let obj = line.as_object_mut().ok_or("child line is not an object")?;
    obj.insert("close_every_ms".into(), json!(args.close_every));
    obj.insert("grace_ms".into(), json!(args.grace));
    obj.insert("mode".into(), json!(mode));
    obj.insert("rate".into(), round3(args.rate));
    obj.insert("lost".into(), json!(tally.lost));
    obj.insert("duplicated".into(), json!(tally.duplicated));
    obj.insert("out_of_order".into(), json!(tally.out_of_order));
    obj.insert("recorded".into(), json!(seqs.len()));
    obj.insert("closes".into(), json!(closes));
    obj.insert("connections".into(), json!(connections));
    Ok(line)
}

/// Closes `user`'s connections with a grace period every `every` until told
/// to stop; returns how many connections it closed, each counted once.
///
/// `close_user_with_grace` also counts connections still in their grace
/// period from an earlier close (calling it again changes nothing for them),
/// so a close counts at most the connections opened since the previous one
/// (the gateway's connection counter, read before the call; one opened
/// between the read and the call, a matter of microseconds, is closed
/// uncounted unless still in its grace period at the next tick).
async fn close_every(
    faults: FaultControl,
    user: String,
    every: Duration,
    grace: Duration,
    mut stop: oneshot::Receiver<()>,
) -> u64 {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate
    let mut counted = faults.connections();
    let mut closes = 0;
    loop {
        tokio::select! {
            _ = &mut stop => return closes,
            _ = tick.tick() => {
                let opened = faults.connections();
                let closed = faults.close_user_with_grace(&user, grace) as u64;
                closes += closed.min(opened - counted);
                counted = opened;
            }
        }
    }
}

/// The `seq` of every soak message the gateway read, in the order of the
/// record (connection by connection, each in arrival order).
fn soak_seqs(texts: &[String]) -> Vec<u64> {
    texts
        .iter()
        .filter_map(|t| serde_json::from_str::<Value>(t).ok())
        .filter(|v| v["event"] == "soak")
        .filter_map(|v| v["data"]["seq"].as_u64())
        .collect()
}

/// What the gateway's record says about `0..count`.
#[derive(Debug, PartialEq, Eq)]
struct Tally {
    /// Sequence numbers never recorded.
    lost: u64,
    /// Recordings beyond the first of a sequence number.
    duplicated: u64,
    /// First arrivals that came after a higher number had arrived.
    out_of_order: u64,
}

impl Tally {
    fn of(seqs: &[u64], count: u64) -> Self {
        let mut seen = HashSet::with_capacity(seqs.len());
        let (mut duplicated, mut out_of_order) = (0, 0);
        let mut highest: Option<u64> = None;
        for &seq in seqs {
            if !seen.insert(seq) {
                duplicated += 1;
                continue;
            }
            if highest.is_some_and(|h| seq < h) {
                out_of_order += 1;
            }
            highest = highest.max(Some(seq));
        }
        let lost = (0..count).filter(|s| !seen.contains(s)).count() as u64;
        Self {
            lost,
            duplicated,
            out_of_order,
        }
    }
}

// ----------------------------------------------------------------- child

/// The child side for `ms`: connect, send at the rate, `close()`, report.
pub(crate) async fn ms_child(args: &Args) -> Result<Map<String, Value>, BoxError> {
    let mode = delivery_mode(&args.mode)?;
    let client = MicroServiceWs::builder(args.host.clone().unwrap_or_default())
        .credentials(args.user.clone(), args.password.clone())
        .tls(false)
        .delivery(mode)
        .connect()
        .await?;
    let n = args.count();
    let start = Instant::now();
    let pace = tokio::time::Instant::now();
    let mut receipts = Vec::new();
    for seq in 0..n {
        if args.rate > 0.0 {
            let due = Duration::from_secs_f64(seq as f64 / args.rate);
            tokio::time::sleep_until(pace + due).await;
        }
        let value = json!({"event": "soak", "data": {"seq": seq}});
        if args.receipts {
            receipts.push(client.send_with_receipt(value).await?);
        } else {
            client.send(value).await?;
        }
    }
    let send_secs = start.elapsed().as_secs_f64();
    let closed = client.close().await;
    let secs = start.elapsed().as_secs_f64();
    let stats = client.stats();
    // After close() every receipt has its answer: none should be open.
    let (mut receipts_ok, mut receipts_failed, mut receipts_open) = (0u64, 0u64, 0u64);
    let answered_by = tokio::time::Instant::now() + Duration::from_secs(2);
    for receipt in receipts {
        match tokio::time::timeout_at(answered_by, receipt).await {
            Ok(Ok(())) => receipts_ok += 1,
            Ok(Err(e)) if e.undelivered().is_some() => receipts_failed += 1,
            _ => receipts_open += 1,
        }
    }

    let mut m = Map::new();
    m.insert("client".into(), json!("ms"));
    m.insert("scenario".into(), json!("soak"));
    m.insert("count".into(), json!(n));
    let (close_result, undelivered) = match closed {
        Ok(()) => ("ok".to_owned(), 0),
        Err(Error::Undelivered(u)) => (
            format!(
                "undelivered {} ({} written, unconfirmed)",
                u.len(),
                u.written()
            ),
            u.len(),
        ),
        Err(e) => (format!("error: {e}"), 0),
    };
    m.insert("close_result".into(), json!(close_result));
    m.insert("undelivered".into(), json!(undelivered));
    m.insert("reconnects".into(), json!(stats.reconnects));
    m.insert("resent".into(), json!(stats.resent));
    m.insert("possibly_lost".into(), json!(stats.possibly_lost));
    if args.receipts {
        m.insert("receipts_ok".into(), json!(receipts_ok));
        m.insert("receipts_failed".into(), json!(receipts_failed));
        m.insert("receipts_open".into(), json!(receipts_open));
    }
    m.insert("send_secs".into(), round3(send_secs));
    m.insert("secs".into(), round3(secs));
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tally_counts_losses_repeats_and_late_first_arrivals() {
        let t = Tally::of(&[0, 1, 4, 2, 3, 4, 1, 6], 8);
        assert_eq!(
            t,
            Tally {
                lost: 2,         // 5 and 7
                duplicated: 2,   // the second 4 and 1
                out_of_order: 2, // 2 and 3 after 4
            }
        );
    }
}
