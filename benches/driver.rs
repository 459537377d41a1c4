//! Driver overhead (DESIGN.md budget ≤ 10 %): a complete `user_chain` link
//! (list, session, login, OTP, question, account, exchange: 7 calls) through
//! the driver against the in-process sandbox, vs. the same HTTP calls made
//! with bare reqwest and serde_json on the same connection pool settings.
//!
//! Run with: `cargo bench --bench driver --all-features`

use connectflow::dialect::mono::Customer;
use connectflow::dialect::{Mono, MonoConfig};
use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use connectflow::sandbox::{Sandbox, SECRET_KEY};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

async fn with_driver(driver: &Driver) -> String {
    let config = FlowConfig::default()
        .with_institution("sandbox-bank", Some(AuthMethodKind::InternetBanking));
    let mut flow = ConnectFlow::new(config, now());
    loop {
        driver.run(&mut flow, &mut |_| {}).await.unwrap();
        let action = match flow.view() {
            View::Form(f) if f.purpose == FormPurpose::Credentials => UserAction::Submit(
                Values::new()
                    .with("username", "user_chain")
                    .with("password", "pass_good"),
            ),
            View::Form(f) if f.form.field("otp").is_some() => {
                UserAction::Submit(Values::new().with("otp", "123456"))
            }
            View::Form(_) => UserAction::Submit(Values::new().with("answer", "Montreal")),
            View::ChooseAccount { .. } => UserAction::ChooseAccount(0),
            View::Done { account_id, .. } => return account_id.unwrap_or_default().to_owned(),
            other => panic!("unexpected {other:?}"),
        };
        flow.handle(now(), Input::User(action)).unwrap();
    }
}

async fn post(client: &reqwest::Client, url: &str, session: Option<&str>, body: Value) -> Value {
    let mut req = client
        .post(url)
        .header("mono-sec-key", SECRET_KEY)
        .json(&body);
    if let Some(s) = session {
        req = req.header("x-session-id", s);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn bare(client: &reqwest::Client, base: &str) -> String {
    let list: Value = client
        .get(format!("{base}/v3/institutions?scope=financial_data"))
        .header("mono-sec-key", SECRET_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["data"].is_array());
    let session = post(
        client,
        &format!("{base}/v2/connect/session"),
        None,
        json!({"institution": "sandbox-bank", "auth_method": "internet_banking", "scope": "financial_data",
               "customer": {"name": "Ada Obi", "email": "ada@example.com"}}),
    )
    .await;
    let id = session["data"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = Some(id.as_str());
    post(
        client,
        &format!("{base}/v2/connect/login"),
        s,
        json!({"username": "user_chain", "password": "pass_good"}),
    )
    .await;
    post(
        client,
        &format!("{base}/v2/connect/commit"),
        s,
        json!({"otp": "123456"}),
    )
    .await;
    let accounts = post(
        client,
        &format!("{base}/v2/connect/commit"),
        s,
        json!({"answer": "Montreal"}),
    )
    .await;
    let number = accounts["data"]["accounts"][0]["accountNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = post(
        client,
        &format!("{base}/v2/connect/commit"),
        s,
        json!({"accountNumber": number}),
    )
    .await;
    let code = done["data"]["code"].as_str().unwrap().to_owned();
    let exchanged = post(
        client,
        &format!("{base}/v2/accounts/auth"),
        None,
        json!({"code": code}),
    )
    .await;
    exchanged["data"]["id"]
        .as_str()
        .or(exchanged["id"].as_str())
        .unwrap()
        .to_owned()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt.block_on(Sandbox::start_local()).unwrap();
    let base = sandbox.url();
    let mono = Mono::new(MonoConfig::new(
        SECRET_KEY,
        Customer::new_customer("Ada Obi", "ada@example.com"),
    ));
    let driver = Driver::new(&base, mono, DriverConfig::default()).unwrap();
    let client = reqwest::Client::new();
    // Both paths must link the same account, or the comparison means nothing.
    let (a, b) = rt.block_on(async { (with_driver(&driver).await, bare(&client, &base).await) });
    assert_eq!(a, b);

    let mut group = c.benchmark_group("user_chain_link");
    group.bench_function("driver", |b| b.to_async(&rt).iter(|| with_driver(&driver)));
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&rt).iter(|| bare(&client, &base))
    });
    group.finish();
}

criterion_group!(driver, benches);
criterion_main!(driver);
