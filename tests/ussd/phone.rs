//! Handsets behind the two gateways, checking every screen's length budget.

use super::rig::gateway;
use connectflow::channel::ussd::gsm::{measure, Budget};

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
pub(crate) struct AtPhone {
    client: reqwest::Client,
    url: String,
    phone: String,
    session: String,
    pub(crate) text: Option<String>,
    pub(crate) screens: Vec<String>,
    pub(crate) budget: Budget,
}

impl AtPhone {
    pub(crate) fn new(url: &str, phone: &str) -> AtPhone {
        AtPhone {
            client: reqwest::Client::new(),
            url: gateway(url, "/ussd"),
            phone: phone.into(),
            session: String::new(),
            text: None,
            screens: Vec::new(),
            budget: Budget::default(),
        }
    }

    /// The gateway's id of the current session.
    pub(crate) fn session_id(&self) -> String {
        self.session.clone()
    }

    /// This phone's hops carry session id `session` (a gateway that mixed
    /// two sessions up, or a forged request).
    pub(crate) fn use_session(&mut self, session: String) {
        self.session = session;
    }

    /// The gateway sends this session's next hops to another instance (at
    /// `url`) sharing the session store.
    pub(crate) fn switch_instance(&mut self, url: &str) {
        self.url = gateway(url, "/ussd");
    }

    pub(crate) async fn post(&self, text: &str) -> (bool, String) {
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

    pub(crate) async fn dial(&mut self) -> (bool, String) {
        self.session = format!("ATUid_{}", uuid_like());
        self.text = Some(String::new());
        self.dial_with("").await
    }

    pub(crate) async fn dial_with(&mut self, text: &str) -> (bool, String) {
        if self.session.is_empty() {
            self.session = format!("ATUid_{}", uuid_like());
        }
        self.text = Some(text.to_owned());
        let r = self.post(text).await;
        self.screens.push(r.1.clone());
        r
    }

    pub(crate) async fn send(&mut self, input: &str) -> (bool, String) {
        let text = match self.text.as_deref() {
            None | Some("") => input.to_owned(),
            Some(prev) => format!("{prev}*{input}"),
        };
        self.text = Some(text.clone());
        let r = self.post(&text).await;
        self.screens.push(r.1.clone());
        r
    }

    pub(crate) async fn script(&mut self, inputs: &[&str]) -> (bool, String) {
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
pub(crate) struct HubtelPhone {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) session: String,
    pub(crate) sequence: u64,
}

impl HubtelPhone {
    /// A handset at the classic Hubtel route of the server at `url`, in
    /// session `session`, before its first hop.
    pub(crate) fn new(url: &str, session: &str) -> HubtelPhone {
        HubtelPhone {
            client: reqwest::Client::new(),
            url: gateway(url, "/ussd/hubtel"),
            session: session.into(),
            sequence: 0,
        }
    }

    pub(crate) async fn hop(&mut self, kind: &str, message: &str) -> (bool, String) {
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

    pub(crate) async fn script(url: &str, session: &str, inputs: &[&str]) -> (bool, String) {
        let mut phone = HubtelPhone::new(url, session);
        let mut last = phone.hop("Initiation", "*714*4#").await;
        for input in inputs {
            assert!(!last.0, "session ended early at {input:?}: {}", last.1);
            last = phone.hop("Response", input).await;
        }
        last
    }
}
