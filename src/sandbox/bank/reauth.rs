//! Re-authorising an account a key linked before (Mono's `reauth/session`,
//! mono.md §7): a code at once when the bank needs nothing, else a session
//! only the account's own user can log in to, running the user's
//! re-authorisation script.

use super::ids;
use super::script::{Persona, Reauth};
use super::tenant::{BankSession, Stage};
use super::{Bank, BankError};
use crate::flow::{SessionInfo, Timestamp};
use crate::form::Form;

/// The bank's answer to a re-authorisation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reauthorised {
    /// Nothing asked: a fresh link code for the same account.
    Code(String),
    /// The person must log in again on this session.
    Session(SessionInfo),
}

impl Bank {
    /// Whether re-authorising `account` of `key` needs the person (a
    /// login and questions), with nothing changed: what a partner's cache
    /// of the account cannot settle.
    pub(crate) fn reauth_needs_person(&self, key: &str, account: &str) -> Result<bool, BankError> {
        let link = self
            .tenants
            .get(key)
            .and_then(|t| t.links.get(account))
            .ok_or(BankError::AccountNotFound)?;
        let persona = self
            .world
            .personas
            .get(link.user)
            .ok_or(BankError::AccountNotFound)?;
        Ok(matches!(persona.script.reauth, Reauth::Login(_)))
    }

    /// Re-authorises account `account` of `key`. Another key's account, or
    /// one unlinked, is [`BankError::AccountNotFound`].
    pub(crate) fn reauthorise(
        &mut self,
        key: &str,
        account: &str,
        now_ms: u64,
    ) -> Result<Reauthorised, BankError> {
        let ttl = super::ms(self.config.session_ttl);
        let code_ttl = super::ms(self.config.code_ttl);
        let cap = self.config.max_sessions_per_key;
        let tenant = self
            .tenants
            .get_mut(key)
            .ok_or(BankError::AccountNotFound)?;
        let link = tenant
            .links
            .get(account)
            .cloned()
            .ok_or(BankError::AccountNotFound)?;
        let persona: &Persona = self
            .world
            .personas
            .get(link.user)
            .ok_or(BankError::AccountNotFound)?;
        match persona.script.reauth {
            Reauth::AtOnce => {
                let code = ids::link_code(self.entropy.next_bits());
                tenant.codes.insert(
                    code.clone(),
                    super::tenant::CodeEntry {
                        link,
                        expires_at: now_ms.saturating_add(code_ttl),
                    },
                );
                tracing::info!(%account, "sandbox: re-authorised at once");
                Ok(Reauthorised::Code(code))
            }
            Reauth::Login(_) => {
                tenant.check_cap(cap, now_ms)?;
                let inst = self
                    .world
                    .institutions
                    .iter()
                    .find(|i| i.id == link.institution)
                    .ok_or(BankError::AccountNotFound)?;
                // The method it was linked through, without a captcha: the
                // person proved themselves once already.
                let form = inst
                    .method(&link.method)
                    .and_then(|m| m.ui.clone())
                    .unwrap_or_else(|| Form::new("", vec![]));
                let id = ids::session_id(self.entropy.next_bits());
                let expires_at = now_ms.saturating_add(ttl);
                tenant.sessions.insert(
                    id.clone(),
                    BankSession {
                        institution: inst.id.clone(),
                        method: link.method.clone(),
                        expires_at,
                        form: form.clone(),
                        captcha: None,
                        stage: Stage::Login,
                        reauth_of: Some(account.to_owned()),
                    },
                );
                tracing::info!(session = %id, %account, "sandbox: re-authorisation session created");
                Ok(Reauthorised::Session(SessionInfo {
                    id,
                    expires_at: Some(Timestamp(expires_at)),
                    form: Some(form),
                    institution: Some(inst.to_ref()),
                    continuation: None,
                }))
            }
        }
    }
}
