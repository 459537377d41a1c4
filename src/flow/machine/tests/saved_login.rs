//! Rule 2 for a saved login (and a re-authorisation's opening call): it is
//! sent once, on the person's act, never again on the flow's own.

use super::{otp, rejected, Host, T0};
use crate::flow::explore::demo_catalogue;
use crate::flow::*;
use crate::form::{Form, Values};
use std::sync::Arc;

/// A session that asks nothing: the partner keeps the login (a returning
/// user, Flinks' cached card, a re-authorisation).
fn saved_login_session(id: &str, expires_at: Option<Timestamp>) -> Result<Reply, CallError> {
    Ok(Reply::SessionCreated(SessionInfo {
        expires_at,
        form: Some(Form::new("", Vec::new())),
        ..SessionInfo::new(id)
    }))
}

/// The flow ended as an expired session does: retryable, so the person may
/// start again (their own act), and nothing more is sent.
fn assert_ended_for_the_person_to_start_again(host: &mut Host) {
    assert!(
        matches!(
            host.flow.view(),
            View::Failed {
                failure: Failure::SessionExpired,
                retryable: true,
            }
        ),
        "{:?}",
        host.flow.view()
    );
    assert_eq!(host.flow.poll_effect(), None);
}

/// Finding (review, 2026-12-04), rule 2: a re-authorisation's session asked
/// for nothing, so its (saved) login went at once; the bank answered
/// "restart the login", and the flow opened a new session, got an empty
/// form again and sent the same login again, with nobody pressing anything,
/// until the attempt limit said "your bank may have locked this login".
/// Now the saved login goes once; the flow neither opens another session
/// (in a re-authorisation that call may itself log in) nor logs in again,
/// and ends retryably for the person to start again.
#[test]
fn a_saved_login_the_bank_restarts_is_not_sent_again_on_its_own() {
    let mut host = Host::new(FlowConfig::default().with_reauthorise("acct-1", "demo-bank", None));
    host.reply(Ok(Reply::Institutions(Arc::new(demo_catalogue()))));
    assert_eq!(
        host.calls.last().map(Call::kind),
        Some(CallKind::Reauthorise)
    );
    host.reply(saved_login_session("s1", None));
    assert_eq!(
        host.count(CallKind::Login),
        1,
        "the first saved login goes at once"
    );
    host.reply(rejected(RejectionKind::RestartLogin, "Log in again"));

    assert_eq!(host.count(CallKind::Login), 1, "no second login on its own");
    assert_eq!(
        host.count(CallKind::Reauthorise),
        1,
        "no new session on its own"
    );
    assert_ended_for_the_person_to_start_again(&mut host);
}

/// Finding (review, 2026-12-04), rule 2: the same through the session's
/// expiry. A person on the OTP screen of a session whose login was the
/// saved one lets the session run out: renewing it would send the saved
/// login again on its own, so the flow ends as an expired session does.
#[test]
fn a_saved_login_session_that_expires_is_not_renewed_with_another_login() {
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.reply(saved_login_session("s1", Some(T0.plus_ms(300_000))));
    host.reply(Ok(Reply::Step(Step::needs_input(otp()))));
    assert_eq!(host.flow.state(), StateKind::AwaitingInput);

    host.now = host.flow.poll_timeout().expect("the session's expiry");
    host.flow.handle_timeout(host.now);
    host.drain();

    assert_eq!(host.count(CallKind::Login), 1);
    assert_eq!(host.count(CallKind::CreateSession), 1);
    assert_ended_for_the_person_to_start_again(&mut host);
}

/// Finding (review, 2026-12-04), rule 2: a saved login answered "session
/// expired" is not renewed into a second saved login either.
#[test]
fn a_saved_login_answered_session_expired_is_not_sent_again() {
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.reply(saved_login_session("s1", None));
    host.reply(rejected(RejectionKind::SessionExpired, "Session expired"));

    assert_eq!(host.count(CallKind::Login), 1);
    assert_eq!(host.count(CallKind::CreateSession), 1);
    assert_ended_for_the_person_to_start_again(&mut host);
}

/// Finding (review, 2026-12-04), rule 2: a re-authorisation the partner
/// settles in the call that opens it (Flinks' cached `/Authorize`, Mono's
/// re-auth session) is a login already; "restart" used to make that call
/// again and again. Now once.
#[test]
fn a_reauthorisation_settled_by_the_partner_is_not_made_again_on_its_own() {
    let mut host = Host::new(FlowConfig::default().with_reauthorise("acct-1", "demo-bank", None));
    host.reply(Ok(Reply::Institutions(Arc::new(demo_catalogue()))));
    host.reply(rejected(RejectionKind::RestartLogin, "No stored answer"));

    assert_eq!(host.count(CallKind::Reauthorise), 1);
    assert_eq!(host.count(CallKind::Login), 0);
    assert_ended_for_the_person_to_start_again(&mut host);
}

/// Finding (review, 2026-12-04), rule 2: a login is sent on the flow's own
/// only as the first login of a session the person started. A session the
/// flow opened itself (here: restarting after a wrong OTP) that comes back
/// asking nothing does not send the saved login by itself.
#[test]
fn a_session_the_flow_reopened_does_not_log_in_on_its_own() {
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.session("s1");
    host.log_in();
    host.reply(Ok(Reply::Step(Step::needs_input(otp()))));
    host.act(UserAction::Submit(Values::new().with("otp", "000000")));
    host.reply(rejected(RejectionKind::RestartLogin, "Wrong answer"));
    assert_eq!(
        host.count(CallKind::CreateSession),
        2,
        "restarted by the flow"
    );
    host.reply(saved_login_session("s2", None));

    assert_eq!(host.count(CallKind::Login), 1, "only the person's own");
    assert_ended_for_the_person_to_start_again(&mut host);
}

/// What still works: a saved login the partner could not answer right now
/// ("try later") waits on the login screen, and the person pressing on
/// sends it (their act, not the flow's).
#[test]
fn a_saved_login_goes_again_when_the_person_presses_on() {
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.reply(saved_login_session("s1", None));
    host.reply(rejected(RejectionKind::TryLater, "Bank unreachable"));
    assert_eq!(host.flow.state(), StateKind::AwaitingCredentials);
    assert_eq!(host.count(CallKind::Login), 1);

    host.act(UserAction::Submit(Values::new()));
    assert_eq!(host.count(CallKind::Login), 2);
    host.reply(Ok(Reply::Step(Step::account("login-1"))));
    assert_eq!(host.flow.state(), StateKind::Done);
}

/// A re-authorisation's saved login refused for needing the person (the
/// partner's cache had no answer to the bank's question): back to the list
/// with word of why, and choosing the bank (the person's act) makes the
/// re-authorisation live. Once: refused the same way again, it ends.
#[test]
fn a_saved_login_needing_the_person_goes_on_live_once_they_choose_the_bank() {
    let needs_person = || {
        Ok(Reply::Step(Step::Rejected(
            Rejection::new(RejectionKind::RestartLogin, "Your bank has questions").needing_person(),
        )))
    };
    let mut host = Host::new(FlowConfig::default().with_reauthorise("acct-1", "demo-bank", None));
    host.reply(Ok(Reply::Institutions(Arc::new(demo_catalogue()))));
    host.reply(saved_login_session("s1", None));
    assert_eq!(host.count(CallKind::Login), 1);
    host.reply(needs_person());

    match host.flow.view() {
        View::ChooseInstitution {
            notice: Some(Notice::AnswersNeeded { message }),
            ..
        } => assert_eq!(message, "Your bank has questions"),
        other => panic!("expected the list, got {other:?}"),
    }
    assert!(
        matches!(host.calls.last(), Some(Call::Login { .. })),
        "nothing made on the flow's own"
    );
    host.act(UserAction::ChooseInstitution {
        id: "demo-bank".into(),
        auth_method: None,
    });
    assert!(
        matches!(
            host.calls.last(),
            Some(Call::Reauthorise { live: true, .. })
        ),
        "{:?}",
        host.calls.last()
    );
    // A restored flow keeps going live.
    let snapshot = Snapshot::from_json(&host.flow.snapshot().to_json()).expect("readable");
    host.flow = ConnectFlow::restore(snapshot, Some(Arc::new(demo_catalogue()))).expect("restored");
    host.reply(saved_login_session("s2", None));
    assert_eq!(host.count(CallKind::Login), 2);
    host.reply(needs_person());

    assert_ended_for_the_person_to_start_again(&mut host);
    assert_eq!(host.count(CallKind::Reauthorise), 2);
}
