//! The axum handlers and the in-memory state behind them.
//!
//! Every handler parses its own body from `Bytes` (never axum's `Json`
//! extractor) so that malformed JSON, a wrong shape or an oversized body is
//! answered with Mono's error envelope rather than axum's plain-text
//! rejection. State sits behind a `std::sync::Mutex` that is never held across
//! an `.await`.

use super::catalogue::{self, Role};
use super::users::{self, Challenge, Special, TestUser};
use super::{captcha, SandboxConfig};
use crate::dialect::mono::wire::{self, Envelope};
use crate::flow::{Account, AuthMethodKind, Institution, SessionInfo, Step, Timestamp};
use crate::form::{Field, Form};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest request body accepted. Mono's bodies are a handful of short
/// strings; anything bigger is a bug or an attack.
pub(crate) const BODY_LIMIT: usize = 64 * 1024;

/// Wrong passwords in a row (per institution and user) after which the user
/// is locked.
const LOCK_AFTER: u32 = 3;

const LOCKED: &str = "Your account has been locked";
const INVALID_CREDENTIALS: &str = "Invalid credentials";
const INVALID_INPUT: &str = "Invalid input";
const INVALID_CODE: &str = "Invalid or expired code";
const SESSION_NOT_FOUND: &str = "Session not found";
const SESSION_EXPIRED: &str = "Session expired";

/// The secret key of the request, checked by [`require_key`].
#[derive(Clone)]
struct ApiKey(String);

#[derive(Clone)]
struct App(Arc<Inner>);

struct Inner {
    config: SandboxConfig,
    institutions: Vec<Institution>,
    state: Mutex<Store>,
}

impl App {
    /// A poisoned lock only means another handler panicked mid-update; the
    /// maps are still usable, and a sandbox must keep answering.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn institution(&self, id: &str) -> Option<&Institution> {
        self.0.institutions.iter().find(|i| i.id == id)
    }
}

#[derive(Default)]
struct Store {
    sessions: HashMap<String, Session>,
    codes: HashMap<String, CodeEntry>,
    /// Linked accounts by (secret key, account id): one app never sees
    /// another's links.
    accounts: HashMap<(String, String), Linked>,
    /// Wrong tries in a row by (institution id, user index).
    failures: HashMap<(String, usize), u32>,
    locked: HashSet<(String, usize)>,
}

struct Session {
    /// The key that created it; any other key is told it does not exist.
    key: String,
    institution: String,
    method: AuthMethodKind,
    expires_at: u64,
    /// The login form this session handed out (with its captcha, if any).
    form: Form,
    captcha: Option<String>,
    stage: Stage,
}

#[derive(Clone)]
enum Stage {
    /// Waiting for `/login` (also after a retryable rejection).
    Login,
    /// Logged in; `next` indexes the user's script, `chosen` is an account
    /// already picked (a v2 commit may carry `accountNumber` with an MFA
    /// answer, mono.md §4).
    Pending {
        user: usize,
        next: usize,
        chosen: Option<String>,
        waiting: Waiting,
    },
    /// A code was issued; the session is spent.
    Finished,
}

#[derive(Clone)]
enum Waiting {
    /// A `102`: the commit keys must be exactly these (Mono caches them).
    Mfa {
        challenge: Challenge,
        fields: Vec<String>,
    },
    /// A `101`: the commit must carry only `accountNumber`.
    Account,
}

struct CodeEntry {
    key: String,
    link: Linked,
    expires_at: u64,
}

#[derive(Clone)]
struct Linked {
    institution: String,
    user: usize,
    account: String,
    method: AuthMethodKind,
}

// ---- small helpers ---------------------------------------------------------

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Epoch ms as RFC 3339 UTC with milliseconds, the way Mono stamps envelopes.
pub(crate) fn rfc3339(ms: u64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn send<T: serde::Serialize>(status: StatusCode, mut envelope: Envelope<T>) -> Response {
    envelope.timestamp = Some(rfc3339(now_ms()));
    (status, Json(envelope)).into_response()
}

/// A failure outside the login loop: `{status: "failed", message, data: null}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut envelope = Envelope::failed(message);
    envelope.response_code = None;
    send(status, envelope)
}

/// A login/commit refusal: the same envelope with `responseCode: 400`, which
/// the dialect reads as the partner saying no (mono.md §4).
fn reject(status: StatusCode, message: impl Into<String>) -> Response {
    send(status, Envelope::failed(message))
}

/// An [`error`] or [`reject`] not yet rendered: what the parsing helpers
/// return (a `Response` is too large to pass around in a `Result`).
struct Fail {
    status: StatusCode,
    message: String,
    /// A login/commit refusal (`responseCode: 400`) rather than a plain error.
    step: bool,
}

impl Fail {
    fn error(status: StatusCode, message: impl Into<String>) -> Self {
        Fail {
            status,
            message: message.into(),
            step: false,
        }
    }

    fn reject(status: StatusCode, message: impl Into<String>) -> Self {
        Fail {
            step: true,
            ..Fail::error(status, message)
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        if self.step {
            reject(self.status, self.message)
        } else {
            error(self.status, self.message)
        }
    }
}

fn ok(message: &str, data: Value) -> Response {
    send(StatusCode::OK, Envelope::successful(message, data))
}

fn step_response(step: &Step) -> Response {
    let status = match step {
        Step::Rejected(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    send(status, wire::step(step))
}

/// The body as JSON, or the envelope to answer with.
fn parse_json(body: Result<Bytes, BytesRejection>) -> Result<Value, Fail> {
    let bytes = body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Fail::error(
                status,
                format!("Request body is larger than {BODY_LIMIT} bytes"),
            )
        } else {
            Fail::error(status, "Could not read the request body")
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Fail::error(StatusCode::BAD_REQUEST, "Request body is not valid JSON"))
}

/// A flat `{name: value}` body (login, commit). Numbers are accepted as their
/// decimal text, as a lenient bank would.
fn flat_strings(v: Value) -> Result<Vec<(String, String)>, Fail> {
    let Value::Object(map) = v else {
        return Err(Fail::reject(
            StatusCode::BAD_REQUEST,
            format!("{INVALID_INPUT}: the body must be a JSON object"),
        ));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            Value::Number(n) => Ok((k, n.to_string())),
            _ => Err(Fail::reject(
                StatusCode::BAD_REQUEST,
                format!("{INVALID_INPUT}: {k} must be a string"),
            )),
        })
        .collect()
}

fn value<'a>(values: &'a [(String, String)], name: &str) -> Option<&'a str> {
    values
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn session_header(headers: &HeaderMap) -> Result<String, Fail> {
    headers
        .get("x-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Fail::reject(StatusCode::BAD_REQUEST, "Missing x-session-id header"))
}

/// The session `id` as `key` may see it: unknown and foreign sessions are
/// both 404 "Session not found" (existence never leaks across keys); an
/// expired one is 400 "Session expired".
fn find_session<'a>(
    store: &'a mut Store,
    key: &str,
    id: &str,
    now: u64,
) -> Result<&'a mut Session, Fail> {
    match store.sessions.get_mut(id) {
        Some(s) if s.key == key => {
            if now > s.expires_at {
                Err(Fail::reject(StatusCode::BAD_REQUEST, SESSION_EXPIRED))
            } else {
                Ok(s)
            }
        }
        _ => Err(Fail::reject(StatusCode::NOT_FOUND, SESSION_NOT_FOUND)),
    }
}

/// A stable account id: the first 24 hex digits of FNV-1a-128 over
/// institution, username and account number. The same login linking the same
/// account again gets the same id, so a returning user never makes a
/// duplicate; the hash is stable across processes and Rust versions.
pub(crate) fn account_id(institution: &str, username: &str, account: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for part in [institution, username, account] {
        for b in part.bytes().chain(std::iter::once(0)) {
            hash ^= u128::from(b);
            hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }
    format!("{hash:032x}")[..24].to_owned()
}

fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The `101` entries of `user`: account types and balances are made up but
/// fixed, so a README can show them.
fn accounts_of(user: &TestUser, index: usize) -> Vec<Account> {
    const KINDS: [&str; 3] = ["SAVINGS_ACCOUNT", "CURRENT_ACCOUNT", "SAVINGS_ACCOUNT"];
    user.accounts()
        .enumerate()
        .map(|(i, number)| {
            let mut a = Account::new(number, user.name);
            a.kind = Some(KINDS[i % KINDS.len()].into());
            a.currency = Some("NGN".into());
            a.status = Some("active".into());
            // Kobo: ₦12,500.00 times the user's number, plus ₦500 per extra account.
            a.balance = Some(1_250_000 * (index as i64 + 1) + 50_000 * i as i64);
            a
        })
        .collect()
}

fn mask_tail(s: &str) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(3)).collect();
    format!("{}{}", "*".repeat(n.saturating_sub(3)), tail)
}

// ---- the router --------------------------------------------------------------

pub(crate) fn router(config: SandboxConfig) -> Router {
    let app = App(Arc::new(Inner {
        config,
        institutions: catalogue::institutions(),
        state: Mutex::new(Store::default()),
    }));
    Router::new()
        .route("/v3/institutions", get(list_institutions))
        .route("/v2/connect/session", post(create_session))
        .route("/v2/connect/login", post(login))
        .route("/v2/connect/commit", post(commit))
        .route("/v2/connect/sandbox", get(sandbox_credentials))
        .route("/v2/accounts/auth", post(exchange))
        .route("/v2/accounts/{id}", get(account_details))
        .route("/v2/accounts/{id}/unlink", post(unlink))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "Route not found") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        })
        .layer(middleware::from_fn(require_key))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

/// Every route needs `mono-sec-key: test_sk_…` (mono.md §1); a `live_sk_`
/// key is refused too, since the sandbox is never live.
async fn require_key(mut req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get("mono-sec-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| k.len() > "test_sk_".len() && k.starts_with("test_sk_"))
        .map(str::to_owned);
    match key {
        Some(key) => {
            req.extensions_mut().insert(ApiKey(key));
            next.run(req).await
        }
        None => error(
            StatusCode::UNAUTHORIZED,
            "Invalid or missing secret key: send the header mono-sec-key: test_sk_…",
        ),
    }
}

#[derive(Deserialize)]
struct Filter {
    scope: Option<String>,
    auth_method: Option<String>,
    bank_code: Option<String>,
}

async fn list_institutions(
    State(app): State<App>,
    query: Result<Query<Filter>, QueryRejection>,
) -> Response {
    let Ok(Query(filter)) = query else {
        return error(StatusCode::BAD_REQUEST, "Invalid query string");
    };
    // An empty filter value (`?scope=`) filters nothing.
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let (scope, method, code) = (
        given(&filter.scope),
        given(&filter.auth_method),
        given(&filter.bank_code),
    );
    let list: Vec<Institution> = app
        .0
        .institutions
        .iter()
        .filter(|i| scope.as_deref().is_none_or(|s| catalogue::has_scope(i, s)))
        .filter(|i| {
            method
                .as_deref()
                .is_none_or(|m| i.method(&AuthMethodKind::from(m)).is_some())
        })
        .filter(|i| {
            code.as_deref()
                .is_none_or(|c| i.bank_code.as_deref() == Some(c))
        })
        .cloned()
        .collect();
    send(StatusCode::OK, wire::institutions(&list))
}

async fn create_session(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: wire::SessionRequest =
        match parse_json(body).map(serde_json::from_value::<wire::SessionRequest>) {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("{INVALID_INPUT}: institution and auth_method are required strings"),
                )
            }
            Err(response) => return response.into_response(),
        };
    let Some(inst) = app.institution(&request.institution) else {
        return error(StatusCode::BAD_REQUEST, "Institution not found");
    };
    let kind = AuthMethodKind::from(request.auth_method.as_str());
    let Some(method) = inst.method(&kind) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "Auth method {} is not supported by {}",
                request.auth_method, inst.name
            ),
        );
    };
    // Captchas are per session (mono.md §11.7): a fresh one every time.
    let (form, captcha) = if inst.id == catalogue::SANDBOX_CAPTCHA_BANK {
        let text = captcha::random_text();
        (catalogue::captcha_form(&text), Some(text))
    } else {
        (
            method.ui.clone().unwrap_or_else(|| Form::new("", vec![])),
            None,
        )
    };
    let now = now_ms();
    let ttl = ms(app.0.config.session_ttl);
    let id = uuid::Uuid::new_v4().to_string();
    let info = SessionInfo {
        id: id.clone(),
        expires_at: Some(Timestamp(now.saturating_add(ttl))),
        form: Some(form.clone()),
        institution: Some(inst.to_ref()),
    };
    {
        let mut store = app.lock();
        // Forget sessions long expired and dead codes, so a long-running demo
        // server does not grow without bound. A recently expired session is
        // kept to answer "Session expired" rather than "not found".
        store
            .sessions
            .retain(|_, s| s.expires_at.saturating_add(ttl) >= now);
        store.codes.retain(|_, c| c.expires_at >= now);
        store.sessions.insert(
            id.clone(),
            Session {
                key,
                institution: inst.id.clone(),
                method: kind.clone(),
                expires_at: now.saturating_add(ttl),
                form,
                captcha,
                stage: Stage::Login,
            },
        );
    }
    tracing::info!(session = %id, institution = %inst.id, method = %kind, "sandbox: session created");
    send(StatusCode::OK, wire::session(&info))
}

/// What the login handler does after the lock is released.
enum After {
    Now(Response),
    /// `user_slow`: sleep first (outside the lock), then answer.
    Slow(Response),
}

async fn login(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let session = match session_header(&headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let values = match parse_json(body).and_then(flat_strings) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let after = {
        let mut store = app.lock();
        login_locked(&app, &mut store, &key, &session, &values)
    };
    match after {
        After::Now(r) => r,
        After::Slow(r) => {
            tokio::time::sleep(app.0.config.slow_delay).await;
            r
        }
    }
}

fn login_locked(
    app: &App,
    store: &mut Store,
    key: &str,
    sid: &str,
    values: &[(String, String)],
) -> After {
    let now = now_ms();
    let session = match find_session(store, key, sid, now) {
        Ok(s) => s,
        Err(r) => return After::Now(r.into_response()),
    };
    if !matches!(session.stage, Stage::Login) {
        return After::Now(reject(
            StatusCode::BAD_REQUEST,
            "Login already completed for this session",
        ));
    }
    // Every field of the session's form is required, and nothing else.
    for field in &session.form.fields {
        if value(values, &field.name).is_none_or(|v| v.trim().is_empty()) {
            return After::Now(reject(
                StatusCode::BAD_REQUEST,
                format!("{INVALID_INPUT}: {} is required", field.name),
            ));
        }
    }
    if let Some((name, _)) = values.iter().find(|(n, _)| session.form.field(n).is_none()) {
        return After::Now(reject(
            StatusCode::BAD_REQUEST,
            format!("{INVALID_INPUT}: unexpected field {name}"),
        ));
    }
    let method = session.method.clone();
    let institution = session.institution.clone();
    let by_role = |role: Role| {
        session
            .form
            .fields
            .iter()
            .find(|f| catalogue::role(&method, &f.name) == Some(role))
            .and_then(|f| value(values, &f.name))
    };
    if let Some(expected) = &session.captcha {
        let typed = by_role(Role::Captcha).unwrap_or("");
        if !typed.trim().eq_ignore_ascii_case(expected) {
            tracing::info!(session = %sid, "sandbox: login refused, wrong captcha");
            return After::Now(reject(StatusCode::BAD_REQUEST, "Invalid captcha"));
        }
    }
    let user_index = if let Some(name) = by_role(Role::Username) {
        users::index_of(|u| u.username == name)
    } else if let Some(phone) = by_role(Role::Phone) {
        users::index_of(|u| u.phone == phone)
    } else if let Some(number) = by_role(Role::AccountNumber) {
        users::index_of(|u| u.account_number == number)
    } else {
        None
    };
    let Some((index, user)) = user_index.and_then(|i| users::by_index(i).map(|u| (i, u))) else {
        tracing::info!(session = %sid, "sandbox: login refused, unknown user");
        return After::Now(reject(StatusCode::BAD_REQUEST, INVALID_CREDENTIALS));
    };
    let secret_ok = credentials_match(user, &session.form, &method, values);
    let lock_key = (institution.clone(), index);
    let (_, special) = users::script(user);
    if special == Special::Locked || store.locked.contains(&lock_key) {
        tracing::info!(session = %sid, user = user.username, "sandbox: login refused, locked");
        return After::Now(reject(StatusCode::BAD_REQUEST, LOCKED));
    }
    if special == Special::Down {
        tracing::info!(session = %sid, user = user.username, "sandbox: institution down");
        let name = app
            .institution(&institution)
            .map_or("The bank", |i| i.name.as_str());
        return After::Now(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{name} is temporarily unavailable, please try again later"),
        ));
    }
    if !secret_ok {
        let tries = store.failures.entry(lock_key.clone()).or_insert(0);
        *tries += 1;
        let tries = *tries;
        tracing::info!(session = %sid, user = user.username, tries, "sandbox: login refused, wrong credentials");
        // The third wrong try is still told "Invalid credentials" (the
        // client's own attempt limit usually ends the flow there); from then
        // on the user is locked, whatever the password.
        if tries >= LOCK_AFTER {
            store.failures.remove(&lock_key);
            store.locked.insert(lock_key);
        }
        return After::Now(reject(StatusCode::BAD_REQUEST, INVALID_CREDENTIALS));
    }
    // A correct login resets the count, as banks do.
    store.failures.remove(&lock_key);
    tracing::info!(session = %sid, user = user.username, "sandbox: login accepted");
    let response = advance(app, store, sid, index, 0, None);
    if special == Special::Slow {
        After::Slow(response)
    } else {
        After::Now(response)
    }
}

/// Whether the secret parts of a login (password, PIN, identifier) are right
/// for `user`. A form with no secret part never matches.
fn credentials_match(
    user: &TestUser,
    form: &Form,
    method: &AuthMethodKind,
    values: &[(String, String)],
) -> bool {
    let mut checked = 0;
    for field in &form.fields {
        let Some(given) = value(values, &field.name) else {
            return false;
        };
        let ok = match catalogue::role(method, &field.name) {
            Some(Role::Password) => given == user.password,
            Some(Role::MobilePin) => given == user.mobile_pin,
            Some(Role::UssdPin) => given == user.ussd_pin,
            Some(Role::IdValue) => {
                let kind = form
                    .fields
                    .iter()
                    .find(|f| catalogue::role(method, &f.name) == Some(Role::IdType))
                    .and_then(|f| value(values, &f.name))
                    .unwrap_or("");
                let given = given.trim();
                match kind {
                    "bvn" => given == user.bvn,
                    "dob" => given == user.date_of_birth,
                    "phone" => given == user.phone,
                    "email" => given.eq_ignore_ascii_case(user.email),
                    _ => false,
                }
            }
            _ => continue,
        };
        if !ok {
            return false;
        }
        checked += 1;
    }
    checked > 0
}

/// Moves a logged-in session to its next step: the next challenge of the
/// user's script (skipping the account list if an account is already
/// chosen), or a code when the script is done.
fn advance(
    app: &App,
    store: &mut Store,
    sid: &str,
    user_index: usize,
    mut next: usize,
    chosen: Option<String>,
) -> Response {
    let (Some(user), Some(session)) = (users::by_index(user_index), store.sessions.get_mut(sid))
    else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Session state lost");
    };
    let (script, _) = users::script(user);
    while script.get(next) == Some(&Challenge::ChooseAccount) && chosen.is_some() {
        next += 1;
    }
    let Some(challenge) = script.get(next).copied() else {
        let link = Linked {
            institution: session.institution.clone(),
            user: user_index,
            account: chosen.unwrap_or_else(|| user.account_number.to_owned()),
            method: session.method.clone(),
        };
        let entry = CodeEntry {
            key: session.key.clone(),
            link,
            expires_at: now_ms().saturating_add(ms(app.0.config.code_ttl)),
        };
        session.stage = Stage::Finished;
        let code = format!("code_{}", random_hex());
        store.codes.insert(code.clone(), entry);
        tracing::info!(session = %sid, user = user.username, "sandbox: code issued");
        return step_response(&Step::code(code));
    };
    let (waiting, step) = match challenge {
        Challenge::Otp => (
            Waiting::Mfa {
                challenge,
                fields: vec!["otp".into()],
            },
            Step::needs_input(Form::new(
                "Enter OTP",
                vec![Field::input(
                    "otp",
                    format!("Enter the OTP sent to {}", mask_tail(user.phone)),
                )
                .max_length(6)],
            )),
        ),
        Challenge::Question => (
            Waiting::Mfa {
                challenge,
                fields: vec!["answer".into()],
            },
            Step::needs_input(Form::new(
                "Security question",
                vec![Field::password(
                    "answer",
                    "In which city did you open this account?",
                )],
            )),
        ),
        Challenge::ChooseAccount => (
            Waiting::Account,
            Step::choose_account(accounts_of(user, user_index)),
        ),
    };
    session.stage = Stage::Pending {
        user: user_index,
        next: next + 1,
        chosen,
        waiting,
    };
    step_response(&step)
}

async fn commit(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let sid = match session_header(&headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let values = match parse_json(body).and_then(flat_strings) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let mut store = app.lock();
    let session = match find_session(&mut store, &key, &sid, now_ms()) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let (user_index, next, chosen, waiting) = match session.stage.clone() {
        Stage::Login => {
            return reject(StatusCode::BAD_REQUEST, "Login required before commit");
        }
        Stage::Finished => {
            return reject(StatusCode::BAD_REQUEST, "Session already completed");
        }
        Stage::Pending {
            user,
            next,
            chosen,
            waiting,
        } => (user, next, chosen, waiting),
    };
    let Some(user) = users::by_index(user_index) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Session state lost");
    };
    let account = value(&values, "accountNumber");
    let mut others: Vec<&str> = values
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "accountNumber")
        .collect();
    others.sort_unstable();
    if let Some(a) = account {
        if !user.accounts().any(|n| n == a) {
            return reject(StatusCode::BAD_REQUEST, "Invalid account number");
        }
    }
    match waiting {
        Waiting::Mfa { challenge, fields } => {
            let mut expected: Vec<&str> = fields.iter().map(String::as_str).collect();
            expected.sort_unstable();
            if others != expected {
                return reject(StatusCode::BAD_REQUEST, INVALID_INPUT);
            }
            let answer = fields
                .first()
                .and_then(|f| value(&values, f))
                .unwrap_or("")
                .trim();
            let (right, wrong) = match challenge {
                Challenge::Otp => (answer == users::OTP, "Invalid OTP"),
                _ => (
                    answer.eq_ignore_ascii_case(users::SECURITY_ANSWER),
                    "Incorrect answer",
                ),
            };
            if !right {
                tracing::info!(session = %sid, user = user.username, "sandbox: commit refused, wrong answer");
                return reject(StatusCode::BAD_REQUEST, wrong);
            }
            let chosen = account.map(str::to_owned).or(chosen);
            advance(&app, &mut store, &sid, user_index, next, chosen)
        }
        Waiting::Account => {
            let Some(account) = account.filter(|_| others.is_empty()) else {
                return reject(StatusCode::BAD_REQUEST, INVALID_INPUT);
            };
            advance(
                &app,
                &mut store,
                &sid,
                user_index,
                next,
                Some(account.to_owned()),
            )
        }
    }
}

async fn exchange(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match parse_json(body) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let Some(code) = body.get("code").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{INVALID_INPUT}: code is required"),
        );
    };
    let now = now_ms();
    let mut store = app.lock();
    // Single use: the code is removed whatever happens next. A code issued to
    // another key is left alone and looks unknown.
    let entry = match store.codes.get(code) {
        Some(e) if e.key == key => store.codes.remove(code),
        _ => None,
    };
    let Some(entry) = entry.filter(|e| now <= e.expires_at) else {
        return error(StatusCode::BAD_REQUEST, INVALID_CODE);
    };
    let Some(user) = users::by_index(entry.link.user) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Code state lost");
    };
    let id = account_id(&entry.link.institution, user.username, &entry.link.account);
    store.accounts.insert((key, id.clone()), entry.link);
    drop(store);
    tracing::info!(account = %id, "sandbox: code exchanged");
    ok("Account linked", wire::exchanged(&id))
}

async fn sandbox_credentials(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    headers: HeaderMap,
) -> Response {
    let sid = match session_header(&headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let mut store = app.lock();
    let session = match find_session(&mut store, &key, &sid, now_ms()) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let credentials: Vec<Value> = users::test_users()
        .iter()
        .map(|user| {
            let mut values = Map::new();
            for field in &session.form.fields {
                let v = match catalogue::role(&session.method, &field.name) {
                    Some(Role::Username) => user.username.to_owned(),
                    Some(Role::Password) => user.password.to_owned(),
                    Some(Role::Phone) => user.phone.to_owned(),
                    Some(Role::AccountNumber) => user.account_number.to_owned(),
                    Some(Role::MobilePin) => user.mobile_pin.to_owned(),
                    Some(Role::UssdPin) => user.ussd_pin.to_owned(),
                    Some(Role::IdType) => "bvn".to_owned(),
                    Some(Role::IdValue) => user.bvn.to_owned(),
                    Some(Role::Captcha) => session.captcha.clone().unwrap_or_default(),
                    None => continue,
                };
                values.insert(field.name.clone(), Value::String(v));
            }
            json!({
                "hasMultipleAccounts": !user.other_accounts.is_empty(),
                "values": values,
                "description": user.behaviour,
            })
        })
        .collect();
    let inputs = json!([
        { "name": "otp", "value": users::OTP, "description": "Any OTP challenge" },
        { "name": "answer", "value": users::SECURITY_ANSWER, "description": "Any security question" },
    ]);
    ok(
        "Sandbox credentials",
        json!({ "credentials": credentials, "inputs": inputs }),
    )
}

async fn account_details(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(id): Path<String>,
) -> Response {
    let link = app.lock().accounts.get(&(key, id.clone())).cloned();
    let Some((link, user)) = link.and_then(|l| users::by_index(l.user).map(|u| (l, u))) else {
        return error(StatusCode::NOT_FOUND, "Account not found");
    };
    let account = accounts_of(user, link.user)
        .into_iter()
        .find(|a| a.number == link.account);
    let institution = app.institution(&link.institution);
    ok(
        "Account retrieved",
        json!({
            "id": id,
            "institution": institution.map(|i| json!({
                "id": i.id, "name": i.name, "bank_code": i.bank_code, "type": i.kind,
            })),
            "account_number": link.account,
            "name": user.name,
            "type": account.as_ref().and_then(|a| a.kind.clone()),
            "currency": account.as_ref().and_then(|a| a.currency.clone()),
            "balance": account.as_ref().and_then(|a| a.balance),
            "auth_method": link.method.as_str(),
            "status": "active",
            "data_status": "AVAILABLE",
        }),
    )
}

async fn unlink(
    State(app): State<App>,
    Extension(ApiKey(key)): Extension<ApiKey>,
    Path(id): Path<String>,
) -> Response {
    let removed = app.lock().accounts.remove(&(key, id.clone()));
    match removed {
        Some(_) => {
            tracing::info!(account = %id, "sandbox: account unlinked");
            ok("Account unlinked successfully", Value::Null)
        }
        None => error(StatusCode::NOT_FOUND, "Account not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_the_dialect_parser() {
        for ms in [0, 951_782_400_000, 1_735_689_600_123, 4_102_444_799_999] {
            let s = rfc3339(ms);
            assert_eq!(crate::dialect::mono::parse_rfc3339_ms(&s), Some(ms), "{s}");
        }
        assert_eq!(rfc3339(1_735_689_600_000), "2025-01-01T00:00:00.000Z");
    }

    #[test]
    fn account_ids_are_stable_and_distinct() {
        let a = account_id("sandbox-bank", "user_good", "1000000001");
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, account_id("sandbox-bank", "user_good", "1000000001"));
        assert_ne!(a, account_id("sandbox-bank", "user_multi", "1000000001"));
        assert_ne!(a, account_id("gtbank", "user_good", "1000000001"));
    }
}
