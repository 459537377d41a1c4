//! Rendering a view into one screen within the budget.

use super::paging::{fit, list_screen_with, menu};
use super::{
    account_label, is_usable, page_of, usable_first, usable_methods, Cursor, MenuConfig, PROCESSING,
};
use crate::channel::ussd::gateway::Screen;
use crate::flow::{FormPurpose, FormView, View};
use crate::form::FieldKind;

/// The screen for the view at the cursor, with an optional error line first.
/// Never longer than the budget: list pages are cut by encoded length, and a
/// form's title is shortened before a field's label. The bank list is in
/// [`usable_first`] order for `first`.
pub fn render(
    view: &View<'_>,
    cursor: &Cursor,
    error: Option<&str>,
    first: &[String],
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
            let labels: Vec<String> = usable_first(institutions, first)
                .iter()
                .map(|i| super::bank_label(i))
                .collect();
            // The error line leads, uncounted: the same page keeps the same
            // banks with or without it (and input reads pages the same way).
            let lead: Vec<String> = error.map(str::to_owned).into_iter().collect();
            list_screen_with(
                lead,
                list_head(*notice, "Choose your bank"),
                &labels,
                page_of(cursor),
                config,
            )
        }
        View::Form(f) => {
            if let Cursor::Leaving { .. } = cursor {
                return super::leave::screen(f, config);
            }
            let index = match cursor {
                Cursor::Field { index, .. } => *index,
                _ => 0,
            };
            let Some(field) = f.form.fields.get(index) else {
                head.extend(f.notice.map(|n| n.message()));
                return fit(head, vec![], config, false);
            };
            if field.kind == FieldKind::Choice {
                // Paged like the bank list, numbers the same on every page.
                // The error line is not counted when cutting pages, so a
                // page keeps its options whether or not an error is shown.
                let page = match cursor {
                    Cursor::Field { page, .. } => *page,
                    _ => 0,
                };
                let labels: Vec<String> = field.options.iter().map(|o| o.label.clone()).collect();
                return list_screen_with(head, choice_head(f, index), &labels, page, config);
            }
            head.extend(f.notice.map(|n| n.message()));
            if field.kind == FieldKind::Captcha {
                head.push(format!(
                    "{} needs a picture code that USSD cannot show.",
                    f.institution.name
                ));
                let mut options: Vec<String> = config
                    .web_link
                    .iter()
                    .map(|k| format!("{k}. Get a web link by SMS"))
                    .collect();
                options.push(format!("{}. Back", config.keys.back));
                return fit(head, options, config, false);
            }
            head.extend(form_title(f, index));
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
            let body = vec![prompt];
            Screen {
                masked: field.is_secret(),
                ..fit(head, body, config, false)
            }
        }
        View::ChooseAccount {
            accounts, notice, ..
        } => {
            let labels: Vec<String> = accounts.iter().map(account_label).collect();
            let lead: Vec<String> = error.map(str::to_owned).into_iter().collect();
            list_screen_with(
                lead,
                list_head(*notice, "Choose the account"),
                &labels,
                page_of(cursor),
                config,
            )
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

/// The title line a form's field shows: the institution and method (or the
/// form's own title) on the first field only, to leave the budget to later
/// fields' prompts.
fn form_title(f: &FormView<'_>, index: usize) -> Option<String> {
    if index != 0 {
        None
    } else if f.purpose == FormPurpose::Credentials {
        Some(format!(
            "{} - {}",
            f.institution.name,
            f.auth_method.label()
        ))
    } else if !f.form.title.is_empty() {
        Some(f.form.title.clone())
    } else {
        None
    }
}

/// What a choice field's screen shows above its options, without any error
/// line: the form's notice, its title (on the first field) and the field's
/// label. Input handling cuts the options into pages against this same head,
/// so the pages a person sees are the pages their keys move through.
pub(super) fn choice_head(f: &FormView<'_>, index: usize) -> Vec<String> {
    let mut head: Vec<String> = f.notice.iter().map(|n| n.message()).collect();
    head.extend(form_title(f, index));
    if let Some(field) = f.form.fields.get(index) {
        head.push(format!("{}:", field.label()));
    }
    head
}

/// The head a list is paged under: the notice, if any, then `title`. The
/// same for rendering and for reading an answer, so page N is the same
/// page both ways.
pub(super) fn list_head(notice: Option<&crate::flow::Notice>, title: &str) -> Vec<String> {
    notice
        .map(|n| n.message())
        .into_iter()
        .chain(std::iter::once(title.to_owned()))
        .collect()
}
