//! The baseline: a bare tokio-tungstenite client doing the same work on
//! one task (parse every frame into a `serde_json::Value`).

use std::collections::BTreeMap;
use std::time::Instant;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Args, BoxError, Scenario, add_latencies, echo_warmup, result};

/// The bare baseline logs in with a hand-written HTTP/1.1 request, so that
/// it needs nothing beyond tokio.
pub(crate) async fn bare_login(args: &Args) -> Result<String, BoxError> {
    let host = args.host.as_deref().unwrap_or_default();
    let body = json!({"name": args.user, "password": args.password}).to_string();
    let request = format!(
        "POST /auth-ms/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("malformed login response")?;
    if !head.starts_with("HTTP/1.1 201") {
        return Err(format!("login failed: {}", head.lines().next().unwrap_or("")).into());
    }
    let body: Value = serde_json::from_str(body)?;
    Ok(body["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_owned())
}

pub(crate) async fn run(args: &Args) -> Result<Map<String, Value>, BoxError> {
    let token = bare_login(args).await?;
    let url = format!(
        "ws://{}/?token={token}",
        args.host.as_deref().unwrap_or_default()
    );
    let config = WebSocketConfig::default()
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    let text = |v: Value| WsMessage::text(v.to_string());
    match args.scenario {
        Scenario::Flood => {
            let n = args.count();
            let start = Instant::now();
            ws.send(text(
                json!({"event": "bench-flood", "data": {"count": n, "size": args.size}}),
            ))
            .await?;
            let mut seen = 0u64;
            while let Some(frame) = ws.next().await {
                let WsMessage::Text(t) = frame? else { continue };
                let v: Value = serde_json::from_str(t.as_str())?;
                match v["event"].as_str() {
                    Some("bench") => seen += 1,
                    Some("bench-end") => break,
                    _ => {}
                }
            }
            if seen != n {
                return Err(format!("bare flood got {seen} of {n}").into());
            }
            Ok(result(args, "bare", start.elapsed().as_secs_f64()))
        }
        Scenario::Chunked => {
            let start = Instant::now();
            ws.send(text(json!({"event": "bench-chunked",
                                 "data": {"bytes": args.bytes, "chunk": args.chunk}})))
                .await?;
            // Pieces arrive in order: each is decoded onto the end of one
            // buffer (early ones wait aside), as a careful hand-written
            // client would.
            let mut buf = Vec::new();
            let mut next = 0u64;
            let mut early: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
            let b64 = &base64::engine::general_purpose::STANDARD;
            while let Some(frame) = ws.next().await {
                let WsMessage::Text(t) = frame? else { continue };
                let v: Value = serde_json::from_str(t.as_str())?;
                drop(t);
                let (Some(index), Some(total), Some(piece)) = (
                    v["index"].as_u64(),
                    v["max_index"].as_u64(),
                    v["chunk"].as_str(),
                ) else {
                    continue;
                };
                if index == next {
                    b64.decode_vec(piece, &mut buf)?;
                    next += 1;
                    while let Some(p) = early.remove(&next) {
                        buf.extend_from_slice(&p);
                        next += 1;
                    }
                } else {
                    early.insert(index, b64.decode(piece)?);
                }
                if next == total {
                    break;
                }
            }
            let whole: Value = serde_json::from_str(std::str::from_utf8(&buf)?)?;
            drop(buf);
            let got = whole["data"]["blob"].as_str().map_or(0, str::len);
            if got != args.bytes {
                return Err(format!("bare chunked blob of {got} bytes").into());
            }
            Ok(result(args, "bare", start.elapsed().as_secs_f64()))
        }
        Scenario::Echo => {
            let n = args.count();
            let warm = echo_warmup(n);
            let mut lat = Vec::with_capacity(n as usize);
            let start = Instant::now();
            for i in 0..n + warm {
                let t = Instant::now();
                ws.send(text(json!({"event": "bench-echo", "data": {"i": i}})))
                    .await?;
                loop {
                    let frame = ws.next().await.ok_or("connection closed")??;
                    let WsMessage::Text(t) = frame else { continue };
                    let v: Value = serde_json::from_str(t.as_str())?;
                    if v["event"] == "bench-echo-reply" {
                        break;
                    }
                }
                if i >= warm {
                    lat.push(t.elapsed());
                }
            }
            let mut m = result(args, "bare", start.elapsed().as_secs_f64());
            add_latencies(&mut m, lat);
            Ok(m)
        }
        // The bare client does not reconnect: no soak run.
        Scenario::Soak => Err("the bare client has no soak scenario".into()),
        // Its own child code, in tasks.rs.
        Scenario::Tasks => Err("bare::run has no tasks scenario".into()),
    }
}
