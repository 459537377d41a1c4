//! The OpenAPI document: served, 3.1, generated from the types, and in
//! step with the router (every route it lists is served, every route
//! served is listed, every schema it references exists).

use super::rig::{serve, Setup};
use connectflow::testing::StubPartner;
use serde_json::Value;

/// Every route of the link API, as the router serves it.
const ROUTES: [(&str, &str); 6] = [
    ("post", "/link/v1/tokens"),
    ("post", "/link/v1/exchange"),
    ("get", "/link/v1/session"),
    ("post", "/link/v1/session/actions"),
    ("get", "/link/v1/session/events"),
    ("get", "/link/v1/openapi.json"),
];

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_openapi_3_1_and_matches_the_router() {
    let partner = StubPartner::start().await.unwrap();
    let rig = serve(&partner.url(), Setup::default()).await;
    let response = reqwest::get(format!("{}/link/v1/openapi.json", rig.url))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(
        doc,
        serde_json::to_value(connectflow::channel::link::openapi()).unwrap()
    );
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let paths = doc["paths"].as_object().unwrap();
    let mut listed = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            listed.push((method.clone(), path.clone()));
        }
    }
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);

    // Each listed route is served (answers something other than 404/405).
    let http = reqwest::Client::new();
    for (method, path) in &listed {
        let url = format!("{}{path}", rig.url);
        let request = match method.as_str() {
            "get" => http.get(url),
            _ => http.post(url).body("{}"),
        };
        let status = request.send().await.unwrap().status().as_u16();
        assert!(status != 404 && status != 405, "{method} {path}: {status}");
    }

    // Finding (review, 2026-12-04): a store that is down answers 503 on
    // every route that reads a session or writes one, but only
    // `GET /link/v1/session` said so; and `/exchange` refuses a body over
    // 16 KiB with 413. Each route lists what it may answer.
    for (method, path) in ROUTES.iter().filter(|(_, p)| !p.ends_with("openapi.json")) {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(responses["503"].is_object(), "{method} {path}: {responses}");
        if *method == "post" {
            assert!(responses["413"].is_object(), "{method} {path}: {responses}");
        }
    }

    // Every reference resolves; the two credentials are declared.
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 10);
    for r in found {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{r}");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert_eq!(schemes["link_token"]["scheme"], "bearer");
    // The view's variants are all in the schema.
    let view = doc["components"]["schemas"]["ViewJson"].to_string();
    for t in [
        "working",
        "choose_institution",
        "form",
        "choose_account",
        "linked",
        "done",
        "failed",
        "exited",
    ] {
        assert!(view.contains(&format!("\"{t}\"")), "{t} in {view}");
    }
}
