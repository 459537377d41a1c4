//! Which partner API a command talks to, shared by `link` and `serve`:
//! Mono (default) or Flinks, at `--base-url` with its credentials, or the
//! embedded sandbox (started in-process on loopback) with its test ones.

use super::BoxError;
use connectflow::dialect::flinks::Language;
use connectflow::dialect::mono::{Customer, MonoVersion};
use connectflow::dialect::{Flinks, FlinksConfig, Mono, MonoConfig};
use connectflow::driver::{Driver, DriverConfig, Transcript};
use connectflow::records::Env;
use connectflow::sandbox::{Sandbox, FLINKS_CUSTOMER_ID, FLINKS_SECRET, SECRET_KEY};
use connectflow::testing::ReplayPartner;

/// The partner APIs connectflow speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PartnerKind {
    /// Mono's Partners API (Nigeria).
    Mono,
    /// Flinks' Authorize API (Canada).
    Flinks,
}

/// The partner options every command that links shares.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct PartnerArgs {
    /// Which partner API.
    #[arg(long, value_enum, default_value_t = PartnerKind::Mono)]
    partner: PartnerKind,
    /// Partner API base URL (e.g. https://api.withmono.com, or
    /// https://toolbox-api.private.fin.ag). Without it, the embedded sandbox
    /// is started in-process with its test credentials.
    #[arg(long)]
    base_url: Option<String>,
    /// The partner secret, for --base-url: Mono's secret key (else
    /// MONO_SEC_KEY), Flinks' secret for GenerateAuthorizeToken (else
    /// FLINKS_AUTH_KEY; none for an instance without tokens).
    #[arg(long, hide_env_values = true)]
    secret_key: Option<String>,
    /// Flinks customer id (the GUID in every path), for --base-url.
    #[arg(long, env = "FLINKS_CUSTOMER_ID")]
    flinks_customer_id: Option<String>,
    /// Flinks API key, for --base-url: sent as `x-api-key` to the data
    /// endpoints (the poll of a bank that links in the background, the
    /// accounts summary), which refuse a call without it.
    #[arg(long, env = "FLINKS_API_KEY", hide_env_values = true)]
    flinks_api_key: Option<String>,
    /// Flinks: the language of prompts and messages.
    #[arg(long, value_parser = ["en", "fr"], default_value = "en")]
    language: String,
    /// Mono API version.
    #[arg(long, value_parser = ["v1", "v2"], default_value = "v2")]
    mono_version: String,
    /// Mono app id (v1 only).
    #[arg(long)]
    app_id: Option<String>,
}

/// A partner ready to call.
pub(crate) struct Connected {
    /// `mono` or `flinks`, as records and results name it.
    pub(crate) partner: &'static str,
    /// The partner's base URL.
    pub(crate) url: String,
    /// Sandbox or production, for the records.
    pub(crate) env: Env,
    /// The embedded sandbox, kept alive for the command's lifetime.
    pub(crate) sandbox: Option<Sandbox>,
    /// A recorded partner (`link --replay`), kept alive likewise; its
    /// clock is the driver's.
    pub(crate) replay: Option<ReplayPartner>,
    /// Builds the driver; Mono's needs the customer.
    kind: PartnerKind,
    secret: Option<String>,
    args: PartnerArgs,
}

impl PartnerArgs {
    /// True when the command runs against the embedded sandbox.
    pub(crate) fn embedded(&self) -> bool {
        self.base_url.is_none()
    }

    /// The partner's name.
    pub(crate) fn name(&self) -> &'static str {
        match self.partner {
            PartnerKind::Mono => "mono",
            PartnerKind::Flinks => "flinks",
        }
    }

    /// Resolves credentials (flags, then the environment) and starts the
    /// embedded sandbox when there is no base URL.
    pub(crate) async fn connect(&self) -> Result<Connected, BoxError> {
        let env_secret = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (url, secret, sandbox) = match (&self.base_url, self.partner) {
            (Some(url), PartnerKind::Mono) => {
                let key = self
                    .secret_key
                    .clone()
                    .or_else(|| env_secret("MONO_SEC_KEY"))
                    .ok_or("--base-url needs a secret key: --secret-key or MONO_SEC_KEY")?;
                (url.clone(), Some(key), None)
            }
            (Some(url), PartnerKind::Flinks) => {
                if self.flinks_customer_id.is_none() {
                    return Err(
                        "--partner flinks with --base-url needs --flinks-customer-id or FLINKS_CUSTOMER_ID".into(),
                    );
                }
                let secret = self
                    .secret_key
                    .clone()
                    .or_else(|| env_secret("FLINKS_AUTH_KEY"));
                (url.clone(), secret, None)
            }
            (None, kind) => {
                let sandbox = Sandbox::start_local().await?;
                let secret = match kind {
                    PartnerKind::Mono => SECRET_KEY,
                    PartnerKind::Flinks => FLINKS_SECRET,
                };
                (sandbox.url(), Some(secret.to_owned()), Some(sandbox))
            }
        };
        let env = match (&sandbox, self.partner, &secret) {
            (Some(_), _, _) => Env::Sandbox,
            (None, PartnerKind::Mono, Some(key)) => Env::of_key(key),
            // Flinks' toolbox instance is its sandbox.
            (None, PartnerKind::Flinks, _)
                if self
                    .flinks_customer_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(FLINKS_CUSTOMER_ID)) =>
            {
                Env::Sandbox
            }
            _ => Env::Production,
        };
        Ok(Connected {
            partner: self.name(),
            url,
            env,
            sandbox,
            replay: None,
            kind: self.partner,
            secret,
            args: self.clone(),
        })
    }

    /// The partner of a recorded conversation (`link --replay`), served in
    /// process from `transcript`: its partner is the recording's, and the
    /// credentials stand-ins (the recording holds placeholders for them,
    /// which match any value once).
    pub(crate) async fn replaying(&self, transcript: Transcript) -> Result<Connected, BoxError> {
        let kind = match transcript.partner.as_str() {
            "mono" => PartnerKind::Mono,
            "flinks" => PartnerKind::Flinks,
            other => return Err(format!("a recording of {other:?}: not mono or flinks").into()),
        };
        // Flinks asks for a token first only when it has a secret: the
        // recording says which kind of instance it talked to.
        let tokens = transcript
            .exchanges()
            .any(|e| e.path.ends_with("/GenerateAuthorizeToken"));
        let secret = (kind == PartnerKind::Mono || tokens).then(|| "replayed".to_owned());
        let mut args = self.clone();
        args.partner = kind;
        match kind {
            PartnerKind::Flinks => {
                // The customer id is in every recorded path, in clear
                // (`/v3/{customerId}/BankingServices/...`).
                let recorded = transcript
                    .exchanges()
                    .find_map(|e| Some(e.path.strip_prefix("/v3/")?.split('/').next()?.to_owned()))
                    .filter(|id| !id.is_empty());
                if args.flinks_customer_id.is_none() {
                    args.flinks_customer_id =
                        Some(recorded.unwrap_or_else(|| FLINKS_CUSTOMER_ID.to_owned()));
                }
                args.flinks_api_key
                    .get_or_insert_with(|| "replayed".to_owned());
            }
            // A recording of Mono's v1 API replays with v1's paths.
            PartnerKind::Mono if transcript.exchanges().any(|e| e.path.starts_with("/v1/")) => {
                args.mono_version = "v1".to_owned();
            }
            PartnerKind::Mono => {}
        }
        let replay = ReplayPartner::start(transcript).await?;
        Ok(Connected {
            partner: args.name(),
            url: replay.url(),
            env: Env::Sandbox,
            sandbox: None,
            replay: Some(replay),
            kind,
            secret,
            args,
        })
    }
}

impl Connected {
    /// A driver for the partner; `customer` is who Mono links for when a
    /// flow names no one (`None`: each flow must; Flinks does not ask).
    pub(crate) fn driver(
        &self,
        customer: Option<Customer>,
        config: DriverConfig,
    ) -> Result<Driver, BoxError> {
        let driver = match self.kind {
            PartnerKind::Mono => {
                let key = self.secret.clone().unwrap_or_default();
                let mut mono = match customer {
                    Some(customer) => MonoConfig::new(key, customer),
                    None => MonoConfig::per_flow_customer(key),
                };
                if self.args.mono_version == "v1" {
                    mono = mono.version(MonoVersion::V1);
                }
                if let Some(app) = &self.args.app_id {
                    mono = mono.app_id(app.clone());
                }
                Driver::new(&self.url, Mono::new(mono), config)?
            }
            PartnerKind::Flinks => {
                Driver::new(&self.url, Flinks::new(self.flinks_config()), config)?
            }
        };
        // A replay runs on the recording's clock: its sessions' expiry is
        // read against the time they were recorded, whatever their age.
        Ok(match &self.replay {
            Some(replay) => driver.with_timeline(replay.clock()),
            None => driver,
        })
    }

    /// What a replay makes of the run, when it went wrong: the first
    /// request that differed, or recorded exchanges the flow never made.
    pub(crate) fn replay_problem(&self) -> Option<String> {
        let replay = self.replay.as_ref()?;
        if let Some(d) = replay.divergence() {
            return Some(format!("replay diverged at {d}"));
        }
        (replay.answered() < replay.len()).then(|| {
            format!(
                "replay: the flow ended after {} of {} recorded exchanges",
                replay.answered(),
                replay.len()
            )
        })
    }

    /// The Flinks dialect's settings (for calls outside a flow).
    pub(crate) fn flinks_config(&self) -> FlinksConfig {
        let customer = match &self.sandbox {
            Some(_) => FLINKS_CUSTOMER_ID.to_owned(),
            None => self.args.flinks_customer_id.clone().unwrap_or_default(),
        };
        let language = if self.args.language == "fr" {
            Language::Fr
        } else {
            Language::En
        };
        let config =
            FlinksConfig::new(customer, self.secret.clone().map(Into::into)).language(language);
        let api_key = match &self.sandbox {
            Some(_) => Some(connectflow::sandbox::FLINKS_API_KEY),
            None => self
                .args
                .flinks_api_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty()),
        };
        match api_key {
            Some(key) => config.api_key(key),
            None => config,
        }
    }

    /// Stops the embedded sandbox or the replay, if any.
    pub(crate) async fn shutdown(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
        if let Some(replay) = self.replay {
            replay.shutdown().await;
        }
    }
}
