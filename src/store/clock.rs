//! [`Clock`]: where stores and the session service get the wall-clock time,
//! so claims, leases and caches can be tested without sleeping.

use crate::flow::Timestamp;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time. Wall clock, not monotonic: a stored record's
/// claim is read by other instances, so its time must mean the same there.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
    }
}
