//! Checks of an institution catalogue, sample values, and the demo catalogue.

use crate::flow::types::{AuthMethod, AuthMethodKind, Catalogue, Institution};
use crate::form::{Field, FieldKind, Form, Values};
use std::collections::HashSet;

/// The longest value a person is taken to type into one field. A form
/// asking for more is a catalogue defect ([`check_form`]), and no sample is
/// built past it: a partner's `length` of four billion is a typo, not four
/// gigabytes to allocate.
pub const LONGEST_TYPED: u32 = 256;

/// Values that satisfy `form`: the first option of a choice, exactly
/// `length` characters for a captcha, digits up to `maxLength` otherwise
/// (never past [`LONGEST_TYPED`]).
pub fn sample_values(form: &Form) -> Values {
    form.fields
        .iter()
        .map(|f| {
            let value = match (&f.kind, f.length, f.max_length) {
                (FieldKind::Choice, _, _) => f
                    .options
                    .first()
                    .map(|o| o.value.clone())
                    .unwrap_or_default(),
                (_, Some(n), _) => "7".repeat(n.min(LONGEST_TYPED) as usize),
                (_, None, Some(max)) => "1".repeat((max as usize).min(6)),
                _ => "sample".to_owned(),
            };
            (f.name.clone(), value)
        })
        .collect()
}

/// Problems with a catalogue that would strand a person: institutions with
/// no usable login form for a method, forms that no value can satisfy,
/// duplicate field names, duplicate institution ids.
pub fn check_catalogue(catalogue: &Catalogue) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for inst in catalogue.institutions() {
        if !ids.insert(inst.id.as_str()) {
            problems.push(format!("{}: duplicate institution id", inst.id));
        }
        for method in inst.method_kinds() {
            let Some(form) = inst.form_for(&method) else {
                problems.push(format!(
                    "{} {method}: no login form in the catalogue",
                    inst.id
                ));
                continue;
            };
            problems.extend(
                check_form(form)
                    .into_iter()
                    .map(|p| format!("{} {method}: {p}", inst.id)),
            );
        }
    }
    problems
}

/// Problems with one form: no fields, duplicate names, a choice without
/// options, a limit of zero, or sample values it refuses.
pub fn check_form(form: &Form) -> Vec<String> {
    let mut problems = Vec::new();
    if form.fields.is_empty() {
        problems.push("form has no fields".to_owned());
    }
    let mut names = HashSet::new();
    for f in &form.fields {
        if f.name.is_empty() {
            problems.push("a field has no name".to_owned());
        } else if !names.insert(f.name.as_str()) {
            problems.push(format!("field {:?} appears twice", f.name));
        }
        if f.kind == FieldKind::Choice && f.options.is_empty() {
            problems.push(format!("choice {:?} has no options", f.name));
        }
        if f.max_length == Some(0) || f.length == Some(0) {
            problems.push(format!("field {:?} accepts nothing (length 0)", f.name));
        }
        if let Some(len) = f.length.filter(|&n| n > LONGEST_TYPED) {
            problems.push(format!(
                "field {:?}: length {len} is longer than anyone types ({LONGEST_TYPED})",
                f.name
            ));
        }
        if let (Some(len), Some(max)) = (f.length, f.max_length) {
            if len > max {
                problems.push(format!(
                    "field {:?}: length {len} exceeds maxLength {max}",
                    f.name
                ));
            }
        }
    }
    if problems.is_empty() {
        if let Err(errors) = form.validate(&sample_values(form)) {
            problems.extend(errors.iter().map(|e| format!("sample value refused: {e}")));
        }
    }
    problems
}

/// A small catalogue covering every auth method and field type, for docs,
/// tests and the `connectflow graph` command.
pub fn demo_catalogue() -> Catalogue {
    let login = Form::new(
        "Log in to Demo Bank",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    );
    let mobile = Form::new(
        "Mobile banking",
        vec![
            Field::input("phone", "Phone number").max_length(11),
            Field::password("pin", "6-digit PIN").max_length(6),
        ],
    );
    let manual = Form::new(
        "Verify your account",
        vec![
            Field::input("accountNo", "Account number").max_length(10),
            Field::choice(
                "identifier",
                "Verify with",
                [
                    ("bvn", "BVN"),
                    ("dob", "Date of birth"),
                    ("phone", "Phone"),
                    ("email", "Email"),
                ],
            ),
            Field::input("identifierValue", "Your BVN, date of birth, phone or email"),
        ],
    );
    let methods = vec![
        AuthMethod::new(AuthMethodKind::InternetBanking, Some(login)),
        AuthMethod::new(AuthMethodKind::MobileBanking, Some(mobile)),
        AuthMethod::new(AuthMethodKind::Manual, Some(manual)),
    ];
    Catalogue::new(vec![Institution::new("demo-bank", "Demo Bank", methods)])
}
