//! `--records` (on `link`, `serve`/`ussd` and `records`), what `serve`
//! runs on the records (delivery, outbox sender, `/v2/` routes), and the
//! `connectflow records` command for operators.

use super::BoxError;
use connectflow::metrics::Metrics;
use connectflow::records::export::{export, Format};
use connectflow::records::unlink::{unlink_at_partner, PartnerAccess, Unlinked};
use connectflow::records::{
    router, time, ApiKey, AuthStore, Env, Filter, Location, Outbox, OutboxConfig, OutboxStore,
    PageRequest, Pagination, RecordsDelivery, SqlStore,
};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Where the auth records are kept.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct RecordsArg {
    /// Auth records: sqlite:PATH (created when missing) or a postgres:// URL
    /// [default: sqlite:<data dir>/connectflow/records.db]
    #[arg(
        long = "records",
        env = "CONNECTFLOW_RECORDS",
        hide_env_values = true,
        value_name = "sqlite:PATH|postgres://..."
    )]
    records: Option<String>,
}

impl RecordsArg {
    /// Opens (and migrates) the records at `spec` (`sqlite:PATH`, ...).
    pub(crate) async fn at(spec: &str) -> Result<Arc<SqlStore>, BoxError> {
        RecordsArg {
            records: Some(spec.to_owned()),
        }
        .open()
        .await
    }

    /// Opens (and migrates) the records.
    pub(crate) async fn open(&self) -> Result<Arc<SqlStore>, BoxError> {
        let location = match &self.records {
            Some(spec) => Location::parse(spec)?,
            None => Location::Sqlite(default_file()?),
        };
        let store = SqlStore::open(&location, None)
            .await
            .map_err(|e| format!("opening records at {}: {e}", location.display()))?;
        tracing::info!(records = %location.display(), "auth records open");
        Ok(Arc::new(store))
    }
}

/// `records.db` in the user's data directory (`$XDG_DATA_HOME/connectflow`,
/// `~/.local/share/connectflow` on Linux).
fn default_file() -> Result<std::path::PathBuf, BoxError> {
    let dirs = directories::ProjectDirs::from("", "", "connectflow")
        .ok_or("no home directory for the default records file; pass --records sqlite:PATH")?;
    Ok(dirs.data_dir().join("records.db"))
}

/// What `serve` runs on the records: the delivery every channel's links go
/// through, the `/v2/` routes, and (with a webhook) the outbox sender.
pub(crate) struct Serving {
    pub(crate) delivery: Arc<RecordsDelivery>,
    pub(crate) routes: axum::Router,
    /// The records themselves, for routes mounted only when configured
    /// (Mono's webhook).
    pub(crate) store: Arc<SqlStore>,
    sender: Option<(CancellationToken, tokio::task::JoinHandle<()>)>,
}

impl Serving {
    /// Opens the records and starts the sender, which first drains what a
    /// previous run left. `key` opens the `/v2/` endpoints.
    pub(crate) async fn start(
        records: &RecordsArg,
        env: Env,
        key: ApiKey,
        webhook: Option<(String, u64)>,
        metrics: &Metrics,
    ) -> Result<Serving, BoxError> {
        let store = records.open().await?;
        let mut delivery = RecordsDelivery::new(store.clone(), env);
        let mut sender = None;
        if let Some((url, timeout)) = webhook {
            let secret = std::env::var("CONNECTFLOW_WEBHOOK_SECRET")
                .map_err(|_| "--webhook-url needs CONNECTFLOW_WEBHOOK_SECRET to sign deliveries")?;
            let mut config = OutboxConfig::new(url, secret)?;
            config.timeout = Duration::from_secs(timeout.max(1));
            config.lease = config.timeout * 2;
            let outbox = Outbox::new(store.clone(), config, Some(metrics));
            delivery = delivery.with_outbox(outbox.waker());
            let stop = CancellationToken::new();
            sender = Some((stop.clone(), outbox.spawn(stop)));
        } else {
            tracing::warn!("no --webhook-url: links are recorded but no webhook is sent");
        }
        Ok(Serving {
            delivery: Arc::new(delivery),
            routes: router(store.clone(), Some(key)),
            store,
            sender,
        })
    }

    /// Stops the sender after the pass it is in.
    pub(crate) async fn stop(self) {
        if let Some((stop, task)) = self.sender {
            stop.cancel();
            if tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .is_err()
            {
                tracing::warn!("shutdown: the outbox sender did not stop within 30 s");
            }
        }
    }
}

/// Arguments of `connectflow records`.
#[derive(clap::Args)]
#[command(after_help = "Environment:
  CONNECTFLOW_RECORDS   where the records are (or --records)
  MONO_SEC_KEY          Mono's secret key, for unlink --base-url
  FLINKS_AUTH_KEY       Flinks' secret, for unlink of a Flinks auth (optional)
  FLINKS_CUSTOMER_ID    Flinks' customer id, for unlink of a Flinks auth

Exit status: 0 done, 2 not found or a usage error, 5 the records or the partner unreachable.")]
pub(crate) struct RecordsArgs {
    #[command(subcommand)]
    command: RecordsCommand,
    #[command(flatten)]
    records: RecordsArg,
}

/// Which auths (the `/v2/` endpoints' filters).
#[derive(clap::Args, Clone)]
struct FilterArgs {
    /// Of this customer (the host's id; the phone number on USSD).
    #[arg(long)]
    customer: Option<String>,
    /// At this bank (the partner's institution id).
    #[arg(long)]
    bank: Option<String>,
    /// Created on or after this day (YYYY-MM-DD, UTC).
    #[arg(long)]
    from: Option<String>,
    /// Created on or before this day (YYYY-MM-DD, UTC).
    #[arg(long)]
    to: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> Result<Filter, BoxError> {
        let day = |text: &Option<String>, name: &str| -> Result<Option<u64>, BoxError> {
            text.as_deref()
                .map(|t| {
                    time::parse_day(t).ok_or_else(|| {
                        super::usage(format!("--{name} must be YYYY-MM-DD, not {t:?}"))
                    })
                })
                .transpose()
        };
        let from = day(&self.from, "from")?;
        let until = day(&self.to, "to")?.map(|ms| ms + time::DAY_MS);
        if let (Some(f), Some(u)) = (from, until) {
            if u <= f {
                return Err(super::usage("--to is before --from"));
            }
        }
        Ok(Filter {
            customer: self.customer.clone(),
            bank: self.bank.clone(),
            from,
            until,
        })
    }
}

#[derive(clap::Subcommand)]
enum RecordsCommand {
    /// One page of auths, newest first.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// Page (1-based).
        #[arg(long, default_value_t = 1)]
        page: u64,
        /// Auths per page (at most 100).
        #[arg(long, default_value_t = 10)]
        limit: u64,
        /// Print `{pagination, auths}` as the /v2/ endpoints do.
        #[arg(long)]
        json: bool,
    },
    /// One auth, as JSON.
    Get {
        /// The auth id.
        id: String,
    },
    /// Every matching auth, as CSV or JSON lines, to stdout.
    Export {
        #[command(flatten)]
        filter: FilterArgs,
        /// csv or jsonl.
        #[arg(long, value_parser = ["csv", "jsonl"], default_value = "csv")]
        format: String,
    },
    /// Unlink an account at the partner, then mark its auth not validated.
    Unlink {
        /// The auth id.
        id: String,
        /// The partner's API base URL (to unlink there).
        #[arg(long)]
        base_url: Option<String>,
        /// The partner's secret, with --base-url: Mono's secret key (else
        /// MONO_SEC_KEY), Flinks' secret (else FLINKS_AUTH_KEY).
        #[arg(long, hide_env_values = true)]
        secret_key: Option<String>,
        /// Flinks' customer id, for a Flinks auth.
        #[arg(long, env = "FLINKS_CUSTOMER_ID")]
        flinks_customer_id: Option<String>,
        /// Only mark the auth here (the partner is not told).
        #[arg(long, conflicts_with = "base_url")]
        local: bool,
    },
    /// Dead webhook deliveries back to pending, to be tried again.
    Redeliver,
}

pub(crate) async fn run(args: RecordsArgs) -> Result<ExitCode, BoxError> {
    let store = args.records.open().await?;
    let mut out = std::io::stdout().lock();
    match args.command {
        RecordsCommand::List {
            filter,
            page,
            limit,
            json,
        } => {
            let request = PageRequest::new(page, limit)
                .ok_or_else(|| super::usage("--page and --limit must be 1 or more"))?;
            let found = store.find(&filter.filter()?, request).await?;
            let pagination = Pagination::new(request, found.total);
            if json {
                let value = serde_json::json!({ "pagination": pagination, "auths": found.auths });
                writeln!(out, "{value}")?;
            } else {
                for a in &found.auths {
                    let customer = a.customer.as_ref().map_or("-", |c| c.id.as_str());
                    let state = if a.validated { "validated" } else { "unlinked" };
                    writeln!(
                        out,
                        "{}  {}  {}  {}  {}  {}",
                        a.id,
                        time::iso(a.created_at),
                        state,
                        a.bank.name,
                        customer,
                        a.partner_account_id
                    )?;
                }
                writeln!(
                    out,
                    "page {} of {} ({} auths)",
                    pagination.page,
                    pagination.total_pages(),
                    found.total
                )?;
            }
        }
        RecordsCommand::Get { id } => {
            let Some(auth) = store.get(&id).await? else {
                eprintln!("connectflow: no auth with id {id:?}");
                return Ok(ExitCode::from(2));
            };
            writeln!(out, "{}", serde_json::to_string(&auth)?)?;
        }
        RecordsCommand::Export { filter, format } => {
            let format = if format == "jsonl" {
                Format::JsonLines
            } else {
                Format::Csv
            };
            let filter = filter.filter()?;
            let n = export(store.as_ref(), &filter, format, &mut out).await?;
            eprintln!("{n} auths exported");
        }
        RecordsCommand::Unlink {
            id,
            base_url,
            secret_key,
            flinks_customer_id,
            local,
        } => {
            let Some(auth) = store.get(&id).await? else {
                eprintln!("connectflow: no auth with id {id:?}");
                return Ok(ExitCode::from(2));
            };
            match (&base_url, local) {
                (Some(url), _) => {
                    let env_name = if auth.partner == "flinks" {
                        "FLINKS_AUTH_KEY"
                    } else {
                        "MONO_SEC_KEY"
                    };
                    let key = secret_key
                        .or_else(|| std::env::var(env_name).ok())
                        .filter(|k| !k.is_empty());
                    if key.is_none() && auth.partner == "mono" {
                        return Err(super::usage(
                            "--base-url needs --secret-key or MONO_SEC_KEY",
                        ));
                    }
                    let access = PartnerAccess {
                        base_url: url.clone(),
                        secret_key: key.map(Into::into),
                        flinks_customer_id,
                    };
                    match unlink_at_partner(&access, &auth).await? {
                        Unlinked::Now => eprintln!("unlinked at {}", auth.partner),
                        Unlinked::AlreadyGone => eprintln!(
                            "{} did not know the account (already unlinked)",
                            auth.partner
                        ),
                    }
                }
                (None, true) => eprintln!("marked here only: {} was not told", auth.partner),
                // A live account the partner still holds must not look
                // unlinked here by accident.
                (None, false) if auth.env == Env::Production => {
                    return Err(super::usage("a production auth: give --base-url (and MONO_SEC_KEY) to unlink it at the partner, or --local to only mark it here"));
                }
                (None, false) => eprintln!("a sandbox auth: marked here only"),
            }
            let auth = store
                .set_validated(&id, false, time::now_ms())
                .await?
                .ok_or("the auth vanished")?;
            writeln!(out, "{}", serde_json::to_string(&auth)?)?;
        }
        RecordsCommand::Redeliver => {
            let n = store.revive(time::now_ms()).await?;
            writeln!(out, "{n} dead deliveries are pending again")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
