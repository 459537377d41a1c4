//! The link API under test: served on loopback through the crate's own
//! server (memory or Redis store), with a client that keeps every body it
//! received so a test can scan them all for secrets.

use connectflow::channel::link::{self, ApiKey, LinkConfig, LinkService};
use connectflow::channel::ussd::{self, GatewayAuth, Handoff, UssdConfig, UssdService, WebHandoff};
use connectflow::driver::DriverConfig;
use connectflow::metrics::Metrics;
use connectflow::notify::{Notifier, NotifyError, Sms};
use connectflow::service::{Clock, ServiceConfig, SessionService};
use connectflow::store::BoxFuture;
use connectflow::store::{MemoryStore, RedisStore, Sealed, Sealer, SessionStore};
use connectflow::testing::{flinks_config, flinks_driver, mono_driver};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The USSD gateway token of every rig.
pub(crate) const GATEWAY_TOKEN: &str = "link-test-gateway-token";

/// A notifier that keeps what it was asked to send, or (once `1` is set)
/// refuses it, as a provider out of credit does.
#[derive(Debug, Default)]
pub(crate) struct Outbox(pub(crate) Mutex<Vec<Sms>>, pub(crate) AtomicBool);

impl Notifier for Outbox {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), NotifyError>> {
        if self.1.load(Ordering::SeqCst) {
            return Box::pin(async { Err(NotifyError::Refused("no credit".into())) });
        }
        self.0.lock().unwrap().push(sms.clone());
        Box::pin(async { Ok(()) })
    }
}

/// The API key every rig's host uses.
pub(crate) const API_KEY: &str = "ck_test_host_key";
pub(crate) const SEAL_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// Where a rig keeps sessions.
pub(crate) enum Store {
    Memory,
    Redis(String),
    /// A store of the test's own (faults put in on purpose).
    Custom(Arc<dyn SessionStore>),
}

/// What a test sets up besides the partner.
pub(crate) struct Setup {
    pub(crate) store: Store,
    pub(crate) link: LinkConfig,
    pub(crate) service: ServiceConfig,
    pub(crate) clock: Option<Arc<dyn Clock>>,
    /// Drive the sandbox's Flinks Capital (Flinks' /Authorize) instead of
    /// its Mono front.
    pub(crate) flinks: bool,
    /// Record links in these auth records (a returning customer's banks
    /// come first).
    pub(crate) records: Option<Arc<connectflow::records::SqlStore>>,
    /// Hand links to this instead.
    pub(crate) delivery: Option<Arc<dyn connectflow::service::Delivery>>,
    /// The server's timeouts and limits.
    pub(crate) limits: connectflow::server::Limits,
    /// Shut the server down when this resolves (never without it).
    pub(crate) shutdown: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            store: Store::Memory,
            link: LinkConfig {
                reply_budget: Duration::from_millis(500),
                poll_interval: Duration::from_millis(20),
                ..LinkConfig::default()
            },
            service: ServiceConfig::default(),
            clock: None,
            flinks: false,
            records: None,
            delivery: None,
            limits: connectflow::server::Limits::default(),
            shutdown: None,
        }
    }
}

/// A link API server for the partner at `partner_url`.
pub(crate) struct Rig {
    pub(crate) url: String,
    /// The SMS the USSD channel sent (hand-off links).
    pub(crate) outbox: Arc<Outbox>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) client: Client,
    /// The server's task: it ends when `serve` returns.
    pub(crate) server: tokio::task::JoinHandle<()>,
}

pub(crate) async fn serve(partner_url: &str, setup: Setup) -> Rig {
    let driver = if setup.flinks {
        flinks_driver(partner_url, flinks_config(), DriverConfig::default())
    } else {
        mono_driver(partner_url, DriverConfig::default())
    };
    let store: Arc<dyn SessionStore> = match &setup.store {
        Store::Memory => Arc::new(Sealed::new(MemoryStore::new(), Sealer::random())),
        Store::Redis(url) => Arc::new(Sealed::new(
            RedisStore::connect(url).await.unwrap(),
            SEAL_KEY.parse::<Sealer>().unwrap(),
        )),
        Store::Custom(store) => Arc::clone(store),
    };
    let mut service = SessionService::new(vec![driver], store, setup.service);
    if let Some(records) = setup.records {
        service = service.with_delivery(Arc::new(connectflow::records::RecordsDelivery::new(
            records,
            connectflow::records::Env::Sandbox,
        )));
    }
    if let Some(delivery) = setup.delivery {
        service = service.with_delivery(delivery);
    }
    if let Some(clock) = setup.clock {
        service = service.with_clock(clock);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = Metrics::new();
    let config = LinkConfig {
        public_url: format!("http://{addr}"),
        ..setup.link
    };
    let service = Arc::new(service);
    let link = LinkService::with_metrics(
        Arc::clone(&service),
        config,
        ApiKey::new(API_KEY).unwrap(),
        Arc::clone(&metrics),
    );
    // The USSD channel on the same service, handing flows to the link API.
    let outbox = Arc::new(Outbox::default());
    let ussd = UssdService::new(
        service,
        UssdConfig {
            handoff: Some(Handoff::new(
                Arc::clone(&link) as Arc<dyn WebHandoff>,
                Arc::clone(&outbox) as Arc<dyn Notifier>,
            )),
            ..UssdConfig::default()
        },
    );
    let app = link::router(Arc::clone(&link)).merge(ussd::router(
        ussd,
        GatewayAuth::token(GATEWAY_TOKEN).unwrap(),
    ));
    let limits = setup.limits;
    // As `connectflow serve` shuts down: the event streams told to end.
    let streams = Arc::clone(&link);
    let shutdown = async move {
        match setup.shutdown {
            Some(signal) => {
                let _ = signal.await;
                streams.end_streams();
            }
            None => std::future::pending().await,
        }
    };
    let server = tokio::spawn(async move {
        connectflow::server::serve(listener, app, limits, shutdown)
            .await
            .unwrap()
    });
    let url = format!("http://{addr}");
    Rig {
        client: Client::new(vec![url.clone()], API_KEY),
        url,
        outbox,
        metrics,
        server,
    }
}

/// A client of one or more instances of the same service (requests go to
/// them in turn), keeping every body it was sent back.
#[derive(Clone)]
pub(crate) struct Client {
    urls: Vec<String>,
    key: String,
    next: Arc<Mutex<usize>>,
    http: reqwest::Client,
    pub(crate) bodies: Arc<Mutex<Vec<String>>>,
}

/// A status and a JSON body.
pub(crate) type Answer = (u16, Value);

impl Client {
    pub(crate) fn new(urls: Vec<String>, key: &str) -> Client {
        Client {
            urls,
            key: key.to_owned(),
            next: Arc::new(Mutex::new(0)),
            http: reqwest::Client::new(),
            bodies: Arc::default(),
        }
    }

    /// The next instance's base URL.
    pub(crate) fn url(&self) -> String {
        let mut next = self.next.lock().unwrap();
        let url = self.urls[*next % self.urls.len()].clone();
        *next += 1;
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        self.bodies.lock().unwrap().push(text.clone());
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text:?}"));
        (status, json)
    }

    pub(crate) async fn post(&self, path: &str, bearer: &str, body: Value) -> Answer {
        let url = format!("{}{path}", self.url());
        self.send(self.http.post(url).bearer_auth(bearer).json(&body))
            .await
    }

    pub(crate) async fn raw_post(&self, path: &str, bearer: &str, body: Vec<u8>) -> Answer {
        let url = format!("{}{path}", self.url());
        let request = self
            .http
            .post(url)
            .bearer_auth(bearer)
            .header("content-type", "application/json")
            .body(body);
        self.send(request).await
    }

    /// `POST /link/v1/tokens` with the API key; the link token.
    pub(crate) async fn token(&self, body: Value) -> String {
        let (status, json) = self.post("/link/v1/tokens", &self.key, body).await;
        assert_eq!(status, 200, "{json}");
        json["link_token"].as_str().unwrap().to_owned()
    }

    /// A token for a new customer.
    pub(crate) async fn new_token(&self) -> String {
        self.token(json!({"customer": {"name": "Ada Obi", "email": "ada@example.com"}}))
            .await
    }

    pub(crate) async fn session(&self, token: &str) -> Answer {
        let url = format!("{}/link/v1/session", self.url());
        self.send(self.http.get(url).bearer_auth(token)).await
    }

    pub(crate) async fn act(&self, token: &str, seq: u64, action: Value) -> Answer {
        self.post(
            "/link/v1/session/actions",
            token,
            json!({"seq": seq, "action": action}),
        )
        .await
    }

    pub(crate) async fn exchange(&self, public_token: &str) -> Answer {
        self.post(
            "/link/v1/exchange",
            &self.key,
            json!({"public_token": public_token}),
        )
        .await
    }

    /// Every body received so far, joined.
    pub(crate) fn all_bodies(&self) -> String {
        self.bodies.lock().unwrap().join("\n")
    }
}
