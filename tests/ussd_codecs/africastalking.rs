//! Africa's Talking: decoding hops and notifications, encoding `CON`/`END`,
//! masking input for logs.

use super::*;

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

/// Safaricom's direct interface: a `GET` under its own names, the same
/// cumulative input, pre-dialled segments first.
#[test]
fn at_reads_safaricoms_direct_names() {
    let hop = AfricasTalking
        .decode(&query(
            "SESSION_ID=sf-1&ORIG=254711222444&DEST=*384*123%23&USSD_PARAMS=2*1",
        ))
        .unwrap();
    assert_eq!(
        hop,
        RawHop {
            session_id: "sf-1".into(),
            phone: "+254711222444".into(),
            service_code: "*384*123#".into(),
            network: String::new(),
            payload: Payload::Cumulative("2*1".into()),
        }
    );
    // `DEST` without the code's marks, as Safaricom sends it.
    let hop = AfricasTalking
        .decode(&query(
            "SESSION_ID=sf-2&ORIG=254711222444&DEST=167&USSD_PARAMS=",
        ))
        .unwrap();
    assert_eq!(hop.service_code, "*167#");
    assert_eq!(hop.payload, Payload::Cumulative(String::new()));
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
        ..GatewayRequest::default()
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
            masked: false,
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
            masked: false,
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
            masked: false,
        },
        "s",
        "",
    );
    assert_eq!(r.body, b"CON Hello".to_vec());
    let r = AfricasTalking.encode(
        &Screen {
            text: String::new(),
            end: true,
            masked: false,
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
        let req = GatewayRequest { content_type: None, query: q, body, ..GatewayRequest::default() };
        let _ = AfricasTalking.decode(&req);
        let _ = decode_notification(&req);
    }
}
