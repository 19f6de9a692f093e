//! Property test: the handshake against tokio-tungstenite's client, on
//! random answers (valid ones with headers in any order and case, extra
//! headers, early frames behind them; refusals; missing or wrong upgrade
//! headers) sent in pieces cut at random points. Both must agree on the
//! outcome (the same error variant, the same status), and after a
//! success the bytes behind the answer must be left as they came (the
//! frames tungstenite reads behind its own handshake). One known
//! difference: a `Connection` header listing tokens (see
//! [`Kind::ValidListed`]). The seed is random
//! per run and printed on failure; `MS_UTILS_PROP_SEED=<seed>` replays one.

use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream, duplex};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::*;

const CASES: usize = 2000;

/// How the answer is made.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Valid,
    /// Valid, with `Connection` a list of tokens (`keep-alive, Upgrade`):
    /// RFC 6455 §4.1 asks for a token matching `Upgrade`; tungstenite
    /// wants the whole value to be `Upgrade`, and refuses it.
    ValidListed,
    WrongAccept,
    NoUpgrade,
    NoConnection,
    Refused,
}

fn random_case(rng: &mut StdRng, s: &str) -> String {
    s.chars()
        .map(|c| {
            if rng.random_bool(0.5) {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// The answer to the request carrying `key`, and the text messages sent
/// behind it.
fn answer(rng: &mut StdRng, kind: Kind, key: &str) -> (Vec<u8>, Vec<String>) {
    if let Kind::Refused = kind {
        let body = "x".repeat(rng.random_range(0..=40));
        let head = format!(
            "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        return (head.into_bytes(), Vec::new());
    }
    let mut headers = Vec::new();
    if !matches!(kind, Kind::NoUpgrade) {
        headers.push(format!(
            "{}: {}",
            random_case(rng, "upgrade"),
            random_case(rng, "websocket")
        ));
    }
    if !matches!(kind, Kind::NoConnection) {
        let value = match kind {
            Kind::ValidListed => "keep-alive, Upgrade",
            _ => "Upgrade",
        };
        headers.push(format!(
            "{}: {}",
            random_case(rng, "connection"),
            random_case(rng, value)
        ));
    }
    let accept = match kind {
        Kind::WrongAccept => derive_accept_key(b"not the key"),
        _ => derive_accept_key(key.as_bytes()),
    };
    headers.push(format!(
        "{}: {accept}",
        random_case(rng, "sec-websocket-accept")
    ));
    for i in 0..rng.random_range(0..4) {
        headers.push(format!(
            "x-extra-{i}: {}",
            "v".repeat(rng.random_range(0..30))
        ));
    }
    headers.shuffle(rng);
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\n{}\r\n\r\n",
        headers.join("\r\n")
    )
    .into_bytes();
    let mut texts = Vec::new();
    for _ in 0..rng.random_range(0..4) {
        let text = "t".repeat(rng.random_range(0..300));
        // An unmasked server text frame.
        out.push(0x81);
        if text.len() < 126 {
            out.push(text.len() as u8);
        } else {
            out.push(126);
            out.extend_from_slice(&(text.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(text.as_bytes());
        texts.push(text);
    }
    (out, texts)
}

/// Reads the request, answers it in random pieces, then hangs up.
async fn peer(mut server: DuplexStream, mut rng: StdRng, kind: Kind) -> Vec<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"\r\n\r\n") {
        let n = server.read(&mut buf).await.expect("the request");
        assert!(n > 0, "the client hung up before its request was whole");
        seen.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("sec-websocket-key: "))
        .expect("a key")
        .trim()
        .to_owned();
    // The key is in lowercase here: take it from the original bytes.
    let at = head.find(&key).expect("the key");
    let key = String::from_utf8_lossy(&seen[at..at + key.len()]).into_owned();
    let (bytes, texts) = answer(&mut rng, kind, &key);
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(64));
        // The client may have given up on a bad answer: that is its say.
        if server.write_all(&rest[..n]).await.is_err() {
            break;
        }
        rest = &rest[n..];
        tokio::task::yield_now().await;
    }
    texts
}

/// The outcome, comparable between the two clients.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The text messages read behind the answer.
    Open(Vec<String>),
    Protocol(std::mem::Discriminant<ProtocolError>),
    Http(u16),
    Other(String),
}

fn failed(e: WsError) -> Outcome {
    match e {
        WsError::Protocol(p) => Outcome::Protocol(std::mem::discriminant(&p)),
        WsError::Http(r) => Outcome::Http(r.status().as_u16()),
        other => Outcome::Other(format!("{other:?}")),
    }
}

async fn texts_of<S>(mut ws: tokio_tungstenite::WebSocketStream<S>) -> Vec<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            out.push(t.as_str().to_owned());
        }
    }
    out
}

async fn ours(rng: StdRng, kind: Kind) -> (Outcome, Vec<String>) {
    let (client, server) = duplex(256);
    let request = "ws://gw:8080/ws/?token=t"
        .into_client_request()
        .expect("a request");
    let mut stream = BufReader::with_capacity(rng.clone().random_range(1..=512), client);
    // Owns the client's end: dropped (hung up) once done, as in `dial`.
    let talk = async move {
        match client_handshake(&mut stream, &request).await {
            Ok(()) => {
                // As `dial` does: what the reader holds comes first.
                let early = stream.buffer().to_vec();
                let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                    Early(early, stream.into_inner()),
                    Role::Client,
                    None,
                )
                .await;
                Outcome::Open(texts_of(ws).await)
            }
            Err(e) => failed(e),
        }
    };
    tokio::join!(talk, peer(server, rng, kind))
}

async fn theirs(rng: StdRng, kind: Kind) -> (Outcome, Vec<String>) {
    let (client, server) = duplex(256);
    let request = "ws://gw:8080/ws/?token=t"
        .into_client_request()
        .expect("a request");
    let talk = async {
        match tokio_tungstenite::client_async(request, client).await {
            Ok((ws, _)) => Outcome::Open(texts_of(ws).await),
            Err(e) => failed(e),
        }
    };
    tokio::join!(talk, peer(server, rng, kind))
}

/// A stream with `0` to be read before the inner one.
struct Early(Vec<u8>, DuplexStream);

impl AsyncRead for Early {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.0.is_empty() {
            let n = this.0.len().min(buf.remaining());
            buf.put_slice(&this.0[..n]);
            this.0.drain(..n);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut this.1).poll_read(cx, buf)
    }
}

impl AsyncWrite for Early {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.get_mut().1).poll_write(cx, buf)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().1).poll_flush(cx)
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.get_mut().1).poll_shutdown(cx)
    }
}

#[test]
fn the_handshake_agrees_with_tungstenites_on_answers_cut_anywhere() {
    let (mut rng, seed) = crate::prop_seed::rng();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let kinds = [
        Kind::Valid,
        Kind::Valid,
        Kind::ValidListed,
        Kind::WrongAccept,
        Kind::NoUpgrade,
        Kind::NoConnection,
        Kind::Refused,
    ];
    for case in 0..CASES {
        let kind = kinds[rng.random_range(0..kinds.len())];
        let peer_seed: u64 = rng.random();
        let (our, sent) = rt.block_on(ours(StdRng::seed_from_u64(peer_seed), kind));
        let (their, _) = rt.block_on(theirs(StdRng::seed_from_u64(peer_seed), kind));
        let at = format!("seed {seed} case {case} ({kind:?})");
        match kind {
            Kind::Valid => {
                assert_eq!(our, Outcome::Open(sent), "{at}");
                assert_eq!(our, their, "{at}");
            }
            Kind::ValidListed => {
                assert_eq!(our, Outcome::Open(sent), "{at}");
                assert_eq!(
                    their,
                    Outcome::Protocol(std::mem::discriminant(
                        &ProtocolError::MissingConnectionUpgradeHeader
                    )),
                    "{at}"
                );
            }
            _ => assert_eq!(our, their, "{at}"),
        }
    }
}
