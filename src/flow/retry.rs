//! The one retry decision in the crate, as a pure function.

use super::call::CallKind;
use super::config::FlowConfig;
use super::reply::CallError;

/// The longest a partner's `Retry-After` may hold a retry back: a partner
/// (or anything in between) saying "retry in a day" must not park a person's
/// flow for a day; past this the read is tried and, if refused, given up.
pub const MAX_RETRY_AFTER_MS: u64 = 60_000;

/// How long to wait before making `call` again after it failed with `error`
/// for the `attempt`-th time (1-based), or `None` to give up.
///
/// Only reads are ever retried: a login or commit may have reached the bank
/// even when its reply was lost, and sending it again could lock the account
/// or burn an OTP. Only transient errors are retried (timeouts, dropped
/// connections, 5xx, 429). Delays double from `read_backoff_ms`; a 429's
/// `Retry-After` wins when it is longer, up to [`MAX_RETRY_AFTER_MS`].
pub fn retry_delay(
    config: &FlowConfig,
    call: CallKind,
    attempt: u8,
    error: &CallError,
) -> Option<u64> {
    if !call.is_read() || !error.is_transient() || attempt > config.max_read_retries {
        return None;
    }
    let exp = u32::from(attempt.saturating_sub(1)).min(16);
    let backoff = config.read_backoff_ms.saturating_mul(1u64 << exp);
    Some(match error {
        CallError::RateLimited {
            retry_after_ms: Some(after),
        } => backoff.max((*after).min(MAX_RETRY_AFTER_MS)),
        _ => backoff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_never_retried() {
        let c = FlowConfig::default();
        for kind in [
            CallKind::Login,
            CallKind::Commit,
            CallKind::CreateSession,
            CallKind::ExchangeCode,
        ] {
            assert_eq!(retry_delay(&c, kind, 1, &CallError::Timeout), None);
        }
    }

    #[test]
    fn reads_back_off_exponentially_then_give_up() {
        let c = FlowConfig::default();
        let d: Vec<_> = (1..=4)
            .map(|a| retry_delay(&c, CallKind::ListInstitutions, a, &CallError::Timeout))
            .collect();
        assert_eq!(d, [Some(500), Some(1000), Some(2000), None]);
    }

    #[test]
    fn permanent_errors_are_not_retried_and_retry_after_wins() {
        let c = FlowConfig::default();
        let l = CallKind::ListInstitutions;
        assert_eq!(
            retry_delay(&c, l, 1, &CallError::Unauthorized("no".into())),
            None
        );
        assert_eq!(
            retry_delay(
                &c,
                l,
                1,
                &CallError::Http {
                    status: 404,
                    message: String::new()
                }
            ),
            None
        );
        assert_eq!(
            retry_delay(
                &c,
                l,
                1,
                &CallError::Http {
                    status: 503,
                    message: String::new()
                }
            ),
            Some(500)
        );
        let rl = CallError::RateLimited {
            retry_after_ms: Some(7000),
        };
        assert_eq!(retry_delay(&c, l, 1, &rl), Some(7000));
        let day = CallError::RateLimited {
            retry_after_ms: Some(86_400_000),
        };
        assert_eq!(retry_delay(&c, l, 1, &day), Some(MAX_RETRY_AFTER_MS));
    }
}
