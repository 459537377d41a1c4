//! Exactly once per step: a repeated action reaches the partner once, a
//! stale one gets 409 with the current view, field errors get 422 and leave
//! the session as it was. Counted on a stub partner that records requests.

use super::rig::{serve, Setup};
use connectflow::flow::Step;
use connectflow::testing::{catalogues, Answer, StubPartner};
use serde_json::json;
use std::time::Duration;

fn choose() -> serde_json::Value {
    json!({"type": "choose_institution", "institution": catalogues::DEMO_BANK, "auth_method": "internet_banking"})
}

fn login() -> serde_json::Value {
    json!({"type": "submit", "values": {"username": "ada", "password": "hunter2-secret"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_tap_logs_in_once_and_both_taps_get_the_outcome() {
    let partner = StubPartner::start().await.unwrap();
    // The login takes a moment, so the two taps overlap.
    partner.answer(
        StubPartner::LOGIN,
        Answer::step(&Step::code(StubPartner::CODE)).after(Duration::from_millis(300)),
    );
    let rig = serve(&partner.url(), Setup::default()).await;
    let c = &rig.client;
    let token = c.new_token().await;
    let (status, first) = c.session(&token).await;
    assert_eq!((status, first["seq"].as_u64()), (200, Some(0)), "{first}");
    let (status, form) = c.act(&token, 0, choose()).await;
    assert_eq!(status, 200, "{form}");
    assert_eq!(form["view"]["type"], "form");
    let seq = form["seq"].as_u64().unwrap();

    let (a, b) = tokio::join!(c.act(&token, seq, login()), c.act(&token, seq, login()));
    assert_eq!(a.0, 200, "{}", a.1);
    assert_eq!(a, b, "both taps get the same answer");
    assert_eq!(a.1["view"]["type"], "done", "{}", a.1);
    // A mobile retry long after: the same answer again.
    assert_eq!(c.act(&token, seq, login()).await, a);
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
    assert_eq!(partner.count(StubPartner::EXCHANGE), 1);
    assert_eq!(partner.count(StubPartner::SESSION), 1);

    // The same seq with another action is not a repeat: 409, current view.
    let (status, stale) = c.act(&token, seq, json!({"type": "back"})).await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["error"]["code"], "stale_seq");
    assert_eq!(stale["view"], a.1["view"]);
    assert_eq!(stale["seq"], a.1["seq"]);
    // So is an old seq, or one from the future.
    for old in [0, seq + 5] {
        let (status, body) = c.act(&token, old, choose()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("stale_seq"))
        );
    }
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn field_errors_are_422_per_field_and_leave_the_session_as_it_was() {
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(&partner.url(), Setup::default()).await;
    let c = &rig.client;
    let token = c.new_token().await;
    c.session(&token).await;
    let (_, form) = c.act(&token, 0, choose()).await;
    let seq = form["seq"].as_u64().unwrap();

    let missing = json!({"type": "submit", "values": {"username": "ada", "nickname": "x"}});
    let (status, body) = c.act(&token, seq, missing).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_values");
    assert_eq!(body["fields"]["password"], "Password is required");
    assert!(body["fields"]["nickname"].is_string(), "{body}");
    // The form comes back with the message on its field.
    let fields = body["view"]["fields"].as_array().unwrap();
    let password = fields.iter().find(|f| f["name"] == "password").unwrap();
    assert_eq!(password["error"], "Password is required");
    assert_eq!(body["seq"], json!(seq));

    // Nothing was sent and nothing moved: the same step takes the fix.
    assert_eq!(partner.count(StubPartner::LOGIN), 0);
    let (_, again) = c.session(&token).await;
    assert_eq!(again["seq"], json!(seq));
    assert_eq!(again["view"]["type"], "form");
    let (status, done) = c.act(&token, seq, login()).await;
    assert_eq!(
        (status, done["view"]["type"].as_str()),
        (200, Some("done")),
        "{done}"
    );

    // An action the view does not take: 422 with a sentence, nothing sent.
    let (status, body) = c
        .act(
            &token,
            done["seq"].as_u64().unwrap(),
            json!({"type": "retry"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_action")),
        "{body}"
    );
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_while_the_bank_is_working_is_busy_then_the_outcome_shows() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer(
        StubPartner::LOGIN,
        Answer::step(&Step::code(StubPartner::CODE)).after(Duration::from_millis(800)),
    );
    let setup = Setup {
        link: connectflow::channel::link::LinkConfig {
            reply_budget: Duration::from_millis(100),
            ..Setup::default().link
        },
        ..Setup::default()
    };
    let rig = serve(&partner.url(), setup).await;
    let c = &rig.client;
    let token = c.new_token().await;
    c.session(&token).await;
    let (_, form) = c.act(&token, 0, choose()).await;
    let (status, working) = c.act(&token, form["seq"].as_u64().unwrap(), login()).await;
    assert_eq!(status, 200);
    assert_eq!(working["view"]["type"], "working", "{working}");
    assert_eq!(working["view"]["stage"], "logging_in");
    let seq = working["seq"].as_u64().unwrap();
    let (status, busy) = c.act(&token, seq, json!({"type": "back"})).await;
    assert_eq!(
        (status, busy["error"]["code"].as_str()),
        (409, Some("busy")),
        "{busy}"
    );
    assert_eq!(busy["view"]["type"], "working");
    let mut view = busy["view"].clone();
    for _ in 0..100 {
        if view["type"] != "working" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        view = c.session(&token).await.1["view"].clone();
    }
    assert_eq!(view["type"], "done", "{view}");
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
}
