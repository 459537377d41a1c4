//! Hubtel Programmable Services, Ghana (ussd.md §3): the same JSON request
//! as [classic Hubtel](super::hubtel), with lower-case `Type` values and the
//! extra fields `Platform` and `ExtraData` (read past: they concern Hubtel's
//! app and mall, not a USSD step), and a richer reply.
//!
//! Request `Type`: `initiation` (first hop; `Message` is the dialled string,
//! blank from Hubtel's app), `response` (latest input, with `Sequence`),
//! `release` (the person or network ended it), `Timeout` (we were too slow;
//! any reply is ignored). Matched case-insensitively. `AddToCart`, `Query`,
//! `Favorite` and any kind added later are not USSD steps of a bank link:
//! they decode to [`Payload::Unsupported`], which the channel answers with a
//! polite `release` and which never reaches a flow as input.
//!
//! Reply, in the field order of ussd.md §3:
//!
//! ```json
//! { "SessionId": "…", "Type": "response", "Message": "Choose your bank\n1. …",
//!   "Label": "Choose your bank", "ClientState": "", "DataType": "input",
//!   "FieldType": "text", "FieldName": "input", "Data": [], "Item": null,
//!   "PersistAsFavoriteStep": false }
//! ```
//!
//! `Type` is `response` (continue) or `release` (end); this channel never
//! sends `AddToCart` (it sells nothing). `DataType` is `input` on a screen
//! that waits for an answer and `display` on a final one. `FieldType` is
//! `password` on a screen asking for a secret ([`Screen::masked`]), so
//! Hubtel's app masks what is typed, and `text` otherwise. `Label` is the
//! screen's first line, the title Hubtel's app shows; the USSD handset shows
//! `Message`. `Data` stays empty: options are numbered inside `Message`, so
//! the app and the handset get the same menu and the same numbers.

use serde::Serialize;

use super::hubtel::{envelope, hop, sequence, text};
use super::{DecodeError, Gateway, GatewayRequest, GatewayResponse, Payload, RawHop, Screen};

/// The Hubtel Programmable Services codec (store-key name `hubtel-ps`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HubtelPs;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "SessionId")]
    session_id: &'a str,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(rename = "Label")]
    label: &'a str,
    #[serde(rename = "ClientState")]
    client_state: &'a str,
    #[serde(rename = "DataType")]
    data_type: &'static str,
    #[serde(rename = "FieldType")]
    field_type: &'static str,
    #[serde(rename = "FieldName")]
    field_name: &'static str,
    #[serde(rename = "Data")]
    data: [(); 0],
    #[serde(rename = "Item")]
    item: Option<()>,
    #[serde(rename = "PersistAsFavoriteStep")]
    persist_as_favorite_step: bool,
}

impl Gateway for HubtelPs {
    fn name(&self) -> &'static str {
        // Its own store-key space: a session id is only unique per gateway.
        "hubtel-ps"
    }

    fn decode(&self, request: &GatewayRequest) -> Result<RawHop, DecodeError> {
        let (object, session_id, kind) = envelope(request)?;
        let message = text(&object, "Message");
        let payload = match kind.to_ascii_lowercase().as_str() {
            "initiation" => Payload::Initiation { dialled: message },
            "response" => Payload::Latest {
                text: message,
                sequence: sequence(&object),
            },
            "release" => Payload::Release,
            "timeout" => Payload::Timeout,
            // AddToCart, Query, Favorite, and whatever Hubtel adds next:
            // reading them as typed input would feed a cart or a search
            // string to a login form.
            _ => Payload::Unsupported(kind),
        };
        Ok(hop(&object, session_id, payload))
    }

    fn encode(&self, screen: &Screen, session_id: &str, client_state: &str) -> GatewayResponse {
        let input = !screen.end;
        let reply = Reply {
            session_id,
            kind: if screen.end { "release" } else { "response" },
            message: &screen.text,
            label: screen.text.lines().next().unwrap_or(""),
            client_state,
            data_type: if input { "input" } else { "display" },
            field_type: if input && screen.masked {
                "password"
            } else {
                "text"
            },
            field_name: if input { "input" } else { "" },
            data: [],
            item: None,
            persist_as_favorite_step: false,
        };
        // Serialising strings, a bool, an empty array and a null into memory
        // cannot fail, so the empty fallback is unreachable.
        let body = serde_json::to_vec(&reply).unwrap_or_default();
        GatewayResponse {
            status: 200,
            headers: vec![("content-type", "application/json".to_owned())],
            body,
        }
    }
}
