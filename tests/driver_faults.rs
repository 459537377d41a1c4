//! The driver against a partner that misbehaves, over real loopback HTTP:
//! a dropped connection, a 500, garbage, silence. Every fault must end in a
//! typed, retryable outcome the person sees, the next attempt must be able to
//! succeed, and no login is ever sent twice for one submission.
#![cfg(feature = "testing")]

use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use connectflow::testing::{catalogues, mono_driver, Answer, StubPartner};
use std::time::Duration;

/// What the partner does with a login.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    Drop,
    ServerError,
    Garbage,
    Silence,
}

impl Fault {
    fn answer(self) -> Answer {
        match self {
            Fault::Drop => Answer::drop_connection(),
            Fault::ServerError => Answer::status(500, "boom"),
            Fault::Garbage => Answer::garbage(),
            Fault::Silence => Answer::hang(),
        }
    }
}

fn driver(url: &str) -> Driver {
    let config = DriverConfig {
        call_timeout: Duration::from_millis(500),
        max_step_timeout: Duration::from_millis(500),
        ..DriverConfig::default()
    };
    mono_driver(url, config)
}

async fn to_login_form(driver: &Driver, config: FlowConfig) -> ConnectFlow {
    let mut flow = ConnectFlow::new(config, now());
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    flow.handle(
        now(),
        Input::User(UserAction::ChooseInstitution {
            id: catalogues::DEMO_BANK.into(),
            auth_method: None,
        }),
    )
    .unwrap();
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert_eq!(flow.state(), StateKind::AwaitingCredentials);
    flow
}

fn credentials() -> Input {
    Input::User(UserAction::Submit(
        Values::new().with("username", "ada").with("password", "pw"),
    ))
}

/// One fault on login: the person is back on the login form with a
/// "not responding" notice, exactly one login reached the partner, and
/// submitting again once the partner is healthy links the account.
async fn fault_then_recovery(fault: Fault) {
    let partner = StubPartner::start().await.unwrap();
    partner.answer_once(StubPartner::LOGIN, fault.answer());
    let driver = driver(&partner.url());
    let mut flow = to_login_form(&driver, FlowConfig::default()).await;
    let mut errors = Vec::new();
    flow.handle(now(), credentials()).unwrap();
    driver
        .run(&mut flow, &mut |e| {
            if let EventKind::Error { error_type, .. } = &e.kind {
                errors.push(*error_type)
            }
        })
        .await
        .unwrap();
    assert_eq!(
        partner.count(StubPartner::LOGIN),
        1,
        "{fault:?}: login sent more than once"
    );
    match flow.view() {
        View::Form(f) => assert!(
            matches!(f.notice, Some(Notice::PartnerUnavailable { .. })),
            "{fault:?}: {:?}",
            f.notice
        ),
        other => panic!("{fault:?}: expected the login form again, got {other:?}"),
    }
    assert_eq!(errors, [ErrorType::PartnerUnavailable]);

    // The one-off fault is used up: the partner is healthy again.
    flow.handle(now(), credentials()).unwrap();
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert_eq!(partner.count(StubPartner::LOGIN), 2);
    assert!(
        matches!(
            flow.view(),
            View::Done {
                account_id: Some("acc_1"),
                ..
            }
        ),
        "{:?}",
        flow.view()
    );
}

#[tokio::test]
async fn dropped_connection_on_login() {
    fault_then_recovery(Fault::Drop).await;
}

#[tokio::test]
async fn server_error_on_login() {
    fault_then_recovery(Fault::ServerError).await;
}

#[tokio::test]
async fn garbage_on_login() {
    fault_then_recovery(Fault::Garbage).await;
}

#[tokio::test]
async fn silence_on_login_times_out() {
    fault_then_recovery(Fault::Silence).await;
}

/// When the configured number of transport failures is reached the flow ends
/// in a typed failure that says a new attempt may work — and a new flow does.
#[tokio::test]
async fn repeated_faults_end_in_a_retryable_failure_and_a_new_flow_succeeds() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer(StubPartner::LOGIN, Fault::ServerError.answer());
    let driver = driver(&partner.url());
    let config = FlowConfig {
        max_transport_failures: 1,
        ..FlowConfig::default()
    };
    let mut flow = to_login_form(&driver, config.clone()).await;
    flow.handle(now(), credentials()).unwrap();
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    match flow.view() {
        View::Failed { failure, retryable } => {
            assert!(
                matches!(failure, Failure::PartnerUnavailable { .. }),
                "{failure:?}"
            );
            assert!(retryable);
            assert_eq!(
                failure.message(),
                "The bank is not responding. Please try again later."
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(partner.count(StubPartner::LOGIN), 1);

    partner.answer(StubPartner::LOGIN, Answer::step(&Step::code("code_1")));
    let mut again = to_login_form(&driver, config).await;
    again.handle(now(), credentials()).unwrap();
    driver.run(&mut again, &mut |_| {}).await.unwrap();
    assert!(matches!(again.view(), View::Done { .. }));
}

/// The institution list is a read: the flow retries it with backoff through
/// a timer the driver sleeps on, and the person never sees the failures.
#[tokio::test]
async fn a_failing_institution_list_is_retried_until_it_loads() {
    let partner = StubPartner::start().await.unwrap();
    for _ in 0..2 {
        partner.answer_once(StubPartner::INSTITUTIONS, Answer::status(503, "down"));
    }
    let driver = driver(&partner.url());
    let config = FlowConfig {
        read_backoff_ms: 20,
        ..FlowConfig::default()
    };
    let mut flow = ConnectFlow::new(config, now());
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert_eq!(flow.state(), StateKind::ChoosingInstitution);
    assert_eq!(partner.count(StubPartner::INSTITUTIONS), 3);
}

/// Nobody listening at all: the list gives up after its retries with a
/// typed, retryable failure.
#[tokio::test]
async fn nobody_listening_ends_in_partner_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = FlowConfig {
        read_backoff_ms: 5,
        ..FlowConfig::default()
    };
    let mut flow = ConnectFlow::new(config, now());
    driver(&url).run(&mut flow, &mut |_| {}).await.unwrap();
    match flow.view() {
        View::Failed {
            failure: Failure::PartnerUnavailable { .. },
            retryable: true,
        } => {}
        other => panic!("expected a retryable PartnerUnavailable, got {other:?}"),
    }
}

/// Finding 10 (the driver followed redirects): a 307 on login, which reqwest
/// used to follow — re-POSTing the password and keeping the secret key on
/// the way — is answered as the failed call it is: the redirect target sees
/// nothing, the login was sent once, the person is back on the form.
#[tokio::test]
async fn a_redirect_on_login_is_not_followed() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer_once(
        StubPartner::LOGIN,
        Answer::redirect(307, format!("{}/elsewhere", partner.url())),
    );
    partner.answer("/elsewhere", Answer::step(&Step::code("stolen")));
    let driver = driver(&partner.url());
    let mut flow = to_login_form(&driver, FlowConfig::default()).await;
    flow.handle(now(), credentials()).unwrap();
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
    assert_eq!(partner.count("/elsewhere"), 0, "the redirect was followed");
    assert!(
        matches!(flow.view(), View::Form(f) if matches!(f.notice, Some(Notice::PartnerUnavailable { .. }))),
        "{:?}",
        flow.view()
    );
}

/// Finding 10: a partner base URL in the clear is refused unless it is this
/// machine (the sandbox, a test partner).
#[test]
fn plain_http_to_another_host_is_refused() {
    let remote = Driver::new(
        "http://api.withmono.com",
        connectflow::dialect::Mono::new(connectflow::dialect::MonoConfig::new(
            "live_sk_x",
            connectflow::dialect::mono::Customer::existing("c"),
        )),
        DriverConfig::default(),
    );
    assert!(remote.is_err());
}
