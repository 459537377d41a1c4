//! Mono's v2 wire shapes, for the side that *writes* them: the sandbox server
//! and tests. Each builder is the inverse of the dialect's decoder, so
//! `decode(build(x)) == x` (the integration tests check it); a sandbox built on
//! these cannot drift from what the client reads.

use crate::flow::{Account, AuthMethod, Institution, Linked, RejectionKind, SessionInfo, Step};
use crate::form::Form;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::Customer;

/// `responseCode` 99: linked, `data.code` holds the code.
pub const DONE: u16 = 99;
/// `responseCode` 101: pick one of `data.accounts`.
pub const CHOOSE_ACCOUNT: u16 = 101;
/// `responseCode` 102: answer the form in `data.userInput`.
pub const NEEDS_INPUT: u16 = 102;
/// `responseCode` 400: refused; `message` says why, `data` is `null`.
pub const REJECTED: u16 = 400;

/// The v2 envelope: `{status, message, timestamp?, responseCode?, data}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T = Value> {
    /// `successful` or `failed`.
    pub status: String,
    /// Human-readable; shown to the person on failure.
    pub message: String,
    /// Server time as Mono formats it; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Login/commit outcome code.
    #[serde(
        rename = "responseCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub response_code: Option<u16>,
    /// The payload; `null` on failure.
    pub data: T,
}

impl<T> Envelope<T> {
    /// `status: "successful"` around `data`.
    pub fn successful(message: impl Into<String>, data: T) -> Self {
        Envelope {
            status: "successful".into(),
            message: message.into(),
            timestamp: None,
            response_code: None,
            data,
        }
    }

    /// Sets `responseCode` (builder style).
    pub fn with_code(mut self, code: u16) -> Self {
        self.response_code = Some(code);
        self
    }
}

impl Envelope<Value> {
    /// `status: "failed"`, `data: null`, `responseCode: 400`: Mono's refusal.
    pub fn failed(message: impl Into<String>) -> Self {
        Envelope {
            status: "failed".into(),
            message: message.into(),
            timestamp: None,
            response_code: Some(REJECTED),
            data: Value::Null,
        }
    }

    /// As JSON bytes (a `Value` always serializes).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The body of `POST /v{1,2}/connect/session`, as a server reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRequest {
    /// Institution `_id`.
    pub institution: String,
    /// `internet_banking` or `mobile_banking`.
    pub auth_method: String,
    /// v2 scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// v2 customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// v1 app id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

fn form(f: &Form) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}

/// Starts from the unmodelled keys so they survive a round trip.
fn object(extra: &Map<String, Value>) -> Map<String, Value> {
    extra.clone()
}

fn put<T: Into<Value>>(o: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        o.insert(key.to_owned(), v.into());
    }
}

/// One institution in the v3 shape (`_id`, `nip_code`, `primary_color`),
/// and `timeout` when it has one (v1's lists did; Mono's v3 list does not,
/// mono.md §2, nor does the sandbox's).
pub fn institution(i: &Institution) -> Value {
    let mut o = object(&i.extra);
    o.insert("_id".into(), i.id.clone().into());
    o.insert("name".into(), i.name.clone().into());
    put(&mut o, "type", i.kind.clone());
    put(&mut o, "identifier", i.identifier.clone());
    put(&mut o, "nip_code", i.bank_code.clone());
    put(&mut o, "country", i.country.clone());
    put(&mut o, "icon", i.icon.clone());
    put(&mut o, "primary_color", i.primary_color.clone());
    put(&mut o, "timeout", i.timeout_ms);
    put(&mut o, "ui", i.ui.as_ref().map(form));
    let methods: Vec<Value> = i.auth_methods.iter().map(auth_method).collect();
    o.insert("auth_methods".into(), methods.into());
    Value::Object(o)
}

fn auth_method(m: &AuthMethod) -> Value {
    let mut o = object(&m.extra);
    o.insert("type".into(), m.kind.as_str().into());
    put(&mut o, "name", m.name.clone());
    put(&mut o, "ui", m.ui.as_ref().map(form));
    if m.requires_reauth {
        o.insert("requires_reauth".into(), true.into());
    }
    Value::Object(o)
}

/// `GET /v3/institutions` answer.
pub fn institutions(list: &[Institution]) -> Envelope {
    let data: Vec<Value> = list.iter().map(institution).collect();
    Envelope::successful("Institutions retrieved", Value::Array(data))
}

/// One `101` account (`accountNumber`, balance in kobo).
pub fn account(a: &Account) -> Value {
    let mut o = object(&a.extra);
    o.insert("accountNumber".into(), a.number.clone().into());
    o.insert("name".into(), a.name.clone().into());
    put(&mut o, "type", a.kind.clone());
    put(&mut o, "currency", a.currency.clone());
    put(&mut o, "status", a.status.clone());
    put(&mut o, "balance", a.balance);
    Value::Object(o)
}

/// `POST /v2/connect/session` answer: `data.session{id, expiresAt,
/// institution}` and `data.ui`.
pub fn session(s: &SessionInfo) -> Envelope {
    let mut session = Map::new();
    session.insert("id".into(), s.id.clone().into());
    put(&mut session, "expiresAt", s.expires_at.map(|t| t.0));
    put(
        &mut session,
        "institution",
        s.institution
            .as_ref()
            .map(|i| json!({ "id": i.id, "name": i.name })),
    );
    let mut data = Map::new();
    data.insert("session".into(), Value::Object(session));
    put(&mut data, "ui", s.form.as_ref().map(form));
    Envelope::successful("Session created", Value::Object(data))
}

/// A login/commit answer for `step`: `99`/`101`/`102` in a successful
/// envelope, a rejection as `failed` with `data: null`.
pub fn step(step: &Step) -> Envelope {
    match step {
        Step::Done(Linked::Code(code)) => {
            Envelope::successful("Login successful", json!({ "code": code })).with_code(DONE)
        }
        // Mono always links through a code; an id is exchanged, not sent.
        Step::Done(Linked::Account(id)) => {
            Envelope::successful("Login successful", json!({ "code": id })).with_code(DONE)
        }
        Step::ChooseAccount { accounts, .. } => {
            let list: Vec<Value> = accounts.iter().map(account).collect();
            Envelope::successful("Multiple accounts found", json!({ "accounts": list }))
                .with_code(CHOOSE_ACCOUNT)
        }
        Step::NeedsInput { form: f, .. } => {
            Envelope::successful("More input required", json!({ "userInput": form(f) }))
                .with_code(NEEDS_INPUT)
        }
        // An outcome with a numeric code of its own (one Mono added later):
        // a successful envelope with that code, as Mono would send it.
        Step::Rejected(r) if r.kind == RejectionKind::Unrecognised => {
            match r.code.as_deref().and_then(|c| c.parse::<u16>().ok()) {
                Some(code) => Envelope::successful(r.message.clone(), Value::Null).with_code(code),
                None => Envelope::failed(r.message.clone()),
            }
        }
        Step::Rejected(r) => Envelope::failed(r.message.clone()),
        // Mono has no "pending": a bank still working keeps the request open.
        Step::Pending { .. } => Envelope::failed("The bank is still processing, try again"),
    }
}

/// `POST /v2/accounts/auth` answer: `{id}`.
pub fn exchanged(account_id: &str) -> Value {
    json!({ "id": account_id })
}
