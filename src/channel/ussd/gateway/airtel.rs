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
//! | `input` is a dialled code (`*`, digits and `*`s, `#`: the first hop) | first dial | [`Payload::Initiation`] |
//! | anything else | an answer; `input` is what was typed last | [`Payload::Latest`] |
//!
//! The first hop carries the code the person dialled and no separate
//! service code, so pre-dialled segments cannot be told from the code
//! itself: a first dial carries none (as for Arkesel and Nalo). An answer
//! shaped like a dialled code (`*123#`) would read as a new dial; menu
//! answers, PINs and OTPs are digits. Airtel numbers no hops, so a repeated
//! delivery cannot be told from the same answer typed again.
//!
//! Reply: the screen's text as the body, and the header `Freeflow: FC` to
//! wait for an answer or `FB` to end, with `charge: N` and `amount: 0` (a
//! link costs the person nothing).

use std::borrow::Cow;

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

/// Whether `input` is a dialled code: `*`, then digits and `*`s, then `#`.
fn is_dialled_code(input: &str) -> bool {
    input
        .strip_prefix('*')
        .and_then(|rest| rest.strip_suffix('#'))
        .is_some_and(|code| {
            code.bytes().next().is_some_and(|b| b.is_ascii_digit())
                && code.bytes().all(|b| b.is_ascii_digit() || b == b'*')
        })
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
            phone: normalise_msisdn(fields.msisdn.as_deref().unwrap_or_default()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialled_code_is_told_from_an_answer() {
        for code in ["*384*123#", "*544#", "*384*123*1#"] {
            assert!(is_dialled_code(code), "{code}");
        }
        for answer in [
            "", "1", "1234", "*", "#", "*#", "**1#", "*abc#", "*12", "12#",
        ] {
            assert!(!is_dialled_code(answer), "{answer}");
        }
    }
}
