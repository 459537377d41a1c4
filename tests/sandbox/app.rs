//! Shared by every topic: an `App` talking to one sandbox over raw HTTP and
//! the Mono dialect, its `Answer`s, and the helpers that start a sandbox.

use connectflow::dialect::mono::Customer;
use connectflow::dialect::Encoded;
use connectflow::dialect::{Dialect, HttpRequest, HttpResponse, Method, Mono, MonoConfig};
use connectflow::flow::{
    AccountChoice, AuthMethodKind, Call, CallError, Linked, Reply, SessionInfo, Step,
};
use connectflow::form::Values;
use connectflow::sandbox::{
    captcha_answer, test_users, Sandbox, SandboxConfig, OTP, PASSWORD, SECRET_KEY, SECURITY_ANSWER,
};
use serde_json::{json, Value};
use std::net::{Ipv4Addr, SocketAddr};

const T0: connectflow::flow::Timestamp = connectflow::flow::Timestamp(0);

pub(crate) const OTHER_KEY: &str = "test_sk_another_app";

/// One app talking to one sandbox: raw HTTP plus the Mono dialect.
pub(crate) struct App {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    key: String,
    mono: Mono,
}

/// One answer: HTTP status, the JSON body, and the dialect's reading of it.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    pub(crate) reply: Result<Reply, CallError>,
}

impl Answer {
    pub(crate) fn code(&self) -> Option<u64> {
        self.body.get("responseCode").and_then(Value::as_u64)
    }

    fn message(&self) -> &str {
        self.body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub(crate) fn step(&self) -> Step {
        match &self.reply {
            Ok(Reply::Step(s)) => s.clone(),
            other => panic!("expected a step, got {other:?} from {}", self.body),
        }
    }

    /// Asserts Mono's failure envelope.
    pub(crate) fn assert_failed(&self, status: u16, message_part: &str) {
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
    pub(crate) fn new(sandbox: &Sandbox, key: &str) -> App {
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
    pub(crate) async fn call(&self, call: &Call) -> Answer {
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
    pub(crate) async fn raw(
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

    pub(crate) async fn get(&self, path: &str, session: Option<&str>) -> Answer {
        self.raw(Method::Get, path, session, None).await
    }

    pub(crate) async fn post(&self, path: &str, session: Option<&str>, body: Value) -> Answer {
        let bytes = serde_json::to_vec(&body).expect("JSON");
        self.raw(Method::Post, path, session, Some(bytes)).await
    }

    pub(crate) async fn session(&self, institution: &str, method: AuthMethodKind) -> SessionInfo {
        let answer = self
            .call(&Call::CreateSession {
                institution: institution.into(),
                auth_method: method,
                customer: None,
            })
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        match answer.reply {
            Ok(Reply::SessionCreated(s)) => s,
            other => panic!("expected a session, got {other:?}"),
        }
    }

    pub(crate) async fn login(&self, session: &str, values: Values) -> Answer {
        self.call(&Call::Login {
            session: session.into(),
            institution: String::new(),
            auth_method: AuthMethodKind::InternetBanking,
            values,
        })
        .await
    }

    pub(crate) async fn commit(
        &self,
        session: &str,
        values: Values,
        account: Option<&str>,
    ) -> Answer {
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

    pub(crate) async fn exchange(&self, code: &str) -> Answer {
        self.call(&Call::ExchangeCode { code: code.into() }).await
    }

    /// Internet-banking login at `institution` as `user`, answering every
    /// challenge correctly (picking `pick` or the first account); returns the
    /// responseCode sequence and the code.
    pub(crate) async fn link_code(
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
    pub(crate) async fn finish(
        &self,
        session: &str,
        first: Answer,
        pick: Option<&str>,
    ) -> (Vec<u64>, String) {
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

    pub(crate) async fn link(&self, institution: &str, user: &str, pick: Option<&str>) -> String {
        let (_, code) = self.link_code(institution, user, pick).await;
        exchanged_id(&self.exchange(&code).await)
    }
}

pub(crate) fn creds(user: &str, password: &str) -> Values {
    Values::new()
        .with("username", user)
        .with("password", password)
}

pub(crate) fn exchanged_id(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    match &answer.reply {
        Ok(Reply::Exchanged { account_id }) => {
            assert_eq!(answer.body["data"]["id"], json!(account_id));
            account_id.clone()
        }
        other => panic!("expected an exchange, got {other:?}"),
    }
}

pub(crate) async fn start() -> (Sandbox, App) {
    let sandbox = Sandbox::start_local().await.expect("sandbox starts");
    let app = App::new(&sandbox, SECRET_KEY);
    (sandbox, app)
}

pub(crate) async fn start_with(config: SandboxConfig) -> (Sandbox, App) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let sandbox = Sandbox::start(addr, config).await.expect("sandbox starts");
    let app = App::new(&sandbox, SECRET_KEY);
    (sandbox, app)
}

pub(crate) fn user(name: &str) -> &'static connectflow::sandbox::TestUser {
    test_users()
        .iter()
        .find(|u| u.username == name)
        .expect("a test user")
}
