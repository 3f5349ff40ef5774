//! A TCP stream the mock can reset: once `kill` is set, the next write fails and the socket is
//! closed with `SO_LINGER 0`, which sends an RST to the client.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub(super) struct Killable {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl Killable {
    pub(super) fn new(inner: TcpStream, kill: Arc<AtomicBool>) -> Self {
        Killable { inner, kill }
    }

    fn reset(&self) -> io::Error {
        let _ = socket_linger_zero(&self.inner);
        io::Error::from(io::ErrorKind::ConnectionReset)
    }
}

#[allow(deprecated)]
fn socket_linger_zero(s: &TcpStream) -> io::Result<()> {
    s.set_linger(Some(Duration::ZERO))
}

impl AsyncRead for Killable {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Killable {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(self.reset()));
        }
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
