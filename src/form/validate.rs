//! Validation: whether what a person typed fits the form ([`Field::check`],
//! [`Form::validate`]), checked before anything is sent to the partner.

use super::{Field, FieldError, FieldKind, Form, Problem, Secret, Values};

impl Field {
    /// Checks one value against this field.
    pub fn check(&self, value: &Secret) -> Result<(), Problem> {
        let len = value.char_len();
        if value.expose().trim().is_empty() {
            return Err(Problem::Required);
        }
        if self.kind == FieldKind::Choice {
            return if self.options.iter().any(|o| o.value == value.expose()) {
                Ok(())
            } else {
                Err(Problem::NotAnOption)
            };
        }
        if let Some(exact) = self.length {
            if len != exact as usize {
                return Err(Problem::WrongLength { expected: exact });
            }
        }
        if let Some(max) = self.max_length {
            if len > max as usize {
                return Err(Problem::TooLong { max });
            }
        }
        Ok(())
    }
}

impl Form {
    /// Checks `values` against every field: each field is required, `maxLength`
    /// and `length` are honoured, a choice must be one of its options, and no
    /// value may name a field the form does not have. All problems are returned
    /// at once, in field order, so a person can fix them in one go.
    pub fn validate(&self, values: &Values) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for field in &self.fields {
            let problem = match values.get(&field.name) {
                None => Some(Problem::Required),
                Some(v) => field.check(v).err(),
            };
            if let Some(problem) = problem {
                errors.push(FieldError::new(field.name.clone(), field.label(), problem));
            }
        }
        for (i, (name, _)) in values.iter().enumerate() {
            if self.field(name).is_none() {
                errors.push(FieldError::new(name.clone(), name, Problem::Unexpected));
            } else if values.iter().take(i).any(|(n, _)| n == name) {
                errors.push(FieldError::new(name.clone(), name, Problem::Duplicate));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
