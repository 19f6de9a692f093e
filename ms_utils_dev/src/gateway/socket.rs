//! The byte stream under an upgraded websocket, with its TCP socket within
//! reach so that an abort can reset the connection instead of closing it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tracing::debug;

/// An upgraded connection: the plain or TLS stream hyper served it on (so
/// its socket options can still be set), or hyper's opaque `Upgraded` when
/// the stream is of another type.
///
/// When its reset switch ([`ConnIo::reset_switch`]) is on at drop, the
/// socket is closed with `SO_LINGER` zero: the kernel sends RST and throws
/// away what was not read or sent, as a crashed peer would.
pub(super) struct ConnIo {
    /// Bytes hyper read past the upgrade request, served first.
    prefix: Bytes,
    inner: Inner,
    reset: Arc<AtomicBool>,
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Opaque(TokioIo<Upgraded>),
}

impl ConnIo {
    /// Takes back the stream `serve_connection` was given (see
    /// `gateway::serve_http`), as `TokioIo<TcpStream>` or
    /// `TokioIo<TlsStream<TcpStream>>`.
    pub(super) fn from_upgraded(upgraded: Upgraded) -> Self {
        let (prefix, inner) = match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => (parts.read_buf, Inner::Plain(parts.io.into_inner())),
            Err(upgraded) => match upgraded.downcast::<TokioIo<TlsStream<TcpStream>>>() {
                Ok(parts) => (parts.read_buf, Inner::Tls(Box::new(parts.io.into_inner()))),
                // `Upgraded` replays what hyper read ahead on its own.
                Err(upgraded) => (Bytes::new(), Inner::Opaque(TokioIo::new(upgraded))),
            },
        };
        Self {
            prefix,
            inner,
            reset: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The switch that makes dropping this stream reset the connection.
    pub(super) fn reset_switch(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.reset)
    }

    fn tcp(&self) -> Option<&TcpStream> {
        match &self.inner {
            Inner::Plain(tcp) => Some(tcp),
            Inner::Tls(tls) => Some(tls.get_ref().0),
            Inner::Opaque(_) => None,
        }
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if !self.reset.load(Ordering::Relaxed) {
            return;
        }
        match self.tcp() {
            Some(tcp) => {
                if let Err(e) = tcp.set_zero_linger() {
                    debug!(error = %e, "could not set SO_LINGER: closing without a reset");
                }
            }
            None => debug!("socket out of reach: closing without a reset"),
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        match &mut this.inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Inner::Opaque(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Inner::Opaque(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Inner::Opaque(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Plain(s) => s.is_write_vectored(),
            Inner::Tls(s) => s.is_write_vectored(),
            Inner::Opaque(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Inner::Opaque(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Inner::Opaque(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    fn plain(server: TcpStream, prefix: &'static [u8]) -> ConnIo {
        ConnIo {
            prefix: Bytes::from_static(prefix),
            inner: Inner::Plain(server),
            reset: Arc::new(AtomicBool::new(false)),
        }
    }

    #[tokio::test]
    async fn the_prefix_is_read_before_the_socket() {
        let (mut client, server) = pair().await;
        let mut io = plain(server, b"abc");
        client.write_all(b"def").await.unwrap();
        let mut got = Vec::new();
        while got.len() < 6 {
            let mut buf = [0u8; 2];
            let n = io.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"abcdef");
    }

    #[tokio::test]
    async fn a_dropped_stream_resets_only_when_switched() {
        let (mut client, server) = pair().await;
        drop(plain(server, b""));
        let mut buf = [0u8; 1];
        assert_eq!(
            client.read(&mut buf).await.unwrap(),
            0,
            "a plain close: EOF"
        );

        let (mut client, server) = pair().await;
        let io = plain(server, b"");
        io.reset_switch().store(true, Ordering::Relaxed);
        drop(io);
        let err = client.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }
}
