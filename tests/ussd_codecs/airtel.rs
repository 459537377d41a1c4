//! Airtel's Comviva-style gateway (ussd.md §4): `SessionID`, `MSISDN`,
//! `MSC`, `input` in the query; the first hop's input is the dialled code;
//! cleanup calls carry `clean`; the reply is text with `Freeflow: FC` or
//! `FB`; garbage.

use super::*;
use connectflow::channel::ussd::gateway::airtel::Airtel;

fn hop(params: &str) -> RawHop {
    Airtel.decode(&query(params)).unwrap()
}

#[test]
fn airtel_name_is_its_own_store_space() {
    assert_eq!(Airtel.name(), "airtel");
}

#[test]
fn airtel_decodes_a_first_dial_an_answer_and_a_cleanup() {
    assert_eq!(
        hop("SessionID=ke-77&MSISDN=254733000111&MSC=MSC01&input=*384*123%23"),
        RawHop {
            session_id: "ke-77".into(),
            phone: "+254733000111".into(),
            service_code: String::new(),
            network: "MSC01".into(),
            payload: Payload::Initiation {
                dialled: "*384*123#".into()
            },
        }
    );
    assert_eq!(
        hop("SessionID=ke-77&MSISDN=254733000111&input=2").payload,
        Payload::Latest {
            text: "2".into(),
            sequence: None
        }
    );
    // A first dial whose `#` was lost (sent raw, it starts a fragment).
    assert_eq!(
        hop("SessionID=ke-77&MSISDN=254733000111&input=*384*123").payload,
        Payload::Initiation {
            dialled: "*384*123".into()
        }
    );
    // Typed text is kept as typed (a `*` in a password survives).
    assert_eq!(
        hop("SessionID=ke-77&MSISDN=254733000111&input=pa*ss").payload,
        Payload::Latest {
            text: "pa*ss".into(),
            sequence: None
        }
    );
    // A cleanup call ends the session whatever else it carries.
    for params in [
        "SessionID=ke-77&clean=clean-session",
        "SessionID=ke-77&clean&error=522&input=*384*123%23",
    ] {
        assert_eq!(hop(params).payload, Payload::Release, "{params}");
    }
    // A form body reads the same when the query lacks the field.
    let posted = GatewayRequest {
        query: "SessionID=ke-78".into(),
        ..form("MSISDN=254733000112&input=1")
    };
    let hop = Airtel.decode(&posted).unwrap();
    assert_eq!(
        (hop.session_id.as_str(), hop.phone.as_str()),
        ("ke-78", "+254733000112")
    );
}

#[test]
fn airtel_garbage_is_an_error_not_a_panic() {
    // No session id, or (but for a cleanup) no phone to hold it to.
    for params in [
        "",
        "input=1",
        "SessionID=&MSISDN=254733000111&input=1",
        "SessionID=%20&MSISDN=254733000111",
        "SessionID=ke-1&input=1",
        "SessionID=ke-1&MSISDN=%20&input=*384%23",
    ] {
        assert!(Airtel.decode(&query(params)).is_err(), "{params:?}");
    }
}

#[test]
fn airtel_replies_text_with_freeflow_in_a_header() {
    for (end, freeflow) in [(false, "FC"), (true, "FB")] {
        let r = Airtel.encode(
            &Screen {
                text: "Choose your bank\n1. Access".into(),
                end,
                masked: false,
            },
            "ke-77",
            "",
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"Choose your bank\n1. Access");
        assert_eq!(header(&r.headers, "freeflow"), Some(freeflow));
        assert_eq!(header(&r.headers, "charge"), Some("N"));
        assert_eq!(header(&r.headers, "amount"), Some("0"));
        // The server inserts names as they are, which needs them lower-case.
        assert!(r
            .headers
            .iter()
            .all(|(n, _)| n.bytes().all(|b| !b.is_ascii_uppercase())));
    }
}

proptest! {
    /// Whatever the query and body, decoding is a hop with a session id or
    /// a typed error.
    #[test]
    fn airtel_decode_never_panics(
        q in "[A-Za-z=&%*#0-9 ]{0,60}",
        body in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        if let Ok(hop) = Airtel.decode(&GatewayRequest { query: q, body, ..GatewayRequest::default() }) {
            prop_assert!(!hop.session_id.trim().is_empty());
        }
    }
}
