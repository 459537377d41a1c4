//! `connectflow serve`: every channel on one port (`connectflow ussd` is the
//! same command under its old name).
//!
//! Routes: the USSD gateways (`/ussd`, `/ussd/events`, `/ussd/hubtel`,
//! behind the gateway token), `GET /healthz`, `GET /metrics` (Prometheus
//! text), the link API and its page (`/link`, `/link/v1/...`, see
//! `link_api.rs`). The first stdout line is `listening on http://ADDR` (a
//! contract for scripts), the second the link API's key; then the callback
//! URL and, in sandbox mode, a link page ready to open.

use super::BoxError;
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::{
    router as ussd_router, GatewayAuth, RateLimits, UssdConfig, UssdService, GATEWAY_TOKEN_ENV,
};
use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{Driver, DriverConfig};
use connectflow::metrics::Metrics;
use connectflow::server::{serve, shutdown_signal, Limits};
use connectflow::service::{ServiceConfig, SessionService, Webhook, WebhookConfig};
use connectflow::store::{MemoryStore, RedisStore, Sealed, Sealer, SessionStore};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Which gateway's wire format the short code is behind.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum GatewayArg {
    /// Africa's Talking: `POST /ussd`, notifications at `POST /ussd/events`.
    Africastalking,
    /// Hubtel: `POST /ussd/hubtel`.
    Hubtel,
}

/// Arguments of `connectflow serve` (and `connectflow ussd`).
#[derive(clap::Args)]
#[command(after_help = "Environment:
  MONO_SEC_KEY                 the partner secret key, with --base-url
  CONNECTFLOW_SEAL_KEY(S)      seal key (ring, newest first): 64 hex chars each,
                               make one with: openssl rand -hex 32
                               (required with Redis, the same on every instance)
  CONNECTFLOW_GATEWAY_TOKEN    the token gateways must send (?token= or Bearer);
                               made up and printed when unset
  CONNECTFLOW_WEBHOOK_SECRET   signs webhook deliveries, with --webhook-url
  CONNECTFLOW_API_KEY          the host's key for the link API (Bearer);
                               made up and printed when unset")]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The gateway in front (all routes are served; this picks the callback printed).
    #[arg(long, value_enum, default_value = "africastalking")]
    gateway: GatewayArg,
    /// `memory`, or a `redis://` URL shared by every instance.
    #[arg(long, default_value = "memory")]
    store: String,
    /// Partner API base URL; the embedded sandbox when absent.
    #[arg(long)]
    base_url: Option<String>,
    /// Mono secret key, for --base-url.
    #[arg(long, env = "MONO_SEC_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Where to POST linked accounts (signed with CONNECTFLOW_WEBHOOK_SECRET).
    #[arg(long)]
    webhook_url: Option<String>,
    /// Screen budget in GSM-7 characters (at most 182).
    #[arg(long, default_value_t = 160)]
    budget: usize,
    /// Seconds a hop may take before the handset gets "Processing...".
    #[arg(long, default_value_t = 10)]
    reply_budget: u64,
    /// Only accept gateway requests from this network (CIDR; repeatable).
    #[arg(long = "gateway-allow", value_name = "CIDR")]
    gateway_allow: Vec<ipnet::IpNet>,
    /// USSD sessions one phone may start per minute (0: no limit).
    #[arg(long, default_value_t = RateLimits::default().per_phone_per_minute)]
    phone_limit: u32,
    /// USSD sessions one source address may start per second (0: no limit).
    #[arg(long, default_value_t = RateLimits::default().per_source_per_second)]
    source_limit: u32,
    // The link API (issue 8): its own arguments and module.
    #[command(flatten)]
    link: super::link_api::LinkApiArgs,
}

pub(crate) async fn run(args: ServeArgs) -> Result<ExitCode, BoxError> {
    let super::Partner {
        url: base_url,
        key,
        sandbox,
    } = super::partner(args.base_url.as_deref(), args.secret_key.as_deref()).await?;
    let metrics = Metrics::new();
    let mono = Mono::new(MonoConfig::new(
        key,
        Customer::new_customer("USSD Customer", "ussd@example.com"),
    ));
    let driver =
        Driver::new(&base_url, mono, DriverConfig::default())?.with_observer(metrics.clone());
    let store = store(&args.store).await?;

    let mut service = SessionService::new(vec![driver], store, ServiceConfig::default());
    match &args.webhook_url {
        None => tracing::warn!(
            "no --webhook-url: linked accounts are logged (info) but delivered nowhere"
        ),
        Some(url) => {
            let secret = std::env::var("CONNECTFLOW_WEBHOOK_SECRET")
                .map_err(|_| "--webhook-url needs CONNECTFLOW_WEBHOOK_SECRET to sign deliveries")?;
            let webhook = WebhookConfig::new(url.clone(), secret)?;
            service = service.with_delivery(Arc::new(Webhook::new(webhook)));
        }
    }
    let service = Arc::new(service);

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    // The link API (issue 8): mounted below with one merge.
    let link = super::link_api::mount(&args.link, Arc::clone(&service), metrics.clone(), addr)?;

    let mut config = UssdConfig {
        reply_budget: Duration::from_secs(args.reply_budget),
        limits: RateLimits {
            per_phone_per_minute: args.phone_limit,
            per_source_per_second: args.source_limit,
        },
        handoff: Some(super::link_api::handoff(
            &args.link,
            &link,
            sandbox.is_some(),
        )),
        ..UssdConfig::default()
    };
    config.menu.budget = Budget::new(args.budget);
    let ussd = UssdService::new(Arc::clone(&service), config);

    let (auth, token_generated) = match std::env::var(GATEWAY_TOKEN_ENV) {
        Ok(token) => (
            GatewayAuth::token(token).ok_or(format!("{GATEWAY_TOKEN_ENV} is empty"))?,
            false,
        ),
        Err(_) => (GatewayAuth::generate(), true),
    };
    let auth = auth.allow(args.gateway_allow.clone());

    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route(
            "/metrics",
            axum::routing::get({
                let metrics = metrics.clone();
                move || {
                    let metrics = metrics.clone();
                    async move {
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )],
                            metrics.render(),
                        )
                    }
                }
            }),
        )
        .merge(ussd_router(ussd, auth.clone()))
        .merge(link.router);
    let path = match args.gateway {
        GatewayArg::Africastalking => "/ussd",
        GatewayArg::Hubtel => "/ussd/hubtel",
    };
    // In sandbox mode, a page ready to open (issue 8).
    let demo = match &sandbox {
        Some(_) => super::link_api::demo_url(&link.link).await,
        None => None,
    };
    // The first line is a contract for scripts; write errors are not fatal.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = writeln!(out, "{}", link.key_line);
    let token = if token_generated {
        auth.expose_token().to_owned()
    } else {
        format!("${GATEWAY_TOKEN_ENV}")
    };
    let _ = writeln!(
        out,
        "gateway callback: POST http://{addr}{path}?token={token}"
    );
    if let Some(url) = &demo {
        let _ = writeln!(out, "open: {url}");
    }
    let _ = out.flush();
    drop(out);

    serve(listener, app, Limits::default(), shutdown_signal()).await?;
    // Calls still in flight settle into their sessions before we go.
    if !service.drain(Duration::from_secs(30)).await {
        tracing::warn!("shutdown: partner calls still running after 30 s");
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The session store: in-process memory (sealed with the configured key, or
/// a random one), or Redis (sealed with the configured key, required: every
/// instance must read what the others wrote).
async fn store(spec: &str) -> Result<Arc<dyn SessionStore>, BoxError> {
    let sealer = Sealer::from_env()?;
    if spec == "memory" {
        // In-process memory never leaves this process, but a PIN typed on
        // one screen and kept for the next is still sealed at rest.
        return Ok(Arc::new(Sealed::new(
            MemoryStore::new(),
            sealer.unwrap_or_else(Sealer::random),
        )));
    }
    if spec.starts_with("redis://") {
        let sealer = sealer.ok_or(
            "a shared store needs CONNECTFLOW_SEAL_KEY (64 hex characters, e.g. from `openssl rand -hex 32`), the same on every instance",
        )?;
        return Ok(Arc::new(Sealed::new(
            RedisStore::connect(spec).await?,
            sealer,
        )));
    }
    Err(format!("--store must be memory or a redis:// URL, not {spec:?}").into())
}
