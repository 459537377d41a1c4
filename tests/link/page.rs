//! The reference page's own URLs.

use super::rig::{serve, Setup};
use connectflow::testing::Sandbox;
use reqwest::Url;

/// Finding (review, 2026-12-04): the page loaded its script from
/// `/link/link.js` and called `/link/v1` from the site's root, so behind a
/// proxy serving the app under a path (`--public-url
/// https://x.example/connect`, links at `/connect/link?token=`) the script
/// was a 404 and the page stayed on "Loading...". Both are relative to the
/// page: here they are read from what the server sends, and resolved as a
/// browser would against a prefixed page.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_finds_its_script_and_api_under_a_path_prefix() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let rig = serve(&sandbox.url(), Setup::default()).await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", rig.url);
        async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
    };
    let html = get("/link").await;
    let script = html
        .split("<script type=\"module\" src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a module script");
    let js = get("/link/link.js").await;
    let api = js
        .split("const API = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the API's base");
    let page = Url::parse("https://x.example/connect/link?token=lt_x").unwrap();
    assert_eq!(
        page.join(script).unwrap().as_str(),
        "https://x.example/connect/link/link.js"
    );
    assert_eq!(
        page.join(&format!("{api}/session")).unwrap().as_str(),
        "https://x.example/connect/link/v1/session"
    );
    // And at the root, where the tests' browser opens it, the same routes.
    let root = Url::parse(&format!("{}/link", rig.url)).unwrap();
    assert_eq!(root.join(script).unwrap().path(), "/link/link.js");
}
