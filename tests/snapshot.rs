//! Snapshots: small, exact, and free of sent secrets.

use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);

/// A catalogue with Mono-shaped ids (24 hex characters).
fn catalogue() -> Arc<Catalogue> {
    let login = Form::new(
        "Log in to GTBank",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    );
    let mobile = Form::new(
        "Mobile",
        vec![
            Field::input("accountNo", "Account number"),
            Field::password("pin", "PIN").max_length(4),
        ],
    );
    Arc::new(Catalogue::new(vec![Institution::new(
        "5f2d08be60b92e2888287702",
        "GTBank",
        vec![
            AuthMethod::new(AuthMethodKind::InternetBanking, Some(login)),
            AuthMethod::new(AuthMethodKind::MobileBanking, Some(mobile)),
        ],
    )]))
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
            id: "5f2d08be60b92e2888287702".into(),
            auth_method: None,
        }),
    )
    .unwrap();
    let session = SessionInfo {
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
    answer(&mut flow, Ok(Reply::Step(Step::NeedsInput { form: otp })));
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
    let v2 = text.replacen("\"v\":1", "\"v\":2", 1);
    assert!(matches!(
        Snapshot::from_json(v2.as_bytes()),
        Err(RestoreError::Version {
            found: 2,
            expected: 1
        })
    ));
    assert!(matches!(
        Snapshot::from_json(b"{\"v\":1}"),
        Err(RestoreError::Malformed(_))
    ));
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
    assert_eq!(restored.state().kind(), StateKind::LoadingInstitutions);
    assert!(matches!(
        restored.poll_effect(),
        Some(Effect::Call {
            call: Call::ListInstitutions,
            ..
        })
    ));
    // With a different catalogue (fingerprint mismatch) it does the same.
    let other = Arc::new(explore::demo_catalogue());
    let restored = ConnectFlow::restore(flow.snapshot(), Some(other)).unwrap();
    assert_eq!(restored.state().kind(), StateKind::LoadingInstitutions);
}
