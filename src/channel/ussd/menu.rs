//! The USSD menu: turns a flow's [`View`] into a screen that fits the
//! gateway's length budget, and a person's typed input into either a
//! [`UserAction`] for the flow or a move within the menu (a page, a field).
//!
//! Pure: no I/O, no clock. The hop server keeps a [`Cursor`] per session.

use super::gateway::Screen;
use super::gsm::{sanitize, Budget};
use crate::flow::{AuthMethodKind, FormPurpose, Institution, UserAction, View};
use crate::form::{FieldKind, Form, Secret, Values};
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
}

impl Default for MenuConfig {
    fn default() -> Self {
        MenuConfig {
            budget: Budget::default(),
            keys: NavKeys::default(),
            max_invalid: 3,
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
        /// What was typed for the earlier fields. Held only inside the sealed
        /// session record; never logged (`Values` redacts its `Debug`).
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

/// [`usable`] for one institution, without allocating: it runs for every
/// bank on every hop that shows or answers the list.
fn is_usable(inst: &Institution) -> bool {
    if inst.auth_methods.is_empty() {
        return inst.ui.as_ref().is_none_or(|f| !has_captcha(f));
    }
    inst.auth_methods
        .iter()
        .any(|m| inst.form_for(&m.kind).is_none_or(|f| !has_captcha(f)))
}

fn usable_methods(inst: &Institution) -> Vec<AuthMethodKind> {
    inst.method_kinds()
        .into_iter()
        .filter(|m| inst.form_for(m).is_none_or(|f| !has_captcha(f)))
        .collect()
}

fn has_captcha(form: &Form) -> bool {
    form.fields.iter().any(|f| f.kind == FieldKind::Captcha)
}

/// Interprets `input` against the view and cursor.
pub fn on_input(view: &View<'_>, cursor: &Cursor, input: &str, config: &MenuConfig) -> Outcome {
    let keys = &config.keys;
    let input = input.trim();
    match view {
        View::ChooseInstitution { institutions, .. } => {
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
            let list = usable(institutions);
            let labels: Vec<String> = list.iter().map(|i| i.name.clone()).collect();
            match list_input(&labels, page_of(cursor), "Choose your bank", input, config) {
                ListInput::Page(page) => Outcome::Move(Cursor::Page { page }),
                ListInput::Picked(i) => {
                    let inst = list[i];
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
                }
                ListInput::Invalid => Outcome::Invalid("Invalid choice."),
            }
        }
        View::Form(f) => {
            let (index, values) = match cursor {
                Cursor::Field { index, values } => (*index, values.clone()),
                _ => (0, Values::new()),
            };
            if input == keys.home {
                return Outcome::Act(UserAction::Back);
            }
            let Some(field) = f.form.fields.get(index) else {
                return Outcome::Move(Cursor::Field {
                    index: 0,
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
            // Back: the previous field, or the bank list from the first one.
            if input == keys.back {
                return if index == 0 {
                    Outcome::Act(UserAction::Back)
                } else {
                    Outcome::Move(Cursor::Field {
                        index: index - 1,
                        values,
                    })
                };
            }
            let value = if field.kind == FieldKind::Choice {
                match pick(input, field.options.len()) {
                    Some(i) => field.options[i].value.clone(),
                    None => return Outcome::Invalid("Invalid choice."),
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
                    values,
                })
            } else {
                Outcome::Act(UserAction::Submit(values))
            }
        }
        View::ChooseAccount { accounts, .. } => {
            if input == keys.home {
                return Outcome::Act(UserAction::Back);
            }
            let labels: Vec<String> = accounts.iter().map(account_label).collect();
            match list_input(
                &labels,
                page_of(cursor),
                "Choose the account",
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

/// The screen for the view at the cursor, with an optional error line first.
/// Never longer than the budget: list pages are cut by encoded length, and a
/// form's title is shortened before a field's label.
pub fn render(
    view: &View<'_>,
    cursor: &Cursor,
    error: Option<&str>,
    config: &MenuConfig,
) -> Screen {
    let mut head: Vec<String> = Vec::new();
    if let Some(e) = error {
        head.push(e.to_owned());
    }
    match view {
        View::ChooseInstitution {
            institutions,
            notice,
        } => {
            if let Some(n) = notice {
                head.push(n.message());
            }
            if let Cursor::Method { institution } = cursor {
                if let Some(inst) = institutions
                    .iter()
                    .find(|i| &i.id == institution && is_usable(i))
                {
                    let options: Vec<String> = usable_methods(inst)
                        .iter()
                        .map(|m| m.label().to_owned())
                        .collect();
                    head.push(format!("{}: log in with", inst.name));
                    return menu(
                        head,
                        &options,
                        &[format!("{}. Back", config.keys.back)],
                        config,
                    );
                }
            }
            let labels: Vec<String> = usable(institutions)
                .iter()
                .map(|i| i.name.clone())
                .collect();
            head.push("Choose your bank".into());
            list_screen(head, &labels, page_of(cursor), config)
        }
        View::Form(f) => {
            if let Some(n) = f.notice {
                head.push(n.message());
            }
            let index = match cursor {
                Cursor::Field { index, .. } => *index,
                _ => 0,
            };
            let Some(field) = f.form.fields.get(index) else {
                return fit(head, vec![], config, false);
            };
            if field.kind == FieldKind::Captcha {
                head.push(format!(
                    "{} needs a picture code that USSD cannot show.",
                    f.institution.name
                ));
                return fit(
                    head,
                    vec![format!("{}. Back", config.keys.back)],
                    config,
                    false,
                );
            }
            if index == 0 && f.purpose == FormPurpose::Credentials {
                head.push(format!(
                    "{} - {}",
                    f.institution.name,
                    f.auth_method.label()
                ));
            } else if index == 0 && !f.form.title.is_empty() {
                head.push(f.form.title.clone());
            }
            let mut body = Vec::new();
            if field.kind == FieldKind::Choice {
                body.push(format!("{}:", field.label()));
                body.extend(
                    field
                        .options
                        .iter()
                        .enumerate()
                        .map(|(i, o)| format!("{}. {}", i + 1, o.label)),
                );
            } else {
                let label = field.label();
                // Partner hints are often full prompts already ("Enter the
                // OTP sent to...", "What city were you born in?").
                let lower = label.to_ascii_lowercase();
                let mut prompt = if label.ends_with('?')
                    || lower.starts_with("enter")
                    || lower.starts_with("type")
                {
                    label.to_owned()
                } else {
                    format!("Enter {label}")
                };
                if field.is_secret() {
                    prompt.push_str(" (secret)");
                }
                body.push(prompt);
            }
            fit(head, body, config, false)
        }
        View::ChooseAccount {
            accounts, notice, ..
        } => {
            if let Some(n) = notice {
                head.push(n.message());
            }
            head.push("Choose the account".into());
            let labels: Vec<String> = accounts.iter().map(account_label).collect();
            list_screen(head, &labels, page_of(cursor), config)
        }
        View::Linked { notice } => {
            head.push(
                notice
                    .map(|n| n.message())
                    .unwrap_or_else(|| "Linking is not finished.".into()),
            );
            fit(
                head,
                vec!["1. Try again".into(), format!("{}. Exit", config.keys.back)],
                config,
                false,
            )
        }
        View::Working(_) => fit(
            head,
            PROCESSING.lines().map(str::to_owned).collect(),
            config,
            false,
        ),
        View::Done { .. } => fit(
            head,
            vec!["Your account is linked. Thank you.".into()],
            config,
            true,
        ),
        View::Failed { failure, retryable } => {
            head.push(failure.message());
            if *retryable {
                head.push("Dial again to retry.".into());
            }
            fit(head, vec![], config, true)
        }
        View::Exited { .. } => fit(head, vec!["Goodbye.".into()], config, true),
    }
}

fn account_label(a: &crate::flow::Account) -> String {
    let kind = a
        .kind
        .as_deref()
        .map(|k| k.split('_').next().unwrap_or(k))
        .unwrap_or("");
    format!("{} {}", a.number, kind).trim_end().to_owned()
}

fn page_of(cursor: &Cursor) -> usize {
    match cursor {
        Cursor::Page { page } => *page,
        _ => 0,
    }
}

fn pick(input: &str, len: usize) -> Option<usize> {
    match input.parse::<usize>() {
        Ok(n) if (1..=len).contains(&n) => Some(n - 1),
        _ => None,
    }
}

enum ListInput {
    Page(usize),
    Picked(usize),
    Invalid,
}

/// Paging keys and global item numbers (item numbers stay the same on every page).
fn list_input(
    labels: &[String],
    page: usize,
    title: &str,
    input: &str,
    config: &MenuConfig,
) -> ListInput {
    let keys = &config.keys;
    if input != keys.more && input != keys.back && input != keys.home {
        // A plain number needs no pages: item numbers are the same on every page.
        return match pick(input, labels.len()) {
            Some(i) => ListInput::Picked(i),
            None => ListInput::Invalid,
        };
    }
    let pages = paginate(&[title.to_owned()], labels, config);
    let page = page.min(pages.len().saturating_sub(1));
    if input == config.keys.more && page + 1 < pages.len() {
        return ListInput::Page(page + 1);
    }
    if input == config.keys.back && page > 0 {
        return ListInput::Page(page - 1);
    }
    if input == config.keys.home {
        return ListInput::Page(0);
    }
    match pick(input, labels.len()) {
        Some(i) => ListInput::Picked(i),
        None => ListInput::Invalid,
    }
}

fn list_screen(head: Vec<String>, labels: &[String], page: usize, config: &MenuConfig) -> Screen {
    let pages = paginate(&head, labels, config);
    let page = page.min(pages.len().saturating_sub(1));
    let range = pages.get(page).cloned().unwrap_or(0..0);
    let mut body: Vec<String> = range
        .clone()
        .map(|i| format!("{}. {}", i + 1, labels[i]))
        .collect();
    body.extend(footer(page, pages.len(), &config.keys));
    fit(head, body, config, false)
}

/// A short numbered menu (all options on one screen) with extra lines after.
fn menu(head: Vec<String>, options: &[String], extra: &[String], config: &MenuConfig) -> Screen {
    let mut body: Vec<String> = options
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{}. {o}", i + 1))
        .collect();
    body.extend(extra.iter().cloned());
    fit(head, body, config, false)
}

fn footer(page: usize, pages: usize, keys: &NavKeys) -> Vec<String> {
    let mut f = Vec::new();
    if page + 1 < pages {
        f.push(format!("{}. More", keys.more));
    }
    if page > 0 {
        f.push(format!("{}. Back", keys.back));
    }
    f
}

/// Splits `labels` into pages whose whole screen (head, items, the widest
/// footer) fits the budget. Cut by encoded length, not a fixed count: a page
/// of short bank names holds more than a page of long ones.
///
/// Each line is measured once and the costs summed (a newline is one unit in
/// either encoding; one non-GSM line makes the whole screen UCS-2), so this
/// is linear in the list: it runs on every hop that shows a list.
fn paginate(
    head: &[String],
    labels: &[String],
    config: &MenuConfig,
) -> Vec<std::ops::Range<usize>> {
    let head_cost = head
        .iter()
        .map(|l| LineCost::of(l))
        .fold(LineCost::EMPTY, LineCost::join);
    let reserve = LineCost::of(&format!("{}. More", config.keys.more))
        .join(LineCost::of(&format!("{}. Back", config.keys.back)));
    let items: Vec<LineCost> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| LineCost::of(&format!("{}. {l}", i + 1)))
        .collect();
    let mut pages = Vec::new();
    let mut start = 0;
    while start < labels.len() {
        // A page always holds at least one item, even one too long to fit:
        // `fit` then shortens the head rather than lose the option.
        let mut total = head_cost.join(items[start]);
        let mut end = start + 1;
        while end < labels.len() {
            let next = total.join(items[end]);
            if !next.join(reserve).fits(&config.budget) {
                break;
            }
            total = next;
            end += 1;
        }
        pages.push(start..end);
        start = end;
    }
    if pages.is_empty() {
        pages.push(0..0);
    }
    pages
}

/// The encoded size of one or more lines joined with newlines.
#[derive(Debug, Clone, Copy)]
struct LineCost {
    /// GSM-7 septets, or `None` once any character needs UCS-2.
    gsm: Option<usize>,
    /// UTF-16 code units.
    ucs2: usize,
    lines: usize,
}

impl LineCost {
    const EMPTY: LineCost = LineCost {
        gsm: Some(0),
        ucs2: 0,
        lines: 0,
    };

    fn of(line: &str) -> LineCost {
        let clean = sanitize(line);
        let m = super::gsm::measure(&clean);
        let ucs2 = clean.encode_utf16().count();
        LineCost {
            gsm: (m.encoding == super::gsm::Encoding::Gsm7).then_some(m.units),
            ucs2,
            lines: 1,
        }
    }

    fn join(self, other: LineCost) -> LineCost {
        let newline = usize::from(self.lines > 0 && other.lines > 0);
        LineCost {
            gsm: self.gsm.zip(other.gsm).map(|(a, b)| a + b + newline),
            ucs2: self.ucs2 + other.ucs2 + newline,
            lines: self.lines + other.lines,
        }
    }

    fn fits(self, budget: &Budget) -> bool {
        match self.gsm {
            Some(septets) => septets <= budget.gsm7,
            None => self.ucs2 <= budget.ucs2,
        }
    }
}

/// Joins `head` (may be shortened) and `body` (never cut: every option line
/// stays whole) into a screen within the budget. Head lines are dropped from
/// the top, then the last one is shortened, until it fits.
fn fit(mut head: Vec<String>, body: Vec<String>, config: &MenuConfig, end: bool) -> Screen {
    let join = |head: &[String], body: &[String]| -> String {
        let text: Vec<&str> = head.iter().chain(body.iter()).map(String::as_str).collect();
        sanitize(&text.join("\n")).into_owned()
    };
    let mut text = join(&head, &body);
    while !config.budget.fits(&text) && !head.is_empty() {
        // Shorten the longest head line by a word; drop it when it is one word.
        let longest = (0..head.len())
            .max_by_key(|&i| head[i].chars().count())
            .unwrap_or(0);
        let line = &mut head[longest];
        match line.trim_end_matches("...").rfind(' ') {
            Some(cut) if cut > 0 => {
                line.truncate(cut);
                line.push_str("...");
            }
            _ => {
                head.remove(longest);
            }
        }
        text = join(&head, &body);
    }
    if !config.budget.fits(&text) {
        // A body that alone exceeds the budget (a huge option list from a
        // partner): keep whole lines while they fit rather than cut one.
        let mut kept = Vec::new();
        for line in body {
            let mut candidate = kept.clone();
            candidate.push(line);
            if !config.budget.fits(&join(&[], &candidate)) {
                break;
            }
            kept = candidate;
        }
        text = join(&[], &kept);
    }
    Screen { text, end }
}
