//! The partner accounts, their access tokens and their apps: sans-IO like
//! the bank (the time comes in as `now`, fresh ids from an injected
//! [`Entropy`]), so expiry and owner scoping are plain unit tests.

use super::super::bank::Entropy;
use crate::dialect::mono::admin::{App, AppPatch, NewApp};
use crate::flow::Timestamp;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Most apps one partner may hold: the sandbox keeps them in memory.
pub(super) const MAX_APPS_PER_PARTNER: usize = 100;
/// Longest name or display name accepted.
const MAX_NAME_CHARS: usize = 100;
/// Longest icon URL accepted.
const MAX_URL_CHARS: usize = 2048;
/// Most live tokens kept; the oldest expire first when more are issued.
const MAX_TOKENS: usize = 10_000;

/// Why the partner state said no; the front maps each to a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum PartnerError {
    #[error("Invalid email or password")]
    WrongCredentials,
    #[error("Missing or unknown access token: log in first")]
    Unauthenticated,
    #[error("Access token expired: log in again")]
    TokenExpired,
    #[error("App not found")]
    NotFound,
    #[error("This app belongs to another partner")]
    Forbidden,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("A partner may hold at most {MAX_APPS_PER_PARTNER} apps in the sandbox")]
    TooManyApps,
}

/// A partner account the sandbox knows.
pub(super) struct Account {
    pub(super) email: &'static str,
    pub(super) password: &'static str,
}

/// An issued token: whose, and until when.
struct Grant {
    owner: &'static str,
    expires_at: Timestamp,
}

/// The partners' side of the sandbox. See the module documentation.
pub(super) struct Partners {
    accounts: Vec<Account>,
    token_ttl: Duration,
    entropy: Box<dyn Entropy>,
    tokens: HashMap<String, Grant>,
    /// In creation order, each with its owner's email.
    apps: Vec<(&'static str, App)>,
}

impl fmt::Debug for Partners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens: they are credentials.
        f.debug_struct("Partners")
            .field("accounts", &self.accounts.len())
            .field("tokens", &self.tokens.len())
            .field("apps", &self.apps.len())
            .finish_non_exhaustive()
    }
}

impl Partners {
    pub(super) fn new(
        accounts: Vec<Account>,
        token_ttl: Duration,
        entropy: Box<dyn Entropy>,
    ) -> Self {
        Partners {
            accounts,
            token_ttl,
            entropy,
            tokens: HashMap::new(),
            apps: Vec::new(),
        }
    }

    /// A fresh token for a right email and password (the email's case is
    /// ignored, the password's is not).
    pub(super) fn login(
        &mut self,
        email: &str,
        password: &str,
        now: Timestamp,
    ) -> Result<(String, Timestamp), PartnerError> {
        let owner = self
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email.trim()) && a.password == password)
            .map(|a| a.email)
            .ok_or(PartnerError::WrongCredentials)?;
        self.tokens.retain(|_, g| g.expires_at > now);
        if self.tokens.len() >= MAX_TOKENS {
            // Bounded memory: drop the grant nearest its end.
            if let Some(oldest) = self
                .tokens
                .iter()
                .min_by_key(|(_, g)| g.expires_at)
                .map(|(t, _)| t.clone())
            {
                self.tokens.remove(&oldest);
            }
        }
        let token = format!("pat_{:032x}", self.entropy.next_bits());
        let ttl = u64::try_from(self.token_ttl.as_millis()).unwrap_or(u64::MAX);
        let expires_at = now.plus_ms(ttl);
        self.tokens
            .insert(token.clone(), Grant { owner, expires_at });
        Ok((token, expires_at))
    }

    /// Whose token this is, if it still works.
    pub(super) fn owner(&self, token: &str, now: Timestamp) -> Result<&'static str, PartnerError> {
        let grant = self
            .tokens
            .get(token)
            .ok_or(PartnerError::Unauthenticated)?;
        if grant.expires_at <= now {
            return Err(PartnerError::TokenExpired);
        }
        Ok(grant.owner)
    }

    /// The owner's apps, oldest first.
    pub(super) fn list(&self, owner: &str) -> Vec<App> {
        self.apps
            .iter()
            .filter(|(o, _)| *o == owner)
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// A new app, in sandbox mode.
    pub(super) fn create(
        &mut self,
        owner: &'static str,
        new: NewApp,
        now: Timestamp,
    ) -> Result<App, PartnerError> {
        let name = name("name", &new.name)?;
        let display_name = new
            .display_name
            .as_deref()
            .map(|d| name_or_empty("display_name", d))
            .transpose()?
            .flatten();
        let icon_url = new.icon_url.as_deref().map(icon_url).transpose()?;
        if self.apps.iter().filter(|(o, _)| *o == owner).count() >= MAX_APPS_PER_PARTNER {
            return Err(PartnerError::TooManyApps);
        }
        let app = App {
            id: format!("app_{:024x}", self.entropy.next_bits() >> 32),
            name,
            display_name,
            icon_url,
            live: false,
            created_at: now,
        };
        self.apps.push((owner, app.clone()));
        Ok(app)
    }

    /// Applies `patch` to the owner's app. Everything is checked before
    /// anything changes, so a refused patch changes nothing.
    pub(super) fn update(
        &mut self,
        owner: &str,
        id: &str,
        patch: AppPatch,
    ) -> Result<App, PartnerError> {
        let app = self.find(owner, id)?;
        let name = patch.name.as_deref().map(|n| name("name", n)).transpose()?;
        let display_name = patch
            .display_name
            .as_deref()
            .map(|d| name_or_empty("display_name", d))
            .transpose()?;
        let icon = patch
            .icon_url
            .as_deref()
            .map(|u| {
                if u.is_empty() {
                    Ok(None)
                } else {
                    icon_url(u).map(Some)
                }
            })
            .transpose()?;
        if patch.live == Some(false) && app.live {
            return Err(PartnerError::Invalid {
                field: "live",
                message: "A live app cannot go back to sandbox mode".into(),
            });
        }
        if let Some(name) = name {
            app.name = name;
        }
        if let Some(display_name) = display_name {
            app.display_name = display_name;
        }
        if let Some(icon) = icon {
            app.icon_url = icon;
        }
        if patch.live == Some(true) {
            app.live = true;
        }
        Ok(app.clone())
    }

    /// Removes the owner's app.
    pub(super) fn delete(&mut self, owner: &str, id: &str) -> Result<(), PartnerError> {
        self.find(owner, id)?;
        self.apps.retain(|(_, a)| a.id != id);
        Ok(())
    }

    /// The app `id` if `owner` owns it: another partner's is `Forbidden`
    /// (as the seed's API is described), an unknown id `NotFound`.
    fn find(&mut self, owner: &str, id: &str) -> Result<&mut App, PartnerError> {
        let (o, app) = self
            .apps
            .iter_mut()
            .find(|(_, a)| a.id == id)
            .ok_or(PartnerError::NotFound)?;
        if *o != owner {
            return Err(PartnerError::Forbidden);
        }
        Ok(app)
    }
}

/// A required name: trimmed, not blank, not too long.
fn name(field: &'static str, value: &str) -> Result<String, PartnerError> {
    match name_or_empty(field, value)? {
        Some(v) => Ok(v),
        None => Err(PartnerError::Invalid {
            field,
            message: format!("{field} must not be empty"),
        }),
    }
}

/// An optional name: blank clears it.
fn name_or_empty(field: &'static str, value: &str) -> Result<Option<String>, PartnerError> {
    let value = value.trim();
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(PartnerError::Invalid {
            field,
            message: format!("{field} must be at most {MAX_NAME_CHARS} characters"),
        });
    }
    if value.chars().any(char::is_control) {
        return Err(PartnerError::Invalid {
            field,
            message: format!("{field} must not contain control characters"),
        });
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// An `http://` or `https://` URL with a host.
fn icon_url(value: &str) -> Result<String, PartnerError> {
    let value = value.trim();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty() && !host.contains(char::is_whitespace)
    });
    if !host_ok || value.len() > MAX_URL_CHARS || value.chars().any(char::is_whitespace) {
        return Err(PartnerError::Invalid {
            field: "icon_url",
            message: "icon_url must be an http:// or https:// URL".into(),
        });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u128);
    impl Entropy for Counter {
        fn next_bits(&mut self) -> u128 {
            self.0 += 1;
            self.0 << 40
        }
    }

    fn partners() -> Partners {
        Partners::new(
            vec![
                Account {
                    email: "a@x.dev",
                    password: "pa",
                },
                Account {
                    email: "b@x.dev",
                    password: "pb",
                },
            ],
            Duration::from_secs(60),
            Box::new(Counter(0)),
        )
    }

    #[test]
    fn tokens_expire_at_their_ttl_and_need_the_right_password() {
        let mut p = partners();
        assert_eq!(
            p.login("a@x.dev", "PA", Timestamp(0)),
            Err(PartnerError::WrongCredentials)
        );
        let (token, at) = p.login(" A@x.dev", "pa", Timestamp(1_000)).unwrap();
        assert_eq!(at, Timestamp(61_000));
        assert_eq!(p.owner(&token, Timestamp(60_999)), Ok("a@x.dev"));
        assert_eq!(
            p.owner(&token, Timestamp(61_000)),
            Err(PartnerError::TokenExpired)
        );
        assert_eq!(
            p.owner("pat_nope", Timestamp(0)),
            Err(PartnerError::Unauthenticated)
        );
    }

    #[test]
    fn apps_are_their_owners_and_bad_fields_change_nothing() {
        let mut p = partners();
        let app = p
            .create("a@x.dev", NewApp::named(" Shop "), Timestamp(5))
            .unwrap();
        assert_eq!((app.name.as_str(), app.live), ("Shop", false));
        assert_eq!(p.list("b@x.dev"), vec![]);
        assert_eq!(
            p.update("b@x.dev", &app.id, AppPatch::go_live()),
            Err(PartnerError::Forbidden)
        );
        assert_eq!(p.delete("b@x.dev", &app.id), Err(PartnerError::Forbidden));
        let bad = AppPatch {
            name: Some("New".into()),
            icon_url: Some("ftp://x".into()),
            ..AppPatch::default()
        };
        assert!(matches!(
            p.update("a@x.dev", &app.id, bad),
            Err(PartnerError::Invalid {
                field: "icon_url",
                ..
            })
        ));
        assert_eq!(p.list("a@x.dev"), vec![app.clone()]);
        let live = p.update("a@x.dev", &app.id, AppPatch::go_live()).unwrap();
        assert!(live.live);
        assert!(matches!(
            p.update(
                "a@x.dev",
                &app.id,
                AppPatch {
                    live: Some(false),
                    ..AppPatch::default()
                }
            ),
            Err(PartnerError::Invalid { field: "live", .. })
        ));
        assert!(matches!(
            p.create("a@x.dev", NewApp::named("  "), Timestamp(5)),
            Err(PartnerError::Invalid { field: "name", .. })
        ));
        assert_eq!(p.delete("a@x.dev", &app.id), Ok(()));
        assert_eq!(p.delete("a@x.dev", &app.id), Err(PartnerError::NotFound));
    }
}
