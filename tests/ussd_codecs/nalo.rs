//! Nalo (ussd.md §4): decoding its JSON hops (first dial, answers), the
//! reply with `MSGTYPE` and what it echoes, garbage.

use super::*;
use connectflow::channel::ussd::gateway::nalo::Nalo;

fn request(first: &str, data: &str) -> GatewayRequest {
    json(&format!(
        r#"{{ "USERID": "NALOTest", "MSISDN": "233244567890", "USERDATA": "{data}",
             "MSGTYPE": {first}, "NETWORK": "MTN", "SESSIONID": "16590115252429751",
             "SOMETHINGNEW": null }}"#
    ))
}

#[test]
fn nalo_name_is_its_own_store_space() {
    assert_eq!(Nalo.name(), "nalo");
}

#[test]
fn nalo_decodes_a_first_dial() {
    let hop = Nalo.decode(&request("true", "*920*1234#")).unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "16590115252429751".into(),
            phone: "+233244567890".into(),
            // Nalo sends no service code.
            service_code: String::new(),
            network: "MTN".into(),
            payload: Payload::Initiation {
                dialled: "*920*1234#".into()
            },
        }
    );
}

#[test]
fn nalo_decodes_answers_as_the_latest_input() {
    assert_eq!(
        Nalo.decode(&request("false", "3")).unwrap().payload,
        Payload::Latest {
            text: "3".into(),
            sequence: None
        }
    );
    // A `*` inside an answer is part of it: the input is the latest only.
    assert_eq!(
        Nalo.decode(&request("false", "12*34")).unwrap().payload,
        Payload::Latest {
            text: "12*34".into(),
            sequence: None
        }
    );
    assert!(matches!(
        Nalo.decode(&request(r#""true""#, "*920#")).unwrap().payload,
        Payload::Initiation { .. }
    ));
}

#[test]
fn nalo_is_lenient_about_optional_fields() {
    let hop = Nalo.decode(&json(r#"{"SESSIONID": "s"}"#)).unwrap();
    assert_eq!((hop.phone.as_str(), hop.network.as_str()), ("", ""));
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: String::new(),
            sequence: None
        }
    );
    // camelCase keys and a numeric session id still read.
    let hop = Nalo
        .decode(&json(
            r#"{"sessionId": 16590115252429751, "msisdn": "0244567890", "msgType": true, "userData": "*920#"}"#,
        ))
        .unwrap();
    assert_eq!(hop.session_id, "16590115252429751");
    assert_eq!(hop.phone, "+233244567890");
    assert_eq!(
        hop.payload,
        Payload::Initiation {
            dialled: "*920#".into()
        }
    );
}

#[test]
fn nalo_normalises_msisdns_to_e164() {
    for (raw, want) in [
        ("233244567890", "+233244567890"),
        ("0244567890", "+233244567890"),
        ("+233 24 456 7890", "+233244567890"),
    ] {
        let hop = Nalo
            .decode(&json(&format!(r#"{{"SESSIONID":"s","MSISDN":"{raw}"}}"#)))
            .unwrap();
        assert_eq!(hop.phone, want, "{raw}");
    }
}

#[test]
fn nalo_refuses_garbage_with_a_typed_error() {
    for body in [
        "",
        "not json",
        "[]",
        "true",
        r#"{"USERDATA":"1","MSGTYPE":false}"#,
        r#"{"SESSIONID":"","MSGTYPE":true}"#,
        r#"{"SESSIONID":[]}"#,
    ] {
        assert!(Nalo.decode(&json(body)).is_err(), "{body:?}");
    }
    let bad_utf8 = GatewayRequest {
        body: vec![b'{', 0xFF, b'}'],
        ..GatewayRequest::default()
    };
    assert!(Nalo.decode(&bad_utf8).is_err());
}

fn reply_to(request: &GatewayRequest, screen: &Screen) -> serde_json::Value {
    let gateway = Nalo.replying_to(request).unwrap();
    let r = gateway.encode(screen, "16590115252429751", "");
    assert_eq!(r.status, 200);
    assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    serde_json::from_slice(&r.body).unwrap()
}

#[test]
fn nalo_encodes_continue_and_end_echoing_user_and_msisdn() {
    // The answer may be a PIN: the reply's USERDATA never echoes it.
    let request = request("false", "4321");
    let v = reply_to(
        &request,
        &Screen {
            text: "Enter PIN".into(),
            end: false,
            masked: true,
        },
    );
    assert_eq!(
        v,
        serde_json::json!({
            "USERID": "NALOTest", "MSISDN": "233244567890", "USERDATA": "",
            "MSG": "Enter PIN", "MSGTYPE": true
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
    assert_eq!(v["MSGTYPE"], false);
    assert_eq!(v["MSG"], "Your account is linked.");
    let copy = Nalo.replying_to(&request).unwrap();
    assert_eq!(copy.name(), "nalo");
    assert_eq!(copy.decode(&request), Nalo.decode(&request));
}

#[test]
fn nalo_replies_in_the_reference_field_order() {
    let body = String::from_utf8(
        Nalo.encode(
            &Screen {
                text: "x".into(),
                end: true,
                masked: false,
            },
            "s",
            "",
        )
        .body,
    )
    .unwrap();
    let order = ["USERID", "MSISDN", "USERDATA", "MSG", "MSGTYPE"];
    let at: Vec<usize> = order
        .iter()
        .map(|k| body.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{body}");
    assert!(Nalo.replying_to(&json("[]")).is_none());
}

proptest! {
    /// Whatever bytes arrive, decoding is a hop or a typed error.
    #[test]
    fn nalo_decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let request = GatewayRequest { body, ..GatewayRequest::default() };
        let _ = Nalo.decode(&request);
        let _ = Nalo.replying_to(&request);
    }
}
