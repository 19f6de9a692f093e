//! The server's own speed, measured beside the clients: GETs of a
//! presigned URL written by hand on a raw TCP connection, the body read
//! into one buffer and dropped (no parsing beyond the head, no file, no
//! hashing), either one GET of the whole object or `streams` range GETs at
//! once. A client cannot download faster than this; the benchmark measures
//! the clients only while this is well ahead of them.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Fetches `url` (`http://host:port/path?query`) in `streams` ranges at
/// once (1: one GET, no `Range`); returns the body bytes received.
pub(crate) async fn bare_get(url: &str, size: u64, streams: u64) -> u64 {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, target) = rest.split_at(rest.find('/').expect("a path"));
    let step = size.div_ceil(streams.max(1));
    let mut gets = tokio::task::JoinSet::new();
    for i in 0..streams.max(1) {
        let range = (streams > 1).then(|| (i * step, ((i + 1) * step).min(size) - 1));
        let (host, target) = (host.to_owned(), target.to_owned());
        gets.spawn(async move { one_get(&host, &target, range).await });
    }
    let mut total = 0;
    while let Some(got) = gets.join_next().await {
        total += got.expect("a GET task");
    }
    total
}

async fn one_get(host: &str, target: &str, range: Option<(u64, u64)>) -> u64 {
    let mut s = tokio::net::TcpStream::connect(host).await.expect("connect");
    let range = range.map_or(String::new(), |(a, b)| format!("Range: bytes={a}-{b}\r\n"));
    let head = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{range}Connection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 1024 * 1024];
    let mut seen = Vec::new();
    let mut body = 0u64;
    let mut in_body = false;
    loop {
        let n = s.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        if in_body {
            body += n as u64;
            continue;
        }
        seen.extend_from_slice(&buf[..n]);
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let status = String::from_utf8_lossy(&seen[..seen.len().min(12)]).into_owned();
            assert!(
                status.contains(" 200") || status.contains(" 206"),
                "bare GET: {status}"
            );
            body = (seen.len() - end - 4) as u64;
            in_body = true;
        }
    }
    body
}
