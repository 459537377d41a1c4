//! Recording a real conversation and replaying it offline: `connectflow
//! link --record` through the sandbox, `ReplayPartner` (and `connectflow
//! replay`) serving it back, and no secret of the run in the file.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::driver::{now, DriverConfig, Recorder, Transcript};
use connectflow::flow::{
    ConnectFlow, Effect, FlowConfig, Input, Linked, Reply, Step, UserAction, View,
};
use connectflow::form::Values;
use connectflow::testing::{
    find_secret, mono_driver, test_users, ReplayPartner, Sandbox, TempDir, OTP, PASSWORD,
    SECRET_KEY, SECURITY_ANSWER,
};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

#[path = "support/process.rs"]
mod process;

const CHAIN: &str = "sandbox-bank\n1\nuser_chain\npass_good\n123456\nMontreal\n2\n";

fn connectflow(dir: &TempDir, args: &[&str], stdin: &str) -> Output {
    process::output(
        process::connectflow(args)
            .env("CONNECTFLOW_RECORDS", dir.sqlite("records.db"))
            .env_remove("MONO_SEC_KEY"),
        stdin,
    )
}

/// `connectflow link --json --replay RECORDING` and `extra`, typing `stdin`.
fn link_replay(dir: &TempDir, recording: &Path, extra: &[&str], stdin: &str) -> Output {
    let mut args = vec!["link", "--json", "--replay", recording.to_str().unwrap()];
    args.extend_from_slice(extra);
    connectflow(dir, &args, stdin)
}

/// The run exited 0 and its last JSON line says linked.
fn assert_linked(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(last_result(out)["result"], "linked");
}

fn event_types(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["type"].as_str().map(str::to_owned))
        .collect()
}

fn last_result(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("{}");
    serde_json::from_str(last).unwrap_or_default()
}

/// Records `user_chain` (OTP, security question, account list) through the
/// embedded sandbox into `file`.
fn record_chain(dir: &TempDir, file: &Path) -> Output {
    let out = connectflow(
        dir,
        &["link", "--json", "--record", file.to_str().unwrap()],
        CHAIN,
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_user_chain_replays_offline_with_the_same_states_and_events() {
    let dir = TempDir::new("replay");
    let first = dir.path().join("chain.jsonl");
    let recorded = record_chain(&dir, &first);
    let transcript = Transcript::load(&first).unwrap();
    assert_eq!(transcript.partner, "mono");
    assert_eq!(transcript.exchanges().count(), 7, "{transcript:?}");
    assert!(transcript.states().contains(&"AwaitingAccount"));

    // Offline: the transcript is the partner. Someone else's credentials
    // are fine (they were placeholders); the conversation is the same.
    let partner = ReplayPartner::start(transcript.clone()).await.unwrap();
    let second = dir.path().join("replayed.jsonl");
    let url = partner.url();
    let dir2 = TempDir::new("replay-run");
    let second_path = second.to_str().unwrap().to_owned();
    let stdin = "sandbox-bank\n1\nsomeone_else\nother-pass\n654321\nParis\n2\n";
    let replayed = tokio::task::spawn_blocking(move || {
        let args = [
            "link",
            "--json",
            "--base-url",
            &url,
            // The recording's customer: the sandbox's demo one.
            "--customer-name",
            "Sandbox Customer",
            "--customer-email",
            "customer@example.com",
            "--secret-key",
            "another-key",
            "--record",
            &second_path,
        ];
        connectflow(&dir2, &args, stdin)
    })
    .await
    .unwrap();
    assert!(
        replayed.status.success(),
        "stderr: {}\ndivergence: {:?}",
        String::from_utf8_lossy(&replayed.stderr),
        partner.divergence()
    );
    assert_eq!(partner.divergence(), None);
    assert_eq!(partner.answered(), 7);
    assert_eq!(event_types(&recorded), event_types(&replayed));
    assert_eq!(last_result(&replayed)["result"], "linked");
    let again = Transcript::load(&second).unwrap();
    assert_eq!(again.states(), transcript.states());
    assert_eq!(again.events(), transcript.events());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_differs_from_the_recording_is_reported_not_answered() {
    let dir = TempDir::new("diverge");
    let file = dir.path().join("chain.jsonl");
    record_chain(&dir, &file);
    let partner = ReplayPartner::start(Transcript::load(&file).unwrap())
        .await
        .unwrap();
    // The recording chose internet banking; this run chooses mobile banking.
    let url = partner.url();
    let dir2 = TempDir::new("diverge-run");
    let out = tokio::task::spawn_blocking(move || {
        let args = [
            "link",
            "--json",
            "--base-url",
            &url,
            // The recording's customer: the sandbox's demo one.
            "--customer-name",
            "Sandbox Customer",
            "--customer-email",
            "customer@example.com",
            "--secret-key",
            "k",
            "--institution",
            "sandbox-bank",
            "--auth-method",
            "mobile_banking",
        ];
        connectflow(&dir2, &args, "x\ny\n")
    })
    .await
    .unwrap();
    assert_ne!(last_result(&out)["result"], "linked");
    let divergence = partner.divergence().expect("the difference is reported");
    assert_eq!(divergence.seq, 2, "{divergence}");
    assert!(
        divergence.diff.contains("body.auth_method")
            && divergence.diff.contains("internet_banking")
            && divergence.diff.contains("mobile_banking"),
        "{divergence}"
    );
    // Only the institution list was answered from the recording.
    assert_eq!(partner.answered(), 1);
}

#[test]
fn connectflow_replay_serves_a_transcript_and_exits_0_when_every_exchange_matched() {
    let dir = TempDir::new("replay-cli");
    let file = dir.path().join("chain.jsonl");
    record_chain(&dir, &file);
    let mut server = Command::new(env!("CARGO_BIN_EXE_connectflow"))
        .args(["replay", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let out = connectflow(
        &dir,
        &[
            "link",
            "--json",
            "--base-url",
            url.trim(),
            // The recording's customer: the sandbox's demo one.
            "--customer-name",
            "Sandbox Customer",
            "--customer-email",
            "customer@example.com",
            "--secret-key",
            "k",
        ],
        CHAIN,
    );
    assert_eq!(last_result(&out)["result"], "linked");
    let done = server.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stderr).contains("all 7 exchanges matched"));
}

/// `link --replay` of the committed recording, whose session expired days
/// ago: run on the recording's clock, the flow uses the recorded session
/// and links, with no network and nothing in the person's records.
/// Finding (review, 2026-12-05): replayed with `replay` + `link
/// --base-url` on the real clock, the session read as expired and the flow
/// opened a new one, which the recording does not have: every recording
/// older than its session failed to replay.
#[test]
fn link_replay_replays_a_recording_older_than_its_session() {
    let dir = TempDir::new("link-replay");
    let recording = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings/user_good.jsonl");
    let replay = |method: &str| {
        let chosen = ["--institution", "sandbox-bank", "--auth-method", method];
        link_replay(&dir, &recording, &chosen, "someone\nanything\n")
    };
    let out = replay("internet_banking");
    assert_linked(&out);
    // The replay's link went to throwaway records, not the person's.
    let listed = connectflow(&dir, &["records", "list", "--json"], "");
    assert!(listed.status.success());
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("sandbox-bank"));

    // A flow that goes another way than the recording fails, and says where.
    let out = replay("mobile_banking");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("replay diverged at exchange 2"), "{stderr}");
}

/// A Flinks login (with its authorize token and three questions) recorded
/// through the sandbox replays with `link --replay` alone: the partner and
/// its kind of instance come from the recording.
#[test]
fn link_replay_replays_a_flinks_recording() {
    let dir = TempDir::new("link-replay-flinks");
    let file = dir.path().join("greatday.jsonl");
    let answers = "Greatday\nEveryday\nMontreal\nCanada\nTriangle\n";
    let recorded = connectflow(
        &dir,
        &[
            "link",
            "--json",
            "--partner",
            "flinks",
            "--institution",
            "FlinksCapital",
            "--record",
            file.to_str().unwrap(),
        ],
        answers,
    );
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    // Replays `recording`, linking as recorded: exit 0, the result line.
    let replayed = |recording: &Path| {
        let out = link_replay(
            &dir,
            recording,
            &["--institution", "FlinksCapital"],
            answers,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        last_result(&out)
    };
    let result = replayed(&file);
    assert_eq!(result["partner"], "flinks");
    assert_eq!(result["result"], "linked");

    // Recorded at another instance: its customer id, in every path, is
    // the one the replay uses (no flag needed).
    let elsewhere = dir.path().join("elsewhere.jsonl");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        connectflow::testing::FLINKS_CUSTOMER_ID,
        "0f0e0d0c-0b0a-0908-0706-050403020100",
    );
    std::fs::write(&elsewhere, text).unwrap();
    assert_eq!(replayed(&elsewhere)["result"], "linked");
}

/// A `Write` the test can read back after the recorder is done.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_recording_holds_no_secret_the_run_typed_or_received() {
    let sandbox = Sandbox::start_local().await.unwrap();
    let buffer = Buffer::default();
    let recorder = Arc::new(Recorder::to_writer(buffer.clone(), "mono"));
    let driver = mono_driver(&sandbox.url(), DriverConfig::default()).with_recorder(recorder);
    let user = test_users()
        .iter()
        .find(|u| u.username == "user_chain")
        .unwrap();
    // What the run typed: the driver's key and customer, the credentials
    // and both MFA answers.
    let mut secrets: Vec<String> = [
        SECRET_KEY,
        "Ada Obi",
        "ada@example.com",
        user.username,
        PASSWORD,
        OTP,
        SECURITY_ANSWER,
    ]
    .map(str::to_owned)
    .to_vec();
    // What the person is, as the bank knows them.
    secrets.extend(
        [user.name, user.bvn, user.phone, user.email]
            .into_iter()
            .chain(user.accounts())
            .map(str::to_owned),
    );
    let answer = |name: &str| match name {
        "username" => user.username,
        "password" => PASSWORD,
        "otp" => OTP,
        _ => SECURITY_ANSWER,
    };
    let mut flow = ConnectFlow::new(FlowConfig::default(), now());
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 50, "the flow did not finish: {:?}", flow.view());
        // Every call, with what the partner gave out kept as a secret.
        while let Some(Effect::Call { id, call }) = flow.poll_effect() {
            let result = driver.call(&flow, &call).await;
            match &result {
                Ok(Reply::SessionCreated(info)) => secrets.push(info.id.clone()),
                Ok(Reply::Step(Step::Done(Linked::Code(c) | Linked::Account(c)))) => {
                    secrets.push(c.clone())
                }
                Ok(Reply::Step(Step::ChooseAccount { accounts, .. })) => {
                    secrets.extend(accounts.iter().map(|a| a.number.clone()));
                    secrets.extend(accounts.iter().map(|a| a.name.clone()));
                }
                Ok(Reply::Exchanged { account_id }) => secrets.push(account_id.clone()),
                _ => {}
            }
            flow.handle(now(), Input::Api { id, result }).unwrap();
        }
        while flow.poll_event().is_some() {}
        let action = match flow.view() {
            View::ChooseInstitution { .. } => UserAction::ChooseInstitution {
                id: "sandbox-bank".into(),
                auth_method: None,
            },
            View::Form(form) => {
                let mut values = Values::new();
                for field in &form.form.fields {
                    values.insert(field.name.clone(), answer(&field.name));
                }
                UserAction::Submit(values)
            }
            View::ChooseAccount { .. } => UserAction::ChooseAccount(1),
            View::Done { .. } => break,
            other => panic!("unexpected view {other:?}"),
        };
        flow.handle(now(), Input::User(action)).unwrap();
    }
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(text.lines().count() > 5, "{text}");
    assert!(secrets.len() >= 15, "{secrets:?}");
    if let Some((secret, form)) = find_secret(&text, &secrets) {
        panic!("the transcript holds a secret ({secret:?} as {form:?}):\n{text}");
    }
    // The conversation still reads: the session id the partner gave out is
    // the one each login sent back, under one placeholder.
    let transcript = Transcript::read(text.as_bytes()).unwrap();
    let sessions: Vec<&String> = transcript
        .exchanges()
        .filter_map(|x| x.request_headers.get("x-session-id"))
        .collect();
    assert!(sessions.len() >= 3);
    assert!(sessions.iter().all(|s| *s == sessions[0]));
    sandbox.shutdown().await;
}

/// A Flinks link that finishes in the background (`test_dispatched`: a
/// `202`, then the status poll, a `GET`): the poll's reply carries the
/// durable `LoginId` and the holder's name, and neither reaches the
/// transcript. A `GET` reply is not public for being a `GET`; only the
/// institution list is.
#[tokio::test]
async fn a_flinks_poll_reply_keeps_its_login_id_out_of_the_transcript() {
    use connectflow::dialect::flinks::FLINKS_CAPITAL;
    use connectflow::testing::{flinks_config, flinks_driver};
    let sandbox = Sandbox::start_local().await.unwrap();
    let buffer = Buffer::default();
    let recorder = Arc::new(Recorder::to_writer(buffer.clone(), "flinks"));
    let driver = flinks_driver(&sandbox.url(), flinks_config(), DriverConfig::default())
        .with_recorder(recorder);
    let config = FlowConfig::default().with_institution(FLINKS_CAPITAL, None);
    let mut flow = ConnectFlow::new(config, now());
    let mut steps = 0;
    let login_id = loop {
        steps += 1;
        assert!(steps < 10, "the flow did not finish: {:?}", flow.view());
        driver.run(&mut flow, &mut |_| {}).await.unwrap();
        match flow.view() {
            View::Form(_) => {
                let values = Values::new()
                    .with("username", "test_dispatched")
                    .with("password", "Everyday");
                flow.handle(now(), Input::User(UserAction::Submit(values)))
                    .unwrap();
            }
            View::Done {
                account_id: Some(id),
                ..
            } => break id.to_owned(),
            other => panic!("unexpected view {other:?}"),
        }
    };
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("GetAccountsDetailAsync"), "{text}");
    assert!(
        !text.contains(&login_id),
        "the transcript holds the LoginId {login_id}:\n{text}"
    );
}

/// A person who let the session expire on the login form, and typed after
/// it: recorded, the flow opened a new session before their login went;
/// `link --replay` hands each action over at the time the recording's
/// person acted, so the replay expires and renews the session too, and
/// links. (Finding, 2026-12-05: the replay's clock stood still while the
/// person typed, so the login went on the old session and the replay
/// diverged at the new one.) Recorded on the wall clock against a sandbox
/// whose sessions live two seconds, acting as `link` does: the flow's
/// deadlines fired first, at the action's time.
#[tokio::test]
async fn link_replay_replays_a_session_the_person_let_expire_on_the_form() {
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        connectflow::testing::SandboxConfig {
            session_ttl: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = TempDir::new("replay-expiry");
    let file = dir.path().join("expired.jsonl");
    let recorder = Arc::new(Recorder::create(&file, "mono").unwrap());
    let driver =
        mono_driver(&sandbox.url(), DriverConfig::default()).with_recorder(recorder.clone());
    let config = FlowConfig::default().with_institution(
        "sandbox-bank",
        Some(connectflow::flow::AuthMethodKind::InternetBanking),
    );
    let mut flow = ConnectFlow::new(config, driver.now());
    // The person logs in as `link` hands it over: true when the login
    // went, false when a deadline changed the screen first.
    let log_in = |flow: &mut ConnectFlow| {
        let View::Form(form) = flow.view() else {
            panic!("not on the login form: {:?}", flow.view())
        };
        let mut values = Values::new();
        for field in &form.form.fields {
            let value = if field.name == "password" {
                PASSWORD
            } else {
                "user_good"
            };
            values.insert(field.name.clone(), value);
        }
        let before = flow.state();
        let now = driver.input_time();
        flow.handle_timeout(now);
        if flow.state() != before {
            return false;
        }
        flow.handle(now, Input::User(UserAction::Submit(values)))
            .unwrap();
        true
    };
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    // Past the session's life on the form: the first login meets the
    // expiry, and the renewed session takes the second.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(!log_in(&mut flow), "the session did not expire");
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert!(log_in(&mut flow));
    driver.run(&mut flow, &mut |_| {}).await.unwrap();
    assert!(
        matches!(flow.view(), View::Done { .. }),
        "{:?}",
        flow.view()
    );
    recorder.finish().unwrap();
    sandbox.shutdown().await;
    let transcript = Transcript::load(&file).unwrap();
    let sessions = transcript
        .exchanges()
        .filter(|x| x.call == "create_session")
        .count();
    assert_eq!(sessions, 2, "the recording holds the renewal");
    let inputs = transcript
        .entries
        .iter()
        .filter(|e| matches!(e, connectflow::driver::Entry::Input { .. }))
        .count();
    assert_eq!(inputs, 2, "both logins' times are recorded");

    // Typed as the person typed it: the login twice.
    let chosen = [
        "--institution",
        "sandbox-bank",
        "--auth-method",
        "internet_banking",
    ];
    let out = link_replay(
        &dir,
        &file,
        &chosen,
        "user_good\npass_good\nuser_good\npass_good\n",
    );
    assert_linked(&out);
}

/// The replay's clock hands the person's actions over at the recorded
/// times, in order, and stays at the last; a transcript with no recorded
/// inputs (format 1) leaves it at the last reply's time.
#[tokio::test]
async fn the_replay_clock_moves_to_each_recorded_input_in_order() {
    let exchange = r#"{"type":"exchange","seq":1,"call":"list_institutions","method":"GET","path":"/v3/institutions","request_headers":{},"request_body":null,"status":200,"response_headers":{},"response_body":{},"at":1000,"ms":10}"#;
    let with_inputs = format!(
        "{{\"type\":\"header\",\"version\":2,\"partner\":\"mono\"}}\n{exchange}\n{{\"type\":\"input\",\"at\":5000}}\n{{\"type\":\"input\",\"at\":9000}}\n"
    );
    let partner = ReplayPartner::start(Transcript::read(with_inputs.as_bytes()).unwrap())
        .await
        .unwrap();
    let clock = partner.clock();
    use connectflow::driver::Timeline;
    assert_eq!(clock.now().0, 1000, "before the first exchange: its time");
    assert_eq!(clock.input_at().0, 5000);
    assert_eq!(clock.input_at().0, 9000);
    assert_eq!(clock.input_at().0, 9000, "past the last input: stays");
    assert_eq!(clock.now().0, 9000);

    let without =
        format!("{{\"type\":\"header\",\"version\":1,\"partner\":\"mono\"}}\n{exchange}\n");
    let partner = ReplayPartner::start(Transcript::read(without.as_bytes()).unwrap())
        .await
        .unwrap();
    assert_eq!(partner.clock().input_at().0, 1000);
}

/// A transcript keeps the time of each of the person's actions (format 2);
/// one continued under a format-1 header gets none, which a reader of
/// format 1 would refuse line by line.
#[test]
fn action_times_are_recorded_only_under_a_header_that_allows_them() {
    let dir = TempDir::new("record-inputs");
    let inputs = |path: &Path| {
        let transcript = Transcript::load(path).unwrap();
        let header = std::fs::read_to_string(path).unwrap();
        let count = transcript
            .entries
            .iter()
            .filter(|e| matches!(e, connectflow::driver::Entry::Input { .. }))
            .count();
        (header.lines().next().unwrap().to_owned(), count)
    };
    let fresh = dir.path().join("fresh.jsonl");
    let recorder = Arc::new(Recorder::create(&fresh, "mono").unwrap());
    let driver =
        mono_driver("http://127.0.0.1:9", DriverConfig::default()).with_recorder(recorder.clone());
    driver.input_time();
    driver.input_time();
    recorder.finish().unwrap();
    let (header, count) = inputs(&fresh);
    assert!(header.contains(r#""version":2"#), "{header}");
    assert_eq!(count, 2);

    let old = dir.path().join("old.jsonl");
    std::fs::write(
        &old,
        "{\"type\":\"header\",\"version\":1,\"partner\":\"mono\"}\n{\"type\":\"state\",\"state\":\"LoadingInstitutions\"}\n",
    )
    .unwrap();
    let recorder = Arc::new(Recorder::append(&old, "mono").unwrap());
    let driver =
        mono_driver("http://127.0.0.1:9", DriverConfig::default()).with_recorder(recorder.clone());
    driver.input_time();
    recorder.finish().unwrap();
    assert_eq!(inputs(&old).1, 0);
}
