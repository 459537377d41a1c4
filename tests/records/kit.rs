//! What every records test needs: a fresh store on each backend, links to
//! record, the `/v2/` routes on a loopback server.

use connectflow::flow::InstitutionRef;
use connectflow::records::{router, ApiKey, Auth, AuthStore, Env, Location, NewLink, SqlStore};
use connectflow::service::{Customer, LinkedAccount};
use connectflow::testing::{PostgresServer, TempDir};
use std::sync::Arc;

/// The API key the test servers take.
pub(crate) const KEY: &str = "test-api-key";

/// A fresh, empty store on one backend.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    pub(crate) store: Arc<SqlStore>,
    pub(crate) location: String,
    _dir: Option<TempDir>,
}

/// A fresh store on SQLite, and one on PostgreSQL (a database of its own on
/// the test binary's cluster) when PostgreSQL is installed — in CI it must
/// be.
pub(crate) async fn backends() -> Vec<Backend> {
    let mut all = vec![sqlite().await];
    if let Some(pg) = PostgresServer::shared_or_skip() {
        let url = pg.create_database();
        all.push(Backend {
            name: "postgres",
            store: Arc::new(open(&url).await),
            location: url,
            _dir: None,
        });
    }
    all
}

/// A fresh store on SQLite only (for what does not depend on the database).
pub(crate) async fn sqlite() -> Backend {
    let dir = TempDir::new("records");
    let location = dir.sqlite("records.db");
    Backend {
        name: "sqlite",
        store: Arc::new(open(&location).await),
        location,
        _dir: Some(dir),
    }
}

pub(crate) async fn open(location: &str) -> SqlStore {
    SqlStore::open(&Location::parse(location).unwrap(), None)
        .await
        .unwrap_or_else(|e| panic!("open {location}: {e}"))
}

/// A link of `account` at `bank` for `customer` by the flow `reference`.
pub(crate) fn linked(reference: &str, account: &str, customer: &str, bank: &str) -> LinkedAccount {
    LinkedAccount {
        reference: reference.into(),
        partner: "mono".into(),
        institution: Some(InstitutionRef {
            id: bank.into(),
            name: format!("Bank {bank}"),
        }),
        institution_icon: None,
        auth_method: None,
        account_id: account.into(),
        customer: (!customer.is_empty()).then(|| Customer {
            id: customer.into(),
            name: Some(format!("Customer {customer}")),
            ..Customer::default()
        }),
        phone_number: None,
        channel: "link".into(),
    }
}

/// Records `linked` as made at `at` (ms since the epoch), without a webhook.
pub(crate) async fn record_at(store: &dyn AuthStore, linked: &LinkedAccount, at: u64) -> Auth {
    store
        .link(NewLink {
            linked,
            env: Env::Sandbox,
            at,
            outbox: false,
        })
        .await
        .unwrap()
        .auth
}

/// The `/v2/` routes over `store` on a loopback port; the base URL.
pub(crate) async fn serve_api(store: Arc<SqlStore>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(store, ApiKey::new(KEY));
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

/// POSTs `body` (raw) to `path` with the test key; status and JSON.
pub(crate) async fn post(url: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    post_as(url, path, body, Some(KEY)).await
}

pub(crate) async fn post_as(
    url: &str,
    path: &str,
    body: &str,
    key: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, json)
}

/// Day `d` of January 2024, at `hour`, in ms since the epoch.
pub(crate) fn jan(d: u64, hour: u64) -> u64 {
    const JAN_1_2024: u64 = 1_704_067_200_000;
    JAN_1_2024 + (d - 1) * 86_400_000 + hour * 3_600_000
}
