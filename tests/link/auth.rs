//! Tokens grant exactly what they say: a link token drives its one flow
//! until it expires, the API key makes tokens and exchanges, and neither
//! works as the other. Every refusal is the same 401, revealing nothing.

use super::rig::{serve, Client, Setup, API_KEY};
use connectflow::service::Clock;
use connectflow::testing::{FakeClock, StubPartner};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn wrong_expired_and_crossed_credentials_get_the_same_401() {
    let partner = StubPartner::start().await.unwrap();
    let clock = Arc::new(FakeClock::new(FakeClock::START));
    let setup = Setup {
        clock: Some(Arc::clone(&clock) as Arc<dyn Clock>),
        ..Setup::default()
    };
    let rig = serve(&partner.url(), setup).await;
    let c = &rig.client;
    let token = c
        .token(json!({"customer": {"id": "cus_1"}, "expires_in": 60}))
        .await;
    assert_eq!(c.session(&token).await.0, 200);

    // The same id with another secret; a made-up id; garbage; nothing;
    // the API key; a public token.
    let (id, secret) = token.trim_start_matches("lt_").split_once('_').unwrap();
    let wrong_secret = format!("lt_{id}_{}", "0".repeat(secret.len()));
    let unknown_id = format!("lt_{}_{secret}", "ab".repeat(16));
    let public = format!("pt_{id}_{secret}");
    let mut refusals = Vec::new();
    for bad in [
        wrong_secret.as_str(),
        &unknown_id,
        "garbage",
        "",
        API_KEY,
        &public,
    ] {
        refusals.push(c.session(bad).await);
        refusals.push(c.act(bad, 0, json!({"type": "exit"})).await);
    }
    // Past its lifetime, the real token too.
    clock.advance(Duration::from_secs(61));
    refusals.push(c.session(&token).await);
    let first = refusals[0].clone();
    assert_eq!(first.0, 401);
    assert_eq!(first.1["error"]["code"], "unauthorized");
    for r in &refusals {
        assert_eq!(r, &first, "every refusal looks the same");
    }

    // A link token is not the API key, for either host call.
    let fresh = c.new_token().await;
    let as_key = Client::new(vec![rig.url.clone()], &fresh);
    let (status, _) = as_key
        .post("/link/v1/tokens", &fresh, json!({"customer": {"id": "x"}}))
        .await;
    assert_eq!(status, 401);
    assert_eq!(as_key.exchange("pt_00_00").await.0, 401);
    let wrong_key = Client::new(vec![rig.url.clone()], "ck_wrong");
    let (status, body) = wrong_key
        .post(
            "/link/v1/tokens",
            "ck_wrong",
            json!({"customer": {"id": "x"}}),
        )
        .await;
    assert_eq!((status, body), first);
}
