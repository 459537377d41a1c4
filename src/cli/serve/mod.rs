//! `connectflow serve`: every channel on one port (`connectflow ussd` is the
//! same command under its old name).
//!
//! Routes: the USSD gateways (`/ussd`, `/ussd/events`, `/ussd/hubtel`,
//! `/ussd/hubtel-ps`, `/ussd/arkesel`, `/ussd/nalo`, `/ussd/korba`,
//! `/ussd/infobip/{sessionId}/…`, `/ussd/airtel`, `/ussd/dmark`,
//! `/ussd/hollatags`, `/ussd/sendexa`, behind the gateway token), `GET /healthz`, `GET /metrics` (Prometheus
//! text), the host's `POST /ussd/v1/reauth` (behind the API key), the link
//! API and its page (`/link`, `/link/v1/...`, see
//! `link_api.rs`), the auth records' `/v2/` endpoints, and with
//! `MONO_WEBHOOK_SECRET` Mono's webhooks (`POST /partners/mono/webhook`,
//! `records/partner_webhook.rs`). The first stdout line is `listening on
//! http://ADDR` (a contract for scripts), the second the host's API key (for
//! the link API and `/v2/` alike); then the generated gateway token, if any,
//! the callback URL, in sandbox mode a link page ready to open, and the
//! Mono webhook's URL when it is mounted.
//!
//! Two groups of arguments have modules of their own: who a USSD session's
//! customer is (`customer.rs`), and MTN Nigeria's link (`mtn.rs`).

mod customer;
mod mtn;

use super::partner::PartnerArgs;
use super::BoxError;
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::{
    host_router, router as ussd_router, GatewayAuth, RateLimits, UssdConfig, UssdService,
    GATEWAY_TOKEN_ENV,
};
use connectflow::driver::{DriverConfig, RecordDir};
use connectflow::metrics::Metrics;
use connectflow::records::{
    mono_webhook_router_reauthorising, MonoWebhookSecret, Reauthoriser, MONO_WEBHOOK_PATH,
};
use connectflow::server::{serve, shutdown_signal, Limits};
use connectflow::service::{Health, HealthConfig};
use connectflow::service::{ServiceConfig, SessionService};
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
    /// Hubtel Programmable Services: `POST /ussd/hubtel-ps`.
    HubtelPs,
    /// Arkesel: `POST /ussd/arkesel`.
    Arkesel,
    /// Nalo: `POST /ussd/nalo`.
    Nalo,
    /// Korba / Mobiverse: `POST /ussd/korba`.
    Korba,
    /// Infobip: `POST /ussd/infobip/{sessionId}/start` (`/response`, `/end`).
    Infobip,
    /// Airtel (Comviva): `GET /ussd/airtel`.
    Airtel,
    /// DMark (Uganda): `GET /ussd/dmark`.
    Dmark,
    /// HollaTags (Nigeria): `GET /ussd/hollatags`.
    Hollatags,
    /// Sendexa (Ghana): `POST /ussd/sendexa`.
    Sendexa,
}

/// Arguments of `connectflow serve` (and `connectflow ussd`).
#[derive(clap::Args)]
#[command(after_help = "Environment:
  MONO_SEC_KEY                 Mono's secret key, with --base-url
  FLINKS_AUTH_KEY              Flinks' secret (GenerateAuthorizeToken), with
                               --partner flinks --base-url
  FLINKS_CUSTOMER_ID           Flinks' customer id, with --partner flinks --base-url
  CONNECTFLOW_SEAL_KEY(S)      seal key (ring, newest first): 64 hex chars each,
                               make one with: openssl rand -hex 32
                               (required with Redis, the same on every instance)
  CONNECTFLOW_GATEWAY_TOKEN    the token gateways must send (?token= or Bearer);
                               made up and printed when unset
  CONNECTFLOW_WEBHOOK_SECRET   signs webhook deliveries, with --webhook-url
  CONNECTFLOW_API_KEY          the host's key for the link API and the /v2/
                               records endpoints (Bearer); made up and printed
                               when unset
  CONNECTFLOW_RECORDS          the same as --records
  MONO_WEBHOOK_SECRET          the same as --mono-webhook-secret: receive Mono's
                               webhooks at POST /partners/mono/webhook (the
                               route is not mounted when unset)
  AT_API_KEY                   Africa's Talking API key, with --at-sms-username
  CONNECTFLOW_MTN_NG_PASSWORD  MTN Nigeria's account password, with --mtn-ng
  RUST_LOG                     log filter (default warn; info logs each link)")]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The gateway in front (all routes are served; this picks the callback printed).
    #[arg(long, value_enum, default_value = "africastalking")]
    gateway: GatewayArg,
    /// `memory`, or a `redis://` (`rediss://` for TLS) URL shared by every instance.
    #[arg(long, default_value = "memory")]
    store: String,
    /// PEM file of the CA certificates to trust for a `rediss://` store,
    /// instead of the built-in Mozilla roots (a Redis behind a private CA).
    #[arg(long, value_name = "FILE")]
    store_ca: Option<std::path::PathBuf>,
    #[command(flatten)]
    partner: PartnerArgs,
    /// Where to POST linked accounts (signed with CONNECTFLOW_WEBHOOK_SECRET),
    /// from the records' outbox: at least once, retried across restarts.
    #[arg(long)]
    webhook_url: Option<String>,
    /// Seconds one webhook POST may take (a delivery in flight is taken up
    /// again after twice this, if this process dies).
    #[arg(long, default_value_t = 10)]
    webhook_timeout: u64,
    #[command(flatten)]
    records: super::records::RecordsArg,
    /// Receive Mono's webhooks at POST /partners/mono/webhook, admitting
    /// deliveries whose `mono-webhook-secret` header is this (the app's
    /// webhook secret in Mono's dashboard); `mono.events.account_unlinked`
    /// then unlinks the account's auths in --records, and
    /// `mono.events.reauthorisation_required` offers a re-authorisation on
    /// the next dial of each person who linked the account by USSD. Without it the route
    /// is not mounted. Prefer MONO_WEBHOOK_SECRET (a flag shows in `ps`).
    #[arg(
        long,
        env = "MONO_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    mono_webhook_secret: Option<String>,
    // Who a USSD session's Mono customer is: its own arguments and module.
    #[command(flatten)]
    customer: customer::CustomerArgs,
    // MTN Nigeria's link, which serve opens: its own arguments and module.
    #[command(flatten)]
    mtn: mtn::MtnArgs,
    /// Screen budget in GSM-7 characters (at most 182).
    #[arg(long, default_value_t = 160)]
    budget: usize,
    /// Seconds a hop may take before the handset gets "Processing..."
    /// (Sendexa's hops at most 4: it waits only 5 to 10).
    #[arg(long, default_value_t = 10)]
    reply_budget: u64,
    /// Only accept gateway requests from this network (CIDR; repeatable).
    #[arg(long = "gateway-allow", value_name = "CIDR")]
    gateway_allow: Vec<ipnet::IpNet>,
    /// A code this deployment answers (`*384*123#`; repeatable). Arkesel,
    /// Nalo, Airtel and Sendexa send the dialled string but not the code
    /// (Sendexa: not said which): given it,
    /// what a person dials after it (`*384*123*1#`) pre-selects a bank, as on
    /// the gateways that send their code. Without it their first dial shows
    /// the bank list. On a shared code whose gateway names only the shared
    /// part (`*123#` for `*123*100#`), give the channel's own code.
    #[arg(long = "service-code", value_name = "CODE", value_parser = service_code)]
    service_codes: Vec<String>,
    /// USSD sessions one phone may start per minute (0: no limit).
    #[arg(long, default_value_t = RateLimits::default().per_phone_per_minute)]
    phone_limit: u32,
    /// USSD sessions one source address may start per second (0: no limit).
    #[arg(long, default_value_t = RateLimits::default().per_source_per_second)]
    source_limit: u32,
    /// Seconds after which a partner call claimed by an instance that
    /// stopped answering is given up as timed out (never re-sent). Must
    /// exceed the longest call chain (about two minutes by default).
    #[arg(long, default_value_t = ServiceConfig::default().claim_lease.as_secs())]
    claim_lease: u64,
    /// Seconds an unfinished session is kept after its last hop or call:
    /// how long a dropped USSD session is offered again on a re-dial, and
    /// how long a store keeps it. At least --claim-lease, so a call still
    /// in flight never finds its session gone.
    #[arg(long, default_value_t = ServiceConfig::default().session_ttl.as_secs())]
    session_ttl: u64,
    /// Record every flow served (USSD and link API alike) as a transcript
    /// of its own: DIR/<reference>.jsonl, the JSON Lines of `link --record`
    /// with every secret replaced by a placeholder, replayable with
    /// `connectflow replay`. Each call is appended as it is made, whichever
    /// turn or instance makes it. Off by default.
    #[arg(long, value_name = "DIR")]
    record_dir: Option<std::path::PathBuf>,
    // The link API (issue 8): its own arguments and module.
    #[command(flatten)]
    link: super::link_api::LinkApiArgs,
}

/// `--service-code`: refused up front unless it is a USSD code
/// ([`parse_service_code`](connectflow::channel::ussd::input::parse_service_code)).
fn service_code(text: &str) -> Result<String, String> {
    connectflow::channel::ussd::input::parse_service_code(text).ok_or_else(|| {
        format!("{text:?} is not a USSD code: digits separated by `*`, like *384*123#")
    })
}

pub(crate) async fn run(args: ServeArgs) -> Result<ExitCode, BoxError> {
    // Instances sharing a store must share a partner too: an embedded
    // sandbox is one per process, and a session resumed on another
    // instance would meet a partner that never saw it.
    if args.store != "memory" && args.partner.embedded() {
        return Err(
            "--store redis needs a partner every instance shares: start one with `connectflow sandbox` and pass its URL as --base-url (or a real partner's)".into(),
        );
    }
    // A session that expired while its partner call was still in flight
    // would lose the call's outcome: the call's write back finds no record.
    if args.session_ttl == 0 {
        return Err(
            "--session-ttl 0 would forget every session at once: give at least 1 second".into(),
        );
    }
    if args.session_ttl < args.claim_lease {
        return Err(format!(
            "--session-ttl {} is shorter than --claim-lease {}: a session must outlive a partner call in flight",
            args.session_ttl, args.claim_lease
        )
        .into());
    }
    // Refused before anything starts: a blank secret would admit anyone.
    // Every part reports to one registry; MTN Nigeria's link is checked
    // (its password read) before anything starts.
    let metrics = Metrics::new();
    let mtn_ng = args.mtn.link(&metrics)?;
    let mono_webhook = match &args.mono_webhook_secret {
        Some(secret) => Some(
            MonoWebhookSecret::new(secret.as_str())
                .ok_or("--mono-webhook-secret (MONO_WEBHOOK_SECRET) is blank")?,
        ),
        None => None,
    };
    let partner = args.partner.connect().await?;
    let ussd_customer = args.customer.customer(partner.partner, partner.env)?;
    // One key for every server-to-server route, read once.
    let (key, key_line) = super::link_api::host_key()?;
    let customers = args.customer.directory(&metrics)?;
    // The auth records: every channel's links, the outbox, /v2/.
    let webhook = args.webhook_url.clone().map(|u| (u, args.webhook_timeout));
    let records =
        super::records::Serving::start(&args.records, partner.env, key.clone(), webhook, &metrics)
            .await?;
    // The Mono customer of a session whose flow names none: a USSD person,
    // known only by a phone number (a link token's customer is its own).
    let driver = partner
        .driver(ussd_customer, DriverConfig::default())?
        .with_observer(metrics.clone());
    let driver = match &args.record_dir {
        Some(dir) => {
            let dir = RecordDir::new(dir, partner.partner)
                .map_err(|e| format!("--record-dir {}: {e}", dir.display()))?;
            driver.with_record_dir(Arc::new(dir))
        }
        None => driver,
    };
    let store = store(&args.store, args.store_ca.as_deref()).await?;

    let service_config = ServiceConfig {
        claim_lease: Duration::from_secs(args.claim_lease),
        session_ttl: Duration::from_secs(args.session_ttl),
        ..ServiceConfig::default()
    };
    let service = SessionService::new(vec![driver], store, service_config)
        .with_delivery(records.delivery.clone())
        .with_health(Health::new(HealthConfig::default()).with_metrics(&metrics));
    let service = Arc::new(service);
    // Links an earlier process (or another instance) could not deliver,
    // parked in the shared store: delivered now and every half minute.
    tokio::spawn(Arc::clone(&service).keep_sweeping(connectflow::service::SWEEP_EVERY));

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    // The link API (issue 8): mounted below with one merge.
    let link = super::link_api::mount(
        &args.link,
        Arc::clone(&service),
        metrics.clone(),
        addr,
        key.clone(),
    );

    let mut config = UssdConfig {
        reply_budget: Duration::from_secs(args.reply_budget),
        limits: RateLimits {
            per_phone_per_minute: args.phone_limit,
            per_source_per_second: args.source_limit,
        },
        handoff: Some(super::link_api::handoff(
            &args.link,
            &link,
            partner.sandbox.is_some(),
        )),
        service_codes: args.service_codes.clone(),
        customers,
        ..UssdConfig::default()
    };
    config.menu.budget = Budget::new(args.budget);
    let ussd = UssdService::new(Arc::clone(&service), config);
    // MTN Nigeria calls no URL: we dial its gateway (below, once nothing
    // else can fail), until shutdown.
    let mtn_ng = mtn_ng.map(|link| (link, Arc::clone(&ussd)));

    let (auth, token_generated) = match std::env::var(GATEWAY_TOKEN_ENV) {
        Ok(token) => (
            GatewayAuth::token(token).ok_or(format!("{GATEWAY_TOKEN_ENV} is empty"))?,
            false,
        ),
        Err(_) => (GatewayAuth::generate(), true),
    };
    let auth = auth.allow(args.gateway_allow.clone());

    let mut app = axum::Router::new()
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
        .merge(host_router(Arc::clone(&ussd), key))
        .merge(ussd_router(Arc::clone(&ussd), auth.clone()))
        .merge(records.routes.clone())
        .merge(link.router);
    let reauthoriser: Arc<dyn Reauthoriser> = ussd;
    if let Some(secret) = mono_webhook.clone() {
        // An account Mono says needs its person again is offered to them on
        // their next dial, as `POST /ussd/v1/reauth` would.
        app = app.merge(mono_webhook_router_reauthorising(
            Arc::clone(&records.store),
            secret,
            reauthoriser,
        ));
    }
    let path = match args.gateway {
        GatewayArg::Africastalking => "/ussd",
        GatewayArg::Hubtel => "/ussd/hubtel",
        GatewayArg::HubtelPs => "/ussd/hubtel-ps",
        GatewayArg::Arkesel => "/ussd/arkesel",
        GatewayArg::Nalo => "/ussd/nalo",
        GatewayArg::Korba => "/ussd/korba",
        GatewayArg::Infobip => "/ussd/infobip",
        GatewayArg::Airtel => "/ussd/airtel",
        GatewayArg::Dmark => "/ussd/dmark",
        GatewayArg::Hollatags => "/ussd/hollatags",
        GatewayArg::Sendexa => "/ussd/sendexa",
    };
    // In sandbox mode, a page ready to open (issue 8).
    let demo = match &partner.sandbox {
        Some(_) => super::link_api::demo_url(&link.link).await,
        None => None,
    };
    // The first line is a contract for scripts; write errors are not fatal.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = writeln!(out, "{key_line}");
    let token = if token_generated {
        auth.expose_token().to_owned()
    } else {
        format!("${GATEWAY_TOKEN_ENV}")
    };
    if let GatewayArg::Infobip = args.gateway {
        // Infobip appends the session and the call to the URL it is given,
        // which a query string would come before: the token goes in a
        // header (auth.rs takes it as a Bearer token or a Basic password).
        let _ = writeln!(
            out,
            "gateway callback: POST http://{addr}{path} (Infobip appends /{{sessionId}}/start, /response, /end); the token as the header Authorization: Bearer {token}, or as an HTTP Basic password"
        );
    } else {
        // Airtel, DMark and HollaTags call by `GET`; every other gateway
        // POSTs.
        let method = match args.gateway {
            GatewayArg::Airtel | GatewayArg::Dmark | GatewayArg::Hollatags => "GET",
            _ => "POST",
        };
        let _ = writeln!(
            out,
            "gateway callback: {method} http://{addr}{path}?token={token}"
        );
    }
    if let Some(url) = &demo {
        let _ = writeln!(out, "open: {url}");
    }
    if mono_webhook.is_some() {
        let _ = writeln!(out, "mono webhook: POST http://{addr}{MONO_WEBHOOK_PATH}");
    }
    if let Some(line) = args.mtn.announce() {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);

    let stop = tokio_util::sync::CancellationToken::new();
    let mtn_ng = mtn_ng.map(|(link, ussd)| {
        let running = tokio::spawn(link.run(ussd, stop.clone()));
        // It ends only at shutdown: anything else is MTN's code answering
        // no one, which must not pass for a healthy server in the log.
        tokio::spawn(async move {
            if let Err(e) = running.await {
                tracing::error!(error = %e, "the MTN Nigeria link stopped; its code answers no one");
            }
        })
    });
    // The MTN link stops taking hops when the HTTP server does, and the
    // link API's event streams end (the drain would wait them out).
    let stopping = stop.clone();
    let streams = Arc::clone(&link.link);
    let signal = async move {
        shutdown_signal().await;
        stopping.cancel();
        streams.end_streams();
    };
    let served = serve(listener, app, Limits::default(), signal).await;
    stop.cancel();
    if let Some(link) = mtn_ng {
        // Its hops in flight are answered (it gives them 5 s).
        let _ = tokio::time::timeout(Duration::from_secs(10), link).await;
    }
    served?;
    // Calls still in flight settle into their sessions before we go.
    if !service.drain(Duration::from_secs(30)).await {
        tracing::warn!("shutdown: partner calls still running after 30 s");
    }
    records.stop().await;
    partner.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The session store: in-process memory (sealed with the configured key, or
/// a random one), or Redis (sealed with the configured key, required: every
/// instance must read what the others wrote).
async fn store(
    spec: &str,
    ca: Option<&std::path::Path>,
) -> Result<Arc<dyn SessionStore>, BoxError> {
    let sealer = Sealer::from_env()?;
    if ca.is_some() && !spec.starts_with("rediss://") {
        return Err("--store-ca is for a rediss:// (TLS) store".into());
    }
    if spec == "memory" {
        // In-process memory never leaves this process, but a PIN typed on
        // one screen and kept for the next is still sealed at rest.
        return Ok(Arc::new(Sealed::new(
            MemoryStore::new(),
            sealer.unwrap_or_else(Sealer::random),
        )));
    }
    if spec.starts_with("redis://") || spec.starts_with("rediss://") {
        let sealer = sealer.ok_or(
            "a shared store needs CONNECTFLOW_SEAL_KEY (64 hex characters, e.g. from `openssl rand -hex 32`), the same on every instance",
        )?;
        return Ok(Arc::new(Sealed::new(
            match ca {
                Some(path) => {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("--store-ca {}: {e}", path.display()))?;
                    RedisStore::connect_with_ca(spec, Some(&pem)).await?
                }
                None => RedisStore::connect(spec).await?,
            },
            sealer,
        )));
    }
    Err(format!("--store must be memory or a redis:// or rediss:// URL, not {spec:?}").into())
}
