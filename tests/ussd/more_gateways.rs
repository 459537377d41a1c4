//! DMark (Uganda), HollaTags (Nigeria) and Sendexa (Ghana) over real HTTP
//! (ussd.md §4): DMark's and HollaTags' `GET`s with query parameters,
//! Sendexa's JSON `POST`, each reply in the gateway's own JSON shape and
//! within the screen budget. A sandbox user links through each; a
//! pre-dialled bank is picked on a first dial; a HollaTags `end` mid-flow
//! ends the telecom session, not the flow, which a re-dial from the
//! national number is offered.

use super::rig::{gateway, rig, rig_with};
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::UssdConfig;
use connectflow::testing::SandboxConfig;
use serde_json::{json, Value};

/// Which gateway a phone dials through.
#[derive(Clone, Copy, Debug)]
enum Wire {
    Dmark,
    HollaTags,
    Sendexa,
}

/// What a hop is, in partner-neutral terms; each gateway writes it its way.
#[derive(Clone, Copy, Debug)]
enum Hop<'a> {
    Dial(&'a str),
    Answer(&'a str),
    /// The gateway says the session ended (HollaTags' `end`).
    End,
}

/// A handset behind one of the gateways.
struct Phone<'a> {
    url: &'a str,
    wire: Wire,
    session: &'a str,
    msisdn: &'a str,
}

impl Phone<'_> {
    /// One hop: whether the reply ends the session, and its text.
    async fn hop(&self, hop: Hop<'_>) -> (bool, String) {
        let client = reqwest::Client::new();
        let request = match self.wire {
            Wire::Dmark => {
                let (response, text) = match hop {
                    Hop::Dial(dialled) => ("false", dialled),
                    Hop::Answer(text) => ("true", text),
                    Hop::End => unreachable!("DMark sends no end"),
                };
                client.get(gateway(self.url, "/ussd/dmark")).query(&[
                    ("transactionId", self.session),
                    ("msisdn", self.msisdn),
                    ("ussdServiceCode", "257"),
                    ("ussdRequestString", text),
                    ("response", response),
                    ("transactionTime", "1764900000"),
                    ("creationTime", "1764900000"),
                ])
            }
            Wire::HollaTags => {
                let (operation, message, kind) = match hop {
                    Hop::Dial(dialled) => ("begin", dialled, "1"),
                    Hop::Answer(text) => ("continue", text, "3"),
                    Hop::End => ("end", "", "4"),
                };
                client.get(gateway(self.url, "/ussd/hollatags")).query(&[
                    ("session_msisdn", self.msisdn),
                    ("session_operation", operation),
                    ("session_msg", message),
                    ("session_id", self.session),
                    ("session_from", "*347*100#"),
                    ("session_type", kind),
                    ("session_mno", "MTN"),
                ])
            }
            Wire::Sendexa => {
                let body = match hop {
                    Hop::Dial(dialled) => json!({
                        "sessionId": self.session, "phone": self.msisdn, "network": "MTN",
                        "serviceCode": dialled, "type": "new", "input": null,
                        "timestamp": "2026-12-05T10:30:05Z"
                    }),
                    Hop::Answer(text) => json!({
                        "sessionId": self.session, "phone": self.msisdn, "network": "MTN",
                        "serviceCode": "*123#", "type": "continue", "input": text,
                        "timestamp": "2026-12-05T10:30:09Z"
                    }),
                    Hop::End => unreachable!("Sendexa sends no end"),
                };
                client.post(gateway(self.url, "/ussd/sendexa")).json(&body)
            }
        };
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.headers()["content-type"], "application/json");
        let reply: Value = reply.json().await.unwrap();
        let (end, text) = match self.wire {
            Wire::Dmark => {
                let action = reply["action"].as_str().unwrap();
                assert!(action == "request" || action == "end", "{reply}");
                (action == "end", &reply["responseString"])
            }
            Wire::HollaTags => {
                assert_eq!(reply["session_id"], self.session, "{reply}");
                let end = match (
                    reply["session_operation"].as_str(),
                    reply["session_type"].as_u64(),
                ) {
                    (Some("continue"), Some(1)) => false,
                    (Some("end"), Some(4)) => true,
                    _ => panic!("not a HollaTags reply: {reply}"),
                };
                (end, &reply["session_msg"])
            }
            Wire::Sendexa => (reply["shouldClose"].as_bool().unwrap(), &reply["message"]),
        };
        let text = text.as_str().unwrap().to_owned();
        assert!(Budget::default().fits(&text), "over budget:\n{text}");
        (end, text)
    }

    async fn send(&self, text: &str) -> (bool, String) {
        self.hop(Hop::Answer(text)).await
    }
}

/// A `GET` of the gateway route `path` with `params` (as DMark and
/// HollaTags call): its JSON reply.
async fn get_json<const N: usize>(url: &str, path: &str, params: [(&str, &str); N]) -> Value {
    let reply = reqwest::Client::new()
        .get(gateway(url, path))
        .query(&params[..])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

/// Dials, picks Sandbox Bank and internet banking, logs in as `user_good`:
/// the linked screen, with the gateway's end signal.
async fn links(wire: Wire, msisdn: &str, dialled: &str) {
    let rig = rig().await;
    let phone = Phone {
        url: &rig.url,
        wire,
        session: "gw-1",
        msisdn,
    };
    let (end, text) = phone.hop(Hop::Dial(dialled)).await;
    assert!(!end && text.contains("Sandbox Bank"), "{wire:?}: {text}");
    for answer in ["1", "1", "user_good"] {
        let (end, text) = phone.send(answer).await;
        assert!(!end, "{wire:?}: ended after {answer:?}: {text}");
    }
    let (end, text) = phone.send("pass_good").await;
    assert!(end && text.contains("linked"), "{wire:?}: {text}");
}

#[tokio::test]
async fn a_sandbox_user_links_through_dmark() {
    links(Wire::Dmark, "256772000101", "*257#").await;
}

#[tokio::test]
async fn a_sandbox_user_links_through_hollatags() {
    links(Wire::HollaTags, "2348031000101", "*347*100#").await;
}

#[tokio::test]
async fn a_sandbox_user_links_through_sendexa() {
    links(Wire::Sendexa, "233555000101", "*123#").await;
}

/// A bank pre-dialled after the code is picked on the first dial: DMark's
/// and HollaTags' against the code they send, Sendexa's against the codes
/// the deployment was told it answers (it sends no code apart from the
/// dial).
#[tokio::test]
async fn a_pre_dialled_bank_is_picked_on_the_first_dial() {
    let config = UssdConfig {
        service_codes: vec!["*123#".into()],
        ..UssdConfig::default()
    };
    let rig = rig_with(SandboxConfig::default(), config).await;
    for (wire, msisdn, dialled) in [
        (Wire::Dmark, "256772000102", "*257*1#"),
        (Wire::HollaTags, "2348031000102", "*347*100*1#"),
        (Wire::Sendexa, "233555000102", "*123*1#"),
    ] {
        let phone = Phone {
            url: &rig.url,
            wire,
            session: "gw-pre",
            msisdn,
        };
        let (end, text) = phone.hop(Hop::Dial(dialled)).await;
        assert!(
            !end && text.contains("Sandbox Bank: log in with"),
            "{wire:?}: {text}"
        );
        let (_, text) = phone.send("1").await;
        assert!(text.contains("Username"), "{wire:?}: {text}");
    }
}

/// A channel on a shared code (`*347*100#`) whose gateway names only the
/// code it shares (`session_from` `*347#`): told its own code
/// (`--service-code`), the deployment reads the bank after it, not the
/// channel's digits, as the pre-dialled choice; so it does for a DMark dial
/// that came without its flag (read as a first screen's answer).
#[tokio::test]
async fn a_channel_on_a_shared_code_reads_its_own_code_when_told_it() {
    let config = UssdConfig {
        service_codes: vec!["*347*100#".into(), "*257*100#".into()],
        ..UssdConfig::default()
    };
    let rig = rig_with(SandboxConfig::default(), config).await;
    let reply = get_json(
        &rig.url,
        "/ussd/hollatags",
        [
            ("session_id", "ht-shared"),
            ("session_msisdn", "2348031000106"),
            ("session_operation", "begin"),
            ("session_msg", "*347*100*1#"),
            ("session_from", "*347#"),
        ],
    )
    .await;
    let text = reply["session_msg"].as_str().unwrap();
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
    let reply = get_json(
        &rig.url,
        "/ussd/dmark",
        [
            ("transactionId", "dm-shared"),
            ("msisdn", "256772000106"),
            ("ussdServiceCode", "257"),
            ("ussdRequestString", "*257*100*1#"),
        ],
    )
    .await;
    let text = reply["responseString"].as_str().unwrap();
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
}

/// HollaTags' `end` mid-MFA is the end of the telecom session, not of the
/// flow: a re-dial from the same phone, written in national form this
/// time, is offered the flow and finishes it.
#[tokio::test]
async fn a_hollatags_end_mid_mfa_resumes_on_a_redial_from_the_national_number() {
    let rig = rig().await;
    let phone = Phone {
        url: &rig.url,
        wire: Wire::HollaTags,
        session: "ht-1",
        msisdn: "2348031000103",
    };
    let (_, text) = phone.hop(Hop::Dial("*347*100*1#")).await;
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
    phone.send("1").await;
    phone.send("user_otp").await;
    let (end, text) = phone.send("pass_good").await;
    assert!(!end && text.contains("OTP"), "{text}");
    let (end, _) = phone.hop(Hop::End).await;
    assert!(end, "an end is answered with a final reply");

    let phone = Phone {
        session: "ht-2",
        msisdn: "08031000103",
        ..phone
    };
    let (end, text) = phone.hop(Hop::Dial("*347*100#")).await;
    assert!(!end && text.contains("1. Continue"), "{text}");
    let (_, text) = phone.send("1").await;
    assert!(text.contains("OTP"), "{text}");
    let (end, text) = phone.send("123456").await;
    assert!(end && text.contains("linked"), "{text}");
}

/// A DMark first dial that comes without its `response` flag (read as an
/// answer, so that a garbled flag never restarts a session) is still known
/// for a dial of DMark's code: the bank list, or the pre-dialled bank; a
/// plain number there answers the bank list.
#[tokio::test]
async fn a_dmark_dial_without_its_flag_is_still_a_dial() {
    let rig = rig().await;
    let get = |session: &'static str, text: &'static str| {
        let params = [
            ("transactionId", session),
            ("msisdn", "256772000104"),
            ("ussdServiceCode", "*257#"),
            ("ussdRequestString", text),
        ];
        let reply = get_json(&rig.url, "/ussd/dmark", params);
        async move { reply.await["responseString"].as_str().unwrap().to_owned() }
    };
    let text = get("dm-flagless-1", "*257#").await;
    assert!(text.contains("Choose your bank"), "{text}");
    let text = get("dm-flagless-2", "*257*1#").await;
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
    let text = get("dm-flagless-3", "1").await;
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
}

/// Sendexa waits 5 to 10 seconds: a hop through it sends a slow bank's
/// interim screen within 4 seconds, though the deployment's reply budget
/// (10 seconds, for Africa's Talking's 15) would wait for the bank.
#[tokio::test]
async fn a_slow_bank_through_sendexa_gets_the_interim_screen_in_time() {
    let sandbox = SandboxConfig {
        slow_delay: std::time::Duration::from_secs(6),
        ..SandboxConfig::default()
    };
    let rig = rig_with(sandbox, UssdConfig::default()).await;
    let phone = Phone {
        url: &rig.url,
        wire: Wire::Sendexa,
        session: "sx-slow",
        msisdn: "233555000105",
    };
    phone.hop(Hop::Dial("*123#")).await;
    for answer in ["1", "1", "user_slow"] {
        phone.send(answer).await;
    }
    let (end, text) = phone.send("pass_good").await;
    assert!(!end && text.starts_with("Processing..."), "{text}");
}
