//! Every server's limits (finding 7 of the security review): a client that
//! sends its headers or body one byte at a time, or holds an idle
//! connection, is cut off; requests beyond the in-flight limit are shed.
#![cfg(feature = "server")]

use axum::routing::{get, post};
use axum::Router;
use connectflow::server::{serve, Limits};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

async fn start(limits: Limits, app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/echo",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
}

fn tight() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(600),
        body_timeout: Duration::from_millis(600),
        request_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_millis(1500),
        max_connections: 64,
        max_in_flight: 1,
        drain: Duration::from_millis(200),
    }
}

/// Reads until the server closes (or 10 s pass); returns what it said and
/// how long it took.
fn read_to_close(stream: &mut TcpStream, started: Instant) -> (String, Duration) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

/// Headers sent a byte at a time (slowloris): the connection is closed once
/// the header timeout passes, though bytes keep arriving.
#[tokio::test(flavor = "multi_thread")]
async fn headers_trickled_byte_by_byte_are_cut_off() {
    let addr = start(tight(), app()).await;
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
            if stream.write_all(&[*byte]).is_err() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        read_to_close(&mut stream, started).1
    })
    .await
    .unwrap();
    assert!(closed < Duration::from_secs(4), "held for {closed:?}");
}

/// Limits whose idle timeout (6 s: the request timeout and a second) is
/// far from the header timeout (600 ms), so a close can be told apart.
fn long_idle() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(5),
        ..tight()
    }
}

/// Connects, sends `bytes`, and reads until the server closes.
async fn send_then_wait(addr: std::net::SocketAddr, bytes: &'static [u8]) -> (String, Duration) {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        stream.write_all(bytes).unwrap();
        read_to_close(&mut stream, started)
    })
    .await
    .unwrap()
}

/// Closed at the header timeout (600 ms) or within half of it more (the
/// idle tick), with room for a loaded machine, and well before the idle
/// timeout of [`long_idle`] (6 s) or a tick of half of it (3 s).
fn assert_cut_at_the_header_timeout(took: Duration) {
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_secs(2),
        "closed after {took:?}"
    );
}

/// Half a head, then silence: nothing arrives to wake the connection, yet
/// it is closed within one and a half header timeouts (600 ms), long before
/// its idle timeout (6 s). The idle timeout's ticks are what cut it off
/// (`head_timer.rs`): at its old tick (half the idle time) this took 3 s.
#[tokio::test(flavor = "multi_thread")]
async fn half_a_head_then_silence_is_cut_off_at_the_header_timeout() {
    let addr = start(long_idle(), app()).await;
    let (said, took) = send_then_wait(addr, b"GET / HTTP/1.1\r\nHost: x\r\n").await;
    assert!(
        !said.contains("200"),
        "an incomplete head was answered: {said}"
    );
    assert_cut_at_the_header_timeout(took);
}

/// A connection that never sends a byte is closed within one and a half
/// header timeouts, not held for its idle timeout (6 s) with a connection
/// slot: hyper's header timer only starts with a request's first byte.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout() {
    let addr = start(long_idle(), app()).await;
    let (said, took) = send_then_wait(addr, b"").await;
    assert_eq!(said, "");
    assert_cut_at_the_header_timeout(took);
}

/// A body trickled after the headers: answered (408) or closed within the
/// body timeout, not held.
#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_body_is_cut_off() {
    let addr = start(tight(), app()).await;
    let (said, took) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            .unwrap();
        for _ in 0..30 {
            if stream.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        read_to_close(&mut stream, started)
    })
    .await
    .unwrap();
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    assert!(
        !said.contains("1000"),
        "the whole trickled body was read: {said}"
    );
}

/// A kept-alive connection nobody uses is closed: waiting for the next
/// request's head is bounded by the header timeout, and any silence by the
/// idle timeout, whichever is shorter.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_connection_is_closed() {
    let addr = start(tight(), app()).await;
    let (said, took) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        read_to_close(&mut stream, started)
    })
    .await
    .unwrap();
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    assert!(took < Duration::from_millis(1800), "held for {took:?}");
}

/// Beyond the in-flight limit, a request is refused at once (503), not
/// queued behind a slow one. (Finding, review 2026-12-04: the refusal was
/// plain text, though every other error is JSON; a client reading it as
/// JSON failed. It is `{"error": {"code": "busy", ...}}`.)
#[tokio::test(flavor = "multi_thread")]
async fn requests_beyond_the_in_flight_limit_are_shed() {
    let addr = start(tight(), app()).await;
    let client = reqwest::Client::new();
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.get(format!("http://{addr}/slow")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let shed = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(shed.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(1));
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["error"]["code"], "busy", "{body}");
    // The slow one outlives the request timeout (2 s < 3 s): 503 too.
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.status(), 503);
    // Afterwards the server answers normally.
    let ok = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

/// A server whose one in-flight slot is held (for 10 s, well past what the
/// test needs on a loaded machine): its address and the holding request.
#[cfg(feature = "ussd")]
async fn one_slot_held() -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
) {
    let limits = Limits {
        request_timeout: Duration::from_secs(15),
        idle_timeout: Duration::from_secs(15),
        ..tight()
    };
    let app = app().route(
        "/hold",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "late"
        }),
    );
    let addr = start(limits, app).await;
    let held = tokio::spawn(async move { reqwest::get(format!("http://{addr}/hold")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    (addr, held)
}

/// A shed hop's body that trickles is not waited for: a shed request holds
/// no slot and sits outside the body timeout, so without a bound of its own
/// a byte a minute held a connection for days (review, 2026-12-04). It is
/// answered the busy screen within about a second.
#[cfg(feature = "ussd")]
#[tokio::test(flavor = "multi_thread")]
async fn a_shed_hop_with_a_trickled_body_is_answered_within_a_second() {
    let (addr, held) = one_slot_held().await;
    let answered = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let started = Instant::now();
        stream
            .write_all(b"POST /ussd HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ns")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(8)))
            .unwrap();
        let mut reply = [0u8; 512];
        let n = stream.read(&mut reply).unwrap_or(0);
        (String::from_utf8_lossy(&reply[..n]).into_owned(), started.elapsed())
    })
    .await
    .unwrap();
    let (reply, took) = answered;
    assert!(reply.contains("busy"), "{reply:?}");
    assert!(took < Duration::from_secs(5), "held for {took:?}");
    held.abort();
}

/// A USSD hop shed under overload gets an `END` screen in its gateway's
/// own format (200, the session id echoed where the gateway needs it), not
/// the API's JSON `503`: a gateway shows a `503` as a network error, and the
/// person does not learn to dial again. (Finding, review 2026-12-04.)
#[cfg(feature = "ussd")]
#[tokio::test(flavor = "multi_thread")]
async fn a_shed_ussd_hop_gets_its_gateways_busy_screen() {
    let (addr, slow) = one_slot_held().await;
    let client = reqwest::Client::new();

    // Africa's Talking: text/plain `END ...`.
    let at = client
        .post(format!("http://{addr}/ussd"))
        .form(&[
            ("sessionId", "ATs1"),
            ("phoneNumber", "+2348000000001"),
            ("text", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(at.status(), 200);
    let text = at.text().await.unwrap();
    assert!(text.starts_with("END ") && text.contains("busy"), "{text}");

    // Hubtel: a `Release` reply.
    let hubtel = client
        .post(format!("http://{addr}/ussd/hubtel"))
        .json(&serde_json::json!({"Type": "Response", "Mobile": "233200000001",
            "SessionId": "h1", "ServiceCode": "714", "Message": "1", "Operator": "mtn", "Sequence": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(hubtel.status(), 200);
    let body: serde_json::Value = hubtel.json().await.unwrap();
    assert_eq!(body["Type"], "Release", "{body}");
    assert!(body["Message"].as_str().unwrap().contains("busy"), "{body}");

    // Hubtel Programmable Services: `release`, its SessionId echoed.
    let ps = client
        .post(format!("http://{addr}/ussd/hubtel-ps"))
        .json(
            &serde_json::json!({"Type": "Response", "Mobile": "233200000001",
            "SessionId": "ps-77", "ServiceCode": "713", "Message": "1", "Operator": "mtn",
            "Sequence": 2, "Platform": "USSD"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ps.status(), 200);
    let body: serde_json::Value = ps.json().await.unwrap();
    assert_eq!(
        (&body["Type"], &body["SessionId"]),
        (&"release".into(), &"ps-77".into()),
        "{body}"
    );

    // Arkesel: `continueSession: false`, echoing its session, user and phone.
    let arkesel = client
        .post(format!("http://{addr}/ussd/arkesel"))
        .json(
            &serde_json::json!({"sessionID": "ark-9", "userID": "ark_user_7",
            "newSession": false, "msisdn": "233200000001", "userData": "1", "network": "MTN"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(arkesel.status(), 200);
    let body: serde_json::Value = arkesel.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"sessionID": "ark-9", "userID": "ark_user_7",
            "msisdn": "233200000001", "message": body["message"], "continueSession": false}),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("busy"), "{body}");

    // Nalo: `MSGTYPE: false`, echoing its user and phone.
    let nalo = client
        .post(format!("http://{addr}/ussd/nalo"))
        .json(
            &serde_json::json!({"USERID": "NALOTest", "MSISDN": "233200000001",
            "USERDATA": "1", "MSGTYPE": false, "NETWORK": "MTN", "SESSIONID": "n-9"}),
        )
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = nalo.json().await.unwrap();
    assert_eq!(
        (&body["MSGTYPE"], &body["USERID"], &body["MSISDN"]),
        (&false.into(), &"NALOTest".into(), &"233200000001".into()),
        "{body}"
    );
    assert!(body["MSG"].as_str().unwrap().contains("busy"), "{body}");

    // Korba / Mobiverse: `ussdServiceOp` 17, the final reply.
    let korba = client
        .post(format!("http://{addr}/ussd/korba"))
        .json(
            &serde_json::json!({"sessionID": "k-9", "msisdn": "+233200000001",
            "ussdString": "1", "ussdServiceOp": "18", "network": "01", "code": "*1234#",
            "country": "GH"}),
        )
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = korba.json().await.unwrap();
    assert_eq!(body["ussdServiceOp"], 17, "{body}");
    assert!(body["message"].as_str().unwrap().contains("busy"), "{body}");

    // Infobip: `shouldClose`, its codec found by its route's pattern (the
    // session id and the call are in the path).
    let infobip = client
        .post(format!("http://{addr}/ussd/infobip/ib-9/response"))
        .json(&serde_json::json!({"msisdn": "2348030000001", "text": "1",
            "shortCode": "*384*123#"}))
        .send()
        .await
        .unwrap();
    assert_eq!(infobip.status(), 200);
    let body: serde_json::Value = infobip.json().await.unwrap();
    assert_eq!(body["shouldClose"], true, "{body}");
    assert!(
        body["ussdMenu"].as_str().unwrap().contains("busy"),
        "{body}"
    );
    // Its `status` call is told the session is going: a busy "no" could
    // cut a person off between two answers.
    let status = client
        .post(format!("http://{addr}/ussd/infobip/ib-9/status"))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = status.json().await.unwrap();
    assert_eq!(body["sessionActive"], true, "{body}");

    // Airtel (Comviva): `Freeflow: FB`, by `GET`.
    let airtel = client
        .get(format!(
            "http://{addr}/ussd/airtel?SessionID=ke-9&MSISDN=254733000001&input=1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(airtel.status(), 200);
    assert_eq!(airtel.headers()["freeflow"], "FB");
    assert!(airtel.text().await.unwrap().contains("busy"));

    // DMark: `action: end`, by `GET`.
    let dmark = client
        .get(format!(
            "http://{addr}/ussd/dmark?transactionId=dm-9&msisdn=256772000001&ussdRequestString=1&response=true"
        ))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = dmark.json().await.unwrap();
    assert_eq!(body["action"], "end", "{body}");
    assert!(
        body["responseString"].as_str().unwrap().contains("busy"),
        "{body}"
    );

    // HollaTags: `end` with `session_type` 4, its session id echoed.
    let hollatags = client
        .get(format!(
            "http://{addr}/ussd/hollatags?session_id=ht-9&session_msisdn=2348030000001&session_operation=continue&session_msg=1"
        ))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = hollatags.json().await.unwrap();
    assert_eq!(
        (
            &body["session_operation"],
            &body["session_type"],
            &body["session_id"]
        ),
        (&"end".into(), &4.into(), &"ht-9".into()),
        "{body}"
    );
    assert!(
        body["session_msg"].as_str().unwrap().contains("busy"),
        "{body}"
    );

    // Sendexa: `shouldClose: true`.
    let sendexa = client
        .post(format!("http://{addr}/ussd/sendexa"))
        .json(
            &serde_json::json!({"sessionId": "sx-9", "phone": "233555000001",
            "type": "continue", "input": "1"}),
        )
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = sendexa.json().await.unwrap();
    assert_eq!(body["shouldClose"], true, "{body}");
    assert!(body["message"].as_str().unwrap().contains("busy"), "{body}");

    // Garbage at a hop path still gets the screen; any other path the JSON.
    let garbage = client
        .post(format!("http://{addr}/ussd/hubtel-ps"))
        .body("\u{0}not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 200);
    assert!(garbage.text().await.unwrap().contains("busy"));
    let other = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(other.status(), 503);
    slow.abort();
}

/// A request still running when the drain time is up is cut off with its
/// connection, and `serve` returns: before, `serve` returned but the
/// connection's task ran on, detached, and answered the request whenever
/// its handler finished (review, 2026-12-06).
#[tokio::test(flavor = "multi_thread")]
async fn a_request_still_running_after_the_drain_is_cut_off() {
    let limits = Limits {
        request_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        drain: Duration::from_millis(300),
        ..tight()
    };
    let app = app().route(
        "/hold",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    let held = tokio::spawn(async move { reqwest::get(format!("http://{addr}/hold")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.send(()).unwrap();
    // Generous: the drain is 300 ms, the handler 30 s.
    let served = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returns once the drain is up");
    assert!(served.unwrap().is_ok());
    let answer = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the held request ends with its connection, not its handler")
        .unwrap();
    assert!(answer.is_err(), "answered: {answer:?}");
}
