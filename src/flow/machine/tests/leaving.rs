//! Leaving (Exit, or Back to the bank list) withdraws a call queued but not
//! yet polled: the bank never sees it.

use super::{otp, Host};
use crate::flow::*;
use crate::form::Values;

/// Finding (review, 2026-12-04): calls queued but not yet polled survived
/// Exit, so a host that handled Submit then Exit before polling sent the
/// login, password and all, after the person had left. Now leaving
/// withdraws it: the bank never sees it, and the exit is still reported.
#[test]
fn a_login_not_yet_sent_is_not_sent_after_the_person_exits() {
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.session("s1");
    host.flow
        .handle(
            host.now,
            Input::User(UserAction::Submit(
                Values::new()
                    .with("username", "ada")
                    .with("password", "PW-hunter2"),
            )),
        )
        .unwrap();
    host.flow
        .handle(host.now, Input::User(UserAction::Exit))
        .unwrap();
    assert_eq!(host.flow.poll_effect(), None, "nothing is sent after Exit");
    assert_eq!(host.flow.state(), StateKind::Exited);
    let events: Vec<String> = std::iter::from_fn(|| host.flow.poll_event())
        .map(|e| e.kind.name().to_owned())
        .collect();
    assert_eq!(
        events.last().map(String::as_str),
        Some("EXIT"),
        "{events:?}"
    );
    // Nor does a stored copy carry it (or the password) to another process.
    let json = String::from_utf8(host.flow.snapshot().to_json()).unwrap();
    assert!(!json.contains("PW-hunter2"), "{json}");
}

/// Finding (review, 2026-12-04): the same for Back, and for an MFA answer:
/// going back to the bank list withdraws the commit not yet sent, and what
/// the list needs (nothing here: the catalogue is known) is all that goes.
#[test]
fn an_answer_not_yet_sent_is_not_sent_after_the_person_goes_back() {
    let mut host = Host::new(FlowConfig::default());
    host.choose_demo_bank();
    host.session("s1");
    host.log_in();
    host.reply(Ok(Reply::Step(Step::needs_input(otp()))));
    let otp = Values::new().with("otp", "123456");
    host.flow
        .handle(host.now, Input::User(UserAction::Submit(otp)))
        .unwrap();
    host.flow
        .handle(host.now, Input::User(UserAction::Back))
        .unwrap();
    assert_eq!(host.flow.poll_effect(), None, "no commit after Back");
    assert_eq!(host.flow.state(), StateKind::ChoosingInstitution);
    // The person can go on: choosing again opens a new session.
    host.act(UserAction::ChooseInstitution {
        id: "demo-bank".into(),
        auth_method: None,
    });
    assert_eq!(
        host.calls.last().map(Call::kind),
        Some(CallKind::CreateSession)
    );
}
