//! The reference web page (`GET /link`) in a real headless Chromium, used
//! as a person would: by labels, button names, headings and the alert
//! region, with the keyboard where a person might. It links `user_chain`
//! (OTP, question, account list), fails `user_locked`, switches auth method
//! (with a field error on the way, and a redirect at the end), and finishes
//! a USSD → web hand-off.
#![cfg(all(
    feature = "link",
    feature = "testing",
    feature = "redis",
    feature = "cli"
))]

mod check_report;
mod harness;
#[path = "../link/rig.rs"]
#[allow(dead_code)]
mod rig;

use connectflow::testing::{test_users, Sandbox, OTP, PASSWORD, SECURITY_ANSWER};
use harness::{scenario, Page};
use rig::{serve, Rig, Setup};
use serde_json::json;

async fn rig() -> (Sandbox, Rig) {
    let sandbox = Sandbox::start_local().await.unwrap();
    let rig = serve(&sandbox.url(), Setup::default()).await;
    (sandbox, rig)
}

/// A link URL for a new customer, as the host backend would make it.
async fn link_url(rig: &Rig, extra: serde_json::Value) -> String {
    let mut body = json!({"customer": {"name": "Ada Obi", "email": "ada@example.com"}});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, json) = rig.client.post("/link/v1/tokens", rig::API_KEY, body).await;
    assert_eq!(status, 200, "{json}");
    json["link_url"].as_str().unwrap().to_owned()
}

async fn choose_sandbox_bank(page: &Page) {
    page.heading("Choose your bank").await;
    page.press("Sandbox Bank").await;
    page.heading("Login to Sandbox Bank").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_chain_links_through_otp_question_and_account_list() {
    let (_sandbox, rig) = rig().await;
    let url = link_url(&rig, json!({})).await;
    scenario("user_chain", |page| async move {
        page.open(&url).await;
        choose_sandbox_bank(&page).await;
        page.every_input_is_labelled().await;
        let password = page.field("Password").await;
        assert_eq!(
            password.attr("type").await.unwrap().as_deref(),
            Some("password")
        );
        page.fill("Username", "user_chain").await;
        page.fill("Password", PASSWORD).await;
        // Submitted from the keyboard, as a person would.
        page.enter_in("Password").await;
        page.heading("Enter OTP").await;
        let otp = page.field("OTP").await;
        assert_eq!(otp.attr("type").await.unwrap().as_deref(), Some("password"));
        assert_eq!(otp.attr("maxlength").await.unwrap().as_deref(), Some("6"));
        page.fill("OTP", OTP).await;
        page.enter_in("OTP").await;
        page.fill("city", SECURITY_ANSWER).await;
        page.enter_in("city").await;
        page.heading("Choose an account").await;
        // Three accounts, numbers masked; picked with the keyboard.
        let accounts = page
            .0
            .find_all(fantoccini::Locator::XPath("//ul[@class='choices']//button"))
            .await
            .unwrap();
        assert_eq!(accounts.len(), 3);
        let second = accounts[1].text().await.unwrap();
        assert!(second.contains("******"), "{second}");
        accounts[1].send_keys("\u{E007}").await.unwrap();
        page.heading("Account linked").await;
        let public = page
            .0
            .find(fantoccini::Locator::Id("public-token"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (status, account) = rig.client.exchange(&public).await;
        assert_eq!(status, 200, "{account}");
        assert_eq!(account["institution"]["name"], "Sandbox Bank");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_locked_fails_and_the_reason_is_announced() {
    let (_sandbox, rig) = rig().await;
    let url = link_url(&rig, json!({})).await;
    scenario("user_locked", |page| async move {
        page.open(&url).await;
        choose_sandbox_bank(&page).await;
        page.fill("Username", "user_locked").await;
        page.fill("Password", PASSWORD).await;
        page.press("Continue").await;
        page.heading("Linking did not work").await;
        page.alert("locked").await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_auth_method_shows_the_other_form_and_redirects_on_success() {
    let (_sandbox, rig) = rig().await;
    let done = format!("{}/host/done", rig.url);
    let url = link_url(&rig, json!({"redirect_url": done, "reference": "order-42"})).await;
    let good = test_users()
        .iter()
        .find(|u| u.username == "user_good")
        .unwrap();
    let client = rig.client.clone();
    scenario("switch_auth_method", |page| async move {
        page.open(&url).await;
        choose_sandbox_bank(&page).await;
        page.press("Log in with Mobile banking").await;
        page.field("mobile PIN").await;
        page.every_input_is_labelled().await;
        // A field left empty: announced, marked, nothing sent.
        page.fill("Phone number", good.phone).await;
        page.press("Continue").await;
        page.alert("Please fix the highlighted fields").await;
        let pin = page.field("mobile PIN").await;
        assert_eq!(
            pin.attr("aria-invalid").await.unwrap().as_deref(),
            Some("true")
        );
        let described = pin.attr("aria-describedby").await.unwrap().unwrap();
        let message = page
            .0
            .find(fantoccini::Locator::Id(&described))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(message.contains("required"), "{message}");
        page.fill("mobile PIN", good.mobile_pin).await;
        page.enter_in("mobile PIN").await;
        // Linked: the page sends the person to the host with the public token.
        let mut landed = None;
        for _ in 0..100 {
            let now = page.0.current_url().await.unwrap();
            if now.path() == "/host/done" {
                landed = Some(now);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let landed = landed.expect("redirected to the host");
        let query: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
        assert_eq!(query["reference"], "order-42");
        let (status, account) = client.exchange(&query["public_token"]).await;
        assert_eq!(
            (status, account["reference"].as_str()),
            (200, Some("order-42"))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ussd_flow_handed_off_by_sms_finishes_in_the_browser() {
    let (_sandbox, rig) = rig().await;
    let phone = "+254711000778";
    let (end, otp) = hop_all(&rig.url, phone, &["1", "1", "user_otp", PASSWORD]).await;
    assert!(!end && otp.contains("OTP"), "{otp}");
    let (end, sent) = hop_all(&rig.url, phone, &["1", "1", "user_otp", PASSWORD, "99"]).await;
    assert!(end && sent.contains("We sent a link"), "{sent}");
    let sms = rig.outbox.0.lock().unwrap().pop().expect("an SMS");
    let start = sms.text.find("http://").unwrap();
    let url = sms.text[start..].to_owned();
    let rig_url = rig.url.clone();
    scenario("ussd_handoff", |page| async move {
        page.open(&url).await;
        page.heading("Enter OTP").await;
        page.fill("OTP", OTP).await;
        page.press("Continue").await;
        page.heading("Account linked").await;
        // The token left the address bar once the page had it.
        assert!(!page
            .0
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("token="));
        let (end, outcome) = hop(&rig_url, "ATUid_browser_redial", phone, "").await;
        assert!(end && outcome.contains("account is linked"), "{outcome}");
    })
    .await;
}

async fn hop_all(url: &str, phone: &str, answers: &[&str]) -> (bool, String) {
    let mut last = hop(url, "ATUid_browser", phone, "").await;
    for i in 1..=answers.len() {
        last = hop(url, "ATUid_browser", phone, &answers[..i].join("*")).await;
    }
    last
}

async fn hop(url: &str, session: &str, phone: &str, text: &str) -> (bool, String) {
    let form = [
        ("sessionId", session),
        ("serviceCode", "*384*123#"),
        ("phoneNumber", phone),
        ("text", text),
    ];
    let body = reqwest::Client::new()
        .post(format!("{url}/ussd?token={}", rig::GATEWAY_TOKEN))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (body.starts_with("END"), body)
}
