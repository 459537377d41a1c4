//! Re-authorisation on USSD when the host asks (`POST /ussd/v1/reauth`):
//! the person's next dial offers it, and continuing goes straight to the
//! bank's login and OTP, ending with the same account re-authorised.

use super::phone::AtPhone;
use super::rig::{rig, HOST_KEY};
use connectflow::driver::{now, DriverConfig};
use connectflow::flow::{ConnectFlow, FlowConfig, Input, UserAction, View};
use connectflow::form::Values;
use connectflow::testing::{mono_driver, SANDBOX_BANK};
use serde_json::json;

/// Links `user_reauth` at the sandbox (on the rig's key, through the
/// driver) and returns the account id.
async fn link_user_reauth(sandbox_url: &str) -> String {
    let driver = mono_driver(sandbox_url, DriverConfig::default());
    let config = FlowConfig::default().with_institution(SANDBOX_BANK, None);
    let mut flow = ConnectFlow::new(config, now());
    for _ in 0..5 {
        driver.run(&mut flow, &mut |_| {}).await.unwrap();
        let action = match flow.view() {
            View::Form(_) => UserAction::Submit(
                Values::new()
                    .with("username", "user_reauth")
                    .with("password", "pass_good"),
            ),
            View::Done {
                account_id: Some(id),
                ..
            } => return id.to_owned(),
            other => panic!("{other:?}"),
        };
        flow.handle(now(), Input::User(action)).unwrap();
    }
    panic!("user_reauth did not link")
}

#[tokio::test]
async fn the_next_dial_after_the_hosts_request_reauthorises_with_login_and_otp() {
    let rig = rig().await;
    let phone = "+2348010000009";
    let account = link_user_reauth(&rig.sandbox.url()).await;
    let http = reqwest::Client::new();
    let ask = |key: &'static str, body: serde_json::Value| {
        http.post(format!("{}/ussd/v1/reauth", rig.url))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    // The gateway token is not the host's key.
    let refused = ask(super::rig::TOKEN, json!({})).await.unwrap();
    assert_eq!(refused.status(), 401);
    let bad = ask(HOST_KEY, json!({"phone": phone})).await.unwrap();
    assert_eq!(bad.status(), 400);
    // A national number is refused: a dial is keyed by its international
    // form, so the person would never be asked (review, 2026-12-04).
    let national = json!({"phone": "0244567890", "account": "a", "institution": "sandbox-bank"});
    let bad = ask(HOST_KEY, national).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("international"));
    let accepted = ask(
        HOST_KEY,
        json!({"phone": phone, "account": account, "institution": "sandbox-bank"}),
    )
    .await
    .unwrap();
    assert_eq!(accepted.status(), 202);

    let mut at = AtPhone::new(&rig.url, phone);
    let (end, offer) = at.dial().await;
    assert!(!end);
    assert!(offer.contains("log in again"), "{offer}");
    let (_, login) = at.send("1").await;
    assert!(
        login.contains("Username") || login.contains("username"),
        "{login}"
    );
    let (_, password) = at.send("user_reauth").await;
    assert!(password.to_lowercase().contains("password"), "{password}");
    let (_, otp) = at.send("pass_good").await;
    assert!(
        otp.to_lowercase().contains("otp") || otp.contains("code"),
        "{otp}"
    );
    let (end, done) = at.send("123456").await;
    assert!(end && done.contains("linked"), "{done}");
    // The screen names the bank, never the account id.
    assert!(
        done.contains("Sandbox Bank") && !done.contains(&account),
        "{done}"
    );

    // Taken once: the next dial is an ordinary first screen.
    let mut again = AtPhone::new(&rig.url, phone);
    let (_, first) = again.dial().await;
    assert!(!first.contains("log in again"), "{first}");
}

/// Pre-dialled digits (`*384*123*1#`) do not lose a waiting
/// re-authorisation: it is offered first.
#[tokio::test]
async fn a_pre_dialled_dial_still_gets_the_waiting_reauthorisation() {
    let rig = rig().await;
    let phone = "+2348010000019";
    let account = link_user_reauth(&rig.sandbox.url()).await;
    let accepted = reqwest::Client::new()
        .post(format!("{}/ussd/v1/reauth", rig.url))
        .bearer_auth(HOST_KEY)
        // Without the `+`, as some gateways send numbers.
        .json(&json!({"phone": "2348010000019", "account": account, "institution": "sandbox-bank"}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let mut at = AtPhone::new(&rig.url, phone);
    let (end, offer) = at.dial_with("1").await;
    assert!(!end);
    assert!(offer.contains("log in again"), "{offer}");
}
