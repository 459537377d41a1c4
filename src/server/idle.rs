//! An I/O wrapper that fails once a connection has been idle too long, or
//! has sent nothing for a header timeout since it opened.
//!
//! Idle means no bytes read *and* none written: a streaming response
//! (server-sent events) that writes a keep-alive line now and then stays
//! open while its client only listens.
//!
//! The timer is not moved on every read and write (a clock read and a timer
//! update each, several per request): traffic only sets a flag, and the
//! timer ticks at a fixed interval, the idle time divided into equal parts
//! of at most half a header timeout. As many ticks in a row with no traffic
//! as make up the idle time close the connection: after between one idle
//! time and one idle time and a tick of silence.
//!
//! Each tick also wakes the connection's task, which is what makes hyper's
//! header-read timeout work without a timer of its own
//! ([`HeadTimer`](super::head_timer::HeadTimer)). hyper's timer starts
//! only once a request's first byte has been read (before it, hyper-util
//! reads the first bytes itself, to tell HTTP/1 from HTTP/2), so the first
//! byte's own deadline is kept here: a connection that sends nothing is
//! closed between one and one and a half header timeouts after it opened.

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
    silent: u32,
    /// Silent ticks that make up the idle time.
    limit: u32,
    /// Until the first byte is read: when it must have come by (hyper's
    /// header timer starts only once a request has begun).
    first_byte_by: Option<Instant>,
}

impl<S> IdleTimeout<S> {
    /// Closes `inner` after between `idle` and `idle` plus a tick of
    /// silence, and when no byte has come `head` after it opened (between
    /// `head` and one and a half `head`). Ticks `idle` divided into equal
    /// parts, each at most half of `head` and of `idle`, so that while it
    /// waits to read, its task is woken at least that often.
    pub(crate) fn new(inner: S, idle: Duration, head: Duration) -> Self {
        // Never a tick of zero (the loop in `expired` would not end).
        let idle = idle.max(Duration::from_millis(2));
        let wanted = (head / 2).clamp(Duration::from_millis(1), idle / 2);
        // `idle` in whole ticks, so the last one falls on it: at least 2,
        // and a silly `idle` saturates (a longer tick) rather than wraps.
        let limit = u32::try_from(idle.as_nanos().div_ceil(wanted.as_nanos()))
            .unwrap_or(u32::MAX)
            .max(2);
        let tick = idle / limit;
        IdleTimeout {
            inner,
            tick,
            timer: Box::pin(tokio::time::sleep(tick)),
            active: false,
            silent: 0,
            limit,
            // A `head` past what a clock can add: no first-byte deadline.
            first_byte_by: Instant::now().checked_add(head),
        }
    }

    fn touch(&mut self) {
        self.active = true;
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.timer.as_mut().poll(cx).is_ready() {
            if self.first_byte_by.is_some_and(|by| Instant::now() >= by) {
                return true;
            }
            if self.active {
                self.active = false;
                self.silent = 0;
            } else {
                // Saturating: polled again after expiry, it stays expired.
                self.silent = self.silent.saturating_add(1);
                if self.silent >= self.limit {
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
                    self.first_byte_by = None;
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle too long, or no request began in time",
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
