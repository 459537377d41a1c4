//! The sandbox's bank: a sans-IO simulator that every partner front (Mono's
//! today, Flinks' next) drives, so lockouts, caps, expiry and scripts are
//! written once.
//!
//! No sockets, no clock, no sleeping and no randomness it is not handed: the
//! time comes in as `now_ms` on every call, fresh ids from an injected
//! [`Entropy`], and a slow answer is a [`delay`](Answer::delay) the front
//! sleeps. It answers in the flow's partner-neutral vocabulary
//! ([`Step`], [`SessionInfo`]) or with a [`BankError`]; what those become on
//! the wire is each front's business.
//!
//! ```text
//! open_session(key, institution, method, now) -> SessionInfo      (form + per-session captcha)
//! login(key, session, values, now)            -> Answer { step, delay }
//! commit(key, session, values, account, now)  -> Answer            (an empty commit polls a wait)
//! exchange(key, code, now)                    -> account id        (single use, stable per login)
//! credentials(key, session, now) / hints()    -> what each test user types
//! account(key, id) / unlink(key, id)          -> the linked account
//! reauthorise(key, account, now)              -> a code at once, or a session to log in to again
//! ```
//!
//! Everything is per API key: sessions, codes, links, wrong-password counts
//! and lockouts (keyed by key, institution and user), and a cap on live
//! sessions.

mod commit;
mod credentials;
mod error;
pub(crate) mod ids;
mod login;
mod reauth;
mod run;
mod script;
mod tenant;
#[cfg(test)]
mod tests;

pub(crate) use error::BankError;
pub(crate) use ids::Entropy;
pub(crate) use reauth::Reauthorised;
pub(crate) use script::{Challenge, Persona, Reauth, Script, Special, World};

use super::{captcha, SandboxConfig};
use crate::flow::{Account, AuthMethodKind, Institution, Rejection, SessionInfo, Step, Timestamp};
use crate::form::{FieldKind, Form};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;
use tenant::{BankSession, Stage, Tenant};

/// The bank's machine codes on a [`Rejection`], so a front can map a refusal
/// to its partner's code without reading the words.
pub(crate) mod reason {
    /// Unknown user, or a wrong password, PIN or identifier.
    pub(crate) const WRONG_CREDENTIALS: &str = "wrong_credentials";
    /// Locked by wrong passwords, or scripted as locked.
    pub(crate) const LOCKED: &str = "locked";
    /// The captcha was not typed right.
    pub(crate) const WRONG_CAPTCHA: &str = "wrong_captcha";
    /// A wrong one-time code.
    pub(crate) const WRONG_OTP: &str = "wrong_otp";
    /// A wrong answer to a security question.
    pub(crate) const WRONG_ANSWER: &str = "wrong_answer";
    /// An account number that is not one of the user's.
    pub(crate) const UNKNOWN_ACCOUNT: &str = "unknown_account";
}

/// What a locked user is told.
pub(crate) const LOCKED_MESSAGE: &str = "Your account has been locked";

/// The bank's answer to a login or a commit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    /// Where the person is now.
    pub(crate) step: Step,
    /// How long the front should wait before sending the answer (a slow
    /// bank); the bank itself never sleeps.
    pub(crate) delay: Option<Duration>,
}

impl Answer {
    fn now(step: Step) -> Answer {
        Answer { step, delay: None }
    }

    /// A retryable refusal with the bank's reason code.
    fn refuse(message: &str, code: &str) -> Answer {
        Answer::now(Step::Rejected(Rejection::retry(message).with_code(code)))
    }
}

/// A linked account, as the key that linked it sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccountView<'a> {
    /// The institution, when it is still in the bank's list.
    pub(crate) institution: Option<&'a Institution>,
    /// The account as the account list showed it.
    pub(crate) account: Account,
    /// The method it was linked through.
    pub(crate) method: &'a AuthMethodKind,
}

/// The simulator. See the module documentation.
pub(crate) struct Bank {
    config: SandboxConfig,
    world: World,
    entropy: Box<dyn Entropy>,
    /// By API key.
    tenants: HashMap<String, Tenant>,
}

impl fmt::Debug for Bank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bank")
            .field("config", &self.config)
            .field("institutions", &self.world.institutions.len())
            .field("personas", &self.world.personas.len())
            .field("keys", &self.tenants.len())
            .finish_non_exhaustive()
    }
}

/// Durations as whole milliseconds, saturating.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Bank {
    /// A bank serving `world` with `config`'s timings and limits, drawing
    /// fresh ids from `entropy`.
    pub(crate) fn new(config: SandboxConfig, world: World, entropy: Box<dyn Entropy>) -> Bank {
        Bank {
            config,
            world,
            entropy,
            tenants: HashMap::new(),
        }
    }

    /// Every institution, in list order.
    pub(crate) fn institutions(&self) -> &[Institution] {
        &self.world.institutions
    }

    fn institution(&self, id: &str) -> Option<&Institution> {
        self.world.institutions.iter().find(|i| i.id == id)
    }

    /// Opens a session at `institution` through `method` for `key`. The
    /// form is the method's, with a fresh captcha wherever it has a captcha
    /// field (captchas are per session, mono.md §11.7).
    pub(crate) fn open_session(
        &mut self,
        key: &str,
        institution: &str,
        method: &AuthMethodKind,
        now_ms: u64,
    ) -> Result<SessionInfo, BankError> {
        let inst = self
            .world
            .institutions
            .iter()
            .find(|i| i.id == institution)
            .ok_or(BankError::UnknownInstitution)?;
        let offered = inst
            .method(method)
            .ok_or_else(|| BankError::MethodNotSupported {
                method: method.to_string(),
                institution: inst.name.clone(),
            })?;
        let ttl = ms(self.config.session_ttl);
        // Every key's dead sessions go, not only this one's: a key that stops
        // calling must not hold memory for the life of the server.
        self.tenants.retain(|_, t| {
            t.prune(now_ms, ttl);
            !t.is_empty()
        });
        let tenant = self.tenants.entry(key.to_owned()).or_default();
        tenant.check_cap(self.config.max_sessions_per_key, now_ms)?;

        let mut form = offered.ui.clone().unwrap_or_else(|| Form::new("", vec![]));
        let mut answer = None;
        for field in form
            .fields
            .iter_mut()
            .filter(|f| f.kind == FieldKind::Captcha)
        {
            let text = captcha::text(self.entropy.next_bits());
            *field = captcha::field(&field.name, &text);
            answer = Some(text);
        }
        let id = ids::session_id(self.entropy.next_bits());
        let expires_at = now_ms.saturating_add(ttl);
        tenant.sessions.insert(
            id.clone(),
            BankSession {
                institution: inst.id.clone(),
                method: method.clone(),
                expires_at,
                form: form.clone(),
                captcha: answer,
                stage: Stage::Login,
                reauth_of: None,
            },
        );
        tracing::info!(session = %id, institution = %inst.id, %method, "sandbox: session created");
        Ok(SessionInfo {
            continuation: None,
            id,
            expires_at: Some(Timestamp(expires_at)),
            form: Some(form),
            institution: Some(inst.to_ref()),
        })
    }

    /// Exchanges a link code for the account id. A code is spent by its
    /// first exchange, whatever the outcome; another key's code looks
    /// unknown and is left alone.
    pub(crate) fn exchange(
        &mut self,
        key: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<String, BankError> {
        let tenant = self.tenants.get_mut(key).ok_or(BankError::CodeInvalid)?;
        let entry = tenant
            .codes
            .remove(code)
            .filter(|e| now_ms <= e.expires_at)
            .ok_or(BankError::CodeInvalid)?;
        let persona = self
            .world
            .personas
            .get(entry.link.user)
            .ok_or(BankError::CodeInvalid)?;
        let id = ids::account_id(
            &entry.link.institution,
            persona.user.username,
            &entry.link.account,
        );
        tenant.links.insert(id.clone(), entry.link);
        tracing::info!(account = %id, "sandbox: code exchanged");
        Ok(id)
    }

    /// The account `id` as `key` linked it; `None` for an unknown id or
    /// another key's.
    pub(crate) fn account(&self, key: &str, id: &str) -> Option<AccountView<'_>> {
        let link = self.tenants.get(key)?.links.get(id)?;
        let persona = self.world.personas.get(link.user)?;
        let account = run::accounts_of(persona, link.user)
            .into_iter()
            .find(|a| a.number == link.account)?;
        Some(AccountView {
            institution: self.institution(&link.institution),
            account,
            method: &link.method,
        })
    }

    /// Forgets the link; false when `key` had no account `id`.
    pub(crate) fn unlink(&mut self, key: &str, id: &str) -> bool {
        let removed = self
            .tenants
            .get_mut(key)
            .and_then(|t| t.links.remove(id))
            .is_some();
        if removed {
            tracing::info!(account = %id, "sandbox: account unlinked");
        }
        removed
    }
}
