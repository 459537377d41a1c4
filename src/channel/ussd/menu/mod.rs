//! The USSD menu: turns a flow's [`View`] into a screen that fits the
//! gateway's length budget, and a person's typed input into either a
//! [`UserAction`] for the flow or a move within the menu (a page, a field).
//!
//! Pure: no I/O, no clock. The hop server keeps a [`Cursor`] per session.

mod leave;
mod paging;
mod render;

pub use render::render;

/// `head` (shortened, then dropped, as needed) above `keep` (never cut) as
/// one screen within the budget, as lists and forms are fitted: for the
/// channel's plain screens (`Presenter::fit`).
pub(crate) fn fit_lines(
    head: &[&str],
    keep: &[&str],
    config: &MenuConfig,
    end: bool,
) -> crate::channel::ussd::gateway::Screen {
    let owned = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect();
    paging::fit(owned(head), owned(keep), config, end)
}

use super::gsm::Budget;
use crate::flow::{Account, AuthMethodKind, FormPurpose, Institution, UserAction, View};
use crate::form::{FieldKind, Form, Secret, Values};
use paging::{is_paging_key, list_input, ListInput};
use serde::{Deserialize, Serialize};

/// The screen of a call still in flight.
pub const PROCESSING: &str = "Processing...\n1. Continue";

/// Navigation keys; conventions differ between gateways and countries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavKeys {
    /// Next page (default `98`).
    pub more: String,
    /// Previous page or field (default `0`).
    pub back: String,
    /// Back to the bank list (default `00`).
    pub home: String,
}

impl Default for NavKeys {
    fn default() -> Self {
        NavKeys {
            more: "98".into(),
            back: "0".into(),
            home: "00".into(),
        }
    }
}

/// How screens are built.
#[derive(Debug, Clone)]
pub struct MenuConfig {
    /// Length budget of one screen.
    pub budget: Budget,
    /// Navigation keys.
    pub keys: NavKeys,
    /// Invalid inputs in a row before the session ends politely.
    pub max_invalid: u8,
    /// The key that asks for a web link by SMS, offered on screens USSD
    /// cannot show; set by the channel when a hand-off is configured.
    pub web_link: Option<String>,
}

impl Default for MenuConfig {
    fn default() -> Self {
        MenuConfig {
            budget: Budget::default(),
            keys: NavKeys::default(),
            max_invalid: 3,
            web_link: None,
        }
    }
}

/// Where the person is inside the current view: which page of a list, which
/// field of a form (with the values typed so far). Stored, sealed, between hops.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Cursor {
    /// At the top of whatever the view is.
    #[default]
    Start,
    /// Page `page` of the bank or account list.
    Page {
        /// Zero-based page.
        page: usize,
    },
    /// Choosing how to log in at an institution.
    Method {
        /// Institution id.
        institution: String,
    },
    /// Typing field `index` of the form on screen.
    Field {
        /// Zero-based field.
        index: usize,
        /// Zero-based page of a choice field's options (0 for other kinds).
        /// Absent in records stored before choices paged, hence the default.
        #[serde(default)]
        page: usize,
        /// What was typed for the earlier fields. Held only inside the sealed
        /// session record; never logged (`Values` redacts its `Debug`).
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
    },
    /// Asked whether to leave the form on screen, which would lose its
    /// progress; the field to return to if not. Records stored before this
    /// question existed never hold it, so they load unchanged.
    Leaving {
        /// Zero-based field the person was on.
        index: usize,
        /// Zero-based page of that field's options.
        #[serde(default)]
        page: usize,
        /// What was typed for the earlier fields (sealed, as in `Field`).
        #[serde(with = "crate::form::reveal_values")]
        values: Values,
    },
}

/// What an input means.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Give this to the flow.
    Act(UserAction),
    /// Stay in the view, move the cursor.
    Move(Cursor),
    /// Not a valid answer here: show the same screen with this line first.
    Invalid(&'static str),
}

/// Institutions a handset can use: at least one auth method whose login
/// form needs no picture (a captcha image cannot be shown over USSD).
pub fn usable(institutions: &[Institution]) -> Vec<&Institution> {
    institutions.iter().filter(|i| is_usable(i)).collect()
}

/// [`usable`], with the institutions in `first` (ids, e.g. the banks a
/// returning customer linked before, most recent first) moved to the top in
/// that order; the others keep the catalogue's order.
pub fn usable_first<'a>(institutions: &'a [Institution], first: &[String]) -> Vec<&'a Institution> {
    let mut list = usable(institutions);
    if !first.is_empty() {
        list.sort_by_key(|i| first.iter().position(|f| f == &i.id).unwrap_or(usize::MAX));
    }
    list
}

/// [`usable`] for one institution, without allocating: it runs for every
/// bank on every hop that shows or answers the list.
pub(super) fn is_usable(inst: &Institution) -> bool {
    if inst.auth_methods.is_empty() {
        return inst.ui.as_ref().is_none_or(|f| !has_captcha(f));
    }
    inst.auth_methods
        .iter()
        .any(|m| inst.form_for(&m.kind).is_none_or(|f| !has_captcha(f)))
}

pub(super) fn usable_methods(inst: &Institution) -> Vec<AuthMethodKind> {
    inst.method_kinds()
        .into_iter()
        .filter(|m| inst.form_for(m).is_none_or(|f| !has_captcha(f)))
        .collect()
}

fn has_captcha(form: &Form) -> bool {
    form.fields.iter().any(|f| f.kind == FieldKind::Captcha)
}

/// Interprets `input` against the view and cursor; the bank list is in
/// [`usable_first`] order for `first`.
pub fn on_input(
    view: &View<'_>,
    cursor: &Cursor,
    input: &str,
    first: &[String],
    config: &MenuConfig,
) -> Outcome {
    let keys = &config.keys;
    let input = input.trim();
    match view {
        View::ChooseInstitution {
            institutions,
            notice,
        } => {
            if let Cursor::Method { institution } = cursor {
                let Some(inst) = institutions
                    .iter()
                    .find(|i| &i.id == institution && is_usable(i))
                else {
                    return Outcome::Move(Cursor::Page { page: 0 });
                };
                let methods = usable_methods(inst);
                if input == keys.back || input == keys.home {
                    return Outcome::Move(Cursor::Page { page: 0 });
                }
                return match pick(input, methods.len()) {
                    Some(i) => Outcome::Act(UserAction::ChooseInstitution {
                        id: inst.id.clone(),
                        auth_method: Some(methods[i].clone()),
                    }),
                    None => Outcome::Invalid("Invalid choice."),
                };
            }
            let chosen = |inst: &Institution| {
                let methods = usable_methods(inst);
                if methods.len() == 1 {
                    Outcome::Act(UserAction::ChooseInstitution {
                        id: inst.id.clone(),
                        auth_method: Some(methods[0].clone()),
                    })
                } else {
                    Outcome::Move(Cursor::Method {
                        institution: inst.id.clone(),
                    })
                }
            };
            // Any answer but a paging key, with no banks to put first (every
            // new customer's bank choice): the n-th usable bank in the
            // catalogue's order, found by checking the banks up to it rather
            // than collecting every usable one (about 1,900 of a bank
            // choice's 49,600 instructions, callgrind, picking "1"). It is
            // what `list_input` makes of such an answer (`pick` over
            // `usable()`); tests/ussd_codecs/bank_pick.rs holds the two to
            // the same outcome.
            if first.is_empty() && !is_paging_key(input, keys) {
                let picked = input
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|at| institutions.iter().filter(|i| is_usable(i)).nth(at));
                return picked.map_or(Outcome::Invalid("Invalid choice."), chosen);
            }
            let list = usable_first(institutions, first);
            match list_input(
                list.len(),
                || list.iter().map(|i| bank_label(i)).collect(),
                page_of(cursor),
                || render::list_head(*notice, "Choose your bank"),
                input,
                config,
            ) {
                ListInput::Page(page) => Outcome::Move(Cursor::Page { page }),
                ListInput::Picked(i) => chosen(list[i]),
                ListInput::Invalid => Outcome::Invalid("Invalid choice."),
            }
        }
        View::Form(f) => {
            let (index, page, values) = match cursor {
                Cursor::Leaving {
                    index,
                    page,
                    values,
                } => return leave::answer(input, *index, *page, values),
                Cursor::Field {
                    index,
                    page,
                    values,
                } => (*index, *page, values.clone()),
                _ => (0, 0, Values::new()),
            };
            // Home leaves the form, asking first when that loses progress.
            if input == keys.home {
                return if leave::loses_progress(f, index, &values) {
                    Outcome::Move(Cursor::Leaving {
                        index,
                        page,
                        values,
                    })
                } else {
                    Outcome::Act(UserAction::Back)
                };
            }
            let Some(field) = f.form.fields.get(index) else {
                return Outcome::Move(Cursor::Field {
                    index: 0,
                    page: 0,
                    values: Values::new(),
                });
            };
            if field.kind == FieldKind::Captcha {
                return if input == keys.back {
                    Outcome::Act(UserAction::Back)
                } else {
                    Outcome::Invalid("Invalid choice.")
                };
            }
            // Back: the previous page of a choice's options, else the
            // previous field, or the bank list from the first one (asking
            // first on a verification step, whose progress it loses).
            if input == keys.back && !(field.kind == FieldKind::Choice && page > 0) {
                return if index == 0 && f.purpose == FormPurpose::Mfa {
                    Outcome::Move(Cursor::Leaving {
                        index,
                        page,
                        values,
                    })
                } else if index == 0 {
                    Outcome::Act(UserAction::Back)
                } else {
                    Outcome::Move(Cursor::Field {
                        index: index - 1,
                        page: 0,
                        values,
                    })
                };
            }
            let value = if field.kind == FieldKind::Choice {
                // Paged exactly as the bank list is, against the head the
                // screen shows (so "More" is offered where it is accepted).
                match list_input(
                    field.options.len(),
                    || field.options.iter().map(|o| o.label.clone()).collect(),
                    page,
                    || render::choice_head(f, index),
                    input,
                    config,
                ) {
                    ListInput::Page(page) => {
                        return Outcome::Move(Cursor::Field {
                            index,
                            page,
                            values,
                        })
                    }
                    ListInput::Picked(i) => field.options[i].value.clone(),
                    ListInput::Invalid => return Outcome::Invalid("Invalid choice."),
                }
            } else {
                input.to_owned()
            };
            let value = Secret::new(value);
            if field.check(&value).is_err() {
                return Outcome::Invalid(match field.max_length {
                    Some(_) => "Invalid entry: too long or empty.",
                    None => "Invalid entry.",
                });
            }
            let mut values = values;
            values.insert(field.name.clone(), value);
            if index + 1 < f.form.fields.len() {
                Outcome::Move(Cursor::Field {
                    index: index + 1,
                    page: 0,
                    values,
                })
            } else {
                Outcome::Act(UserAction::Submit(values))
            }
        }
        View::ChooseAccount {
            accounts, notice, ..
        } => {
            if input == keys.home {
                return Outcome::Act(UserAction::Back);
            }
            match list_input(
                accounts.len(),
                || accounts.iter().map(account_label).collect(),
                page_of(cursor),
                || render::list_head(*notice, "Choose the account"),
                input,
                config,
            ) {
                ListInput::Page(page) => Outcome::Move(Cursor::Page { page }),
                ListInput::Picked(i) => Outcome::Act(UserAction::ChooseAccount(i)),
                ListInput::Invalid => Outcome::Invalid("Invalid choice."),
            }
        }
        View::Linked { .. } => match input {
            "1" => Outcome::Act(UserAction::Retry),
            i if i == keys.back => Outcome::Act(UserAction::Exit),
            _ => Outcome::Invalid("Invalid choice."),
        },
        _ => Outcome::Invalid("Please wait."),
    }
}

pub(super) fn account_label(a: &Account) -> String {
    let kind = a
        .kind
        .as_deref()
        .map(|k| k.split('_').next().unwrap_or(k))
        .unwrap_or("");
    format!("{} {}", a.number, kind).trim_end().to_owned()
}

pub(super) fn page_of(cursor: &Cursor) -> usize {
    match cursor {
        Cursor::Page { page } => *page,
        _ => 0,
    }
}

pub(super) fn pick(input: &str, len: usize) -> Option<usize> {
    match input.parse::<usize>() {
        Ok(n) if (1..=len).contains(&n) => Some(n - 1),
        _ => None,
    }
}

/// A bank's line in the list: its name, and a note when the session service
/// marked it degraded (most recent attempts there failed) or down. The same label
/// renders the list and reads the answer, so pages agree.
pub(crate) fn bank_label(institution: &crate::flow::Institution) -> String {
    use crate::service::HealthStatus;
    match crate::service::marked(institution) {
        Some(HealthStatus::Down) => format!("{} (unavailable)", institution.name),
        Some(_) => format!("{} (slow)", institution.name),
        None => institution.name.clone(),
    }
}
