//! The pure USSD pieces: gateway codecs, MSISDN normalisation, input
//! extraction (ussd.md §2.2) and GSM-7 length accounting (§5).
#![cfg(feature = "ussd")]

use std::borrow::Cow;

use connectflow::channel::ussd::gateway::africastalking::{
    decode_notification, mask_input, AfricasTalking,
};
use connectflow::channel::ussd::gateway::hubtel::Hubtel;
use connectflow::channel::ussd::gateway::{
    normalise_msisdn, Gateway, GatewayRequest, Payload, RawHop, Screen, SessionEnded,
};
use connectflow::channel::ussd::gsm::{measure, sanitize, Budget, Encoding, Measure};
use connectflow::channel::ussd::input::{
    dialled_prefill, extract, normalise_service_code, Extracted,
};
use proptest::prelude::*;

fn form(body: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: Some("application/x-www-form-urlencoded".into()),
        query: String::new(),
        body: body.as_bytes().to_vec(),
    }
}

fn query(q: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: None,
        query: q.into(),
        body: Vec::new(),
    }
}

fn json(body: &str) -> GatewayRequest {
    GatewayRequest {
        content_type: Some("application/json".into()),
        query: String::new(),
        body: body.as_bytes().to_vec(),
    }
}

fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------- msisdn

#[test]
fn msisdn_table() {
    let rows = [
        // Already E.164.
        ("+254711222333", "+254711222333"),
        ("+1 (415) 555-0100", "+14155550100"),
        // International prefix.
        ("00233244567890", "+233244567890"),
        ("0044 20 7946 0958", "+442079460958"),
        // Bare international numbers from known markets.
        ("233244567890", "+233244567890"),
        ("2348031234567", "+2348031234567"),
        ("254711222333", "+254711222333"),
        ("255712345678", "+255712345678"),
        ("256712345678", "+256712345678"),
        ("250788123456", "+250788123456"),
        ("27821234567", "+27821234567"),
        ("260971234567", "+260971234567"),
        ("265991234567", "+265991234567"),
        ("251911234567", "+251911234567"),
        ("237671234567", "+237671234567"),
        ("2250712345678", "+2250712345678"),
        ("221771234567", "+221771234567"),
        // A raw `+` in a query string arrives as a space.
        (" 254711222333", "+254711222333"),
        ("234 (803) 123-4567", "+2348031234567"),
        // Local numbers: never guess the country.
        ("08031234567", "08031234567"),
        ("0803 123 4567", "08031234567"),
        ("0244567890", "0244567890"),
        ("0711-222-333", "0711222333"),
        // Too short, too long, or an unknown country code: cleaned only.
        ("2547112223", "2547112223"),
        ("2348031234567890", "2348031234567890"),
        ("14155550100", "14155550100"),
        ("447946095812", "447946095812"),
        // Junk passes through cleaned.
        ("", ""),
        ("   ", ""),
        ("00", "00"),
        ("00abc", "00abc"),
        ("abc-def", "abcdef"),
    ];
    for (raw, want) in rows {
        assert_eq!(normalise_msisdn(raw), want, "normalise_msisdn({raw:?})");
    }
}

// ------------------------------------------------------- Africa's Talking

#[test]
fn at_name() {
    assert_eq!(AfricasTalking.name(), "at");
}

#[test]
fn at_decodes_a_first_hop() {
    let hop = AfricasTalking
        .decode(&form(
            "sessionId=ATUid_6c772a68e52bfc41e8e8d5289db4d90c&serviceCode=%2A384%2A123%23\
             &phoneNumber=%2B254711222333&networkCode=63902&text=",
        ))
        .unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "ATUid_6c772a68e52bfc41e8e8d5289db4d90c".into(),
            phone: "+254711222333".into(),
            service_code: "*384*123#".into(),
            network: "63902".into(),
            payload: Payload::Cumulative(String::new()),
        }
    );
}

#[test]
fn at_decodes_cumulative_text_verbatim() {
    let hop = AfricasTalking
        .decode(&form(
            "sessionId=s1&serviceCode=*384*123%23&phoneNumber=%2B254711222333&text=1%2A2%2A12*34",
        ))
        .unwrap();
    assert_eq!(hop.payload, Payload::Cumulative("1*2*12*34".into()));
}

#[test]
fn at_missing_text_and_network_are_empty() {
    let hop = AfricasTalking
        .decode(&form(
            "sessionId=s1&serviceCode=*384%23&phoneNumber=%2B2348031234567",
        ))
        .unwrap();
    assert_eq!(hop.payload, Payload::Cumulative(String::new()));
    assert_eq!(hop.network, "");
    assert_eq!(hop.phone, "+2348031234567");
}

#[test]
fn at_ignores_unknown_fields() {
    let hop = AfricasTalking
        .decode(&form(
            "foo=bar&sessionId=s1&extra=%FF%FE&phoneNumber=%2B254711222333&text=1&x",
        ))
        .unwrap();
    assert_eq!(hop.session_id, "s1");
    assert_eq!(hop.payload, Payload::Cumulative("1".into()));
}

#[test]
fn at_reads_the_query_string_for_get_clones() {
    // A raw `+` in a query is a space after form decoding; the MSISDN rule
    // restores it.
    let hop = AfricasTalking
        .decode(&query(
            "sessionId=q1&serviceCode=*384*5%23&phoneNumber=+254711222333&text=1*2",
        ))
        .unwrap();
    assert_eq!(hop.session_id, "q1");
    assert_eq!(hop.phone, "+254711222333");
    assert_eq!(hop.service_code, "*384*5#");
    assert_eq!(hop.payload, Payload::Cumulative("1*2".into()));
}

#[test]
fn at_reads_kenyan_snake_case_names() {
    let hop = AfricasTalking
        .decode(&query(
            "session_id=k1&msisdn=254711222333&ussd_string=3*1&service_code=*544%23&network_code=63903",
        ))
        .unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "k1".into(),
            phone: "+254711222333".into(),
            service_code: "*544#".into(),
            network: "63903".into(),
            payload: Payload::Cumulative("3*1".into()),
        }
    );
}

#[test]
fn at_body_wins_over_query() {
    let mut req = form("sessionId=body&text=1");
    req.query = "sessionId=query&text=2&channel=ng".into();
    let hop = AfricasTalking.decode(&req).unwrap();
    assert_eq!(hop.session_id, "body");
    assert_eq!(hop.payload, Payload::Cumulative("1".into()));
}

#[test]
fn at_missing_or_blank_session_id_is_an_error() {
    for body in [
        "",
        "serviceCode=*384%23&phoneNumber=%2B254711222333&text=1",
        "sessionId=&text=1",
        "sessionId=%20%20&text=1",
    ] {
        assert!(AfricasTalking.decode(&form(body)).is_err(), "{body:?}");
    }
}

#[test]
fn at_survives_garbage_bytes() {
    let garbage: Vec<u8> = (0u8..=255).chain([b'%', b'=', b'&', 0xC3]).collect();
    let req = GatewayRequest {
        content_type: None,
        query: "%%%&&==%zz".into(),
        body: garbage,
    };
    // No panic; without a session id it is an error.
    assert!(AfricasTalking.decode(&req).is_err());
}

#[test]
fn at_encodes_con_and_end() {
    let con = AfricasTalking.encode(
        &Screen {
            text: "Choose your bank\n1. Access\n2. GTBank\n98. More".into(),
            end: false,
        },
        "s1",
        "ignored",
    );
    assert_eq!(con.status, 200);
    assert_eq!(
        header(&con.headers, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        con.body,
        b"CON Choose your bank\n1. Access\n2. GTBank\n98. More".to_vec()
    );

    let end = AfricasTalking.encode(
        &Screen {
            text: "Account linked. Ref 7QX2".into(),
            end: true,
        },
        "s1",
        "",
    );
    assert_eq!(end.status, 200);
    assert_eq!(end.body, b"END Account linked. Ref 7QX2".to_vec());
}

#[test]
fn at_encode_emits_exactly_one_space() {
    let r = AfricasTalking.encode(
        &Screen {
            text: "  \n Hello".into(),
            end: false,
        },
        "s",
        "",
    );
    assert_eq!(r.body, b"CON Hello".to_vec());
    let r = AfricasTalking.encode(
        &Screen {
            text: String::new(),
            end: true,
        },
        "s",
        "",
    );
    assert_eq!(r.body, b"END ".to_vec());
}

#[test]
fn at_notification_full() {
    let ended = decode_notification(&form(
        "date=2024-05-01+10%3A11%3A12&sessionId=ATUid_1&serviceCode=*384*123%23\
         &networkCode=62130&phoneNumber=%2B2348031234567&status=Incomplete&cost=NGN+4.00\
         &durationInMillis=45123&hopsCount=4&input=1*2*1234*998877\
         &lastAppResponse=CON+Enter+OTP",
    ))
    .unwrap();
    assert_eq!(
        ended,
        SessionEnded {
            session_id: "ATUid_1".into(),
            phone: "+2348031234567".into(),
            status: "Incomplete".into(),
            error_message: None,
            duration_ms: Some(45123),
            hops: Some(4),
        }
    );
}

#[test]
fn at_notification_failed_with_error_message() {
    let ended = decode_notification(&form(
        "sessionId=s9&phoneNumber=%2B254711222333&status=Failed\
         &errorMessage=Application+timed+out&durationInMillis=15000.0&hopsCount=x",
    ))
    .unwrap();
    assert_eq!(ended.status, "Failed");
    assert_eq!(
        ended.error_message.as_deref(),
        Some("Application timed out")
    );
    assert_eq!(ended.duration_ms, Some(15000));
    assert_eq!(ended.hops, None);
}

#[test]
fn at_notification_is_lenient_but_needs_a_session() {
    let ended = decode_notification(&form("sessionId=s2&errorMessage=")).unwrap();
    assert_eq!(ended.status, "");
    assert_eq!(ended.phone, "");
    assert_eq!(ended.error_message, None);
    assert_eq!(ended.duration_ms, None);
    assert_eq!(ended.hops, None);
    assert!(decode_notification(&form("status=Success&input=1234")).is_err());
    assert!(
        decode_notification(&form("sessionId=s3&durationInMillis=-5"))
            .unwrap()
            .duration_ms
            .is_none()
    );
}

#[test]
fn mask_input_table() {
    let rows = [
        ("", ""),
        ("1", "#"),
        ("1*2*1234*998877", "#*#*####*######"),
        ("7*a*b*****", "#*#*#*****"),
        ("**", "**"),
        ("1**", "#**"),
        ("é1*ñ", "##*#"),
    ];
    for (input, want) in rows {
        assert_eq!(mask_input(input), want, "mask_input({input:?})");
    }
}

proptest! {
    #[test]
    fn mask_input_hides_everything_but_the_shape(input in "[0-9*#a-zé]{0,40}") {
        let masked = mask_input(&input);
        prop_assert_eq!(masked.chars().count(), input.chars().count());
        for (m, c) in masked.chars().zip(input.chars()) {
            prop_assert_eq!(m, if c == '*' { '*' } else { '#' });
        }
    }

    #[test]
    fn at_decode_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200),
                              q in ".{0,80}") {
        let req = GatewayRequest { content_type: None, query: q, body };
        let _ = AfricasTalking.decode(&req);
        let _ = decode_notification(&req);
    }
}

// ------------------------------------------------------------------ Hubtel

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
        // Programmable Services extras read as input.
        (
            "AddToCart",
            Payload::Latest {
                text: "m".into(),
                sequence: Some(2),
            },
        ),
        (
            "Query",
            Payload::Latest {
                text: "m".into(),
                sequence: Some(2),
            },
        ),
        (
            "Favorite",
            Payload::Latest {
                text: "m".into(),
                sequence: Some(2),
            },
        ),
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
    };
    assert!(Hubtel.decode(&bad_utf8).is_err());
}

#[test]
fn hubtel_encodes_response_and_release() {
    let r = Hubtel.encode(
        &Screen {
            text: "Choose your bank\n1. Access\n2. GTBank".into(),
            end: false,
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
        let _ = Hubtel.decode(&GatewayRequest { content_type: None, query: String::new(), body });
    }
}

// ------------------------------------------------------------------- input

#[test]
fn suffix_diff_table() {
    let rows: [(Option<&str>, &str, Extracted); 7] = [
        (None, "", Extracted::Begin { prefill: vec![] }),
        (Some(""), "1", Extracted::Input("1".into())),
        (Some("1"), "1*2", Extracted::Input("2".into())),
        (Some("1*2"), "1*2*12*34", Extracted::Input("12*34".into())),
        (Some("7*a*b"), "7*a*b*****", Extracted::Input("****".into())),
        (Some("1"), "1*", Extracted::Input(String::new())),
        (Some("1*2"), "1*2", Extracted::Duplicate),
    ];
    for (prev, text, want) in rows {
        assert_eq!(extract(prev, text), want, "prev {prev:?}, text {text:?}");
    }
}

#[test]
fn empty_first_reply_is_a_duplicate() {
    assert_eq!(extract(Some(""), ""), Extracted::Duplicate);
}

#[test]
fn typed_star_after_a_reply() {
    // §2.1: a previous `1` plus a typed `*` arrives as `1**`.
    assert_eq!(extract(Some("1"), "1**"), Extracted::Input("*".into()));
}

#[test]
fn text_that_does_not_extend_prev_is_lost() {
    assert_eq!(
        extract(Some("1*2"), "3*4"),
        Extracted::Lost { input: "4".into() }
    );
    // A prefix match without the separator is not an extension.
    assert_eq!(
        extract(Some("1"), "12"),
        Extracted::Lost { input: "12".into() }
    );
    // Shorter than prev (the gateway restarted the history).
    assert_eq!(
        extract(Some("1*2*3"), "1*2"),
        Extracted::Lost { input: "2".into() }
    );
    assert_eq!(
        extract(Some("1*2"), "1*2x*"),
        Extracted::Lost {
            input: String::new()
        }
    );
}

#[test]
fn begin_carries_pre_dialled_segments() {
    assert_eq!(
        extract(None, "1*2"),
        Extracted::Begin {
            prefill: vec!["1".into(), "2".into()]
        }
    );
    assert_eq!(
        extract(None, "4"),
        Extracted::Begin {
            prefill: vec!["4".into()]
        }
    );
    assert_eq!(
        extract(None, "1**3"),
        Extracted::Begin {
            prefill: vec!["1".into(), String::new(), "3".into()]
        }
    );
    // After a pre-dialled first hop, the next text extends it.
    assert_eq!(extract(Some("1*2"), "1*2*5"), Extracted::Input("5".into()));
}

#[test]
fn dialled_prefill_table() {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let rows: [(&str, &str, Vec<String>); 13] = [
        ("714*4", "*714*4*1*2#", v(&["1", "2"])),
        ("*714*4#", "*714*4*1*2#", v(&["1", "2"])),
        ("*714*4", "714*4*1*2", v(&["1", "2"])),
        ("714*4#", "*714*4*1*2", v(&["1", "2"])),
        (" 714*4 ", " *714*4*3# ", v(&["3"])),
        ("714*4", "*714*4#", v(&[])),
        ("714*4", "*714*4", v(&[])),
        ("714*4", "*714*4*#", v(&[])),
        ("714", "*714*5*3*100*1#", v(&["5", "3", "100", "1"])),
        // A different code that shares the prefix is not pre-dialled input.
        ("714", "*7145#", v(&[])),
        // Mismatch or nothing to go on: no guessing.
        ("714*4", "*384*1#", v(&[])),
        ("", "*714*4*1#", v(&[])),
        ("714*4", "", v(&[])),
    ];
    for (code, dialled, want) in rows {
        assert_eq!(
            dialled_prefill(code, dialled),
            want,
            "dialled_prefill({code:?}, {dialled:?})"
        );
    }
}

#[test]
fn service_code_normalisation() {
    for (raw, want) in [
        ("714*4", "*714*4#"),
        ("*714*4#", "*714*4#"),
        ("*384*123", "*384*123#"),
        ("384#", "*384#"),
        (" *544# ", "*544#"),
        ("", ""),
        ("*#", ""),
    ] {
        assert_eq!(normalise_service_code(raw), want, "{raw:?}");
    }
}

/// Answers a person can type: digits, `*`, `#`, letters, possibly empty.
fn answer() -> impl Strategy<Value = String> {
    "[0-9*#a-z]{0,6}"
}

/// An answer sequence the gateway can distinguish (ussd.md §2.2): the first
/// answer is non-empty, because an empty first answer leaves `text` at `""`,
/// exactly as the first hop, and is reported as `Duplicate`. Later answers
/// may be empty or contain `*`.
fn distinguishable_answers() -> impl Strategy<Value = Vec<String>> {
    ("[0-9*#a-z]{1,6}", proptest::collection::vec(answer(), 0..8)).prop_map(|(first, rest)| {
        let mut all = vec![first];
        all.extend(rest);
        all
    })
}

proptest! {
    /// The invariant of `input`: the cumulative AT texts of a distinguishable
    /// answer sequence, fed hop by hop, give back exactly each answer, and a
    /// re-delivered hop is a duplicate.
    #[test]
    fn suffix_diff_recovers_every_answer(answers in distinguishable_answers()) {
        prop_assert_eq!(extract(None, ""), Extracted::Begin { prefill: vec![] });
        let mut prev = String::new();
        for (i, a) in answers.iter().enumerate() {
            let text = if i == 0 { a.clone() } else { format!("{prev}*{a}") };
            prop_assert_eq!(extract(Some(&prev), &text), Extracted::Input(a.clone()));
            prop_assert_eq!(extract(Some(&text), &text), Extracted::Duplicate);
            prev = text;
        }
    }

    /// After a pre-dialled (non-empty) first hop every answer is recovered,
    /// an empty first one included.
    #[test]
    fn suffix_diff_after_pre_dialled_first_hop(
        first in "[0-9]{1,3}(\\*[0-9]{1,3}){0,2}",
        answers in proptest::collection::vec(answer(), 0..8),
    ) {
        let begin = extract(None, &first);
        let prefill: Vec<String> = first.split('*').map(str::to_owned).collect();
        prop_assert_eq!(begin, Extracted::Begin { prefill });
        let mut prev = first;
        for a in &answers {
            let text = format!("{prev}*{a}");
            prop_assert_eq!(extract(Some(&prev), &text), Extracted::Input(a.clone()));
            prev = text;
        }
    }

    /// The one indistinguishable case really is reported as a duplicate.
    #[test]
    fn empty_first_answer_is_duplicate(rest in proptest::collection::vec(answer(), 0..4)) {
        prop_assert_eq!(extract(Some(""), ""), Extracted::Duplicate);
        // And what follows is then read as if it were the first answer.
        if let Some(a) = rest.first() {
            let text = format!("*{a}");
            prop_assert_eq!(extract(Some(""), &text), Extracted::Input(text.clone()));
        }
    }
}

// --------------------------------------------------------------------- GSM

const BASIC_SET: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENSION_SET: &str = "\u{0C}^{}\\[~]|€";

#[test]
fn basic_set_is_127_single_septets() {
    // 128 positions minus ESC.
    assert_eq!(BASIC_SET.chars().count(), 127);
    for c in BASIC_SET.chars() {
        assert_eq!(
            measure(&c.to_string()),
            Measure {
                encoding: Encoding::Gsm7,
                units: 1
            },
            "{c:?}"
        );
    }
    assert_eq!(
        measure(BASIC_SET),
        Measure {
            encoding: Encoding::Gsm7,
            units: 127
        }
    );
}

#[test]
fn extension_characters_cost_two() {
    for c in EXTENSION_SET.chars() {
        assert_eq!(
            measure(&c.to_string()),
            Measure {
                encoding: Encoding::Gsm7,
                units: 2
            },
            "{c:?}"
        );
    }
    assert_eq!(measure("€5").units, 3);
    assert_eq!(measure("Pay €100 [ok]").units, 16);
}

#[test]
fn section5_examples() {
    for c in ["$", "£", "¥", "¤"] {
        assert_eq!(measure(c).encoding, Encoding::Gsm7, "{c}");
    }
    for c in [
        "₦", "`", "‘", "’", "“", "”", "…", "–", "—", "ê", "ọ", "¢", "😀", "\u{1B}", "\t",
    ] {
        assert_eq!(measure(c).encoding, Encoding::Ucs2, "{c:?}");
    }
    // One non-GSM character forces UCS-2 for the whole screen.
    assert_eq!(
        measure("Balance: ₦500"),
        Measure {
            encoding: Encoding::Ucs2,
            units: 13
        }
    );
    // An emoji outside the BMP costs two UTF-16 units.
    assert_eq!(
        measure("Done 😀"),
        Measure {
            encoding: Encoding::Ucs2,
            units: 7
        }
    );
    assert_eq!(
        measure(""),
        Measure {
            encoding: Encoding::Gsm7,
            units: 0
        }
    );
}

#[test]
fn budget_edges() {
    let b = Budget::default();
    assert_eq!(
        b,
        Budget {
            gsm7: 160,
            ucs2: 80
        }
    );
    assert!(b.fits(&"a".repeat(160)));
    assert!(!b.fits(&"a".repeat(161)));
    assert!(b.fits(&"€".repeat(80)));
    assert!(!b.fits(&format!("{}a", "€".repeat(80))));
    assert!(b.fits(&"ê".repeat(80)));
    assert!(!b.fits(&"ê".repeat(81)));
    assert!(b.fits(&"😀".repeat(40)));
    assert!(!b.fits(&"😀".repeat(41)));
    assert_eq!(b.limit_for(Encoding::Gsm7), 160);
    assert_eq!(b.limit_for(Encoding::Ucs2), 80);

    let max = Budget::new(500);
    assert_eq!(
        max,
        Budget {
            gsm7: 182,
            ucs2: 80
        }
    );
    assert!(max.fits(&"a".repeat(182)));
    assert!(!max.fits(&"a".repeat(183)));
    assert_eq!(
        Budget::new(170),
        Budget {
            gsm7: 170,
            ucs2: 80
        }
    );
    assert_eq!(Budget::new(60), Budget { gsm7: 60, ucs2: 60 });
}

#[test]
fn sanitize_examples() {
    let rows = [
        ("Loading…", "Loading..."),
        ("‘Ade’ and “Bola”", "'Ade' and \"Bola\""),
        ("`tick´", "'tick'"),
        ("10–20 — ok", "10-20 - ok"),
        ("₦5,000", "NGN5,000"),
        ("Zenith\u{A0}Bank", "Zenith Bank"),
        ("Crêpe Noël", "Crepe Noel"),
        ("Sá Lâ", "Sa La"),
        ("Íñîgo", "Iñigo"),
        ("Ọlọ́lá Adéọ̀ṣun", "Olola Adéosun"),
        ("Agbó ô", "Agbo o"),
        ("Úrsula û", "Ursula u"),
        ("Français", "Francais"),
        ("Kwabɛna Ɔsei", "Kwabena Osei"),
        ("Ac\u{200B}cess", "Access"),
    ];
    for (input, want) in rows {
        let got = sanitize(input);
        assert_eq!(got, want, "sanitize({input:?})");
        assert_eq!(measure(&got).encoding, Encoding::Gsm7, "{want:?}");
    }
}

#[test]
fn sanitize_keeps_gsm_characters() {
    let kept = "é è à ù ì ò Ç Ä Ö Ñ Ü ä ö ñ ü É Å å Æ æ Ø ø ß € [x] $ £ ¥ ¤";
    assert!(matches!(sanitize(kept), Cow::Borrowed(s) if s == kept));
    assert!(matches!(sanitize(BASIC_SET), Cow::Borrowed(_)));
    // Unmappable characters stay; the screen is then UCS-2 regardless.
    assert_eq!(sanitize("Hi 😀 …"), "Hi 😀 ...");
    assert_eq!(sanitize("₵50"), "₵50");
}

#[test]
fn every_sanitized_character_is_gsm_or_untouched() {
    // Exhaustive over the BMP below the surrogates: a replacement must land
    // in GSM-7, and anything without one must come back as itself.
    for c in (0u32..0xD800).filter_map(char::from_u32) {
        let s = c.to_string();
        let out = sanitize(&s);
        if out != s {
            assert_eq!(measure(&out).encoding, Encoding::Gsm7, "{c:?} -> {out:?}");
            assert_eq!(
                measure(&s).encoding,
                Encoding::Ucs2,
                "{c:?} was GSM already"
            );
        }
    }
}

fn gsm_char() -> impl Strategy<Value = char> {
    let all: Vec<char> = BASIC_SET.chars().chain(EXTENSION_SET.chars()).collect();
    proptest::sample::select(all)
}

fn basic_char() -> impl Strategy<Value = char> {
    proptest::sample::select(BASIC_SET.chars().collect::<Vec<_>>())
}

proptest! {
    /// A string already in GSM-7 comes back unchanged, so never longer.
    #[test]
    fn sanitize_leaves_gsm_text_alone(chars in proptest::collection::vec(gsm_char(), 0..200)) {
        let s: String = chars.into_iter().collect();
        let out = sanitize(&s);
        prop_assert!(matches!(out, Cow::Borrowed(_)));
        prop_assert_eq!(measure(&out), measure(&s));
    }

    /// For any string: sanitising GSM text never lengthens it, sanitising is
    /// idempotent, and only a character with no mapping keeps UCS-2.
    #[test]
    fn sanitize_any_string(s in any::<String>()) {
        let before = measure(&s);
        let out = sanitize(&s);
        let after = measure(&out);
        if before.encoding == Encoding::Gsm7 {
            prop_assert_eq!(after, before);
        }
        let again = sanitize(&out);
        prop_assert_eq!(again.as_ref(), out.as_ref());
        if after.encoding == Encoding::Ucs2 {
            prop_assert!(out.chars().any(|c| measure(&c.to_string()).encoding == Encoding::Ucs2));
        }
    }

    /// Text from the basic set measures as GSM-7, one septet per character.
    #[test]
    fn basic_set_text_counts_chars(chars in proptest::collection::vec(basic_char(), 0..400)) {
        let s: String = chars.into_iter().collect();
        prop_assert_eq!(measure(&s), Measure { encoding: Encoding::Gsm7, units: s.chars().count() });
    }

    /// UCS-2 text counts UTF-16 units; one non-GSM character flips the lot.
    #[test]
    fn one_foreign_char_forces_ucs2(prefix in proptest::collection::vec(basic_char(), 0..100)) {
        let s: String = prefix.into_iter().chain(std::iter::once('₦')).collect();
        prop_assert_eq!(measure(&s), Measure { encoding: Encoding::Ucs2, units: s.encode_utf16().count() });
    }
}
