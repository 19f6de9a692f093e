//! The `ms-utils-dev` binary: prints where it listens, serves a real login and
//! websocket there (and S3), on the ports asked for, and exits cleanly on
//! SIGTERM and SIGINT.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ms_utils_communication::s3::{S3BucketClient, S3Config};
use ms_utils_communication::ws::{MicroServiceWs, WsConfigBuilder};

/// Kills the child if a test fails half-way, so no server outlives the test.
struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ms-utils-dev"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ms-utils-dev");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    // Read up to the line that says it is serving; a reader thread keeps the
    // test bounded even if the binary printed nothing.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let done = line.starts_with("# serving");
            if tx.send(line).is_err() || done {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("ms-utils-dev printed its lines");
        let done = line.starts_with("# serving");
        lines.push(line);
        if done {
            break;
        }
    }
    (running, lines)
}

fn value_after<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in {lines:?}"))
}

#[tokio::test]
async fn prints_addresses_serves_them_and_stops_on_sigterm() {
    let (mut running, lines) = start(&["--user", "svc:svc-pw", "--bucket", "data"]);
    assert!(
        lines[0].starts_with("GATEWAY 127.0.0.1:"),
        "first line: {:?}",
        lines[0]
    );
    let host = value_after(&lines, "export GATEWAY_HOST=").to_string();
    assert_eq!(lines[0], format!("GATEWAY {host}"));
    assert_eq!(value_after(&lines, "export GATEWAY_USER="), "svc");
    assert_eq!(value_after(&lines, "export GATEWAY_PASSWORD="), "svc-pw");
    assert_eq!(value_after(&lines, "export GATEWAY_TLS="), "false");

    // The export lines are all a service needs: a client configured from
    // them alone (as `WsConfigBuilder::from_env` would after `eval`) logs in
    // and opens a real websocket.
    let exports: HashMap<String, String> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let config = WsConfigBuilder::from_lookup(|k| exports.get(k).cloned())
        .build()
        .unwrap();
    let ws = tokio::time::timeout(Duration::from_secs(20), MicroServiceWs::connect(config))
        .await
        .expect("connect in time")
        .expect("connected");
    assert!(ws.is_connected());
    ws.close().await.unwrap();

    // The S3 line and the exports agree, and the server answers with the bucket asked for.
    let s3_line = lines
        .iter()
        .find(|l| l.starts_with("S3 "))
        .expect("S3 line");
    let endpoint = value_after(&lines, "export S3_ENDPOINT=").to_string();
    assert!(s3_line.starts_with(&format!("S3 {endpoint} access_key=")));
    let config = S3Config::builder()
        .endpoint(&endpoint)
        .credentials(
            value_after(&lines, "export S3_ACCESS_KEY_ID="),
            value_after(&lines, "export S3_SECRET_ACCESS_KEY="),
        )
        .build()
        .unwrap();
    let s3 = S3BucketClient::new("dev", config).await.unwrap();
    let buckets = tokio::time::timeout(Duration::from_secs(20), s3.list_buckets())
        .await
        .expect("list in time")
        .unwrap();
    assert!(buckets.contains(&"data".to_string()), "{buckets:?}");

    // SIGTERM ends it with success.
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = running.0.wait();
        (running, status)
    });
    let (_running, status) = tokio::time::timeout(Duration::from_secs(20), status)
        .await
        .expect("exited in time")
        .unwrap();
    assert!(status.unwrap().success());
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn serves_on_the_ports_asked_for_and_stops_on_sigint() {
    let (gw_port, s3_port) = (free_port(), free_port());
    let (mut running, lines) = start(&[
        "--user",
        "svc:svc-pw",
        "--gateway-port",
        &gw_port.to_string(),
        "--s3-port",
        &s3_port.to_string(),
    ]);
    assert_eq!(lines[0], format!("GATEWAY 127.0.0.1:{gw_port}"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("S3 http://127.0.0.1:{s3_port} "))),
        "{lines:?}"
    );
    // Something really listens on both.
    for port in [gw_port, s3_port] {
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening");
    }
    // Ctrl-C (SIGINT) ends it with success, like SIGTERM.
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = running.0.wait();
        let _ = tx.send(status.map(|s| s.success()));
        running
    });
    let exited_ok = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("exited in time")
        .expect("wait");
    assert!(exited_ok);
    drop(waiter.join());
}

#[test]
fn bad_arguments_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_ms-utils-dev"))
        .args(["--user", "no-colon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME:PASSWORD"));
}
