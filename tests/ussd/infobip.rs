//! Infobip over real HTTP (ussd.md §4): each hop a `POST` to
//! `/ussd/infobip/{sessionId}/start`, `/response` or `/end` (and `/status`
//! asking after a session, answered `sessionActive`). A sandbox user
//! links through it, every reply `{ussdMenu, shouldClose, …}` within the
//! screen budget; an `end` mid-flow is the end of the telecom session, not
//! of the flow, which a re-dial with a pre-dialled bank is offered again.

use std::sync::Arc;

use super::phone::HubtelPhone;
use super::rig::{gateway, rig, rig_setup, Setup};
use connectflow::channel::ussd::gsm::Budget;
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use connectflow::testing::SandboxConfig;
use serde_json::{json, Value};

/// A handset behind Infobip: one session id, its hops written as Infobip
/// writes them, its replies read as Infobip reads them.
struct InfobipPhone {
    client: reqwest::Client,
    url: String,
    session: String,
    msisdn: String,
}

impl InfobipPhone {
    fn new(url: &str, session: &str, msisdn: &str) -> InfobipPhone {
        InfobipPhone {
            client: reqwest::Client::new(),
            url: url.into(),
            session: session.into(),
            msisdn: msisdn.into(),
        }
    }

    /// One `POST` to `…/{session}/{kind}`, with `body` when given: the
    /// reply's JSON, which is a `200` with `responseExitCode` 200.
    async fn post(&self, kind: &str, body: Option<Value>) -> Value {
        let path = format!("/ussd/infobip/{}/{kind}", self.session);
        let mut request = self.client.post(gateway(&self.url, &path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 200);
        let reply: Value = reply.json().await.unwrap();
        assert_eq!(reply["responseExitCode"], 200, "{reply}");
        reply
    }

    /// One call (`start`, `response`, `end`) carrying `text`: whether the
    /// reply closes the session, and its menu.
    async fn call(&self, kind: &str, text: &str) -> (bool, String) {
        let body = json!({
            "msisdn": self.msisdn, "text": text, "shortCode": "*384*123#",
            "ussdGwId": "ng-mtn", "imsi": "621300000000001", "language": "en"
        });
        let reply = self.post(kind, Some(body)).await;
        let menu = reply["ussdMenu"].as_str().unwrap().to_owned();
        assert!(Budget::default().fits(&menu), "over budget:\n{menu}");
        (reply["shouldClose"].as_bool().unwrap(), menu)
    }

    /// Infobip's `status` call for this session (vumi's transport sends
    /// no body with it): whether the session is active.
    async fn active(&self) -> bool {
        let reply = self.post("status", None).await;
        assert!(reply.get("ussdMenu").is_none(), "{reply}");
        reply["sessionActive"].as_bool().unwrap()
    }
}

#[tokio::test]
async fn a_sandbox_user_links_through_infobip() {
    let rig = rig().await;
    let phone = InfobipPhone::new(&rig.url, "ib-7d2e9a", "2348031234501");
    let (close, menu) = phone.call("start", "*384*123#").await;
    assert!(!close && menu.contains("Sandbox Bank"), "{menu}");
    for answer in ["1", "1", "user_good"] {
        let (close, menu) = phone.call("response", answer).await;
        assert!(!close, "closed after {answer:?}: {menu}");
    }
    let (close, menu) = phone.call("response", "pass_good").await;
    assert!(close && menu.contains("linked"), "{menu}");
}

#[tokio::test]
async fn an_infobip_end_mid_mfa_resumes_on_a_redial() {
    let rig = rig().await;
    let phone = InfobipPhone::new(&rig.url, "ib-100", "2348031234502");
    // The bank pre-dialled (`*384*123*1#`): its login methods at once.
    let (_, menu) = phone.call("start", "*384*123*1#").await;
    assert!(menu.contains("Sandbox Bank: log in with"), "{menu}");
    phone.call("response", "1").await;
    phone.call("response", "user_otp").await;
    let (close, menu) = phone.call("response", "pass_good").await;
    assert!(!close && menu.contains("OTP"), "{menu}");
    let (close, _) = phone.call("end", "").await;
    assert!(close, "an end is answered with a closing reply");

    let phone = InfobipPhone::new(&rig.url, "ib-101", "+2348031234502");
    let (close, menu) = phone.call("start", "*384*123#").await;
    assert!(!close && menu.contains("1. Continue"), "{menu}");
    let (_, menu) = phone.call("response", "1").await;
    assert!(menu.contains("OTP"), "{menu}");
    let (close, menu) = phone.call("response", "123456").await;
    assert!(close && menu.contains("linked"), "{menu}");
}

/// Infobip's `status` call (from its transport in vumi) is told the
/// session is going while its screen waits for an answer, and on its first
/// screen (stored nowhere yet); once the linked screen ended it, not. The
/// question changes nothing: the flow goes on as if it was never asked.
#[tokio::test]
async fn infobips_status_call_is_answered_without_touching_the_session() {
    let rig = rig().await;
    let phone = InfobipPhone::new(&rig.url, "ib-status", "2348031234504");
    let (_, menu) = phone.call("start", "*384*123#").await;
    assert!(menu.contains("Sandbox Bank"), "{menu}");
    assert!(phone.active().await, "on its first screen");
    for answer in ["1", "1", "user_good"] {
        phone.call("response", answer).await;
        assert!(phone.active().await, "after {answer:?}");
    }
    let (close, menu) = phone.call("response", "pass_good").await;
    assert!(close && menu.contains("linked"), "{menu}");
    assert!(!phone.active().await, "ended by the linked screen");
}

/// A session Infobip ended with its `end` call (mid-MFA) is not active
/// when Infobip asks after it, though its flow is kept: a re-dial from the
/// same phone is offered it and goes on from the OTP. Its `end` said twice
/// changes nothing. The mark is in the store under a name of its own;
/// a Hubtel `Release`, whose gateway never asks, writes none. An `end` to
/// a session on its first screen, which stored nothing, marks nothing:
/// asked after, it is still taken as going (nothing here tells it from a
/// session no hop has reached).
#[tokio::test]
async fn an_infobip_end_is_remembered_when_infobip_asks_after_the_session() {
    let store: Arc<dyn SessionStore> = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let setup = Setup {
        store: Some(Arc::clone(&store)),
        ..Setup::default()
    };
    let rig = rig_setup(SandboxConfig::default(), setup).await;
    let marked = |key: &'static str| {
        let store = Arc::clone(&store);
        async move { store.get(key).await.unwrap().is_some() }
    };
    let phone = InfobipPhone::new(&rig.url, "ib-ended", "2348031234505");
    phone.call("start", "*384*123*1#").await;
    phone.call("response", "1").await;
    phone.call("response", "user_otp").await;
    let (_, menu) = phone.call("response", "pass_good").await;
    assert!(menu.contains("OTP"), "{menu}");
    assert!(phone.active().await, "waiting for the OTP");
    for _ in 0..2 {
        let (close, _) = phone.call("end", "").await;
        assert!(close, "an end is answered with a closing reply");
        assert!(!phone.active().await, "ended by Infobip");
    }
    assert!(marked("ussd-ended:infobip:ib-ended").await);

    let redial = InfobipPhone::new(&rig.url, "ib-ended-2", "2348031234505");
    let (close, menu) = redial.call("start", "*384*123#").await;
    assert!(!close && menu.contains("1. Continue"), "{menu}");
    let (_, menu) = redial.call("response", "1").await;
    assert!(menu.contains("OTP"), "{menu}");
    assert!(redial.active().await, "the re-dial's own session, stored");
    assert!(!phone.active().await, "the ended one stays ended");

    let first = InfobipPhone::new(&rig.url, "ib-first-only", "2348031234506");
    first.call("start", "*384*123#").await;
    first.call("end", "").await;
    assert!(first.active().await, "nothing stored, nothing marked");
    assert!(!marked("ussd-ended:infobip:ib-first-only").await);

    let mut hubtel = HubtelPhone::new(&rig.url, "hb-released");
    hubtel.hop("Initiation", "*714*4#").await;
    let (close, menu) = hubtel.hop("Response", "1").await;
    assert!(!close && menu.contains("log in with"), "{menu}");
    let (close, _) = hubtel.hop("Release", "").await;
    assert!(close);
    assert!(!marked("ussd-ended:hubtel:hb-released").await);
}

/// The route is behind the gateway token like every hop: without it, or
/// with a wrong one, `401` and no session; with it in a header (a Bearer
/// token or a Basic password, since no query can follow Infobip's path),
/// the hop is served.
#[tokio::test]
async fn infobips_route_wants_the_gateway_token() {
    let rig = rig().await;
    let url = format!("{}/ussd/infobip/ib-auth/start", rig.url);
    let body = json!({"msisdn": "2348031234503", "text": "*384*123#", "shortCode": "*384*123#"});
    let client = reqwest::Client::new();
    // The body is serialised into each request as it is built.
    let send = |request: reqwest::RequestBuilder| request.json(&body).send();
    let status = |r: reqwest::Result<reqwest::Response>| r.unwrap().status().as_u16();
    assert_eq!(status(send(client.post(&url)).await), 401);
    assert_eq!(
        status(send(client.post(&url).bearer_auth("wrong")).await),
        401
    );
    assert_eq!(
        status(send(client.post(&url).basic_auth("infobip", Some("wrong"))).await),
        401
    );
    let token = super::rig::TOKEN;
    assert_eq!(
        status(send(client.post(&url).bearer_auth(token)).await),
        200
    );
    assert_eq!(
        status(send(client.post(&url).basic_auth("infobip", Some(token))).await),
        200
    );
}
