//! `connectflow link`: one whole connect flow at a terminal.

use super::terminal::Terminal;
use super::BoxError;
use connectflow::dialect::mono::{Customer, MonoVersion};
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::{
    AuthMethodKind, ConnectFlow, Event, FlowConfig, FlowError, Input, UserAction, View,
};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
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
}

pub(crate) async fn run(args: LinkArgs) -> Result<ExitCode, BoxError> {
    let super::Partner {
        url: base_url,
        key,
        sandbox,
    } = super::partner(args.base_url.as_deref(), args.secret_key.as_deref()).await?;
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
    let mut flow_config = FlowConfig::default();
    if let Some(reference) = &args.reference {
        flow_config = flow_config.with_reference(reference.clone());
    }
    if let Some(id) = &args.institution {
        flow_config = flow_config.with_institution(id.clone(), method.clone());
    }
    let terminal = Terminal::new(args.json);
    let mut flow = ConnectFlow::new(flow_config, now());
    let json = args.json;
    let mut on_event = move |event: &Event| {
        if json {
            print_json(event.to_json());
        }
    };
    let code = loop {
        driver.run(&mut flow, &mut on_event).await?;
        match flow.view() {
            View::Done { code, account_id } => {
                if json {
                    print_json(
                        json!({ "result": "linked", "code": code, "account_id": account_id }),
                    );
                } else {
                    terminal.say(&format!(
                        "Linked. Account id: {}",
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

fn print_json(value: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}
