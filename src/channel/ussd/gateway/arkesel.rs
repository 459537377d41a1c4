//! Arkesel, Ghana (ussd.md §4): JSON in, JSON out, latest input only (L).
//!
//! Request: `{sessionID, userID, newSession, msisdn, userData, network}`.
//! `newSession: true` is the first dial, and its `userData` the dialled
//! string; every later hop's `userData` is what the person typed last.
//! Arkesel sends no service code, so pre-dialled segments are told from
//! the code by the codes the deployment answers
//! ([`UssdConfig::service_codes`](crate::channel::ussd::UssdConfig::service_codes));
//! without them a first dial carries none. Whether Arkesel forwards
//! pre-dialled segments at all is unconfirmed (the reference says nothing
//! of it for this gateway): this reads them if they come. Arkesel has no
//! end-of-session request in the reference: a session just stops.
//!
//! Reply, in the reference's field order:
//!
//! ```json
//! { "sessionID": "…", "userID": "…", "msisdn": "233…", "message": "…",
//!   "continueSession": true }
//! ```
//!
//! `continueSession` is `true` to wait for an answer and `false` to end.
//! `userID` and `msisdn` are echoed as the request sent them; since
//! [`Gateway::encode`](super::Gateway::encode) is given only the session id, the codec that
//! answers a request is [`Gateway::replying_to`](super::Gateway::replying_to)'s copy, which carries them.

use serde::Serialize;

use super::ghana;
use super::{GatewayResponse, Screen};

/// The Arkesel codec (store-key name `arkesel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Arkesel;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "sessionID")]
    session_id: &'a str,
    #[serde(rename = "userID")]
    user_id: &'a str,
    msisdn: &'a str,
    message: &'a str,
    #[serde(rename = "continueSession")]
    continue_session: bool,
}

impl ghana::Echoing for Arkesel {
    const NAME: &'static str = "arkesel";
    const KEYS: ghana::Keys = ghana::Keys {
        session: "sessionID",
        first: "newSession",
        data: "userData",
        msisdn: "msisdn",
        network: "network",
        user: "userID",
    };

    fn reply(
        &self,
        screen: &Screen,
        session_id: &str,
        user_id: &str,
        msisdn: &str,
    ) -> GatewayResponse {
        ghana::json_reply(&Reply {
            session_id,
            user_id,
            msisdn,
            message: &screen.text,
            continue_session: !screen.end,
        })
    }
}
