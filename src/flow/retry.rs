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
///
/// `attempt` is a count, never a saturated one: a caller that has seen more
/// failures than a `u8` holds is past every `max_read_retries` and must give
/// up without asking (the flow does, with `checked_add`), or a limit of
/// `u8::MAX` would never be reached.
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

    /// Finding (review, 2026-12-04): a limit of `u8::MAX` is a real limit.
    /// The 255th failure still gets its retry; what ends the flow is the
    /// 256th, which the flow gives up on before asking (see
    /// `machine::tests::a_list_retried_up_to_u8_max_times_still_ends`).
    #[test]
    fn the_largest_limit_still_retries_its_last_attempt() {
        let c = FlowConfig {
            max_read_retries: u8::MAX,
            ..FlowConfig::default()
        };
        let l = CallKind::ListInstitutions;
        assert!(retry_delay(&c, l, u8::MAX, &CallError::Timeout).is_some());
        let three = FlowConfig::default();
        assert_eq!(retry_delay(&three, l, 4, &CallError::Timeout), None);
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
