//! A recording partner for channel tests: one bank whose login form has a
//! secret field followed by another field (so a PIN is held between two
//! USSD screens), and which records every login body it receives.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use connectflow::dialect::mono::wire;
use connectflow::flow::{AuthMethod, AuthMethodKind, Institution, SessionInfo, Step};
use connectflow::form::{Field, Form};
use std::sync::{Arc, Mutex};

/// What the partner saw.
#[derive(Clone, Default)]
pub struct Recorder {
    pub logins: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Recorder {
    pub fn logins(&self) -> Vec<serde_json::Value> {
        self.logins.lock().unwrap().clone()
    }
}

fn ok(envelope: wire::Envelope) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        envelope.to_bytes(),
    )
        .into_response()
}

pub fn institution() -> Institution {
    let form = Form::new(
        "Rec Bank",
        vec![
            Field::input("account", "Account"),
            Field::password("pin", "PIN").max_length(4),
            Field::input("note", "Note"),
        ],
    );
    Institution::new(
        "rec-bank",
        "Rec Bank",
        vec![AuthMethod::new(AuthMethodKind::MobileBanking, Some(form))],
    )
}

/// Starts the partner on loopback; returns its base URL.
pub async fn start(recorder: Recorder) -> String {
    let app = Router::new()
        .route(
            "/v3/institutions",
            get(|| async { ok(wire::institutions(&[institution()])) }),
        )
        .route(
            "/v2/connect/session",
            post(|| async {
                ok(wire::session(&SessionInfo {
                    id: "sess-rec".into(),
                    expires_at: None,
                    form: None,
                    institution: None,
                }))
            }),
        )
        .route(
            "/v2/connect/login",
            post(|State(r): State<Recorder>, body: Bytes| async move {
                let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                r.logins.lock().unwrap().push(value);
                ok(wire::step(&Step::code("code_rec")))
            }),
        )
        .route(
            "/v2/accounts/auth",
            post(|| async {
                (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    wire::exchanged("acc_rec").to_string(),
                )
                    .into_response()
            }),
        )
        .with_state(recorder);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}
