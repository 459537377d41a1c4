//! Rate limits on the hops that cost the host something at the partner.
//!
//! A hop that creates a session (a bank chosen) leads to a partner
//! `CreateSession` on the host's key. Per phone number and per source
//! address, only so many may start in a window; beyond it the person gets a
//! polite `END` and nothing is created. Limits are per instance (each keeps
//! its own token buckets), which bounds a burst without a shared counter.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How many sessions may start, per phone and per source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Sessions one phone number may start per minute (0: no limit).
    pub per_phone_per_minute: u32,
    /// Sessions one source address (a gateway, usually) may start per
    /// second (0: no limit).
    pub per_source_per_second: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_phone_per_minute: 6,
            per_source_per_second: 1000,
        }
    }
}

/// The token buckets behind [`RateLimits`].
#[derive(Clone)]
pub(crate) struct Limiter {
    phone: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    source: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    checks: Arc<AtomicU64>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

/// Forget idle keys once every this many checks, so buckets of numbers seen
/// once do not accumulate.
const SWEEP_EVERY: u64 = 4096;

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Limiter {
        let per = |n: u32, period: Duration| {
            NonZeroU32::new(n)
                .and_then(|n| Quota::with_period(period / n.get()).map(|q| q.allow_burst(n)))
        };
        Limiter {
            phone: per(limits.per_phone_per_minute, Duration::from_secs(60))
                .map(|q| Arc::new(RateLimiter::keyed(q))),
            source: per(limits.per_source_per_second, Duration::from_secs(1))
                .map(|q| Arc::new(RateLimiter::keyed(q))),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Takes one session start for this phone and source; `false` when
    /// either is over its limit.
    pub(crate) fn allow(&self, phone: &str, source: Option<IpAddr>) -> bool {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            if let Some(l) = &self.phone {
                l.retain_recent();
            }
            if let Some(l) = &self.source {
                l.retain_recent();
            }
        }
        let source_ok = match (&self.source, source) {
            (Some(l), Some(ip)) => l.check_key(&ip).is_ok(),
            _ => true,
        };
        let phone_ok = match &self.phone {
            Some(l) if !phone.is_empty() => l.check_key(&phone.to_owned()).is_ok(),
            _ => true,
        };
        source_ok && phone_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_gets_its_quota_then_is_refused_and_others_are_not() {
        let limiter = Limiter::new(RateLimits {
            per_phone_per_minute: 3,
            per_source_per_second: 0,
        });
        for _ in 0..3 {
            assert!(limiter.allow("+254711000001", None));
        }
        assert!(!limiter.allow("+254711000001", None));
        assert!(limiter.allow("+254711000002", None));
        let source: IpAddr = "10.0.0.1".parse().unwrap();
        let gateway = Limiter::new(RateLimits {
            per_phone_per_minute: 0,
            per_source_per_second: 2,
        });
        assert!(gateway.allow("a", Some(source)));
        assert!(gateway.allow("b", Some(source)));
        assert!(!gateway.allow("c", Some(source)));
        assert!(gateway.allow("d", Some("10.0.0.2".parse().unwrap())));
    }
}
