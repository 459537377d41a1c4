//! Airtel's Comviva-style gateway over real HTTP (ussd.md §4): a `GET` to
//! `/ussd/airtel` with `SessionID`, `MSISDN`, `MSC` and the latest `input`
//! (the dialled code on the first hop), answered with text and the
//! `Freeflow` header. A sandbox user links through it; a cleanup call
//! mid-flow ends the telecom session, not the flow, which a re-dial is
//! offered again.

use super::rig::{gateway, rig, rig_with};
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::UssdConfig;
use connectflow::testing::SandboxConfig;

/// A handset behind Airtel: one session id and phone.
struct AirtelPhone<'a> {
    url: &'a str,
    session: &'a str,
    msisdn: &'a str,
}

impl AirtelPhone<'_> {
    /// One `GET` with `extra` parameters: whether the reply ends the
    /// session (`Freeflow: FB`), and its text.
    async fn get(&self, extra: &[(&str, &str)]) -> (bool, String) {
        let reply = reqwest::Client::new()
            .get(gateway(self.url, "/ussd/airtel"))
            .query(&[
                ("SessionID", self.session),
                ("MSISDN", self.msisdn),
                ("MSC", "MSC01"),
            ])
            .query(extra)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let freeflow = reply.headers()["freeflow"].to_str().unwrap().to_owned();
        assert_eq!(reply.headers()["charge"], "N");
        assert_eq!(reply.headers()["amount"], "0");
        assert!(freeflow == "FC" || freeflow == "FB", "{freeflow}");
        let text = reply.text().await.unwrap();
        assert!(Budget::default().fits(&text), "over budget:\n{text}");
        (freeflow == "FB", text)
    }

    async fn send(&self, input: &str) -> (bool, String) {
        self.get(&[("input", input)]).await
    }
}

#[tokio::test]
async fn a_sandbox_user_links_through_airtel() {
    let rig = rig().await;
    let phone = AirtelPhone {
        url: &rig.url,
        session: "ke-a1",
        msisdn: "254733000201",
    };
    let (end, text) = phone.send("*384*123#").await;
    assert!(!end && text.contains("Sandbox Bank"), "{text}");
    // `text` becomes the password screen below.
    let mut text = String::new();
    for answer in ["1", "1", "user_good"] {
        let (end, screen) = phone.send(answer).await;
        assert!(!end, "ended after {answer:?}: {screen}");
        text = screen;
    }
    // An answer shaped like a dialled code is dropped: the same screen
    // again, nothing sent to the bank, and the flow goes on.
    let (end, again) = phone.send("*123#").await;
    assert!(!end && again == text, "{again}");
    let (end, text) = phone.send("pass_good").await;
    assert!(end && text.contains("linked"), "{text}");
}

#[tokio::test]
async fn an_airtel_cleanup_mid_mfa_resumes_on_a_redial() {
    let rig = rig().await;
    let phone = AirtelPhone {
        url: &rig.url,
        session: "ke-a2",
        msisdn: "254733000202",
    };
    phone.send("*384*123#").await;
    for answer in ["1", "1", "user_otp"] {
        phone.send(answer).await;
    }
    let (end, text) = phone.send("pass_good").await;
    assert!(!end && text.contains("OTP"), "{text}");
    let (end, _) = phone
        .get(&[("clean", "clean-session"), ("error", "522")])
        .await;
    assert!(end, "a cleanup is answered with FB");

    let phone = AirtelPhone {
        session: "ke-a3",
        ..phone
    };
    let (end, text) = phone.send("*384*123#").await;
    assert!(!end && text.contains("1. Continue"), "{text}");
    let (_, text) = phone.send("1").await;
    assert!(text.contains("OTP"), "{text}");
    let (end, text) = phone.send("123456").await;
    assert!(end && text.contains("linked"), "{text}");
}

/// Airtel's first hop is the dialled code with no service code beside it:
/// given the code it answers, the channel reads a pre-dialled bank
/// (`*384*123*1#`) as for the gateways that send their code, and knows a
/// first dial that lost its `*` (`384*123`, `384*123*1`) for what it is; in
/// the middle of a session the same text is still an answer.
#[tokio::test]
async fn a_pre_dialled_bank_is_picked_through_airtel_given_the_code() {
    let config = UssdConfig {
        service_codes: vec!["*384*123#".into()],
        ..UssdConfig::default()
    };
    let rig = rig_with(SandboxConfig::default(), config).await;
    let phone = AirtelPhone {
        url: &rig.url,
        session: "ke-p1",
        msisdn: "254733000211",
    };
    let (end, text) = phone.send("*384*123*1#").await;
    assert!(
        !end && text.starts_with("Sandbox Bank: log in with"),
        "{text}"
    );
    let (end, text) = phone.send("1").await;
    assert!(!end && text.contains("Username"), "{text}");
    // Mid-session, a text shaped like the code without its `*` is typed
    // into the field like any answer: the next field, not the bank list.
    let (end, text) = phone.send("384*123").await;
    assert!(!end && text.contains("Password"), "{text}");

    // A first dial whose `*` was lost is known by the code: the bank list
    // with no error line, or the pre-dialled bank.
    for (session, dialled, want) in [
        ("ke-p2", "384*123", "Choose your bank"),
        ("ke-p3", "384*123*1", "Sandbox Bank: log in with"),
    ] {
        let phone = AirtelPhone {
            url: &rig.url,
            session,
            msisdn: "254733000212",
        };
        let (end, text) = phone.send(dialled).await;
        assert!(!end && text.starts_with(want), "{dialled}: {text}");
    }
}
