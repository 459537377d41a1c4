//! The ledger of linked accounts: Okra's Auth model in SQLite or
//! PostgreSQL, the webhook outbox that tells the host about each link, and
//! Okra's six Auth endpoints over them (feature `records`).
//!
//! | file | decides |
//! |---|---|
//! | `model.rs` | what an [`Auth`] is and how it looks as Okra JSON |
//! | `store.rs` | the seams: [`AuthStore`], [`OutboxStore`] |
//! | `sql/` | both on SQL ([`SqlStore`]): the link upsert, pages, leases |
//! | `migrations/` | the schema, versioned, applied at open |
//! | `delivery.rs` | the session service's hook: a link becomes an auth ([`RecordsDelivery`]) |
//! | `outbox.rs` | sending deliveries at least once, signed, with backoff ([`Outbox`]) |
//! | `pagination.rs` | pages and Okra's pagination block |
//! | `api/` | `POST /v2/auth/*` and `/v2/products/auths` ([`router`]) |
//! | `export.rs` | CSV and JSON lines for `connectflow records export` |
//! | `unlink.rs` | unlinking at the partner before marking an auth not validated |
//! | `partner_webhook.rs` | Mono's own webhooks, received: an account unlinked at Mono is unlinked here, one needing re-authorisation is handed to a [`Reauthoriser`] ([`mono_webhook_router`], [`mono_webhook_router_reauthorising`]) |
//!
//! ## Returning customers
//!
//! An auth is unique per (owner, partner, partner account id, customer):
//! the same account linked again for the same customer — by a later flow,
//! or by two flows at once — updates one auth (`validated` again,
//! `last_updated` now) and the link is *returning*
//! ([`Delivered::returning`](crate::service::Delivered)). A different
//! customer linking the same account gets an auth of their own.
//! [`AuthStore::customer_banks`] lists the banks a customer linked, most
//! recent first, for channels to show them first.

pub mod api;
mod delivery;
pub mod export;
mod known;
mod model;
mod outbox;
mod pagination;
mod partner_webhook;
mod sql;
mod store;
pub mod time;
pub mod unlink;

pub use api::{router, ApiKey};
pub use delivery::RecordsDelivery;
pub use model::{is_object_id, object_id, Auth, AuthCustomer, Bank, Env};
pub use outbox::{Outbox, OutboxConfig, OutboxError, ATTEMPT_HEADER, IDEMPOTENCY_HEADER};
pub use pagination::{PageRequest, Pagination, DEFAULT_LIMIT, MAX_LIMIT};
pub use partner_webhook::{
    mono_webhook_router, mono_webhook_router_reauthorising, MonoWebhookSecret, Reauthoriser,
    MAX_WEBHOOK_BODY, MONO_WEBHOOK_PATH, MONO_WEBHOOK_SECRET_HEADER,
};
pub use sql::{Backend, Location, PartnerUnlink, SqlStore};
pub use store::{
    AuthStore, CustomerSince, Filter, Found, Linked, LinkedBank, NewLink, OutboxCounts,
    OutboxMessage, OutboxStore, RecordsError,
};
