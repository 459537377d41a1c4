//! [`FlowConfig`]: the limits that make every flow end, and host choices.

use super::types::AuthMethodKind;
use serde::{Deserialize, Serialize};

/// How a flow behaves. Every limit here bounds the number of partner calls a
/// flow can make, which is what lets the property tests prove every flow ends.
///
/// Serialized into snapshots; fields left at their default are omitted so a
/// snapshot stays small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowConfig {
    /// Echoed on every event (Mono widget `reference`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Skip the institution list: choose this institution as soon as the
    /// catalogue arrives (Mono `setup({selectedInstitution})`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institution: Option<Preselect>,
    /// Rejected logins (wrong password) before the flow fails.
    #[serde(skip_serializing_if = "is_default_login_attempts")]
    pub max_login_attempts: u8,
    /// Rejected MFA answers or account picks before the flow fails.
    #[serde(skip_serializing_if = "is_default_mfa_attempts")]
    pub max_mfa_attempts: u8,
    /// MFA forms plus account lists a partner may ask for in one flow.
    #[serde(skip_serializing_if = "is_default_rounds")]
    pub max_rounds: u8,
    /// Sessions this flow may create in all (first, renewals, auth-method
    /// switches, Back then choose again).
    #[serde(skip_serializing_if = "is_default_sessions")]
    pub max_sessions: u8,
    /// Times an expired session may be renewed by creating a new one.
    #[serde(skip_serializing_if = "is_default_renewals")]
    pub max_renewals: u8,
    /// Session, login, commit and exchange calls that may fail without a
    /// usable reply (timeout, dropped connection, 5xx, an unreadable body, a
    /// 4xx that is not a rejection) before the flow gives up. Each such
    /// failure sends the person back to the screen they were on.
    #[serde(skip_serializing_if = "is_default_transport")]
    pub max_transport_failures: u8,
    /// Retries of a failed institution list (a read) before the flow gives up.
    #[serde(skip_serializing_if = "is_default_read_retries")]
    pub max_read_retries: u8,
    /// First retry delay for a read, in ms; doubled each time.
    #[serde(skip_serializing_if = "is_default_backoff")]
    pub read_backoff_ms: u64,
    /// Status polls of a step the partner said was pending, in all. The
    /// partner's own deadline (Flinks: 30 minutes at one poll per 10 s) is
    /// the usual limit; this one bounds the calls whatever the partner says.
    #[serde(skip_serializing_if = "is_default_polls")]
    pub max_polls: u16,
    /// Lifetime of a partner code, in ms (Mono: 10 minutes).
    #[serde(skip_serializing_if = "is_default_code_lifetime")]
    pub code_lifetime_ms: u64,
    /// Exchange the code for an account id in this flow. Off when the host's
    /// backend exchanges it; the flow then ends in `Done` with the code only.
    #[serde(skip_serializing_if = "is_true")]
    pub exchange_code: bool,
    /// Re-authorise this account (the partner's durable id for it: Mono's
    /// account id, Flinks' LoginId) instead of linking a new one: every
    /// partner session the flow opens is a [`Call::Reauthorise`] for it.
    /// Set [`institution`](Self::institution) too, to the account's bank,
    /// so the person is not asked to pick it.
    ///
    /// [`Call::Reauthorise`]: super::Call::Reauthorise
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reauthorise: Option<String>,
    /// Who the partner's sessions are for, when the host says (Mono's
    /// `customer`, mono.md §3): each [`Call::CreateSession`] carries it.
    /// `None`: the dialect's configured customer.
    ///
    /// [`Call::CreateSession`]: super::Call::CreateSession
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<PartnerCustomer>,
}

/// The person a partner's session is for, in the partner's terms: one it
/// already knows, by its id, or a new one it creates from a name and an
/// email (Mono's `customer`: `{"id"}` or `{"name", "email"}`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PartnerCustomer {
    /// A customer the partner knows.
    Known {
        /// The partner's id for them.
        id: String,
    },
    /// A customer the partner creates.
    New {
        /// Full name.
        name: String,
        /// Email address.
        email: String,
    },
}

impl PartnerCustomer {
    /// The customer a host's `id`, `name` and `email` name, by the one rule
    /// every way in (a link token, a USSD customer directory) follows: a
    /// new customer when a name and an email (with an `@`) are both given
    /// (an id beside them is the host's own, for its records: Mono would
    /// refuse a session naming it), else a customer the partner knows, by
    /// the id given alone. `None` for anything else: neither, or a name or
    /// an email without the other or not an email (then an id beside them
    /// is taken for the host's, never sent as the partner's). Blank values
    /// count as absent; values are trimmed; the caller bounds their length.
    pub fn from_parts(
        id: Option<&str>,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Option<PartnerCustomer> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        match (given(id), given(name), given(email)) {
            (_, Some(name), Some(email)) if email.contains('@') => Some(PartnerCustomer::New {
                name: name.to_owned(),
                email: email.to_owned(),
            }),
            (Some(id), None, None) => Some(PartnerCustomer::Known { id: id.to_owned() }),
            _ => None,
        }
    }
}

impl std::fmt::Debug for PartnerCustomer {
    // A name and an email are personal data: a log line says which kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartnerCustomer::Known { .. } => f.write_str("PartnerCustomer::Known(..)"),
            PartnerCustomer::New { .. } => f.write_str("PartnerCustomer::New(..)"),
        }
    }
}

/// An institution (and optionally auth method) chosen before the flow starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preselect {
    /// Institution id.
    pub id: String,
    /// Auth method; the institution's first when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethodKind>,
}

const LOGIN_ATTEMPTS: u8 = 3;
const MFA_ATTEMPTS: u8 = 3;
const ROUNDS: u8 = 16;
const SESSIONS: u8 = 8;
const RENEWALS: u8 = 1;
const TRANSPORT: u8 = 3;
const READ_RETRIES: u8 = 3;
const POLLS: u16 = 200;
const BACKOFF_MS: u64 = 500;
const CODE_LIFETIME_MS: u64 = 10 * 60 * 1000;

fn is_default_login_attempts(v: &u8) -> bool {
    *v == LOGIN_ATTEMPTS
}
fn is_default_mfa_attempts(v: &u8) -> bool {
    *v == MFA_ATTEMPTS
}
fn is_default_rounds(v: &u8) -> bool {
    *v == ROUNDS
}
fn is_default_sessions(v: &u8) -> bool {
    *v == SESSIONS
}
fn is_default_renewals(v: &u8) -> bool {
    *v == RENEWALS
}
fn is_default_transport(v: &u8) -> bool {
    *v == TRANSPORT
}
fn is_default_read_retries(v: &u8) -> bool {
    *v == READ_RETRIES
}
fn is_default_polls(v: &u16) -> bool {
    *v == POLLS
}
fn is_default_backoff(v: &u64) -> bool {
    *v == BACKOFF_MS
}
fn is_default_code_lifetime(v: &u64) -> bool {
    *v == CODE_LIFETIME_MS
}
fn is_true(v: &bool) -> bool {
    *v
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            reference: None,
            institution: None,
            max_login_attempts: LOGIN_ATTEMPTS,
            max_mfa_attempts: MFA_ATTEMPTS,
            max_rounds: ROUNDS,
            max_sessions: SESSIONS,
            max_renewals: RENEWALS,
            max_transport_failures: TRANSPORT,
            max_read_retries: READ_RETRIES,
            read_backoff_ms: BACKOFF_MS,
            max_polls: POLLS,
            code_lifetime_ms: CODE_LIFETIME_MS,
            exchange_code: true,
            reauthorise: None,
            customer: None,
        }
    }
}

impl FlowConfig {
    /// Sets the reference echoed on events.
    pub fn with_reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Preselects an institution.
    pub fn with_institution(
        mut self,
        id: impl Into<String>,
        auth_method: Option<AuthMethodKind>,
    ) -> Self {
        self.institution = Some(Preselect {
            id: id.into(),
            auth_method,
        });
        self
    }

    /// Re-authorises `account` at institution `id` (see
    /// [`reauthorise`](Self::reauthorise)).
    pub fn with_reauthorise(
        mut self,
        account: impl Into<String>,
        id: impl Into<String>,
        auth_method: Option<AuthMethodKind>,
    ) -> Self {
        self.reauthorise = Some(account.into());
        self.with_institution(id, auth_method)
    }

    /// Opens the partner's sessions for `customer` (see
    /// [`customer`](Self::customer)).
    pub fn with_customer(mut self, customer: PartnerCustomer) -> Self {
        self.customer = Some(customer);
        self
    }

    /// An upper bound on the partner calls any flow with this config can ask
    /// for, whatever the person and the partner do. Each term is a limit
    /// above; the property tests check no flow ever exceeds it.
    pub fn max_calls(&self) -> u64 {
        let sessions = u64::from(self.max_sessions);
        // Institution lists: the first, plus one per return to the list
        // without a catalogue (bounded by sessions), each with its retries.
        let lists = (1 + sessions) * (1 + u64::from(self.max_read_retries));
        // These counters are per flow, never reset: every login is a
        // rejection, a transport failure (or "try later"), or the one
        // success of a session (a restarted login opens a new session).
        let transport = u64::from(self.max_transport_failures);
        let logins = u64::from(self.max_login_attempts) + transport + sessions;
        // Every commit is a rejection, a transport failure, or moves to the
        // next round (or the code, or pending).
        let commits = u64::from(self.max_rounds) + 1 + u64::from(self.max_mfa_attempts) + transport;
        // Polls are counted when made.
        let polls = u64::from(self.max_polls);
        // Exchange: the first, plus one per Retry after a transient failure.
        let exchanges = 1 + transport;
        lists + sessions + logins + commits + polls + exchanges
    }
}
