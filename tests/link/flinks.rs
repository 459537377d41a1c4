//! The link API in front of Flinks: Flinks Capital's login and its three
//! security questions through the same JSON views and actions as Mono's,
//! the LoginId as the exchanged account id, and Flinks Connect's step names
//! on the event stream (`?events=flinks`).

use super::events::read_stream;
use super::rig::{serve, Setup};
use connectflow::testing::Sandbox;
use serde_json::{json, Value};
use std::time::Duration;

/// What Greatday types into a Flinks Capital form: the login, then each
/// question's documented answer (fields are named by the question).
fn greatday(form: &Value) -> Value {
    let mut values = serde_json::Map::new();
    for field in form["fields"].as_array().unwrap() {
        let name = field["name"].as_str().unwrap();
        let value = match name {
            "username" => "Greatday",
            "password" => "Everyday",
            q if q.contains("city") => "Montreal",
            q if q.contains("country") => "Canada",
            q if q.contains("shape") => "Triangle",
            other => panic!("a question Greatday cannot answer: {other} in {form}"),
        };
        values.insert(name.to_owned(), json!(value));
    }
    Value::Object(values)
}

#[tokio::test(flavor = "multi_thread")]
async fn greatday_links_flinks_capital_through_the_api_and_the_stream_speaks_flinks() {
    greatday_links(false).await;
}

/// The host opted in (`--flinks-redirect-login-id`): a front-end written
/// for the Flinks Connect iframe finds the LoginId where the iframe puts it.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_may_put_the_login_id_in_the_redirect_as_the_iframe_does() {
    greatday_links(true).await;
}

/// Greatday's whole link through the API, with the REDIRECT's URL carrying
/// the LoginId only when `redirect_login_id`.
async fn greatday_links(redirect_login_id: bool) {
    let sandbox = Sandbox::start_local().await.unwrap();
    let mut setup = Setup {
        flinks: true,
        ..Setup::default()
    };
    setup.link.flinks_redirect_login_id = redirect_login_id;
    let rig = serve(&sandbox.url(), setup).await;
    let client = &rig.client;
    let token = client
        .token(json!({
            "customer": {"id": "cust-1"},
            "reference": "ref-flinks-1",
            "redirect_url": "https://host.example/done",
        }))
        .await;
    let stream = tokio::spawn(read_stream(rig.url.clone(), token.clone(), None));
    // The same token's stream, in Flinks Connect's names.
    let flinks_stream = tokio::spawn({
        let url = format!(
            "{}/link/v1/session/events?events=flinks&token={token}",
            rig.url
        );
        async move {
            let response = reqwest::get(url).await.unwrap();
            assert_eq!(response.status(), 200);
            tokio::time::timeout(Duration::from_secs(20), response.text())
                .await
                .expect("the stream ends once the flow has")
                .unwrap()
        }
    });

    let (mut status, mut body) = client.session(&token).await;
    let mut questions = Vec::new();
    let mut public = None;
    for _ in 0..40 {
        assert_eq!(status, 200, "{body}");
        let seq = body["seq"].as_u64().unwrap();
        let view = body["view"].clone();
        let action = match view["type"].as_str().unwrap() {
            "choose_institution" => {
                let ids: Vec<&str> = view["institutions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|i| i["id"].as_str())
                    .collect();
                assert!(ids.contains(&"FlinksCapital"), "{view}");
                json!({"type": "choose_institution", "institution": "FlinksCapital"})
            }
            "form" => {
                if view["fields"][0]["name"] != "username" {
                    questions.push(view["fields"][0]["label"].as_str().unwrap().to_owned());
                }
                json!({"type": "submit", "values": greatday(&view)})
            }
            "working" => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                (status, body) = client.session(&token).await;
                continue;
            }
            "done" => {
                public = view["public_token"].as_str().map(str::to_owned);
                break;
            }
            other => panic!("unexpected view {other}: {view}"),
        };
        (status, body) = client.act(&token, seq, action).await;
    }
    assert_eq!(
        questions,
        [
            "What city were you born in?",
            "What is the best country on earth?",
            "What shape do people like most?",
        ]
    );
    let (status, account) = client.exchange(&public.expect("linked")).await;
    assert_eq!(status, 200, "{account}");
    let login_id = account["account_id"].as_str().unwrap().to_owned();
    assert_eq!(login_id.len(), 36, "a LoginId is a GUID: {login_id}");
    assert_eq!(account["reference"], "ref-flinks-1");

    // Mono's names by default ...
    let mono = stream.await.unwrap();
    assert!(mono.contains("event: SUBMIT_MFA"), "{mono}");
    // ... Flinks Connect's when asked, ending on the redirect with the
    // institution and the tag in its URL, as the iframe's, and the LoginId
    // only if the host said so: by default the front-end never holds it.
    let flinks = flinks_stream.await.unwrap();
    let steps: Vec<&str> = flinks
        .lines()
        .filter_map(|l| l.strip_prefix("event:").map(str::trim))
        .collect();
    for step in [
        "APP_MOUNTED",
        "COMPONENT_LOAD_INSTITUTION_SELECTOR",
        "INSTITUTION_SELECTED",
        "COMPONENT_LOAD_CREDENTIAL",
        "SUBMIT_CREDENTIAL",
        "COMPONENT_LOAD_MFA",
        "SUBMIT_MFA",
        "REDIRECT",
    ] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    assert_eq!(steps.last(), Some(&"REDIRECT"), "{steps:?}");
    let redirect = flinks
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v["step"] == "REDIRECT")
        .unwrap();
    let url = redirect["url"].as_str().unwrap();
    assert!(url.starts_with("https://host.example/done?"), "{url}");
    assert_eq!(
        url.contains(&format!("loginId={login_id}")),
        redirect_login_id,
        "{url}"
    );
    assert_eq!(
        flinks.contains(&login_id) || mono.contains(&login_id),
        redirect_login_id,
        "the LoginId on a stream: {flinks}"
    );
    assert!(url.contains("institution=FlinksCapital"), "{url}");
    assert!(url.contains("tag=ref-flinks-1"), "{url}");
    // Nothing Greatday typed is on either stream.
    for typed in ["Everyday", "Montreal", "Triangle"] {
        assert!(!flinks.contains(typed) && !mono.contains(typed), "{typed}");
    }
    // A client that lost its connection after the last numbered event
    // before the REDIRECT, and resumes from there: it gets the REDIRECT,
    // not a 204 that would stop it for good.
    let ids_before_redirect = flinks
        .split("event: REDIRECT")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("id:"))
        .filter_map(|i| i.trim().parse::<u64>().ok())
        .max()
        .unwrap();
    let events_url = format!(
        "{}/link/v1/session/events?events=flinks&token={token}",
        rig.url
    );
    let (status, resumed) = reconnect(&events_url, ids_before_redirect).await;
    assert_eq!(status, 200);
    assert!(resumed.contains("event: REDIRECT"), "{resumed}");
    // Finding: the flow's last events have no Flinks name and its screens
    // no id, so the id a browser held stayed below the flow's last event
    // and every reconnect got the REDIRECT again until the token expired.
    // Whichever stream it last read to the end, the id it holds now covers
    // everything: reconnecting with it is the 204 that stops
    // `EventSource`, with no second REDIRECT.
    for stream in [&flinks, &resumed] {
        let held = last_id(stream).unwrap_or_else(|| panic!("no id to resume from: {stream}"));
        let (status, again) = reconnect(&events_url, held).await;
        assert_eq!(status, 204, "after {held}: {again}");
        assert!(!again.contains("REDIRECT"), "{again}");
    }
}

/// The last `id:` a stream's text carries: what `EventSource` sends as
/// `Last-Event-ID` when it reconnects.
fn last_id(stream: &str) -> Option<u64> {
    stream
        .lines()
        .filter_map(|l| l.strip_prefix("id:"))
        .filter_map(|i| i.trim().parse::<u64>().ok())
        .next_back()
}

/// An `EventSource` reconnecting to `url` with `Last-Event-ID: last_id`:
/// the status and whatever it was sent.
async fn reconnect(url: &str, last_id: u64) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(url)
        .header("last-event-id", last_id.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = tokio::time::timeout(Duration::from_secs(20), response.text())
        .await
        .expect("a finished flow's stream ends")
        .unwrap();
    (status, text)
}
