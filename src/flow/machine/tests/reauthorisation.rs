//! A re-authorisation the partner settles, refuses for now or as wrong, or
//! leaves pending: back to the list of its own bank, bounded, never a login
//! on no session; a notice carried through reloading the list.

use super::{rejected, Host};
use crate::flow::explore::demo_catalogue;
use crate::flow::*;
use std::sync::Arc;

/// A re-authorisation opened with the demo bank preselected, its opening
/// call in flight.
fn reauthorising() -> Host {
    let mut host = Host::new(FlowConfig::default().with_reauthorise("acct-1", "demo-bank", None));
    host.reply(Ok(Reply::Institutions(Arc::new(demo_catalogue()))));
    assert_eq!(
        host.calls.last().map(Call::kind),
        Some(CallKind::Reauthorise)
    );
    host
}

/// Finding (review, 2026-12-04): a re-authorisation the partner settled in
/// the call that opened it (Mono quirk 13, Flinks' cached `/Authorize`)
/// and refused with "try later" put the person on the login form holding a
/// session with no id: their Submit sent a login on no partner session.
/// Now the flow goes back to where that call was made from, the bank list,
/// and the person choosing the bank again makes the re-authorisation's
/// opening call again (their act, rule 2); no login is ever sent.
#[test]
fn a_reauthorisation_settled_then_refused_for_now_is_opened_again_by_the_person() {
    let mut host = reauthorising();
    host.reply(rejected(RejectionKind::TryLater, "Bank unreachable"));

    assert_eq!(host.flow.state(), StateKind::ChoosingInstitution);
    assert!(
        matches!(
            host.flow.view(),
            View::ChooseInstitution {
                notice: Some(Notice::PartnerUnavailable { .. }),
                ..
            }
        ),
        "{:?}",
        host.flow.view()
    );
    assert_eq!(host.flow.poll_effect(), None, "nothing on the flow's own");
    assert_eq!(host.count(CallKind::Reauthorise), 1);

    host.act(UserAction::ChooseInstitution {
        id: "demo-bank".into(),
        auth_method: None,
    });
    assert_eq!(
        host.calls.last().map(Call::kind),
        Some(CallKind::Reauthorise),
        "the person's choice opens it again"
    );
    host.reply(Ok(Reply::Step(Step::code("code_2"))));
    host.reply(Ok(Reply::Exchanged {
        account_id: "acct-1".into(),
    }));

    assert_eq!(host.flow.state(), StateKind::Done);
    assert_eq!(host.count(CallKind::Reauthorise), 2);
    assert_eq!(host.count(CallKind::Login), 0, "no login on no session");
}

/// Finding (review, 2026-12-04): back on the list after a "try later", a
/// re-authorisation offered every bank, and choosing another one
/// re-authorised the configured account (the partner is not told the bank)
/// while the flow reported the other bank as linked. Only its own bank is
/// listed and choosable.
#[test]
fn a_reauthorisation_back_on_the_list_offers_only_its_own_bank() {
    let demo = demo_catalogue();
    let mut banks = demo.institutions().to_vec();
    let mut other = banks[0].clone();
    other.id = "other-bank".into();
    other.name = "Other Bank".into();
    banks.push(other);
    let mut host = Host::new(FlowConfig::default().with_reauthorise("acct-1", "demo-bank", None));
    host.reply(Ok(Reply::Institutions(Arc::new(Catalogue::new(banks)))));
    host.reply(rejected(RejectionKind::TryLater, "Bank unreachable"));

    let View::ChooseInstitution { institutions, .. } = host.flow.view() else {
        panic!("{:?}", host.flow.view());
    };
    let ids: Vec<&str> = institutions.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["demo-bank"]);
    let refused = host.flow.handle(
        host.now,
        Input::User(UserAction::ChooseInstitution {
            id: "other-bank".into(),
            auth_method: None,
        }),
    );
    assert!(
        matches!(refused, Err(FlowError::UnknownInstitution(ref id)) if id == "other-bank"),
        "{refused:?}"
    );
    assert_eq!(host.count(CallKind::Reauthorise), 1, "nothing was opened");
}

/// The same refusal again and again is bounded like any "try later"
/// (`max_transport_failures`), each re-opening the person's act.
#[test]
fn a_reauthorisation_refused_for_now_every_time_ends() {
    let mut host = reauthorising();
    for _ in 0..10 {
        host.reply(rejected(RejectionKind::TryLater, "Bank unreachable"));
        if host.flow.is_finished() {
            break;
        }
        assert_eq!(host.flow.state(), StateKind::ChoosingInstitution);
        host.act(UserAction::ChooseInstitution {
            id: "demo-bank".into(),
            auth_method: None,
        });
    }
    assert!(
        matches!(
            host.flow.view(),
            View::Failed {
                failure: Failure::PartnerUnavailable { .. },
                retryable: true,
            }
        ),
        "{:?}",
        host.flow.view()
    );
    let limit = usize::from(FlowConfig::default().max_transport_failures);
    assert_eq!(host.count(CallKind::Reauthorise), limit);
    assert_eq!(host.count(CallKind::Login), 0);
}

/// Finding (review, 2026-12-04): the same call refused as "wrong" (Mono's
/// refusals without a machine code; Flinks' `INVALID_LOGIN` for a card
/// without tokens) also became a login form on no session. The person typed
/// nothing, so typing cannot fix it and making the call again would only
/// repeat a refused stored login at their bank: it ends as a refused stored
/// login does (as it already did for a Flinks card with tokens), with the
/// partner's words.
#[test]
fn a_reauthorisation_settled_then_refused_as_wrong_ends_with_the_partners_words() {
    let mut host = reauthorising();
    host.reply(rejected(RejectionKind::Retry, "Invalid credentials"));

    match host.flow.view() {
        View::Failed {
            failure: Failure::Rejected { message, .. },
            retryable: false,
        } => assert_eq!(message, "Invalid credentials"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(host.flow.poll_effect(), None);
    assert_eq!(host.count(CallKind::Login), 0);
    assert_eq!(host.count(CallKind::Reauthorise), 1);
}

/// The same through a pending step (Flinks' `202` to a cached `/Authorize`):
/// the poll's "try later", even in a flow stored and restored while it
/// waited, goes back to the list, not to a login form on no session.
#[test]
fn a_pending_reauthorisation_refused_for_now_goes_back_to_the_list() {
    let mut host = reauthorising();
    host.reply(Ok(Reply::Step(Step::Pending {
        poll_after_ms: 10_000,
        give_up_after_ms: 60_000,
        continuation: Some(Continuation::new("req-1")),
    })));
    assert_eq!(host.flow.state(), StateKind::Pending);
    let snapshot = Snapshot::from_json(&host.flow.snapshot().to_json()).expect("readable");
    host.flow = ConnectFlow::restore(snapshot, Some(Arc::new(demo_catalogue()))).expect("restored");

    host.now = host.flow.poll_timeout().expect("the poll's timer");
    host.flow.handle_timeout(host.now);
    host.drain();
    assert_eq!(host.calls.last().map(Call::kind), Some(CallKind::Poll));
    host.reply(rejected(RejectionKind::TryLater, "Bank unreachable"));

    assert_eq!(host.flow.state(), StateKind::ChoosingInstitution);
    assert_eq!(host.flow.poll_timeout(), None, "no poll or deadline left");
    assert_eq!(host.count(CallKind::Login), 0);
}

/// Finding (review, 2026-12-04): back to the list with a notice ("try
/// later") when the flow had no list to go back to (restored without its
/// catalogue: the bank is no longer offered), the list was loaded again and
/// the notice was lost: the person landed on the list with no word of why.
/// It is carried through the load, and through a restore of the list.
#[test]
fn a_notice_survives_reloading_the_list() {
    let mut host = reauthorising();
    host.reply(Ok(Reply::Step(Step::Pending {
        poll_after_ms: 10_000,
        give_up_after_ms: 60_000,
        continuation: Some(Continuation::new("req-1")),
    })));
    let snapshot = Snapshot::from_json(&host.flow.snapshot().to_json()).expect("readable");
    // Restored with no catalogue: the list is gone from this process.
    host.flow = ConnectFlow::restore(snapshot, None).expect("restored");
    host.now = host.flow.poll_timeout().expect("the poll's timer");
    host.flow.handle_timeout(host.now);
    host.drain();
    host.reply(rejected(RejectionKind::TryLater, "Bank unreachable"));
    assert_eq!(
        host.calls.last().map(Call::kind),
        Some(CallKind::ListInstitutions)
    );
    // Stored while the list loads, and restored.
    let snapshot = Snapshot::from_json(&host.flow.snapshot().to_json()).expect("readable");
    host.flow = ConnectFlow::restore(snapshot, None).expect("restored");
    host.drain();
    host.reply(Ok(Reply::Institutions(Arc::new(demo_catalogue()))));
    assert!(
        matches!(
            host.flow.view(),
            View::ChooseInstitution {
                notice: Some(Notice::PartnerUnavailable { .. }),
                ..
            }
        ),
        "{:?}",
        host.flow.view()
    );
}
