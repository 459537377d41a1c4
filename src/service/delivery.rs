//! What happens when a link succeeds: the [`LinkedAccount`] handed to a
//! [`Delivery`] (a webhook today), exactly once per flow.

use super::record::Customer;
use crate::flow::InstitutionRef;
use serde::Serialize;
use std::fmt;

/// A linked account, as delivered to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedAccount {
    /// The flow's reference.
    pub reference: String,
    /// The partner it went through (`mono`, `flinks`).
    pub partner: String,
    /// Where.
    pub institution: Option<InstitutionRef>,
    /// The durable account id (Mono account id, Flinks LoginId).
    pub account_id: String,
    /// Who, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The customer's phone, when the channel knows it (USSD), under the name
    /// USSD gateways use.
    #[serde(rename = "phoneNumber", skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The channel it happened on (`ussd`, `link`, `terminal`).
    pub channel: String,
}

/// Where linked accounts go. Called once per flow, after the write that
/// finished it won; must not block (send in the background).
pub trait Delivery: Send + Sync + fmt::Debug + 'static {
    /// Hands over one linked account.
    fn deliver(&self, linked: LinkedAccount);
}
