//! Who a USSD session's Mono customer is, as `serve` is told: one
//! customer for every session (`--ussd-customer-id`, or a new one's name and
//! email), or the host's directory asked per phone (`--ussd-customer-url`),
//! remembered a while (`--ussd-customer-cache`).

use crate::cli::BoxError;
use connectflow::channel::ussd::{CachedDirectory, CustomerDirectory, HttpDirectory};
use connectflow::dialect::mono::Customer;
use connectflow::form::Secret;
use connectflow::metrics::Metrics;
use connectflow::records::Env;
use std::sync::Arc;
use std::time::Duration;

/// `serve`'s arguments for the customer of USSD sessions.
#[derive(clap::Args)]
pub(crate) struct CustomerArgs {
    /// The Mono customer of sessions whose flow names none (a USSD person,
    /// known only by a phone number; a link token names its own): an
    /// existing Mono customer's id. Required with a live Mono key, unless
    /// --ussd-customer-name and --ussd-customer-email name a new one.
    #[arg(long, value_name = "ID", conflicts_with_all = ["ussd_customer_name", "ussd_customer_email"])]
    ussd_customer_id: Option<String>,
    /// A new Mono customer's name for those sessions, with --ussd-customer-email.
    #[arg(long, value_name = "NAME", requires = "ussd_customer_email")]
    ussd_customer_name: Option<String>,
    /// A new Mono customer's email for those sessions, with --ussd-customer-name.
    #[arg(long, value_name = "EMAIL", requires = "ussd_customer_name")]
    ussd_customer_email: Option<String>,
    /// Ask the host who each phone is instead: once per new USSD session,
    /// `POST URL {"type":"customer.lookup","phone","partner"}` signed with CONNECTFLOW_WEBHOOK_SECRET
    /// as webhooks are; 200 `{"id"}` or `{"name","email"}` names the Mono
    /// customer, 404 (optionally `{"message"}`) ends the dial as not
    /// registered.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with_all = ["ussd_customer_id", "ussd_customer_name", "ussd_customer_email"]
    )]
    ussd_customer_url: Option<String>,
    /// Seconds to wait for --ussd-customer-url (a hop's reply budget bounds
    /// it too).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 3,
        value_parser = clap::value_parser!(u64).range(1..=60),
        requires = "ussd_customer_url"
    )]
    ussd_customer_timeout: u64,
    /// Seconds a phone's customer from --ussd-customer-url (an `id`) is
    /// remembered for its new sessions (at most 3600; 0: asked for every
    /// new session). A phone the host does not know, and a new customer's
    /// name and email, are asked about every time.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(0..=3600),
        requires = "ussd_customer_url"
    )]
    ussd_customer_cache: u64,
}

impl CustomerArgs {
    /// The customer of sessions whose flow names none, for `partner` in
    /// `env`; `None` with a directory (each phone's is the host's).
    /// Checked before anything starts: a live Mono account must not get a
    /// made-up customer with an example.com address for every USSD link.
    pub(crate) fn customer(&self, partner: &str, env: Env) -> Result<Option<Customer>, BoxError> {
        Ok(match (
            self.ussd_customer_id.as_deref().map(str::trim),
            &self.ussd_customer_name,
            &self.ussd_customer_email,
        ) {
            (Some(id), _, _) if !id.is_empty() => Some(Customer::existing(id)),
            (None, Some(name), Some(email)) => {
                Some(Customer::new_customer(name.trim(), email.trim()))
            }
            // The host names each phone's: a flow without one (stored before
            // the directory was switched on) is refused, never filed under a
            // shared customer.
            _ if self.ussd_customer_url.is_some() => None,
            _ if partner == "mono" && env == Env::Production => {
                return Err(crate::cli::usage(
                    "with a live Mono key, say which Mono customer USSD sessions are opened for: --ussd-customer-id ID, --ussd-customer-name NAME and --ussd-customer-email EMAIL, or --ussd-customer-url URL to ask your service per phone",
                ))
            }
            _ => Some(Customer::new_customer("USSD Customer", "ussd@example.com")),
        })
    }

    /// Who each phone is, when the host keeps a directory: checked before
    /// anything starts, as the webhook's secret is.
    pub(crate) fn directory(
        &self,
        metrics: &Metrics,
    ) -> Result<Option<Arc<dyn CustomerDirectory>>, BoxError> {
        let Some(url) = &self.ussd_customer_url else {
            return Ok(None);
        };
        let secret = std::env::var("CONNECTFLOW_WEBHOOK_SECRET").map_err(|_| {
            crate::cli::usage(
                "--ussd-customer-url needs CONNECTFLOW_WEBHOOK_SECRET to sign its requests",
            )
        })?;
        let timeout = Duration::from_secs(self.ussd_customer_timeout);
        let directory = HttpDirectory::new(url, Secret::new(secret), timeout)
            .map_err(|e| crate::cli::usage(format!("--ussd-customer-url: {e}")))?
            .with_metrics(metrics);
        let directory: Arc<dyn CustomerDirectory> = Arc::new(directory);
        Ok(Some(match self.ussd_customer_cache {
            0 => directory,
            secs => Arc::new(
                CachedDirectory::new(directory, Duration::from_secs(secs)).with_metrics(metrics),
            ),
        }))
    }
}
