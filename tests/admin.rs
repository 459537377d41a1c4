//! The partner admin client against the embedded sandbox over loopback:
//! every call, and every refusal a partner can give (wrong password,
//! expired token, another partner's app, an unknown id, bad fields, an
//! unreadable reply).
#![cfg(all(feature = "admin", feature = "sandbox"))]

use connectflow::admin::{AdminClient, AdminError, AdminPaths, AppPatch, NewApp};
use connectflow::form::Secret;
use connectflow::sandbox::{
    Sandbox, SandboxConfig, OTHER_PARTNER_EMAIL, OTHER_PARTNER_PASSWORD, PARTNER_EMAIL,
    PARTNER_PASSWORD,
};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

async fn sandbox(config: SandboxConfig) -> (Sandbox, AdminClient) {
    let sandbox = Sandbox::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
        .await
        .unwrap();
    let client = AdminClient::new(sandbox.url()).unwrap();
    (sandbox, client)
}

#[tokio::test]
async fn a_partner_creates_lists_updates_goes_live_and_deletes_an_app() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let token = client
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await
        .unwrap();
    assert!(token.expires_at.is_some(), "the sandbox says when it ends");
    assert!(
        !format!("{token:?}").contains(token.token.expose()),
        "Debug must not show the token"
    );

    let new = NewApp {
        name: "Corner Shop".into(),
        display_name: Some("Corner Shop Ltd".into()),
        icon_url: Some("https://example.com/icon.png".into()),
    };
    let app = client.create_app(&token, &new).await.unwrap();
    assert_eq!(app.name, "Corner Shop");
    assert_eq!(app.display_name.as_deref(), Some("Corner Shop Ltd"));
    assert_eq!(
        app.icon_url.as_deref(),
        Some("https://example.com/icon.png")
    );
    assert!(!app.live, "a new app starts in sandbox mode");
    let second = client
        .create_app(&token, &NewApp::named("Second"))
        .await
        .unwrap();
    assert_ne!(app.id, second.id);

    let listed = client.list_apps(&token).await.unwrap();
    assert_eq!(listed, vec![app.clone(), second.clone()]);

    let patch = AppPatch {
        name: Some("Corner Shop 2".into()),
        ..AppPatch::default()
    };
    let renamed = client.update_app(&token, &app.id, &patch).await.unwrap();
    assert_eq!(renamed.name, "Corner Shop 2");
    assert_eq!(renamed.display_name, app.display_name, "unsent fields stay");

    let live = client.go_live(&token, &app.id).await.unwrap();
    assert!(live.live);
    assert_eq!(live.name, "Corner Shop 2");

    client.delete_app(&token, &second.id).await.unwrap();
    assert_eq!(client.list_apps(&token).await.unwrap(), vec![live]);
    assert_eq!(
        client.delete_app(&token, &second.id).await,
        Err(AdminError::NotFound)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let wrong = client
        .login(PARTNER_EMAIL, &Secret::new("not-the-password"))
        .await;
    assert_eq!(wrong, Err(AdminError::WrongCredentials));
    let other_accounts_password = client
        .login(PARTNER_EMAIL, &Secret::new(OTHER_PARTNER_PASSWORD))
        .await;
    assert_eq!(other_accounts_password, Err(AdminError::WrongCredentials));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_refused_until_the_partner_logs_in_again() {
    let config = SandboxConfig {
        partner_token_ttl: Duration::from_millis(200),
        ..SandboxConfig::default()
    };
    let (sandbox, client) = sandbox(config).await;
    let password = Secret::new(PARTNER_PASSWORD);
    let token = client.login(PARTNER_EMAIL, &password).await.unwrap();
    let app = client
        .create_app(&token, &NewApp::named("Before"))
        .await
        .unwrap();
    // Waits out the token's lifetime (not a speed check).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(token.is_expired(connectflow::flow::Timestamp(now as u64)));
    assert_eq!(
        client.list_apps(&token).await,
        Err(AdminError::TokenExpired)
    );
    assert_eq!(
        client.go_live(&token, &app.id).await,
        Err(AdminError::TokenExpired)
    );
    let fresh = client.login(PARTNER_EMAIL, &password).await.unwrap();
    assert_eq!(client.list_apps(&fresh).await.unwrap(), vec![app]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unknown_token_is_not_a_login() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let made_up = connectflow::admin::AccessToken::new("pat_made_up", None);
    let refused = client.list_apps(&made_up).await;
    assert!(
        matches!(refused, Err(AdminError::NotAuthenticated(_))),
        "{refused:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_partner_cannot_see_change_or_delete_another_partners_app() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let mine = client
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await
        .unwrap();
    let theirs = client
        .login(OTHER_PARTNER_EMAIL, &Secret::new(OTHER_PARTNER_PASSWORD))
        .await
        .unwrap();
    let app = client
        .create_app(&mine, &NewApp::named("Mine"))
        .await
        .unwrap();
    assert_eq!(client.list_apps(&theirs).await.unwrap(), vec![]);
    let rename = AppPatch {
        name: Some("Stolen".into()),
        ..AppPatch::default()
    };
    assert_eq!(
        client.update_app(&theirs, &app.id, &rename).await,
        Err(AdminError::Forbidden)
    );
    assert_eq!(
        client.go_live(&theirs, &app.id).await,
        Err(AdminError::Forbidden)
    );
    assert_eq!(
        client.delete_app(&theirs, &app.id).await,
        Err(AdminError::Forbidden)
    );
    assert_eq!(client.list_apps(&mine).await.unwrap(), vec![app]);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_unknown_app_id_is_not_found() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let token = client
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await
        .unwrap();
    assert_eq!(
        client.go_live(&token, "app_nope").await,
        Err(AdminError::NotFound)
    );
    assert_eq!(
        client
            .update_app(&token, "id with spaces&id=x", &AppPatch::default())
            .await,
        Err(AdminError::NotFound)
    );
    assert_eq!(
        client.delete_app(&token, "app_nope").await,
        Err(AdminError::NotFound)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn blank_names_and_non_http_icons_are_refused_naming_the_field() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let token = client
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await
        .unwrap();
    let field = |r: Result<_, AdminError>| match r {
        Err(AdminError::Invalid { field, message }) => {
            assert!(!message.is_empty());
            field
        }
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(
        field(client.create_app(&token, &NewApp::named("   ")).await),
        "name"
    );
    let ftp = NewApp {
        icon_url: Some("ftp://example.com/icon.png".into()),
        ..NewApp::named("Shop")
    };
    assert_eq!(field(client.create_app(&token, &ftp).await), "icon_url");
    let app = client
        .create_app(&token, &NewApp::named("Shop"))
        .await
        .unwrap();
    let blank = AppPatch {
        name: Some(String::new()),
        ..AppPatch::default()
    };
    assert_eq!(
        field(client.update_app(&token, &app.id, &blank).await),
        "name"
    );
    client.go_live(&token, &app.id).await.unwrap();
    let back = AppPatch {
        live: Some(false),
        ..AppPatch::default()
    };
    assert_eq!(
        field(client.update_app(&token, &app.id, &back).await),
        "live"
    );
    assert_eq!(
        client.list_apps(&token).await.unwrap().len(),
        1,
        "nothing else made"
    );
    sandbox.shutdown().await;
}

/// Paths are configurable, and whatever answers them is read as a typed
/// error, never a panic: a path the partner does not serve is not found, a
/// connect-flow route wanting a secret key is "not logged in", an HTML 200
/// is unreadable, and nobody listening is a transport error.
#[tokio::test]
async fn other_paths_reach_other_routes_and_odd_replies_are_typed() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let elsewhere = client.clone().with_paths(AdminPaths {
        login: "/v9/nowhere/login".into(),
        apps: "/v9/nowhere/apps".into(),
    });
    let token = client
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await
        .unwrap();
    assert_eq!(elsewhere.list_apps(&token).await, Err(AdminError::NotFound));

    // A route of the connect flow: it wants a secret key, not a token.
    let listing_as_login = client.clone().with_paths(AdminPaths {
        login: "/v3/institutions".into(),
        apps: "/v3/institutions".into(),
    });
    let refused = listing_as_login.list_apps(&token).await;
    assert!(
        matches!(refused, Err(AdminError::NotAuthenticated(_))),
        "the catalogue wants a secret key: {refused:?}"
    );
    sandbox.shutdown().await;

    // A partner that answers 200 with HTML (a captive portal, a proxy).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let html = axum::Router::new().fallback(|| async { axum::response::Html("<h1>hello</h1>") });
    let server = tokio::spawn(async move { axum::serve(listener, html).await });
    let odd = AdminClient::new(url).unwrap();
    let malformed = odd.list_apps(&token).await;
    assert!(
        matches!(malformed, Err(AdminError::Malformed(_))),
        "{malformed:?}"
    );
    let unreachable = AdminClient::new("http://127.0.0.1:9")
        .unwrap()
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await;
    assert!(
        matches!(unreachable, Err(AdminError::Transport(_))),
        "{unreachable:?}"
    );
    server.abort();
}

/// The sandbox's admin routes answer bad requests in Mono's envelope, as
/// a partner would, never axum's plain text: no token, a body that is not
/// JSON, one too big, an update without `?id=`, another method, a login
/// that is not an object.
#[tokio::test]
async fn the_sandbox_answers_bad_admin_requests_in_its_envelope() {
    let (sandbox, client) = sandbox(SandboxConfig::default()).await;
    let token = client
        .login(PARTNER_EMAIL, &Secret::new(PARTNER_PASSWORD))
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token.token.expose());
    let http = reqwest::Client::new();
    let apps = format!("{}/v1/partners/apps", sandbox.url());
    let check = |r: reqwest::Response, status: u16| async move {
        assert_eq!(r.status().as_u16(), status);
        let body: serde_json::Value = r.json().await.expect("an envelope");
        assert_eq!(body["status"], "failed", "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        body
    };

    let anonymous = check(http.get(&apps).send().await.unwrap(), 401).await;
    assert_eq!(anonymous["data"]["code"], "unauthenticated");

    let not_json = http
        .post(&apps)
        .header("authorization", &bearer)
        .body("{name: shop")
        .send()
        .await
        .unwrap();
    check(not_json, 400).await;

    let huge = http
        .post(&apps)
        .header("authorization", &bearer)
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    check(huge, 413).await;

    let no_id = http
        .patch(&apps)
        .header("authorization", &bearer)
        .body(r#"{"live":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(check(no_id, 400).await["data"]["field"], "id");

    let put = http
        .put(&apps)
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    check(put, 405).await;

    let login_as_text = http
        .post(format!("{}/v1/partners/login", sandbox.url()))
        .body(r#""partner@sandbox.connectflow.dev""#)
        .send()
        .await
        .unwrap();
    check(login_as_text, 400).await;
    assert_eq!(client.list_apps(&token).await.unwrap(), vec![]);
    sandbox.shutdown().await;
}
