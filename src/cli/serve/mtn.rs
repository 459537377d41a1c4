//! MTN Nigeria's link as `serve` opens it (`--mtn-ng HOST:PORT`): MTN calls
//! no URL, so serve dials its gateway and logs in with the account MTN
//! provisions (`MtnNigeriaLink`), beside the HTTP routes.

use crate::cli::BoxError;
use connectflow::channel::ussd::{MtnNigeriaLink, MTN_NG_PASSWORD_ENV};
use connectflow::form::Secret;
use connectflow::metrics::Metrics;
use std::time::Duration;

/// `serve`'s arguments for MTN Nigeria's link.
#[derive(clap::Args)]
pub(crate) struct MtnArgs {
    /// Also serve MTN Nigeria's USSD, which calls no URL: connect to its
    /// gateway at HOST:PORT (XML over TCP), log in with --mtn-ng-user,
    /// --mtn-ng-application-id and the password in
    /// CONNECTFLOW_MTN_NG_PASSWORD, and keep the connection up (made again
    /// when it drops; sessions are kept).
    #[arg(
        long = "mtn-ng",
        value_name = "HOST:PORT",
        value_parser = host_port,
        requires_all = ["mtn_ng_user", "mtn_ng_application_id"]
    )]
    mtn_ng: Option<String>,
    /// The user name MTN Nigeria gave the account (with --mtn-ng).
    #[arg(long, value_name = "NAME", requires = "mtn_ng")]
    mtn_ng_user: Option<String>,
    /// The application id MTN Nigeria gave the account (with --mtn-ng).
    #[arg(long, value_name = "ID", requires = "mtn_ng")]
    mtn_ng_application_id: Option<String>,
    /// Seconds between the MTN link's enquiries (its heartbeat); one
    /// unanswered for as long drops the connection, which is made again.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    mtn_ng_enquire_link: u64,
}

impl MtnArgs {
    /// The link to start, with `--mtn-ng`. Its password is read now:
    /// refused before anything starts, as a login refused later would be
    /// only a line in the log.
    pub(crate) fn link(&self, metrics: &Metrics) -> Result<Option<MtnNigeriaLink>, BoxError> {
        let (Some(addr), Some(user), Some(application)) =
            (&self.mtn_ng, &self.mtn_ng_user, &self.mtn_ng_application_id)
        else {
            return Ok(None);
        };
        let password = std::env::var(MTN_NG_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                crate::cli::usage(format!(
                    "--mtn-ng needs the account's password in {MTN_NG_PASSWORD_ENV}"
                ))
            })?;
        let every = Duration::from_secs(self.mtn_ng_enquire_link);
        Ok(Some(
            MtnNigeriaLink::new(
                addr.as_str(),
                user.as_str(),
                Secret::new(password),
                application.as_str(),
            )
            .enquire_every(every, every)
            .with_metrics(metrics),
        ))
    }

    /// The line `serve` prints about the link, with `--mtn-ng`.
    pub(crate) fn announce(&self) -> Option<String> {
        let (at, user) = (self.mtn_ng.as_ref()?, self.mtn_ng_user.as_ref()?);
        Some(format!("mtn nigeria: connecting to {at} as {user}"))
    }
}

/// `--mtn-ng`: a host (name or address) and a port.
fn host_port(text: &str) -> Result<String, String> {
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(text.to_owned())
        }
        _ => Err(format!("{text:?} is not HOST:PORT, like 10.1.2.3:7000")),
    }
}
