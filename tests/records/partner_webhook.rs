//! Mono's webhooks, received over real loopback HTTP on SQLite and
//! PostgreSQL: deliveries posted as Mono documents them (Mono itself cannot
//! run here), their effect read back through Okra's `/v2/` endpoints on the
//! same server.

use crate::kit::{backends, jan, linked, post, record_at, sqlite, Backend, KEY};
use connectflow::records::{
    mono_webhook_router, mono_webhook_router_reauthorising, router, ApiKey, Auth, AuthStore,
    MonoWebhookSecret, Reauthoriser, SqlStore, MAX_WEBHOOK_BODY, MONO_WEBHOOK_PATH,
    MONO_WEBHOOK_SECRET_HEADER,
};
use serde_json::{json, Value};
use std::sync::Arc;

const SECRET: &str = "mono-test-webhook-secret";

/// Okra's routes and Mono's webhook over one store, on a loopback port.
async fn serve(store: Arc<SqlStore>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let secret = MonoWebhookSecret::new(SECRET).unwrap();
    let app = router(store.clone(), ApiKey::new(KEY)).merge(mono_webhook_router(store, secret));
    tokio::spawn(async move {
        connectflow::server::serve(
            listener,
            app,
            connectflow::server::Limits::default(),
            std::future::pending(),
        )
        .await
    });
    format!("http://{addr}")
}

/// POSTs `body` to the webhook with `secret` in Mono's header (none: no
/// header); the status and the JSON answered.
async fn deliver_as(url: &str, secret: Option<&str>, body: impl Into<String>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{url}{MONO_WEBHOOK_PATH}"))
        .header("content-type", "application/json")
        .body(body.into());
    if let Some(secret) = secret {
        request = request.header(MONO_WEBHOOK_SECRET_HEADER, secret);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, json)
}

async fn deliver(url: &str, body: impl Into<String>) -> (u16, Value) {
    deliver_as(url, Some(SECRET), body).await
}

/// Mono's `account_unlinked`, with the account id as its field table
/// documents it (`data.account._id`).
fn unlinked(account: &str) -> String {
    json!({ "event": "mono.events.account_unlinked", "data": { "account": { "_id": account } } })
        .to_string()
}

/// The auth `id` as `/v2/auth/getById` answers it.
async fn auth(url: &str, id: &str) -> Value {
    let (status, body) = post(url, "/v2/auth/getById", &json!({ "id": id }).to_string()).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["auths"][0].clone()
}

/// acc1 linked by customers c1 (bank b1) and c2, acc2 by c1 (bank b2), on
/// Jan 1 2024: the ids of (acc1/c1, acc1/c2, acc2/c1).
async fn seed(backend: &Backend) -> [String; 3] {
    let store = backend.store.as_ref();
    let at = jan(1, 10);
    [
        record_at(store, &linked("r1", "acc1", "c1", "b1"), at)
            .await
            .id,
        record_at(store, &linked("r2", "acc1", "c2", "b1"), at)
            .await
            .id,
        record_at(store, &linked("r3", "acc2", "c1", "b2"), at)
            .await
            .id,
    ]
}

#[tokio::test]
async fn an_account_unlinked_at_mono_reads_unlinked_through_the_auth_api() {
    for backend in backends().await {
        let name = backend.name;
        let [a1c1, a1c2, a2c1] = seed(&backend).await;
        let url = serve(backend.store.clone()).await;
        let before = auth(&url, &a1c1).await;
        assert_eq!(before["validated"], true, "{name}");

        let (status, body) = deliver(&url, unlinked("acc1")).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["status"], "success", "{name}: {body}");
        let mut said: Vec<&str> = body["data"]["unlinked"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        said.sort_unstable();
        let mut want = vec![a1c1.as_str(), a1c2.as_str()];
        want.sort_unstable();
        assert_eq!(said, want, "{name}: every customer's auth of the account");

        // Both customers' auths of acc1 read unlinked, as an operator's
        // unlink leaves them: validated false, last_updated moved on.
        for id in [&a1c1, &a1c2] {
            let now = auth(&url, id).await;
            assert_eq!(now["validated"], false, "{name}: {now}");
            assert_ne!(now["last_updated"], before["last_updated"], "{name}");
            assert_eq!(now["created_at"], before["created_at"], "{name}");
        }
        assert_eq!(auth(&url, &a2c1).await["validated"], true, "{name}");
        // The auths stay listed; the unlinked bank drops out of c1's
        // "banks first" list, the other stays.
        let (_, listed) = post(
            &url,
            "/v2/auth/getByCustomer",
            r#"{"customer": "c1", "page": 1, "limit": 10}"#,
        )
        .await;
        assert_eq!(listed["data"]["pagination"]["totalDocs"], 2, "{name}");
        let banks = backend.store.customer_banks("mono", "c1").await.unwrap();
        let banks: Vec<&str> = banks.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(banks, ["b2"], "{name}");

        // Mono's own sample spells it `data.account.id`: the same effect.
        let sample =
            r#"{"event": "mono.events.account_unlinked", "data": {"account": {"id": "acc2"}}}"#;
        let (status, body) = deliver(&url, sample).await;
        assert_eq!(
            (status, body["data"]["unlinked"].clone()),
            (200, json!([a2c1])),
            "{name}"
        );
        assert_eq!(auth(&url, &a2c1).await["validated"], false, "{name}");
    }
}

#[tokio::test]
async fn a_repeated_delivery_is_a_2xx_no_op_and_a_relinked_account_unlinks_again() {
    for backend in backends().await {
        let name = backend.name;
        let [a1c1, _, _] = seed(&backend).await;
        let url = serve(backend.store.clone()).await;
        let (status, _) = deliver(&url, unlinked("acc1")).await;
        assert_eq!(status, 200, "{name}");
        let first = auth(&url, &a1c1).await;
        // Mono retries: the same delivery again, after the clock moved.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let (status, body) = deliver(&url, unlinked("acc1")).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["data"]["unlinked"], json!([]), "{name}");
        assert_eq!(body["data"]["auths"], 2, "{name}: still known");
        assert_eq!(auth(&url, &a1c1).await, first, "{name}: nothing changed");

        // Linked again later: validated again, and the next unlink counts.
        let again = record_at(
            backend.store.as_ref(),
            &linked("r9", "acc1", "c1", "b1"),
            jan(2, 10),
        )
        .await;
        assert_eq!((again.id.as_str(), again.validated), (a1c1.as_str(), true));
        let (_, body) = deliver(&url, unlinked("acc1")).await;
        assert_eq!(body["data"]["unlinked"], json!([a1c1]), "{name}");
        assert_eq!(auth(&url, &a1c1).await["validated"], false, "{name}");
    }
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_changes_nothing() {
    for backend in backends().await {
        let name = backend.name;
        let [a1c1, _, _] = seed(&backend).await;
        let url = serve(backend.store.clone()).await;
        let before = auth(&url, &a1c1).await;
        let almost = format!("{SECRET}x");
        let short = &SECRET[..SECRET.len() - 1];
        for secret in [
            None,
            Some(""),
            Some("wrong"),
            Some(short),
            Some(&almost),
            Some(KEY),
        ] {
            let (status, body) = deliver_as(&url, secret, unlinked("acc1")).await;
            assert_eq!(status, 401, "{name}: {secret:?}: {body}");
            assert_eq!(
                (body["status"].as_str(), body["data"].is_null()),
                (Some("error"), true),
                "{name}: {body}"
            );
        }
        // The secret as a bearer credential is not Mono's header.
        let response = reqwest::Client::new()
            .post(format!("{url}{MONO_WEBHOOK_PATH}"))
            .bearer_auth(SECRET)
            .body(unlinked("acc1"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{name}");
        assert_eq!(auth(&url, &a1c1).await, before, "{name}: nothing changed");
    }
}

#[tokio::test]
async fn malformed_deliveries_are_4xx_and_change_nothing() {
    for backend in backends().await {
        let name = backend.name;
        let [a1c1, _, _] = seed(&backend).await;
        let url = serve(backend.store.clone()).await;
        let before = auth(&url, &a1c1).await;
        for body in [
            "",
            "not json",
            r#"{"event": "mono.events.account_unlinked", "data": {"account": {"_id": "acc1"}"#,
            "[]",
            r#"{"data": {"account": {"_id": "acc1"}}}"#,
            r#"{"event": 1, "data": {"account": {"_id": "acc1"}}}"#,
            r#"{"event": "mono.events.account_unlinked"}"#,
            r#"{"event": "mono.events.account_unlinked", "data": {"account": {"_id": ""}}}"#,
            r#"{"event": "mono.events.account_unlinked", "data": {"account": {"_id": ["acc1"]}}}"#,
            r#"{"event": "mono.events.reauthorisation_required", "data": {}}"#,
        ] {
            let (status, answer) = deliver(&url, body).await;
            assert_eq!(status, 400, "{name}: {body:?}: {answer}");
            assert_eq!(answer["status"], "error", "{name}: {answer}");
        }
        // Past the bound: refused before it is parsed.
        let padding = "x".repeat(MAX_WEBHOOK_BODY);
        let big = json!({ "event": "mono.events.account_unlinked",
                          "data": { "account": { "_id": "acc1" }, "pad": padding } });
        let (status, answer) = deliver(&url, big.to_string()).await;
        assert_eq!(status, 413, "{name}: {answer}");
        assert_eq!(answer["status"], "error", "{name}: {answer}");
        assert_eq!(auth(&url, &a1c1).await, before, "{name}: nothing changed");
    }
}

#[tokio::test]
async fn other_events_unknown_accounts_and_other_partners_are_2xx_and_change_nothing() {
    for backend in backends().await {
        let name = backend.name;
        let [a1c1, a1c2, a2c1] = seed(&backend).await;
        // A Flinks auth whose LoginId happens to be spelled like acc3.
        let mut flinks = linked("r4", "acc3", "c1", "b3");
        flinks.partner = "flinks".into();
        let flinks = record_at(backend.store.as_ref(), &flinks, jan(1, 10))
            .await
            .id;
        let url = serve(backend.store.clone()).await;
        let ids = [&a1c1, &a1c2, &a2c1, &flinks];
        let mut before = Vec::new();
        for id in ids {
            before.push(auth(&url, id).await);
        }
        for body in [
            // Events the records do not act on, naming a known account.
            json!({ "event": "mono.events.account_connected",
                    "data": { "id": "acc1", "customer": "c1", "meta": { "ref": "r1" } } }),
            json!({ "event": "mono.events.account_updated",
                    "data": { "account": { "_id": "acc1" }, "meta": { "data_status": "AVAILABLE" } } }),
            json!({ "event": "mono.events.account_reauthorized", "data": { "account": { "_id": "acc1" } } }),
            json!({ "event": "mono.events.some_future_event", "data": [1, 2, 3] }),
            // Re-authorisation required: logged; the records keep no such state.
            json!({ "event": "mono.events.reauthorisation_required",
                    "data": { "account": { "_id": "acc1" } }, "unknown": true }),
            // An unlink of an account these records never saw (another
            // app's), and of one only a Flinks auth is spelled like.
            json!({ "event": "mono.events.account_unlinked", "data": { "account": { "_id": "elsewhere" } } }),
            json!({ "event": "mono.events.account_unlinked", "data": { "account": { "_id": "acc3" } } }),
        ] {
            let (status, answer) = deliver(&url, body.to_string()).await;
            assert_eq!(status, 200, "{name}: {body}: {answer}");
            assert_eq!(answer["data"]["unlinked"], json!([]), "{name}: {body}");
        }
        for (id, was) in ids.iter().zip(&before) {
            assert_eq!(&auth(&url, id).await, was, "{name}: {id} unchanged");
        }
    }
}

/// A reauthoriser that records what it is handed (asked of, or withdrawn
/// from), refuses the auths of `unreachable` customers (`Ok(false)`) and
/// fails for `failing` ones.
#[derive(Default)]
struct Asker {
    handed: std::sync::Mutex<Vec<String>>,
    withdrawn: std::sync::Mutex<Vec<String>>,
    unreachable: Vec<String>,
    failing: Vec<String>,
}

impl Asker {
    /// What it answers for `auth`, having noted its customer in `log`.
    fn answer(&self, log: &std::sync::Mutex<Vec<String>>, auth: &Auth) -> Result<bool, String> {
        let customer = auth
            .customer
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default();
        log.lock().unwrap().push(customer.clone());
        if self.failing.contains(&customer) {
            return Err("down".into());
        }
        Ok(!self.unreachable.contains(&customer))
    }
}

impl Reauthoriser for Asker {
    fn reauthorise<'a>(
        &'a self,
        auth: &'a Auth,
    ) -> connectflow::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move { self.answer(&self.handed, auth) })
    }

    fn withdraw<'a>(
        &'a self,
        auth: &'a Auth,
    ) -> connectflow::store::BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move { self.answer(&self.withdrawn, auth) })
    }
}

/// The webhook over `store`, handing re-authorisations to `asker`: its URL.
async fn serve_asking(store: &Arc<SqlStore>, asker: &Arc<Asker>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let secret = MonoWebhookSecret::new(SECRET).unwrap();
    let asker: Arc<dyn Reauthoriser> = asker.clone();
    let app = mono_webhook_router_reauthorising(Arc::clone(store), secret, asker);
    tokio::spawn(connectflow::server::serve(
        listener,
        app,
        connectflow::server::Limits::default(),
        std::future::pending(),
    ));
    url
}

/// Three customers' auths of one account (`acct-{tag}`), the third
/// unlinked since: their ids, oldest first.
async fn three_auths(store: &Arc<SqlStore>, tag: &str, customers: [&String; 3]) -> Vec<String> {
    let mut ids = Vec::new();
    for (n, customer) in customers.into_iter().enumerate() {
        let link = linked(
            &format!("ref-{tag}{n}"),
            &format!("acct-{tag}"),
            customer,
            &format!("bank-{tag}"),
        );
        ids.push(
            record_at(store.as_ref(), &link, jan(n as u64 + 1, 9))
                .await
                .id,
        );
    }
    store
        .set_validated(&ids[2], false, jan(9, 9))
        .await
        .unwrap();
    ids
}

/// `account_reauthorized` and `account_unlinked` hand every auth of the
/// account, unlinked or not, to the reauthoriser to withdraw what still
/// waits, and list those withdrawn; one that failed makes the delivery a
/// 503 (Mono retries), after every auth was tried. The unlink stands
/// either way.
#[tokio::test]
async fn a_reauthorised_or_unlinked_account_withdraws_from_every_auth_and_a_failure_is_503() {
    let backend = sqlite().await;
    let store = Arc::clone(&backend.store);
    let [reached, elsewhere, gone] =
        ["+254700000011", "+254700000012", "+254700000013"].map(|c| c.to_owned());
    let ids = three_auths(&store, "w", [&reached, &elsewhere, &gone]).await;
    let all = {
        let mut all = vec![reached.clone(), elsewhere.clone(), gone.clone()];
        all.sort();
        all
    };
    for event in [
        "mono.events.account_reauthorized",
        "mono.events.account_unlinked",
    ] {
        let body = json!({ "event": event, "data": { "account": { "_id": "acct-w" } } });
        for failing in [Vec::new(), vec![gone.clone()]] {
            let asker = Arc::new(Asker {
                unreachable: vec![elsewhere.clone()],
                failing: failing.clone(),
                ..Asker::default()
            });
            let url = serve_asking(&store, &asker).await;
            let (status, answer) = deliver(&url, body.to_string()).await;
            let mut withdrawn = asker.withdrawn.lock().unwrap().clone();
            withdrawn.sort();
            assert_eq!(withdrawn, all, "{event}: {answer}");
            assert!(
                asker.handed.lock().unwrap().is_empty(),
                "{event}: nobody asked"
            );
            if failing.is_empty() {
                assert_eq!(status, 200, "{event}: {answer}");
                // The reachable ones, the unlinked one among them.
                let mut got: Vec<String> =
                    serde_json::from_value(answer["data"]["withdrawn"].clone()).unwrap();
                got.sort();
                let mut want = vec![ids[0].clone(), ids[2].clone()];
                want.sort();
                assert_eq!(got, want, "{event}: {answer}");
            } else {
                assert_eq!(status, 503, "{event}: {answer}");
                assert_eq!(answer["status"], "error", "{event}: {answer}");
            }
        }
    }
    // The unlink stood, 503 or not: every auth is unlinked.
    for id in &ids {
        let auth = store.get(id).await.unwrap().unwrap();
        assert!(!auth.validated, "{id}");
    }
}

/// `reauthorisation_required` hands every validated auth of the account
/// to the reauthoriser, never an unlinked one, and lists those it asked;
/// one it could not ask makes the delivery a 503 (Mono retries), after
/// every auth was tried.
#[tokio::test]
async fn a_reauthorisation_is_asked_of_every_validated_auth_and_a_failure_is_503() {
    let backend = sqlite().await;
    let store = Arc::clone(&backend.store);
    let [reached, elsewhere, gone] =
        ["+254700000001", "+254700000002", "+254700000003"].map(|c| c.to_owned());
    let ids = three_auths(&store, "r", [&reached, &elsewhere, &gone]).await;
    let body = json!({
        "event": "mono.events.reauthorisation_required",
        "data": { "account": { "_id": "acct-r" } },
    })
    .to_string();

    for failing in [Vec::new(), vec![reached.clone()]] {
        let asker = Arc::new(Asker {
            unreachable: vec![elsewhere.clone()],
            failing: failing.clone(),
            ..Asker::default()
        });
        let url = serve_asking(&store, &asker).await;
        let (status, answer) = deliver(&url, body.clone()).await;
        let mut handed = asker.handed.lock().unwrap().clone();
        handed.sort();
        assert_eq!(handed, [reached.clone(), elsewhere.clone()], "{answer}");
        if failing.is_empty() {
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["data"]["auths"], 3, "{answer}");
            assert_eq!(answer["data"]["asked"], json!([ids[0]]), "{answer}");
        } else {
            assert_eq!(status, 503, "{answer}");
            assert_eq!(answer["status"], "error", "{answer}");
        }
    }
}

#[tokio::test]
async fn a_records_database_that_fails_is_503_so_mono_retries() {
    let backend = sqlite().await;
    let url = serve(backend.store.clone()).await;
    backend.store.close().await;
    let (status, body) = deliver(&url, unlinked("acc1")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "error", "{body}");
}

/// The real `connectflow serve`: the route is there with the secret, and
/// absent without it.
#[cfg(feature = "cli")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mounts_the_mono_webhook_only_with_its_secret() {
    use crate::process::{connectflow, output, Process};
    let help = output(&mut connectflow(&["serve", "--help"]), "");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--mono-webhook-secret") && help.contains("not mounted"),
        "{help}"
    );
    for backend in backends().await {
        let name = backend.name;
        let [a1c1, a1c2, a2c1] = seed(&backend).await;
        let start = |secret: Option<&str>| {
            let mut command = connectflow(&["serve", "--addr", "127.0.0.1:0"]);
            command
                .args(["--records", &backend.location])
                .env_remove("MONO_SEC_KEY")
                .env_remove("MONO_WEBHOOK_SECRET")
                .env("CONNECTFLOW_API_KEY", KEY)
                .env("CONNECTFLOW_GATEWAY_TOKEN", "webhook-test-gateway-token");
            if let Some(secret) = secret {
                command.env("MONO_WEBHOOK_SECRET", secret);
            }
            Process::start(&mut command)
        };

        let without = start(None);
        let (status, _) = deliver_status(&without.url, unlinked("acc1")).await;
        assert_eq!(status, 404, "{name}: not mounted without a secret");
        assert_eq!(auth(&without.url, &a1c1).await["validated"], true);
        drop(without);

        let with = start(Some(SECRET));
        let (status, body) = deliver_as(&with.url, Some("wrong"), unlinked("acc1")).await;
        assert_eq!(status, 401, "{name}: {body}");
        let (status, body) = deliver(&with.url, unlinked("acc1")).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["data"]["unlinked"].as_array().map(Vec::len), Some(2));
        for (id, validated) in [(&a1c1, false), (&a1c2, false), (&a2c1, true)] {
            let now = auth(&with.url, id).await;
            assert_eq!(now["validated"], validated, "{name}: {now}");
        }
    }

    // A blank secret is refused at startup, not taken as "admit anyone".
    let blank = output(
        connectflow(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--mono-webhook-secret",
            " ",
        ])
        .env_remove("MONO_SEC_KEY"),
        "",
    );
    assert!(!blank.status.success());
    assert!(
        String::from_utf8_lossy(&blank.stderr).contains("blank"),
        "{}",
        String::from_utf8_lossy(&blank.stderr)
    );
}

/// A POST whose answer may not be JSON (axum's bare 404).
#[cfg(feature = "cli")]
async fn deliver_status(url: &str, body: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{url}{MONO_WEBHOOK_PATH}"))
        .header(MONO_WEBHOOK_SECRET_HEADER, SECRET)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}
