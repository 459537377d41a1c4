//! An I/O wrapper that fails once a connection has been idle too long.
//!
//! Idle means no bytes read *and* none written: a streaming response
//! (server-sent events) that writes a keep-alive line now and then stays
//! open while its client only listens.
//!
//! The timer is not moved on every read and write (a clock read and a timer
//! update each, several per request): traffic only sets a flag, and the
//! timer ticks every half of the idle time. Two ticks in a row with no
//! traffic close the connection: after between one and one and a half idle
//! times of silence.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pub(crate) struct IdleTimeout<S> {
    inner: S,
    tick: Duration,
    timer: Pin<Box<Sleep>>,
    /// Bytes moved since the last tick.
    active: bool,
    /// Ticks in a row that found no traffic.
    silent: u8,
}

impl<S> IdleTimeout<S> {
    /// Closes `inner` after between `idle` and one and a half `idle` of
    /// silence.
    pub(crate) fn new(inner: S, idle: Duration) -> Self {
        let tick = idle / 2;
        IdleTimeout {
            inner,
            tick,
            timer: Box::pin(tokio::time::sleep(tick)),
            active: false,
            silent: 0,
        }
    }

    fn touch(&mut self) {
        self.active = true;
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.timer.as_mut().poll(cx).is_ready() {
            if self.active {
                self.active = false;
                self.silent = 0;
            } else {
                // Saturating: polled again after expiry, it stays expired.
                self.silent = self.silent.saturating_add(1);
                if self.silent >= 2 {
                    return true;
                }
            }
            // The next tick, polled again (the loop) so it is registered
            // with this task.
            let next = Instant::now() + self.tick;
            self.timer.as_mut().reset(next);
        }
        false
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
