//! Input at the edges: an empty answer, a `*` inside one, a duplicated hop,
//! pre-dialled digits, garbage and oversized bodies, sessions never seen,
//! and two hops of one session at once.

use super::phone::{AtPhone, HubtelPhone};
use super::rig::{self, rig, serve_secret_form};
use connectflow::testing::StubPartner;

#[tokio::test]
async fn star_empty_answer_duplicate_hop_and_pre_dialled_input() {
    let (partner, url) = serve_secret_form().await;
    let mut phone = AtPhone::new(&url, "+254711000301");
    let (_, text) = phone.script(&["1"]).await;
    assert!(text.contains("Enter Account"), "{text}");
    // An empty answer re-shows the field with an error line.
    let (end, text) = phone.send("").await;
    assert!(
        !end && text.starts_with("Invalid entry") && text.contains("Enter Account"),
        "{text}"
    );
    // A `*` typed inside an answer survives as part of that one answer.
    let (_, text) = phone.send("12*34").await;
    assert!(text.contains("Enter PIN (secret)"), "{text}");
    phone.send("4321").await;
    let (end, text) = phone.send("hello").await;
    assert!(end && text.contains("linked"), "{text}");
    // The same hop delivered again: the same screen, and no second login.
    let last = phone.text.clone().unwrap();
    let again = phone.post(&last).await;
    assert_eq!(again, (true, text));
    let logins = partner.requests_to(StubPartner::LOGIN);
    assert_eq!(logins.len(), 1, "{logins:?}");
    let login = logins[0].json().unwrap();
    assert_eq!(login["account"], "12*34");
    assert_eq!(login["pin"], "4321");

    // Pre-dialled digits pick the bank and nothing else.
    let rig = rig().await;
    let mut phone = AtPhone::new(&rig.url, "+254711000302");
    let (_, text) = phone.dial_with("1*1*user_good*pass_good").await;
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");
}

#[tokio::test]
async fn garbage_oversized_and_unknown_sessions_get_polite_screens() {
    let rig = rig().await;
    let client = reqwest::Client::new();
    let garbage = client
        .post(rig::gateway(&rig.url, "/ussd"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0x00, 0x26, 0x3d, 0x3d])
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 200);
    assert!(garbage.text().await.unwrap().starts_with("END "));
    let big = client
        .post(rig::gateway(&rig.url, "/ussd"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "sessionId=ATUid_big&phoneNumber=%2B254711&text={}",
            "1".repeat(100_000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 200);
    assert!(big.text().await.unwrap().starts_with("END "));
    let json = client
        .post(rig::gateway(&rig.url, "/ussd/hubtel"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);
    let reply: serde_json::Value = json.json().await.unwrap();
    assert_eq!(reply["Type"], "Release");

    // A Hubtel Response for a session never seen (its first screen was
    // stateless, or its state expired): the input may only pick a bank...
    let mut phone = HubtelPhone {
        client: reqwest::Client::new(),
        url: rig::gateway(&rig.url, "/ussd/hubtel"),
        session: "ffffffffffffffffffffffffffffffff".into(),
        sequence: 4,
    };
    let (end, text) = phone.hop("Response", "2").await;
    assert!(!end && text.contains("Access Bank: log in with"), "{text}");
    // ...and input that is not a bank number (an OTP, a PIN) picks nothing.
    phone.session = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee".into();
    let (end, text) = phone.hop("Response", "123456").await;
    assert!(!end && text.contains("Choose your bank"), "{text}");
    // The server is still fine afterwards.
    let mut at = AtPhone::new(&rig.url, "+254711000401");
    let (end, text) = at.script(&["1", "1", "user_good", "pass_good"]).await;
    assert!(end && text.contains("linked"), "{text}");
}

#[tokio::test]
async fn two_concurrent_hops_of_one_session_apply_exactly_once() {
    let (partner, url) = serve_secret_form().await;
    for round in 0..10 {
        let mut phone = AtPhone::new(&url, &format!("+2547110006{round:02}"));
        phone.script(&["1", "acc", "1234"]).await;
        let prev = phone.text.clone().unwrap();
        let (first, second) = (format!("{prev}*first"), format!("{prev}*second"));
        let (a, b) = tokio::join!(phone.post(&first), phone.post(&second));
        // Both get a proper screen (the loser sees what the winner left);
        // exactly one login reached the partner.
        for (_, text) in [&a, &b] {
            assert!(
                text.contains("linked") || text.starts_with("Processing"),
                "{a:?} {b:?}"
            );
        }
        assert_eq!(
            partner.count(StubPartner::LOGIN),
            round + 1,
            "round {round}: {a:?} {b:?}"
        );
    }
}

#[tokio::test]
async fn a_hubtel_cart_request_on_a_pin_form_is_refused_not_submitted() {
    // A Programmable Services account pointed at the classic endpoint sends
    // its app's extras (ussd.md §3) there too: a cart is not the PIN.
    let (partner, url) = serve_secret_form().await;
    let mut phone = HubtelPhone::new(&url, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
    phone.hop("Initiation", "*714*4#").await;
    phone.hop("Response", "1").await;
    let (end, text) = phone.hop("Response", "acc").await;
    assert!(!end, "{text}");
    for kind in ["AddToCart", "Query", "Favorite"] {
        let (end, text) = phone.hop(kind, "1234").await;
        assert!(end && text.contains("USSD only"), "{kind}: {text}");
    }
    // The form still waits for its PIN (a cart taken for it would have
    // moved it on to the note), and the login goes out once, with the note.
    let (end, text) = phone.hop("Response", "1234").await;
    assert!(!end && text.contains("Note"), "{text}");
    assert_eq!(partner.count(StubPartner::LOGIN), 0, "{text}");
    let (_, text) = phone.hop("Response", "memo").await;
    assert_eq!(partner.count(StubPartner::LOGIN), 1, "{text}");
}
