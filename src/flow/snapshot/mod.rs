//! [`Snapshot`]: a flow at rest, for a store between a person's turns.
//!
//! The format is versioned and is not the flow's in-memory shape: a snapshot
//! written by an older build restores in a newer one (`v1.rs` reads the
//! first format), so a deploy does not strand the flows people are in the
//! middle of.

mod v1;

use super::call::{AccountChoice, Call, Effect, PartnerSession};
use super::config::{FlowConfig, PartnerCustomer};
use super::event::Event;
use super::machine::{ConnectFlow, Counters};
use super::state::{ChoosingInstitution, LoadingInstitutions, State, StateKind};
use super::timers::Timers;
use super::types::{AuthMethodKind, Catalogue, RequestId};
use crate::form::Values;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// The snapshot format this build writes. It reads this one and every
/// earlier one.
pub const SNAPSHOT_VERSION: u32 = 2;

/// A flow as data. Serialize it with serde (JSON via [`to_json`](Self::to_json)).
///
/// It never holds a secret that has been sent: sent values leave the flow with
/// their effect, and states keep only non-secret prefill. The one place a typed
/// secret can appear is an effect the host has not polled yet (it has not
/// been sent, and restoring must be able to send it); drain effects before
/// storing, as every driver and channel in this crate does.
///
/// The catalogue is referenced by fingerprint, not copied, which keeps a
/// mid-flow snapshot to a few hundred bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    v: u32,
    #[serde(default, skip_serializing_if = "is_default_config")]
    config: FlowConfig,
    state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    catalogue: Option<u64>,
    next_id: u64,
    #[serde(default, skip_serializing_if = "Counters::is_zero")]
    counters: Counters,
    #[serde(default, skip_serializing_if = "Timers::is_empty")]
    timers: Timers,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    effects: Vec<StoredEffect>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<Event>,
}

fn is_default_config(c: &FlowConfig) -> bool {
    *c == FlowConfig::default()
}

/// Why a snapshot could not be restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Written by a format this build does not know (a newer one).
    #[error("snapshot format {found} is not supported (this build reads up to {expected})")]
    Version {
        /// In the snapshot.
        found: u32,
        /// This build's.
        expected: u32,
    },
    /// Not a snapshot.
    #[error("not a connectflow snapshot: {0}")]
    Malformed(String),
}

impl Snapshot {
    /// Where the flow inside is.
    pub fn state(&self) -> StateKind {
        self.state.kind()
    }

    /// The configuration the flow runs with.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// The linked account the flow re-authorises, if it does.
    pub fn reauthorises(&self) -> Option<&str> {
        self.config.reauthorise.as_deref()
    }

    /// True once the flow has ended (linked, failed or exited).
    pub fn is_finished(&self) -> bool {
        self.state.kind().is_terminal()
    }

    /// The fingerprint of the catalogue the flow had, if any.
    pub fn catalogue_fingerprint(&self) -> Option<u64> {
        self.catalogue
    }

    /// What a record holds before its flow's first snapshot: the default
    /// configuration (`FlowConfig::default()`: no reference, no
    /// customer), no list yet, nothing pending. Made without allocating,
    /// for a record whose flow is snapshotted before it is first saved
    /// (`SessionService::start_unsaved`); never stored (a debug build
    /// checks every record it encodes).
    #[cfg(feature = "service")]
    pub(crate) fn unstarted() -> Snapshot {
        Snapshot {
            v: SNAPSHOT_VERSION,
            config: FlowConfig::default(),
            state: State::LoadingInstitutions(LoadingInstitutions::UNASKED),
            catalogue: None,
            next_id: 1,
            counters: Counters::default(),
            timers: Timers::default(),
            effects: Vec::new(),
            events: Vec::new(),
        }
    }

    /// JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these plain data types cannot fail (no non-string map
        // keys, no custom errors); an empty vec would be caught on restore.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From JSON bytes of this format or an earlier one.
    pub fn from_json(bytes: &[u8]) -> Result<Snapshot, RestoreError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let version: Version =
            serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed(e.to_string()))?;
        match version.v {
            1 => v1::read(bytes),
            SNAPSHOT_VERSION => {
                serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed(e.to_string()))
            }
            found => Err(RestoreError::Version {
                found,
                expected: SNAPSHOT_VERSION,
            }),
        }
    }
}

impl ConnectFlow {
    /// The flow as data. See [`Snapshot`] for what it holds.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            v: SNAPSHOT_VERSION,
            config: self.config.clone(),
            state: self.state.clone(),
            catalogue: self.catalogue.as_ref().map(|c| c.fingerprint()),
            next_id: self.next_id,
            counters: self.counters.clone(),
            timers: self.timers.clone(),
            effects: self.effects.iter().map(StoredEffect::from).collect(),
            events: self.events.iter().cloned().collect(),
        }
    }

    /// A flow from a snapshot. Pass the catalogue the flow had (any process's
    /// copy with the same fingerprint will do) and the flow behaves exactly as
    /// before. Without it, a flow on the institution list fetches the list
    /// again (a read, so safe), and a later Back does the same.
    ///
    /// A list that changed since (a bank added, an icon, a name) is taken
    /// too when the flow has chosen a bank and the list still offers that
    /// bank with the method in use: that bank's forms and methods are what
    /// the flow reads from it (a login form for sessions that bring none,
    /// as Flinks', the methods to switch to). The flow then keeps that
    /// list, and its next snapshot names it. A flow still choosing its bank
    /// takes only the same list: the person's choice was read against it.
    pub fn restore(
        snapshot: Snapshot,
        catalogue: Option<Arc<Catalogue>>,
    ) -> Result<ConnectFlow, RestoreError> {
        let catalogue =
            catalogue.filter(|c| serves(&snapshot.state, snapshot.catalogue, c.as_ref()));
        let mut flow = ConnectFlow {
            config: snapshot.config,
            state: snapshot.state,
            catalogue,
            next_id: snapshot.next_id,
            counters: snapshot.counters,
            timers: snapshot.timers,
            effects: snapshot.effects.into_iter().map(Effect::from).collect(),
            events: snapshot.events.into_iter().collect::<VecDeque<_>>(),
        };
        if let (State::ChoosingInstitution(ChoosingInstitution { notice }), None) =
            (&flow.state, &flow.catalogue)
        {
            let notice = notice.clone();
            let id = RequestId(flow.next_id);
            flow.next_id += 1;
            flow.effects.push_back(Effect::Call {
                id,
                call: Call::ListInstitutions,
            });
            flow.state = State::LoadingInstitutions(LoadingInstitutions {
                request: Some(id),
                attempt: 0,
                notice,
            });
        }
        Ok(flow)
    }
}

/// Whether `offered` can stand in for the catalogue a flow in `state` had
/// (by fingerprint `had`).
fn serves(state: &State, had: Option<u64>, offered: &Catalogue) -> bool {
    if had == Some(offered.fingerprint()) {
        return true;
    }
    // Exact matching alone stranded parked flows whenever the partner's
    // list changed at all, and a dropped list never came back (the next
    // snapshot named none). A flow that lost it to that, stored by an
    // earlier build (`had` is `None` yet a bank is chosen), takes it back
    // here the same way.
    state.target().is_some_and(|target| {
        offered
            .get(&target.institution.id)
            .is_some_and(|i| i.method_kinds().contains(&target.auth_method))
    })
}

/// An unpolled effect at rest. A private mirror of [`Call`] so that `Call`
/// itself has no `Serialize` and a host cannot log a login body by accident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredEffect {
    id: RequestId,
    #[serde(flatten)]
    call: StoredCall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
enum StoredCall {
    ListInstitutions,
    CreateSession {
        institution: String,
        auth_method: AuthMethodKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer: Option<PartnerCustomer>,
    },
    Reauthorise {
        account: String,
        institution: String,
        auth_method: AuthMethodKind,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        live: bool,
    },
    Login {
        session: PartnerSession,
        institution: String,
        auth_method: AuthMethodKind,
        // Not sent yet: see the type docs.
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
    },
    Commit {
        session: PartnerSession,
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
        account: Option<AccountChoice>,
    },
    Poll {
        session: PartnerSession,
    },
    ExchangeCode {
        code: String,
    },
}

impl From<&Effect> for StoredEffect {
    fn from(effect: &Effect) -> Self {
        let Effect::Call { id, call } = effect;
        let call = match call.clone() {
            Call::ListInstitutions => StoredCall::ListInstitutions,
            Call::CreateSession {
                institution,
                auth_method,
                customer,
            } => StoredCall::CreateSession {
                institution,
                auth_method,
                customer,
            },
            Call::Reauthorise {
                account,
                institution,
                auth_method,
                live,
            } => StoredCall::Reauthorise {
                account,
                institution,
                auth_method,
                live,
            },
            Call::Login {
                session,
                institution,
                auth_method,
                values,
            } => StoredCall::Login {
                session,
                institution,
                auth_method,
                values,
            },
            Call::Commit {
                session,
                values,
                account,
            } => StoredCall::Commit {
                session,
                values,
                account,
            },
            Call::Poll { session } => StoredCall::Poll { session },
            Call::ExchangeCode { code } => StoredCall::ExchangeCode { code },
        };
        StoredEffect { id: *id, call }
    }
}

impl From<StoredEffect> for Effect {
    fn from(stored: StoredEffect) -> Self {
        let call = match stored.call {
            StoredCall::ListInstitutions => Call::ListInstitutions,
            StoredCall::CreateSession {
                institution,
                auth_method,
                customer,
            } => Call::CreateSession {
                institution,
                auth_method,
                customer,
            },
            StoredCall::Reauthorise {
                account,
                institution,
                auth_method,
                live,
            } => Call::Reauthorise {
                account,
                institution,
                auth_method,
                live,
            },
            StoredCall::Login {
                session,
                institution,
                auth_method,
                values,
            } => Call::Login {
                session,
                institution,
                auth_method,
                values,
            },
            StoredCall::Commit {
                session,
                values,
                account,
            } => Call::Commit {
                session,
                values,
                account,
            },
            StoredCall::Poll { session } => Call::Poll { session },
            StoredCall::ExchangeCode { code } => Call::ExchangeCode { code },
        };
        Effect::Call {
            id: stored.id,
            call,
        }
    }
}
