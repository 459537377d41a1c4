//! Driver overhead (DESIGN.md budget ≤ 10 %): a complete `user_chain` link
//! (list, session, login, OTP, question, account, exchange: 7 calls) through
//! the driver against the in-process sandbox, vs. the same HTTP calls made
//! with bare reqwest and serde_json on the same connection pool settings.
//!
//! The same comparison against a `StubPartner` that links at login (list,
//! session, login, exchange: 4 calls): a partner doing next to no work, so
//! what remains is the driver's own cost.
//!
//! Run with: `cargo bench --bench driver --features testing`

use connectflow::driver::{now, Driver, DriverConfig};
use connectflow::flow::*;
use connectflow::form::Values;
use connectflow::testing::{
    catalogues, mono_driver, Sandbox, StubPartner, OTP, PASSWORD, SANDBOX_BANK, SECRET_KEY,
    SECURITY_ANSWER,
};
use criterion::{criterion_main, Criterion};
use serde_json::{json, Value};

async fn with_driver(driver: &Driver) -> String {
    let config =
        FlowConfig::default().with_institution(SANDBOX_BANK, Some(AuthMethodKind::InternetBanking));
    let mut flow = ConnectFlow::new(config, now());
    loop {
        driver.run(&mut flow, &mut |_| {}).await.unwrap();
        let action = match flow.view() {
            View::Form(f) if f.purpose == FormPurpose::Credentials => UserAction::Submit(
                Values::new()
                    .with("username", "user_chain")
                    .with("password", PASSWORD),
            ),
            View::Form(f) if f.form.field("otp").is_some() => {
                UserAction::Submit(Values::new().with("otp", OTP))
            }
            View::Form(_) => UserAction::Submit(Values::new().with("answer", SECURITY_ANSWER)),
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
        json!({"institution": SANDBOX_BANK, "auth_method": "internet_banking", "scope": "financial_data",
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
        json!({"username": "user_chain", "password": PASSWORD}),
    )
    .await;
    post(
        client,
        &format!("{base}/v2/connect/commit"),
        s,
        json!({"otp": OTP}),
    )
    .await;
    let accounts = post(
        client,
        &format!("{base}/v2/connect/commit"),
        s,
        json!({"answer": SECURITY_ANSWER}),
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

/// A link at the stub's demo bank through the driver: one login form, then
/// the code the stub links every login with.
async fn stub_with_driver(driver: &Driver) -> String {
    let config = FlowConfig::default()
        .with_institution(catalogues::DEMO_BANK, Some(AuthMethodKind::InternetBanking));
    let mut flow = ConnectFlow::new(config, now());
    loop {
        driver.run(&mut flow, &mut |_| {}).await.unwrap();
        let action = match flow.view() {
            View::Form(_) => {
                UserAction::Submit(Values::new().with("username", "ada").with("password", "pw"))
            }
            View::Done { account_id, .. } => return account_id.unwrap_or_default().to_owned(),
            other => panic!("unexpected {other:?}"),
        };
        flow.handle(now(), Input::User(action)).unwrap();
    }
}

/// The same four calls with bare reqwest.
async fn stub_bare(client: &reqwest::Client, base: &str) -> String {
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
        json!({"institution": catalogues::DEMO_BANK, "auth_method": "internet_banking", "scope": "financial_data",
               "customer": {"name": "Ada Obi", "email": "ada@example.com"}}),
    )
    .await;
    let id = session["data"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = post(
        client,
        &format!("{base}/v2/connect/login"),
        Some(&id),
        json!({"username": "ada", "password": "pw"}),
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
    exchanged["id"].as_str().unwrap().to_owned()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = rt.block_on(Sandbox::start_local()).unwrap();
    let base = sandbox.url();
    // The bare path below sends the same key and customer by hand.
    let driver = mono_driver(&base, DriverConfig::default());
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

    let stub = rt.block_on(StubPartner::start()).unwrap();
    let stub_base = stub.url();
    let stub_driver = mono_driver(&stub_base, DriverConfig::default());
    let (a, b) = rt.block_on(async {
        let a = stub_with_driver(&stub_driver).await;
        (a, stub_bare(&client, &stub_base).await)
    });
    assert_eq!(
        (a.as_str(), b.as_str()),
        (StubPartner::ACCOUNT_ID, StubPartner::ACCOUNT_ID)
    );
    let mut group = c.benchmark_group("stub_link");
    group.bench_function("driver", |b| {
        b.to_async(&rt).iter(|| stub_with_driver(&stub_driver))
    });
    group.bench_function("bare_reqwest", |b| {
        b.to_async(&rt).iter(|| stub_bare(&client, &stub_base))
    });
    group.finish();
}

// What `criterion_group!(driver, benches)` expands to, written out: the macro
// defines an undocumented `pub fn`, which the crate's `missing_docs` lint
// refuses.
fn driver() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
}

criterion_main!(driver);
