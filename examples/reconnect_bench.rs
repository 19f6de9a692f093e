//! How soon a client is back after a gateway outage (issue #23 item 4).
//!
//! ```text
//! cargo run --release --example reconnect_bench -- [--outages 3,10,60] [--runs 3]
//! ```
//!
//! A development gateway on a fixed loopback port, and a `MicroServiceWs`
//! with the default reconnect policy logged in to it. For each outage
//! length and run: the gateway is shut down (its connections end and the
//! port refuses), stays down for the outage, then a new gateway starts on
//! the same port; the figure is the time from that start to the client's
//! `Connected` state, with the attempts it made meanwhile and when each
//! started (`attempt_starts_s`, seconds after the outage began). One JSON line
//! per run, then one per outage length with the median and the worst.

use std::error::Error;
use std::time::{Duration, Instant};

use ms_utils::communication_utils::ws::{Event, MicroServiceWs};
use ms_utils::dev::gateway::DevGateway;
use serde_json::json;

const USER: &str = "reconnect_bench";
const PASSWORD: &str = "pw";

struct Args {
    outages: Vec<u64>,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        outages: vec![3, 10, 60],
        runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--outages" => {
                args.outages = value
                    .split(',')
                    .map(|s| s.trim().parse::<u64>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--outages {value}: {e}"))?;
            }
            "--runs" => {
                args.runs = value
                    .parse::<usize>()
                    .map_err(|e| format!("--runs {value}: {e}"))?
                    .max(1);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

async fn gateway(port: u16) -> std::io::Result<DevGateway> {
    DevGateway::builder()
        .user(USER, PASSWORD)
        .port(port)
        .start()
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let mut gw = gateway(0).await?;
    let port = gw.addr().port();
    let ms = MicroServiceWs::builder(gw.host())
        .tls(false)
        .credentials(USER, PASSWORD)
        .connect()
        .await?;
    for &secs in &args.outages {
        let mut backs = Vec::new();
        for run in 1..=args.runs {
            let mut events = ms.events();
            gw.shutdown().await;
            ms.disconnected().await;
            let down = Instant::now();
            // Each attempt's start, seconds after the outage began.
            let starts = tokio::spawn(async move {
                let mut starts = Vec::new();
                while let Ok(event) = events.recv().await {
                    match event {
                        Event::Reconnecting { delay, .. } => {
                            let at = down.elapsed() + delay;
                            starts.push((at.as_secs_f64() * 100.0).round() / 100.0);
                        }
                        Event::Connected => break,
                        _ => {}
                    }
                }
                starts
            });
            tokio::time::sleep(Duration::from_secs(secs)).await;
            gw = gateway(port).await?;
            let up = Instant::now();
            let mut state = ms.state();
            state.wait_for(|s| s.is_connected()).await?;
            let back = up.elapsed().as_secs_f64();
            let starts = starts.await?;
            println!(
                "{}",
                json!({
                    "outage_s": secs,
                    "run": run,
                    "back_after_s": back,
                    "attempts": starts.len(),
                    "attempt_starts_s": starts,
                })
            );
            backs.push(back);
        }
        backs.sort_by(f64::total_cmp);
        println!(
            "{}",
            json!({
                "outage_s": secs,
                "runs": backs.len(),
                "median_back_after_s": backs[backs.len() / 2],
                "worst_back_after_s": backs[backs.len() - 1],
            })
        );
    }
    ms.close().await?;
    gw.shutdown().await;
    Ok(())
}
