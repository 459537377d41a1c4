//! Hubtel Programmable Services over real HTTP at `/ussd/hubtel-ps`: a
//! sandbox user links, secret screens ask the app to mask input, and the
//! request kinds that are not USSD steps end politely.

use super::rig::{gateway, rig};
use connectflow::channel::ussd::gsm::Budget;

/// A handset (or Hubtel's app) behind Programmable Services.
struct PsPhone {
    client: reqwest::Client,
    url: String,
    session: String,
    sequence: u64,
}

impl PsPhone {
    fn new(url: &str, session: &str) -> PsPhone {
        PsPhone {
            client: reqwest::Client::new(),
            url: gateway(url, "/ussd/hubtel-ps"),
            session: session.into(),
            sequence: 0,
        }
    }

    /// One request; the whole reply, its `Message` checked against the budget.
    async fn hop(&mut self, kind: &str, message: &str) -> serde_json::Value {
        self.sequence += 1;
        let body = serde_json::json!({
            "Mobile": "233244567891", "SessionId": self.session, "ServiceCode": "714*4",
            "Type": kind, "Message": message, "Operator": "mtn", "Sequence": self.sequence,
            "ClientState": "", "Platform": "USSD", "ExtraData": {}
        });
        let reply = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let reply: serde_json::Value = reply.json().await.unwrap();
        let text = reply["Message"].as_str().unwrap();
        assert!(Budget::default().fits(text), "over budget:\n{text}");
        assert_eq!(reply["SessionId"], self.session.as_str());
        reply
    }
}

#[tokio::test]
async fn a_sandbox_user_links_over_programmable_services() {
    let rig = rig().await;
    let mut phone = PsPhone::new(&rig.url, "9d0c6a2b1e3f4a5b8c7d6e5f40312aa1");
    let first = phone.hop("initiation", "*714*4#").await;
    assert_eq!(first["Type"], "response");
    assert_eq!(first["DataType"], "input");
    assert!(
        first["Message"].as_str().unwrap().contains("Sandbox Bank"),
        "{first}"
    );
    assert_eq!(first["Label"], "Choose your bank");
    let mut last = first;
    for (answer, masked) in [
        ("1", false),         // Sandbox Bank: the methods
        ("1", false),         // internet banking: username next
        ("user_good", true),  // the password screen masks input
        ("pass_good", false), // linked
    ] {
        assert_eq!(last["Type"], "response", "{last}");
        last = phone.hop("response", answer).await;
        if last["Type"] == "response" {
            let field_type = if masked { "password" } else { "text" };
            assert_eq!(last["FieldType"], field_type, "after {answer:?}: {last}");
        }
    }
    assert_eq!(last["Type"], "release", "{last}");
    assert_eq!(last["DataType"], "display");
    assert!(
        last["Message"].as_str().unwrap().contains("linked"),
        "{last}"
    );
}

#[tokio::test]
async fn cart_query_favourite_timeout_and_garbage_end_politely() {
    let rig = rig().await;
    for (i, kind) in ["AddToCart", "Query", "Favorite", "SomethingNew"]
        .iter()
        .enumerate()
    {
        let mut phone = PsPhone::new(&rig.url, &format!("5e0c6a2b1e3f4a5b8c7d6e5f40312b{i:02}"));
        let reply = phone.hop(kind, "1").await;
        assert_eq!(reply["Type"], "release", "{kind}: {reply}");
        assert!(
            reply["Message"].as_str().unwrap().contains("USSD only"),
            "{kind}: {reply}"
        );
    }
    // Mid-session: the cart request ends this reply, and the flow is not fed "1".
    let mut phone = PsPhone::new(&rig.url, "6e0c6a2b1e3f4a5b8c7d6e5f40312c01");
    phone.hop("initiation", "*714*4#").await;
    let reply = phone.hop("AddToCart", "1").await;
    assert_eq!(reply["Type"], "release");
    let reply = phone.hop("Timeout", "").await;
    assert_eq!(reply["Type"], "release");
    // Garbage: a polite release, not a 4xx/5xx.
    let reply = reqwest::Client::new()
        .post(gateway(&rig.url, "/ussd/hubtel-ps"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let reply: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(reply["Type"], "release");
    assert!(
        reply["Message"].as_str().unwrap().contains("Sorry"),
        "{reply}"
    );
}
