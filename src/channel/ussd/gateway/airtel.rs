//! Airtel's Comviva-style USSD gateway (ussd.md §4): query parameters in,
//! plain text out with the continue/end signal in a header, latest input
//! only (L).
//!
//! Request: `SessionID`, `MSISDN`, `MSC` (the switch that carried the
//! session) and `input`, in the query string (or a form body). What the
//! hop is:
//!
//! | request | hop | payload |
//! |---|---|---|
//! | carries `clean` (a cleanup call, with `error` when it failed) | the session ended | [`Payload::Release`] |
//! | `input` is a dialled code (`*`, digits and `*`s, `#` or not: the first hop) | first dial | [`Payload::Initiation`] |
//! | anything else | an answer; `input` is what was typed last | [`Payload::Latest`] |
//!
//! The first hop carries the code the person dialled and no separate
//! service code, so pre-dialled segments are told from the code by the
//! codes the deployment answers
//! ([`UssdConfig::service_codes`](crate::channel::ussd::UssdConfig::service_codes));
//! without them a first dial carries none (as for Arkesel and Nalo). A first
//! hop whose code comes without its `*` (`384*123`) is decoded as an answer;
//! with no session yet, the channel knows it for a dial when it is one of
//! those codes, and otherwise answers "Invalid choice." An answer shaped like a
//! dialled code (`*123#`) in the middle of a session is taken as a dial and
//! dropped: the same screen comes back, nothing is sent (so a password of
//! that shape cannot be typed here). Menu answers, PINs and OTPs are
//! digits. Every hop but a cleanup must carry `MSISDN`. Airtel numbers no
//! hops, so a repeated delivery cannot be told from the same answer typed
//! again.
//!
//! Reply: the screen's text as the body, and the header `Freeflow: FC` to
//! wait for an answer or `FB` to end, with `charge: N` and `amount: 0` (a
//! link costs the person nothing).

use std::borrow::Cow;

use crate::channel::ussd::input::is_dialled_code;

use super::{
    normalise_msisdn, DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop,
    Screen,
};

/// The Airtel (Comviva) codec (store-key name `airtel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Airtel;

/// The fields this codec reads, by the names of the reference.
#[derive(Default)]
struct Fields<'a> {
    session: Option<Cow<'a, str>>,
    msisdn: Option<Cow<'a, str>>,
    msc: Option<Cow<'a, str>>,
    input: Option<Cow<'a, str>>,
    clean: bool,
}

impl<'a> Fields<'a> {
    /// The query first, then a form body: the first value of a name wins.
    fn parse(request: &'a GatewayRequest) -> Fields<'a> {
        let mut fields = Fields::default();
        for source in [request.query.as_bytes(), &request.body[..]] {
            for (name, value) in super::form::pairs(source) {
                let slot = match name.as_ref() {
                    "SessionID" => &mut fields.session,
                    "MSISDN" => &mut fields.msisdn,
                    "MSC" => &mut fields.msc,
                    "input" => &mut fields.input,
                    "clean" => {
                        fields.clean = true;
                        continue;
                    }
                    _ => continue,
                };
                slot.get_or_insert(value);
            }
        }
        fields
    }
}

impl Gateway for Airtel {
    fn name(&self) -> &'static str {
        "airtel"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let fields = Fields::parse(request);
        let session_id = fields
            .session
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| DecodeError("missing SessionID".to_owned()))?
            .to_owned();
        let msisdn = fields.msisdn.as_deref().unwrap_or_default().trim();
        // The phone is how a session is held to its caller (a hop from
        // another number is refused): a hop without one is unreadable. A
        // cleanup call may come without it, and only ends the session.
        if msisdn.is_empty() && !fields.clean {
            return Err(DecodeError("missing MSISDN".to_owned()));
        }
        let input = fields.input.as_deref().unwrap_or_default();
        let payload = if fields.clean {
            Payload::Release
        } else if is_dialled_code(input.trim()) {
            Payload::Initiation {
                dialled: input.trim().to_owned(),
            }
        } else {
            Payload::Latest {
                text: input.to_owned(),
                sequence: None,
            }
        };
        Ok(RawHop {
            session_id,
            phone: normalise_msisdn(msisdn),
            service_code: String::new(),
            network: fields.msc.as_deref().unwrap_or_default().trim().to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        GatewayResponse {
            status: 200,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".to_owned()),
                ("freeflow", if screen.end { "FB" } else { "FC" }.to_owned()),
                ("charge", "N".to_owned()),
                ("amount", "0".to_owned()),
            ],
            body: screen.text.clone().into_bytes(),
        }
    }
}
