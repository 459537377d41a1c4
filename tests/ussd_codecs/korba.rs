//! Korba / Mobiverse (ussd.md §4): every `ussdServiceOp` (begin, continue,
//! terminate, and the values the reference does not name), the `2`/`17`
//! reply, garbage.

use super::*;
use connectflow::channel::ussd::gateway::korba::Korba;

fn request(op: &str, input: &str) -> GatewayRequest {
    json(&format!(
        r#"{{ "sessionID": "12341235123", "msisdn": "+233244567890", "ussdString": "{input}",
             "ussdServiceOp": {op}, "network": "01", "code": "*1234#", "country": "GH",
             "unknown": true }}"#
    ))
}

#[test]
fn korba_name_is_its_own_store_space() {
    assert_eq!(Korba.name(), "korba");
}

#[test]
fn korba_decodes_a_first_dial_with_its_service_code() {
    let hop = Korba.decode(&request(r#""1""#, "*1234#")).unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "12341235123".into(),
            phone: "+233244567890".into(),
            service_code: "*1234#".into(),
            network: "01".into(),
            payload: Payload::Initiation {
                dialled: "*1234#".into()
            },
        }
    );
    // Pre-dialled segments: found after the service code, as for Hubtel.
    let hop = Korba.decode(&request("1", "*1234*1#")).unwrap();
    let Payload::Initiation { dialled } = &hop.payload else {
        panic!("{hop:?}");
    };
    assert_eq!(dialled_prefill(&hop.service_code, dialled), ["1"]);
}

#[test]
fn korba_decodes_continue_and_terminate() {
    for op in ["18", r#""18""#, "18.0", r#"" 18 ""#] {
        assert_eq!(
            Korba.decode(&request(op, "12*34")).unwrap().payload,
            Payload::Latest {
                text: "12*34".into(),
                sequence: None
            },
            "{op}"
        );
    }
    // 29 or more: the session ended, whatever ussdString holds.
    for op in [
        "29",
        r#""30""#,
        "100",
        "18446744073709551615",
        r#""99999999999999999999999""#,
        "1e30",
    ] {
        assert_eq!(
            Korba.decode(&request(op, "1")).unwrap().payload,
            Payload::Release,
            "{op}"
        );
    }
}

/// A value the reference does not name is never typed input.
#[test]
fn korba_ops_the_reference_does_not_name_are_unsupported() {
    for (op, kind) in [
        ("0", "ussdServiceOp 0"),
        ("2", "ussdServiceOp 2"),
        ("17", "ussdServiceOp 17"),
        (r#""19""#, "ussdServiceOp 19"),
        ("28", "ussdServiceOp 28"),
    ] {
        assert_eq!(
            Korba.decode(&request(op, "1")).unwrap().payload,
            Payload::Unsupported(kind.into()),
            "{op}"
        );
    }
}

#[test]
fn korba_is_lenient_about_optional_fields() {
    let hop = Korba
        .decode(&json(r#"{"sessionID": "s", "ussdServiceOp": 18}"#))
        .unwrap();
    assert_eq!(
        (
            hop.phone.as_str(),
            hop.service_code.as_str(),
            hop.network.as_str()
        ),
        ("", "", "")
    );
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: String::new(),
            sequence: None
        }
    );
}

#[test]
fn korba_normalises_msisdns_to_e164() {
    for (raw, country, want) in [
        ("+233244567890", "GH", "+233244567890"),
        ("233244567890", "GH", "+233244567890"),
        ("0244567890", "GH", "+233244567890"),
        ("0244567890", "gh", "+233244567890"),
        // No country: a Ghanaian gateway's number is Ghana's.
        ("0244567890", "", "+233244567890"),
        // Another country's national number is not guessed at.
        ("0803123456", "NG", "0803123456"),
        ("2348031234567", "NG", "+2348031234567"),
    ] {
        let hop = Korba
            .decode(&json(&format!(
                r#"{{"sessionID":"s","ussdServiceOp":18,"msisdn":"{raw}","country":"{country}"}}"#
            )))
            .unwrap();
        assert_eq!(hop.phone, want, "{raw} {country}");
    }
}

#[test]
fn korba_refuses_garbage_with_a_typed_error() {
    for body in [
        "",
        "not json",
        "[]",
        "18",
        // No session id.
        r#"{"ussdServiceOp":18,"ussdString":"1"}"#,
        r#"{"sessionID":" ","ussdServiceOp":18}"#,
        // No kind of hop, or not a whole non-negative number.
        r#"{"sessionID":"s","ussdString":"1"}"#,
        r#"{"sessionID":"s","ussdServiceOp":"begin"}"#,
        r#"{"sessionID":"s","ussdServiceOp":-1}"#,
        r#"{"sessionID":"s","ussdServiceOp":18.5}"#,
        r#"{"sessionID":"s","ussdServiceOp":"NaN"}"#,
        r#"{"sessionID":"s","ussdServiceOp":null}"#,
        r#"{"sessionID":"s","ussdServiceOp":[18]}"#,
    ] {
        assert!(Korba.decode(&json(body)).is_err(), "{body:?}");
    }
    let bad_utf8 = GatewayRequest {
        body: vec![b'{', 0xFF, b'}'],
        ..GatewayRequest::default()
    };
    assert!(Korba.decode(&bad_utf8).is_err());
}

#[test]
fn korba_encodes_continue_as_2_and_final_as_17() {
    let encoded = |end| json_screen(&Korba, end);
    // The reference's shape and order, the op a number.
    assert_eq!(
        encoded(false),
        r#"{"message":"Choose your bank\n1. Access","ussdServiceOp":2}"#
    );
    assert_eq!(
        encoded(true),
        r#"{"message":"Choose your bank\n1. Access","ussdServiceOp":17}"#
    );
    // Nothing to echo: the codec answers every request itself.
    assert!(Korba.replying_to(&request("18", "1")).is_none());
}

proptest! {
    /// Whatever bytes arrive, decoding is a hop or a typed error.
    #[test]
    fn korba_decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Korba.decode(&GatewayRequest { body, ..GatewayRequest::default() });
    }

    /// Any op decodes to exactly one payload, and only 1 and 18 carry
    /// `ussdString` into the channel.
    #[test]
    fn korba_only_begin_and_continue_carry_text(op in any::<u64>()) {
        let hop = Korba.decode(&request(&op.to_string(), "secret-ish")).unwrap();
        let carries = matches!(hop.payload, Payload::Initiation { .. } | Payload::Latest { .. });
        prop_assert_eq!(carries, op == 1 || op == 18);
        prop_assert_eq!(hop.payload == Payload::Release, op >= 29);
    }
}
