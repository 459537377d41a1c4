//! The token's customer is the one the partner's session is opened for.

use super::rig::{serve, Setup};
use connectflow::testing::StubPartner;
use serde_json::json;

/// A link token's customer, new (`name`, `email`) or known to the partner
/// (`id`), is the `customer` of the Mono session its flow opens (mono.md
/// §3). Finding (review, 2026-12-05): every session went out with the one
/// customer the server was started with (`connectflow serve`'s "USSD
/// Customer"), so Mono filed every host's person under one customer.
#[tokio::test(flavor = "multi_thread")]
async fn the_tokens_customer_opens_the_partners_session() {
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(&partner.url(), Setup::default()).await;
    let c = &rig.client;
    for (customer, expected) in [
        (
            json!({"name": "Kemi Ade", "email": "kemi@example.com"}),
            json!({"name": "Kemi Ade", "email": "kemi@example.com"}),
        ),
        (json!({"id": "cus_6543"}), json!({"id": "cus_6543"})),
        // The host's own id beside a name and an email is theirs, for the
        // records: the partner gets a new customer, not an id it never made.
        (
            json!({"id": "user-42", "name": "Kemi Ade", "email": "kemi@example.com"}),
            json!({"name": "Kemi Ade", "email": "kemi@example.com"}),
        ),
    ] {
        let token = c.token(json!({ "customer": customer })).await;
        c.session(&token).await;
        let (status, body) = c
            .act(
                &token,
                0,
                json!({"type": "choose_institution", "institution": "demo-bank"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let sent = partner.requests_to(StubPartner::SESSION);
        let last = sent.last().expect("a session was opened");
        assert_eq!(last.json().unwrap_or_default()["customer"], expected);
    }
    // A name or an email that does not make a new customer is a mistake
    // the host hears of: the id beside it is not sent as the partner's.
    for customer in [
        json!({"id": "user-42", "name": "Kemi Ade", "email": "kemi"}),
        json!({"id": "user-42", "name": "Kemi Ade"}),
        json!({"id": "user-42", "email": "kemi@example.com"}),
    ] {
        let (status, body) = token_for(c, &customer).await;
        assert_eq!(status, 400, "{customer}: {body}");
    }
}

/// Finding: a token request's text fields were limited by bytes while the
/// refusal says "1 to 256 printable characters", so a 200-character
/// Cyrillic name (400 bytes) was refused. Now characters are counted:
/// 200 and 256 of them pass, 257 do not, and a control character is still
/// refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_customer_name_is_limited_in_characters_not_bytes() {
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(&partner.url(), Setup::default()).await;
    let c = &rig.client;
    let name = |n: usize| "Ж".repeat(n);
    for (value, expected) in [
        (name(200), 200),
        (name(256), 200),
        (name(257), 400),
        (format!("{}\u{7}", name(10)), 400),
        ("Жанна\nОбі".to_owned(), 400),
    ] {
        let customer = json!({"name": value, "email": "zhanna@example.com"});
        let (status, body) = token_for(c, &customer).await;
        assert_eq!(
            status,
            expected,
            "{} characters: {body}",
            value.chars().count()
        );
        if expected == 400 {
            assert!(
                body.to_string().contains("1 to 256 printable characters"),
                "{body}"
            );
        }
    }
}

/// `POST /link/v1/tokens` for `customer`, with the host's key.
async fn token_for(c: &super::rig::Client, customer: &serde_json::Value) -> super::rig::Answer {
    c.post(
        "/link/v1/tokens",
        super::rig::API_KEY,
        json!({ "customer": customer }),
    )
    .await
}
