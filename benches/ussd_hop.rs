//! One USSD hop through the channel and the session service, in-process
//! (no HTTP): what a hop costs beyond the web server. The same two hops as
//! `benches/ussd_load.sh`: the first (the bank list, nothing stored) and the
//! bank choice (a new sealed session written, phone index updated).
//!
//! Run with: `cargo bench --bench ussd_hop --features testing`

use connectflow::channel::ussd::gateway::africastalking::AfricasTalking;
use connectflow::channel::ussd::gateway::GatewayRequest;
use connectflow::channel::ussd::{UssdConfig, UssdService};
use connectflow::driver::DriverConfig;
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::{MemoryStore, Sealed, Sealer};
use connectflow::testing::{mono_driver, Sandbox};
use criterion::{criterion_main, Criterion};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn hop(session: u64, text: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: Some("application/x-www-form-urlencoded".into()),
        body: format!(
            "sessionId=ATUid_{session}&serviceCode=%2A384%2A123%23&phoneNumber=%2B2547{session:08}&text={text}"
        )
        .into_bytes(),
        ..GatewayRequest::default()
    }
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let (ussd, _sandbox) = runtime.block_on(async {
        let sandbox = Sandbox::start_local().await.expect("the sandbox starts");
        let driver = mono_driver(&sandbox.url(), DriverConfig::default());
        let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
        let service = SessionService::new(vec![driver], store, ServiceConfig::default());
        let ussd = UssdService::new(Arc::new(service), UssdConfig::default());
        // Warm the catalogue cache and the first screen.
        ussd.hop(&AfricasTalking, &hop(0, "")).await;
        (ussd, sandbox)
    });
    let next = AtomicU64::new(1);
    let mut group = c.benchmark_group("ussd_hop");
    group.bench_function("first_hop", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = next.fetch_add(1, Ordering::Relaxed);
            ussd.hop(&AfricasTalking, &hop(n, "")).await
        })
    });
    group.bench_function("bank_choice_hop", |b| {
        b.to_async(&runtime).iter(|| async {
            let n = next.fetch_add(1, Ordering::Relaxed);
            ussd.hop(&AfricasTalking, &hop(n, "1")).await
        })
    });
    group.finish();
}

fn group() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
}

criterion_main!(group);
