//! What happens when a link succeeds: the [`LinkedAccount`] handed to a
//! [`Delivery`] (the auth records and their webhook outbox), at least once
//! per flow and recorded once.

use super::record::Customer;
use crate::flow::{AuthMethodKind, InstitutionRef};
use serde::Serialize;
use std::fmt;

/// A linked account, as delivered to the host (and as parked in the
/// session store while delivery fails: `parked/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LinkedAccount {
    /// The flow's reference.
    pub reference: String,
    /// The partner it went through (`mono`, `flinks`).
    pub partner: String,
    /// Where.
    pub institution: Option<InstitutionRef>,
    /// The institution's icon, when the partner's catalogue has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution_icon: Option<String>,
    /// How the person logged in, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethodKind>,
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

/// What delivery made of a link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Delivered {
    /// The same account was linked before for the same customer: this is a
    /// returning link, not a new one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub returning: bool,
    /// The id the link is known by where it was delivered (an auth record's
    /// id), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Why a link could not be delivered (it is then tried again on the
/// session's next turn).
#[derive(Debug, thiserror::Error)]
#[error("delivery failed: {0}")]
pub struct DeliveryError(pub String);

/// Where linked accounts go: the auth records and their outbox.
///
/// Called before the write that marks the session delivered, and again if
/// that write loses to another turn of the same session: an implementation
/// must be idempotent by [`LinkedAccount::reference`] (at least once, never
/// twice recorded). It should return quickly: anything slow (a webhook
/// call) goes to the background or an outbox.
pub trait Delivery: Send + Sync + fmt::Debug + 'static {
    /// Records one linked account.
    fn deliver<'a>(
        &'a self,
        linked: &'a LinkedAccount,
    ) -> crate::store::BoxFuture<'a, Result<Delivered, DeliveryError>>;

    /// The institutions `customer` (the host's id) linked through
    /// `partner` before, most recent first, so a channel can show a
    /// returning customer those banks first. None by default.
    fn linked_before<'a>(
        &'a self,
        partner: &'a str,
        customer: &'a str,
    ) -> crate::store::BoxFuture<'a, Result<Vec<String>, DeliveryError>> {
        let _ = (partner, customer);
        Box::pin(async { Ok(Vec::new()) })
    }
}
