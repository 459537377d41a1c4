//! Run with: `cargo run --example sandbox_link`
//!
//! Starts the sandbox partner in-process on a free loopback port and links
//! the test user `user_chain` (OTP, then a security question, then three
//! accounts) through the real driver over HTTP, printing each step. No
//! network, no keys.

use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use connectflow::sandbox::{Sandbox, OTP, PASSWORD, SECRET_KEY, SECURITY_ANSWER};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start_local().await?;
    println!("sandbox listening on {}", sandbox.url());

    let mono = Mono::new(MonoConfig::new(
        SECRET_KEY,
        Customer::new_customer("Ngozi Eze", "ngozi@example.com"),
    ));
    let driver = Driver::new(&sandbox.url(), mono, DriverConfig::default())?;
    let config = FlowConfig::default()
        .with_reference("example-chain")
        .with_institution("sandbox-bank", Some(AuthMethodKind::InternetBanking));
    let mut flow = ConnectFlow::new(config, now());

    loop {
        driver
            .run(&mut flow, &mut |event| {
                println!("  event {}", event.kind.name())
            })
            .await?;
        let action = match flow.view() {
            View::Form(f) => {
                println!(
                    "screen: {} ({})",
                    f.form.title,
                    f.form
                        .fields
                        .iter()
                        .map(|x| x.label())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let mut values = Values::new();
                for field in &f.form.fields {
                    let value = match field.name.as_str() {
                        "username" => "user_chain",
                        "password" => PASSWORD,
                        "otp" => OTP,
                        _ => SECURITY_ANSWER,
                    };
                    values.insert(field.name.clone(), value);
                }
                UserAction::Submit(values)
            }
            View::ChooseAccount { accounts, .. } => {
                for (i, a) in accounts.iter().enumerate() {
                    println!("screen: {}. {} {}", i + 1, a.name, a.number);
                }
                UserAction::ChooseAccount(1)
            }
            View::Done { code, account_id } => {
                println!(
                    "linked: code {}, account id {}",
                    code.unwrap_or("-"),
                    account_id.unwrap_or("-")
                );
                break;
            }
            View::Failed { failure, .. } => {
                println!("failed: {}", failure.message());
                break;
            }
            other => {
                println!("stopped at {other:?}");
                break;
            }
        };
        flow.handle(now(), Input::User(action))?;
    }
    sandbox.shutdown().await;
    Ok(())
}
