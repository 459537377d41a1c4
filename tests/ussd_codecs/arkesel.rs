//! Arkesel (ussd.md §4): decoding its JSON hops (first dial, answers), the
//! reply with `continueSession` and what it echoes, garbage.

use super::*;
use connectflow::channel::ussd::gateway::arkesel::Arkesel;

fn request(new_session: &str, data: &str) -> GatewayRequest {
    json(&format!(
        r#"{{ "sessionID": "A1b2C3d4", "userID": "ark_user_7", "newSession": {new_session},
             "msisdn": "233244567890", "userData": "{data}", "network": "MTN",
             "extra": {{"ignored": [1, 2]}} }}"#
    ))
}

#[test]
fn arkesel_name_is_its_own_store_space() {
    assert_eq!(Arkesel.name(), "arkesel");
}

#[test]
fn arkesel_decodes_a_first_dial() {
    let hop = Arkesel.decode(&request("true", "*928*01#")).unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "A1b2C3d4".into(),
            phone: "+233244567890".into(),
            // Arkesel sends no service code.
            service_code: String::new(),
            network: "MTN".into(),
            payload: Payload::Initiation {
                dialled: "*928*01#".into()
            },
        }
    );
}

#[test]
fn arkesel_decodes_answers_as_the_latest_input() {
    let hop = Arkesel.decode(&request("false", "12*34")).unwrap();
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: "12*34".into(),
            sequence: None
        }
    );
    // The flag as text, as a form-minded client may send it.
    for (flag, first) in [(r#""true""#, true), (r#""false""#, false), ("1", true)] {
        let hop = Arkesel.decode(&request(flag, "1")).unwrap();
        assert_eq!(
            matches!(hop.payload, Payload::Initiation { .. }),
            first,
            "{flag}"
        );
    }
}

#[test]
fn arkesel_is_lenient_about_optional_fields() {
    let hop = Arkesel.decode(&json(r#"{"sessionID": "s"}"#)).unwrap();
    assert_eq!(hop.phone, "");
    assert_eq!(hop.network, "");
    // No flag: an answer (with no state, it may only pick a bank).
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: String::new(),
            sequence: None
        }
    );
    // Keys in another case, numbers where strings belong.
    let hop = Arkesel
        .decode(&json(
            r#"{"SESSIONID": 42, "MSISDN": 233244567890, "USERDATA": 3, "NEWSESSION": false}"#,
        ))
        .unwrap();
    assert_eq!(hop.session_id, "42");
    assert_eq!(hop.phone, "+233244567890");
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: "3".into(),
            sequence: None
        }
    );
}

#[test]
fn arkesel_normalises_msisdns_to_e164() {
    for (raw, want) in [
        ("233244567890", "+233244567890"),
        ("+233244567890", "+233244567890"),
        ("0244567890", "+233244567890"),
        ("00233 24 456 7890", "+233244567890"),
    ] {
        let hop = Arkesel
            .decode(&json(&format!(r#"{{"sessionID":"s","msisdn":"{raw}"}}"#)))
            .unwrap();
        assert_eq!(hop.phone, want, "{raw}");
    }
}

#[test]
fn arkesel_refuses_garbage_with_a_typed_error() {
    for body in [
        "",
        "not json",
        "[]",
        "null",
        r#""newSession""#,
        r#"{"userData":"1","newSession":false}"#,
        r#"{"sessionID":"  ","newSession":true}"#,
        r#"{"sessionID":null}"#,
        r#"{"sessionID":{"a":1}}"#,
    ] {
        assert!(Arkesel.decode(&json(body)).is_err(), "{body:?}");
    }
    let bad_utf8 = GatewayRequest {
        body: vec![b'{', 0xFF, b'}'],
        ..GatewayRequest::default()
    };
    assert!(Arkesel.decode(&bad_utf8).is_err());
}

fn reply_to(request: &GatewayRequest, screen: &Screen) -> serde_json::Value {
    let gateway = Arkesel.replying_to(request).unwrap();
    let r = gateway.encode(screen, "A1b2C3d4", "");
    assert_eq!(r.status, 200);
    assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn arkesel_encodes_continue_and_end_echoing_user_and_msisdn() {
    let request = request("false", "1");
    let v = reply_to(
        &request,
        &Screen {
            text: "Choose your bank\n1. Access".into(),
            end: false,
            masked: false,
        },
    );
    assert_eq!(
        v,
        serde_json::json!({
            "sessionID": "A1b2C3d4", "userID": "ark_user_7", "msisdn": "233244567890",
            "message": "Choose your bank\n1. Access", "continueSession": true
        })
    );
    let v = reply_to(
        &request,
        &Screen {
            text: "Your account is linked.".into(),
            end: true,
            masked: false,
        },
    );
    assert_eq!(v["continueSession"], false);
    assert_eq!(v["message"], "Your account is linked.");
    // The copy reads requests as the codec does.
    let copy = Arkesel.replying_to(&request).unwrap();
    assert_eq!(copy.name(), "arkesel");
    assert_eq!(copy.decode(&request), Arkesel.decode(&request));
}

#[test]
fn arkesel_replies_in_the_reference_field_order() {
    let body = String::from_utf8(
        Arkesel
            .encode(
                &Screen {
                    text: "x".into(),
                    end: false,
                    masked: false,
                },
                "s",
                "",
            )
            .body,
    )
    .unwrap();
    let order = [
        "sessionID",
        "userID",
        "msisdn",
        "message",
        "continueSession",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|k| body.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{body}");
    // Garbage has nothing to echo: the codec itself answers it.
    assert!(Arkesel.replying_to(&json("{not json")).is_none());
}

proptest! {
    /// Whatever bytes arrive, decoding is a hop or a typed error.
    #[test]
    fn arkesel_decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let request = GatewayRequest { body, ..GatewayRequest::default() };
        let _ = Arkesel.decode(&request);
        let _ = Arkesel.replying_to(&request);
    }
}
