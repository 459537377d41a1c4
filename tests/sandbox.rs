//! The sandbox over real loopback HTTP: every route, every test user, every
//! auth method. Login steps are sent as the crate's own Mono dialect encodes
//! them and the replies decoded with it, so the sandbox and the dialect are
//! proven to agree.
#![cfg(feature = "sandbox")]

const T0: connectflow::flow::Timestamp = connectflow::flow::Timestamp(0);
use connectflow::dialect::mono::Customer;
use connectflow::dialect::Encoded;
use connectflow::dialect::{Dialect, HttpRequest, HttpResponse, Method, Mono, MonoConfig};
use connectflow::flow::{
    AccountChoice, AuthMethodKind, Call, CallError, Linked, RejectionKind, Reply, SessionInfo, Step,
};
use connectflow::form::{ContentType, FieldKind, Form, Values};
use connectflow::sandbox::{
    captcha_answer, test_users, Sandbox, SandboxConfig, OTP, PASSWORD, SECRET_KEY, SECURITY_ANSWER,
};
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

const OTHER_KEY: &str = "test_sk_another_app";

/// One app talking to one sandbox: raw HTTP plus the Mono dialect.
struct App {
    http: reqwest::Client,
    base: String,
    key: String,
    mono: Mono,
}

/// One answer: HTTP status, the JSON body, and the dialect's reading of it.
struct Answer {
    status: u16,
    body: Value,
    reply: Result<Reply, CallError>,
}

impl Answer {
    fn code(&self) -> Option<u64> {
        self.body.get("responseCode").and_then(Value::as_u64)
    }

    fn message(&self) -> &str {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn step(&self) -> Step {
        match &self.reply {
            Ok(Reply::Step(s)) => s.clone(),
            other => panic!("expected a step, got {other:?} from {}", self.body),
        }
    }

    /// Asserts Mono's failure envelope.
    fn assert_failed(&self, status: u16, message_part: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["status"], "failed", "{}", self.body);
        assert!(self.body["data"].is_null(), "{}", self.body);
        assert!(
            self.message().contains(message_part),
            "{:?} does not contain {message_part:?}",
            self.message()
        );
    }
}

impl App {
    fn new(sandbox: &Sandbox, key: &str) -> App {
        App {
            http: reqwest::Client::new(),
            base: sandbox.url(),
            key: key.to_owned(),
            mono: Mono::new(MonoConfig::new(
                key,
                Customer::new_customer("Ada Obi", "ada@example.com"),
            )),
        }
    }

    async fn send(&self, req: &HttpRequest) -> HttpResponse {
        let url = format!("{}{}", self.base, req.path);
        let mut builder = match req.method {
            Method::Get => self.http.get(url),
            Method::Post => self.http.post(url),
            Method::Delete => self.http.delete(url),
            Method::Patch => self.http.patch(url),
        };
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.expose());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let response = builder.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        // Headers are kept for the dialect (it reads `Retry-After`).
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let body = response.bytes().await.expect("a body").to_vec();
        HttpResponse {
            headers,
            ..HttpResponse::new(status, body)
        }
    }

    /// Sends `call` exactly as the dialect encodes it and decodes the reply.
    async fn call(&self, call: &Call) -> Answer {
        let Encoded::Http(request) = self.mono.encode(call, T0) else {
            panic!("Mono encodes every call the sandbox answers as HTTP")
        };
        let response = self.send(&request).await;
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Answer {
            status: response.status,
            body,
            reply: self.mono.decode(call, &response, T0),
        }
    }

    /// A raw request with this app's key (or none), for the routes and error
    /// paths the dialect has no call for.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut req = HttpRequest {
            method,
            path: path.to_owned(),
            headers: vec![(
                "mono-sec-key",
                connectflow::dialect::HeaderValue::Plain(self.key.clone()),
            )],
            body,
        };
        if let Some(s) = session {
            req.headers.push((
                "x-session-id",
                connectflow::dialect::HeaderValue::Plain(s.to_owned()),
            ));
        }
        req.headers.push((
            "content-type",
            connectflow::dialect::HeaderValue::Plain("application/json".into()),
        ));
        let response = self.send(&req).await;
        Answer {
            status: response.status,
            body: serde_json::from_slice(&response.body).unwrap_or(Value::Null),
            reply: Err(CallError::Malformed("raw request".into())),
        }
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Answer {
        self.raw(Method::Get, path, session, None).await
    }

    async fn post(&self, path: &str, session: Option<&str>, body: Value) -> Answer {
        let bytes = serde_json::to_vec(&body).expect("JSON");
        self.raw(Method::Post, path, session, Some(bytes)).await
    }

    async fn session(&self, institution: &str, method: AuthMethodKind) -> SessionInfo {
        let answer = self
            .call(&Call::CreateSession {
                institution: institution.into(),
                auth_method: method,
            })
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        match answer.reply {
            Ok(Reply::SessionCreated(s)) => s,
            other => panic!("expected a session, got {other:?}"),
        }
    }

    async fn login(&self, session: &str, values: Values) -> Answer {
        self.call(&Call::Login {
            session: session.into(),
            institution: String::new(),
            auth_method: AuthMethodKind::InternetBanking,
            values,
        })
        .await
    }

    async fn commit(&self, session: &str, values: Values, account: Option<&str>) -> Answer {
        self.call(&Call::Commit {
            session: session.into(),
            values,
            account: account.map(|n| AccountChoice {
                index: 0,
                number: n.into(),
            }),
        })
        .await
    }

    async fn exchange(&self, code: &str) -> Answer {
        self.call(&Call::ExchangeCode { code: code.into() }).await
    }

    /// Internet-banking login at `institution` as `user`, answering every
    /// challenge correctly (picking `pick` or the first account); returns the
    /// responseCode sequence and the code.
    async fn link_code(
        &self,
        institution: &str,
        user: &str,
        pick: Option<&str>,
    ) -> (Vec<u64>, String) {
        let s = self
            .session(institution, AuthMethodKind::InternetBanking)
            .await;
        let mut values = creds(user, PASSWORD);
        if let Some(answer) = s.form.as_ref().and_then(captcha_answer) {
            values.insert("captcha", answer);
        }
        let first = self.login(&s.id, values).await;
        self.finish(&s.id, first, pick).await
    }

    /// Answers challenges until a code, recording the responseCodes.
    async fn finish(&self, session: &str, first: Answer, pick: Option<&str>) -> (Vec<u64>, String) {
        let mut codes = Vec::new();
        let mut answer = first;
        loop {
            codes.push(answer.code().unwrap_or(0));
            answer = match answer.step() {
                Step::Done(Linked::Code(code)) => return (codes, code),
                Step::NeedsInput { form, .. } => {
                    let values = match form.fields[0].name.as_str() {
                        "otp" => Values::new().with("otp", OTP),
                        "answer" => Values::new().with("answer", SECURITY_ANSWER),
                        other => panic!("unexpected MFA field {other}"),
                    };
                    self.commit(session, values, None).await
                }
                Step::ChooseAccount { accounts, .. } => {
                    let number = pick.unwrap_or(&accounts[0].number).to_owned();
                    self.commit(session, Values::new(), Some(&number)).await
                }
                other => panic!("unexpected step {other:?} after {codes:?}"),
            };
        }
    }

    async fn link(&self, institution: &str, user: &str, pick: Option<&str>) -> String {
        let (_, code) = self.link_code(institution, user, pick).await;
        exchanged_id(&self.exchange(&code).await)
    }
}

fn creds(user: &str, password: &str) -> Values {
    Values::new()
        .with("username", user)
        .with("password", password)
}

fn exchanged_id(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    match &answer.reply {
        Ok(Reply::Exchanged { account_id }) => {
            assert_eq!(answer.body["data"]["id"], json!(account_id));
            account_id.clone()
        }
        other => panic!("expected an exchange, got {other:?}"),
    }
}

async fn start() -> (Sandbox, App) {
    let sandbox = Sandbox::start_local().await.expect("sandbox starts");
    let app = App::new(&sandbox, SECRET_KEY);
    (sandbox, app)
}

async fn start_with(config: SandboxConfig) -> (Sandbox, App) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let sandbox = Sandbox::start(addr, config).await.expect("sandbox starts");
    let app = App::new(&sandbox, SECRET_KEY);
    (sandbox, app)
}

fn user(name: &str) -> &'static connectflow::sandbox::TestUser {
    test_users()
        .iter()
        .find(|u| u.username == name)
        .expect("a test user")
}

// ---- keys, institutions --------------------------------------------------------

#[tokio::test]
async fn every_route_needs_a_test_key() {
    let (sandbox, app) = start().await;
    let none = app
        .http
        .get(format!("{}/v3/institutions", app.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.expect("JSON");
    assert_eq!(body["status"], "failed");
    assert!(body["data"].is_null());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    for bad in ["live_sk_abc", "test_sk_", "sk_test_abc", ""] {
        let other = App::new(&sandbox, bad);
        other
            .get("/v3/institutions", None)
            .await
            .assert_failed(401, "key");
        other
            .post("/v2/connect/session", None, json!({}))
            .await
            .assert_failed(401, "key");
    }
    // The dialect reads a 401 as unauthorized.
    let bad = App::new(&sandbox, "live_sk_abc");
    let answer = bad.call(&Call::ListInstitutions).await;
    assert!(matches!(answer.reply, Err(CallError::Unauthorized(_))));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn institutions_unfiltered_and_filtered() {
    let (sandbox, app) = start().await;
    let all = app.call(&Call::ListInstitutions).await;
    assert_eq!(all.status, 200);
    let Ok(Reply::Institutions(catalogue)) = &all.reply else {
        panic!("expected institutions: {:?}", all.reply)
    };
    let list = catalogue.institutions();
    assert!(list.len() >= 17, "{}", list.len());
    for (raw, inst) in all.body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .zip(list)
    {
        for key in [
            "_id",
            "name",
            "type",
            "identifier",
            "bank_code",
            "country",
            "primary_color",
            "timeout",
            "auth_methods",
        ] {
            assert!(!raw[key].is_null(), "{} lacks {key}", inst.id);
        }
        assert_eq!(raw["country"], "ng");
        assert!(!inst.auth_methods.is_empty());
        assert!(inst.auth_methods.iter().all(|m| m.ui.is_some()));
    }
    let sandbox_bank = catalogue.get("sandbox-bank").expect("sandbox-bank");
    assert_eq!(sandbox_bank.name, "Sandbox Bank");
    assert_eq!(
        sandbox_bank.method_kinds(),
        vec![
            AuthMethodKind::InternetBanking,
            AuthMethodKind::MobileBanking,
            AuthMethodKind::Manual,
            AuthMethodKind::Ussd
        ]
    );
    let mobile = sandbox_bank
        .form_for(&AuthMethodKind::MobileBanking)
        .expect("mobile form");
    assert_eq!(mobile.field("pin").and_then(|f| f.max_length), Some(6));
    let manual = sandbox_bank
        .form_for(&AuthMethodKind::Manual)
        .expect("manual form");
    assert_eq!(
        manual.field("accountNo").and_then(|f| f.max_length),
        Some(10)
    );
    let choice = manual.field("identifier").expect("identifier kind");
    assert_eq!(choice.kind, FieldKind::Choice);
    let options: Vec<&str> = choice.options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(options, ["bvn", "dob", "phone", "email"]);
    let ussd = sandbox_bank
        .form_for(&AuthMethodKind::Ussd)
        .expect("ussd form");
    let pin = ussd.field("pin").expect("pin");
    assert_eq!(
        (pin.max_length, &pin.content_type),
        (Some(4), &ContentType::Password)
    );
    for name in ["Access Bank", "GTBank", "First Bank", "Kuda", "Moniepoint"] {
        assert!(list.iter().any(|i| i.name == name), "{name}");
    }

    let ids = |a: &Answer| -> Vec<String> {
        a.body["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|i| i["_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let manual = app.get("/v3/institutions?auth_method=manual", None).await;
    assert_eq!(ids(&manual), ["sandbox-bank"]);
    let ussd = app
        .get(
            "/v3/institutions?scope=financial_data&auth_method=ussd",
            None,
        )
        .await;
    assert_eq!(ids(&ussd), ["sandbox-bank"]);
    let gtbank = app.get("/v3/institutions?bank_code=058", None).await;
    assert_eq!(ids(&gtbank), ["gtbank"]);
    let mobile = ids(&app
        .get("/v3/institutions?auth_method=mobile_banking", None)
        .await);
    assert!(mobile.contains(&"kuda".to_owned()) && mobile.contains(&"sandbox-bank".to_owned()));
    assert!(!mobile.contains(&"firstbank".to_owned()));
    let scoped = app.get("/v3/institutions?scope=financial_data", None).await;
    assert_eq!(ids(&scoped).len(), list.len());
    let none = app.get("/v3/institutions?scope=payments", None).await;
    assert!(ids(&none).is_empty());
    sandbox.shutdown().await;
}

// ---- sessions ------------------------------------------------------------------

#[tokio::test]
async fn session_shape_and_errors() {
    let (sandbox, app) = start().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let created = app
        .post(
            "/v2/connect/session",
            None,
            json!({ "institution": "sandbox-bank", "auth_method": "internet_banking",
                    "scope": "financial_data", "customer": { "id": "cus_1" } }),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["status"], "successful");
    let session = &created.body["data"]["session"];
    let id = session["id"].as_str().expect("id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let expires = session["expiresAt"].as_u64().expect("expiresAt");
    assert!(expires >= before + 29 * 60 * 1000, "30 minutes by default");
    assert_eq!(session["institution"]["id"], "sandbox-bank");
    assert_eq!(session["institution"]["name"], "Sandbox Bank");
    assert_eq!(created.body["data"]["ui"]["form"][0]["name"], "username");

    let unknown = app
        .post(
            "/v2/connect/session",
            None,
            json!({ "institution": "no-such-bank", "auth_method": "internet_banking" }),
        )
        .await;
    unknown.assert_failed(400, "Institution");
    let unsupported = app
        .call(&Call::CreateSession {
            institution: "gtbank".into(),
            auth_method: AuthMethodKind::Ussd,
        })
        .await;
    unsupported.assert_failed(400, "not supported");
    assert!(unsupported.reply.is_err());
    app.post("/v2/connect/session", None, json!({ "institution": 5 }))
        .await
        .assert_failed(400, "Invalid input");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_missing_and_foreign_sessions_are_rejected() {
    let (sandbox, app) = start().await;
    let no_header = app
        .post(
            "/v2/connect/login",
            None,
            json!({ "username": "user_good" }),
        )
        .await;
    no_header.assert_failed(400, "x-session-id");

    let unknown = app
        .login(
            "00000000-0000-0000-0000-000000000000",
            creds("user_good", PASSWORD),
        )
        .await;
    unknown.assert_failed(404, "Session not found");
    assert_eq!(unknown.code(), Some(400));
    match unknown.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::SessionExpired),
        other => panic!("{other:?}"),
    }

    // A session made with another key does not exist for this one: the same
    // answer as an unknown id, on every session route.
    let other = App::new(&sandbox, OTHER_KEY);
    let theirs = other
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let foreign = app.login(&theirs.id, creds("user_good", PASSWORD)).await;
    foreign.assert_failed(404, "Session not found");
    assert_eq!(foreign.body["message"], unknown.body["message"]);
    app.commit(&theirs.id, Values::new().with("otp", OTP), None)
        .await
        .assert_failed(404, "Session not found");
    app.get("/v2/connect/sandbox", Some(&theirs.id))
        .await
        .assert_failed(404, "Session not found");
    // ... and it still works for its owner.
    let (codes, _) = other
        .finish(
            &theirs.id,
            other.login(&theirs.id, creds("user_good", PASSWORD)).await,
            None,
        )
        .await;
    assert_eq!(codes, [99]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn expired_session_is_rejected() {
    let (sandbox, app) = start_with(SandboxConfig {
        session_ttl: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let answer = app.login(&s.id, creds("user_good", PASSWORD)).await;
    answer.assert_failed(400, "Session expired");
    assert_eq!(answer.code(), Some(400));
    match answer.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::SessionExpired),
        other => panic!("{other:?}"),
    }
    app.commit(&s.id, Values::new().with("otp", OTP), None)
        .await
        .assert_failed(400, "Session expired");
    sandbox.shutdown().await;
}

// ---- the login loop, per user ------------------------------------------------------

#[tokio::test]
async fn each_user_through_internet_banking() {
    let (sandbox, app) = start_with(SandboxConfig {
        slow_delay: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await;
    let expected: [(&str, &[u64]); 6] = [
        ("user_good", &[99]),
        ("user_multi", &[101, 99]),
        ("user_otp", &[102, 99]),
        ("user_question", &[102, 99]),
        ("user_chain", &[102, 102, 101, 99]),
        ("user_slow", &[99]),
    ];
    for (name, sequence) in expected {
        let started = Instant::now();
        let (codes, code) = app.link_code("sandbox-bank", name, None).await;
        assert_eq!(codes, sequence, "{name}");
        assert!(code.starts_with("code_"), "{code}");
        if name == "user_slow" {
            assert!(started.elapsed() >= Duration::from_millis(300));
        }
    }

    // The individual steps, as the dialect reads them.
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let multi = app.login(&s.id, creds("user_multi", PASSWORD)).await;
    let Step::ChooseAccount { accounts, .. } = multi.step() else {
        panic!("{}", multi.body)
    };
    let numbers: Vec<&str> = accounts.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(numbers, ["1000000002", "2000000002", "3000000002"]);
    assert!(accounts
        .iter()
        .all(|a| a.balance.is_some() && a.name == "CHIDI OKAFOR"));

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let otp = app.login(&s.id, creds("user_otp", PASSWORD)).await;
    let Step::NeedsInput { form, .. } = otp.step() else {
        panic!("{}", otp.body)
    };
    let field = form.field("otp").expect("otp field");
    assert_eq!(field.max_length, Some(6));

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let question = app.login(&s.id, creds("user_question", PASSWORD)).await;
    let Step::NeedsInput { form, .. } = question.step() else {
        panic!("{}", question.body)
    };
    assert_eq!(
        form.field("answer").map(|f| &f.content_type),
        Some(&ContentType::Password)
    );

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let locked = app.login(&s.id, creds("user_locked", PASSWORD)).await;
    locked.assert_failed(400, "locked");
    assert_eq!(locked.code(), Some(400));
    match locked.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::Final),
        other => panic!("{other:?}"),
    }

    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let down = app.login(&s.id, creds("user_down", PASSWORD)).await;
    down.assert_failed(503, "unavailable");
    assert!(matches!(
        down.reply,
        Err(CallError::Http { status: 503, .. })
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn wrong_otp_and_answer_can_be_retried() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_eq!(
        app.login(&s.id, creds("user_chain", PASSWORD)).await.code(),
        Some(102)
    );
    // Keys must match the last 102 form.
    app.commit(&s.id, Values::new().with("answer", SECURITY_ANSWER), None)
        .await
        .assert_failed(400, "Invalid input");
    let wrong = app
        .commit(&s.id, Values::new().with("otp", "000000"), None)
        .await;
    wrong.assert_failed(400, "Invalid OTP");
    match wrong.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::Retry),
        other => panic!("{other:?}"),
    }
    let right = app
        .commit(&s.id, Values::new().with("otp", OTP), None)
        .await;
    assert_eq!(right.code(), Some(102));
    app.commit(&s.id, Values::new().with("answer", "Lagos"), None)
        .await
        .assert_failed(400, "Incorrect answer");
    // Case does not matter for the answer.
    let answered = app
        .commit(&s.id, Values::new().with("answer", "montreal"), None)
        .await;
    assert_eq!(answered.code(), Some(101));
    app.commit(&s.id, Values::new(), Some("9999999999"))
        .await
        .assert_failed(400, "Invalid account number");
    app.commit(&s.id, Values::new().with("otp", OTP), Some("2000000005"))
        .await
        .assert_failed(400, "Invalid input");
    let done = app.commit(&s.id, Values::new(), Some("2000000005")).await;
    assert_eq!(done.code(), Some(99));
    // The session is spent.
    app.commit(&s.id, Values::new(), Some("2000000005"))
        .await
        .assert_failed(400, "already");
    app.login(&s.id, creds("user_chain", PASSWORD))
        .await
        .assert_failed(400, "already");

    // A commit before any login is refused too.
    let fresh = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.commit(&fresh.id, Values::new().with("otp", OTP), None)
        .await
        .assert_failed(400, "Login required");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn mixed_commit_picks_the_account_with_the_answer() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_chain", PASSWORD)).await;
    app.commit(&s.id, Values::new().with("otp", OTP), None)
        .await;
    // v2 allows `{accountNumber, answer}`: the account list is then skipped.
    let done = app
        .commit(
            &s.id,
            Values::new().with("answer", SECURITY_ANSWER),
            Some("3000000005"),
        )
        .await;
    assert_eq!(done.code(), Some(99), "{}", done.body);
    let Step::Done(Linked::Code(code)) = done.step() else {
        panic!()
    };
    let id = exchanged_id(&app.exchange(&code).await);
    let details = app.get(&format!("/v2/accounts/{id}"), None).await;
    assert_eq!(details.body["data"]["account_number"], "3000000005");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn third_wrong_password_locks_the_user_across_sessions() {
    let (sandbox, app) = start().await;
    for attempt in 1..=2 {
        let s = app
            .session("sandbox-bank", AuthMethodKind::InternetBanking)
            .await;
        let wrong = app.login(&s.id, creds("user_otp", "nope")).await;
        wrong.assert_failed(400, "Invalid credentials");
        match wrong.step() {
            Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::Retry, "try {attempt}"),
            other => panic!("{other:?}"),
        }
    }
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let third = app.login(&s.id, creds("user_otp", "nope")).await;
    third.assert_failed(400, "Invalid credentials");
    // The same session, right password: the lock is already in place.
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "locked");
    // Locked for good, even with the right password and through another method.
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "Your account has been locked");
    let u = user("user_otp");
    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    app.login(
        &s.id,
        Values::new()
            .with("accountNo", u.account_number)
            .with("pin", u.ussd_pin),
    )
    .await
    .assert_failed(400, "locked");
    // Other users, and the same user at another institution, are unaffected.
    assert_eq!(
        app.link_code("sandbox-bank", "user_good", None).await.0,
        [99]
    );
    assert_eq!(app.link_code("gtbank", "user_otp", None).await.0, [102, 99]);

    // Two wrong tries, then a right one, reset the count.
    for _ in 0..2 {
        let s = app
            .session("sandbox-bank", AuthMethodKind::InternetBanking)
            .await;
        app.login(&s.id, creds("user_question", "nope"))
            .await
            .assert_failed(400, "Invalid credentials");
    }
    assert_eq!(
        app.link_code("sandbox-bank", "user_question", None).await.0,
        [102, 99]
    );
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_question", "nope"))
        .await
        .assert_failed(400, "Invalid credentials");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_lockout_belongs_to_the_key_that_caused_it() {
    let (sandbox, app) = start().await;
    for _ in 0..3 {
        let s = app
            .session("sandbox-bank", AuthMethodKind::InternetBanking)
            .await;
        app.login(&s.id, creds("user_otp", "nope"))
            .await
            .assert_failed(400, "Invalid credentials");
    }
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "Your account has been locked");

    // Another app's customer with the same login is not locked out by it.
    let other = App::new(&sandbox, OTHER_KEY);
    assert_eq!(
        other.link_code("sandbox-bank", "user_otp", None).await.0,
        [102, 99]
    );
    // ... nor does that app's success unlock the user for the first one.
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    app.login(&s.id, creds("user_otp", PASSWORD))
        .await
        .assert_failed(400, "locked");
    sandbox.shutdown().await;
}

// ---- the per-key session cap ---------------------------------------------------------

fn create_session() -> Call {
    Call::CreateSession {
        institution: "sandbox-bank".into(),
        auth_method: AuthMethodKind::InternetBanking,
    }
}

/// Asserts the cap's refusal: 429 in Mono's error envelope (no
/// responseCode: it is not a login refusal), read by the dialect as rate
/// limiting with the wait from `Retry-After`.
fn assert_capped(answer: &Answer) {
    answer.assert_failed(429, "Too many open sessions");
    assert!(answer.body.get("responseCode").is_none(), "{}", answer.body);
    match &answer.reply {
        Err(CallError::RateLimited {
            retry_after_ms: Some(ms),
        }) => assert!(*ms > 0, "{ms}"),
        other => panic!("expected rate limiting with a wait, got {other:?}"),
    }
}

#[tokio::test]
async fn live_sessions_are_capped_per_key_until_one_finishes() {
    let (sandbox, app) = start_with(SandboxConfig {
        max_sessions_per_key: 3,
        ..SandboxConfig::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            app.session("sandbox-bank", AuthMethodKind::InternetBanking)
                .await,
        );
    }
    assert_capped(&app.call(&create_session()).await);

    // Another app has its own allowance.
    let other = App::new(&sandbox, OTHER_KEY);
    other
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;

    // The open sessions still work, and linking one frees its slot.
    let (codes, _) = app
        .finish(
            &open[0].id,
            app.login(&open[0].id, creds("user_good", PASSWORD)).await,
            None,
        )
        .await;
    assert_eq!(codes, [99]);
    app.session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_capped(&app.call(&create_session()).await);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_frees_its_slot() {
    let (sandbox, app) = start_with(SandboxConfig {
        max_sessions_per_key: 1,
        session_ttl: Duration::from_millis(150),
        ..SandboxConfig::default()
    })
    .await;
    app.session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_capped(&app.call(&create_session()).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    sandbox.shutdown().await;
}

// ---- codes and accounts ------------------------------------------------------------

#[tokio::test]
async fn codes_are_single_use_and_ids_are_stable() {
    let (sandbox, app) = start().await;
    let (_, code) = app.link_code("sandbox-bank", "user_good", None).await;
    // Another key cannot use it (and does not burn it).
    let other = App::new(&sandbox, OTHER_KEY);
    other
        .exchange(&code)
        .await
        .assert_failed(400, "Invalid or expired code");
    let first = app.exchange(&code).await;
    let id = exchanged_id(&first);
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let again = app.exchange(&code).await;
    again.assert_failed(400, "Invalid or expired code");
    assert!(matches!(
        again.reply,
        Err(CallError::Http { status: 400, .. })
    ));
    app.post("/v2/accounts/auth", None, json!({}))
        .await
        .assert_failed(400, "code");

    // A returning user gets the same id; other users and accounts do not.
    assert_eq!(app.link("sandbox-bank", "user_good", None).await, id);
    let multi_a = app.link("sandbox-bank", "user_multi", None).await;
    let multi_b = app
        .link("sandbox-bank", "user_multi", Some("2000000002"))
        .await;
    assert_ne!(multi_a, id);
    assert_ne!(multi_a, multi_b);
    assert_eq!(
        app.link("sandbox-bank", "user_multi", Some("2000000002"))
            .await,
        multi_b
    );
    assert_ne!(app.link("gtbank", "user_good", None).await, id);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn codes_expire() {
    let (sandbox, app) = start_with(SandboxConfig {
        code_ttl: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .await;
    let (_, code) = app.link_code("sandbox-bank", "user_good", None).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    app.exchange(&code)
        .await
        .assert_failed(400, "Invalid or expired code");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn account_details_and_unlink() {
    let (sandbox, app) = start().await;
    let id = app.link("sandbox-bank", "user_good", None).await;
    let details = app.get(&format!("/v2/accounts/{id}"), None).await;
    assert_eq!(details.status, 200, "{}", details.body);
    let data = &details.body["data"];
    assert_eq!(data["id"], json!(id));
    assert_eq!(data["institution"]["id"], "sandbox-bank");
    assert_eq!(data["institution"]["name"], "Sandbox Bank");
    assert_eq!(data["account_number"], "1000000001");
    assert_eq!(data["name"], "ADA OBI");
    assert_eq!(data["type"], "SAVINGS_ACCOUNT");
    assert_eq!(data["currency"], "NGN");
    assert!(data["balance"].as_i64().is_some_and(|b| b > 0));
    assert_eq!(data["auth_method"], "internet_banking");
    assert_eq!(data["status"], "active");

    // Another app does not see it.
    App::new(&sandbox, OTHER_KEY)
        .get(&format!("/v2/accounts/{id}"), None)
        .await
        .assert_failed(404, "not found");

    let unlinked = app
        .post(&format!("/v2/accounts/{id}/unlink"), None, json!({}))
        .await;
    assert_eq!(unlinked.status, 200, "{}", unlinked.body);
    assert_eq!(unlinked.body["status"], "successful");
    app.get(&format!("/v2/accounts/{id}"), None)
        .await
        .assert_failed(404, "not found");
    app.post(&format!("/v2/accounts/{id}/unlink"), None, json!({}))
        .await
        .assert_failed(404, "not found");
    app.get("/v2/accounts/ffffffffffffffffffffffff", None)
        .await
        .assert_failed(404, "not found");

    // Linking again brings the same id back.
    assert_eq!(app.link("sandbox-bank", "user_good", None).await, id);
    assert_eq!(
        app.get(&format!("/v2/accounts/{id}"), None).await.status,
        200
    );
    sandbox.shutdown().await;
}

// ---- captcha and the other auth methods ---------------------------------------------

#[tokio::test]
async fn captcha_wrong_then_right() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-captcha-bank", AuthMethodKind::InternetBanking)
        .await;
    let form: Form = s.form.clone().expect("session form");
    let field = form.field("captcha").expect("captcha field");
    assert_eq!(field.kind, FieldKind::Captcha);
    assert_eq!(field.length, Some(5));
    assert!(field
        .value
        .as_deref()
        .is_some_and(|v| v.starts_with("data:image/png;base64,iVBORw0KGgo")));
    let answer = captcha_answer(&form).expect("sandbox captcha convention");
    assert_eq!(answer.len(), 5);
    // Per session: another session gets another captcha.
    let other = app
        .session("sandbox-captcha-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_ne!(
        other
            .form
            .as_ref()
            .and_then(|f| f.field("captcha"))
            .and_then(|f| f.value.clone()),
        field.value
    );

    let wrong = if answer == "AAAAA" { "BBBBB" } else { "AAAAA" };
    let refused = app
        .login(&s.id, creds("user_good", PASSWORD).with("captcha", wrong))
        .await;
    refused.assert_failed(400, "captcha");
    let missing = app.login(&s.id, creds("user_good", PASSWORD)).await;
    missing.assert_failed(400, "Invalid input");
    let ok = app
        .login(
            &s.id,
            creds("user_good", PASSWORD).with("captcha", answer.as_str()),
        )
        .await;
    assert_eq!(ok.code(), Some(99), "{}", ok.body);
    assert!(matches!(ok.step(), Step::Done { .. }));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn manual_ussd_and_mobile_behave_like_internet_banking() {
    let (sandbox, app) = start().await;
    let good = user("user_good");
    let ib_id = app.link("sandbox-bank", "user_good", None).await;

    // Manual: account number + any one identifier.
    for (kind, value) in [
        ("bvn", good.bvn),
        ("dob", good.date_of_birth),
        ("phone", good.phone),
        ("email", good.email),
    ] {
        let s = app.session("sandbox-bank", AuthMethodKind::Manual).await;
        let values = Values::new()
            .with("accountNo", good.account_number)
            .with("identifier", kind)
            .with("value", value);
        let first = app.login(&s.id, values).await;
        let (codes, code) = app.finish(&s.id, first, None).await;
        assert_eq!(codes, [99], "{kind}");
        // Same institution, user and account: the same id as internet banking.
        assert_eq!(exchanged_id(&app.exchange(&code).await), ib_id);
    }
    let s = app.session("sandbox-bank", AuthMethodKind::Manual).await;
    app.login(
        &s.id,
        Values::new()
            .with("accountNo", good.account_number)
            .with("identifier", "bvn")
            .with("value", "22299999999"),
    )
    .await
    .assert_failed(400, "Invalid credentials");

    // USSD: user_otp reaches the OTP form.
    let otp_user = user("user_otp");
    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    let first = app
        .login(
            &s.id,
            Values::new()
                .with("accountNo", otp_user.account_number)
                .with("pin", otp_user.ussd_pin),
        )
        .await;
    let Step::NeedsInput { form, .. } = first.step() else {
        panic!("{}", first.body)
    };
    assert!(form.field("otp").is_some());
    assert_eq!(app.finish(&s.id, first, None).await.0, [102, 99]);
    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    app.login(
        &s.id,
        Values::new()
            .with("accountNo", otp_user.account_number)
            .with("pin", "0000"),
    )
    .await
    .assert_failed(400, "Invalid credentials");

    // Mobile banking: phone + 6-digit PIN; user_multi gets the account list.
    let multi = user("user_multi");
    let s = app
        .session("sandbox-bank", AuthMethodKind::MobileBanking)
        .await;
    let first = app
        .login(
            &s.id,
            Values::new()
                .with("phone", multi.phone)
                .with("pin", multi.mobile_pin),
        )
        .await;
    assert_eq!(app.finish(&s.id, first, None).await.0, [101, 99]);

    // A real bank's mobile banking names its field its own way.
    let s = app
        .session("access-bank", AuthMethodKind::MobileBanking)
        .await;
    let first = app
        .login(
            &s.id,
            Values::new()
                .with("accountNo", user("user_chain").account_number)
                .with("pin", user("user_chain").mobile_pin),
        )
        .await;
    assert_eq!(app.finish(&s.id, first, None).await.0, [102, 102, 101, 99]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_credentials_for_the_session() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let creds_answer = app.get("/v2/connect/sandbox", Some(&s.id)).await;
    assert_eq!(creds_answer.status, 200, "{}", creds_answer.body);
    let list = creds_answer.body["data"]["credentials"]
        .as_array()
        .expect("credentials");
    assert_eq!(list.len(), test_users().len());
    let good = &list[0];
    assert_eq!(good["hasMultipleAccounts"], false);
    assert_eq!(
        good["values"],
        json!({ "username": "user_good", "password": PASSWORD })
    );
    assert_eq!(list[1]["hasMultipleAccounts"], true);
    assert!(creds_answer.body["data"]["inputs"].is_array());

    let s = app.session("sandbox-bank", AuthMethodKind::Ussd).await;
    let ussd = app.get("/v2/connect/sandbox", Some(&s.id)).await;
    assert_eq!(
        ussd.body["data"]["credentials"][0]["values"],
        json!({ "accountNo": "1000000001", "pin": "1111" })
    );

    // The captcha bank's credentials include this session's captcha, and work.
    let s = app
        .session("sandbox-captcha-bank", AuthMethodKind::InternetBanking)
        .await;
    let answer = captcha_answer(s.form.as_ref().expect("form")).expect("answer");
    let captcha = app.get("/v2/connect/sandbox", Some(&s.id)).await;
    let values = &captcha.body["data"]["credentials"][0]["values"];
    assert_eq!(values["captcha"], json!(answer));
    let login: Values = values
        .as_object()
        .expect("values")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(app.login(&s.id, login).await.code(), Some(99));

    app.get("/v2/connect/sandbox", None)
        .await
        .assert_failed(400, "x-session-id");
    sandbox.shutdown().await;
}

// ---- hostile input ------------------------------------------------------------------

#[tokio::test]
async fn malformed_and_oversized_bodies_get_envelopes() {
    let (sandbox, app) = start().await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    for path in [
        "/v2/connect/session",
        "/v2/connect/login",
        "/v2/connect/commit",
        "/v2/accounts/auth",
    ] {
        app.raw(
            Method::Post,
            path,
            Some(&s.id),
            Some(b"{\"username\": ".to_vec()),
        )
        .await
        .assert_failed(400, "JSON");
        app.raw(Method::Post, path, Some(&s.id), Some(Vec::new()))
            .await
            .assert_failed(400, "JSON");
    }
    app.post("/v2/connect/login", Some(&s.id), json!(["user_good"]))
        .await
        .assert_failed(400, "Invalid input");
    app.post(
        "/v2/connect/login",
        Some(&s.id),
        json!({ "username": {"nested": true}, "password": PASSWORD }),
    )
    .await
    .assert_failed(400, "Invalid input");
    app.post(
        "/v2/connect/login",
        Some(&s.id),
        json!({ "username": "user_good", "password": PASSWORD, "extra": "x" }),
    )
    .await
    .assert_failed(400, "unexpected field");

    let big = format!(
        "{{\"username\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(100 * 1024)
    );
    let oversized = app
        .raw(
            Method::Post,
            "/v2/connect/login",
            Some(&s.id),
            Some(big.into_bytes()),
        )
        .await;
    oversized.assert_failed(413, "larger");

    app.get("/v2/no/such/route", None)
        .await
        .assert_failed(404, "Route");
    app.raw(Method::Delete, "/v2/connect/login", None, None)
        .await
        .assert_failed(405, "Method");

    // Still serving, and the session is still usable.
    assert_eq!(app.get("/v3/institutions", None).await.status, 200);
    let (codes, _) = app
        .finish(
            &s.id,
            app.login(&s.id, creds("user_good", PASSWORD)).await,
            None,
        )
        .await;
    assert_eq!(codes, [99]);
    sandbox.shutdown().await;
}

// ---- the handle ---------------------------------------------------------------------

#[tokio::test]
async fn handle_url_router_and_shutdown() {
    let sandbox = Sandbox::start(
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SandboxConfig::default(),
    )
    .await
    .expect("starts");
    let port = sandbox.addr().port();
    assert_ne!(port, 0);
    assert_eq!(sandbox.url(), format!("http://127.0.0.1:{port}"));
    let url = sandbox.url();
    sandbox.shutdown().await;
    let after = reqwest::Client::new()
        .get(format!("{url}/v3/institutions"))
        .header("mono-sec-key", SECRET_KEY)
        .send()
        .await;
    assert!(after.is_err(), "the server is gone after shutdown");

    // A host can serve the router itself.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        axum::serve(listener, Sandbox::router(SandboxConfig::default())).await
    });
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}/v3/institutions?auth_method=manual"))
        .header("mono-sec-key", SECRET_KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    server.abort();
}

// ---- the whole flow -------------------------------------------------------------------

/// The crate's sans-IO flow, its Mono dialect and the sandbox, end to end: the
/// flow asks for calls, the dialect encodes them, the sandbox answers, the
/// dialect decodes, and the flow ends linked with the sandbox's account id.
async fn run_flow(app: &App, institution: &str, username: &str, pick: usize) -> String {
    use connectflow::flow::{ConnectFlow, Effect, FlowConfig, Input, Timestamp, UserAction, View};
    let now = || {
        Timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis() as u64,
        )
    };
    let mut flow = ConnectFlow::new(FlowConfig::default(), now());
    for _ in 0..50 {
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            let result = app.call(&call).await.reply;
            flow.handle(now(), Input::Api { id, result })
                .expect("the flow accepts the reply");
        }
        let action = match flow.view() {
            View::ChooseInstitution { .. } => UserAction::ChooseInstitution {
                id: institution.into(),
                auth_method: None,
            },
            View::Form(view) => UserAction::Submit(
                view.form
                    .fields
                    .iter()
                    .map(|f| {
                        let v = match f.name.as_str() {
                            "username" => username.to_owned(),
                            "password" => PASSWORD.to_owned(),
                            "otp" => OTP.to_owned(),
                            "answer" => SECURITY_ANSWER.to_owned(),
                            "captcha" => captcha_answer(view.form).expect("captcha answer"),
                            other => panic!("unexpected field {other}"),
                        };
                        (f.name.clone(), v)
                    })
                    .collect(),
            ),
            View::ChooseAccount { .. } => UserAction::ChooseAccount(pick),
            View::Done {
                account_id: Some(id),
                ..
            } => return id.to_owned(),
            other => panic!("unexpected view {other:?}"),
        };
        flow.handle(now(), Input::User(action))
            .expect("the flow accepts the action");
    }
    panic!("the flow did not finish")
}

#[tokio::test]
async fn the_connect_flow_links_against_the_sandbox() {
    let (sandbox, app) = start().await;
    let chain = run_flow(&app, "sandbox-bank", "user_chain", 1).await;
    assert_eq!(
        chain,
        app.link("sandbox-bank", "user_chain", Some("2000000005"))
            .await
    );
    let captcha = run_flow(&app, "sandbox-captcha-bank", "user_good", 0).await;
    assert_eq!(
        captcha,
        app.link("sandbox-captcha-bank", "user_good", None).await
    );
    sandbox.shutdown().await;
}
