//! The per-key session cap: live sessions are capped per key, answered with
//! 429, until one finishes or expires.

use crate::app::{creds, start_with, Answer, App, OTHER_KEY};
use connectflow::flow::{AuthMethodKind, Call, CallError};
use connectflow::sandbox::{SandboxConfig, PASSWORD};
use std::time::Duration;

fn create_session() -> Call {
    Call::CreateSession {
        institution: "sandbox-bank".into(),
        auth_method: AuthMethodKind::InternetBanking,
        customer: None,
    }
}

/// Asserts the cap's refusal: 429 in Mono's error envelope (no
/// responseCode: it is not a login refusal), read by the dialect as rate
/// limiting with the wait from `Retry-After`.
fn assert_capped(answer: &Answer) {
    answer.assert_failed(429, "Too many open sessions");
    assert!(answer.body.get("responseCode").is_none(), "{}", answer.body);
    match &answer.reply {
        Err(CallError::RateLimited {
            retry_after_ms: Some(ms),
        }) => assert!(*ms > 0, "{ms}"),
        other => panic!("expected rate limiting with a wait, got {other:?}"),
    }
}

#[tokio::test]
async fn live_sessions_are_capped_per_key_until_one_finishes() {
    let (sandbox, app) = start_with(SandboxConfig {
        max_sessions_per_key: 3,
        ..SandboxConfig::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(
            app.session("sandbox-bank", AuthMethodKind::InternetBanking)
                .await,
        );
    }
    assert_capped(&app.call(&create_session()).await);

    // Another app has its own allowance.
    let other = App::new(&sandbox, OTHER_KEY);
    other
        .session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;

    // The open sessions still work, and linking one frees its slot.
    let (codes, _) = app
        .finish(
            &open[0].id,
            app.login(&open[0].id, creds("user_good", PASSWORD)).await,
            None,
        )
        .await;
    assert_eq!(codes, [99]);
    app.session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_capped(&app.call(&create_session()).await);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_frees_its_slot() {
    let (sandbox, app) = start_with(SandboxConfig {
        max_sessions_per_key: 1,
        session_ttl: Duration::from_millis(150),
        ..SandboxConfig::default()
    })
    .await;
    app.session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    assert_capped(&app.call(&create_session()).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.session("sandbox-bank", AuthMethodKind::InternetBanking)
        .await;
    sandbox.shutdown().await;
}
