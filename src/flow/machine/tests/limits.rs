//! Limits that hold at their largest setting: code after code, and a list
//! retried, both stop at `u8::MAX` (rule 5).

use super::{otp, Host};
use crate::flow::*;
use crate::form::Values;

/// Finding (review, 2026-12-04): `rounds` saturated at 255 and was checked
/// with `>`, so with `max_rounds = 255` a bank that kept asking for one
/// more code kept the person answering for ever (rule 5). Now the flow ends
/// once the limit is used up, whatever the limit.
#[test]
fn a_bank_asking_for_code_after_code_is_stopped_even_at_the_largest_limit() {
    let mut host = Host::new(FlowConfig {
        max_rounds: u8::MAX,
        ..FlowConfig::default()
    });
    host.choose_demo_bank();
    host.session("s1");
    host.log_in();
    host.reply(Ok(Reply::Step(Step::needs_input(otp()))));
    for _ in 0..300 {
        if host.flow.is_finished() {
            break;
        }
        host.act(UserAction::Submit(Values::new().with("otp", "123456")));
        host.reply(Ok(Reply::Step(Step::needs_input(otp()))));
    }
    assert!(host.flow.is_finished(), "still {:?}", host.flow.state());
    assert!(matches!(
        host.flow.view(),
        View::Failed {
            failure: Failure::TooManyRounds { rounds: 255 },
            ..
        }
    ));
    // 255 forms answered, the 256th refused: exactly the limit.
    assert_eq!(host.count(CallKind::Commit), 255);
}

/// Finding (review, 2026-12-04): the list's retry count saturated at 255,
/// so with `max_read_retries = 255` a partner whose list kept timing out
/// was asked again for ever (rule 5). Now the 256th failure ends the flow.
#[test]
fn a_list_retried_up_to_u8_max_times_still_ends() {
    let mut host = Host::new(FlowConfig {
        max_read_retries: u8::MAX,
        read_backoff_ms: 1,
        ..FlowConfig::default()
    });
    for _ in 0..300 {
        if host.flow.is_finished() {
            break;
        }
        host.reply(Err(CallError::Timeout));
        if let Some(at) = host.flow.poll_timeout() {
            host.now = host.now.max(at);
            host.flow.handle_timeout(host.now);
            host.drain();
        }
    }
    assert!(host.flow.is_finished(), "still {:?}", host.flow.state());
    assert!(matches!(
        host.flow.view(),
        View::Failed {
            failure: Failure::PartnerUnavailable { .. },
            retryable: true,
        }
    ));
    // The first try and 255 retries.
    assert_eq!(host.count(CallKind::ListInstitutions), 256);
}

/// Finding (review, 2026-12-05): a flow parked on a pending login and
/// restored after its deadline (a person back half an hour later) has
/// both timers due; the poll's is the earlier and fired first, so the
/// flow, failed a moment later by the deadline, still handed out a poll
/// whose reply it then refused. Past the deadline it gives up and asks
/// for nothing.
#[test]
fn a_pending_flow_restored_past_its_deadline_gives_up_without_a_poll() {
    use std::sync::Arc;
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.session("s1");
    host.log_in();
    host.reply(Ok(Reply::Step(Step::Pending {
        poll_after_ms: 10_000,
        give_up_after_ms: 30 * 60_000,
        continuation: None,
    })));
    let polls_before = host.count(CallKind::Poll);
    // Parked, and restored half an hour on.
    let snapshot = Snapshot::from_json(&host.flow.snapshot().to_json()).expect("readable");
    let catalogue = Arc::new(crate::flow::explore::demo_catalogue());
    host.flow = ConnectFlow::restore(snapshot, Some(catalogue)).expect("restored");

    host.now = host.now.plus_ms(31 * 60_000);
    host.flow.handle_timeout(host.now);

    assert!(
        matches!(
            host.flow.view(),
            View::Failed {
                failure: Failure::PartnerUnavailable { .. },
                ..
            }
        ),
        "{:?}",
        host.flow.state()
    );
    assert_eq!(host.flow.poll_effect(), None, "no poll from a failed flow");
    assert_eq!(host.count(CallKind::Poll), polls_before);
}
