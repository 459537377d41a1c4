//! Gateway codecs: pure translation between one gateway's wire format (HTTP,
//! or MTN Nigeria's packets over TCP) and one normalised hop. A new gateway
//! is one new file here.

use std::fmt;

pub mod africastalking;
pub mod airtel;
pub mod arkesel;
pub mod dmark;
mod form;
mod ghana;
pub mod hollatags;
pub mod hubtel;
pub mod hubtel_ps;
pub mod infobip;
mod json;
pub mod korba;
pub mod msisdn;
pub mod mtn_nigeria;
pub mod nalo;
pub mod sendexa;

pub use msisdn::normalise_msisdn;

/// An HTTP request as a gateway sent it (what a codec reads).
///
/// Its `Debug` shows the query's and the body's lengths, not their bytes:
/// they carry what the person typed, a PIN among it.
#[derive(Clone, Default)]
pub struct GatewayRequest {
    /// `content-type` header, if any.
    pub content_type: Option<String>,
    /// The raw query string (without `?`), for gateways that use GET.
    pub query: String,
    /// The request's path as received, still percent-encoded (Infobip
    /// carries the session id and the call in it; a host building requests
    /// itself must pass it so, or the same session keys differently).
    pub path: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// The address the request came from, when the server knows it.
    pub peer: Option<std::net::IpAddr>,
}

impl fmt::Debug for GatewayRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayRequest")
            .field("content_type", &self.content_type)
            .field("query", &Withheld(self.query.len()))
            .field("path", &self.path)
            .field("body", &Withheld(self.body.len()))
            .field("peer", &self.peer)
            .finish()
    }
}

/// What a `Debug` shows in place of what a person typed: its length in
/// bytes. A hop's text may be a PIN, an OTP or a password; which, only the
/// flow knows, so every typed text is withheld (the MTN packet's `Debug`
/// does the same for its fields).
pub(crate) struct Withheld(pub(crate) usize);

impl fmt::Debug for Withheld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes withheld>", self.0)
    }
}

/// What a codec writes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    /// HTTP status (always 200 for a screen: a 4xx ends the session badly).
    pub status: u16,
    /// Headers, e.g. `content-type`.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// One screen for the handset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Screen {
    /// The text shown, without any `CON `/`END ` prefix.
    pub text: String,
    /// True to close the session after showing it (`END`, `Release`).
    pub end: bool,
    /// The screen asks for a secret (PIN, password, OTP): gateways with
    /// app clients mask what is typed (Hubtel Programmable Services'
    /// `FieldType: password`). Absent in records stored before it existed.
    #[serde(default)]
    pub masked: bool,
}

/// A decoded gateway request: who, which session, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHop {
    /// The gateway's session id.
    pub session_id: String,
    /// MSISDN normalised to E.164 with a leading `+`, or empty if absent.
    pub phone: String,
    /// The code dialled, e.g. `*384*123#` (may be empty).
    pub service_code: String,
    /// MCC+MNC or operator name, if sent.
    pub network: String,
    /// What the gateway reports.
    pub payload: Payload,
}

/// What a hop carries, before input extraction.
///
/// Its `Debug` withholds the text typed and the dialled string
/// (their lengths only): a PIN is typed here, and Airtel decodes an answer shaped
/// like a dialled code (`*4321`) as a dial.
#[derive(Clone, PartialEq, Eq)]
pub enum Payload {
    /// Africa's Talking style: every input so far joined with `*` (C).
    Cumulative(String),
    /// Hubtel style first hop: the full dialled string (e.g. `*714*4*1#`);
    /// segments after the service code are pre-dialled input.
    Initiation {
        /// The dialled string.
        dialled: String,
    },
    /// Latest input only (L), with the gateway's sequence number if any
    /// (a repeated sequence is a duplicate delivery).
    Latest {
        /// The text typed.
        text: String,
        /// Hop number, when the gateway sends one.
        sequence: Option<u64>,
    },
    /// The user or network ended the session.
    Release,
    /// The gateway gave up waiting for us; any reply is ignored.
    Timeout,
    /// A request kind this channel does not serve (Hubtel Programmable
    /// Services' `AddToCart`, `Query`, `Favorite`, or a kind added later):
    /// answered with a polite end, never read as input. Holds the kind as
    /// sent, for the log.
    Unsupported(String),
    /// The gateway asks whether the session is still going (Infobip's
    /// `…/status`): answered by [`Gateway::encode_status`], never read as
    /// input, touching no session. A gateway that decodes it says so in
    /// [`Gateway::asks_status`], or its sessions' ends are not remembered
    /// for the answer.
    Status,
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Cumulative(text) => f
                .debug_tuple("Cumulative")
                .field(&Withheld(text.len()))
                .finish(),
            Payload::Initiation { dialled } => f
                .debug_struct("Initiation")
                .field("dialled", &Withheld(dialled.len()))
                .finish(),
            Payload::Latest { text, sequence } => f
                .debug_struct("Latest")
                .field("text", &Withheld(text.len()))
                .field("sequence", sequence)
                .finish(),
            Payload::Release => f.write_str("Release"),
            Payload::Timeout => f.write_str("Timeout"),
            Payload::Unsupported(kind) => f.debug_tuple("Unsupported").field(kind).finish(),
            Payload::Status => f.write_str("Status"),
        }
    }
}

/// An end-of-session notification (Africa's Talking's separate callback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnded {
    /// The gateway's session id.
    pub session_id: String,
    /// MSISDN, E.164.
    pub phone: String,
    /// `Success`, `Incomplete`, `Failed` or what the gateway sent.
    pub status: String,
    /// The gateway's error message, when `Failed`.
    pub error_message: Option<String>,
    /// Session length in ms.
    pub duration_ms: Option<u64>,
    /// Number of hops.
    pub hops: Option<u32>,
}

/// A request the codec could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable gateway request: {0}")]
pub struct DecodeError(pub String);

/// One gateway's wire format.
pub trait Gateway: Send + Sync + 'static {
    /// Short name, used in store keys (`at`, `hubtel`).
    fn name(&self) -> &'static str;
    /// Reads a hop. Lenient: a missing optional field is empty, unknown fields are ignored.
    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError>;
    /// Writes a screen. `client_state` is echoed back by gateways that support it.
    fn encode(&self, screen: &Screen, session_id: &str, client_state: &str) -> GatewayResponse;
    /// The longest this gateway waits for a reply, when it is known to be
    /// shorter than usual (Sendexa: 5 to 10 seconds, by carrier): a hop's
    /// reply budget ([`UssdConfig::reply_budget`](super::UssdConfig::reply_budget))
    /// is cut to it, so a slow bank's interim screen reaches the handset
    /// before the gateway gives up. `None`, the default: the budget as
    /// configured.
    fn reply_within(&self) -> Option<std::time::Duration> {
        None
    }
    /// Whether this gateway asks after its sessions ([`Payload::Status`]).
    /// A session such a gateway ends ([`Payload::Release`],
    /// [`Payload::Timeout`]) is then marked ended in the store, so that a
    /// later question is answered "not active"; the others' ends write
    /// nothing (the flow is kept for a re-dial either way). `false`, the
    /// default.
    fn asks_status(&self) -> bool {
        false
    }
    /// Answers a [`Payload::Status`] call: whether the session is `active`
    /// here. Only a gateway that makes such calls decodes one; the default,
    /// for the others, is an empty screen that ends the session unless it
    /// is active.
    fn encode_status(&self, active: bool, session_id: &str) -> GatewayResponse {
        let screen = Screen {
            text: String::new(),
            end: !active,
            masked: false,
        };
        self.encode(&screen, session_id, "")
    }
    /// The codec to serve `request` with. A gateway whose reply echoes
    /// request fields besides the session id (Arkesel's `userID` and
    /// `msisdn`, Nalo's `USERID` and `MSISDN`) gives a copy of itself that
    /// carries them, since [`Gateway::encode`] is given only the session
    /// id; `None`, the default, serves it with `self`.
    /// [`UssdService::hop`](super::UssdService::hop) asks for it.
    fn replying_to(&self, _request: &GatewayRequest) -> Option<Box<dyn Gateway>> {
        None
    }
}

/// The name of every gateway codec (their [`Gateway::name`]): a phone's
/// resume index is kept per gateway, and a host's request that waits for a
/// phone's next dial must be found whichever gateway it comes through.
pub(crate) const NAMES: [&str; 12] = [
    "at",
    "hubtel",
    "hubtel-ps",
    "arkesel",
    "nalo",
    "korba",
    "infobip",
    "airtel",
    "dmark",
    "hollatags",
    "sendexa",
    "mtn-ng",
];

#[cfg(test)]
mod names_tests {
    use super::*;

    /// `NAMES` is written out by hand: it must list every codec's name.
    #[test]
    fn names_are_every_codecs_name() {
        assert_eq!(
            NAMES,
            [
                africastalking::AfricasTalking.name(),
                hubtel::Hubtel.name(),
                hubtel_ps::HubtelPs.name(),
                arkesel::Arkesel.name(),
                nalo::Nalo.name(),
                korba::Korba.name(),
                infobip::Infobip.name(),
                airtel::Airtel.name(),
                dmark::Dmark.name(),
                hollatags::HollaTags.name(),
                sendexa::Sendexa.name(),
                mtn_nigeria::MtnNigeria::default().name(),
            ]
        );
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;
    use crate::channel::ussd::input::{extract, Extracted};

    /// A PIN typed on a handset is in the request a gateway sends and in the
    /// hop decoded from it; neither's `Debug` (a host's `{:?}` in a log line)
    /// shows it, whether it came in a body (Africa's Talking, cumulative),
    /// a query string (Airtel, latest only) or after extraction.
    #[test]
    fn what_a_person_typed_is_withheld_from_debug() {
        let pin = "4321";
        let cumulative = GatewayRequest {
            content_type: Some("application/x-www-form-urlencoded".into()),
            body: format!("sessionId=s1&phoneNumber=%2B254711000003&text=1*1*user_otp*{pin}")
                .into_bytes(),
            ..GatewayRequest::default()
        };
        let latest = GatewayRequest {
            query: format!("SessionID=s2&MSISDN=254711000003&MSC=x&input={pin}"),
            ..GatewayRequest::default()
        };
        for (gateway, request) in [
            (&africastalking::AfricasTalking as &dyn Gateway, cumulative),
            (&airtel::Airtel, latest),
        ] {
            let hop = gateway.decode(&request).unwrap();
            assert!(
                matches!(&hop.payload, Payload::Cumulative(t) | Payload::Latest { text: t, .. } if t.ends_with(pin)),
                "{}: the PIN is decoded",
                gateway.name()
            );
            for shown in [format!("{request:?}"), format!("{hop:?}")] {
                assert!(!shown.contains(pin), "{}: {shown}", gateway.name());
                assert!(shown.contains("bytes withheld"), "{shown}");
            }
            // Who and which session stay readable.
            assert!(format!("{hop:?}").contains(&hop.session_id));
        }
        let typed = extract(Some("1*1*user_otp"), &format!("1*1*user_otp*{pin}"));
        assert_eq!(typed, Extracted::Input(pin.into()));
        assert_eq!(format!("{typed:?}"), "Input(<4 bytes withheld>)");
        let decided = crate::channel::ussd::hop::Decision::Menu(pin);
        assert_eq!(format!("{decided:?}"), "Menu(<4 bytes withheld>)");
        // Airtel takes an answer shaped like a dialled code for a dial.
        let dial = Payload::Initiation {
            dialled: format!("*{pin}"),
        };
        assert_eq!(
            format!("{dial:?}"),
            "Initiation { dialled: <5 bytes withheld> }"
        );
    }
}
