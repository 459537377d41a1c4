//! Infobip (ussd.md §4): a REST call per hop, the session and what the hop
//! is in the path, JSON in and out, latest input only (L).
//!
//! Requests: `POST …/{sessionId}/start`, `…/{sessionId}/response` and
//! `…/{sessionId}/end`, each with a JSON body of `msisdn`, `text`,
//! `shortCode`, `ussdGwId`, `imsi`, `language` and `optional`. The last
//! two path segments say what the hop is:
//!
//! | path ends | hop | payload |
//! |---|---|---|
//! | `{sessionId}/start` | first dial; `text` is the dialled string | [`Payload::Initiation`] |
//! | `{sessionId}/response` | an answer; `text` is what was typed last | [`Payload::Latest`] |
//! | `{sessionId}/end` | the session ended | [`Payload::Release`] |
//! | `{sessionId}/status` | is the session still going? | [`Payload::Status`] |
//! | anything else | not in the reference | [`Payload::Unsupported`] |
//!
//! The session id is the path segment as sent (not percent-decoded): it is
//! only compared with itself, hop after hop, and a store key never needs
//! it decoded. So [`GatewayRequest::path`] must be the path as received,
//! ending in `{sessionId}/{call}` (as `connectflow serve`'s route gives it);
//! a blank id (`%20` too) or one past 128 bytes is unreadable.
//!
//! `shortCode` is the service code, so a first dial's pre-dialled segments
//! (`*384*123*2#` under `*384*123#`) are found as for Hubtel; a first dial
//! with no `text` is the code alone.
//!
//! Reply: `{"ussdMenu": "…", "shouldClose": false, "responseExitCode": 200,
//! "responseMessage": ""}`, `shouldClose` true to end. Nothing is echoed:
//! the reply answers its own request.
//!
//! Not in the reference, from Infobip's transport in vumi
//! (praekeltfoundation/vumi, `vumi/transports/infobip`): a `…/status` call,
//! body or not, asks whether the session is active, and is answered
//! `{"sessionActive": true, "responseExitCode": 200, "responseMessage": ""}`
//! unless the session's last screen ended it or an `end` call did
//! (`false`); a session with no record may be on its first screen, stored
//! nowhere, and is active (an `end` to such a session marks nothing, so
//! that `end` calls naming no session write nothing; nor does one that
//! comes after a re-dial took the session over, see
//! `UssdService::mark_ended`).
//! Answered like a call it does not name, a closing
//! reply without `sessionActive`, it could read as "not active" and close a
//! session the person is still in. And Infobip
//! shows a session's first reply as a menu whatever `shouldClose` says, so
//! a closing reply to `start` (the busy screen, an unreadable request) may
//! still be answered: that answer comes as a `response` to a session with
//! no state here, which may only pick a bank.

use serde::Serialize;

use super::hubtel::text;
use super::json::{json_reply, object};
use super::{
    normalise_msisdn, DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop,
    Screen,
};
use crate::channel::ussd::input::normalise_service_code;

/// The Infobip codec (store-key name `infobip`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Infobip;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reply<'a> {
    ussd_menu: &'a str,
    should_close: bool,
    response_exit_code: u16,
    response_message: &'a str,
}

/// The reply to a `status` call, in the field order of vumi's transport.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusReply {
    session_active: bool,
    response_exit_code: u16,
    response_message: &'static str,
}

/// The longest session id taken (Infobip's are short; a path may carry
/// up to the header limit, and the id goes into a store key).
const MAX_SESSION_ID: usize = 128;

/// The session id and the hop's kind: the last two segments of `path`
/// (a trailing `/` ignored). `None` when there are not two, or the id is
/// blank (also once percent-decoded: `%20`) or past [`MAX_SESSION_ID`].
fn session_and_kind(path: &str) -> Option<(&str, &str)> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let kind = segments.next()?;
    let session = segments.next()?.trim();
    let usable = !blank_decoded(session) && session.len() <= MAX_SESSION_ID;
    usable.then_some((session, kind))
}

/// Whether `segment`, percent-decoded, is empty or only whitespace.
fn blank_decoded(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|d| (*d as char).to_digit(16));
        let decoded = match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                i += 3;
                (high * 16 + low) as u8
            }
            _ => {
                i += 1;
                b
            }
        };
        if !decoded.is_ascii_whitespace() {
            return false;
        }
    }
    true
}

impl Gateway for Infobip {
    fn name(&self) -> &'static str {
        "infobip"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let (session_id, kind) = session_and_kind(&request.path)
            .ok_or_else(|| DecodeError("no session id in the path".to_owned()))?;
        // `end` and `status` carry nothing we need: they are read whatever
        // their body, so a session ends (or is asked after) even when the
        // gateway sends an empty one (vumi's transport reads no body for
        // `status`).
        let object = match (kind, object(request)) {
            (_, Ok(object)) => object,
            ("end" | "status", Err(_)) => Default::default(),
            (_, Err(e)) => return Err(e),
        };
        let service_code = normalise_service_code(&text(&object, "shortCode"));
        let input = text(&object, "text");
        let payload = match kind {
            "start" => Payload::Initiation {
                dialled: if input.trim().is_empty() {
                    service_code.clone()
                } else {
                    input
                },
            },
            // Infobip numbers no hops, so a repeated delivery cannot be
            // told from the same answer typed again.
            "response" => Payload::Latest {
                text: input,
                sequence: None,
            },
            "end" => Payload::Release,
            "status" => Payload::Status,
            other => Payload::Unsupported(format!("Infobip call {other:?}")),
        };
        Ok(RawHop {
            session_id: session_id.to_owned(),
            phone: normalise_msisdn(&text(&object, "msisdn")),
            service_code,
            // The gateway's id (`ussdGwId`) names the operator's link, the
            // nearest thing to a network this request carries.
            network: text(&object, "ussdGwId").trim().to_owned(),
            payload,
        })
    }

    fn encode(&self, screen: &Screen, _session_id: &str, _client_state: &str) -> GatewayResponse {
        json_reply(&Reply {
            ussd_menu: &screen.text,
            should_close: screen.end,
            response_exit_code: 200,
            response_message: "",
        })
    }

    fn asks_status(&self) -> bool {
        true
    }

    fn encode_status(&self, active: bool, _session_id: &str) -> GatewayResponse {
        json_reply(&StatusReply {
            session_active: active,
            response_exit_code: 200,
            response_message: "",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_and_kind_are_the_paths_last_two_segments() {
        assert_eq!(
            session_and_kind("/ussd/infobip/abc-1/start"),
            Some(("abc-1", "start"))
        );
        assert_eq!(
            session_and_kind("/ussd/infobip/abc-1/end/"),
            Some(("abc-1", "end"))
        );
        assert_eq!(session_and_kind("/ussd/infobip/ /start"), None);
        // Blank once decoded, or too long to be a key.
        assert_eq!(session_and_kind("/ussd/infobip/%20%09/start"), None);
        let long = format!("/ussd/infobip/{}/start", "a".repeat(129));
        assert_eq!(session_and_kind(&long), None);
        let longest = format!("/ussd/infobip/{}/start", "a".repeat(128));
        assert!(session_and_kind(&longest).is_some());
        // A stray `%` is not an escape: kept, so not blank.
        assert_eq!(
            session_and_kind("/ussd/infobip/%2/start"),
            Some(("%2", "start"))
        );
        assert_eq!(session_and_kind("start"), None);
        assert_eq!(session_and_kind(""), None);
    }
}
