//! Hubtel: decoding its JSON hops, encoding `Response`/`Release`.

use super::*;

#[test]
fn hubtel_name() {
    assert_eq!(Hubtel.name(), "hubtel");
}

#[test]
fn hubtel_decodes_the_documented_initiation() {
    let hop = Hubtel
        .decode(&json(
            r#"{ "Mobile": "233244567890", "SessionId": "3c8dfb7a1d2e4f60a9b8c7d6e5f40312",
                 "ServiceCode": "714*4", "Type": "Initiation", "Message": "*714*4#",
                 "Operator": "mtn", "Sequence": 1, "ClientState": "" }"#,
        ))
        .unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "3c8dfb7a1d2e4f60a9b8c7d6e5f40312".into(),
            phone: "+233244567890".into(),
            service_code: "*714*4#".into(),
            network: "mtn".into(),
            payload: Payload::Initiation {
                dialled: "*714*4#".into()
            },
        }
    );
}

#[test]
fn hubtel_response_with_numeric_or_string_sequence() {
    let numeric = Hubtel
        .decode(&json(
            r#"{"Mobile":"233244567890","SessionId":"a","ServiceCode":"714*4","Type":"Response",
                "Message":"2","Operator":"vodafone","Sequence":3,"ClientState":"bank-menu"}"#,
        ))
        .unwrap();
    assert_eq!(
        numeric.payload,
        Payload::Latest {
            text: "2".into(),
            sequence: Some(3)
        }
    );
    assert_eq!(numeric.network, "vodafone");

    let string = Hubtel
        .decode(&json(
            r#"{"SessionId":"a","Type":"Response","Message":"12*34","Sequence":" 4 "}"#,
        ))
        .unwrap();
    assert_eq!(
        string.payload,
        Payload::Latest {
            text: "12*34".into(),
            sequence: Some(4)
        }
    );

    for seq in [r#""x""#, "-1", "1.5", "null", "[]"] {
        let hop = Hubtel
            .decode(&json(&format!(
                r#"{{"SessionId":"a","Type":"Response","Message":"1","Sequence":{seq}}}"#
            )))
            .unwrap();
        assert_eq!(
            hop.payload,
            Payload::Latest {
                text: "1".into(),
                sequence: None
            },
            "Sequence {seq}"
        );
    }
    let float = Hubtel
        .decode(&json(
            r#"{"SessionId":"a","Type":"Response","Message":"1","Sequence":2.0}"#,
        ))
        .unwrap();
    assert_eq!(
        float.payload,
        Payload::Latest {
            text: "1".into(),
            sequence: Some(2)
        }
    );
}

#[test]
fn hubtel_types_are_case_insensitive() {
    let cases = [
        (
            "Initiation",
            Payload::Initiation {
                dialled: "m".into(),
            },
        ),
        (
            "initiation",
            Payload::Initiation {
                dialled: "m".into(),
            },
        ),
        (
            "INITIATION",
            Payload::Initiation {
                dialled: "m".into(),
            },
        ),
        ("Release", Payload::Release),
        ("release", Payload::Release),
        ("Timeout", Payload::Timeout),
        ("timeout", Payload::Timeout),
        (
            "Response",
            Payload::Latest {
                text: "m".into(),
                sequence: Some(2),
            },
        ),
        (
            "response",
            Payload::Latest {
                text: "m".into(),
                sequence: Some(2),
            },
        ),
        // Programmable Services extras (a cart, a search, a favourite) and
        // kinds Hubtel may add are not what the person typed: refused, so
        // a cart never reaches a PIN form as its answer.
        ("AddToCart", Payload::Unsupported("AddToCart".into())),
        ("Query", Payload::Unsupported("Query".into())),
        ("Favorite", Payload::Unsupported("Favorite".into())),
        ("Checkout", Payload::Unsupported("Checkout".into())),
    ];
    for (kind, want) in cases {
        let hop = Hubtel
            .decode(&json(&format!(
                r#"{{"Mobile":"233244567890","SessionId":"s","Type":"{kind}","Message":"m",
                    "Sequence":2,"Platform":"USSD","ExtraData":{{}}}}"#
            )))
            .unwrap();
        assert_eq!(hop.payload, want, "Type {kind}");
    }
}

#[test]
fn hubtel_is_lenient_about_optional_fields() {
    let hop = Hubtel
        .decode(&json(r#"{"sessionId":"s","type":"response"}"#))
        .unwrap();
    assert_eq!(hop.phone, "");
    assert_eq!(hop.service_code, "");
    assert_eq!(hop.network, "");
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: String::new(),
            sequence: None
        }
    );
    // A numeric Mobile still normalises.
    let hop = Hubtel
        .decode(&json(
            r#"{"SessionId":"s","Type":"Response","Mobile":233244567890,"Message":5}"#,
        ))
        .unwrap();
    assert_eq!(hop.phone, "+233244567890");
    assert_eq!(
        hop.payload,
        Payload::Latest {
            text: "5".into(),
            sequence: None
        }
    );
}

#[test]
fn hubtel_rejects_unreadable_requests() {
    for body in [
        "",
        "not json",
        "[]",
        r#""Initiation""#,
        r#"{"Type":"Response","Message":"1"}"#,
        r#"{"SessionId":"","Type":"Response"}"#,
        r#"{"SessionId":"s","Message":"1"}"#,
        r#"{"SessionId":"s","Type":"  "}"#,
    ] {
        assert!(Hubtel.decode(&json(body)).is_err(), "{body:?}");
    }
    let bad_utf8 = GatewayRequest {
        content_type: None,
        query: String::new(),
        body: vec![b'{', 0xFF, b'}'],
        ..GatewayRequest::default()
    };
    assert!(Hubtel.decode(&bad_utf8).is_err());
}

#[test]
fn hubtel_encodes_response_and_release() {
    let r = Hubtel.encode(
        &Screen {
            text: "Choose your bank\n1. Access\n2. GTBank".into(),
            end: false,
            masked: false,
        },
        "s",
        "bank-menu",
    );
    assert_eq!(r.status, 200);
    assert_eq!(header(&r.headers, "content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "Type": "Response",
            "Message": "Choose your bank\n1. Access\n2. GTBank",
            "ClientState": "bank-menu"
        })
    );

    let r = Hubtel.encode(
        &Screen {
            text: "Done \"quoted\"".into(),
            end: true,
            masked: false,
        },
        "s",
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"Type": "Release", "Message": "Done \"quoted\"", "ClientState": ""})
    );
}

proptest! {
    #[test]
    fn hubtel_decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Hubtel.decode(&GatewayRequest { body, ..GatewayRequest::default() });
    }
}
