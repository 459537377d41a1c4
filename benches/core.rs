//! Core budgets (DESIGN.md): one `handle` + drain ≤ 1 µs median; a whole
//! happy-path flow ≤ 10 µs; a mid-flow snapshot ≤ 512 bytes.
//!
//! Run with: `cargo bench --bench core`

use connectflow::flow::*;
use connectflow::form::{Field, Form, Values};
use criterion::{black_box, criterion_main, BatchSize, Criterion};
use std::sync::Arc;

const NOW: Timestamp = Timestamp(1_700_000_000_000);

fn reply(catalogue: &Arc<Catalogue>, call: &Call) -> Result<Reply, CallError> {
    Ok(match call {
        Call::ListInstitutions => Reply::Institutions(Arc::clone(catalogue)),
        Call::CreateSession { .. } => Reply::SessionCreated(SessionInfo {
            continuation: None,
            id: "sess_0f9a7c1e2b".into(),
            expires_at: Some(NOW.plus_ms(600_000)),
            form: None,
            institution: None,
        }),
        Call::Login { .. } => Reply::Step(Step::code("code_abc")),
        _ => Reply::Exchanged {
            account_id: "acc_1".into(),
        },
    })
}

fn drain(flow: &mut ConnectFlow, catalogue: &Arc<Catalogue>) {
    while let Some(Effect::Call { id, call }) = flow.poll_effect() {
        let result = reply(catalogue, &call);
        let _ = flow.handle(NOW, Input::Api { id, result });
    }
    while let Some(e) = flow.poll_event() {
        black_box(e);
    }
}

fn happy_path(catalogue: &Arc<Catalogue>) -> ConnectFlow {
    let mut flow = at_credentials(catalogue);
    let _ = flow.handle(
        NOW,
        Input::User(UserAction::Submit(
            Values::new().with("username", "ada").with("password", "pw"),
        )),
    );
    drain(&mut flow, catalogue);
    flow
}

fn at_credentials(catalogue: &Arc<Catalogue>) -> ConnectFlow {
    let mut flow = ConnectFlow::new(FlowConfig::default(), NOW);
    drain(&mut flow, catalogue);
    let _ = flow.handle(
        NOW,
        Input::User(UserAction::ChooseInstitution {
            id: "demo-bank".into(),
            auth_method: None,
        }),
    );
    drain(&mut flow, catalogue);
    flow
}

/// A flow waiting for an OTP: the typical parked USSD session.
pub fn mid_flow_snapshot_len(catalogue: &Arc<Catalogue>) -> usize {
    let mut flow = at_credentials(catalogue);
    let _ = flow.handle(
        NOW,
        Input::User(UserAction::Submit(
            Values::new().with("username", "ada").with("password", "pw"),
        )),
    );
    let Some(Effect::Call { id, .. }) = flow.poll_effect() else {
        return 0;
    };
    let otp = Form::new(
        "Enter the OTP sent to 080...21",
        vec![Field::input("otp", "OTP").max_length(6)],
    );
    let _ = flow.handle(
        NOW,
        Input::Api {
            id,
            result: Ok(Reply::Step(Step::needs_input(otp))),
        },
    );
    while flow.poll_event().is_some() {}
    flow.snapshot().to_json().len()
}

fn benches(c: &mut Criterion) {
    let catalogue = Arc::new(explore::demo_catalogue());
    assert_eq!(happy_path(&catalogue).state(), StateKind::Done);
    eprintln!(
        "mid-flow snapshot: {} bytes",
        mid_flow_snapshot_len(&catalogue)
    );

    let start = at_credentials(&catalogue);
    c.bench_function("core/handle_submit_and_drain", |b| {
        b.iter_batched(
            || {
                (
                    start.clone(),
                    Values::new().with("username", "ada").with("password", "pw"),
                )
            },
            |(mut flow, values)| {
                flow.handle(NOW, Input::User(UserAction::Submit(values)))
                    .ok();
                while let Some(e) = flow.poll_effect() {
                    black_box(e);
                }
                while let Some(e) = flow.poll_event() {
                    black_box(e);
                }
                flow
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("core/happy_path_flow", |b| {
        b.iter(|| black_box(happy_path(&catalogue)))
    });
    let parked = {
        let mut f = at_credentials(&catalogue);
        while f.poll_event().is_some() {}
        f
    };
    c.bench_function("core/snapshot_to_json_and_restore", |b| {
        b.iter(|| {
            let bytes = parked.snapshot().to_json();
            let snap = Snapshot::from_json(black_box(&bytes)).ok();
            snap.and_then(|s| ConnectFlow::restore(s, Some(Arc::clone(&catalogue))).ok())
        })
    });
}

// What `criterion_group!(core, benches)` expands to, written out: the macro
// defines an undocumented `pub fn`, which the crate's `missing_docs` lint
// refuses.
fn core() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
}

criterion_main!(core);
