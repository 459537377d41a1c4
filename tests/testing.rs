//! The test kit itself (`connectflow::testing`), used as a user would: the
//! stub partner does exactly what it is scripted to do and records what it
//! is sent, the fake clock moves only when told, and the fixtures are what
//! their documentation says.
#![cfg(feature = "testing")]

use connectflow::flow::{explore, AuthMethodKind, Step};
use connectflow::service::Clock;
use connectflow::testing::{catalogues, Answer, FakeClock, StubPartner};
use std::time::{Duration, Instant};

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// Out of the box the stub is a Mono bank that links every login: each of
/// the five paths answers what the dialect expects.
#[tokio::test]
async fn the_default_script_speaks_mono() {
    let partner = StubPartner::start().await.unwrap();
    let http = client(Duration::from_secs(5));
    let url = partner.url();
    let list: serde_json::Value = http
        .get(format!("{url}{}?scope=x", StubPartner::INSTITUTIONS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"][0]["_id"], catalogues::DEMO_BANK);
    for (path, pointer, expected) in [
        (
            StubPartner::SESSION,
            "/data/session/id",
            StubPartner::SESSION_ID,
        ),
        (StubPartner::LOGIN, "/data/code", StubPartner::CODE),
        (StubPartner::COMMIT, "/data/code", StubPartner::CODE),
        (StubPartner::EXCHANGE, "/id", StubPartner::ACCOUNT_ID),
    ] {
        let reply: serde_json::Value = http
            .post(format!("{url}{path}"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply.pointer(pointer).unwrap(), expected, "{path}: {reply}");
    }
    // A path nobody scripted: Mono's 404 envelope.
    let missing = http.get(format!("{url}/v2/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["status"], "failed");
}

/// Every request is recorded as it arrived: method, path, query, headers
/// and body, in order; counts are per path.
#[tokio::test]
async fn every_request_is_recorded() {
    let partner = StubPartner::start().await.unwrap();
    let http = client(Duration::from_secs(5));
    http.post(format!("{}{}", partner.url(), StubPartner::LOGIN))
        .header("mono-sec-key", "test_sk_recorded")
        .json(&serde_json::json!({"username": "ada"}))
        .send()
        .await
        .unwrap();
    http.get(format!("{}/anything?a=1", partner.url()))
        .send()
        .await
        .unwrap();
    let all = partner.requests();
    assert_eq!(all.len(), 2);
    let login = &all[0];
    assert_eq!(
        (login.method.as_str(), login.path.as_str()),
        ("POST", "/v2/connect/login")
    );
    assert_eq!(login.header("Mono-Sec-Key"), Some("test_sk_recorded"));
    assert_eq!(login.json().unwrap()["username"], "ada");
    assert_eq!(
        (all[1].path.as_str(), all[1].query.as_str()),
        ("/anything", "a=1")
    );
    assert_eq!(all[1].json(), None);
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
    assert_eq!(partner.requests_to("/anything").len(), 1);
    assert_eq!(partner.count(StubPartner::COMMIT), 0);
}

/// One-off answers are used first, in the order queued; then the standing
/// answer, which `answer` replaces.
#[tokio::test]
async fn one_off_answers_come_first_then_the_standing_one() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer("/x", Answer::status(201, "standing"));
    partner.answer_once("/x", Answer::status(500, "first"));
    partner.answer_once("/x", Answer::status(503, "second"));
    let http = client(Duration::from_secs(5));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let reply = http
            .get(format!("{}/x", partner.url()))
            .send()
            .await
            .unwrap();
        seen.push((reply.status().as_u16(), reply.text().await.unwrap()));
    }
    let expected = [
        (500, "first"),
        (503, "second"),
        (201, "standing"),
        (201, "standing"),
    ];
    assert_eq!(seen, expected.map(|(s, b)| (s, b.to_owned())),);
    partner.answer("/x", Answer::step(&Step::code("code_x")));
    let reply: serde_json::Value = http
        .get(format!("{}/x", partner.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["responseCode"], 99);
}

/// A dropped connection is not an HTTP answer of any status: the client
/// sees the connection end, after the stub has read (and recorded) the
/// request. The connection after it is served normally.
#[tokio::test]
async fn a_dropped_connection_gets_no_answer_at_all() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer_once(StubPartner::LOGIN, Answer::drop_connection());
    let http = client(Duration::from_secs(5));
    let url = format!("{}{}", partner.url(), StubPartner::LOGIN);
    let err = http.post(&url).body("{}").send().await.unwrap_err();
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert_eq!(partner.count(StubPartner::LOGIN), 1);
    let ok = http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

/// A hung answer never comes: only the client's timeout ends the wait. A
/// delayed one comes, late.
#[tokio::test]
async fn hung_answers_never_come_and_delayed_ones_come_late() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer_once("/hang", Answer::hang());
    partner.answer_once(
        "/late",
        Answer::status(200, "late").after(Duration::from_millis(300)),
    );
    let http = client(Duration::from_millis(1_500));
    let started = Instant::now();
    let err = http
        .get(format!("{}/hang", partner.url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(1_400));

    let started = Instant::now();
    let late = http
        .get(format!("{}/late", partner.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(late.text().await.unwrap(), "late");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1_400),
        "{took:?}"
    );
    // Shutting down does not wait for the hung answer.
    tokio::time::timeout(Duration::from_secs(5), partner.shutdown())
        .await
        .expect("shutdown waited for a hung answer");
}

/// Garbage is a 200 whose body is not JSON, as a proxy's error page is.
#[tokio::test]
async fn garbage_is_a_200_that_is_not_json() {
    let partner = StubPartner::start().await.unwrap();
    partner.answer(StubPartner::SESSION, Answer::garbage());
    let reply = client(Duration::from_secs(5))
        .post(format!("{}{}", partner.url(), StubPartner::SESSION))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body = reply.bytes().await.unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
}

/// Clones of a fake clock share one time; it moves only when set or
/// advanced, and advancing from several threads loses nothing.
#[test]
fn a_fake_clock_moves_only_when_told_and_clones_share_it() {
    let clock = FakeClock::default();
    let shared: std::sync::Arc<dyn Clock> = std::sync::Arc::new(clock.clone());
    assert_eq!(shared.now(), FakeClock::START);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(shared.now(), FakeClock::START);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let clock = clock.clone();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    clock.advance(Duration::from_millis(1));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(shared.now(), FakeClock::START.plus_ms(1_000));
    clock.set(FakeClock::START);
    assert_eq!(shared.now(), FakeClock::START);
}

/// Each fixture is what its documentation says, and passes the explorer's
/// catalogue check but for the gaps its documentation names.
#[test]
fn the_catalogue_fixtures_are_as_documented() {
    let ids = |c: &connectflow::flow::Catalogue| {
        c.institutions()
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&catalogues::demo()), [catalogues::DEMO_BANK]);
    assert_eq!(
        ids(&catalogues::demo_with_ussd_bank()),
        [catalogues::DEMO_BANK, catalogues::USSD_BANK]
    );
    assert_eq!(ids(&catalogues::gtbank()), [catalogues::GTBANK, "access"]);
    assert_eq!(
        ids(&catalogues::gtbank_mono_ids()),
        [catalogues::GTBANK_MONO_ID]
    );
    assert_eq!(catalogues::GTBANK_MONO_ID.len(), 24);
    assert_eq!(
        ids(&catalogues::secret_between_fields()),
        [catalogues::REC_BANK]
    );
    assert!(ids(&catalogues::sandbox()).contains(&"sandbox-bank".to_owned()));

    for catalogue in [
        catalogues::demo(),
        catalogues::gtbank_mono_ids(),
        catalogues::secret_between_fields(),
    ] {
        assert_eq!(explore::check_catalogue(&catalogue), Vec::<String>::new());
    }
    // The two gaps left on purpose: a session there must bring its own form.
    assert_eq!(
        explore::check_catalogue(&catalogues::demo_with_ussd_bank()),
        ["ussd-bank manual: no login form in the catalogue"]
    );
    assert_eq!(
        explore::check_catalogue(&catalogues::gtbank()),
        ["access internet_banking: no login form in the catalogue"]
    );
    let rec = catalogues::secret_between_fields();
    let form = rec.institutions()[0]
        .form_for(&AuthMethodKind::MobileBanking)
        .unwrap();
    let secret: Vec<bool> = form.fields.iter().map(|f| f.is_secret()).collect();
    assert_eq!(
        secret,
        [false, true, false],
        "the secret sits between two fields"
    );
}
