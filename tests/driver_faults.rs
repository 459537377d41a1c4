//! The driver against a partner that misbehaves, over real loopback HTTP:
//! a dropped connection, a 500, garbage, silence. Every fault must end in a
//! typed, retryable outcome the person sees, the next attempt must be able to
//! succeed, and no login is ever sent twice for one submission.
#![cfg(all(feature = "driver", feature = "sandbox"))]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use connectflow::dialect::mono::{wire, Customer};
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    Drop,
    ServerError,
    Garbage,
    Silence,
}

#[derive(Clone)]
struct Partner {
    fault: Arc<Mutex<Fault>>,
    logins: Arc<AtomicUsize>,
    lists: Arc<AtomicUsize>,
    /// Institution-list calls that fail before one succeeds.
    failing_lists: Arc<AtomicUsize>,
}

fn ok(envelope: wire::Envelope) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        envelope.to_bytes(),
    )
        .into_response()
}

async fn institutions(State(p): State<Partner>) -> Response {
    p.lists.fetch_add(1, Ordering::SeqCst);
    if p.failing_lists.load(Ordering::SeqCst) > 0 {
        p.failing_lists.fetch_sub(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    ok(wire::institutions(explore::demo_catalogue().institutions()))
}

async fn session() -> Response {
    ok(wire::session(&SessionInfo {
        id: "sess-1".into(),
        expires_at: None,
        form: None,
        institution: None,
    }))
}

async fn login(State(p): State<Partner>, _body: Bytes) -> Response {
    p.logins.fetch_add(1, Ordering::SeqCst);
    let fault = *p.fault.lock().unwrap();
    match fault {
        Fault::None => ok(wire::step(&Step::code("code_1"))),
        Fault::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Fault::Garbage => (StatusCode::OK, "<html>upstream error</html>").into_response(),
        Fault::Silence => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::OK.into_response()
        }
        // Handled at the TCP level below; unreachable through axum.
        Fault::Drop => StatusCode::OK.into_response(),
    }
}

async fn exchange() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        wire::exchanged("acc_1").to_string(),
    )
        .into_response()
}

/// Starts the partner. `Fault::Drop` is a raw TCP server that closes every
/// login connection after reading the request.
async fn start(partner: Partner) -> String {
    let app = Router::new()
        .route("/v3/institutions", get(institutions))
        .route("/v2/connect/session", post(session))
        .route("/v2/connect/login", post(login))
        .route("/v2/accounts/auth", post(exchange))
        .with_state(partner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A front that drops login connections while the fault is Drop, else proxies to axum.
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inner_addr = inner.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(inner, app).await.unwrap() });
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let partner = partner.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 16 * 1024];
                let n = client.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                if head.starts_with("POST /v2/connect/login")
                    && *partner.fault.lock().unwrap() == Fault::Drop
                {
                    partner.logins.fetch_add(1, Ordering::SeqCst);
                    return; // drop the connection without a reply
                }
                let Ok(mut server) = tokio::net::TcpStream::connect(inner_addr).await else {
                    return;
                };
                if server.write_all(&buf[..n]).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    format!("http://{addr}")
}

fn partner(fault: Fault) -> Partner {
    Partner {
        fault: Arc::new(Mutex::new(fault)),
        logins: Arc::new(AtomicUsize::new(0)),
        lists: Arc::new(AtomicUsize::new(0)),
        failing_lists: Arc::new(AtomicUsize::new(0)),
    }
}

fn driver(url: &str) -> Driver {
    let mono = Mono::new(MonoConfig::new(
        "test_sk_faults",
        Customer::existing("cus_1"),
    ));
    let config = DriverConfig {
        call_timeout: Duration::from_millis(500),
        max_step_timeout: Duration::from_millis(500),
        ..DriverConfig::default()
    };
    Driver::new(url, mono, config).unwrap()
}

async fn to_login_form(driver: &Driver, config: FlowConfig) -> ConnectFlow {
    let mut flow = ConnectFlow::new(config, now());
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    flow.handle(
        now(),
        Input::User(UserAction::ChooseInstitution {
            id: "demo-bank".into(),
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
    let p = partner(fault);
    let url = start(p.clone()).await;
    let driver = driver(&url);
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
        p.logins.load(Ordering::SeqCst),
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

    *p.fault.lock().unwrap() = Fault::None;
    flow.handle(now(), credentials()).unwrap();
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert_eq!(p.logins.load(Ordering::SeqCst), 2);
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
    let p = partner(Fault::ServerError);
    let url = start(p.clone()).await;
    let driver = driver(&url);
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
                "The bank is not responding. Please try again."
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert_eq!(p.logins.load(Ordering::SeqCst), 1);

    *p.fault.lock().unwrap() = Fault::None;
    let mut again = to_login_form(&driver, config).await;
    again.handle(now(), credentials()).unwrap();
    driver.run(&mut again, &mut |_| {}).await.unwrap();
    assert!(matches!(again.view(), View::Done { .. }));
}

/// The institution list is a read: the flow retries it with backoff through
/// a timer the driver sleeps on, and the person never sees the failures.
#[tokio::test]
async fn a_failing_institution_list_is_retried_until_it_loads() {
    let p = partner(Fault::None);
    p.failing_lists.store(2, Ordering::SeqCst);
    let url = start(p.clone()).await;
    let driver = driver(&url);
    let config = FlowConfig {
        read_backoff_ms: 20,
        ..FlowConfig::default()
    };
    let mut flow = ConnectFlow::new(config, now());
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert_eq!(flow.state(), StateKind::ChoosingInstitution);
    assert_eq!(p.lists.load(Ordering::SeqCst), 3);
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
