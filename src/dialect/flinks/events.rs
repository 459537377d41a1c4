//! Flinks Connect's event vocabulary (flinks.md §8) for a flow run by any
//! channel, so a dashboard built for the Flinks Connect iframe keeps working.
//!
//! Flinks Connect names screens as they load (`COMPONENT_LOAD_MFA` with its
//! `mfaTypes`, ...) where the flow's events name what the person did, so the
//! translator reads both: feed it each [`Event`] the flow emits, then the
//! [`View`] it shows, after every turn (events first: the final `REDIRECT`
//! names the institution an earlier event chose). It remembers the last
//! screen, so a view shown again unchanged (a repeated USSD hop, a page
//! reload) says nothing new.
//!
//! | flow | Flinks Connect |
//! |---|---|
//! | `OPENED` | `{step: APP_MOUNTED}` |
//! | the institution list | `COMPONENT_LOAD_INSTITUTION_SELECTOR` |
//! | `INSTITUTION_SELECTED` | `{step: INSTITUTION_SELECTED, institution}` |
//! | the login form (again after a refusal) | `COMPONENT_LOAD_CREDENTIAL` (`COMPONENT_LOAD_CREDENTIAL_RETRY`) |
//! | `SUBMIT_CREDENTIALS` | `SUBMIT_CREDENTIAL` |
//! | an MFA form (again after a refusal) | `COMPONENT_LOAD_MFA` with `mfaTypes` (`COMPONENT_LOAD_MFA_RETRY`) |
//! | `SUBMIT_MFA` | `SUBMIT_MFA` |
//! | an account list | `COMPONENT_LOAD_ACCOUNT_SELECTION` with `totalAccounts`, `displayedAccounts` |
//! | `ACCOUNT_SELECTED` | `ACCOUNT_SELECTED` |
//! | `ERROR` with a partner code | a code event `{flinksCode, institution}` |
//! | `EXIT` | `COMPONENT_CLOSE_SESSION` |
//! | linked | `{step: REDIRECT, institution, url}`, `url` = the redirect URL with `loginId` and `institution` (and `tag`, the flow's reference); [`without_login_id`](ConnectEvents::without_login_id) leaves `loginId` out |

use crate::dialect::percent_encode;
use crate::flow::{Event, EventKind, FormPurpose, Notice, View};
use crate::form::FieldKind;
use serde_json::{json, Map, Value};

/// Where Flinks Connect would send the browser on success when the host
/// names no redirect URL.
pub const DEFAULT_REDIRECT_URL: &str = "https://localhost/flinks-connect/done";

/// The translator. See the module documentation.
#[derive(Debug, Clone)]
pub struct ConnectEvents {
    redirect_url: String,
    /// Whether the `REDIRECT`'s URL carries the `loginId`, as the iframe's.
    login_id: bool,
    institution: Option<String>,
    /// What the last screen was, to say nothing when it is shown again.
    last_screen: Option<String>,
}

impl Default for ConnectEvents {
    fn default() -> Self {
        ConnectEvents::new(DEFAULT_REDIRECT_URL)
    }
}

impl ConnectEvents {
    /// A translator whose `REDIRECT` points at `redirect_url`.
    pub fn new(redirect_url: impl Into<String>) -> ConnectEvents {
        ConnectEvents {
            redirect_url: redirect_url.into(),
            login_id: true,
            institution: None,
            last_screen: None,
        }
    }

    /// The same, its `REDIRECT`'s URL without the `loginId` (`institution`
    /// and `tag` only): for a browser that must not hold the durable id,
    /// whose backend gets it another way (the link API's exchange of a
    /// public token). The LoginId never expires (flinks.md §4), so where
    /// it lands matters.
    pub fn without_login_id(mut self) -> ConnectEvents {
        self.login_id = false;
        self
    }

    /// A flow event as Flinks Connect's, if it has one.
    pub fn event(&mut self, event: &Event) -> Option<Value> {
        let step = |name: &str| json!({ "step": name });
        let mut value = match &event.kind {
            EventKind::Opened => step("APP_MOUNTED"),
            EventKind::InstitutionSelected { institution, .. } => {
                self.institution = Some(institution.id.clone());
                json!({ "step": "INSTITUTION_SELECTED", "institution": institution.id })
            }
            EventKind::SubmitCredentials => step("SUBMIT_CREDENTIAL"),
            EventKind::SubmitMfa { .. } => step("SUBMIT_MFA"),
            EventKind::AccountSelected { .. } => step("ACCOUNT_SELECTED"),
            EventKind::Exit { .. } => step("COMPONENT_CLOSE_SESSION"),
            EventKind::Error {
                error_code: Some(code),
                ..
            } => json!({ "flinksCode": code }),
            _ => return None,
        };
        self.decorate(&mut value, event.reference.as_deref());
        Some(value)
    }

    /// The screen now shown, as Flinks Connect's "component loaded" (or the
    /// final `REDIRECT`); `None` when it was the last screen too, or has no
    /// Flinks name. `reference` is the flow's (echoed as `tag`).
    pub fn view(&mut self, view: &View<'_>, reference: Option<&str>) -> Option<Value> {
        let (key, mut value) = match view {
            View::ChooseInstitution { .. } => (
                "institutions".to_owned(),
                json!({ "step": "COMPONENT_LOAD_INSTITUTION_SELECTOR" }),
            ),
            View::Form(f) => {
                let refused = matches!(
                    f.notice,
                    Some(Notice::Rejected { .. } | Notice::LoginAgain { .. })
                );
                let names: Vec<&str> = f.form.fields.iter().map(|x| x.name.as_str()).collect();
                let key = format!("{:?}:{}:{:?}", f.purpose, names.join(","), f.notice);
                let value = match (f.purpose, refused) {
                    (FormPurpose::Credentials, false) => {
                        json!({ "step": "COMPONENT_LOAD_CREDENTIAL" })
                    }
                    (FormPurpose::Credentials, true) => {
                        json!({ "step": "COMPONENT_LOAD_CREDENTIAL_RETRY" })
                    }
                    (_, retry) => {
                        let types: Vec<String> = f
                            .form
                            .fields
                            .iter()
                            .map(|field| {
                                if let Some(Value::String(t)) = field.extra.get("flinksType") {
                                    t.clone()
                                } else if field.kind == FieldKind::Choice {
                                    "MultipleChoice".to_owned()
                                } else {
                                    "QuestionAndAnswer".to_owned()
                                }
                            })
                            .collect();
                        let name = if retry {
                            "COMPONENT_LOAD_MFA_RETRY"
                        } else {
                            "COMPONENT_LOAD_MFA"
                        };
                        json!({ "step": name, "mfaTypes": types })
                    }
                };
                (key, value)
            }
            View::ChooseAccount { accounts, .. } => (
                format!("accounts:{}", accounts.len()),
                json!({
                    "step": "COMPONENT_LOAD_ACCOUNT_SELECTION",
                    "totalAccounts": accounts.len(),
                    "displayedAccounts": accounts.len(),
                }),
            ),
            View::Done {
                account_id: Some(login_id),
                ..
            } => {
                let institution = self.institution.clone().unwrap_or_default();
                let mut url = self.redirect_url.clone();
                url.push(if url.contains('?') { '&' } else { '?' });
                if self.login_id {
                    url.push_str(&format!("loginId={}&", percent_encode(login_id)));
                }
                url.push_str(&format!("institution={}", percent_encode(&institution)));
                if let Some(tag) = reference {
                    url.push_str(&format!("&tag={}", percent_encode(tag)));
                }
                (
                    "done".to_owned(),
                    json!({ "step": "REDIRECT", "institution": institution, "url": url }),
                )
            }
            _ => return None,
        };
        if self.last_screen.as_deref() == Some(key.as_str()) {
            return None;
        }
        self.last_screen = Some(key);
        self.decorate(&mut value, reference);
        Some(value)
    }

    /// Every event names the institution once one is chosen, and carries
    /// the flow's reference as Flinks' `tag`.
    fn decorate(&self, value: &mut Value, reference: Option<&str>) {
        if let Some(map) = value.as_object_mut() {
            insert_missing(map, "institution", self.institution.as_deref());
            insert_missing(map, "tag", reference);
        }
    }
}

fn insert_missing(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        map.entry(key)
            .or_insert_with(|| Value::String(v.to_owned()));
    }
}
