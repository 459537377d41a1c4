//! Okra's six endpoints over real databases: envelopes, every pagination
//! edge, filters, order, and every kind of bad input answered 4xx in
//! Okra's error envelope.

use crate::kit::{backends, jan, linked, post, post_as, record_at, serve_api, Backend};
use serde_json::Value;

/// Customer c1 linked five accounts on Jan 1..5 2024 (banks b1 on odd
/// days, b2 on even ones); c2 one at b1 on Jan 3. Ids, newest first.
async fn seed(backend: &Backend) -> (Vec<String>, String) {
    let store = backend.store.as_ref();
    let mut c1 = Vec::new();
    for d in 1..=5 {
        let bank = if d % 2 == 1 { "b1" } else { "b2" };
        let link = linked(&format!("r{d}"), &format!("acc{d}"), "c1", bank);
        c1.push(record_at(store, &link, jan(d, 10)).await.id);
    }
    let c2 = record_at(store, &linked("r6", "acc6", "c2", "b1"), jan(3, 12))
        .await
        .id;
    c1.reverse();
    (c1, c2)
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]["auths"]
        .as_array()
        .unwrap_or_else(|| panic!("no auths: {body}"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The pagination block as sent, keys in order.
fn block(body: &Value) -> String {
    // serde_json's Value keeps keys sorted; the order on the wire is
    // checked separately, against the raw text.
    body["data"]["pagination"].to_string()
}

#[tokio::test]
async fn pages_first_middle_last_past_the_end_exact_multiple_and_empty() {
    for backend in backends().await {
        let name = backend.name;
        let (c1, c2) = seed(&backend).await;
        let url = serve_api(backend.store.clone()).await;
        let page = |p: &str| format!(r#"{{"customer": "c1", "page": {p}, "limit": "2"}}"#);

        // First, middle and last page of five by two; numbers and numeric
        // strings alike.
        let (status, first) = post(&url, "/v2/auth/getByCustomer", &page("1")).await;
        assert_eq!(status, 200, "{name}: {first}");
        assert_eq!(first["status"], "success");
        assert_eq!(first["message"], "Auth retrieved succesfully");
        let p = &first["data"]["pagination"];
        assert_eq!(
            (
                p["totalDocs"].as_u64(),
                p["totalPages"].as_u64(),
                p["pagingCounter"].as_u64()
            ),
            (Some(5), Some(3), Some(1)),
            "{name}"
        );
        assert_eq!(
            (p["hasPrevPage"].as_bool(), p["hasNextPage"].as_bool()),
            (Some(false), Some(true))
        );
        assert!(
            p.get("prevPage").is_none() && p["nextPage"] == 2,
            "{name}: {p}"
        );
        let (_, middle) = post(&url, "/v2/auth/getByCustomer", &page("\"2\"")).await;
        let p = &middle["data"]["pagination"];
        assert_eq!(
            (
                p["prevPage"].as_u64(),
                p["nextPage"].as_u64(),
                p["pagingCounter"].as_u64()
            ),
            (Some(1), Some(3), Some(3)),
            "{name}"
        );
        let (_, last) = post(&url, "/v2/auth/getByCustomer", &page("3")).await;
        let p = &last["data"]["pagination"];
        assert!(
            p["hasPrevPage"] == true && p["hasNextPage"] == false && p.get("nextPage").is_none(),
            "{name}: {p}"
        );
        // Concatenated, the pages are every auth of c1 once, newest first.
        let all: Vec<String> = [&first, &middle, &last]
            .iter()
            .flat_map(|b| ids(b))
            .collect();
        assert_eq!(all, c1, "{name}");

        // Past the end: nothing, and the way back.
        let (status, past) = post(&url, "/v2/auth/getByCustomer", &page("4")).await;
        assert_eq!(status, 200);
        assert!(ids(&past).is_empty());
        assert_eq!(past["data"]["pagination"]["prevPage"], 3, "{name}");

        // An exact multiple: b1 has four auths, two pages of two, no third.
        let (_, b1) = post(
            &url,
            "/v2/auth/getByBank",
            r#"{"bank": "b1", "page": 2, "limit": 2}"#,
        )
        .await;
        let p = &b1["data"]["pagination"];
        assert_eq!(
            (p["totalDocs"].as_u64(), p["totalPages"].as_u64()),
            (Some(4), Some(2)),
            "{name}: {p}"
        );
        assert!(p["hasNextPage"] == false && p.get("nextPage").is_none());
        assert_eq!(ids(&b1).len(), 2);

        // A limit larger than the total: one page with everything.
        let (_, b2) = post(&url, "/v2/auth/getByBank", r#"{"bank": "b2", "limit": 50}"#).await;
        assert_eq!(ids(&b2), vec![c1[1].clone(), c1[3].clone()], "{name}");
        assert_eq!(
            block(&b2),
            r#"{"hasNextPage":false,"hasPrevPage":false,"limit":50,"page":1,"pagingCounter":1,"totalDocs":2,"totalPages":1}"#
        );

        // Nobody: an empty list is still one page.
        let (status, none) =
            post(&url, "/v2/auth/getByCustomer", r#"{"customer": "nobody"}"#).await;
        assert_eq!(status, 200);
        assert!(ids(&none).is_empty());
        assert_eq!(none["data"]["pagination"]["totalPages"], 1, "{name}");
        assert_eq!(
            none["data"]["pagination"]["limit"], 10,
            "{name}: the default limit"
        );

        // Every auth, with data.total; the body is optional here.
        let (status, everything) = post(&url, "/v2/products/auths", "").await;
        assert_eq!(status, 200, "{name}: {everything}");
        assert_eq!(everything["data"]["total"], 6);
        assert_eq!(ids(&everything).len(), 6);
        assert_eq!(
            ids(&everything)[2],
            c2,
            "{name}: Jan 3 12:00 sorts before Jan 3 10:00"
        );
    }
}

#[tokio::test]
async fn the_wire_keeps_okras_key_order() {
    let backend = crate::kit::sqlite().await;
    seed(&backend).await;
    let url = serve_api(backend.store.clone()).await;
    let text = reqwest::Client::new()
        .post(format!("{url}/v2/auth/getByCustomer"))
        .bearer_auth(crate::kit::KEY)
        .body(r#"{"customer": "c1", "page": 2, "limit": 2}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with(r#"{"status":"success","message":"Auth retrieved succesfully","data":{"pagination":{"totalDocs":5,"limit":2,"hasPrevPage":true,"hasNextPage":true,"page":2,"totalPages":3,"pagingCounter":3,"prevPage":1,"nextPage":3},"auths":[{"_id":"#), "{text}");
    assert!(
        text.contains(r#""__v":0,"bank":{"_id":"b1","icon":null"#)
            || text.contains(r#""__v":0,"bank":{"_id":"b2","icon":null"#),
        "{text}"
    );
}

#[tokio::test]
async fn dates_are_inclusive_utc_days_and_combine_with_the_customer() {
    for backend in backends().await {
        let name = backend.name;
        let (c1, c2) = seed(&backend).await;
        let url = serve_api(backend.store.clone()).await;
        let (status, days) = post(
            &url,
            "/v2/auth/getByDate",
            r#"{"from": "2024-01-02", "to": "2024-01-03", "page": 1, "limit": 10}"#,
        )
        .await;
        assert_eq!(status, 200, "{name}: {days}");
        assert_eq!(
            ids(&days),
            vec![c2.clone(), c1[2].clone(), c1[3].clone()],
            "{name}"
        );
        let (_, one_day) = post(
            &url,
            "/v2/auth/getByDate",
            r#"{"from": "2024-01-05", "to": "2024-01-05"}"#,
        )
        .await;
        assert_eq!(
            ids(&one_day),
            vec![c1[0].clone()],
            "{name}: from = to is that whole day"
        );
        let (_, mine) = post(
            &url,
            "/v2/auth/getByCustomerDate",
            r#"{"customer": "c1", "from": "2024-01-03", "to": "2024-01-05"}"#,
        )
        .await;
        assert_eq!(ids(&mine), c1[..3].to_vec(), "{name}");
        let (_, before) = post(
            &url,
            "/v2/auth/getByDate",
            r#"{"from": "2023-01-01", "to": "2023-12-31"}"#,
        )
        .await;
        assert!(ids(&before).is_empty());
    }
}

#[tokio::test]
async fn get_by_id_finds_one_auth_and_an_unknown_id_is_a_404() {
    for backend in backends().await {
        let name = backend.name;
        let (c1, _) = seed(&backend).await;
        let url = serve_api(backend.store.clone()).await;
        let (status, found) = post(
            &url,
            "/v2/auth/getById",
            &format!(r#"{{"id": "{}"}}"#, c1[0]),
        )
        .await;
        assert_eq!(status, 200, "{name}: {found}");
        let auth = &found["data"]["auths"][0];
        assert_eq!(
            (auth["id"].as_str(), auth["_id"].as_str()),
            (Some(c1[0].as_str()), Some(c1[0].as_str()))
        );
        assert_eq!(auth["customer"]["_id"], "c1");
        assert_eq!(auth["bank"]["name"], "Bank b1");
        assert_eq!(auth["env"], "production-sandbox");
        assert_eq!(auth["validated"], true);
        assert_eq!(auth["created_at"], "2024-01-05T10:00:00.000Z");
        assert_eq!(found["data"]["pagination"]["totalDocs"], 1);
        let (status, missing) = post(
            &url,
            "/v2/auth/getById",
            r#"{"id": "65a0000000000000000000ff"}"#,
        )
        .await;
        assert_eq!(status, 404, "{name}");
        assert_eq!(missing["status"], "error");
        assert!(missing["message"]
            .as_str()
            .unwrap()
            .contains("65a0000000000000000000ff"));
        assert!(missing["data"].is_null());
    }
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_clear_message_never_a_500() {
    let backend = crate::kit::sqlite().await;
    seed(&backend).await;
    let url = serve_api(backend.store.clone()).await;
    let cases: [(&str, &str, u16, &str); 13] = [
        (
            "/v2/auth/getByCustomer",
            r#"{"customer": "c1", "page": 0}"#,
            400,
            "page must be 1 or more",
        ),
        (
            "/v2/auth/getByCustomer",
            r#"{"customer": "c1", "limit": "ten"}"#,
            400,
            "limit must be a whole number",
        ),
        (
            "/v2/auth/getByCustomer",
            r#"{"customer": "c1", "limit": 2.5}"#,
            400,
            "limit must be a whole number",
        ),
        (
            "/v2/auth/getByCustomer",
            r#"{"page": 1}"#,
            400,
            "customer is required",
        ),
        (
            "/v2/auth/getByBank",
            r#"{"bank": ""}"#,
            400,
            "bank is required",
        ),
        (
            "/v2/auth/getByDate",
            r#"{"from": "2024-13-01", "to": "2024-12-31"}"#,
            400,
            "from must be a date like",
        ),
        (
            "/v2/auth/getByDate",
            r#"{"from": "2024-02-01", "to": "2024-01-01"}"#,
            400,
            "to (2024-01-01) is before from (2024-02-01)",
        ),
        (
            "/v2/auth/getByCustomerDate",
            r#"{"customer": "c1", "from": "2024-01-01"}"#,
            400,
            "to is required",
        ),
        ("/v2/auth/getById", "", 400, "JSON object"),
        ("/v2/auth/getById", "[1, 2]", 400, "JSON object"),
        ("/v2/products/auths", "{not json", 400, "not valid JSON"),
        (
            "/v2/products/auths",
            r#"{"page": "-1"}"#,
            400,
            "page must be a whole number",
        ),
        (
            "/v2/auth/getById",
            r#"{"id": {"$ne": null}}"#,
            400,
            "id is required",
        ),
    ];
    for (path, body, want, message) in cases {
        let (status, answer) = post(&url, path, body).await;
        assert_eq!(status, want, "{path} {body}: {answer}");
        assert_eq!(answer["status"], "error", "{path} {body}");
        assert!(
            answer["message"].as_str().unwrap().contains(message),
            "{path} {body}: {answer}"
        );
        assert!(answer["data"].is_null());
    }
    for key in [None, Some("wrong-key")] {
        let (status, answer) = post_as(&url, "/v2/products/auths", "{}", key).await;
        assert_eq!(status, 401, "{key:?}");
        assert!(
            answer["message"].as_str().unwrap().contains("API key"),
            "{answer}"
        );
    }
}

/// Finding: an id with a NUL (`"a\u0000b"`) went to the database, where
/// PostgreSQL refuses it (SQLSTATE 22021) and the API answered 503 "try
/// again", forever. On every backend it is now a 400 naming the field, as
/// is an id too long to be one.
#[tokio::test]
async fn an_id_with_a_nul_or_too_long_is_a_400_not_a_503() {
    let long = "x".repeat(257);
    for backend in backends().await {
        let name = backend.name;
        seed(&backend).await;
        let url = serve_api(backend.store.clone()).await;
        let cases = [
            ("/v2/auth/getById", r#"{"id": "a\u0000b"}"#.to_owned(), "id"),
            (
                "/v2/auth/getByCustomer",
                r#"{"customer": "a\u0000b"}"#.to_owned(),
                "customer",
            ),
            (
                "/v2/auth/getByBank",
                r#"{"bank": "a\u0000b"}"#.to_owned(),
                "bank",
            ),
            (
                "/v2/auth/getByCustomerDate",
                r#"{"customer": "a\u0000b", "from": "2024-01-01", "to": "2024-01-31"}"#.to_owned(),
                "customer",
            ),
            (
                "/v2/auth/getByCustomer",
                format!(r#"{{"customer": "{long}"}}"#),
                "customer",
            ),
        ];
        for (path, body, field) in cases {
            let (status, answer) = post(&url, path, &body).await;
            assert_eq!(status, 400, "{name} {path}: {answer}");
            assert_eq!(answer["status"], "error", "{name} {path}");
            assert_eq!(
                answer["message"],
                format!("{field} must be 1 to 256 printable characters (no control characters)"),
                "{name} {path}"
            );
        }
        // The customer's own id still finds their links.
        let (status, found) = post(&url, "/v2/auth/getByCustomer", r#"{"customer": "c1"}"#).await;
        assert_eq!((status, ids(&found).len()), (200, 5), "{name}: {found}");
    }
}

#[tokio::test]
async fn equal_creation_times_are_ordered_by_id_so_pages_never_repeat() {
    for backend in backends().await {
        let store = backend.store.as_ref();
        let mut made = Vec::new();
        for i in 0..5 {
            let link = linked(&format!("t{i}"), &format!("tie{i}"), "tie", "b1");
            made.push(record_at(store, &link, jan(7, 9)).await.id);
        }
        made.sort();
        made.reverse();
        let url = serve_api(backend.store.clone()).await;
        let mut seen = Vec::new();
        for page in 1..=5 {
            let (_, body) = post(
                &url,
                "/v2/auth/getByCustomer",
                &format!(r#"{{"customer": "tie", "page": {page}, "limit": 1}}"#),
            )
            .await;
            seen.extend(ids(&body));
        }
        assert_eq!(seen, made, "{}", backend.name);
    }
}

#[tokio::test]
async fn without_an_api_key_configured_every_request_is_refused() {
    let backend = crate::kit::sqlite().await;
    seed(&backend).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = connectflow::records::router(backend.store.clone(), None);
    tokio::spawn(async move { axum::serve(listener, app).await });
    for key in [None, Some(""), Some(crate::kit::KEY)] {
        let (status, answer) = post_as(&url, "/v2/products/auths", "{}", key).await;
        assert_eq!(status, 401, "{key:?}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("CONNECTFLOW_API_KEY"),
            "{answer}"
        );
    }
}

/// Finding (review, 2026-12-06): a wrong method got axum's empty 405 and an
/// unknown path under `/v2` the app's plain 404, where every other problem
/// is Okra's `{status: "error", message, data: null}`.
#[tokio::test]
async fn a_wrong_method_or_an_unknown_route_is_answered_in_the_envelope() {
    let backend = crate::kit::sqlite().await;
    let url = serve_api(backend.store.clone()).await;
    let client = reqwest::Client::new();
    for (method, path, want) in [
        (reqwest::Method::GET, "/v2/auth/getById", 405),
        (reqwest::Method::PUT, "/v2/products/auths", 405),
        (reqwest::Method::POST, "/v2/auth/getByNothing", 404),
        (reqwest::Method::POST, "/v2/", 404),
        (reqwest::Method::GET, "/v2", 404),
    ] {
        let response = client
            .request(method.clone(), format!("{url}{path}"))
            .bearer_auth(crate::kit::KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), want, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "error", "{method} {path}: {body}");
        assert!(body["message"].is_string(), "{method} {path}: {body}");
        assert!(body["data"].is_null(), "{method} {path}: {body}");
    }
}
