//! Login: the form checked field by field, the user recognised by whichever
//! credential the method asks for, then lockouts, outages and the script.

use super::run::{self, Issuer};
use super::tenant::{self, Stage};
use super::{reason, Answer, Bank, BankError, Persona, Special, LOCKED_MESSAGE};
use crate::flow::{AuthMethodKind, Rejection, Step};
use crate::form::{Form, Values};
use crate::sandbox::catalogue::{self, Role};

const INVALID_CREDENTIALS: &str = "Invalid credentials";

impl Bank {
    /// Whether session `sid` of `key` re-authorises an account (opened by
    /// [`reauthorise`](Bank::reauthorise)); `None` for a session it does
    /// not hold.
    pub(crate) fn is_reauth_session(&self, key: &str, sid: &str) -> Option<bool> {
        self.tenants
            .get(key)
            .and_then(|t| t.sessions.get(sid))
            .map(|s| s.reauth_of.is_some())
    }

    /// Logs in on session `sid` of `key` with the values of the session's
    /// form (every field required, nothing else accepted).
    ///
    /// A wrong password (PIN, identifier) is a retryable refusal; the third
    /// in a row for the same key, institution and user, across sessions and
    /// auth methods, still answers "Invalid credentials" and locks that user
    /// for that key for the life of the bank. A right login resets the count.
    pub(crate) fn login(
        &mut self,
        key: &str,
        sid: &str,
        values: &Values,
        now_ms: u64,
    ) -> Result<Answer, BankError> {
        let tenant = self
            .tenants
            .get_mut(key)
            .ok_or(BankError::SessionNotFound)?;
        let session = tenant::find(&mut tenant.sessions, sid, now_ms)?;
        match session.stage {
            Stage::Login => {}
            Stage::Running(_) => return Err(BankError::AlreadyLoggedIn),
            Stage::Finished => return Err(BankError::AlreadyCompleted),
        }
        check_shape(&session.form, values)?;
        let method = &session.method;
        let by_role = |role: Role| field_value(&session.form, method, values, role);
        if let Some(expected) = &session.captcha {
            let typed = by_role(Role::Captcha).unwrap_or("");
            if !typed.trim().eq_ignore_ascii_case(expected) {
                tracing::info!(session = %sid, "sandbox: login refused, wrong captcha");
                return Ok(Answer::refuse("Invalid captcha", reason::WRONG_CAPTCHA));
            }
        }
        let Some((index, persona)) = identify(&self.world.personas, by_role) else {
            tracing::info!(session = %sid, "sandbox: login refused, unknown user");
            return Ok(Answer::refuse(
                INVALID_CREDENTIALS,
                reason::WRONG_CREDENTIALS,
            ));
        };
        let user = persona.user.username;
        // A re-authorisation is for one account: another user's right
        // password is still the wrong login for it.
        let for_account = match &session.reauth_of {
            Some(account) => tenant.links.get(account).is_some_and(|l| l.user == index),
            None => true,
        };
        let secret_ok = for_account && secrets_match(persona, &session.form, method, values);
        let institution = session.institution.clone();

        let refused = match persona.script.special {
            Special::Refused { message, reason } => Some((message, reason)),
            _ if tenant.is_locked(&institution, index) => Some((LOCKED_MESSAGE, reason::LOCKED)),
            _ => None,
        };
        if let Some((message, code)) = refused {
            tracing::info!(session = %sid, user, "sandbox: login refused for good");
            return Ok(Answer::now(Step::Rejected(
                Rejection::terminal(message).with_code(code),
            )));
        }
        if persona.script.special == Special::Down {
            tracing::info!(session = %sid, user, "sandbox: institution down");
            let bank = self
                .world
                .institutions
                .iter()
                .find(|i| i.id == institution)
                .map_or_else(|| "The bank".to_owned(), |i| i.name.clone());
            return Err(BankError::InstitutionDown { bank });
        }
        if !secret_ok {
            let tries = tenant.count_failure(&institution, index);
            tracing::info!(session = %sid, user, tries, "sandbox: login refused, wrong credentials");
            // The last try before the lock is still told "Invalid
            // credentials" (the client's own attempt limit usually ends the
            // flow there); from then on the user is locked, whatever the
            // password.
            return Ok(Answer::refuse(
                INVALID_CREDENTIALS,
                reason::WRONG_CREDENTIALS,
            ));
        }
        tenant.clear_failures(&institution, index);
        tracing::info!(session = %sid, user, "sandbox: login accepted");
        if let Some((_, outcome)) = self.world.outcomes.iter().find(|(i, _)| *i == institution) {
            return Ok(Answer::now(Step::Rejected(outcome.clone())));
        }
        // The session is looked up again: the failure counts above needed the
        // whole tenant.
        let session = tenant::find(&mut tenant.sessions, sid, now_ms)?;
        let step = run::proceed(
            session,
            (index, persona),
            0,
            None,
            Issuer {
                codes: &mut tenant.codes,
                entropy: self.entropy.as_mut(),
                expires_at: now_ms.saturating_add(super::ms(self.config.code_ttl)),
            },
        );
        let delay = (persona.script.special == Special::Slow).then_some(self.config.slow_delay);
        Ok(Answer { step, delay })
    }
}

/// Every field of the form is required and non-blank, and nothing else is
/// accepted.
fn check_shape(form: &Form, values: &Values) -> Result<(), BankError> {
    for field in &form.fields {
        if values
            .get(&field.name)
            .is_none_or(|v| v.expose().trim().is_empty())
        {
            return Err(BankError::invalid(format!("{} is required", field.name)));
        }
    }
    match values.iter().find(|(n, _)| form.field(n).is_none()) {
        Some((name, _)) => Err(BankError::invalid(format!("unexpected field {name}"))),
        None => Ok(()),
    }
}

/// The user a login names, by whichever of username, phone or account
/// number the form asks for (in that order), with their index.
fn identify<'p, 'v>(
    personas: &'p [Persona],
    by_role: impl Fn(Role) -> Option<&'v str>,
) -> Option<(usize, &'p Persona)> {
    let (role, given) = [Role::Username, Role::Phone, Role::AccountNumber]
        .into_iter()
        .find_map(|role| by_role(role).map(|v| (role, v)))?;
    personas.iter().enumerate().find(|(_, p)| match role {
        Role::Username => p.user.username == given,
        Role::Phone => p.user.phone == given,
        _ => p.user.account_number == given,
    })
}

/// The value typed into the form's field that plays `role`.
fn field_value<'v>(
    form: &Form,
    method: &AuthMethodKind,
    values: &'v Values,
    role: Role,
) -> Option<&'v str> {
    form.fields
        .iter()
        .find(|f| catalogue::role(method, &f.name) == Some(role))
        .and_then(|f| values.get(&f.name))
        .map(|v| v.expose())
}

/// Whether the secret parts of a login (password, PIN, identifier) are
/// right for the persona. A form with no secret part never matches.
fn secrets_match(persona: &Persona, form: &Form, method: &AuthMethodKind, values: &Values) -> bool {
    let user = &persona.user;
    let mut checked = 0;
    for field in &form.fields {
        let Some(given) = values.get(&field.name).map(|v| v.expose()) else {
            return false;
        };
        let ok = match catalogue::role(method, &field.name) {
            Some(Role::Password) => given == user.password,
            Some(Role::MobilePin) => given == user.mobile_pin,
            Some(Role::UssdPin) => given == user.ussd_pin,
            Some(Role::IdValue) => {
                let given = given.trim();
                match field_value(form, method, values, Role::IdType).unwrap_or("") {
                    "bvn" => given == user.bvn,
                    "dob" => given == user.date_of_birth,
                    "phone" => given == user.phone,
                    "email" => given.eq_ignore_ascii_case(user.email),
                    _ => false,
                }
            }
            _ => continue,
        };
        if !ok {
            return false;
        }
        checked += 1;
    }
    checked > 0
}
