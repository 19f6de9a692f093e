//! A tiny HTTP proxy on loopback, for tests of the clients' proxy support:
//! `CONNECT` tunnels (what a client sends for an `https://` or websocket
//! destination) and absolute-form forwarding (`GET http://host/path`, what it
//! sends for an `http://` one). It keeps the head of every request it got,
//! so a test can check what went through it and with which credentials.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running loopback proxy; it serves until the test's runtime ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use ms_utils_dev::testing::LoopbackProxy;
///
/// let proxy = LoopbackProxy::start().await?;
/// assert!(proxy.url().starts_with("http://127.0.0.1:"));
/// assert!(proxy.requests().is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct LoopbackProxy {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl LoopbackProxy {
    /// A proxy on `127.0.0.1`, any free port, that tunnels and forwards.
    ///
    /// # Errors
    /// No loopback port could be bound.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = ms_utils_dev::testing::LoopbackProxy::start().await?;
    /// # Ok(()) }
    /// ```
    pub async fn start() -> std::io::Result<LoopbackProxy> {
        Self::start_answering(None).await
    }

    /// A proxy that answers every request with `answer` (a whole HTTP
    /// response, e.g. a `407 Proxy Authentication Required`) instead.
    ///
    /// # Errors
    /// No loopback port could be bound.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = ms_utils_dev::testing::LoopbackProxy::refusing(
    ///     "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn refusing(answer: &'static str) -> std::io::Result<LoopbackProxy> {
        Self::start_answering(Some(answer)).await
    }

    async fn start_answering(refuse: Option<&'static str>) -> std::io::Result<LoopbackProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, seen.clone(), refuse));
            }
        });
        Ok(LoopbackProxy { url, heads })
    }

    /// `http://127.0.0.1:PORT`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = ms_utils_dev::testing::LoopbackProxy::start().await?;
    /// let with_user = proxy.url().replace("http://", "http://me:pw@");
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first line of each request, in order (`CONNECT host:port HTTP/1.1`,
    /// `GET http://host/path HTTP/1.1`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = ms_utils_dev::testing::LoopbackProxy::start().await?;
    /// assert_eq!(proxy.requests(), Vec::<String>::new());
    /// # Ok(()) }
    /// ```
    pub fn requests(&self) -> Vec<String> {
        self.heads()
            .iter()
            .map(|h| h.lines().next().unwrap_or_default().to_owned())
            .collect()
    }

    /// The whole head (request line and headers) of each request, in order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = ms_utils_dev::testing::LoopbackProxy::start().await?;
    /// assert!(proxy.heads().iter().all(|h| !h.contains("proxy-authorization")));
    /// # Ok(()) }
    /// ```
    pub fn heads(&self) -> Vec<String> {
        self.heads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// One client connection: reads the head, then tunnels or forwards (a
/// connection the proxy cannot serve is dropped).
async fn serve(mut client: TcpStream, seen: Arc<Mutex<Vec<String>>>, refuse: Option<&'static str>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = client.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let rest = head.split_off(end);
    let head = String::from_utf8_lossy(&head).into_owned();
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(head.clone());
    if let Some(answer) = refuse {
        let _ = client.write_all(answer.as_bytes()).await;
        return;
    }
    let Some((first, others)) = head.split_once("\r\n") else {
        return;
    };
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let mut upstream;
    if method == "CONNECT" {
        let Ok(up) = TcpStream::connect(target).await else {
            let _ = client
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                .await;
            return;
        };
        upstream = up;
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    } else {
        // Absolute form: `GET http://host[:port]/path HTTP/1.1`.
        let Some(url) = target.strip_prefix("http://") else {
            return;
        };
        let (authority, path) = url.split_at(url.find('/').unwrap_or(url.len()));
        let Ok(up) = TcpStream::connect(authority).await else {
            return;
        };
        upstream = up;
        let path = if path.is_empty() { "/" } else { path };
        let head = format!("{method} {path} {version}\r\n{others}");
        if upstream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
    }
    if upstream.write_all(&rest).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
