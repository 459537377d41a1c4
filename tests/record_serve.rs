//! Recording on a server and replaying on the recording's clock:
//! `connectflow serve --record-dir` writes each flow it serves as a
//! transcript of its own (no secret in it) that `ReplayPartner` serves back;
//! a replay driven by `ReplayPartner::clock` takes its time from the
//! recording, so a flow that waited minutes for a bank replays at once.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::driver::{Driver, DriverConfig, RecordDir, Recorder, Transcript};
use connectflow::flow::{ConnectFlow, FlowConfig, StateKind, UserAction, View};
use connectflow::form::Values;
use connectflow::testing::{
    find_secret, flinks_config, flinks_driver, mono_driver, test_users, FakeClock, ReplayPartner,
    Sandbox, TempDir, OTP, PASSWORD, SECRET_KEY,
};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "record-dir-token";

#[path = "support/at_hop.rs"]
mod at_hop;
#[path = "support/process.rs"]
mod process;
use process::{connectflow, Process};

fn serve(partner: &str, records: &str, record_dir: &str) -> Process {
    Process::start(
        connectflow(&["serve", "--addr", "127.0.0.1:0", "--records", records])
            .args(["--base-url", partner, "--record-dir", record_dir])
            .env("MONO_SEC_KEY", SECRET_KEY)
            .env("CONNECTFLOW_GATEWAY_TOKEN", TOKEN),
    )
}

/// One Africa's Talking hop: `(end, screen)`.
async fn hop(url: &str, session: &str, phone: &str, text: &str) -> (bool, String) {
    at_hop::at_hop(url, TOKEN, session, phone, text).await
}

/// Drives `flow` through `driver` as a person would: the institution and
/// method the recording chose (`pick`), `username` and the sandbox's
/// answers in every form, the first account. Returns the final state.
async fn drive(
    driver: &Driver,
    flow: &mut ConnectFlow,
    pick: &(String, Option<String>),
    (username, password): (&str, &str),
) -> StateKind {
    for _ in 0..30 {
        driver.run(flow, &mut |_| {}).await.unwrap();
        let action = match flow.view() {
            View::ChooseInstitution { .. } => UserAction::ChooseInstitution {
                id: pick.0.clone(),
                auth_method: pick.1.clone().map(Into::into),
            },
            View::Form(f) => {
                let mut values = Values::new();
                for field in &f.form.fields {
                    let value = match field.name.as_str() {
                        "username" => username,
                        "password" => password,
                        "otp" => OTP,
                        _ => "Montreal",
                    };
                    values.insert(field.name.clone(), value);
                }
                UserAction::Submit(values)
            }
            View::ChooseAccount { .. } => UserAction::ChooseAccount(0),
            _ => return flow.state(),
        };
        flow.handle(driver.now(), connectflow::flow::Input::User(action))
            .unwrap();
    }
    panic!("the flow did not end: {:?}", flow.view());
}

/// The institution and method a recorded session was created for.
fn recorded_pick(t: &Transcript) -> (String, Option<String>) {
    let body = t
        .exchanges()
        .find(|x| x.call == "create_session")
        .and_then(|x| x.request_body.clone())
        .expect("a recorded session");
    let text = body.to_string();
    let id = test_users_bank(&text);
    let method = ["internet_banking", "mobile_banking"]
        .into_iter()
        .find(|m| text.contains(m))
        .map(str::to_owned);
    (id, method)
}

fn test_users_bank(text: &str) -> String {
    for bank in [
        connectflow::testing::SANDBOX_CAPTCHA_BANK,
        connectflow::testing::SANDBOX_BANK,
    ] {
        if text.contains(bank) {
            return bank.to_owned();
        }
    }
    panic!("no sandbox bank in {text}");
}

/// `serve --record-dir`: a USSD session of `user_otp` linked over HTTP is
/// written as a transcript of its own, named by the flow's reference; it
/// holds no secret the run typed (password, OTP) or the bank knows of the
/// person (name, BVN, phone, e-mail, accounts), nor the key; and served
/// back by `ReplayPartner` it replays with no divergence, through the
/// same calls in the same states, to a linked account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_records_each_flow_and_its_transcript_replays() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let dir = TempDir::new("record-dir");
    let flows = dir.path().join("flows");
    let server = serve(
        &sandbox.url(),
        &dir.sqlite("records.db"),
        flows.to_str().unwrap(),
    );
    let answers = ["1", "1", "user_otp", PASSWORD, OTP];
    let mut text = String::new();
    let mut last = hop(&server.url, "ATUid_rec", "+254711000777", "").await;
    for (i, a) in answers.iter().enumerate() {
        text = if i == 0 {
            (*a).to_owned()
        } else {
            format!("{text}*{a}")
        };
        last = hop(&server.url, "ATUid_rec", "+254711000777", &text).await;
    }
    assert!(last.0 && last.1.contains("linked"), "{last:?}");
    drop(server);

    let files: Vec<_> = std::fs::read_dir(&flows)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "jsonl");
    let written = std::fs::read_to_string(&files[0]).unwrap();
    let user = test_users()
        .iter()
        .find(|u| u.username == "user_otp")
        .unwrap();
    let mut secrets: Vec<String> = [SECRET_KEY, "user_otp", PASSWORD, OTP, "+254711000777"]
        .map(str::to_owned)
        .to_vec();
    secrets.extend(
        [user.name, user.bvn, user.phone, user.email]
            .into_iter()
            .chain(user.accounts())
            .map(str::to_owned),
    );
    if let Some((secret, form)) = find_secret(&written, &secrets) {
        panic!("the transcript holds a secret ({secret:?} as {form:?}):\n{written}");
    }

    let transcript = Transcript::load(&files[0]).unwrap();
    let calls: Vec<&str> = transcript.exchanges().map(|x| x.call.as_str()).collect();
    assert_eq!(calls.first(), Some(&"list_institutions"), "{calls:?}");
    assert!(calls.contains(&"login") && calls.last() == Some(&"exchange_code"));

    // Replayed offline, recorded again the way the server records.
    let partner = ReplayPartner::start(transcript.clone()).await.unwrap();
    let again_dir = Arc::new(RecordDir::new(dir.path().join("again"), "mono").unwrap());
    let driver = mono_driver(&partner.url(), DriverConfig::default())
        .with_timeline(partner.clock())
        .with_record_dir(Arc::clone(&again_dir));
    let mut flow = ConnectFlow::new(FlowConfig::default().with_reference("again"), driver.now());
    let end = drive(
        &driver,
        &mut flow,
        &recorded_pick(&transcript),
        ("someone_else", "x"),
    )
    .await;
    assert_eq!(partner.divergence(), None);
    assert_eq!(end, StateKind::Done);
    assert_eq!(partner.answered(), partner.len());
    let again = Transcript::load(&again_dir.path_for("again")).unwrap();
    assert_eq!(again.states(), transcript.states());
    let again_calls: Vec<&str> = again.exchanges().map(|x| x.call.as_str()).collect();
    assert_eq!(again_calls, calls);
    sandbox.shutdown().await;
}

/// Time comes from the recording: a Flinks login the bank kept "pending"
/// for two status polls ten minutes apart (recorded on a fake clock, so the
/// recording itself waits for nothing) replays with no waiting — a replay
/// that slept through the polls would outlast the 60 s bound by far — in
/// the same states and events, each call made at the time it was made
/// when recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_takes_its_time_from_the_recording() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let flinks = connectflow::dialect::FlinksConfig {
        poll_interval_ms: 600_000,
        poll_deadline_ms: 3_600_000,
        ..flinks_config()
    };
    let dir = TempDir::new("replay-clock");
    let (first, second) = (
        dir.path().join("first.jsonl"),
        dir.path().join("second.jsonl"),
    );
    let clock = FakeClock::default();
    let recorder = Arc::new(Recorder::create(&first, "flinks").unwrap());
    let driver = flinks_driver(&sandbox.url(), flinks.clone(), DriverConfig::default())
        .with_timeline(Arc::new(clock.clone()))
        .with_recorder(Arc::clone(&recorder));
    let pick = (
        connectflow::dialect::flinks::FLINKS_CAPITAL.to_owned(),
        None,
    );
    let mut flow = ConnectFlow::new(FlowConfig::default(), driver.now());
    let end = drive(&driver, &mut flow, &pick, ("test_dispatched", "Everyday")).await;
    assert_eq!(end, StateKind::Done);
    recorder.finish().unwrap();
    let transcript = Transcript::load(&first).unwrap();
    assert!(transcript.states().contains(&"Pending"), "{transcript:?}");
    let ats: Vec<u64> = transcript.exchanges().map(|x| x.at).collect();
    let span = ats.last().unwrap() - ats.first().unwrap();
    assert!(span >= 2 * 600_000, "the polls were not apart: {ats:?}");
    sandbox.shutdown().await;

    // The sandbox is gone: only the recording answers.
    let partner = ReplayPartner::start(transcript.clone()).await.unwrap();
    let recorder = Arc::new(Recorder::create(&second, "flinks").unwrap());
    let driver = flinks_driver(&partner.url(), flinks, DriverConfig::default())
        .with_timeline(partner.clock())
        .with_recorder(Arc::clone(&recorder));
    let mut flow = ConnectFlow::new(FlowConfig::default(), driver.now());
    let end = tokio::time::timeout(
        Duration::from_secs(60),
        drive(&driver, &mut flow, &pick, ("someone_else", "x")),
    )
    .await
    .expect("the replay waited out the recorded polls");
    assert_eq!(end, StateKind::Done);
    assert_eq!(partner.divergence(), None);
    recorder.finish().unwrap();
    let again = Transcript::load(&second).unwrap();
    assert_eq!(again.states(), transcript.states());
    assert_eq!(again.events(), transcript.events());
    for (a, r) in again.exchanges().zip(transcript.exchanges()) {
        assert!(
            // Within the few ms each loopback reply took.
            a.at.abs_diff(r.at) <= 5_000,
            "exchange {} made at {}, recorded at {}",
            r.seq,
            a.at,
            r.at
        );
    }
}
