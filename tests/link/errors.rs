//! What a client gets wrong gets a typed JSON answer with a clear message:
//! bad JSON, an oversized body, an unknown route or method, values out of
//! range, an unknown public token, an exchange before the link. Never a 500.

use super::rig::{serve, Setup, API_KEY};
use connectflow::testing::StubPartner;
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn every_client_mistake_is_a_typed_json_error() {
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(&partner.url(), Setup::default()).await;
    let c = &rig.client;
    let token = c.new_token().await;
    let path = "/link/v1/session/actions";

    let cases: Vec<(u16, &str, (u16, serde_json::Value))> = vec![
        (
            400,
            "bad_request",
            c.raw_post(path, &token, b"{\"seq\": 1, ".to_vec()).await,
        ),
        (
            400,
            "bad_request",
            c.raw_post(path, &token, br#"{"seq":"hunter2-secret"}"#.to_vec())
                .await,
        ),
        (
            400,
            "bad_request",
            c.raw_post(
                path,
                &token,
                br#"{"seq":0,"action":{"type":"hack"}}"#.to_vec(),
            )
            .await,
        ),
        (
            413,
            "payload_too_large",
            c.raw_post(path, &token, vec![b' '; 20_000]).await,
        ),
        (
            404,
            "not_found",
            c.raw_post("/link/v1/nothing", &token, b"{}".to_vec()).await,
        ),
        // The API's own root and a path past a route are its, too.
        (
            404,
            "not_found",
            c.raw_post("/link/v1", &token, b"{}".to_vec()).await,
        ),
        (
            404,
            "not_found",
            c.raw_post("/link/v1/session/actions/", &token, b"{}".to_vec())
                .await,
        ),
        (
            405,
            "method_not_allowed",
            c.raw_post("/link/v1/session", &token, b"{}".to_vec()).await,
        ),
        (
            405,
            "method_not_allowed",
            c.raw_post("/link/v1/openapi.json", &token, b"{}".to_vec())
                .await,
        ),
        (
            400,
            "bad_request",
            c.post("/link/v1/tokens", API_KEY, json!({"customer": {}}))
                .await,
        ),
        (
            400,
            "bad_request",
            c.post(
                "/link/v1/tokens",
                API_KEY,
                json!({"customer": {"id": "c"}, "redirect_url": "javascript:alert(1)"}),
            )
            .await,
        ),
        (
            400,
            "bad_request",
            c.post(
                "/link/v1/tokens",
                API_KEY,
                json!({"customer": {"id": "c"}, "expires_in": 5}),
            )
            .await,
        ),
        (
            400,
            "bad_request",
            c.post(
                "/link/v1/tokens",
                API_KEY,
                json!({"customer": {"id": "c"}, "auth_method": "ussd"}),
            )
            .await,
        ),
        (400, "invalid_public_token", c.exchange("not-a-token").await),
        (
            400,
            "invalid_public_token",
            c.exchange(&format!("pt_{}_{}", "a".repeat(32), "b".repeat(64)))
                .await,
        ),
    ];
    for (status, code, (got, body)) in &cases {
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(*code)),
            "{body}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // A bad value is described, never quoted back.
    assert!(
        !cases[1].2 .1.to_string().contains("hunter2"),
        "{}",
        cases[1].2 .1
    );

    // The flow's public token before it linked: not linked yet.
    let (_, view) = c.session(&token).await;
    assert_eq!(view["view"]["type"], "choose_institution");
    let (_, done) = c
        .act(
            &token,
            0,
            json!({"type": "choose_institution", "institution": "demo-bank"}),
        )
        .await;
    assert_eq!(done["view"]["type"], "form");
    let (id, secret) = token.trim_start_matches("lt_").split_once('_').unwrap();
    let _ = (id, secret);
    let (status, body) = c
        .act(
            &token,
            1,
            json!({"type": "submit", "values": {"username": "a", "password": "b"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let public = body["view"]["public_token"].as_str().unwrap().to_owned();
    let (status, account) = c.exchange(&public).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["account_id"], StubPartner::ACCOUNT_ID);

    let other = c.new_token().await;
    c.session(&other).await;
    let unlinked = other.replacen("lt_", "pt_", 1);
    // Shaped like a public token, but not this flow's: refused.
    assert_eq!(
        c.exchange(&unlinked).await.1["error"]["code"],
        "invalid_public_token"
    );
}

/// Finding: a front-end that sent a PIN as a JSON number
/// (`"values":{"pin":1234}`) got a 400 whose message was serde's
/// ``invalid type: integer `1234`, expected a string``: the PIN came back.
/// Now no value is echoed (integer, float, bool), the message says values
/// are strings, and the flow still waits at the same form.
#[tokio::test(flavor = "multi_thread")]
async fn a_pin_sent_as_a_number_is_refused_without_echoing_it() {
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(&partner.url(), Setup::default()).await;
    let c = &rig.client;
    let token = c.new_token().await;
    c.session(&token).await;
    let (_, form) = c
        .act(
            &token,
            0,
            json!({"type": "choose_institution", "institution": "demo-bank"}),
        )
        .await;
    assert_eq!(form["view"]["type"], "form", "{form}");
    for pin in ["1234", "98.765", "true"] {
        let body = format!(r#"{{"seq":1,"action":{{"type":"submit","values":{{"pin":{pin}}}}}}}"#);
        let (status, answer) = c
            .raw_post("/link/v1/session/actions", &token, body.into_bytes())
            .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "bad_request", "{answer}");
        let text = answer.to_string();
        assert!(!text.contains(pin), "{pin} echoed: {text}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("expected a string (form values are JSON strings, digits too)"),
            "{message}"
        );
    }
    let (_, still) = c.session(&token).await;
    assert_eq!(
        (still["seq"].as_u64(), &still["view"]["type"]),
        (Some(1), &json!("form")),
        "{still}"
    );
}

/// A body that stops arriving is a JSON `408 request_timeout` once the
/// server's body timeout passes (a client may send it again), not a `413`
/// saying it was too large, which a client would not retry.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_arriving_is_a_408_not_a_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(
        &partner.url(),
        Setup {
            limits: connectflow::server::Limits {
                body_timeout: std::time::Duration::from_millis(300),
                ..connectflow::server::Limits::default()
            },
            ..Setup::default()
        },
    )
    .await;
    let token = rig.client.new_token().await;
    let addr = rig.url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /link/v1/session/actions HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{\"seq\": 0,"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_string(&mut answer),
    )
    .await
    .expect("answered once the body timed out")
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
}
