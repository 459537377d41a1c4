//! `connectflow link`: one whole connect flow at a terminal.

use super::terminal::Terminal;
use super::BoxError;
use connectflow::dialect::mono::{Customer, MonoVersion};
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::{
    AuthMethodKind, ConnectFlow, Event, EventKind, FlowConfig, FlowError, Input, InstitutionRef,
    UserAction, View,
};
use connectflow::records::{Env, RecordsDelivery};
use connectflow::service::{Customer as Person, LinkedAccount};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Arguments of `connectflow link`.
#[derive(clap::Args)]
pub(crate) struct LinkArgs {
    /// Partner API base URL (e.g. https://api.withmono.com). Without it, the
    /// embedded sandbox is started in-process with its test key.
    #[arg(long)]
    base_url: Option<String>,
    /// Mono secret key, for --base-url.
    #[arg(long, env = "MONO_SEC_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Preselect this institution id (skip the bank list).
    #[arg(long)]
    institution: Option<String>,
    /// Preselect the auth method (internet_banking, mobile_banking, manual, ussd).
    #[arg(long)]
    auth_method: Option<String>,
    /// Print every event, then the result, as one JSON object per line.
    #[arg(long)]
    json: bool,
    /// Reference echoed on every event.
    #[arg(long)]
    reference: Option<String>,
    /// Mono API version.
    #[arg(long, value_parser = ["v1", "v2"], default_value = "v2")]
    mono_version: String,
    /// Existing Mono customer id (v2).
    #[arg(long)]
    customer_id: Option<String>,
    /// New customer's name (v2).
    #[arg(long, default_value = "Sandbox Customer")]
    customer_name: String,
    /// New customer's email (v2).
    #[arg(long, default_value = "customer@example.com")]
    customer_email: String,
    /// Mono app id (v1 only).
    #[arg(long)]
    app_id: Option<String>,
    /// Timeout of each partner call, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    #[command(flatten)]
    records: super::records::RecordsArg,
}

pub(crate) async fn run(args: LinkArgs) -> Result<ExitCode, BoxError> {
    let super::Partner {
        url: base_url,
        key,
        sandbox,
    } = super::partner(args.base_url.as_deref(), args.secret_key.as_deref()).await?;
    // The records are opened first: a link must not be made that cannot
    // be recorded.
    let records = RecordsDelivery::new(args.records.open().await?, Env::of_key(&key));
    // The customer, as the records know them: the Mono customer id when
    // given, else the email (the same person linking again is a returning
    // customer either way).
    let person = Person {
        id: args
            .customer_id
            .clone()
            .unwrap_or_else(|| args.customer_email.clone()),
        name: Some(args.customer_name.clone()),
        email: Some(args.customer_email.clone()),
        phone: None,
    };
    let linked_before: Vec<String> = match records.store().customer_banks("mono", &person.id).await
    {
        Ok(banks) => banks.into_iter().map(|b| b.id).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the customer's earlier links");
            Vec::new()
        }
    };
    let customer = match &args.customer_id {
        Some(id) => Customer::existing(id.clone()),
        None => Customer::new_customer(args.customer_name.clone(), args.customer_email.clone()),
    };
    let mut mono = MonoConfig::new(key, customer);
    if args.mono_version == "v1" {
        mono = mono.version(MonoVersion::V1);
    }
    if let Some(app) = &args.app_id {
        mono = mono.app_id(app.clone());
    }
    let config = DriverConfig {
        call_timeout: Duration::from_secs(args.timeout),
        ..DriverConfig::default()
    };
    let driver = Driver::new(&base_url, Mono::new(mono), config)?;

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
    let terminal = Terminal::new(args.json).linked_before(linked_before);
    let mut flow = ConnectFlow::new(flow_config, now());
    let json = args.json;
    // What the events say about the link, for its record.
    let chosen: Mutex<Option<(InstitutionRef, AuthMethodKind)>> = Mutex::new(None);
    let mut on_event = |event: &Event| {
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
            print_json(event_json(event));
        }
    };
    let code = loop {
        driver.run(&mut flow, &mut on_event).await?;
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
                            partner: "mono".into(),
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
                    print_json(
                        json!({ "result": "linked", "code": code, "account_id": account_id,
                                "returning": returning, "auth_id": auth_id }),
                    );
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
                break ExitCode::SUCCESS;
            }
            View::Failed { failure, retryable } => {
                if json {
                    print_json(
                        json!({ "result": "failed", "reason": failure.message(), "detail": failure.to_string(), "retryable": retryable }),
                    );
                } else {
                    terminal.say(&format!("Failed: {}", failure.message()));
                }
                break ExitCode::FAILURE;
            }
            View::Exited { page } => {
                if json {
                    print_json(json!({ "result": "exited", "page": page }));
                } else {
                    terminal.say("Exited.");
                }
                break ExitCode::FAILURE;
            }
            view => {
                let action = terminal.next_action(&view, method.as_ref()).await?;
                // A deadline may have passed while the person was typing: let it
                // fire first, and if it changed the screen, show the new one.
                let before = flow.state();
                flow.handle_timeout(now());
                if flow.state() != before {
                    continue;
                }
                let action = action.unwrap_or(UserAction::Exit);
                match flow.handle(now(), Input::User(action)) {
                    Ok(()) | Err(FlowError::InvalidValues(_)) => {}
                    Err(e) => terminal.say(&format!("! {e}")),
                }
            }
        }
    };
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    Ok(code)
}

/// An event as one JSON object: Mono's public name in `type`, its data
/// fields, `timestamp` and `reference`.
fn event_json(event: &Event) -> serde_json::Value {
    let mut value = serde_json::to_value(&event.kind).unwrap_or_else(|_| json!({}));
    if let Some(map) = value.as_object_mut() {
        map.insert("timestamp".into(), json!(event.timestamp.0));
        if let Some(r) = &event.reference {
            map.insert("reference".into(), json!(r));
        }
    }
    value
}

fn print_json(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}
