//! hyper's header-read timeout without a timer per request.
//!
//! Invariant: a [`HeadTimer`] sleep never wakes anyone. It is only correct
//! on a connection whose I/O is an [`IdleTimeout`](super::idle::IdleTimeout)
//! ticking at most half a header timeout apart: each tick wakes the
//! connection's task, hyper polls the head it is waiting for, and the sleep,
//! polled then, finds its deadline passed. So a head not read in time is cut
//! off between one and one and a half header timeouts after it began (a
//! trickled head, whose every byte wakes the task, at the first byte past
//! the deadline).
//!
//! Why: once a request's first byte is in, hyper arms its header timer
//! before every head, kept-alive waits included, with a fresh
//! `tokio::time::Sleep`: an insert into tokio's timer wheel and a removal
//! a moment later, each under the wheel's lock. `perf` put 6–7 % of a
//! bare handler's CPU behind the server's limits in that timer. Here a
//! head's deadline is a box of one `Instant`, read when hyper polls it;
//! the per-connection tick the idle timeout keeps anyway does the waking.
//! Three pairs of 8-second runs measured 0.3–0.6 µs a request saved.

use hyper::rt::{Sleep, Timer};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's timer for the header-read timeout, on connections wrapped in an
/// [`IdleTimeout`](super::idle::IdleTimeout) (see the module's invariant).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HeadTimer;

/// A deadline checked when polled; it registers no waker.
struct Deadline(Instant);

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.0 {
            Poll::Ready(())
        } else {
            // No waker: the connection's idle tick wakes the task (the
            // module's invariant), and each byte of a trickled head does.
            Poll::Pending
        }
    }
}

impl Sleep for Deadline {}

impl Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(Deadline(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Deadline>() {
            Some(mut deadline) => deadline.0 = new_deadline,
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn poll(sleep: &mut Pin<Box<dyn Sleep>>) -> Poll<()> {
        let waker = Waker::from(Arc::new(Noop));
        sleep.as_mut().poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_deadline_is_ready_once_passed_and_reset_moves_it() {
        let timer = HeadTimer;
        let mut sleep = timer.sleep(Duration::from_millis(30));
        assert!(poll(&mut sleep).is_pending());
        std::thread::sleep(Duration::from_millis(40));
        assert!(poll(&mut sleep).is_ready());
        timer.reset(&mut sleep, Instant::now() + Duration::from_secs(60));
        assert!(poll(&mut sleep).is_pending(), "reset moves the deadline");
        timer.reset(&mut sleep, Instant::now());
        assert!(poll(&mut sleep).is_ready());
    }
}
