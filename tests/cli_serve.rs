//! `connectflow serve` itself, as a process: the callback it prints for
//! each gateway, and the flags that shape what it serves (`--service-code`,
//! `--session-ttl`), each checked through a gateway's own requests; and
//! `--mtn-ng`, which dials MTN Nigeria's gateway instead.
#![cfg(all(feature = "cli", feature = "testing"))]

use connectflow::testing::TempDir;
use process::Process;
use std::time::Duration;

#[path = "ussd/mtn_server.rs"]
mod mtn_server;
#[path = "support/process.rs"]
mod process;

/// `serve --gateway GATEWAY` on the embedded sandbox with `token` and
/// records of its own (kept while the directory lives), its first three
/// lines read.
fn serve_gateway(gateway: &str, token: &str, extra: &[&str]) -> (TempDir, Process) {
    let dir = TempDir::new(&format!("cli-{gateway}"));
    let records = dir.sqlite("records.db");
    let mut args = vec!["serve", "--addr", "127.0.0.1:0", "--gateway", gateway];
    args.extend_from_slice(extra);
    let serve = Process::start_reading(
        process::connectflow(&args)
            .env("CONNECTFLOW_GATEWAY_TOKEN", token)
            .env("CONNECTFLOW_RECORDS", &records)
            .env_remove("MONO_SEC_KEY"),
        3,
    );
    (dir, serve)
}

/// `serve --gateway infobip` names the base Infobip is given (it appends
/// the session and the call, so the token goes in a header), and a first
/// dial through that base, the token as a Basic password, gets Infobip's
/// reply.
#[test]
fn serve_prints_infobips_callback_and_answers_there() {
    let (_dir, serve) = serve_gateway("infobip", "infobip-token", &[]);
    let callback = serve
        .lines
        .iter()
        .find(|l| l.starts_with("gateway callback:"))
        .unwrap_or_else(|| panic!("{:#?}", serve.lines));
    assert!(
        callback.contains(&format!("{}/ussd/infobip (Infobip appends", serve.url))
            && callback.contains("Authorization: Bearer $CONNECTFLOW_GATEWAY_TOKEN")
            && callback.ends_with("or as an HTTP Basic password"),
        "{callback}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/ussd/infobip/ib-cli-1/start", serve.url))
            .basic_auth("infobip", Some("infobip-token"))
            .json(
                &serde_json::json!({"msisdn": "2348031234599", "text": "*384*123#",
                "shortCode": "*384*123#"}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(reply["shouldClose"], false, "{reply}");
    assert!(
        reply["ussdMenu"]
            .as_str()
            .unwrap()
            .contains("Choose your bank"),
        "{reply}"
    );
}

/// `serve --gateway airtel`, `dmark` and `hollatags` print `GET` callbacks
/// (they call by `GET`), `sendexa` a `POST` one.
#[test]
fn serve_prints_each_gateways_callback_method() {
    for (gateway, method) in [
        ("airtel", "GET"),
        ("dmark", "GET"),
        ("hollatags", "GET"),
        ("sendexa", "POST"),
    ] {
        let (_dir, serve) = serve_gateway(gateway, "gw-token", &[]);
        let want = format!(
            "gateway callback: {method} {}/ussd/{gateway}?token=$CONNECTFLOW_GATEWAY_TOKEN",
            serve.url
        );
        assert!(serve.lines.contains(&want), "{gateway}: {:#?}", serve.lines);
    }
}

/// `serve --service-code` tells the channel the code Airtel leaves out: a
/// first dial with a bank after the code (`*384*123*1#`) opens that bank's
/// log-in choices. A flag that is not a USSD code is refused up front.
#[test]
fn serve_reads_a_pre_dialled_bank_after_the_given_service_code() {
    let (_dir, serve) = serve_gateway("airtel", "airtel-token", &["--service-code", "*384*123#"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let text = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{}/ussd/airtel", serve.url))
            .query(&[
                ("token", "airtel-token"),
                ("SessionID", "cli-ke-1"),
                ("MSISDN", "254733000299"),
                ("input", "*384*123*1#"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(text.contains("Sandbox Bank: log in with"), "{text}");

    let said = refused(&["--service-code", "*384*abc#"]);
    assert!(said.contains("is not a USSD code"), "{said}");
}

/// What `serve` printed on stderr when it refused `extra` before starting;
/// a panic if it started instead. Were it accepted, serve would run: on a
/// free port, with records of its own, and killed at a deadline.
fn refused(extra: &[&str]) -> String {
    let dir = TempDir::new("cli-refused");
    let mut args = vec!["serve", "--addr", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut child = process::connectflow(&args)
        .env("CONNECTFLOW_RECORDS", dir.sqlite("records.db"))
        .env_remove("MONO_SEC_KEY")
        .env_remove("CONNECTFLOW_WEBHOOK_SECRET")
        .env_remove("CONNECTFLOW_MTN_NG_PASSWORD")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started with {extra:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    assert!(!status.success(), "{extra:?}: {said}");
    said
}

/// What `serve` at `url` shows on `/metrics`.
async fn metrics_of(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// One Africa's Talking hop to `serve` (`text` cumulative, as AT sends it).
async fn at_hop(url: &str, session: &str, text: &str) -> String {
    reqwest::Client::new()
        .post(format!("{url}/ussd"))
        .bearer_auth("ttl-token")
        .form(&[
            ("sessionId", session),
            ("serviceCode", "*384*123#"),
            ("phoneNumber", "+2348031234577"),
            ("text", text),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `connectflow serve` in front of the stub `partner` with `extra`
/// arguments and `env`, records in `dir`, the gateway token `ttl-token`.
fn serve_stub(
    partner: &connectflow::testing::StubPartner,
    dir: &TempDir,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Process {
    let url = partner.url();
    let mut args = vec!["serve", "--addr", "127.0.0.1:0", "--base-url", &url];
    args.extend_from_slice(extra);
    Process::start_reading(
        process::connectflow(&args)
            .envs(env.iter().copied())
            .env("CONNECTFLOW_GATEWAY_TOKEN", "ttl-token")
            .env("CONNECTFLOW_RECORDS", dir.sqlite("records.db"))
            .env_remove("MONO_SEC_KEY"),
        3,
    )
}

/// A USSD session `session` dialled to the first bank's login form (where
/// its partner session is open).
async fn to_the_login_form(url: &str, session: &str) {
    at_hop(url, session, "").await;
    at_hop(url, session, "1").await;
    let login = at_hop(url, session, "1*1").await;
    assert!(login.to_lowercase().contains("username"), "{login}");
}

/// `--session-ttl` is how long a dropped session is offered again: a
/// re-dial just after the phone dropped at the login form is offered
/// `1. Continue`; once the TTL has passed since its last hop, a re-dial
/// gets the bank list. (Sleeps past a 3-second TTL: the expiry is the
/// behaviour under test, not a timing budget.)
#[test]
fn serve_offers_a_dropped_session_again_only_within_its_session_ttl() {
    let (_dir, serve) = serve_gateway(
        "africastalking",
        "ttl-token",
        &["--session-ttl", "3", "--claim-lease", "1"],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        at_hop(&serve.url, "ttl-1", "").await;
        at_hop(&serve.url, "ttl-1", "1").await;
        let login = at_hop(&serve.url, "ttl-1", "1*1").await;
        assert!(login.to_lowercase().contains("username"), "{login}");
        // The phone drops here; a re-dial at once is offered the flow.
        let offer = at_hop(&serve.url, "ttl-2", "").await;
        assert!(offer.contains("1. Continue"), "{offer}");
        // Left alone past the TTL (the offer was not taken: no hop of the
        // flow renewed it), the flow is gone and a re-dial starts afresh.
        tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
        let fresh = at_hop(&serve.url, "ttl-3", "").await;
        assert!(
            fresh.contains("Choose your bank") && !fresh.contains("Continue"),
            "{fresh}"
        );
    });
}

/// A session TTL shorter than the claim lease is refused before serve
/// starts: a partner call still in flight would find its session gone and
/// its outcome lost.
#[test]
fn serve_refuses_a_session_ttl_shorter_than_the_claim_lease() {
    let said = refused(&["--session-ttl", "60", "--claim-lease", "150"]);
    assert!(
        said.contains("--session-ttl 60 is shorter than --claim-lease 150"),
        "{said}"
    );
    let said = refused(&["--session-ttl", "0", "--claim-lease", "0"]);
    assert!(said.contains("--session-ttl 0"), "{said}");
}

/// The Mono customer of a USSD session (a person known only by a phone
/// number) is the one `--ussd-customer-id` names; with a live Mono key and
/// none named, serve refuses to start rather than file every USSD link
/// under a made-up customer with an example.com address.
#[test]
fn serve_opens_ussd_sessions_for_the_named_mono_customer() {
    let said = refused(&[
        "--base-url",
        "https://api.withmono.com",
        "--secret-key",
        "live_sk_not_a_real_key",
    ]);
    assert!(said.contains("--ussd-customer-id"), "{said}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let partner = runtime
        .block_on(connectflow::testing::StubPartner::start())
        .unwrap();
    let dir = TempDir::new("cli-ussd-customer");
    let serve = serve_stub(
        &partner,
        &dir,
        &[
            "--secret-key",
            "test_sk_stub",
            "--ussd-customer-id",
            "cus_ussd_7",
        ],
        &[],
    );
    runtime.block_on(to_the_login_form(&serve.url, "cust-1"));
    let sent = partner.requests_to(connectflow::testing::StubPartner::SESSION);
    let body = sent.last().and_then(|r| r.json()).unwrap_or_default();
    assert_eq!(body["customer"], serde_json::json!({"id": "cus_ussd_7"}));
}

/// `--ussd-customer-url`: serve asks the host's service who each phone is,
/// signed with the webhook secret, and opens that phone's Mono sessions for
/// the customer it names; with it, a live Mono key needs no
/// `--ussd-customer-id`. Without the secret to sign with, serve refuses to
/// start.
#[test]
fn serve_asks_the_hosts_directory_who_each_phone_is() {
    let said = refused(&["--ussd-customer-url", "http://127.0.0.1:9/who"]);
    assert!(said.contains("CONNECTFLOW_WEBHOOK_SECRET"), "{said}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let partner = runtime
        .block_on(connectflow::testing::StubPartner::start())
        .unwrap();
    partner.answer(
        "/who",
        connectflow::testing::Answer::json(200, &serde_json::json!({"id": "cus_from_host"})),
    );
    let dir = TempDir::new("cli-ussd-directory");
    let who = format!("{}/who", partner.url());
    let serve = serve_stub(
        &partner,
        &dir,
        &["--secret-key", "live_sk_stub", "--ussd-customer-url", &who],
        &[("CONNECTFLOW_WEBHOOK_SECRET", "whsec_cli")],
    );
    runtime.block_on(async {
        to_the_login_form(&serve.url, "dir-1").await;
        // An operator sees the lookups and how long they took.
        let metrics = metrics_of(&serve.url).await;
        assert!(
            metrics.contains(r#"connectflow_customer_lookups_total{outcome="found"} 1"#),
            "{metrics}"
        );
        assert!(
            metrics.contains("connectflow_customer_lookup_seconds_count 1"),
            "{metrics}"
        );
    });
    let asked = partner.requests_to("/who");
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].json().unwrap()["phone"], "+2348031234577");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = asked[0]
        .header(connectflow::service::SIGNATURE_HEADER)
        .unwrap_or_default();
    assert!(connectflow::service::signature::verify(
        b"whsec_cli",
        header,
        &asked[0].body,
        now,
        300
    ));
    let sent = partner.requests_to(connectflow::testing::StubPartner::SESSION);
    let body = sent.last().and_then(|r| r.json()).unwrap_or_default();
    assert_eq!(body["customer"], serde_json::json!({"id": "cus_from_host"}));
}

/// `serve --mtn-ng` dials MTN Nigeria's gateway (a stand-in on loopback),
/// logs in with the account's user name, application id and the password
/// from the environment, and serves the hops that come over it. Without
/// the password, or with an address that is not HOST:PORT, serve refuses
/// to start.
#[test]
fn serve_dials_mtn_nigeria_and_serves_its_hops() {
    let link = ["--mtn-ng-user", "cf-user", "--mtn-ng-application-id", "77"];
    let said = refused(&[&["--mtn-ng", "127.0.0.1:9"][..], &link[..]].concat());
    assert!(said.contains("CONNECTFLOW_MTN_NG_PASSWORD"), "{said}");
    let said = refused(&[&["--mtn-ng", "mtn.example"][..], &link[..]].concat());
    assert!(said.contains("is not HOST:PORT"), "{said}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(mtn_server::MtnServer::start());
    let addr = server.addr();
    let dir = TempDir::new("cli-mtn-ng");
    let mut args = vec!["serve", "--addr", "127.0.0.1:0", "--mtn-ng", &addr];
    args.extend_from_slice(&link);
    let serve = Process::start_reading(
        process::connectflow(&args)
            .env("CONNECTFLOW_MTN_NG_PASSWORD", "cf-pass")
            .env("CONNECTFLOW_RECORDS", dir.sqlite("records.db"))
            .env_remove("MONO_SEC_KEY"),
        5,
    );
    assert!(
        serve
            .lines
            .contains(&format!("mtn nigeria: connecting to {addr} as cf-user")),
        "{:#?}",
        serve.lines
    );
    runtime.block_on(async {
        let (mut mtn, login) = server.accept_login().await;
        assert_eq!(
            (
                login.get("userName"),
                login.get("passWord"),
                login.get("applicationId")
            ),
            ("cf-user", "cf-pass", "77")
        );
        mtn.welcome(&login).await;
        let shown = mtn
            .hop("5100000001", "2348031234567", "1", "*123#", "0")
            .await;
        assert!(
            !shown.end && shown.text.contains("Choose your bank"),
            "{shown:?}"
        );
        // An operator sees the link up, and down once MTN closes it.
        let up = metrics_of(&serve.url).await;
        assert!(up.contains("connectflow_mtn_ng_up 1"), "{up}");
        drop(mtn);
        // Kept open: closing it too would count a second connection ended.
        let _again = server.accept_login().await;
        let down = metrics_of(&serve.url).await;
        assert!(
            down.contains("connectflow_mtn_ng_up 0")
                && down
                    .contains(r#"connectflow_mtn_ng_connections_ended_total{outcome="closed"} 1"#),
            "{down}"
        );
    });
}

/// `ussd-sim --mtn-ng-listen` plays MTN Nigeria's gateway, which calls no
/// URL: it prints where it listens, `serve --mtn-ng` dials it there and
/// logs in, and a scripted session links through that connection: hung up
/// half way (MTN's end of session) and offered again on the next dial, the
/// person thinking through three of serve's heartbeats (which the sim
/// answers: serve's connection is never dropped as silent).
#[test]
fn ussd_sim_plays_mtn_nigerias_gateway_for_serve_to_dial() {
    let dir = TempDir::new("cli-mtn-sim");
    let script = dir.path().join("answers.txt");
    std::fs::write(
        &script,
        "1\n1\n!redial\n1\n!wait 3.5\nuser_good\npass_good\n",
    )
    .unwrap();
    let script = script.to_string_lossy().into_owned();
    let mut sim = Process::start(&mut process::connectflow(&[
        "ussd-sim",
        "--mtn-ng-listen",
        "127.0.0.1:0",
        "--script",
        &script,
    ]));
    let addr = sim.url.clone();
    let serve = Process::start(
        process::connectflow(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--mtn-ng",
            &addr,
            "--mtn-ng-user",
            "any",
            "--mtn-ng-application-id",
            "any",
            "--mtn-ng-enquire-link",
            "1",
        ])
        .env("CONNECTFLOW_MTN_NG_PASSWORD", "any")
        .env("CONNECTFLOW_RECORDS", dir.sqlite("records.db"))
        .env_remove("MONO_SEC_KEY"),
    );
    let screens = sim.lines_until("linked", Duration::from_secs(60));
    let shown = screens.join("\n");
    assert!(
        shown.contains("Choose your bank")
            && shown.contains("(dialled *384*123# again)")
            && shown.contains("1. Continue")
            && screens
                .last()
                .is_some_and(|l| l.contains("account is linked")),
        "{screens:#?}"
    );
    let by = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = sim.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < by, "the sim did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{screens:#?}");
    // Serve's connection was never dropped as silent (the sim's exit
    // closes it, which is counted as `closed`).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let metrics = runtime.block_on(metrics_of(&serve.url));
    assert!(
        metrics.contains("connectflow_mtn_ng_connections_ended_total")
            && !metrics.contains(r#"outcome="silent""#),
        "{metrics}"
    );
}

/// SIGTERM with a link event stream open on an unfinished flow: the
/// stream ends at once and the process exits, not after the 30 s drain a
/// stream used to hold it for (a process manager's own grace period is
/// often 30 s too, and its SIGKILL then cut the partner calls' drain).
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_open_event_streams_and_exits_without_the_drain() {
    let (_dir, mut serve) = serve_gateway("africastalking", "tok", &[]);
    let open = serve.lines_until("open: ", Duration::from_secs(10));
    let token = open
        .last()
        .and_then(|line| line.split("token=").nth(1))
        .unwrap_or_else(|| panic!("no page to open: {open:?}"))
        .to_owned();
    let client = reqwest::Client::new();
    let opened = client
        .get(format!("{}/link/v1/session", serve.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let mut stream = client
        .get(format!("{}/link/v1/session/events", serve.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let read = tokio::spawn(async move {
        loop {
            match stream.chunk().await {
                Ok(Some(_)) => {}
                // Ended as a body that is done, not cut off.
                Ok(None) => return true,
                Err(_) => return false,
            }
        }
    });

    let pid = serve.child.id().to_string();
    let signalled = std::time::Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || (serve.wait(), serve))
        .await
        .unwrap();
    assert!(exited.0.success(), "{:?}", exited.0);
    // Half the drain: far more than ending a stream takes.
    let waited = signalled.elapsed();
    assert!(waited < Duration::from_secs(15), "exited after {waited:?}");
    assert!(read.await.unwrap(), "the stream ended cleanly");
}
