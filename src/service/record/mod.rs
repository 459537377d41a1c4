//! [`Session`]: one person's flow at rest, as the store keeps it between
//! turns. What every channel shares (the flow, its partner, reference,
//! claim, delivery) is kept apart from what one channel keeps (`channel`:
//! for USSD its cursor and last screen; for the link API its action
//! sequence), so the same record serves any channel and moves between them.

mod codec;
#[cfg(feature = "testing")]
pub(crate) use codec::is_compact;
mod compact;

use super::claim::Claim;
use crate::flow::{AuthMethodKind, InstitutionRef, Snapshot, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What a channel keeps in a [`Session`] (anything serde can store).
pub trait ChannelState: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> ChannelState for T {}

/// The person behind a session, as far as the host told us.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Customer {
    /// The host's id for them (a USSD channel uses the phone number).
    pub id: String,
    /// Full name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number (E.164), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// One person's flow between turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session<S> {
    /// The flow itself.
    pub(crate) flow: Snapshot,
    /// Which partner the flow talks to (`mono`, `flinks`).
    pub partner: String,
    /// The flow's reference (on every event, the result and the webhook).
    pub reference: String,
    /// Who is linking, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
    /// The institution chosen, once there is one (kept for the outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<InstitutionRef>,
    /// How the person is logging in there, once chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethodKind>,
    /// A partner call in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) claim: Option<Claim>,
    /// What delivery made of the link, once delivered (recorded before the
    /// write that says so, so a link is delivered at least once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delivered: Option<super::Delivered>,
    /// The record is kept at least until then, whatever the session TTL:
    /// a link token's expiry, until which the host was promised the flow
    /// (and its public token's exchange). `None`: the session TTL alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) keep_until: Option<Timestamp>,
    /// What the channel keeps.
    pub channel: S,
    /// The store's clock when this record was read, and when that was here:
    /// claims are stamped and leases judged on the store's clock. Not stored.
    #[serde(skip)]
    pub(crate) read_at: Option<(Timestamp, std::time::Instant)>,
    /// A record to write beside this one when it is next saved, in the
    /// same round trip (a new USSD session's phone index). Not stored.
    #[serde(skip)]
    pub(crate) index: Option<IndexWrite>,
}

/// A best-effort write that rides on a session's next save (see
/// [`SessionStore::compare_and_set_with`](crate::store::SessionStore::compare_and_set_with)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexWrite {
    /// Its key.
    pub(crate) key: String,
    /// The version it must still be at (`None`: absent).
    pub(crate) expected: Option<crate::store::Version>,
    /// The bytes.
    pub(crate) data: Vec<u8>,
    /// Neither this session nor the index was read before this write (a
    /// session started by its first answer): they are created where free,
    /// in one round trip (`service/create.rs`). Needs `expected` to be `None`.
    pub(crate) unread: bool,
}

impl<S> Session<S> {
    /// The flow at rest.
    pub fn snapshot(&self) -> &Snapshot {
        &self.flow
    }

    /// The call in flight, if any.
    pub fn claim(&self) -> Option<&Claim> {
        self.claim.as_ref()
    }

    /// What delivery made of the link, once the flow linked and delivery
    /// took it (for example, whether it was a returning link).
    pub fn delivered(&self) -> Option<&super::Delivered> {
        self.delivered.as_ref()
    }

    /// True once the flow has ended (linked, failed or exited).
    pub fn is_finished(&self) -> bool {
        self.flow.is_finished()
    }

    /// The same record with another channel's state in place of this
    /// one's: a flow handed from one channel to another (USSD to the web
    /// page) keeps its flow, reference, customer and delivery, and nothing
    /// of the channel it leaves.
    pub fn map_channel<T>(self, channel: impl FnOnce(S) -> T) -> Session<T> {
        Session {
            flow: self.flow,
            partner: self.partner,
            reference: self.reference,
            customer: self.customer,
            institution: self.institution,
            auth_method: self.auth_method,
            claim: self.claim,
            delivered: self.delivered,
            keep_until: self.keep_until,
            channel: channel(self.channel),
            read_at: self.read_at,
            index: self.index,
        }
    }

    /// Now on the store's clock, as far as this record knows it: the time
    /// it was read plus the time since; `None` for a record not read from
    /// the store.
    pub(crate) fn store_now(&self) -> Option<Timestamp> {
        self.read_at.map(|(at, when)| {
            let since = u64::try_from(when.elapsed().as_millis()).unwrap_or(u64::MAX);
            at.plus_ms(since)
        })
    }
}

impl<S: ChannelState> Session<S> {
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        // A record made by `start_unsaved` holds a placeholder until the
        // turn that saves it takes the flow's snapshot: one stored before
        // that would restore to a flow of no reference (start.rs).
        debug_assert!(
            self.flow != crate::flow::Snapshot::unstarted(),
            "a session record saved before its flow's snapshot was taken"
        );
        codec::encode(self)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Session<S>, serde_json::Error> {
        codec::decode(bytes)
    }
}

/// The JSON inside a stored session record (as a [`SessionStore`] returns
/// it, opened when sealed): for tools and tests that look inside records;
/// the service itself reads them with [`Session`]'s own decoding.
///
/// [`SessionStore`]: crate::store::SessionStore
pub fn record_json(bytes: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    codec::to_json(bytes)
}
