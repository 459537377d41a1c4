//! `connectflow check --cases`: 10,000 random runs over a 20-institution
//! catalogue, with every invariant checked after every step. Budget: under
//! 10 s on the development machine (2 cores).

use connectflow::flow::explore::{self, Vocabulary};
use connectflow::flow::{AuthMethod, AuthMethodKind, Catalogue, FlowConfig, Institution};
use connectflow::form::{Field, Form};
use criterion::{criterion_main, Criterion};
use std::sync::Arc;
use std::time::Duration;

/// Twenty banks, each with internet and mobile banking.
fn twenty() -> Arc<Catalogue> {
    let institutions = (0..20)
        .map(|i| {
            let login = Form::new(
                "Log in",
                vec![
                    Field::input("username", "Username"),
                    Field::password("password", "Password"),
                ],
            );
            let mobile = Form::new(
                "Mobile banking",
                vec![
                    Field::input("phone", "Phone").max_length(11),
                    Field::password("pin", "PIN").max_length(6),
                ],
            );
            Institution::new(
                format!("bank-{i}"),
                format!("Bank {i}"),
                vec![
                    AuthMethod::new(AuthMethodKind::InternetBanking, Some(login)),
                    AuthMethod::new(AuthMethodKind::MobileBanking, Some(mobile)),
                ],
            )
        })
        .collect();
    Arc::new(Catalogue::new(institutions))
}

fn cases(c: &mut Criterion) {
    let catalogue = twenty();
    let config = FlowConfig::default();
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("10k cases, 20 institutions, mono", |b| {
        b.iter(|| {
            let report = explore::run_cases(
                &config,
                Arc::clone(&catalogue),
                &Vocabulary::mono(),
                10_000,
                1,
            );
            assert!(report.failure.is_none());
            report.steps
        })
    });
    group.finish();
}

// What `criterion_group!` expands to, written out: the macro defines an
// undocumented `pub fn`, which the crate's `missing_docs` lint refuses.
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    cases(&mut criterion);
}

criterion_main!(benches);
