//! The records' two seams: [`AuthStore`] (auths and the links that made
//! them) and [`OutboxStore`] (webhook deliveries waiting to be sent). One
//! database holds both, so a link and its delivery commit together.

use super::model::{Auth, Env};
use super::pagination::PageRequest;
use crate::service::LinkedAccount;
use crate::store::BoxFuture;
use std::fmt;

/// Why the records could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordsError {
    /// The database refused or could not be reached.
    #[error("records database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database's schema could not be brought up to date.
    #[error("records migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A `--records` value that names no database this build can open.
    #[error("{0}")]
    Config(String),
    /// A row this build cannot read (a bug, or a database written by a
    /// newer build).
    #[error("unreadable records row: {0}")]
    Corrupt(String),
}

/// A successful link, as the records take it.
#[derive(Debug, Clone, Copy)]
pub struct NewLink<'a> {
    /// What the service delivered.
    pub linked: &'a LinkedAccount,
    /// Live or test key.
    pub env: Env,
    /// When (ms since the epoch).
    pub at: u64,
    /// Whether to queue a webhook delivery for it (only when a webhook is
    /// configured: rows nobody will send would pile up).
    pub outbox: bool,
}

/// What the records made of a link.
#[derive(Debug, Clone)]
pub struct Linked {
    /// The auth, as it is now.
    pub auth: Auth,
    /// The same account was linked before for the same customer (by an
    /// earlier flow): this link updated that auth instead of making one.
    pub returning: bool,
    /// The webhook delivery queued for it (its idempotency id).
    pub delivery: Option<String>,
}

/// Which auths to list. Every field narrows; none set lists them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Of this customer (the host's id).
    pub customer: Option<String>,
    /// At this bank (the partner's institution id).
    pub bank: Option<String>,
    /// Created at or after this (ms since the epoch).
    pub from: Option<u64>,
    /// Created before this (ms since the epoch; exclusive).
    pub until: Option<u64>,
}

/// One page of auths.
#[derive(Debug, Clone)]
pub struct Found {
    /// Matches across all pages.
    pub total: u64,
    /// This page's, newest first (ties by id, descending).
    pub auths: Vec<Auth>,
}

/// A bank a customer linked, for putting it first on their next bank list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedBank {
    /// The partner's institution id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When an account there was last linked (ms since the epoch).
    pub last_linked: u64,
}

/// Auths and links. Shared behind an `Arc` by the service's delivery, the
/// `/v2/` endpoints and the `records` command.
pub trait AuthStore: Send + Sync + fmt::Debug + 'static {
    /// The host app the auths are owned by (Okra's `owner`).
    fn owner(&self) -> &str;

    /// Records a link: creates the auth, or — the same account for the same
    /// customer — marks it validated again and bumps `last_updated`; notes
    /// the link under its reference and, when asked, queues its webhook
    /// delivery, all in one transaction. The same reference twice changes
    /// nothing and answers as the first time did (delivery is at least
    /// once), while the link it names is in force: a reference reused by a
    /// host for another account or customer, or for this account after it
    /// was unlinked, records the new link (whose retries are then answered
    /// with the reference's first link; `sql/auths.rs` says why).
    fn link<'a>(&'a self, link: NewLink<'a>) -> BoxFuture<'a, Result<Linked, RecordsError>>;

    /// The auth with this id.
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Auth>, RecordsError>>;

    /// A page of the auths matching `filter`, newest first, ties by id.
    fn find<'a>(
        &'a self,
        filter: &'a Filter,
        page: PageRequest,
    ) -> BoxFuture<'a, Result<Found, RecordsError>>;

    /// The banks `customer` has a validated auth at through `partner`, most
    /// recently linked first.
    fn customer_banks<'a>(
        &'a self,
        partner: &'a str,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LinkedBank>, RecordsError>>;

    /// The customers with a record (a login at a bank) created at or after
    /// `since` (ms), oldest first, at most `limit` of them: how an instance
    /// learns, without a query per dial, who has linked before, a page at
    /// a time.
    fn customers_since<'a>(
        &'a self,
        since: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<CustomerSince>, RecordsError>>;

    /// Sets `validated` on the auth with this id (false: unlinked), bumping
    /// `last_updated` to `at`; the auth as it is now, if it exists.
    fn set_validated<'a>(
        &'a self,
        id: &'a str,
        validated: bool,
        at: u64,
    ) -> BoxFuture<'a, Result<Option<Auth>, RecordsError>>;
}

/// A customer with a record, as [`AuthStore::customers_since`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSince {
    /// The partner the record is at.
    pub partner: String,
    /// The host's id for the customer.
    pub customer: String,
    /// When the record was created (ms since the epoch).
    pub created_at: u64,
}

/// A webhook delivery to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its idempotency id (sent as `idempotency-key`).
    pub id: String,
    /// The flow's reference (for logs).
    pub reference: String,
    /// The JSON body, exactly as it will be signed and sent.
    pub body: String,
    /// Tries so far.
    pub attempts: u32,
}

/// How many deliveries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting for a (first or next) try.
    pub pending: u64,
    /// Gave up after the last try; an operator's to look at.
    pub dead: u64,
}

/// The outbox's rows. See [`Outbox`](super::Outbox) for the state machine.
pub trait OutboxStore: Send + Sync + fmt::Debug + 'static {
    /// Claims up to `limit` pending deliveries due at `now`: each is leased
    /// (its next try moved to `lease_until`) so another sender leaves it
    /// alone, and comes back by itself if this one dies mid-send.
    fn claim_due<'a>(
        &'a self,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<OutboxMessage>, RecordsError>>;

    /// The receiver answered 2xx.
    fn delivered<'a>(&'a self, id: &'a str, at: u64) -> BoxFuture<'a, Result<(), RecordsError>>;

    /// A try failed: `attempts` tries so far, the next at `retry_at`, or
    /// none (`None`: dead).
    fn failed<'a>(
        &'a self,
        id: &'a str,
        attempts: u32,
        retry_at: Option<u64>,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), RecordsError>>;

    /// Deliveries by state.
    fn counts(&self) -> BoxFuture<'_, Result<OutboxCounts, RecordsError>>;

    /// Dead deliveries back to pending, due at `now`, with their tries
    /// reset (an operator's "send them again"); how many.
    fn revive(&self, now: u64) -> BoxFuture<'_, Result<u64, RecordsError>>;
}
