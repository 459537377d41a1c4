//! Sessions: their shape, the errors creating one, and sessions that are
//! unknown, missing, another key's or expired.

use crate::app::{creds, start, start_with, App, OTHER_KEY};
use connectflow::flow::{AuthMethodKind, Call, RejectionKind, Step};
use connectflow::form::Values;
use connectflow::sandbox::{SandboxConfig, OTP, PASSWORD};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn session_shape_and_errors() {
    let (sandbox, app) = start().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let created = app
        .post(
            "/v2/connect/session",
            None,
            json!({ "institution": "sandbox-bank", "auth_method": "internet_banking",
                    "scope": "financial_data", "customer": { "id": "cus_1" } }),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["status"], "successful");
    let session = &created.body["data"]["session"];
    let id = session["id"].as_str().expect("id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let expires = session["expiresAt"].as_u64().expect("expiresAt");
    assert!(expires >= before + 29 * 60 * 1000, "30 minutes by default");
    assert_eq!(session["institution"]["id"], "sandbox-bank");
    assert_eq!(session["institution"]["name"], "Sandbox Bank");
    assert_eq!(created.body["data"]["ui"]["form"][0]["name"], "username");

    let unknown = app
        .post(
            "/v2/connect/session",
            None,
            json!({ "institution": "no-such-bank", "auth_method": "internet_banking",
                    "scope": "financial_data", "customer": { "id": "cus_1" } }),
        )
        .await;
    unknown.assert_failed(400, "Institution");
    // A session names its scope and its customer (mono.md §3): one that
    // leaves either out, or sends a blank one, is refused, as Mono would.
    for (body, says) in [
        (
            json!({ "customer": { "id": "cus_1" } }),
            "scope is required",
        ),
        (
            json!({ "scope": "payments", "customer": { "id": "cus_1" } }),
            "scope must be",
        ),
        (json!({ "scope": "financial_data" }), "customer is required"),
        (
            json!({ "scope": "financial_data", "customer": { "id": " " } }),
            "customer is required",
        ),
        (
            json!({ "scope": "financial_data", "customer": { "name": "Ada", "email": "" } }),
            "customer is required",
        ),
        (
            json!({ "scope": "financial_data", "customer": {} }),
            "customer an object",
        ),
    ] {
        let mut body = body;
        body["institution"] = "sandbox-bank".into();
        body["auth_method"] = "internet_banking".into();
        app.post("/v2/connect/session", None, body)
            .await
            .assert_failed(400, says);
    }
    let unsupported = app
        .call(&Call::CreateSession {
            institution: "gtbank".into(),
            auth_method: AuthMethodKind::Ussd,
            customer: None,
        })
        .await;
    unsupported.assert_failed(400, "not supported");
    assert!(unsupported.reply.is_err());
    app.post("/v2/connect/session", None, json!({ "institution": 5 }))
        .await
        .assert_failed(400, "Invalid input");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_missing_and_foreign_sessions_are_rejected() {
    let (sandbox, app) = start().await;
    let no_header = app
        .post(
            "/v2/connect/login",
            None,
            json!({ "username": "user_good" }),
        )
        .await;
    no_header.assert_failed(400, "x-session-id");

    let unknown = app
        .login(
            "00000000-0000-0000-0000-000000000000",
            creds("user_good", PASSWORD),
        )
        .await;
    unknown.assert_failed(404, "Session not found");
    assert_eq!(unknown.code(), Some(400));
    match unknown.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::SessionExpired),
        other => panic!("{other:?}"),
    }

    // A session made with another key does not exist for this one: the same
    // answer as an unknown id, on every session route.
    let other = App::new(&sandbox, OTHER_KEY);
    let theirs = other
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let foreign = app.login(&theirs.id, creds("user_good", PASSWORD)).await;
    foreign.assert_failed(404, "Session not found");
    assert_eq!(foreign.body["message"], unknown.body["message"]);
    app.commit(&theirs.id, Values::new().with("otp", OTP), None)
        .await
        .assert_failed(404, "Session not found");
    app.get("/v2/connect/sandbox", Some(&theirs.id))
        .await
        .assert_failed(404, "Session not found");
    // ... and it still works for its owner.
    let (codes, _) = other
        .finish(
            &theirs.id,
            other.login(&theirs.id, creds("user_good", PASSWORD)).await,
            None,
        )
        .await;
    assert_eq!(codes, [99]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn expired_session_is_rejected() {
    let (sandbox, app) = start_with(SandboxConfig {
        session_ttl: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .await;
    let s = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let answer = app.login(&s.id, creds("user_good", PASSWORD)).await;
    answer.assert_failed(400, "Session expired");
    assert_eq!(answer.code(), Some(400));
    match answer.step() {
        Step::Rejected(r) => assert_eq!(r.kind, RejectionKind::SessionExpired),
        other => panic!("{other:?}"),
    }
    app.commit(&s.id, Values::new().with("otp", OTP), None)
        .await
        .assert_failed(400, "Session expired");
    sandbox.shutdown().await;
}

/// `connect/login` and `reauth/login` are separate endpoints (mono.md §7):
/// each takes only its own kind of session, so a client that logs a
/// re-authorisation in at the wrong one is told, not served.
#[tokio::test]
async fn each_login_endpoint_takes_only_its_own_kind_of_session() {
    let (sandbox, app) = start().await;
    let fresh = app
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    let login = json!({ "username": "user_reauth", "password": PASSWORD });
    app.post("/v2/connect/reauth/login", Some(&fresh.id), login.clone())
        .await
        .assert_failed(400, "not a re-authorisation");

    let account = app.link("sandbox-bank", "user_reauth", None).await;
    let reauth = app
        .post(
            "/v2/connect/reauth/session",
            None,
            json!({ "account": account }),
        )
        .await;
    let sid = reauth.body["data"]["session"]["id"]
        .as_str()
        .expect("user_reauth's bank asks for the login again")
        .to_owned();
    app.post("/v2/connect/login", Some(&sid), login.clone())
        .await
        .assert_failed(400, "reauth/login");
    let at_its_own = app
        .post("/v2/connect/reauth/login", Some(&sid), login)
        .await;
    assert_eq!(at_its_own.status, 200, "{:?}", at_its_own.body);
    sandbox.shutdown().await;
}
