//! Shared by every topic: the Flinks instances under test (with tokens, and
//! a legacy one without), the calls they are asked to encode, and the
//! helpers that read what they send and decode what comes back.

use connectflow::dialect::flinks::TOOLBOX_CUSTOMER_ID;
use connectflow::dialect::{Dialect, Encoded, Flinks, FlinksConfig, HttpRequest, HttpResponse};
use connectflow::flow::{
    AuthMethodKind, Call, CallError, Continuation, PartnerSession, Reply, Step, Timestamp,
};
use connectflow::form::Values;
use serde_json::Value;

pub(crate) const NOW: Timestamp = Timestamp(1_700_000_000_000);
pub(crate) const SECRET: &str = "flinks_secret_DO_NOT_LOG";

pub(crate) fn flinks() -> Flinks {
    Flinks::new(FlinksConfig::new(TOOLBOX_CUSTOMER_ID, Some(SECRET.into())))
}

pub(crate) fn legacy() -> Flinks {
    Flinks::new(FlinksConfig::new(TOOLBOX_CUSTOMER_ID, None))
}

pub(crate) fn http(encoded: Encoded) -> HttpRequest {
    match encoded {
        Encoded::Http(r) => r,
        other => panic!("expected HTTP, got {other:?}"),
    }
}

pub(crate) fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().unwrap_or(b"null")).unwrap()
}

pub(crate) fn session(token: &str, request_id: Option<&str>) -> PartnerSession {
    PartnerSession {
        id: token.into(),
        continuation: request_id.map(Continuation::new),
    }
}

pub(crate) fn login() -> Call {
    Call::Login {
        session: session("tok_1", None),
        institution: "FlinksCapital".into(),
        auth_method: AuthMethodKind::InternetBanking,
        values: Values::new()
            .with("username", "Greatday")
            .with("password", "Everyday"),
    }
}

pub(crate) fn step(status: u16, body: Value) -> Result<Step, CallError> {
    match flinks().decode(&login(), &HttpResponse::new(status, body.to_string()), NOW)? {
        Reply::Step(s) => Ok(s),
        other => panic!("expected a step, got {other:?}"),
    }
}
