//! The person: what they type into the form on screen (a marker in every
//! secret field, so a leak can be found), valid or wrong in five ways, and
//! the [`UserAction`] a person's [`Op`] becomes.

use crate::harness::Harness;
use crate::ops::Op;
use crate::partner::*;
use connectflow::flow::explore::sample_values;
use connectflow::flow::*;
use connectflow::form::{Field, FieldKind, Form, Values};

impl Harness {
    // ---- the person

    pub(crate) fn marker(&mut self, field: &Field) -> String {
        self.marker_n += 1;
        let n = self.marker_n;
        let name = field.name.to_ascii_lowercase();
        let tag = if name.contains("pin") {
            "PIN"
        } else if name.contains("otp") {
            "OTP"
        } else if name.contains("answer") {
            "ANS"
        } else {
            "PW"
        };
        let long = format!("SECRET-{tag}-{n}");
        let marker = match field.max_length {
            Some(max) if (max as usize) < long.len() => format!("\u{a4}{n}"),
            _ => long,
        };
        self.typed.push(marker.clone());
        marker
    }

    /// Values `form` accepts, with a marker in every secret field.
    pub(crate) fn fill(&mut self, form: &Form) -> Values {
        let sample = sample_values(form);
        let mut values = Values::new();
        for field in &form.fields {
            let value = if is_secretish(field) {
                self.marker(field)
            } else {
                sample
                    .get(&field.name)
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default()
            };
            values.insert(field.name.clone(), value);
        }
        values
    }

    pub(crate) fn form_on_screen(&self) -> Option<Form> {
        match self.flow.view() {
            View::Form(f) => Some(f.form.clone()),
            _ => None,
        }
    }

    pub(crate) fn valid_values(&mut self) -> Values {
        match self.form_on_screen() {
            Some(form) => self.fill(&form),
            // Nothing to submit: the flow must refuse, and still not leak.
            None => {
                let field = Field::password("password", "Password");
                Values::new().with("password", self.marker(&field))
            }
        }
    }

    pub(crate) fn invalid_values(&mut self, k: u8) -> Values {
        // A form that asks nothing (a saved login) takes nothing: a field it
        // does not have (typed into as a secret) is what makes it wrong.
        if self.form_on_screen().is_some_and(|f| f.fields.is_empty()) {
            let field = Field::password("password", "Password");
            return Values::new().with("password", self.marker(&field));
        }
        let form = self
            .form_on_screen()
            .unwrap_or_else(|| Form::new("Log in", vec![Field::password("password", "P")]));
        let valid = self.fill(&form);
        let first = form.fields[0].clone();
        match k % 5 {
            0 => Values::new(),
            1 => valid
                .iter()
                .skip(1)
                .map(|(n, v)| (n.clone(), v.expose().to_owned()))
                .collect(),
            2 => {
                let typo = Field::password("pasword", "Password");
                let marker = self.marker(&typo);
                valid.with("pasword", marker)
            }
            3 => match form.fields.iter().find(|f| f.max_length.is_some()) {
                Some(f) => {
                    let marker = format!("SECRET-LONG-{}", self.marker_n).repeat(4);
                    self.typed.push(marker.clone());
                    valid.with(f.name.clone(), marker)
                }
                None => valid.with(first.name, "   "),
            },
            _ => match form.fields.iter().find(|f| f.kind == FieldKind::Choice) {
                Some(f) => valid.with(f.name.clone(), "not-an-option"),
                None => valid.with(first.name, ""),
            },
        }
    }

    pub(crate) fn user_action(&mut self, op: &Op) -> UserAction {
        match op {
            Op::Choose { inst, method } => UserAction::ChooseInstitution {
                id: institution_id(*inst).into(),
                auth_method: method.map(method_kind),
            },
            Op::SubmitValid => UserAction::Submit(self.valid_values()),
            Op::SubmitInvalid(k) => UserAction::Submit(self.invalid_values(*k)),
            Op::ChooseAccount(i) => UserAction::ChooseAccount(usize::from(*i % 5)),
            Op::Switch(k) => UserAction::SwitchAuthMethod(method_kind(*k)),
            Op::Back => UserAction::Back,
            Op::Retry => UserAction::Retry,
            _ => UserAction::Exit,
        }
    }
}
