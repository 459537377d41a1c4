//! Rendering a view into one screen within the budget.

use super::paging::{fit, list_screen, menu};
use super::{
    account_label, is_usable, page_of, usable_first, usable_methods, Cursor, MenuConfig, PROCESSING,
};
use crate::channel::ussd::gateway::Screen;
use crate::flow::{FormPurpose, View};
use crate::form::FieldKind;

/// The screen for the view at the cursor, with an optional error line first.
/// Never longer than the budget: list pages are cut by encoded length, and a
/// form's title is shortened before a field's label. The bank list is in
/// [`usable_first`](super::usable_first) order for `first`.
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
                let mut options: Vec<String> = config
                    .web_link
                    .iter()
                    .map(|k| format!("{k}. Get a web link by SMS"))
                    .collect();
                options.push(format!("{}. Back", config.keys.back));
                return fit(head, options, config, false);
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
