//! Run with: `cargo run --example scripted`
//!
//! Drives one complete connect flow — institution list, login, OTP, account
//! pick, code, exchange — against a scripted partner in this file, printing
//! every view, effect and event. No network, no keys: the flow is a plain
//! value and the "partner" is a function. This is the run loop every driver
//! and channel in connectflow is built on.

use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use std::sync::Arc;

/// A partner that asks for an OTP, then for an account, then links.
fn partner(catalogue: &Arc<Catalogue>, call: &Call) -> Result<Reply, CallError> {
    Ok(match call {
        Call::ListInstitutions => Reply::Institutions(Arc::clone(catalogue)),
        Call::CreateSession { .. } => Reply::SessionCreated(SessionInfo {
            continuation: None,
            id: "sess_8f2c".into(),
            expires_at: None,
            form: None,
            institution: None,
        }),
        Call::Login { .. } => Reply::Step(Step::needs_input(Form::new(
            "Enter the OTP sent to 080...21",
            vec![Field::input("otp", "OTP").max_length(6)],
        ))),
        Call::Commit { account: None, .. } => Reply::Step(Step::choose_account(vec![
            Account::new("0131883461", "ADA OBI (savings)"),
            Account::new("0131883462", "ADA OBI (current)"),
        ])),
        Call::Commit {
            account: Some(_), ..
        } => Reply::Step(Step::code("code_x7")),
        Call::ExchangeCode { .. } => Reply::Exchanged {
            account_id: "acc_5f1e".into(),
        },
        other => return Err(CallError::Malformed(format!("unscripted call {other:?}"))),
    })
}

/// What our scripted person answers on each screen.
fn person(view: View<'_>) -> Option<UserAction> {
    Some(match view {
        View::ChooseInstitution { institutions, .. } => {
            println!("  screen: choose a bank ({} listed)", institutions.len());
            UserAction::ChooseInstitution {
                id: institutions[0].id.clone(),
                auth_method: None,
            }
        }
        View::Form(f) => {
            println!(
                "  screen: {} [{}]",
                f.form.title,
                f.form
                    .fields
                    .iter()
                    .map(|x| x.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let values = match f.purpose {
                FormPurpose::Credentials => Values::new()
                    .with("username", "ada")
                    .with("password", "s3cret"),
                FormPurpose::Mfa => Values::new().with("otp", "123456"),
                _ => return None,
            };
            UserAction::Submit(values)
        }
        View::ChooseAccount { accounts, .. } => {
            for (i, a) in accounts.iter().enumerate() {
                println!("  screen: {}. {} {}", i + 1, a.name, a.masked_number());
            }
            UserAction::ChooseAccount(1)
        }
        _ => return None,
    })
}

fn main() -> Result<(), FlowError> {
    let catalogue = Arc::new(explore::demo_catalogue());
    let now = Timestamp(1_700_000_000_000);
    let mut flow = ConnectFlow::new(FlowConfig::default().with_reference("example-1"), now);
    loop {
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            // `Call`'s Debug shows secrets as `***`.
            println!("effect {id}: {call:?}");
            flow.handle(
                now,
                Input::Api {
                    id,
                    result: partner(&catalogue, &call),
                },
            )?;
        }
        while let Some(event) = flow.poll_event() {
            println!(
                "event  {}",
                serde_json::to_string(&event.kind).unwrap_or_default()
            );
        }
        println!("state  {:?}", flow.state());
        match flow.view() {
            View::Done { code, account_id } => {
                println!(
                    "linked: code {}, account id {}",
                    code.unwrap_or("-"),
                    account_id.unwrap_or("-")
                );
                return Ok(());
            }
            View::Failed { failure, .. } => {
                println!("failed: {}", failure.message());
                return Ok(());
            }
            view => match person(view) {
                Some(action) => flow.handle(now, Input::User(action))?,
                None => return Ok(()),
            },
        }
    }
}
