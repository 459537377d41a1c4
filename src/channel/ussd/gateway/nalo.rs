//! Nalo Solutions, Ghana (ussd.md §4): JSON in, JSON out, latest input
//! only (L).
//!
//! Request: `{USERID, MSISDN, USERDATA, MSGTYPE, NETWORK, SESSIONID}`.
//! `MSGTYPE: true` is the first dial, and its `USERDATA` the dialled
//! string; every later hop's `USERDATA` is what the person typed last.
//! Nalo sends no service code, so pre-dialled segments are told from the
//! code by the codes the deployment answers
//! ([`UssdConfig::service_codes`](crate::channel::ussd::UssdConfig::service_codes));
//! without them a first dial carries none. Whether Nalo forwards
//! pre-dialled segments at all is unconfirmed (the reference says nothing
//! of it for this gateway): this reads them if they come. Nalo has no
//! end-of-session request in the reference: a session just stops.
//!
//! Reply, in the reference's field order:
//!
//! ```json
//! { "USERID": "…", "MSISDN": "233…", "USERDATA": "", "MSG": "…", "MSGTYPE": true }
//! ```
//!
//! `MSGTYPE` is `true` to wait for an answer and `false` to end. `USERID`
//! and `MSISDN` are echoed as the request sent them; since
//! [`Gateway::encode`](super::Gateway::encode) is given only the session id, the codec that
//! answers a request is [`Gateway::replying_to`](super::Gateway::replying_to)'s copy, which carries
//! them. The reference lists `USERDATA` in the reply without saying what it
//! holds: it is sent, empty. Echoing the request's `USERDATA` would send
//! back what the person typed, which may be a PIN.

use serde::Serialize;

use super::ghana;
use super::{GatewayResponse, Screen};

/// The Nalo codec (store-key name `nalo`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nalo;

/// The reply body, in the field order of the reference.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(rename = "USERID")]
    user_id: &'a str,
    #[serde(rename = "MSISDN")]
    msisdn: &'a str,
    #[serde(rename = "USERDATA")]
    user_data: &'a str,
    #[serde(rename = "MSG")]
    message: &'a str,
    #[serde(rename = "MSGTYPE")]
    continues: bool,
}

impl ghana::Echoing for Nalo {
    const NAME: &'static str = "nalo";
    const KEYS: ghana::Keys = ghana::Keys {
        session: "SESSIONID",
        first: "MSGTYPE",
        data: "USERDATA",
        msisdn: "MSISDN",
        network: "NETWORK",
        user: "USERID",
    };

    fn reply(
        &self,
        screen: &Screen,
        _session_id: &str,
        user_id: &str,
        msisdn: &str,
    ) -> GatewayResponse {
        // Nalo's reply names no session: it answers its own request.
        ghana::json_reply(&Reply {
            user_id,
            msisdn,
            user_data: "",
            message: &screen.text,
            continues: !screen.end,
        })
    }
}
