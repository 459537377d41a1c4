//! Browsers on another origin: the front-end routes answer CORS preflights.

use super::rig::{serve, Setup};
use connectflow::channel::link::LinkConfig;
use connectflow::testing::Sandbox;

/// Finding (review, 2026-12-04): with `--cors-origin`, the preflight a
/// browser sends before every `fetch` with an `Authorization` header was
/// answered `405` without any `Access-Control-Allow-*` header (the
/// method-not-allowed fallback was set after the CORS layer and replaced
/// it), so no cross-origin front-end could call the API. Preflights are
/// answered for the configured origin, and only for it.
#[tokio::test(flavor = "multi_thread")]
async fn a_browser_preflight_from_a_configured_origin_is_allowed() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let setup = Setup {
        link: LinkConfig {
            cors_origins: vec!["https://app.example".into()],
            ..Setup::default().link
        },
        ..Setup::default()
    };
    let rig = serve(&sandbox.url(), setup).await;
    let client = reqwest::Client::new();
    for (path, method) in [
        ("/link/v1/session", "GET"),
        ("/link/v1/session/actions", "POST"),
    ] {
        let preflight = |origin: &'static str| {
            client
                .request(reqwest::Method::OPTIONS, format!("{}{path}", rig.url))
                .header("Origin", origin)
                .header("Access-Control-Request-Method", method)
                .header(
                    "Access-Control-Request-Headers",
                    "authorization,content-type",
                )
                .send()
        };
        let allowed = preflight("https://app.example").await.unwrap();
        assert!(
            allowed.status().is_success(),
            "{path}: {}",
            allowed.status()
        );
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "https://app.example",
            "{path}"
        );
        let other = preflight("https://evil.example").await.unwrap();
        assert!(
            other.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
}
