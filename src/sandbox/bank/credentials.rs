//! What each test user would type: the sandbox's answer to "which credentials
//! work here?" (Mono's `GET /v2/connect/sandbox`, mono.md §6), for the form a
//! session actually handed out, captcha included.

use super::{run, tenant};
use super::{Bank, BankError, Challenge};
use crate::sandbox::catalogue::{self, Role};

/// One test user's login for a session's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CredentialSet {
    /// Field name and value, in form order.
    pub(crate) values: Vec<(String, String)>,
    /// True when the user has more than one account (an account list
    /// follows, unless the script ends first).
    pub(crate) has_multiple_accounts: bool,
    /// What logging in as this user does, for a person reading the list.
    pub(crate) behaviour: &'static str,
}

/// An answer that some test user's challenge accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hint {
    /// The field the challenge's form asks for.
    pub(crate) name: &'static str,
    /// What to type.
    pub(crate) value: &'static str,
    /// Which challenge it answers.
    pub(crate) description: String,
}

impl Bank {
    /// Every test user's values for the form of session `sid` of `key`:
    /// username or phone or account number, the matching secret, a BVN for
    /// the identifier choice, and this session's captcha.
    pub(crate) fn credentials(
        &self,
        key: &str,
        sid: &str,
        now_ms: u64,
    ) -> Result<Vec<CredentialSet>, BankError> {
        let tenant = self.tenants.get(key).ok_or(BankError::SessionNotFound)?;
        let session = tenant::find_ref(&tenant.sessions, sid, now_ms)?;
        let sets = self
            .world
            .personas
            .iter()
            .map(|persona| {
                let user = &persona.user;
                let values = session
                    .form
                    .fields
                    .iter()
                    .filter_map(|field| {
                        let v = match catalogue::role(&session.method, &field.name)? {
                            Role::Username => user.username.to_owned(),
                            Role::Password => user.password.to_owned(),
                            Role::Phone => user.phone.to_owned(),
                            Role::AccountNumber => user.account_number.to_owned(),
                            Role::MobilePin => user.mobile_pin.to_owned(),
                            Role::UssdPin => user.ussd_pin.to_owned(),
                            Role::IdType => "bvn".to_owned(),
                            Role::IdValue => user.bvn.to_owned(),
                            Role::Captcha => session.captcha.clone().unwrap_or_default(),
                        };
                        Some((field.name.clone(), v))
                    })
                    .collect();
                CredentialSet {
                    values,
                    has_multiple_accounts: !user.other_accounts.is_empty(),
                    behaviour: user.behaviour,
                }
            })
            .collect();
        Ok(sets)
    }

    /// The answers the test users' challenges accept, each once, in the
    /// order the users first meet them.
    pub(crate) fn hints(&self) -> Vec<Hint> {
        let mut hints: Vec<Hint> = Vec::new();
        let challenges = self
            .world
            .personas
            .iter()
            .flat_map(|p| p.script.challenges.iter());
        for challenge in challenges {
            let (value, description) = match challenge {
                Challenge::Otp { code } => (*code, "Any OTP challenge".to_owned()),
                Challenge::Question { prompt, answer } => {
                    (*answer, format!("The security question \"{prompt}\""))
                }
                Challenge::ChooseAccount | Challenge::Pending { .. } => continue,
            };
            let Some(name) = run::fields(challenge).first().copied() else {
                continue;
            };
            let hint = Hint {
                name,
                value,
                description,
            };
            if !hints
                .iter()
                .any(|h| h.name == hint.name && h.value == hint.value)
            {
                hints.push(hint);
            }
        }
        hints
    }
}
