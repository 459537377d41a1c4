//! `connectflow link`: one whole connect flow at a terminal.

use super::partner::PartnerArgs;
use super::terminal::Terminal;
use super::{usage, BoxError};
use connectflow::dialect::flinks::ConnectEvents;
use connectflow::dialect::mono::Customer;
use connectflow::driver::{DriverConfig, Recorder, Transcript};
use connectflow::flow::{
    AuthMethodKind, ConnectFlow, Event, EventKind, Failure, FlowConfig, FlowError, Input,
    InstitutionRef, Notice, View,
};
use connectflow::records::RecordsDelivery;
use connectflow::service::{Customer as Person, LinkedAccount};
use connectflow::testing::TempDir;
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Arguments of `connectflow link`.
#[derive(clap::Args)]
pub(crate) struct LinkArgs {
    #[command(flatten)]
    partner: PartnerArgs,
    /// Preselect this institution id (skip the bank list).
    #[arg(long)]
    institution: Option<String>,
    /// Preselect the auth method (internet_banking, mobile_banking, manual, ussd).
    #[arg(long)]
    auth_method: Option<String>,
    /// Re-authorise this linked account (Mono's account id, Flinks'
    /// LoginId) instead of linking a new one; name its bank with
    /// --institution.
    #[arg(long, value_name = "ACCOUNT_ID")]
    reauth: Option<String>,
    /// Print every event, then the result, as one JSON object per line.
    #[arg(long)]
    json: bool,
    /// Whose event names --json prints: Mono Connect's (`type`) or Flinks
    /// Connect's (`step` / `flinksCode`).
    #[arg(long, value_enum, default_value_t = EventNames::Mono)]
    events: EventNames,
    /// Flinks Connect's redirect URL, in the REDIRECT event of --events flinks.
    #[arg(long, default_value = connectflow::dialect::flinks::events::DEFAULT_REDIRECT_URL)]
    redirect_url: String,
    /// Reference echoed on every event.
    #[arg(long)]
    reference: Option<String>,
    /// Existing Mono customer id (v2).
    #[arg(long)]
    customer_id: Option<String>,
    /// New customer's name (v2). Required with --base-url unless
    /// --customer-id is given; the sandbox's demo customer otherwise.
    #[arg(long)]
    customer_name: Option<String>,
    /// New customer's email (v2), with --customer-name.
    #[arg(long)]
    customer_email: Option<String>,
    /// Timeout of each partner call, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Write the partner conversation to FILE as a transcript (JSON Lines,
    /// every secret replaced by a placeholder) for `connectflow replay`.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// Link against FILE (a --record transcript) as the partner, in
    /// process and on the recording's clock, so a recording of any age
    /// replays. Exit 1 if a request differs from it or the flow ends
    /// before its last exchange. The replayed link goes to throwaway
    /// records, never to --records.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["base_url", "record"])]
    replay: Option<std::path::PathBuf>,
    #[command(flatten)]
    records: super::records::RecordsArg,
}

/// What `connectflow link --help` says after the options.
pub(crate) const AFTER_HELP: &str = "\
Exit status (the --json result line says the same; with --replay, also 1
when the run went another way than the recording, said on stderr):
  0  linked                 {\"result\":\"linked\",...}
  1  failed                 the partner refused or was down; `retryable` says whether a
                            new run as it is might work (never after too many wrong
                            answers: `locked` is true then, check with the bank first)
  2  usage                  bad arguments, an --institution or --auth-method the partner
                            does not offer, no --customer-* with --base-url
  3  exited                 the person typed :exit
  4  input_exhausted        standard input ended before the flow did; `last_error` holds
                            the last error the flow reported, if any
  5  error                  could not start: the records could not be opened, the sandbox
                            or a --replay could not start, a --record file not written
                            (a partner unreachable once the flow runs is a result: 1)

Commands at any prompt: :back, :switch METHOD, :retry, :exit, :help.

Environment:
  MONO_SEC_KEY         Mono secret key, with --base-url (or --secret-key)
  FLINKS_AUTH_KEY      Flinks secret (optional, older instances), with --partner flinks
  FLINKS_CUSTOMER_ID   Flinks customer id (or --flinks-customer-id)
  CONNECTFLOW_RECORDS  where the auth records are (or --records)
  RUST_LOG             log filter (default warn), to stderr";

/// The exit status of each result (also in `--help` and the README).
pub(crate) mod exit {
    /// Linked.
    pub(crate) const LINKED: u8 = 0;
    /// The flow failed (the partner refused, was down, or the link expired).
    pub(crate) const FAILED: u8 = 1;
    /// A usage error: bad arguments, an unknown --institution or
    /// --auth-method (clap's own usage errors use 2 too).
    pub(crate) const USAGE: u8 = 2;
    /// The person left (`:exit`).
    pub(crate) const EXITED: u8 = 3;
    /// Standard input ended before the flow did (a script too short).
    pub(crate) const INPUT_EXHAUSTED: u8 = 4;
}

/// The event vocabularies `--events` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EventNames {
    /// Mono Connect's public event names.
    Mono,
    /// Flinks Connect's steps and codes.
    Flinks,
}

pub(crate) async fn run(args: LinkArgs) -> Result<ExitCode, BoxError> {
    let partner = match &args.replay {
        Some(file) => {
            let transcript = Transcript::load(file)
                .map_err(|e| usage(format!("--replay {}: {e}", file.display())))?;
            args.partner.replaying(transcript).await?
        }
        None => args.partner.connect().await?,
    };
    // A real partner must not be sent the sandbox's demo customer: with
    // --base-url (and Mono, whose sessions name a customer) say who links.
    let demo_allowed = args.partner.embedded() || partner.partner != "mono";
    let named = args.customer_name.is_some() && args.customer_email.is_some();
    if !demo_allowed && !named && args.customer_id.is_none() {
        return Err(usage(
            "with --base-url, say who is linking: --customer-id ID, or --customer-name NAME and --customer-email EMAIL",
        ));
    }
    let customer_name = args
        .customer_name
        .clone()
        .unwrap_or_else(|| "Sandbox Customer".to_owned());
    let customer_email = args
        .customer_email
        .clone()
        .unwrap_or_else(|| "customer@example.com".to_owned());
    if args.reauth.is_some() && args.institution.is_none() {
        return Err(usage(
            "--reauth needs --institution: the bank the account is at",
        ));
    }

    // The records are opened first: a link must not be made that cannot
    // be recorded.
    // A replay's link is not a real one: it goes to throwaway records
    // (not even to records named in the environment, which a shell may
    // set for every command).
    let scratch = args
        .replay
        .is_some()
        .then(|| TempDir::new("connectflow-replay"));
    let store = match &scratch {
        Some(dir) => super::records::RecordsArg::at(&dir.sqlite("records.db")).await?,
        None => args.records.open().await?,
    };
    let records = RecordsDelivery::new(store, partner.env);
    // The customer, as the records know them: the Mono customer id when
    // given, else the email (the same person linking again is a returning
    // customer either way).
    let person = Person {
        id: args
            .customer_id
            .clone()
            .unwrap_or_else(|| customer_email.clone()),
        name: Some(customer_name.clone()),
        email: Some(customer_email.clone()),
        phone: None,
    };
    let linked_before: Vec<String> = match records
        .store()
        .customer_banks(partner.partner, &person.id)
        .await
    {
        Ok(banks) => banks.into_iter().map(|b| b.id).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the customer's earlier links");
            Vec::new()
        }
    };
    let customer = match &args.customer_id {
        Some(id) => Customer::existing(id.clone()),
        None => Customer::new_customer(customer_name.clone(), customer_email.clone()),
    };
    let config = DriverConfig {
        call_timeout: Duration::from_secs(args.timeout),
        ..DriverConfig::default()
    };
    let mut driver = partner.driver(Some(customer), config)?;
    let recorder = match &args.record {
        Some(path) => {
            let recorder = std::sync::Arc::new(
                Recorder::create(path, partner.partner)
                    .map_err(|e| format!("--record {}: {e}", path.display()))?,
            );
            driver = driver.with_recorder(std::sync::Arc::clone(&recorder));
            Some(recorder)
        }
        None => None,
    };

    let method = args.auth_method.as_deref().map(AuthMethodKind::from);
    // Every link gets a reference (its record is keyed by it): the given
    // one, or a fresh one.
    let reference = args
        .reference
        .clone()
        .unwrap_or_else(connectflow::service::new_reference);
    let mut flow_config = FlowConfig::default().with_reference(reference.clone());
    if let Some(id) = &args.institution {
        flow_config = flow_config.with_institution(id.clone(), method.clone());
    }
    flow_config.reauthorise = args.reauth.clone();
    let terminal = Terminal::new(args.json).linked_before(linked_before);
    let mut flow = ConnectFlow::new(flow_config, driver.now());
    let json = args.json;
    // Flinks Connect's names, when asked for: it reads events and views.
    let flinks_events = Mutex::new(ConnectEvents::new(args.redirect_url.clone()));
    // What the events say about the link, for its record.
    let chosen: Mutex<Option<(InstitutionRef, AuthMethodKind)>> = Mutex::new(None);
    // The last error the flow reported, for the final line.
    let last_error: Mutex<Option<serde_json::Value>> = Mutex::new(None);
    let mut on_event = |event: &Event| {
        if let EventKind::Error {
            error_type,
            error_message,
            error_code,
            ..
        } = &event.kind
        {
            *last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(json!({
                "type": error_type,
                "message": error_message,
                "code": error_code,
            }));
        }
        match &event.kind {
            EventKind::InstitutionSelected {
                institution,
                auth_method,
            } => {
                *chosen.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((institution.clone(), auth_method.clone()));
            }
            EventKind::AuthMethodSwitched { auth_method, .. } => {
                if let Some((_, m)) = chosen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_mut()
                {
                    *m = auth_method.clone();
                }
            }
            _ => {}
        }
        if json {
            let value = match args.events {
                EventNames::Mono => Some(event.to_json()),
                EventNames::Flinks => flinks_events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .event(event),
            };
            if let Some(value) = value {
                print_json(value);
            }
        }
    };
    let code = loop {
        driver.run(&mut flow, &mut on_event).await?;
        if json && args.events == EventNames::Flinks {
            let shown = flinks_events
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .view(&flow.view(), flow.reference());
            if let Some(value) = shown {
                print_json(value);
            }
        }
        match flow.view() {
            View::Done { code, account_id } => {
                // Recorded before it is reported: a link the ledger missed
                // would make the next one look new.
                let chosen = chosen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let recorded = match account_id {
                    Some(account_id) => {
                        let institution = chosen
                            .as_ref()
                            .map(|(i, _)| i.clone())
                            .or_else(|| flow.institution().cloned());
                        let icon = institution.as_ref().and_then(|i| {
                            let c = flow.catalogue()?;
                            c.institutions().iter().find(|x| x.id == i.id)?.icon.clone()
                        });
                        let linked = LinkedAccount {
                            reference: reference.clone(),
                            partner: partner.partner.into(),
                            institution,
                            institution_icon: icon,
                            auth_method: chosen.as_ref().map(|(_, m)| m.clone()),
                            account_id: account_id.to_owned(),
                            customer: Some(person.clone()),
                            phone_number: None,
                            channel: "terminal".into(),
                        };
                        Some(records.record(&linked).await?)
                    }
                    None => None,
                };
                let returning = recorded.as_ref().is_some_and(|r| r.returning);
                let auth_id = recorded.as_ref().map(|r| r.auth.id.clone());
                if json {
                    let institution = chosen
                        .as_ref()
                        .map(|(i, _)| i.id.clone())
                        .or_else(|| flow.institution().map(|i| i.id.clone()));
                    print_json(json!({ "result": "linked", "partner": partner.partner,
                                "account_id": account_id, "institution": institution,
                                "code": code, "returning": returning, "auth_id": auth_id,
                                "reference": reference }));
                } else {
                    terminal.say(&format!(
                        "{} Account id: {}",
                        if returning {
                            "Linked again (you linked this account before)."
                        } else {
                            "Linked."
                        },
                        account_id.unwrap_or("-")
                    ));
                    if let Some(code) = code {
                        terminal.say(&format!("Code: {code}"));
                    }
                }
                break ExitCode::from(exit::LINKED);
            }
            View::Failed { failure, retryable } => {
                // Stopped after too many wrong answers: the bank may have
                // locked the login, and another run could make sure of it.
                let locked = matches!(failure, Failure::TooManyAttempts { .. });
                if json {
                    print_json(json!({ "result": "failed", "reason": failure.message(),
                        "detail": failure.to_string(), "retryable": retryable,
                        "locked": locked, "reference": reference,
                        "last_error": last_error.lock().unwrap_or_else(PoisonError::into_inner).clone() }));
                } else {
                    terminal.say(&format!("Failed: {}", failure.message()));
                }
                break ExitCode::from(exit::FAILED);
            }
            View::Exited { page } => {
                if json {
                    print_json(json!({ "result": "exited", "page": page, "reference": reference }));
                } else {
                    terminal.say("Exited.");
                }
                break ExitCode::from(exit::EXITED);
            }
            View::ChooseInstitution {
                notice: Some(Notice::PreselectNotFound { id }),
                institutions,
            } if args.institution.is_some() => {
                // The flow would offer the list, and a script's answers would
                // be read as bank choices: stop instead.
                let known: Vec<String> = institutions
                    .iter()
                    .map(|i| {
                        let methods: Vec<String> = i
                            .method_kinds()
                            .iter()
                            .map(|m| m.as_str().to_owned())
                            .collect();
                        format!("{} ({})", i.id, methods.join(", "))
                    })
                    .collect();
                partner.shutdown().await;
                return Err(usage(format!(
                    "--institution {id}{}: not offered by this partner. Institutions and their auth methods: {}",
                    args.auth_method.as_deref().map(|m| format!(" with --auth-method {m}")).unwrap_or_default(),
                    known.join("; ")
                )));
            }
            view => {
                let Some(action) = terminal.next_action(&view, method.as_ref()).await? else {
                    // Standard input ended before the flow did: not the
                    // person leaving, and not the bank failing.
                    if json {
                        print_json(json!({ "result": "input_exhausted",
                            "page": flow.page(), "reference": reference,
                            "last_error": last_error.lock().unwrap_or_else(PoisonError::into_inner).clone() }));
                    } else {
                        terminal.say("No more input: stopped.");
                    }
                    break ExitCode::from(exit::INPUT_EXHAUSTED);
                };
                // A deadline may have passed while the person was typing: let it
                // fire first, and if it changed the screen, show the new one.
                let before = flow.state();
                let now = driver.input_time();
                flow.handle_timeout(now);
                if flow.state() != before {
                    continue;
                }
                match flow.handle(now, Input::User(action)) {
                    Ok(()) | Err(FlowError::InvalidValues(_)) => {}
                    // Not a state name: what the person can do instead.
                    Err(_) => terminal.say("! That is not possible here. Type :help for what is."),
                }
            }
        }
    };
    // A replay that went its own way fails, whatever the flow made of it.
    let code = match partner.replay_problem() {
        Some(problem) => {
            eprintln!("connectflow: {problem}");
            ExitCode::from(exit::FAILED)
        }
        None => code,
    };
    partner.shutdown().await;
    if let (Some(recorder), Some(path)) = (&recorder, &args.record) {
        recorder
            .finish()
            .map_err(|e| format!("--record {}: {e}", path.display()))?;
    }
    Ok(code)
}

fn print_json(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}
