//! The Ghanaian JSON gateways of ussd.md §4 over real HTTP: Arkesel at
//! `/ussd/arkesel`, Nalo at `/ussd/nalo`, Korba / Mobiverse at
//! `/ussd/korba`. A sandbox user links through each, every reply in the
//! gateway's own shape and within the screen budget, ending on the linked
//! screen with the gateway's end signal.

use super::rig::{gateway, rig, rig_with};
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::UssdConfig;
use connectflow::testing::SandboxConfig;
use serde_json::{json, Value};

/// Which gateway a phone dials through.
#[derive(Clone, Copy, Debug)]
enum Wire {
    Arkesel,
    Nalo,
    Korba,
}

/// A handset behind one of the gateways: writes each hop as that gateway
/// does, reads each reply as that gateway would.
struct GhanaPhone {
    client: reqwest::Client,
    url: String,
    wire: Wire,
    session: String,
    msisdn: String,
}

impl GhanaPhone {
    fn new(url: &str, wire: Wire, session: &str, msisdn: &str) -> GhanaPhone {
        let path = match wire {
            Wire::Arkesel => "/ussd/arkesel",
            Wire::Nalo => "/ussd/nalo",
            Wire::Korba => "/ussd/korba",
        };
        GhanaPhone {
            client: reqwest::Client::new(),
            url: gateway(url, path),
            wire,
            session: session.into(),
            msisdn: msisdn.into(),
        }
    }

    /// The request of a hop: the first dial (`first`) or an answer, or
    /// (Korba's `ussdServiceOp` given) any other kind.
    fn request(&self, first: bool, input: &str, korba_op: Option<u64>) -> Value {
        match self.wire {
            Wire::Arkesel => json!({
                "sessionID": self.session, "userID": "ark_user_7", "newSession": first,
                "msisdn": self.msisdn, "userData": input, "network": "MTN"
            }),
            Wire::Nalo => json!({
                "USERID": "NALOTest", "MSISDN": self.msisdn, "USERDATA": input,
                "MSGTYPE": first, "NETWORK": "MTN", "SESSIONID": self.session
            }),
            Wire::Korba => {
                let op = korba_op.unwrap_or(if first { 1 } else { 18 });
                json!({
                    // Mobiverse's own example sends the op as text.
                    "sessionID": self.session, "msisdn": self.msisdn, "ussdString": input,
                    "ussdServiceOp": op.to_string(), "network": "01", "code": "*1234#",
                    "country": "GH"
                })
            }
        }
    }

    /// One hop: whether the reply ends the session, and its text. Every
    /// reply echoes what its gateway needs and fits the budget.
    async fn post(&self, body: Value) -> (bool, String) {
        let reply = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let reply: Value = reply.json().await.unwrap();
        let (end, text) = match self.wire {
            Wire::Arkesel => {
                assert_eq!(reply["sessionID"], self.session.as_str(), "{reply}");
                assert_eq!(reply["userID"], "ark_user_7", "{reply}");
                assert_eq!(reply["msisdn"], self.msisdn.as_str(), "{reply}");
                (
                    !reply["continueSession"].as_bool().unwrap(),
                    &reply["message"],
                )
            }
            Wire::Nalo => {
                assert_eq!(reply["USERID"], "NALOTest", "{reply}");
                assert_eq!(reply["MSISDN"], self.msisdn.as_str(), "{reply}");
                (!reply["MSGTYPE"].as_bool().unwrap(), &reply["MSG"])
            }
            Wire::Korba => {
                let op = reply["ussdServiceOp"].as_u64().unwrap();
                assert!(op == 2 || op == 17, "{reply}");
                (op == 17, &reply["message"])
            }
        };
        let text = text.as_str().unwrap().to_owned();
        assert!(Budget::default().fits(&text), "over budget:\n{text}");
        (end, text)
    }

    async fn dial(&self, dialled: &str) -> (bool, String) {
        self.post(self.request(true, dialled, None)).await
    }

    async fn send(&self, input: &str) -> (bool, String) {
        self.post(self.request(false, input, None)).await
    }
}

/// Dials, picks Sandbox Bank and internet banking, logs in as `user_good`:
/// the linked screen, with the gateway's end signal.
async fn links(wire: Wire, session: &str, msisdn: &str, dialled: &str) {
    let rig = rig().await;
    let phone = GhanaPhone::new(&rig.url, wire, session, msisdn);
    let (end, text) = phone.dial(dialled).await;
    assert!(!end && text.contains("Sandbox Bank"), "{wire:?}: {text}");
    for answer in ["1", "1", "user_good"] {
        let (end, text) = phone.send(answer).await;
        assert!(!end, "{wire:?}: ended after {answer:?}: {text}");
    }
    let (end, text) = phone.send("pass_good").await;
    assert!(end && text.contains("linked"), "{wire:?}: {text}");
}

#[tokio::test]
async fn a_sandbox_user_links_through_arkesel() {
    links(Wire::Arkesel, "ark-5f1c2e", "233244567801", "*928*01#").await;
}

#[tokio::test]
async fn a_sandbox_user_links_through_nalo() {
    links(
        Wire::Nalo,
        "16590115252429751",
        "233244567802",
        "*920*1234#",
    )
    .await;
}

#[tokio::test]
async fn a_sandbox_user_links_through_korba() {
    links(Wire::Korba, "12341235123", "+233244567803", "*1234#").await;
}

/// Korba's terminate (`ussdServiceOp` 29 or more) is the end of the telecom
/// session, not of the flow: a re-dial from the same phone, written in
/// national form this time, is offered the flow and finishes it. A
/// pre-dialled bank (`*1234*1#`) picks it on the first dial.
#[tokio::test]
async fn a_korba_terminate_mid_mfa_resumes_on_a_redial_from_the_national_number() {
    let rig = rig().await;
    let phone = GhanaPhone::new(&rig.url, Wire::Korba, "k-100", "233244567804");
    let (end, text) = phone.dial("*1234*1#").await;
    assert!(!end && text.contains("Sandbox Bank: log in with"), "{text}");
    phone.send("1").await;
    phone.send("user_otp").await;
    let (end, text) = phone.send("pass_good").await;
    assert!(!end && text.contains("OTP"), "{text}");
    let (end, _) = phone.post(phone.request(false, "", Some(30))).await;
    assert!(end, "a terminate is answered with a final reply");

    let phone = GhanaPhone::new(&rig.url, Wire::Korba, "k-101", "0244567804");
    let (end, text) = phone.dial("*1234#").await;
    assert!(!end && text.contains("1. Continue"), "{text}");
    let (_, text) = phone.send("1").await;
    assert!(text.contains("OTP"), "{text}");
    let (end, text) = phone.send("123456").await;
    assert!(end && text.contains("linked"), "{text}");
}

/// Arkesel and Nalo send the dialled string but no service code: told the
/// codes it answers (`serve --service-code`), the channel reads what the
/// person dialled after one as a pre-selected bank, as for Korba; a code it
/// was not told, or no codes at all, gives the bank list.
#[tokio::test]
async fn a_pre_dialled_bank_is_picked_through_arkesel_and_nalo_given_the_codes() {
    let config = UssdConfig {
        service_codes: vec!["*928*01#".into(), "*920*1234#".into()],
        ..UssdConfig::default()
    };
    let served = rig_with(SandboxConfig::default(), config).await;
    for (wire, session, dialled) in [
        (Wire::Arkesel, "ark-p1", "*928*01*1#"),
        (Wire::Nalo, "nalo-p1", "*920*1234*1#"),
    ] {
        let phone = GhanaPhone::new(&served.url, wire, session, "233244567811");
        let (end, text) = phone.dial(dialled).await;
        assert!(
            !end && text.contains("Sandbox Bank: log in with"),
            "{wire:?}: {text}"
        );
        let (_, text) = phone.send("1").await;
        assert!(text.contains("Username"), "{wire:?}: {text}");
    }
    let phone = GhanaPhone::new(&served.url, Wire::Arkesel, "ark-p2", "233244567812");
    let (_, text) = phone.dial("*500*1#").await;
    assert!(text.contains("Choose your bank"), "{text}");

    let unconfigured = rig().await;
    let phone = GhanaPhone::new(&unconfigured.url, Wire::Nalo, "nalo-p3", "233244567813");
    let (_, text) = phone.dial("*920*1234*1#").await;
    assert!(text.contains("Choose your bank"), "{text}");
}
