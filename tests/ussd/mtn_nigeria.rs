//! MTN Nigeria's XML over TCP: our link dials a stand-in of MTN's gateway
//! (`mtn_server.rs`) on loopback, logs in, and a person links an account
//! through it against the sandbox; the heartbeat both ways, a refused
//! login, a dropped or silent connection (made again, sessions kept),
//! packets the protocol lacks, a full link, and shutdown.

use super::mtn_server::{frame, MtnServer};
use connectflow::channel::ussd::{MtnNigeriaLink, UssdConfig, UssdService};
use connectflow::driver::DriverConfig;
use connectflow::form::Secret;
use connectflow::service::{ServiceConfig, SessionService};
use connectflow::store::{MemoryStore, Sealed, Sealer};
use connectflow::testing::{mono_driver, Sandbox, SandboxConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const PHONE: &str = "2348031234567";

/// The link, running against `server` with the sandbox as the partner
/// until the token is cancelled (or the test ends).
struct Running {
    _sandbox: Sandbox,
    stop: CancellationToken,
}

async fn run(
    server: &MtnServer,
    sandbox: SandboxConfig,
    link: impl FnOnce(MtnNigeriaLink) -> MtnNigeriaLink,
) -> Running {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), sandbox)
        .await
        .unwrap();
    let driver = mono_driver(&sandbox.url(), DriverConfig::default());
    let store = Arc::new(Sealed::new(MemoryStore::new(), Sealer::random()));
    let service = SessionService::new(vec![driver], store, ServiceConfig::default());
    let ussd = UssdService::new(Arc::new(service), UssdConfig::default());
    let stop = CancellationToken::new();
    let link = link(MtnNigeriaLink::new(
        server.addr(),
        "mtn-user",
        Secret::new("mtn-pass"),
        "1029384756",
    ));
    tokio::spawn(link.run(ussd, stop.clone()));
    Running {
        _sandbox: sandbox,
        stop,
    }
}

#[tokio::test]
async fn a_person_links_an_account_over_mtn_nigerias_link() {
    let server = MtnServer::start().await;
    let _running = run(&server, SandboxConfig::default(), |l| l).await;
    let (mut mtn, login) = server.accept_login().await;
    assert_eq!(login.get("userName"), "mtn-user");
    assert_eq!(login.get("passWord"), "mtn-pass");
    assert_eq!(login.get("applicationId"), "1029384756");
    assert!(login.session.len() == 16 && login.session.bytes().all(|b| b.is_ascii_digit()));
    mtn.welcome(&login).await;

    let first = mtn.hop("4100000001", PHONE, "1", "*123#", "0").await;
    assert!(
        !first.end && first.text.contains("Choose your bank"),
        "{first:?}"
    );
    let mut shown = first;
    for answer in ["1", "1", "user_good", "pass_good"] {
        assert!(!shown.end, "{shown:?}");
        shown = mtn.hop("4100000001", PHONE, "4", answer, "0").await;
    }
    assert!(shown.end && shown.text.contains("linked"), "{shown:?}");

    // Digits dialled after the code choose from the first screen: `*123*1#`
    // is the first bank's.
    let dialled = mtn
        .hop("4100000002", "2348031234568", "1", "*123*1#", "0")
        .await;
    assert!(
        !dialled.end && !dialled.text.contains("Choose your bank"),
        "{dialled:?}"
    );
}

#[tokio::test]
async fn the_link_enquires_answers_enquiries_and_leaves_a_silent_server_for_a_new_connection() {
    let server = MtnServer::start().await;
    let _running = run(&server, SandboxConfig::default(), |l| {
        l.enquire_every(Duration::from_millis(300), Duration::from_millis(300))
    })
    .await;
    let mut mtn = server.accept_logged_in().await;
    // Its enquiry, answered.
    let enquiry = mtn.recv().await;
    assert_eq!(
        (enquiry.kind.as_str(), enquiry.get("enqCmd")),
        ("ENQRequest", "ENQUIRELINK")
    );
    mtn.send(
        &enquiry.session,
        "ENQResponse",
        &[
            ("requestId", enquiry.get("requestId")),
            ("enqCmd", "ENQUIRELINKRSP"),
        ],
    )
    .await;
    // Ours, answered with our ids.
    mtn.send(
        "5550001",
        "ENQRequest",
        &[("requestId", "777"), ("enqCmd", "ENQUIRELINK")],
    )
    .await;
    let answer = mtn.recv_answering().await;
    assert_eq!(answer.kind, "ENQResponse");
    assert_eq!(
        (answer.session.as_str(), answer.get("requestId")),
        ("5550001", "777")
    );
    assert_eq!(answer.get("enqCmd"), "ENQUIRELINKRSP");
    // Silent from now on: the link gives the connection up and makes a new one.
    assert!(mtn.closed_within(Duration::from_secs(3)).await);
    server.accept_login().await;
}

#[tokio::test]
async fn a_refused_login_is_tried_again_and_a_dropped_connection_keeps_the_session() {
    let server = MtnServer::start().await;
    let _running = run(&server, SandboxConfig::default(), |l| l).await;
    let (mut mtn, login) = server.accept_login().await;
    mtn.send(
        "1",
        "AUTHError",
        &[
            ("requestId", login.get("requestId")),
            ("authMsg", "FAILED"),
            ("errorCode", "001"),
        ],
    )
    .await;
    assert!(mtn.closed_within(Duration::from_secs(3)).await);

    // A pause later, it logs in again; a person gets half way.
    let mut mtn = server.accept_logged_in().await;
    let shown = mtn.session("4100000003", PHONE, &["1", "1"]).await;
    assert!(shown.text.contains("Username"), "{shown:?}");
    // MTN drops the connection; the link makes a new one, and the same
    // session goes on from where it was.
    drop(mtn);
    let mut mtn = server.accept_logged_in().await;
    let shown = mtn.hop("4100000003", PHONE, "4", "user_good", "0").await;
    assert!(!shown.end && shown.text.contains("Password"), "{shown:?}");
    let shown = mtn.hop("4100000003", PHONE, "4", "pass_good", "0").await;
    assert!(shown.end && shown.text.contains("linked"), "{shown:?}");
}

#[tokio::test]
async fn packets_the_protocol_lacks_are_refused_and_the_connection_goes_on_until_it_is_out_of_step()
{
    let server = MtnServer::start().await;
    let _running = run(&server, SandboxConfig::default(), |l| l).await;
    let (mut mtn, login) = server.accept_login().await;
    // A hop before login: refused with 207, not served.
    let early = mtn.send_hop("4100000004", PHONE, "1", "*123#", "0").await;
    let refusal = mtn.recv().await;
    assert_eq!(refusal.kind, "USSDError");
    assert_eq!(
        (refusal.session.as_str(), refusal.get("requestId")),
        ("4100000004", early.as_str())
    );
    assert_eq!(refusal.get("errorCode"), "207");
    mtn.welcome(&login).await;
    // A kind the protocol does not have, and a body that is not XML: 208.
    mtn.send("4100000005", "Nonsense", &[("requestId", "31")])
        .await;
    mtn.send_raw(&frame("4100000006", b"<USSDRequest><msisdn>"))
        .await;
    for session in ["4100000005", "4100000006"] {
        let refusal = mtn.recv_answering().await;
        assert_eq!(
            (refusal.kind.as_str(), refusal.session.as_str()),
            ("USSDError", session)
        );
        assert_eq!(refusal.get("errorCode"), "208");
    }
    // The connection still serves.
    let shown = mtn.hop("4100000007", PHONE, "1", "*123#", "0").await;
    assert!(shown.text.contains("Choose your bank"), "{shown:?}");
    // A header whose length is not a number: where packets start is lost,
    // so the link starts a new connection.
    mtn.send_raw(&[b'x'; 40]).await;
    assert!(mtn.closed_within(Duration::from_secs(3)).await);
    server.accept_login().await;
}

#[tokio::test]
async fn a_session_the_person_ends_is_answered_with_an_end_and_offered_again_on_the_next_dial() {
    let server = MtnServer::start().await;
    let _running = run(&server, SandboxConfig::default(), |l| l).await;
    let mut mtn = server.accept_logged_in().await;
    let shown = mtn.session("4100000008", PHONE, &["1", "1"]).await;
    assert!(shown.text.contains("Username"), "{shown:?}");
    let ended = mtn.hop("4100000008", PHONE, "4", "", "1").await;
    assert!(ended.end, "{ended:?}");
    let again = mtn.hop("4100000009", PHONE, "1", "*123#", "0").await;
    assert!(
        !again.end && again.text.contains("1. Continue") && again.text.contains("2. Start again"),
        "{again:?}"
    );
    let shown = mtn.hop("4100000009", PHONE, "4", "1", "0").await;
    assert!(shown.text.contains("Username"), "{shown:?}");
}

#[tokio::test]
async fn a_hop_past_the_links_limit_is_told_it_is_busy_while_the_one_in_flight_finishes() {
    let server = MtnServer::start().await;
    let sandbox = SandboxConfig {
        slow_delay: Duration::from_millis(1500),
        ..SandboxConfig::default()
    };
    let _running = run(&server, sandbox, |l| l.max_in_flight(1)).await;
    let mut mtn = server.accept_logged_in().await;
    let shown = mtn
        .session("4100000010", PHONE, &["1", "1", "user_slow"])
        .await;
    assert!(shown.text.contains("Password"), "{shown:?}");
    // The slow bank holds the only slot for 1.5 s; a new dial meanwhile is
    // answered at once, politely.
    mtn.send_hop("4100000010", PHONE, "4", "pass_good", "0")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    mtn.send_hop("4100000011", "2348031234999", "1", "*123#", "0")
        .await;
    let busy = mtn.next_screen().await;
    assert_eq!(busy.reply.session, "4100000011");
    assert!(busy.end && busy.text.contains("busy"), "{busy:?}");
    let linked = mtn.next_screen().await;
    assert_eq!(linked.reply.session, "4100000010");
    assert!(linked.end && linked.text.contains("linked"), "{linked:?}");
}

/// On shutdown a hop in flight (a slow bank's) is still answered, the
/// connection closed once it is (not at the 5 s cap), and not made again.
#[tokio::test]
async fn on_shutdown_the_hop_in_flight_is_answered_then_the_link_closes_for_good() {
    let server = MtnServer::start().await;
    let sandbox = SandboxConfig {
        slow_delay: Duration::from_millis(1500),
        ..SandboxConfig::default()
    };
    let running = run(&server, sandbox, |l| l).await;
    let mut mtn = server.accept_logged_in().await;
    let shown = mtn
        .session("4100000012", PHONE, &["1", "1", "user_slow"])
        .await;
    assert!(shown.text.contains("Password"), "{shown:?}");
    mtn.send_hop("4100000012", PHONE, "4", "pass_good", "0")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled = std::time::Instant::now();
    running.stop.cancel();
    let linked = mtn.next_screen().await;
    assert!(linked.end && linked.text.contains("linked"), "{linked:?}");
    assert!(mtn.closed_within(Duration::from_secs(3)).await);
    let took = cancelled.elapsed();
    assert!(
        took < Duration::from_millis(4500),
        "closed {took:?} after the cancel"
    );
    assert!(!server.try_accept(Duration::from_secs(2)).await);
}

#[test]
fn the_links_debug_shows_no_password() {
    let link = MtnNigeriaLink::new("10.0.0.1:7000", "user", Secret::new("hunter2"), "app");
    let shown = format!("{link:?}");
    assert!(
        shown.contains("10.0.0.1:7000") && !shown.contains("hunter2"),
        "{shown}"
    );
}
