//! The websocket opening handshake (RFC 6455 §4.1), written here rather than
//! taken from tokio-tungstenite's client.
//!
//! Why: tokio-tungstenite's client hands tungstenite the bytes read past the
//! HTTP response as a tiny buffer, and tungstenite keeps that buffer's
//! capacity as the size of every later one. While frames handed to handlers
//! still point into a buffer (they do, under load), each refill then
//! allocates a new buffer of a few hundred bytes: an allocation and a copy
//! per few frames, and frees on other threads. Doing the handshake over our
//! own [`BufReader`] leaves any early frame bytes in that reader and lets
//! tungstenite start from a buffer of its configured size.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response, generate_key};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Most bytes of response head (status line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Most bytes of a refusal's body kept for the error.
const MAX_BODY: usize = 500;

/// Sends the upgrade request for `request`'s URI and checks the answer. On
/// success the connection is ready for frames (any already received stay in
/// `stream`'s buffer). Errors are tungstenite's, as its own client reports
/// them: an answer other than 101 is [`WsError::Http`] with the status and
/// the start of the body.
pub(crate) async fn client_handshake<S>(
    stream: &mut BufReader<S>,
    request: &Request,
) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let uri = request.uri();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let host = uri.authority().map(|a| a.as_str()).ok_or(WsError::Url(
        tokio_tungstenite::tungstenite::error::UrlError::NoHostName,
    ))?;
    let key = generate_key();
    let head = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
    );
    // The caller's extra headers (`WsConfigBuilder::header`), without those
    // written above (`into_client_request` fills them in too).
    let mut head = head.into_bytes();
    for (name, value) in request.headers() {
        if is_handshake_header(name.as_str()) {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    stream.get_mut().write_all(&head).await?;
    stream.get_mut().flush().await?;

    let response = read_head(stream).await?;
    let mut lines = response.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or(WsError::Protocol(ProtocolError::WrongHttpVersion))?;
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    if status != 101 {
        let body = read_body(stream, header("content-length")).await;
        let mut response = Response::new(Some(body));
        *response.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status)
            .map_err(|_| WsError::Protocol(ProtocolError::WrongHttpVersion))?;
        return Err(WsError::Http(Box::new(response)));
    }
    let upgrade_ok = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let connection_ok = header("connection").is_some_and(|v| {
        v.split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    });
    let accept_ok =
        header("sec-websocket-accept") == Some(derive_accept_key(key.as_bytes()).as_str());
    if !upgrade_ok {
        return Err(WsError::Protocol(
            ProtocolError::MissingUpgradeWebSocketHeader,
        ));
    }
    if !connection_ok {
        return Err(WsError::Protocol(
            ProtocolError::MissingConnectionUpgradeHeader,
        ));
    }
    if !accept_ok {
        return Err(WsError::Protocol(
            ProtocolError::SecWebSocketAcceptKeyMismatch,
        ));
    }
    Ok(())
}

/// Headers this handshake writes itself (`name` is lowercase, as `http` keeps it).
fn is_handshake_header(name: &str) -> bool {
    matches!(
        name,
        "host" | "connection" | "upgrade" | "content-length" | "transfer-encoding"
    ) || name.starts_with("sec-websocket-")
}

/// Reads up to the blank line that ends the response head.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> Result<String, WsError> {
    let mut head = Vec::with_capacity(512);
    loop {
        let n = stream.read_until(b'\n', &mut head).await?;
        if n == 0 {
            return Err(WsError::Protocol(ProtocolError::HandshakeIncomplete));
        }
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > MAX_HEAD {
            return Err(WsError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "websocket upgrade answer over 16 KiB",
            )));
        }
    }
    head.truncate(head.len() - 4);
    String::from_utf8(head).map_err(|e| WsError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// The start of a refusal's body, best effort (for the error message).
async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut BufReader<S>,
    length: Option<&str>,
) -> Vec<u8> {
    let len = length
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_BODY);
    let mut body = vec![0; len];
    match stream.read_exact(&mut body).await {
        Ok(_) => body,
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    /// Runs the handshake against a peer that answers `answer(key)`.
    async fn against(answer: impl Fn(&str) -> String) -> (Result<(), WsError>, Vec<u8>) {
        let (client, mut server) = duplex(64 * 1024);
        let request = "ws://gw:8080/ws/?token=t".into_client_request().unwrap();
        let mut stream = BufReader::new(client);
        // The peer owns its end: once it has answered, it hangs up.
        let peer = async move {
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.ends_with(b"\r\n\r\n") {
                let n = server.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8(seen).unwrap();
            assert!(
                head.starts_with("GET /ws/?token=t HTTP/1.1\r\nHost: gw:8080\r\n"),
                "{head}"
            );
            let key = head
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .to_owned();
            server.write_all(answer(&key).as_bytes()).await.unwrap();
        };
        let (result, ()) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(client_handshake(&mut stream, &request), peer)
        })
        .await
        .expect("handshake test bounded");
        let early = stream.buffer().to_vec();
        (result, early)
    }

    fn switching(accept: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, Upgrade\r\n\
             sec-websocket-accept: {accept}\r\n\r\n"
        )
    }

    #[tokio::test]
    async fn a_valid_answer_completes_and_early_bytes_stay_buffered() {
        // Whatever follows the head (the first frames) is left for the codec.
        let (result, early) =
            against(|key| switching(&derive_accept_key(key.as_bytes())) + "first frame bytes")
                .await;
        result.unwrap();
        assert_eq!(early, b"first frame bytes");
    }

    #[tokio::test]
    async fn extra_headers_are_sent_once_and_generated_ones_not_twice() {
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let (client, mut server) = duplex(64 * 1024);
        let mut request = "ws://gw:8080/ws/".into_client_request().unwrap();
        request
            .headers_mut()
            .append("x-trace", HeaderValue::from_static("abc"));
        request
            .headers_mut()
            .append("x-trace", HeaderValue::from_static("def"));
        let mut stream = BufReader::new(client);
        let peer = async move {
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.ends_with(b"\r\n\r\n") {
                let n = server.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            String::from_utf8(seen).unwrap()
        };
        let (_, head) = tokio::join!(client_handshake(&mut stream, &request), peer);
        assert!(
            head.contains("\r\nx-trace: abc\r\nx-trace: def\r\n"),
            "{head}"
        );
        let lower = head.to_ascii_lowercase();
        for name in ["host:", "sec-websocket-key:", "upgrade:", "connection:"] {
            assert_eq!(lower.matches(name).count(), 1, "{name} in {head}");
        }
    }

    #[tokio::test]
    async fn a_wrong_accept_key_is_refused() {
        let (result, _) = against(|_| switching("bm90IHRoZSBrZXk=")).await;
        assert!(matches!(
            result,
            Err(WsError::Protocol(
                ProtocolError::SecWebSocketAcceptKeyMismatch
            ))
        ));
    }

    #[tokio::test]
    async fn a_refusal_carries_its_status_and_body() {
        let (result, _) = against(|_| {
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 14\r\n\r\n{\"bad\":\"tok\"}!".into()
        })
        .await;
        let Err(WsError::Http(response)) = result else {
            panic!("{result:?}")
        };
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(response.body().as_deref(), Some(&b"{\"bad\":\"tok\"}!"[..]));
    }

    #[tokio::test]
    async fn a_closed_connection_is_an_incomplete_handshake() {
        let (result, _) = against(|_| "HTTP/1.1 101 Switching".into()).await;
        assert!(result.is_err(), "{result:?}");
    }
}

#[cfg(test)]
mod prop_tests;
