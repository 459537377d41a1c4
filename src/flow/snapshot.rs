//! [`Snapshot`]: a flow at rest, for a store between a person's turns.

use super::api::{AccountPick, Call, Effect};
use super::config::FlowConfig;
use super::event::Event;
use super::machine::{ConnectFlow, Counters};
use super::state::{ChoosingInstitution, LoadingInstitutions, State};
use super::types::{AuthMethodKind, Catalogue, RequestId};
use crate::form::Values;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;

/// The snapshot format this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

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
    /// Written by a newer or older format.
    #[error("snapshot format {found} is not supported (expected {expected})")]
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
    /// The state inside.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The fingerprint of the catalogue the flow had, if any.
    pub fn catalogue_fingerprint(&self) -> Option<u64> {
        self.catalogue
    }

    /// JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these plain data types cannot fail (no non-string map
        // keys, no custom errors); an empty vec would be caught on restore.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// From JSON bytes, checking the format version.
    pub fn from_json(bytes: &[u8]) -> Result<Snapshot, RestoreError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let version: Version =
            serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed(e.to_string()))?;
        if version.v != SNAPSHOT_VERSION {
            return Err(RestoreError::Version {
                found: version.v,
                expected: SNAPSHOT_VERSION,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| RestoreError::Malformed(e.to_string()))
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
            effects: self.effects.iter().map(StoredEffect::from).collect(),
            events: self.events.iter().cloned().collect(),
        }
    }

    /// A flow from a snapshot. Pass the catalogue the flow had (any process's
    /// copy with the same fingerprint will do) and the flow behaves exactly as
    /// before. Without it, a flow on the institution list fetches the list
    /// again (a read, so safe), and a later Back does the same.
    pub fn restore(
        snapshot: Snapshot,
        catalogue: Option<Arc<Catalogue>>,
    ) -> Result<ConnectFlow, RestoreError> {
        if snapshot.v != SNAPSHOT_VERSION {
            return Err(RestoreError::Version {
                found: snapshot.v,
                expected: SNAPSHOT_VERSION,
            });
        }
        let catalogue = match (snapshot.catalogue, catalogue) {
            (Some(fp), Some(c)) if c.fingerprint() == fp => Some(c),
            _ => None,
        };
        let mut flow = ConnectFlow {
            config: snapshot.config,
            state: snapshot.state,
            catalogue,
            next_id: snapshot.next_id,
            counters: snapshot.counters,
            effects: snapshot.effects.into_iter().map(Effect::from).collect(),
            events: snapshot.events.into_iter().collect::<VecDeque<_>>(),
        };
        if matches!(
            flow.state,
            State::ChoosingInstitution(ChoosingInstitution { .. })
        ) && flow.catalogue.is_none()
        {
            let id = RequestId(flow.next_id);
            flow.next_id += 1;
            flow.effects.push_back(Effect::Call {
                id,
                call: Call::ListInstitutions,
            });
            flow.state = State::LoadingInstitutions(LoadingInstitutions {
                request: Some(id),
                attempt: 0,
                retry_at: None,
            });
        }
        Ok(flow)
    }
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
    },
    Login {
        session: String,
        // Not sent yet: see the type docs.
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
    },
    Commit {
        session: String,
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
        account: Option<AccountPick>,
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
            } => StoredCall::CreateSession {
                institution,
                auth_method,
            },
            Call::Login { session, values } => StoredCall::Login { session, values },
            Call::Commit {
                session,
                values,
                account,
            } => StoredCall::Commit {
                session,
                values,
                account,
            },
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
            } => Call::CreateSession {
                institution,
                auth_method,
            },
            StoredCall::Login { session, values } => Call::Login { session, values },
            StoredCall::Commit {
                session,
                values,
                account,
            } => Call::Commit {
                session,
                values,
                account,
            },
            StoredCall::ExchangeCode { code } => Call::ExchangeCode { code },
        };
        Effect::Call {
            id: stored.id,
            call,
        }
    }
}
