//! Safaricom's direct interface over real HTTP (ussd.md §4): a `GET` to the
//! Africa's Talking route with `SESSION_ID`, `ORIG`, `DEST` and the
//! cumulative `USSD_PARAMS`, answered `CON …` / `END …`. A sandbox user
//! links through it, a pre-dialled bank picked on the first request.

use super::rig::{gateway, rig};
use connectflow::channel::ussd::gsm::Budget;

/// One `GET` hop: whether the reply ends the session, and its text.
async fn hop(url: &str, session: &str, params: &str) -> (bool, String) {
    hop_to(url, session, "*384*123#", params).await
}

/// [`hop`] with the service code as sent in `DEST`.
async fn hop_to(url: &str, session: &str, dest: &str, params: &str) -> (bool, String) {
    let reply = reqwest::Client::new()
        .get(gateway(url, "/ussd"))
        .query(&[
            ("SESSION_ID", session),
            ("ORIG", "254711222555"),
            ("DEST", dest),
            ("USSD_PARAMS", params),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body = reply.text().await.unwrap();
    let (end, text) = match body.split_once(' ') {
        Some(("CON", text)) => (false, text.to_owned()),
        Some(("END", text)) => (true, text.to_owned()),
        _ => panic!("not a CON/END reply: {body}"),
    };
    assert!(Budget::default().fits(&text), "over budget:\n{text}");
    (end, text)
}

#[tokio::test]
async fn a_sandbox_user_links_through_safaricoms_direct_interface() {
    let rig = rig().await;
    // `*384*123*1#`: the bank pre-dialled, its login methods at once.
    let (end, text) = hop(&rig.url, "sf-7c1", "1").await;
    assert!(!end && text.contains("Sandbox Bank: log in with"), "{text}");
    for params in ["1*1", "1*1*user_good"] {
        let (end, text) = hop(&rig.url, "sf-7c1", params).await;
        assert!(!end, "ended at {params:?}: {text}");
    }
    let (end, text) = hop(&rig.url, "sf-7c1", "1*1*user_good*pass_good").await;
    assert!(end && text.contains("linked"), "{text}");
}

/// The usual dial: `USSD_PARAMS` empty on the first request, then each
/// answer appended with `*`; `DEST` as Safaricom sends it, without marks.
#[tokio::test]
async fn a_plain_dial_through_safaricom_shows_the_bank_list_then_links() {
    let rig = rig().await;
    let (end, text) = hop_to(&rig.url, "sf-8d2", "167", "").await;
    assert!(!end && text.contains("Choose your bank"), "{text}");
    for params in ["1", "1*1", "1*1*user_good"] {
        let (end, text) = hop_to(&rig.url, "sf-8d2", "167", params).await;
        assert!(!end, "ended at {params:?}: {text}");
    }
    let (end, text) = hop_to(&rig.url, "sf-8d2", "167", "1*1*user_good*pass_good").await;
    assert!(end && text.contains("linked"), "{text}");
}
