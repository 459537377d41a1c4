//! The Mono dialect against recorded-shape fixtures (`tests/fixtures/mono/`):
//! one named test per quirk of `reference/mono.md` §11, every encoding, and
//! the error paths.

mod bounds;
mod builders;
mod decode;
mod encode;
mod fuzz;
mod quirks;
mod reauth;

use connectflow::dialect::mono::{classify_rejection, parse_rfc3339_ms, wire, Customer};
use connectflow::dialect::{
    Encoded, HeaderValue, HttpRequest, HttpResponse, Method, Mono, MonoConfig, MonoVersion,
};
use connectflow::flow::{
    Account, AccountChoice, AuthMethodKind, Call, CallError, CallKind, InstitutionRef, Rejection,
    RejectionKind, Reply, SessionInfo, Step, Timestamp,
};
use connectflow::form::{ContentType, Field, FieldKind, Form, Values};
use proptest::prelude::*;
use serde_json::{json, Value};

const KEY: &str = "test_sk_SUPERSECRET_a1b2c3";
const ALL_KINDS: [CallKind; 5] = [
    CallKind::ListInstitutions,
    CallKind::CreateSession,
    CallKind::Login,
    CallKind::Commit,
    CallKind::ExchangeCode,
];

/// The dialect as these tests use it: by call kind (a representative call of
/// each kind; Mono reads a reply by kind alone) and always over HTTP.
trait ByKind {
    fn decode(&self, kind: CallKind, response: &HttpResponse) -> Result<Reply, CallError>;
    fn encode(&self, call: &Call) -> HttpRequest;
}

fn call_of(kind: CallKind) -> Call {
    match kind {
        CallKind::ListInstitutions => Call::ListInstitutions,
        CallKind::CreateSession => create_session(),
        CallKind::Login => login_call(),
        CallKind::Commit => Call::Commit {
            session: "sess_2a9c7e".into(),
            values: Values::new(),
            account: None,
        },
        CallKind::Poll => Call::Poll {
            session: "sess_2a9c7e".into(),
        },
        _ => Call::ExchangeCode {
            code: "code_1".into(),
        },
    }
}

impl ByKind for Mono {
    fn decode(&self, kind: CallKind, response: &HttpResponse) -> Result<Reply, CallError> {
        connectflow::dialect::Dialect::decode(self, &call_of(kind), response, Timestamp(0))
    }

    fn encode(&self, call: &Call) -> HttpRequest {
        match connectflow::dialect::Dialect::encode(self, call, Timestamp(0)) {
            Encoded::Http(request) => request,
            other => panic!("{call:?} not sent over HTTP: {other:?}"),
        }
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/mono/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn v2() -> Mono {
    Mono::new(MonoConfig::new(
        KEY,
        Customer::new_customer("Ada Obi", "ada@example.com"),
    ))
}

fn v1() -> Mono {
    Mono::new(
        MonoConfig::new(KEY, Customer::existing("cus_1"))
            .version(MonoVersion::V1)
            .app_id("app_5f9e"),
    )
}

fn ok(status: u16, name: &str) -> HttpResponse {
    HttpResponse::new(status, fixture(name))
}

fn decode(kind: CallKind, name: &str) -> Result<Reply, CallError> {
    v2().decode(kind, &ok(200, name))
}

fn step(kind: CallKind, name: &str) -> Step {
    match decode(kind, name) {
        Ok(Reply::Step(s)) => s,
        other => panic!("{name}: expected a step, got {other:?}"),
    }
}

fn catalogue(name: &str) -> Vec<connectflow::flow::Institution> {
    match decode(CallKind::ListInstitutions, name) {
        Ok(Reply::Institutions(c)) => c.institutions().to_vec(),
        other => panic!("{name}: expected institutions, got {other:?}"),
    }
}

fn session(name: &str) -> SessionInfo {
    match decode(CallKind::CreateSession, name) {
        Ok(Reply::SessionCreated(s)) => s,
        other => panic!("{name}: expected a session, got {other:?}"),
    }
}

fn body_json(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().expect("a body")).expect("JSON body")
}

fn plain(req: &HttpRequest, name: &str) -> Option<String> {
    match req.header(name) {
        Some(HeaderValue::Plain(s)) => Some(s.clone()),
        _ => None,
    }
}

fn assert_post(req: &HttpRequest, path: &str, session: Option<&str>, body: Value) {
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.path, path);
    assert!(
        matches!(req.header("mono-sec-key"), Some(HeaderValue::Secret(s)) if s.expose() == KEY)
    );
    assert_eq!(
        plain(req, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(plain(req, "x-session-id").as_deref(), session);
    assert_eq!(body_json(req), body);
}

fn login_call() -> Call {
    Call::Login {
        session: "sess_2a9c7e".into(),
        institution: "5f2d08be60b92e2888287702".into(),
        auth_method: AuthMethodKind::InternetBanking,
        values: Values::new()
            .with("username", "user_good")
            .with("password", "hunter2-PASSWORD"),
    }
}

fn create_session() -> Call {
    Call::CreateSession {
        institution: "5f2d08be60b92e2888287702".into(),
        auth_method: AuthMethodKind::InternetBanking,
        customer: None,
    }
}

fn form_json(form: &Form) -> Value {
    serde_json::to_value(form).unwrap()
}
