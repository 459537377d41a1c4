//! Every sandbox user links through Africa's Talking and Hubtel; the other
//! auth methods, a wrong password, a bank that is down and a slow one.

use super::phone::{AtPhone, HubtelPhone};
use super::rig::{rig, rig_with};
use connectflow::channel::ussd::UssdConfig;
use connectflow::testing::SandboxConfig;
use std::time::Duration;

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
    // The bank has answered. The gateway retries the hop that was shown
    // "Processing": it gets that screen again, not the screen after it,
    // whose answer the next hop (read as "continue") would drop.
    let again = phone.post(phone.text.as_deref().unwrap()).await;
    assert!(
        !again.0 && again.1.starts_with("Processing..."),
        "{again:?}"
    );
    let (end, text) = phone.send("1").await;
    assert!(end && text.contains("linked"), "{text}");
}
