//! `POST /link/v1/session/actions`: what a front-end may ask, decoded into
//! the flow's [`UserAction`], and the digest that tells a repeated action
//! (a double tap, a mobile retry) from a different one at the same step.

use super::token::LinkToken;
use crate::flow::{AuthMethodKind, UserAction};
use crate::form::Values;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// An action at step `seq`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// The `seq` of the view the person acted on.
    pub seq: u64,
    /// What they did.
    pub action: Action,
}

/// What the person did.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Pick an institution from a `choose_institution` view.
    ChooseInstitution {
        /// Its `id`.
        institution: String,
        /// One of its `auth_methods[].type`; the first when absent.
        #[serde(default)]
        auth_method: Option<String>,
    },
    /// Submit a `form` view: every field's value by its `name`.
    Submit {
        /// Field name → value.
        #[serde(deserialize_with = "crate::form::reveal_values::deserialize")]
        #[schema(value_type = std::collections::HashMap<String, String>)]
        values: Values,
    },
    /// Pick an account from a `choose_account` view by its `index`.
    ChooseAccount {
        /// `accounts[].index`.
        index: usize,
    },
    /// Log in another way at the same institution (`other_auth_methods[].type`).
    SwitchAuthMethod {
        /// The method.
        auth_method: String,
    },
    // The unit-like actions are empty struct variants: serde's
    // `deny_unknown_fields` does not reach unit variants of an internally
    // tagged enum, and a misspelt extra field must be refused, not ignored.
    /// Back to the institution list.
    Back {},
    /// Try finishing again (a `linked` view).
    Retry {},
    /// Leave.
    Exit {},
}

impl Action {
    /// The flow's action.
    pub(crate) fn into_user_action(self) -> UserAction {
        match self {
            Action::ChooseInstitution {
                institution,
                auth_method,
            } => UserAction::ChooseInstitution {
                id: institution,
                auth_method: auth_method.map(AuthMethodKind::from),
            },
            Action::Submit { values } => UserAction::Submit(values),
            Action::ChooseAccount { index } => UserAction::ChooseAccount(index),
            Action::SwitchAuthMethod { auth_method } => {
                UserAction::SwitchAuthMethod(AuthMethodKind::from(auth_method))
            }
            Action::Back {} => UserAction::Back,
            Action::Retry {} => UserAction::Retry,
            Action::Exit {} => UserAction::Exit,
        }
    }

    /// The action's name on the wire (for metrics and logs: never a value).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Action::ChooseInstitution { .. } => "choose_institution",
            Action::Submit { .. } => "submit",
            Action::ChooseAccount { .. } => "choose_account",
            Action::SwitchAuthMethod { .. } => "switch_auth_method",
            Action::Back {} => "back",
            Action::Retry {} => "retry",
            Action::Exit {} => "exit",
        }
    }

    /// HMAC-SHA256 of the action's canonical form (after the session's
    /// `salt`) under the link token's secret: equal for the same action sent
    /// twice with the same token, different for anything else. The record
    /// keeps the digest and the salt but only the token's hash, so a typed
    /// PIN or OTP cannot be tried against the digest by anyone holding the
    /// record, sealed or not.
    pub(crate) fn digest(&self, token: &LinkToken, salt: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.mac_key()) else {
            // HMAC takes keys of any length: not reached.
            return String::new();
        };
        // Length-prefixed parts: no two different actions share an encoding.
        let mut part = |s: &str| {
            mac.update(&(s.len() as u64).to_be_bytes());
            mac.update(s.as_bytes());
        };
        part(salt);
        part(self.name());
        match self {
            Action::ChooseInstitution {
                institution,
                auth_method,
            } => {
                part(institution);
                part(auth_method.as_deref().unwrap_or("\u{0}"));
            }
            Action::Submit { values } => {
                let mut pairs: Vec<_> = values.iter().collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                for (name, value) in pairs {
                    part(name);
                    part(value.expose());
                }
            }
            Action::ChooseAccount { index } => part(&index.to_string()),
            Action::SwitchAuthMethod { auth_method } => part(auth_method),
            Action::Back {} | Action::Retry {} | Action::Exit {} => {}
        }
        super::token::digest_hex(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ActionRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_same_action_has_the_same_digest_and_any_change_another() {
        let t = LinkToken::generate();
        let a = parse(r#"{"seq":3,"action":{"type":"submit","values":{"u":"ada","p":"x1"}}}"#);
        let b = parse(r#"{"seq":3,"action":{"type":"submit","values":{"p":"x1","u":"ada"}}}"#);
        let c = parse(r#"{"seq":3,"action":{"type":"submit","values":{"u":"ada","p":"x2"}}}"#);
        assert_eq!(a.action.digest(&t, "s"), b.action.digest(&t, "s"));
        assert_ne!(a.action.digest(&t, "s"), c.action.digest(&t, "s"));
        assert_ne!(a.action.digest(&t, "s"), a.action.digest(&t, "t"));
        let digest = a.action.digest(&t, "s");
        assert!(!digest.contains("x1") && digest.len() == 64);
        assert!(!format!("{a:?}").contains("x1"));
    }

    /// Finding (review, 2026-12-04): the digest was keyed with the salt
    /// alone, and the record holds the salt, so a PIN submitted as the last
    /// action fell to 10,000 HMACs by anyone holding the record. Keyed with
    /// the link token's secret (the record has only its hash), the salt and
    /// the action no longer determine it.
    #[test]
    fn the_record_alone_does_not_determine_a_digest() {
        let pin = parse(r#"{"seq":3,"action":{"type":"submit","values":{"pin":"2580"}}}"#);
        let (holder, other) = (LinkToken::generate(), LinkToken::generate());
        assert_ne!(
            pin.action.digest(&holder, "salt"),
            pin.action.digest(&other, "salt")
        );
    }

    #[test]
    fn every_action_type_decodes_and_unknown_ones_do_not() {
        for (json, name) in [
            (
                r#"{"type":"choose_institution","institution":"b"}"#,
                "choose_institution",
            ),
            (r#"{"type":"choose_account","index":2}"#, "choose_account"),
            (
                r#"{"type":"switch_auth_method","auth_method":"ussd"}"#,
                "switch_auth_method",
            ),
            (r#"{"type":"back"}"#, "back"),
            (r#"{"type":"retry"}"#, "retry"),
            (r#"{"type":"exit"}"#, "exit"),
        ] {
            let action: Action = serde_json::from_str(json).unwrap();
            assert_eq!(action.name(), name);
        }
        assert!(serde_json::from_str::<Action>(r#"{"type":"hack"}"#).is_err());
        assert!(serde_json::from_str::<Action>(r#"{"type":"back","x":1}"#).is_err());
    }
}
