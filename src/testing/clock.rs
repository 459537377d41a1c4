//! [`FakeClock`]: time that moves only when a test says so.

use crate::flow::Timestamp;
use crate::service::Clock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A [`Clock`] that stands still until it is [set](FakeClock::set) or
/// [advanced](FakeClock::advance).
///
/// Clones share one time (an `Arc` inside), so a test keeps a handle and
/// gives a clone to the [`SessionService`](crate::service::SessionService):
/// leases, cache lifetimes and session expiry can then be crossed without
/// sleeping, and exactly — a test that sleeps past a deadline is both slow
/// and, on a loaded machine, flaky.
///
/// ```
/// use connectflow::flow::Timestamp;
/// use connectflow::service::Clock;
/// use connectflow::testing::FakeClock;
/// use std::time::Duration;
///
/// let clock = FakeClock::default();
/// let service_side = clock.clone();
/// assert_eq!(service_side.now(), FakeClock::START);
/// clock.advance(Duration::from_secs(301));
/// assert_eq!(service_side.now(), FakeClock::START.plus_ms(301_000));
/// clock.set(Timestamp(0));
/// assert_eq!(service_side.now(), Timestamp(0));
/// ```
#[derive(Debug, Clone)]
pub struct FakeClock {
    ms: Arc<AtomicU64>,
}

impl FakeClock {
    /// Where [`FakeClock::default`] starts: 2023-11-14T22:13:20Z, the `T0`
    /// the crate's own tests use, so fixtures and transcripts line up.
    pub const START: Timestamp = Timestamp(1_700_000_000_000);

    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> FakeClock {
        FakeClock {
            ms: Arc::new(AtomicU64::new(start.0)),
        }
    }

    /// Now, as every clone sees it.
    pub fn now(&self) -> Timestamp {
        Timestamp(self.ms.load(Ordering::SeqCst))
    }

    /// Moves every clone to `at` (backwards too: a wall clock can be
    /// stepped back, and code reading one has to survive it).
    pub fn set(&self, at: Timestamp) {
        self.ms.store(at.0, Ordering::SeqCst);
    }

    /// Moves every clone forward by `by` (saturating) and returns the new now.
    pub fn advance(&self, by: Duration) -> Timestamp {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // A single atomic update, so two threads advancing at once both count.
        let before = self
            .ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| {
                Some(ms.saturating_add(by))
            })
            .unwrap_or_else(|ms| ms);
        Timestamp(before.saturating_add(by))
    }
}

impl Default for FakeClock {
    /// A clock standing at [`FakeClock::START`].
    fn default() -> FakeClock {
        FakeClock::new(FakeClock::START)
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        FakeClock::now(self)
    }
}

/// A driver on a fake clock waits for nothing: a deadline moves the clock
/// to it (a recording made this way has the flow's times, not the
/// machine's).
impl crate::driver::Timeline for FakeClock {
    fn now(&self) -> Timestamp {
        FakeClock::now(self)
    }

    fn until(&self, at: Timestamp) -> Duration {
        self.ms.fetch_max(at.0, Ordering::SeqCst);
        Duration::ZERO
    }
}
