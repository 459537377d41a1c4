//! Snapshots: small, exact, and free of sent secrets.
#![cfg(feature = "testing")]

use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use connectflow::testing::catalogues;
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);

/// GTBank with Mono-shaped ids (24 hex characters): the sizes measured are
/// the sizes production will see. The stored `snapshot_v1` fixtures refer to
/// this catalogue by fingerprint.
fn catalogue() -> Arc<Catalogue> {
    Arc::new(catalogues::gtbank_mono_ids())
}

fn answer(flow: &mut ConnectFlow, result: Result<Reply, CallError>) -> Call {
    let Some(Effect::Call { id, call }) = flow.poll_effect() else {
        panic!("no call in flight")
    };
    flow.handle(T0, Input::Api { id, result }).unwrap();
    call
}

/// A flow parked on an OTP form, effects drained: the typical USSD session at rest.
fn parked_on_otp() -> ConnectFlow {
    let mut flow = ConnectFlow::new(FlowConfig::default().with_reference("order-2291"), T0);
    answer(&mut flow, Ok(Reply::Institutions(catalogue())));
    flow.handle(
        T0,
        Input::User(UserAction::ChooseInstitution {
            id: catalogues::GTBANK_MONO_ID.into(),
            auth_method: None,
        }),
    )
    .unwrap();
    let session = SessionInfo {
        continuation: None,
        id: "b1c9e2a4-5f3d-4c2a-9e8b-7d6f5a4b3c2d".into(),
        expires_at: Some(T0.plus_ms(600_000)),
        form: None,
        institution: None,
    };
    answer(&mut flow, Ok(Reply::SessionCreated(session)));
    let values = Values::new()
        .with("username", "ada@example.com")
        .with("password", "PW-hunter2");
    flow.handle(T0, Input::User(UserAction::Submit(values)))
        .unwrap();
    let otp = Form::new(
        "Enter OTP",
        vec![Field::input("otp", "OTP sent to 080...21").max_length(6)],
    );
    answer(&mut flow, Ok(Reply::Step(Step::needs_input(otp))));
    while flow.poll_event().is_some() {}
    flow
}

#[test]
fn a_parked_mid_flow_snapshot_fits_in_512_bytes_without_the_catalogue() {
    let json = parked_on_otp().snapshot().to_json();
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(json.len() <= 512, "{} bytes: {text}", json.len());
    assert!(
        !text.contains("Log in to GTBank"),
        "the catalogue was copied: {text}"
    );
}

#[test]
fn a_sent_secret_is_never_in_a_snapshot_but_an_unsent_one_may_be() {
    let mut flow = parked_on_otp();
    let text = String::from_utf8(flow.snapshot().to_json()).unwrap();
    assert!(!text.contains("PW-hunter2"));
    flow.handle(
        T0,
        Input::User(UserAction::Submit(Values::new().with("otp", "987654"))),
    )
    .unwrap();
    let text = String::from_utf8(flow.snapshot().to_json()).unwrap();
    // Not yet polled: the OTP is still waiting to be sent, so it may be stored.
    assert!(text.contains("987654"));
    let _ = flow.poll_effect();
    let text = String::from_utf8(flow.snapshot().to_json()).unwrap();
    assert!(!text.contains("987654"), "sent OTP stored: {text}");
}

#[test]
fn round_trip_is_exact_and_the_restored_flow_behaves_the_same() {
    let flow = parked_on_otp();
    let snap = flow.snapshot();
    let again = Snapshot::from_json(&snap.to_json()).unwrap();
    assert_eq!(again, snap);
    let mut a = flow.clone();
    let mut b = ConnectFlow::restore(again, Some(catalogue())).unwrap();
    for flow in [&mut a, &mut b] {
        flow.handle(
            T0,
            Input::User(UserAction::Submit(Values::new().with("otp", "111111"))),
        )
        .unwrap();
    }
    assert_eq!(a.poll_effect(), b.poll_effect());
    assert_eq!(a.poll_event(), b.poll_event());
    assert_eq!(a.snapshot(), b.snapshot());
}

#[test]
fn a_snapshot_from_another_version_or_garbage_is_refused() {
    let text = String::from_utf8(parked_on_otp().snapshot().to_json()).unwrap();
    assert!(text.starts_with("{\"v\":2,"), "{text}");
    let future = text.replacen("\"v\":2", "\"v\":3", 1);
    assert!(matches!(
        Snapshot::from_json(future.as_bytes()),
        Err(RestoreError::Version {
            found: 3,
            expected: 2
        })
    ));
    for bare in [&b"{\"v\":1}"[..], b"{\"v\":2}"] {
        assert!(matches!(
            Snapshot::from_json(bare),
            Err(RestoreError::Malformed(_))
        ));
    }
    assert!(matches!(
        Snapshot::from_json(b"\xff\x00"),
        Err(RestoreError::Malformed(_))
    ));
}

#[test]
fn restored_on_the_list_without_the_catalogue_it_fetches_the_list_again() {
    let mut flow = ConnectFlow::new(FlowConfig::default(), T0);
    answer(&mut flow, Ok(Reply::Institutions(catalogue())));
    let mut restored = ConnectFlow::restore(flow.snapshot(), None).unwrap();
    assert_eq!(restored.state(), StateKind::LoadingInstitutions);
    assert!(matches!(
        restored.poll_effect(),
        Some(Effect::Call {
            call: Call::ListInstitutions,
            ..
        })
    ));
    // With a different catalogue (fingerprint mismatch) it does the same.
    let other = Arc::new(catalogues::demo());
    let restored = ConnectFlow::restore(flow.snapshot(), Some(other)).unwrap();
    assert_eq!(restored.state(), StateKind::LoadingInstitutions);
}

fn v1_fixture(name: &str) -> ConnectFlow {
    let path = format!(
        "{}/tests/fixtures/snapshot_v1/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let snapshot = Snapshot::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    ConnectFlow::restore(snapshot, Some(catalogue())).unwrap()
}

/// Snapshots written by the first format (`tests/fixtures/snapshot_v1/`,
/// made by the build before the timer table) restore, keep their deadlines,
/// and go on exactly where they were: a deploy strands no one mid-flow.
#[test]
fn snapshots_of_the_previous_format_restore_and_carry_on() {
    // Parked on an OTP form: the session's expiry is still the deadline and
    // an answer is committed to the same session.
    let mut flow = v1_fixture("parked_on_otp");
    assert_eq!(flow.state(), StateKind::AwaitingInput);
    assert_eq!(flow.poll_timeout(), Some(T0.plus_ms(600_000)));
    assert_eq!(flow.reference(), Some("order-2291"));
    flow.handle(
        T0,
        Input::User(UserAction::Submit(Values::new().with("otp", "123456"))),
    )
    .unwrap();
    let Some(Effect::Call {
        call: Call::Commit { session, .. },
        ..
    }) = flow.poll_effect()
    else {
        panic!("expected a commit")
    };
    assert_eq!(session.id, "b1c9e2a4-5f3d-4c2a-9e8b-7d6f5a4b3c2d");

    // A retry of the list was scheduled: the timer is in the table now.
    let mut flow = v1_fixture("loading_retry");
    assert_eq!(flow.next_timer(), Some((Timer::ReadRetry, T0.plus_ms(500))));
    flow.handle_timeout(T0.plus_ms(500));
    assert!(matches!(
        flow.poll_effect(),
        Some(Effect::Call {
            call: Call::ListInstitutions,
            ..
        })
    ));

    // A failed exchange holding its code: the code still expires on time.
    let mut flow = v1_fixture("linked_exchange_failed");
    assert_eq!(flow.state(), StateKind::Linked);
    assert_eq!(
        flow.next_timer(),
        Some((Timer::CodeExpiry, T0.plus_ms(600_000)))
    );
    flow.handle_timeout(T0.plus_ms(600_000));
    assert_eq!(flow.state(), StateKind::Failed);

    // A login stored before it was polled: sent with its values and the
    // institution it was for (which v1 did not store on the effect).
    let mut flow = v1_fixture("logging_in_unpolled");
    let Some(Effect::Call {
        call: Call::Login {
            institution,
            values,
            ..
        },
        ..
    }) = flow.poll_effect()
    else {
        panic!("expected the unsent login")
    };
    assert_eq!(institution, catalogues::GTBANK_MONO_ID);
    assert_eq!(values.get("password").unwrap().expose(), "PW-hunter2");

    // The rest restore to the state they were in, with a view.
    for (name, kind) in [
        ("choosing", StateKind::ChoosingInstitution),
        (
            "credentials_after_rejection",
            StateKind::AwaitingCredentials,
        ),
        ("choosing_account", StateKind::AwaitingAccount),
        ("done", StateKind::Done),
    ] {
        let flow = v1_fixture(name);
        assert_eq!(flow.state(), kind, "{name}");
        let _ = flow.view();
    }
    let done = v1_fixture("done");
    assert!(matches!(
        done.view(),
        View::Done {
            code: Some("code_abc"),
            account_id: Some("acc_1")
        }
    ));
}

/// The flow parked on the OTP form answers it; the bank refuses the answer
/// in a way that needs a new login ("restart"), and the new session, like
/// every Flinks session, carries no login form: the catalogue's is used.
fn answer_wrong_then_new_session(flow: &mut ConnectFlow) {
    flow.handle(
        T0,
        Input::User(UserAction::Submit(Values::new().with("otp", "000000"))),
    )
    .unwrap();
    let restart = Rejection::new(RejectionKind::RestartLogin, "Wrong answer");
    answer(flow, Ok(Reply::Step(Step::Rejected(restart))));
    let call = answer(flow, Ok(Reply::SessionCreated(SessionInfo::new("s2"))));
    assert_eq!(call.kind(), CallKind::CreateSession);
}

/// Finding (review, 2026-12-04): a restore kept the catalogue only when
/// its fingerprint matched exactly, and the list changes under a parked
/// flow (a bank added, a bank's icon, a health note). The dropped catalogue
/// never came back, so a flow whose sessions carry no login form (Flinks)
/// failed with "the institution sent no login form" at its next restart,
/// and switching auth method was refused. Now a list that still offers the
/// flow's bank and method is adopted, and its fingerprint kept.
#[test]
fn a_flow_restored_against_a_changed_list_keeps_its_bank_and_can_log_in_again() {
    let parked = parked_on_otp().snapshot();
    let mut institutions = catalogue().institutions().to_vec();
    institutions[0].icon = Some("https://example.com/gtbank-2027.png".into());
    institutions.push(Institution::new("new-bank", "New Bank", Vec::new()));
    let changed = Arc::new(Catalogue::new(institutions));
    assert_ne!(changed.fingerprint(), catalogue().fingerprint());

    let mut flow = ConnectFlow::restore(parked.clone(), Some(Arc::clone(&changed))).unwrap();
    assert_eq!(
        flow.snapshot().catalogue_fingerprint(),
        Some(changed.fingerprint()),
        "the list adopted is the one a later restore is checked against"
    );
    answer_wrong_then_new_session(&mut flow);
    assert_eq!(flow.state(), StateKind::AwaitingCredentials);
    match flow.view() {
        View::Form(f) => assert_eq!(f.form.title, "Log in to GTBank"),
        other => panic!("expected the login form, got {other:?}"),
    }

    // Switching to mobile banking is offered as before.
    let mut switched = ConnectFlow::restore(parked, Some(changed)).unwrap();
    switched
        .handle(
            T0,
            Input::User(UserAction::SwitchAuthMethod(AuthMethodKind::MobileBanking)),
        )
        .unwrap();
    assert_eq!(switched.state(), StateKind::CreatingSession);
}

/// Finding (review, 2026-12-04): the service marks a failing bank in the
/// list it shows (`connectflow_health`), and the mark changed the list's
/// fingerprint, so every parked flow lost its catalogue whenever a bank's
/// health changed. The mark is this process's note, not the partner's
/// list: it no longer counts, and a parked flow carries on as if nothing
/// happened.
#[test]
fn a_health_note_on_the_list_does_not_change_its_fingerprint() {
    use connectflow::service::{Health, HealthConfig, HEALTH_KEY};
    let health = Health::new(HealthConfig::default());
    for i in 0..10 {
        health.record_outcome(
            "mono",
            catalogues::GTBANK_MONO_ID,
            &AuthMethodKind::InternetBanking,
            true,
            T0.plus_ms(i),
        );
    }
    let marked = health.apply("mono", catalogue(), T0.plus_ms(100));
    assert!(marked.institutions()[0].extra.contains_key(HEALTH_KEY));
    assert_eq!(marked.fingerprint(), catalogue().fingerprint());

    let mut flow = ConnectFlow::restore(parked_on_otp().snapshot(), Some(marked)).unwrap();
    answer_wrong_then_new_session(&mut flow);
    assert_eq!(flow.state(), StateKind::AwaitingCredentials);
}

/// A list that no longer offers the flow's bank is not taken for it: the
/// flow's bank is what it needs the list for. (Back then fetches the list
/// again, as before.)
#[test]
fn a_list_without_the_flows_bank_is_not_adopted() {
    let other = Arc::new(catalogues::demo());
    let flow = ConnectFlow::restore(parked_on_otp().snapshot(), Some(other)).unwrap();
    assert_eq!(flow.snapshot().catalogue_fingerprint(), None);
}
