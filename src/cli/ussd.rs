//! `connectflow ussd`: serve the USSD channel.

use super::BoxError;
use connectflow::channel::ussd::gsm::Budget;
use connectflow::channel::ussd::{router, UssdConfig, UssdService};
use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{Driver, DriverConfig};
use connectflow::service::{ServiceConfig, SessionService, Webhook, WebhookConfig};
use connectflow::store::{MemoryStore, RedisStore, Sealed, Sealer, SessionStore};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

/// Which gateway's wire format the short code is behind.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum GatewayArg {
    /// Africa's Talking: `POST /ussd`, notifications at `POST /ussd/events`.
    Africastalking,
    /// Hubtel: `POST /ussd/hubtel`.
    Hubtel,
}

/// Arguments of `connectflow ussd`.
#[derive(clap::Args)]
pub(crate) struct UssdArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The gateway in front (all routes are served; this picks the one printed).
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
}

pub(crate) async fn run(args: UssdArgs) -> Result<ExitCode, BoxError> {
    let super::Partner {
        url: base_url,
        key,
        sandbox,
    } = super::partner(args.base_url.as_deref(), args.secret_key.as_deref()).await?;
    let mono = Mono::new(MonoConfig::new(
        key,
        Customer::new_customer("USSD Customer", "ussd@example.com"),
    ));
    let driver = Driver::new(&base_url, mono, DriverConfig::default())?;

    let sealer = Sealer::from_env()?;
    let store: Arc<dyn SessionStore> = if args.store == "memory" {
        // In-process memory never leaves this process, but the PIN typed on
        // one screen and kept for the next is still sealed at rest.
        Arc::new(Sealed::new(
            MemoryStore::new(),
            sealer.unwrap_or_else(Sealer::random),
        ))
    } else if args.store.starts_with("redis://") {
        let sealer = sealer.ok_or(
            "a shared store needs CONNECTFLOW_SEAL_KEY (64 hex characters), the same on every instance",
        )?;
        Arc::new(Sealed::new(RedisStore::connect(&args.store).await?, sealer))
    } else {
        return Err(format!(
            "--store must be memory or a redis:// URL, not {:?}",
            args.store
        )
        .into());
    };

    let webhook = match &args.webhook_url {
        None => None,
        Some(url) => {
            let secret = std::env::var("CONNECTFLOW_WEBHOOK_SECRET")
                .map_err(|_| "--webhook-url needs CONNECTFLOW_WEBHOOK_SECRET to sign deliveries")?;
            Some(WebhookConfig::new(url.clone(), secret)?)
        }
    };
    let mut service = SessionService::new(vec![driver], store, ServiceConfig::default());
    if let Some(webhook) = webhook {
        service = service.with_delivery(Arc::new(Webhook::new(webhook)));
    }
    let mut config = UssdConfig {
        reply_budget: std::time::Duration::from_secs(args.reply_budget),
        ..UssdConfig::default()
    };
    config.menu.budget = Budget::new(args.budget);
    let service = UssdService::new(Arc::new(service), config);

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let addr = listener.local_addr()?;
    let path = match args.gateway {
        GatewayArg::Africastalking => "/ussd",
        GatewayArg::Hubtel => "/ussd/hubtel",
    };
    // First line is a contract for scripts; write errors are not fatal.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = writeln!(out, "gateway callback: POST http://{addr}{path}");
    let _ = out.flush();
    drop(out);
    let app = router(Arc::clone(&service));
    connectflow::server::serve(
        listener,
        app,
        connectflow::server::Limits::default(),
        connectflow::server::shutdown_signal(),
    )
    .await?;
    // Calls still in flight settle into their sessions before we go.
    if !service
        .service()
        .drain(std::time::Duration::from_secs(30))
        .await
    {
        tracing::warn!("shutdown: partner calls still running after 30 s");
    }
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}
