//! The USSD channel over real HTTP: every sandbox user through Africa's
//! Talking and Hubtel with the screen budget asserted on every screen, input
//! edge cases, garbage, resume on re-dial, concurrent hops, the webhook.
#![cfg(all(feature = "ussd", feature = "sandbox"))]

#[path = "support/partner.rs"]
mod partner;

use connectflow::channel::ussd::gsm::{measure, Budget};
use connectflow::channel::ussd::{router, UssdConfig, UssdService};
use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{Driver, DriverConfig};
use connectflow::sandbox::{Sandbox, SandboxConfig, SECRET_KEY};
use connectflow::service::{
    signature, ServiceConfig, SessionService, Webhook, WebhookConfig, SIGNATURE_HEADER,
};
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Rig {
    url: String,
    _sandbox: Option<Sandbox>,
}

/// What a test sets up besides the partner.
#[derive(Default)]
struct Setup {
    ussd: UssdConfig,
    service: ServiceConfig,
    webhook: Option<WebhookConfig>,
}

async fn serve(partner_url: &str, setup: Setup, store: Arc<dyn SessionStore>) -> String {
    let mono = Mono::new(MonoConfig::new(
        SECRET_KEY,
        Customer::new_customer("Ada Obi", "ada@example.com"),
    ));
    let driver = Driver::new(partner_url, mono, DriverConfig::default()).unwrap();
    let mut service = SessionService::new(vec![driver], store, setup.service);
    if let Some(webhook) = setup.webhook {
        service = service.with_delivery(Arc::new(Webhook::new(webhook)));
    }
    let service = UssdService::new(Arc::new(service), setup.ussd);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(service)).await.unwrap() });
    format!("http://{addr}")
}

fn sealed_memory() -> Arc<dyn SessionStore> {
    Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()))
}

async fn rig_with(sandbox: SandboxConfig, config: UssdConfig) -> Rig {
    rig_setup(
        sandbox,
        Setup {
            ussd: config,
            ..Setup::default()
        },
    )
    .await
}

async fn rig_setup(sandbox: SandboxConfig, setup: Setup) -> Rig {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), sandbox)
        .await
        .unwrap();
    let url = serve(&sandbox.url(), setup, sealed_memory()).await;
    Rig {
        url,
        _sandbox: Some(sandbox),
    }
}

async fn rig() -> Rig {
    rig_with(SandboxConfig::default(), UssdConfig::default()).await
}

/// Every screen must fit the budget: by default 160 GSM-7 septets, or 80 UCS-2.
fn check_budget_of(budget: &Budget, text: &str) {
    assert!(
        budget.fits(text),
        "screen over budget ({:?}):\n{text}",
        measure(text)
    );
}

fn check_budget(text: &str) {
    check_budget_of(&Budget::default(), text);
}

/// A handset behind Africa's Talking: cumulative `text`, `+` numbers, `ATUid_` ids.
struct AtPhone {
    client: reqwest::Client,
    url: String,
    phone: String,
    session: String,
    text: Option<String>,
    screens: Vec<String>,
    budget: Budget,
}

impl AtPhone {
    fn new(url: &str, phone: &str) -> AtPhone {
        AtPhone {
            client: reqwest::Client::new(),
            url: format!("{url}/ussd"),
            phone: phone.into(),
            session: String::new(),
            text: None,
            screens: Vec::new(),
            budget: Budget::default(),
        }
    }

    async fn post(&self, text: &str) -> (bool, String) {
        let form = [
            ("sessionId", self.session.as_str()),
            ("serviceCode", "*384*123#"),
            ("phoneNumber", self.phone.as_str()),
            ("networkCode", "63902"),
            ("text", text),
        ];
        let reply = self
            .client
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let body = reply.text().await.unwrap();
        let (end, screen) = match (body.strip_prefix("CON "), body.strip_prefix("END ")) {
            (Some(s), _) => (false, s.to_owned()),
            (_, Some(s)) => (true, s.to_owned()),
            _ => panic!("no CON/END prefix: {body:?}"),
        };
        check_budget_of(&self.budget, &screen);
        (end, screen)
    }

    async fn dial(&mut self) -> (bool, String) {
        self.session = format!("ATUid_{}", uuid_like());
        self.text = Some(String::new());
        self.dial_with("").await
    }

    async fn dial_with(&mut self, text: &str) -> (bool, String) {
        if self.session.is_empty() {
            self.session = format!("ATUid_{}", uuid_like());
        }
        self.text = Some(text.to_owned());
        let r = self.post(text).await;
        self.screens.push(r.1.clone());
        r
    }

    async fn send(&mut self, input: &str) -> (bool, String) {
        let text = match self.text.as_deref() {
            None | Some("") => input.to_owned(),
            Some(prev) => format!("{prev}*{input}"),
        };
        self.text = Some(text.clone());
        let r = self.post(&text).await;
        self.screens.push(r.1.clone());
        r
    }

    async fn script(&mut self, inputs: &[&str]) -> (bool, String) {
        let mut last = self.dial().await;
        for input in inputs {
            assert!(!last.0, "session ended early at {input:?}: {}", last.1);
            last = self.send(input).await;
        }
        last
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:032x}",
        N.fetch_add(1, Ordering::SeqCst) ^ (std::process::id() as u64) << 40
    )
}

/// A handset behind Hubtel: JSON, latest input only, sequence numbers.
struct HubtelPhone {
    client: reqwest::Client,
    url: String,
    session: String,
    sequence: u64,
}

impl HubtelPhone {
    async fn hop(&mut self, kind: &str, message: &str) -> (bool, String) {
        self.sequence += 1;
        let body = serde_json::json!({
            "Mobile": "233244567890", "SessionId": self.session, "ServiceCode": "714*4",
            "Type": kind, "Message": message, "Operator": "mtn", "Sequence": self.sequence, "ClientState": ""
        });
        let reply: serde_json::Value = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let text = reply["Message"].as_str().unwrap().to_owned();
        check_budget(&text);
        (reply["Type"] == "Release", text)
    }

    async fn script(url: &str, session: &str, inputs: &[&str]) -> (bool, String) {
        let mut phone = HubtelPhone {
            client: reqwest::Client::new(),
            url: format!("{url}/ussd/hubtel"),
            session: session.into(),
            sequence: 0,
        };
        let mut last = phone.hop("Initiation", "*714*4#").await;
        for input in inputs {
            assert!(!last.0, "session ended early at {input:?}: {}", last.1);
            last = phone.hop("Response", input).await;
        }
        last
    }
}

/// (username, answers after choosing Sandbox Bank / internet banking, expected end text)
fn users() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    vec![
        ("user_good", vec!["user_good", "pass_good"], "linked"),
        ("user_multi", vec!["user_multi", "pass_good", "3"], "linked"),
        (
            "user_otp",
            vec!["user_otp", "pass_good", "123456"],
            "linked",
        ),
        (
            "user_question",
            vec!["user_question", "pass_good", "Montreal"],
            "linked",
        ),
        (
            "user_chain",
            vec!["user_chain", "pass_good", "123456", "Montreal", "2"],
            "linked",
        ),
        ("user_locked", vec!["user_locked", "pass_good"], "locked"),
    ]
}

#[tokio::test]
async fn every_sandbox_user_links_through_africas_talking() {
    let rig = rig().await;
    for (i, (user, answers, expected)) in users().into_iter().enumerate() {
        let mut phone = AtPhone::new(&rig.url, &format!("+2547110000{i:02}"));
        let mut inputs = vec!["1", "1"];
        inputs.extend(answers);
        let (end, text) = phone.script(&inputs).await;
        assert!(
            end && text.contains(expected),
            "{user}: {text}\n{:#?}",
            phone.screens
        );
    }
}

#[tokio::test]
async fn every_sandbox_user_links_through_hubtel() {
    let rig = rig().await;
    for (i, (user, answers, expected)) in users().into_iter().enumerate() {
        let mut inputs = vec!["1", "1"];
        inputs.extend(answers);
        let (end, text) = HubtelPhone::script(
            &rig.url,
            &format!("3c8dfb7a1d2e4f60a9b8c7d6e5f403{i:02}"),
            &inputs,
        )
        .await;
        assert!(end && text.contains(expected), "{user}: {text}");
    }
}

#[tokio::test]
async fn other_auth_methods_wrong_password_and_a_bank_that_is_down() {
    let rig = rig().await;
    // Mobile banking (phone + 6-digit PIN), USSD PIN, and manual with a choice field.
    let mut phone = AtPhone::new(&rig.url, "+254711000101");
    let (end, text) = phone
        .script(&["1", "2", "08010000003", "333333", "123456"])
        .await;
    assert!(end && text.contains("linked"), "{text}");
    let mut phone = AtPhone::new(&rig.url, "+254711000102");
    let (end, text) = phone.script(&["1", "4", "1000000002", "2222", "1"]).await;
    assert!(end && text.contains("linked"), "{text}");
    let mut phone = AtPhone::new(&rig.url, "+254711000103");
    let (end, text) = phone
        .script(&["1", "3", "1000000001", "1", "22200000001"])
        .await;
    assert!(
        end && text.contains("linked"),
        "{text} {:#?}",
        phone.screens
    );

    // Wrong password: the notice, then the form again from its first field.
    let mut phone = AtPhone::new(&rig.url, "+254711000104");
    let (end, text) = phone.script(&["1", "1", "user_good", "wrong"]).await;
    assert!(
        !end && text.contains("Invalid credentials") && text.contains("Username"),
        "{text}"
    );
    // Same session: the username again, then the right password.
    phone.send("user_good").await;
    let (end, text) = phone.send("pass_good").await;
    assert!(end && text.contains("linked"), "{text}");

    // A bank answering 503: the person is told, and may try again.
    let mut phone = AtPhone::new(&rig.url, "+254711000105");
    let (end, text) = phone.script(&["1", "1", "user_down", "pass_good"]).await;
    assert!(!end && text.contains("not responding"), "{text}");
}

#[tokio::test]
async fn a_slow_bank_gets_the_interim_screen_then_continues() {
    let sandbox = SandboxConfig {
        slow_delay: Duration::from_millis(1500),
        ..SandboxConfig::default()
    };
    let config = UssdConfig {
        reply_budget: Duration::from_millis(300),
        ..UssdConfig::default()
    };
    let rig = rig_with(sandbox, config).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000201");
    let (end, text) = phone.script(&["1", "1", "user_slow", "pass_good"]).await;
    assert!(!end && text.starts_with("Processing..."), "{text}");
    // Pressing Continue too early shows the interim screen again.
    let (_, text) = phone.send("1").await;
    assert!(text.starts_with("Processing..."), "{text}");
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let (end, text) = phone.send("1").await;
    assert!(end && text.contains("linked"), "{text}");
}

#[tokio::test]
async fn star_empty_answer_duplicate_hop_and_pre_dialled_input() {
    let recorder = partner::Recorder::default();
    let partner_url = partner::start(recorder.clone()).await;
    let url = serve(&partner_url, Setup::default(), sealed_memory()).await;
    let mut phone = AtPhone::new(&url, "+254711000301");
    let (_, text) = phone.script(&["1"]).await;
    assert!(text.contains("Enter Account"), "{text}");
    // An empty answer re-shows the field with an error line.
    let (end, text) = phone.send("").await;
    assert!(
        !end && text.starts_with("Invalid entry") && text.contains("Enter Account"),
        "{text}"
    );
    // A `*` typed inside an answer survives as part of that one answer.
    let (_, text) = phone.send("12*34").await;
    assert!(text.contains("Enter PIN (secret)"), "{text}");
    phone.send("4321").await;
    let (end, text) = phone.send("hello").await;
    assert!(end && text.contains("linked"), "{text}");
    // The same hop delivered again: the same screen, and no second login.
    let last = phone.text.clone().unwrap();
    let again = phone.post(&last).await;
    assert_eq!(again, (true, text));
    let logins = recorder.logins();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0]["account"], "12*34");
    assert_eq!(logins[0]["pin"], "4321");

    // Pre-dialled digits pick the bank and nothing else.
    let rig = rig().await;
    let mut phone = AtPhone::new(&rig.url, "+254711000302");
    let (_, text) = phone.dial_with("1*1*user_good*pass_good").await;
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
}

#[tokio::test]
async fn garbage_oversized_and_unknown_sessions_get_polite_screens() {
    let rig = rig().await;
    let client = reqwest::Client::new();
    let garbage = client
        .post(format!("{}/ussd", rig.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0x00, 0x26, 0x3d, 0x3d])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 200);
    assert!(garbage.text().await.unwrap().starts_with("END "));
    let big = client
        .post(format!("{}/ussd", rig.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "sessionId=ATUid_big&phoneNumber=%2B254711&text={}",
            "1".repeat(100_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 200);
    assert!(big.text().await.unwrap().starts_with("END "));
    let json = client
        .post(format!("{}/ussd/hubtel", rig.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    let reply: serde_json::Value = json.json().await.unwrap();
    assert_eq!(reply["Type"], "Release");

    // A Hubtel Response for a session never seen (its first screen was
    // stateless, or its state expired): the input may only pick a bank...
    let mut phone = HubtelPhone {
        client: reqwest::Client::new(),
        url: format!("{}/ussd/hubtel", rig.url),
        session: "ffffffffffffffffffffffffffffffff".into(),
        sequence: 4,
    };
    let (end, text) = phone.hop("Response", "2").await;
    assert!(!end && text.contains("Access Bank: log in with"), "{text}");
    // ...and input that is not a bank number (an OTP, a PIN) picks nothing.
    phone.session = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee".into();
    let (end, text) = phone.hop("Response", "123456").await;
    assert!(!end && text.contains("Choose your bank"), "{text}");
    // The server is still fine afterwards.
    let mut at = AtPhone::new(&rig.url, "+254711000401");
    let (end, text) = at.script(&["1", "1", "user_good", "pass_good"]).await;
    assert!(end && text.contains("linked"), "{text}");
}

#[tokio::test]
async fn a_timeout_mid_mfa_resumes_on_redial() {
    let rig = rig().await;
    let mut phone = AtPhone::new(&rig.url, "+254711000501");
    let (_, text) = phone.script(&["1", "1", "user_otp", "pass_good"]).await;
    assert!(text.contains("OTP"), "{text}");
    // The telecom session times out; the person dials again.
    let (end, text) = phone.dial().await;
    assert!(
        !end && text.contains("1. Continue") && text.contains("2. Start again"),
        "{text}"
    );
    let (_, text) = phone.send("1").await;
    assert!(text.contains("OTP"), "{text}");
    let (end, text) = phone.send("123456").await;
    assert!(end && text.contains("linked"), "{text}");

    // Start again: back at the bank list, the old flow gone.
    let mut phone = AtPhone::new(&rig.url, "+254711000502");
    phone.script(&["1", "1", "user_otp", "pass_good"]).await;
    phone.dial().await;
    let (_, text) = phone.send("2").await;
    assert!(text.contains("Choose your bank"), "{text}");
    // A third dial offers nothing: the restarted flow is only at the bank
    // list, where there is nothing to resume.
    let (_, text) = phone.dial().await;
    assert!(
        text.contains("Choose your bank") && !text.contains("unfinished"),
        "{text}"
    );

    // An answer to the stateless first screen that picks no bank: the list
    // again with an error line.
    let mut phone = AtPhone::new(&rig.url, "+254711000503");
    phone.dial().await;
    let (end, text) = phone.send("77").await;
    assert!(
        !end && text.starts_with("Invalid choice.") && text.contains("Choose your bank"),
        "{text}"
    );
}

#[tokio::test]
async fn two_concurrent_hops_of_one_session_apply_exactly_once() {
    let recorder = partner::Recorder::default();
    let partner_url = partner::start(recorder.clone()).await;
    let url = serve(&partner_url, Setup::default(), sealed_memory()).await;
    for round in 0..10 {
        let mut phone = AtPhone::new(&url, &format!("+2547110006{round:02}"));
        phone.script(&["1", "acc", "1234"]).await;
        let prev = phone.text.clone().unwrap();
        let (first, second) = (format!("{prev}*first"), format!("{prev}*second"));
        let (a, b) = tokio::join!(phone.post(&first), phone.post(&second));
        // Both get a proper screen (the loser sees what the winner left);
        // exactly one login reached the partner.
        for (_, text) in [&a, &b] {
            assert!(
                text.contains("linked") || text.starts_with("Processing"),
                "{a:?} {b:?}"
            );
        }
        assert_eq!(
            recorder.logins().len(),
            round + 1,
            "round {round}: {a:?} {b:?}"
        );
    }
}

/// (signature header, raw body) of one webhook delivery.
type Delivery = (String, Vec<u8>);

#[tokio::test]
async fn a_linked_account_is_delivered_to_the_webhook_signed_once() {
    let received: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let sink = sink.clone();
                async move {
                    let sig = headers
                        .get(SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    sink.lock().unwrap().push((sig, body.to_vec()));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let setup = Setup {
        webhook: Some(WebhookConfig::new(hook, "whsec_test").unwrap()),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000701");
    let (end, text) = phone
        .script(&["1", "1", "user_multi", "pass_good", "1"])
        .await;
    assert!(end, "{text}");
    let last = phone.text.clone().unwrap();
    phone.post(&last).await; // a duplicate of the final hop must not deliver twice
    for _ in 0..50 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let (signature, body) = &got[0];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        signature::verify(b"whsec_test", signature, body, now, 300),
        "{signature}"
    );
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["phoneNumber"], "+254711000701");
    assert_eq!(payload["institution"]["id"], "sandbox-bank");
    assert_eq!(payload["account_id"].as_str().unwrap().len(), 24);
    assert!(
        text.contains(payload["reference"].as_str().unwrap()),
        "{text}"
    );
}

/// A handset that shows only 90 characters: lists page sooner, long prompts
/// are shortened, no option line is cut, and the link still completes.
#[tokio::test]
async fn a_tight_budget_pages_sooner_and_still_links() {
    let mut config = UssdConfig::default();
    config.menu.budget = Budget::new(90);
    let rig = rig_with(SandboxConfig::default(), config).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000901");
    phone.budget = Budget::new(90);
    let (_, first) = phone.dial().await;
    assert!(
        first.contains("98. More") && !first.contains("9. "),
        "{first}"
    );
    // Every bank is reachable through the pages, numbered as on the first page.
    let mut seen = first
        .lines()
        .filter(|l| l.starts_with(char::is_numeric) && !l.starts_with("98"))
        .count();
    let mut last = first;
    while last.contains("98. More") {
        last = phone.send("98").await.1;
        seen += last
            .lines()
            .filter(|l| {
                l.starts_with(char::is_numeric) && !l.starts_with("98") && !l.starts_with("0.")
            })
            .count();
    }
    assert_eq!(
        seen,
        connectflow::channel::ussd::menu::usable(&connectflow::sandbox::institutions()).len()
    );
    // The heading gives way before any option line does.
    let (end, text) = phone.send("1").await;
    assert!(
        !end && text.contains("1. Internet banking") && text.contains("4. USSD PIN"),
        "{text}"
    );
    for answer in ["1", "user_chain", "pass_good", "123456", "Montreal"] {
        let (end, text) = phone.send(answer).await;
        assert!(!end, "{text}");
    }
    let (end, text) = phone.send("2").await;
    assert!(end && text.contains("linked"), "{text}");
}

/// The instance working on a login dies (here: its call never returns and
/// its claim's lease runs out). The person re-dials: the flow is offered for
/// resume, and continuing puts them back on the login form, told the bank did
/// not answer; the login is not sent again on its own.
#[tokio::test]
async fn a_dead_instances_claim_does_not_block_resume() {
    let sandbox = SandboxConfig {
        slow_delay: Duration::from_secs(20),
        ..SandboxConfig::default()
    };
    let setup = Setup {
        ussd: UssdConfig {
            reply_budget: Duration::from_millis(200),
            ..UssdConfig::default()
        },
        service: ServiceConfig {
            claim_lease: Duration::from_millis(400),
            ..ServiceConfig::default()
        },
        ..Setup::default()
    };
    let rig = rig_setup(sandbox, setup).await;
    let mut phone = AtPhone::new(&rig.url, "+254711000951");
    let (_, text) = phone.script(&["1", "1", "user_slow", "pass_good"]).await;
    assert!(text.starts_with("Processing"), "{text}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (end, text) = phone.dial().await;
    assert!(!end && text.contains("unfinished"), "{text}");
    let (end, text) = phone.send("1").await;
    assert!(
        !end && text.contains("not responding") && text.contains("Username"),
        "{text}"
    );
}
