//! Run with: `cargo run --example link_host`, then open http://127.0.0.1:3000
//!
//! A minimal host backend for the link API — the part a fintech writes.
//! It holds the API key; the browser only ever holds a link token and, at
//! the end, a public token, which this backend exchanges for the account id.
//!
//! - `GET /` makes a link token (`POST /link/v1/tokens`, with a
//!   `redirect_url` back here) and sends the browser to its `link_url`;
//! - `GET /done?public_token=...` exchanges it (`POST /link/v1/exchange`)
//!   and shows the account id.
//!
//! It talks to the connectflow server at `CONNECTFLOW_URL` with
//! `CONNECTFLOW_API_KEY` (a `connectflow serve` you run); without them it
//! starts one in-process, in front of the embedded sandbox.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use connectflow::channel::link::{self, ApiKey, LinkConfig, LinkService};
use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{Driver, DriverConfig};
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::{MemoryStore, Sealed, Sealer};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const HOST: &str = "127.0.0.1:3000";

#[derive(Clone)]
struct Host {
    connectflow: String,
    api_key: String,
    http: reqwest::Client,
}

impl Host {
    async fn call(&self, path: &str, body: Value) -> Result<Value, String> {
        let response = self
            .http
            .post(format!("{}{path}", self.connectflow))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(body["error"]["message"].to_string())
        }
    }
}

/// Makes a link token for this (made-up) customer and opens the page.
async fn start(State(host): State<Host>) -> Response {
    let request = json!({
        "customer": {"name": "Ada Obi", "email": "ada@example.com"},
        "redirect_url": format!("http://{HOST}/done"),
    });
    match host.call("/link/v1/tokens", request).await {
        Ok(token) => Redirect::to(token["link_url"].as_str().unwrap_or("/")).into_response(),
        Err(e) => Html(format!("<p>Could not start: {e}</p>")).into_response(),
    }
}

/// The page sends the person here with the public token: exchange it.
async fn done(State(host): State<Host>, Query(q): Query<HashMap<String, String>>) -> Html<String> {
    let public_token = q.get("public_token").cloned().unwrap_or_default();
    match host.call("/link/v1/exchange", json!({ "public_token": public_token })).await {
        Ok(account) => Html(format!(
            "<h1>Linked</h1><p>Account id (keep it on your server): <code>{}</code></p><p>Reference {}</p>",
            account["account_id"].as_str().unwrap_or(""),
            account["reference"].as_str().unwrap_or("")
        )),
        Err(e) => Html(format!("<p>Exchange failed: {e}</p>")),
    }
}

/// A connectflow server in this process, in front of the embedded sandbox.
async fn in_process() -> Result<(String, String), Box<dyn std::error::Error>> {
    let sandbox = connectflow::sandbox::Sandbox::start_local().await?;
    let mono = Mono::new(MonoConfig::new(
        connectflow::sandbox::SECRET_KEY,
        Customer::new_customer("Ada Obi", "ada@example.com"),
    ));
    let driver = Driver::new(&sandbox.url(), mono, DriverConfig::default())?;
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let service = Arc::new(SessionService::new(
        vec![driver],
        store,
        ServiceConfig::default(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let key = ApiKey::generate();
    let secret = key.expose().to_owned();
    let config = LinkConfig {
        public_url: url.clone(),
        ..LinkConfig::default()
    };
    let app = link::router(LinkService::new(service, config, key));
    tokio::spawn(async move {
        let _sandbox = sandbox;
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, secret))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (connectflow, api_key) = match (
        std::env::var("CONNECTFLOW_URL"),
        std::env::var("CONNECTFLOW_API_KEY"),
    ) {
        (Ok(url), Ok(key)) => (url, key),
        _ => in_process().await?,
    };
    let host = Host {
        connectflow,
        api_key,
        http: reqwest::Client::new(),
    };
    let app = Router::new()
        .route("/", get(start))
        .route("/done", get(done))
        .with_state(host);
    let listener = tokio::net::TcpListener::bind(HOST).await?;
    println!("open http://{HOST} (log in as user_good / pass_good)");
    axum::serve(listener, app).await?;
    Ok(())
}
