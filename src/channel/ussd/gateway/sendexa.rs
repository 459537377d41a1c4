//! Sendexa, Ghana (ussd.md §4): JSON in, JSON out, latest input only (L).
//!
//! Request: `{sessionId, phone, network, serviceCode, type, input,
//! timestamp}`, `phone` in international form (`233…`). `type` says what
//! the hop is:
//!
//! | `type` | hop | payload |
//! |---|---|---|
//! | `new` | first dial (`input` is null) | [`Payload::Initiation`] |
//! | `continue` | an answer; `input` is what was typed | [`Payload::Latest`] |
//! | anything else | not in the reference | [`Payload::Unsupported`] |
//!
//! Case and surrounding spaces do not matter; absent, the hop cannot be
//! told apart from another kind, and is unreadable. Whether `serviceCode`
//! carries pre-dialled segments (`*123*1#`) or only the code is not said,
//! so it is read as the dialled string and told from the code by the codes
//! the deployment answers
//! ([`UssdConfig::service_codes`](crate::channel::ussd::UssdConfig::service_codes)),
//! as for Arkesel: with them a pre-dialled bank is picked, without them a
//! first dial carries none. Sendexa numbers no hops and sends no
//! end-of-session call in the reference (a person who cancels just stops
//! sending).
//!
//! Reply: `{"message": "…", "shouldClose": false}` to wait for an answer,
//! `true` to end. Nothing is echoed. Sendexa waits 5–10 seconds for it
//! (by carrier), so a hop's reply budget is cut to [`REPLY_WITHIN`]: a
//! slow bank's interim screen is sent before the shortest of those.

use serde::Serialize;

use super::ghana::{self, text};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};

/// The longest a Sendexa hop takes before its reply (or a slow bank's
/// interim screen) is sent: a second inside the 5 seconds some carriers
/// wait, for the network on the way back.
pub const REPLY_WITHIN: std::time::Duration = std::time::Duration::from_secs(4);

/// The Sendexa codec (store-key name `sendexa`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sendexa;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    message: &'a str,
    #[serde(rename = "shouldClose")]
    should_close: bool,
}

impl Gateway for Sendexa {
    fn name(&self) -> &'static str {
        "sendexa"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let object = ghana::object(request)?;
        let session_id = ghana::session_id(&object, "sessionId")?;
        let kind = text(&object, "type");
        let kind = kind.trim();
        let payload = if kind.eq_ignore_ascii_case("new") {
            Payload::Initiation {
                dialled: text(&object, "serviceCode").trim().to_owned(),
            }
        } else if kind.eq_ignore_ascii_case("continue") {
            Payload::Latest {
                text: text(&object, "input"),
                sequence: None,
            }
        } else if kind.is_empty() {
            return Err(DecodeError("missing type".to_owned()));
        } else {
            Payload::Unsupported(format!("type {kind}"))
        };
        Ok(RawHop {
            session_id,
            phone: ghana::msisdn(&text(&object, "phone")),
            // Read against the deployment's codes: see the module's doc.
            service_code: String::new(),
            network: text(&object, "network").trim().to_owned(),
            payload,
        })
    }

    fn reply_within(&self) -> Option<std::time::Duration> {
        Some(REPLY_WITHIN)
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        ghana::json_reply(&Reply {
            message: &screen.text,
            should_close: screen.end,
        })
    }
}
