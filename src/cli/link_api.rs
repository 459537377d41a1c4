//! The link API's part of `connectflow serve`: its arguments, the host's
//! API key, and its routes, mounted by `serve` with one `merge`.

use super::BoxError;
use connectflow::channel::link::{
    self, ApiKey, CustomerJson, LinkConfig, LinkService, TokenRequest,
};
use connectflow::channel::ussd::{Handoff, WebHandoff};
use connectflow::metrics::Metrics;
use connectflow::notify::africastalking::{AtSmsConfig, AtSmsNotifier};
use connectflow::notify::{LogNotifier, Notifier};
use connectflow::service::SessionService;
use std::net::SocketAddr;
use std::sync::Arc;

/// Arguments of the link API.
#[derive(clap::Args)]
pub(crate) struct LinkApiArgs {
    /// The base URL people reach this server at, for link URLs
    /// (default: http://ADDR).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// An origin allowed to call the front-end routes from a browser
    /// (repeatable; `*` for any).
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Put the LoginId in a Flinks flow's `REDIRECT` event, as the Flinks
    /// Connect iframe does, for a front-end written for it (off: the
    /// front-end never holds the durable id; the backend exchanges the
    /// public token for it).
    #[arg(long)]
    flinks_redirect_login_id: bool,
    /// Send USSD → web hand-off links by Africa's Talking SMS as this
    /// application username (with AT_API_KEY); logged instead when absent.
    #[arg(long, value_name = "USERNAME")]
    at_sms_username: Option<String>,
    /// The Africa's Talking API key, with --at-sms-username.
    #[arg(long, env = "AT_API_KEY", hide_env_values = true)]
    at_api_key: Option<String>,
    /// The registered sender id to send from, if any.
    #[arg(long, value_name = "SENDER_ID")]
    at_sms_from: Option<String>,
    /// Africa's Talking's API base URL (the sandbox's, or a stand-in).
    #[arg(long, default_value = connectflow::notify::africastalking::LIVE_URL)]
    at_sms_url: String,
}

/// The mounted link API and what `serve` prints about it.
pub(crate) struct Mounted {
    pub(crate) router: axum::Router,
    pub(crate) link: Arc<LinkService>,
}

/// The host's API key: `CONNECTFLOW_API_KEY`, or made up when unset. Read
/// once by `serve` and given to every server-to-server route (the link API's
/// and the records' `/v2/`), with the line `serve` prints about it (the
/// second stdout line: the key itself only when it was made up).
pub(crate) fn host_key() -> Result<(ApiKey, String), BoxError> {
    match std::env::var(ApiKey::ENV) {
        Ok(value) => Ok((
            ApiKey::new(value).ok_or(format!(
                "{} is empty or shaped like a link token",
                ApiKey::ENV
            ))?,
            format!("api key: ${}", ApiKey::ENV),
        )),
        Err(_) => {
            let key = ApiKey::generate();
            let line = format!("api key: {}", key.expose());
            Ok((key, line))
        }
    }
}

/// Builds the link API on `service` for a server at `addr`, for the host
/// holding `key`.
pub(crate) fn mount(
    args: &LinkApiArgs,
    service: Arc<SessionService>,
    metrics: Arc<Metrics>,
    addr: SocketAddr,
    key: ApiKey,
) -> Mounted {
    let config = LinkConfig {
        public_url: args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
        cors_origins: args.cors_origins.clone(),
        flinks_redirect_login_id: args.flinks_redirect_login_id,
        ..LinkConfig::default()
    };
    let link = LinkService::with_metrics(service, config, key, metrics);
    Mounted {
        router: link::router(Arc::clone(&link)),
        link,
    }
}

/// The USSD → web hand-off through `link`, with links sent by Africa's
/// Talking SMS when configured, else logged (in full only in sandbox mode,
/// where the log is the only way to see them).
pub(crate) fn handoff(args: &LinkApiArgs, link: &Mounted, sandbox: bool) -> Handoff {
    let notifier: Arc<dyn Notifier> = match (&args.at_sms_username, &args.at_api_key) {
        (Some(username), Some(key)) => Arc::new(AtSmsNotifier::new(AtSmsConfig {
            username: username.clone(),
            api_key: key.as_str().into(),
            from: args.at_sms_from.clone(),
            base_url: args.at_sms_url.clone(),
        })),
        _ if sandbox => Arc::new(LogNotifier::revealing()),
        _ => Arc::new(LogNotifier::new()),
    };
    Handoff::new(Arc::clone(&link.link) as Arc<dyn WebHandoff>, notifier)
}

/// In sandbox mode: a link token for a demo customer, as a page URL ready
/// to open.
pub(crate) async fn demo_url(link: &LinkService) -> Option<String> {
    let request = TokenRequest {
        customer: CustomerJson {
            id: None,
            name: Some("Sandbox Customer".into()),
            email: Some("customer@example.com".into()),
        },
        reference: None,
        institution: None,
        auth_method: None,
        account: None,
        redirect_url: None,
        expires_in: None,
    };
    link.issue(request).await.ok().map(|t| t.link_url)
}
