//! The protocol without a socket: packets in, packets out, time passed in.

use super::*;

const EVERY: Duration = Duration::from_secs(30);

fn login() -> Login<'static> {
    Login {
        username: "connectflow",
        password: "s3cret",
        application_id: "1029384756",
    }
}

fn protocol(now: Instant) -> Protocol {
    Protocol::new(now, &login(), EVERY, Duration::from_secs(10), 41)
}

fn sent(p: &mut Protocol) -> Vec<Packet> {
    std::iter::from_fn(|| p.poll_transmit())
        .map(|bytes| Packet::parse(&bytes).unwrap())
        .collect()
}

fn packet(session: &str, kind: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    fields
        .iter()
        .fold(Packet::new(session, kind), |p, (n, v)| p.with(n, v))
        .to_bytes()
}

/// Logged in, its login drained.
fn logged_in(now: Instant) -> Protocol {
    let mut p = protocol(now);
    let _ = sent(&mut p);
    p.handle_frame(
        now,
        packet(
            "1",
            "AUTHResponse",
            &[("requestId", "42"), ("authMsg", "SUCCESS")],
        ),
    );
    p
}

#[test]
fn the_login_goes_first_and_an_unanswered_one_ends_the_connection() {
    let now = Instant::now();
    let mut p = protocol(now);
    let [auth] = &sent(&mut p)[..] else {
        panic!("one packet")
    };
    assert_eq!(auth.kind, "AUTHRequest");
    assert_eq!(auth.session_id.len(), 16);
    assert!(auth.session_id.bytes().all(|b| b.is_ascii_digit()));
    let id = auth.field("requestId").unwrap();
    assert!(
        id.len() <= 10 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(auth.field("userName"), Some("connectflow"));
    assert_eq!(auth.field("passWord"), Some("s3cret"));
    assert_eq!(auth.field("applicationId"), Some("1029384756"));
    assert_eq!(p.poll_timeout(), Some(now + LOGIN_TIMEOUT));
    p.handle_timeout(now + LOGIN_TIMEOUT - Duration::from_millis(1));
    assert_eq!(p.ended(), None);
    p.handle_timeout(now + LOGIN_TIMEOUT);
    assert_eq!(p.ended(), Some(&End::Silent("login")));
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn a_refused_login_ends_the_connection_with_its_meaning() {
    let now = Instant::now();
    let mut p = protocol(now);
    let _ = sent(&mut p);
    p.handle_frame(
        now,
        packet(
            "1",
            "AUTHError",
            &[
                ("requestId", "1"),
                ("authMsg", "FAILED"),
                ("errorCode", "001"),
            ],
        ),
    );
    assert_eq!(
        p.ended(),
        Some(&End::Refused("001 (invalid user name or password)".into()))
    );
}

#[test]
fn nothing_but_the_logins_answer_is_taken_before_login() {
    let now = Instant::now();
    let mut p = protocol(now);
    let _ = sent(&mut p);
    p.handle_frame(
        now,
        packet("77", "USSDRequest", &[("requestId", "9"), ("msgtype", "1")]),
    );
    assert!(p.poll_hop().is_none());
    let [refusal] = &sent(&mut p)[..] else {
        panic!("one packet")
    };
    assert_eq!(refusal.kind, "USSDError");
    assert_eq!(refusal.session_id, "77");
    assert_eq!(refusal.field("requestId"), Some("9"));
    assert_eq!(refusal.field("errorCode"), Some("207"));
    assert!(!p.logged_in());
}

#[test]
fn once_logged_in_it_enquires_at_once_and_every_interval_and_a_silent_server_ends_it() {
    let now = Instant::now();
    let mut p = logged_in(now);
    assert!(p.logged_in());
    assert_eq!(p.poll_timeout(), Some(now));
    p.handle_timeout(now);
    let [enquiry] = &sent(&mut p)[..] else {
        panic!("one packet")
    };
    assert_eq!(enquiry.kind, "ENQRequest");
    assert_eq!(enquiry.field("enqCmd"), Some("ENQUIRELINK"));
    // Answered: the next enquiry is an interval later.
    p.handle_frame(
        now,
        packet(
            "1",
            "ENQResponse",
            &[("requestId", "5"), ("enqCmd", "ENQUIRELINKRSP")],
        ),
    );
    assert_eq!(p.poll_timeout(), Some(now + EVERY));
    let later = now + EVERY;
    p.handle_timeout(later);
    assert_eq!(sent(&mut p).len(), 1);
    // Not answered within the timeout: over.
    assert_eq!(p.poll_timeout(), Some(later + Duration::from_secs(10)));
    p.handle_timeout(later + Duration::from_secs(10));
    assert_eq!(p.ended(), Some(&End::Silent("enquire link")));
    assert!(p.poll_transmit().is_none());
}

#[test]
fn the_servers_enquiry_is_answered_with_its_own_ids() {
    let now = Instant::now();
    let mut p = logged_in(now);
    p.handle_frame(
        now,
        packet(
            "555",
            "ENQRequest",
            &[("requestId", "123"), ("enqCmd", "ENQUIRELINK")],
        ),
    );
    let [answer] = &sent(&mut p)[..] else {
        panic!("one packet")
    };
    assert_eq!(answer.kind, "ENQResponse");
    assert_eq!(answer.session_id, "555");
    assert_eq!(answer.field("requestId"), Some("123"));
    assert_eq!(answer.field("enqCmd"), Some("ENQUIRELINKRSP"));
}

#[test]
fn hops_come_out_whole_and_what_the_protocol_lacks_is_refused_without_ending_it() {
    let now = Instant::now();
    let mut p = logged_in(now);
    let mut stream = packet("9", "Nonsense", &[("requestId", "3")]);
    // A body that is not XML, behind a good header.
    let body = b"<USSDRequest><msisdn>";
    let mut bad = b"8".to_vec();
    bad.resize(16, 0);
    bad.extend_from_slice((32 + body.len()).to_string().as_bytes());
    bad.resize(32, 0);
    bad.extend_from_slice(body);
    stream.extend_from_slice(&bad);
    let hop = packet(
        "7",
        "USSDRequest",
        &[
            ("requestId", "4"),
            ("msisdn", "2348031234567"),
            ("msgtype", "1"),
        ],
    );
    stream.extend_from_slice(&hop);
    // Half of one more packet: kept for the next read.
    let next = packet(
        "6",
        "USSDRequest",
        &[
            ("requestId", "5"),
            ("msisdn", "2348031234567"),
            ("msgtype", "4"),
        ],
    );
    stream.extend_from_slice(&next[..20]);
    feed(&mut p, now, &mut stream);
    assert_eq!(p.ended(), None);
    let refusals: Vec<(String, Option<String>)> = sent(&mut p)
        .into_iter()
        .map(|r| {
            (
                r.session_id.clone(),
                r.field("errorCode").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        refusals,
        [
            ("9".into(), Some("208".into())),
            ("8".into(), Some("208".into()))
        ]
    );
    let got = p.poll_hop().unwrap();
    assert_eq!(got.frame, hop);
    assert_eq!(got.packet.session_id, "7");
    assert!(p.poll_hop().is_none());
    assert_eq!(stream, &next[..20]);
    stream.extend_from_slice(&next[20..]);
    feed(&mut p, now, &mut stream);
    assert_eq!(p.poll_hop().unwrap().packet.session_id, "6");
    assert!(stream.is_empty());
}

#[test]
fn an_unreadable_header_ends_the_connection() {
    let now = Instant::now();
    let mut p = logged_in(now);
    let mut stream = vec![b'x'; 40];
    feed(&mut p, now, &mut stream);
    assert_eq!(p.ended(), Some(&End::OutOfStep));
    assert!(p.poll_hop().is_none() && p.poll_transmit().is_none());
}

#[test]
fn an_enquirys_answer_is_waited_for_at_most_an_interval() {
    let now = Instant::now();
    let mut p = Protocol::new(now, &login(), EVERY, Duration::from_secs(300), 1);
    let _ = sent(&mut p);
    p.handle_frame(now, packet("1", "AUTHResponse", &[("requestId", "1")]));
    p.handle_timeout(now);
    assert_eq!(sent(&mut p)[0].kind, "ENQRequest");
    // Unanswered for an interval (not the 300 s asked): over.
    p.handle_timeout(now + EVERY);
    assert_eq!(p.ended(), Some(&End::Silent("enquire link")));
}

#[test]
fn a_hop_without_its_id_phone_or_kind_is_refused_not_served() {
    let now = Instant::now();
    let mut p = logged_in(now);
    let full = [
        ("requestId", "8"),
        ("msisdn", "2348031234567"),
        ("msgtype", "1"),
    ];
    for missing in ["requestId", "msisdn", "msgtype"] {
        let fields: Vec<(&str, &str)> = full
            .iter()
            .map(|&(n, v)| if n == missing { (n, "") } else { (n, v) })
            .collect();
        p.handle_frame(now, packet("31", "USSDRequest", &fields));
        assert!(p.poll_hop().is_none(), "{missing}");
        let refusal = sent(&mut p).pop().unwrap();
        assert_eq!(
            (refusal.kind.as_str(), refusal.field("errorCode")),
            ("USSDError", Some("208")),
            "{missing}"
        );
    }
    p.handle_frame(now, packet("31", "USSDRequest", &full));
    assert!(p.poll_hop().is_some());
}

#[test]
fn a_second_login_answer_does_not_clear_an_enquirys_deadline() {
    let now = Instant::now();
    let mut p = logged_in(now);
    p.handle_timeout(now);
    let _ = sent(&mut p);
    p.handle_frame(now, packet("1", "AUTHResponse", &[("requestId", "2")]));
    p.handle_timeout(now + Duration::from_secs(10));
    assert_eq!(p.ended(), Some(&End::Silent("enquire link")));
}

#[test]
fn a_hops_debug_shows_no_typed_text() {
    let now = Instant::now();
    let mut p = logged_in(now);
    let fields = [
        ("requestId", "8"),
        ("msisdn", "2348031234567"),
        ("msgtype", "4"),
        ("userdata", "4921"),
    ];
    p.handle_frame(now, packet("31", "USSDRequest", &fields));
    let shown = format!("{:?}", p.poll_hop().unwrap());
    assert!(
        shown.contains("userdata") && !shown.contains("4921"),
        "{shown}"
    );
}

#[test]
fn two_connections_ids_differ() {
    let now = Instant::now();
    let mut a = Protocol::new(now, &login(), EVERY, EVERY, 1);
    let mut b = Protocol::new(now, &login(), EVERY, EVERY, 1_000_000);
    let (a, b) = (sent(&mut a).remove(0), sent(&mut b).remove(0));
    assert_ne!(a.session_id, b.session_id);
    assert_ne!(a.field("requestId"), b.field("requestId"));
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    /// A stream of packets of any kind and body, and raw bytes, cut at any
    /// points.
    fn stream() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let packet = (
            "[0-9]{0,16}",
            // A login refusal ends the stream: rare, as in life.
            prop_oneof![
                20 => prop::sample::select(vec![
                    "USSDRequest",
                    "ENQRequest",
                    "ENQResponse",
                    "AUTHResponse",
                    "USSDError",
                    "USSDResponse",
                    "Other",
                ]),
                1 => Just("AUTHError"),
            ],
            // The protocol's own field names mostly (so hops get through
            // and are refused for what they lack), sometimes empty.
            prop::collection::vec(
                (
                    prop_oneof![
                        4 => prop::sample::select(vec![
                            "requestId", "msisdn", "msgtype", "userdata", "starCode",
                            "clientId", "EndofSession", "errorCode", "enqCmd",
                        ])
                        .prop_map(str::to_owned),
                        1 => "[a-zA-Z]{1,12}",
                    ],
                    prop_oneof![3 => "[0-9*#]{1,12}", 1 => Just(String::new()), 1 => ".{0,20}"],
                ),
                0..8,
            ),
        )
            .prop_map(|(session, kind, fields)| {
                fields
                    .iter()
                    .fold(Packet::new(&session, kind), |p, (n, v)| p.with(n, v))
                    .to_bytes()
            });
        let raw = prop::collection::vec(any::<u8>(), 0..64);
        // Raw bytes mostly put the stream out of step, which ends it.
        prop::collection::vec(prop_oneof![30 => packet, 1 => raw], 0..16)
    }

    proptest! {
        /// Invariant: whatever the server sends, in whatever pieces, the
        /// protocol never panics; once it has ended it says why and hands
        /// out nothing more; every hop it hands out is a `USSDRequest` with
        /// the id, phone and kind it needs, and it never writes a packet
        /// that is not one (each transmit parses back).
        #[test]
        fn any_stream_is_taken_without_a_panic(chunks in stream(), cut in 1usize..50) {
            let now = Instant::now();
            let mut p = protocol(now);
            let bytes: Vec<u8> = chunks.concat();
            let mut buffer = Vec::new();
            for piece in bytes.chunks(cut) {
                buffer.extend_from_slice(piece);
                feed(&mut p, now, &mut buffer);
                p.handle_timeout(now);
                while let Some(out) = p.poll_transmit() {
                    prop_assert!(Packet::parse(&out).is_ok());
                }
                while let Some(hop) = p.poll_hop() {
                    prop_assert_eq!(hop.packet.kind.as_str(), REQUEST);
                    for name in HOP_NEEDS {
                        prop_assert!(hop.packet.field(name).is_some_and(|v| !v.is_empty()));
                    }
                }
                if p.ended().is_some() {
                    prop_assert!(p.poll_transmit().is_none() && p.poll_hop().is_none());
                    break;
                }
            }
        }
    }
}
