//! The USSD server under test, on loopback, in front of a partner.

use connectflow::channel::ussd::{host_router, router, GatewayAuth, UssdConfig, UssdService};
use connectflow::driver::DriverConfig;
use connectflow::records::{
    mono_webhook_router_reauthorising, Env, MonoWebhookSecret, Outbox, OutboxConfig,
    RecordsDelivery, SqlStore,
};
use connectflow::server::ApiKey;
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::{MemoryStore, Sealed, Sealer, SessionStore};
use connectflow::testing::{
    catalogues, flinks_config, flinks_driver, mono_driver, Sandbox, SandboxConfig, StubPartner,
};
use std::sync::Arc;

/// The gateway token every test request carries.
pub(crate) const TOKEN: &str = "test-gateway-token";
/// The host's API key on every rig.
pub(crate) const HOST_KEY: &str = "ck_ussd_test_host";
/// Mono's webhook secret on a rig with records.
pub(crate) const MONO_SECRET: &str = "mono-test-webhook-secret";

/// `path` on the server at `url`, with the gateway token.
pub(crate) fn gateway(url: &str, path: &str) -> String {
    format!("{url}{path}?token={TOKEN}")
}

/// A USSD server in front of its own sandbox; both stop when it drops.
pub(crate) struct Rig {
    pub(crate) url: String,
    pub(crate) sandbox: Sandbox,
}

/// What a test sets up besides the partner.
#[derive(Default)]
pub(crate) struct Setup {
    pub(crate) ussd: UssdConfig,
    pub(crate) service: ServiceConfig,
    /// Gateway source networks allowed (none: any source).
    pub(crate) allow: Vec<ipnet::IpNet>,
    /// The session store (a sealed memory store when `None`).
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    /// Links are recorded here (a returning phone sees its banks first).
    pub(crate) records: Option<Arc<SqlStore>>,
    /// With records: links are also sent here, from the outbox.
    pub(crate) webhook: Option<OutboxConfig>,
    /// Speak Flinks (to the sandbox's Flinks Capital) instead of Mono.
    pub(crate) flinks: bool,
    /// Links are handed to this instead of (or before) any records.
    pub(crate) delivery: Option<Arc<dyn connectflow::service::Delivery>>,
}

/// Serves the USSD channel for the partner at `partner_url`, sessions in a
/// sealed memory store; returns its base URL.
pub(crate) async fn serve(partner_url: &str, setup: Setup) -> String {
    let driver = if setup.flinks {
        flinks_driver(partner_url, flinks_config(), DriverConfig::default())
    } else {
        mono_driver(partner_url, DriverConfig::default())
    };
    let store: Arc<dyn SessionStore> = setup
        .store
        .unwrap_or_else(|| Arc::new(Sealed::new(MemoryStore::new(), Sealer::random())));
    let mut service = SessionService::new(vec![driver], store, setup.service);
    let webhook_records = setup.records.clone();
    if let Some(records) = setup.records {
        let mut delivery = RecordsDelivery::new(records.clone(), Env::Sandbox);
        if let Some(webhook) = setup.webhook {
            let outbox = Outbox::new(records, webhook, None);
            delivery = delivery.with_outbox(outbox.waker());
            // Runs until the test's runtime ends.
            outbox.spawn(tokio_util::sync::CancellationToken::new());
        }
        service = service.with_delivery(Arc::new(delivery));
    }
    if let Some(delivery) = setup.delivery {
        service = service.with_delivery(delivery);
    }
    let service = UssdService::new(Arc::new(service), setup.ussd);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let auth = GatewayAuth::token(TOKEN).unwrap().allow(setup.allow);
    // The host's routes too (re-authorisation requests), with HOST_KEY.
    let host = host_router(Arc::clone(&service), ApiKey::new(HOST_KEY).unwrap());
    let mut app = router(Arc::clone(&service), auth).merge(host);
    // With records, Mono's webhook too (MONO_SECRET): a re-authorisation it
    // asks for is offered on the person's next dial.
    if let Some(records) = webhook_records {
        let secret = MonoWebhookSecret::new(MONO_SECRET).unwrap();
        app = app.merge(mono_webhook_router_reauthorising(records, secret, service));
    }
    tokio::spawn(async move {
        connectflow::server::serve(
            listener,
            app,
            connectflow::server::Limits::default(),
            std::future::pending(),
        )
        .await
        .unwrap()
    });
    format!("http://{addr}")
}

/// The channel served with the default setup for a stub partner whose
/// login form puts a secret between two plain fields
/// (`catalogues::secret_between_fields`): the partner, which stops when
/// dropped, and the channel's base URL.
pub(crate) async fn serve_secret_form() -> (StubPartner, String) {
    let partner = StubPartner::start_with(catalogues::secret_between_fields())
        .await
        .unwrap();
    let url = serve(&partner.url(), Setup::default()).await;
    (partner, url)
}

pub(crate) async fn rig_with(sandbox: SandboxConfig, config: UssdConfig) -> Rig {
    rig_setup(
        sandbox,
        Setup {
            ussd: config,
            ..Setup::default()
        },
    )
    .await
}

pub(crate) async fn rig_setup(sandbox: SandboxConfig, setup: Setup) -> Rig {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), sandbox)
        .await
        .unwrap();
    let url = serve(&sandbox.url(), setup).await;
    Rig { url, sandbox }
}

pub(crate) async fn rig() -> Rig {
    rig_with(SandboxConfig::default(), UssdConfig::default()).await
}
