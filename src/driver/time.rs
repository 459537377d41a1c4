//! Where a driver reads the time: the wall clock, or a replay's recording.

use crate::flow::Timestamp;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock as a flow [`Timestamp`].
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Where a [`Driver`](super::Driver) reads the time, and how it waits for a deadline. The
/// wall clock ([`WallClock`]) by default; a replay's is the recording's
/// (`testing::ReplayPartner::clock`), so a flow replayed waits for nothing
/// and sees the times it saw when it was recorded.
pub trait Timeline: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> Timestamp;
    /// Called when the flow's next deadline is `at`: how long to really
    /// sleep before it is due. A timeline that is not the wall clock moves
    /// to `at` itself and answers zero.
    fn until(&self, at: Timestamp) -> Duration;
    /// The time of the person's next action
    /// ([`Driver::input_time`](super::Driver::input_time)): now. A
    /// recording's timeline answers the time of the recording's next one,
    /// and stays there.
    fn input_at(&self) -> Timestamp {
        self.now()
    }
}

/// The system's wall clock: [`now`], and a real sleep until a deadline.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Timeline for WallClock {
    fn now(&self) -> Timestamp {
        now()
    }

    fn until(&self, at: Timestamp) -> Duration {
        Duration::from_millis(now().until(at))
    }
}
