//! Institution catalogues read from a file, for `connectflow check` and a
//! QA engineer's own tests: Mono's list as its API sends it, and the Flinks
//! institutions a host configures (Flinks has no institutions endpoint).
//!
//! The dialect's own decoder is lenient on purpose — a bank whose login form
//! does not parse is kept without that form, so one odd entry does not hide
//! the rest from a person. A catalogue *check* needs more: what was dropped,
//! where (institution id and name, field number and label) and why. So the
//! `*_checked` readers return the catalogue without the unreadable parts
//! plus one problem per unreadable entry or field, and the rest of the
//! catalogue is checked as usual: one broken field never turns into "no
//! login form" for its bank, nor into every state being unreachable.

use super::bounds::{self, MAX_AUTH_METHODS};
use super::flinks::{Flinks, FlinksConfig};
use super::text::{clip, MAX_ECHOED_BYTES, MAX_MESSAGE_CHARS};
use crate::flow::{AuthMethodKind, CallError, Catalogue, Institution};
use crate::form::{Field, Form};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A catalogue read from a file, and what in the file could not be read.
#[derive(Debug, Clone)]
pub struct CatalogueFile {
    /// Every institution (and method) that could be read.
    pub catalogue: Arc<Catalogue>,
    /// One line per entry, method or field left out, naming the institution
    /// (id and name) and the field (number and label).
    pub problems: Vec<String>,
}

fn malformed(message: impl Into<String>) -> CallError {
    CallError::Malformed(message.into())
}

fn parse(body: &[u8]) -> Result<Value, CallError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON: {e}")))
}

/// The entries of a list that is either bare or inside `keys` of an object.
fn entries<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Vec<Value>> {
    match v {
        Value::Array(list) => Some(list),
        Value::Object(o) => keys.iter().find_map(|k| o.get(*k)?.as_array()),
        _ => None,
    }
}

fn text<'a>(o: &'a serde_json::Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| o.get(*k)?.as_str())
        .filter(|s| !s.trim().is_empty())
}

impl Catalogue {
    /// [`from_mono_json`](Catalogue::from_mono_json), reporting what it
    /// leaves out: entries that are not objects or have no id, and every
    /// login form that does not parse — field by field ("gtbank (GTBank)
    /// internet_banking: field 2 (\"Password\"): missing field `name`").
    /// A method whose form does not parse is left out of the catalogue (an
    /// institution with no method left, too), so the rest is checked as if
    /// it were not there.
    ///
    /// ```
    /// use connectflow::flow::Catalogue;
    ///
    /// let file = br#"{"data": [
    ///   {"_id": "good", "name": "Good Bank", "auth_methods": [{"type": "internet_banking",
    ///     "ui": {"title": "Log in", "form": [{"type": "input", "name": "username"},
    ///                                         {"type": "password", "name": "password"}]}}]},
    ///   {"_id": "odd", "name": "Odd Bank", "auth_methods": [{"type": "internet_banking",
    ///     "ui": {"title": "Log in", "form": [{"type": "password", "hint": "Password"}]}}]}
    /// ]}"#;
    /// let read = Catalogue::from_mono_json_checked(file)?;
    /// assert_eq!(read.catalogue.institutions().len(), 1);
    /// assert!(read.problems[0].starts_with("odd (Odd Bank) internet_banking: field 1 (\"Password\")"));
    /// # Ok::<(), connectflow::flow::CallError>(())
    /// ```
    pub fn from_mono_json_checked(body: &[u8]) -> Result<CatalogueFile, CallError> {
        let raw = parse(body)?;
        let catalogue = Catalogue::from_mono_json(body)?;
        let list = entries(&raw, &["data"]).cloned().unwrap_or_default();
        let mut problems = Vec::new();
        // (institution id, method kind; None: the institution-level form).
        let mut broken: BTreeSet<(String, Option<AuthMethodKind>)> = BTreeSet::new();
        for (i, entry) in list.iter().enumerate() {
            let Value::Object(o) = entry else {
                problems.push(format!("entry {}: not an object, left out", i + 1));
                continue;
            };
            // Cut as the dialect cuts it: a problem line is read by a person.
            let name = text(o, &["name"]).map(|n| clip(n, MAX_MESSAGE_CHARS));
            let Some(id) = o.get("_id").or_else(|| o.get("id")).and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }) else {
                problems.push(format!(
                    "entry {} ({}): no `_id`, left out",
                    i + 1,
                    name.unwrap_or("no name")
                ));
                continue;
            };
            // The dialect skips these entries (see `mono::decode`); say so.
            if id.len() > MAX_ECHOED_BYTES {
                problems.push(format!(
                    "entry {} ({}): `_id` longer than {MAX_ECHOED_BYTES} bytes, left out",
                    i + 1,
                    name.unwrap_or("no name")
                ));
                continue;
            }
            let who = format!("{id} ({})", name.unwrap_or(&id));
            let methods = o.get("auth_methods").and_then(Value::as_array);
            if methods.is_some_and(|m| m.len() > MAX_AUTH_METHODS) {
                problems.push(format!(
                    "{who}: more than {MAX_AUTH_METHODS} auth methods, left out"
                ));
                continue;
            }
            if let Some(ui) = o.get("ui").filter(|v| !v.is_null()) {
                if let Some(why) = form_problems(ui) {
                    problems.extend(why.into_iter().map(|p| format!("{who} login form: {p}")));
                    broken.insert((id.clone(), None));
                }
            }
            for (j, m) in methods.into_iter().flatten().enumerate() {
                let Some(kind) = m.get("type").and_then(Value::as_str) else {
                    problems.push(format!("{who}: auth method {} has no `type`", j + 1));
                    continue;
                };
                if let Some(ui) = m.get("ui").filter(|v| !v.is_null()) {
                    if let Some(why) = form_problems(ui) {
                        problems.extend(why.into_iter().map(|p| format!("{who} {kind}: {p}")));
                        broken.insert((id.clone(), Some(AuthMethodKind::from(kind))));
                    }
                }
            }
        }
        let catalogue = if broken.is_empty() {
            catalogue
        } else {
            Arc::new(without(&catalogue, &broken))
        };
        Ok(CatalogueFile {
            catalogue,
            problems,
        })
    }

    /// The institutions a Flinks host offers, as a catalogue: each with one
    /// internet-banking method and the username/password form every Flinks
    /// institution has ([`Flinks::catalogue`]). The file lists what
    /// [`FlinksConfig::institutions`] holds, in any of these shapes (bare or
    /// under `"Institutions"`):
    ///
    /// ```json
    /// [{"Institution": "FlinksCapital", "InstitutionName": "Flinks Capital"}]
    /// ["FlinksCapital", "RBC"]
    /// [["FlinksCapital", "Flinks Capital"]]
    /// ```
    ///
    /// Entries that name no institution are left out
    /// ([`from_flinks_json_checked`](Catalogue::from_flinks_json_checked)
    /// says which).
    pub fn from_flinks_json(body: &[u8]) -> Result<Arc<Catalogue>, CallError> {
        Catalogue::from_flinks_json_checked(body).map(|f| f.catalogue)
    }

    /// [`from_flinks_json`](Catalogue::from_flinks_json), reporting each
    /// entry it leaves out.
    pub fn from_flinks_json_checked(body: &[u8]) -> Result<CatalogueFile, CallError> {
        let raw = parse(body)?;
        let list = entries(&raw, &["Institutions", "institutions"]).ok_or_else(|| {
            malformed("a Flinks institution list is an array (or {\"Institutions\": [...]})")
        })?;
        let mut problems = Vec::new();
        let mut found = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let pair = match entry {
                Value::String(s) if !s.trim().is_empty() => Some((s.clone(), s.clone())),
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(id), Value::String(name)] if !id.trim().is_empty() => {
                        Some((id.clone(), name.clone()))
                    }
                    _ => None,
                },
                Value::Object(o) => text(o, &["Institution", "institution", "id"]).map(|id| {
                    let name = text(o, &["InstitutionName", "name"]).unwrap_or(id);
                    (id.to_owned(), name.to_owned())
                }),
                _ => None,
            };
            match pair {
                Some(pair) => found.push(pair),
                None => problems.push(format!(
                    "entry {}: names no institution (expected \"Institution\"), left out",
                    i + 1
                )),
            }
        }
        if !list.is_empty() && found.is_empty() {
            return Err(malformed("no entry of the list names an institution"));
        }
        let config = FlinksConfig::new("", None).institutions(found);
        Ok(CatalogueFile {
            catalogue: Flinks::new(config).catalogue(),
            problems,
        })
    }
}

/// Why `ui` is not a form the dialect keeps, field by field; `None` when it
/// is one. A form that parses but is past its bounds (`dialect::bounds`:
/// too many fields or options, a name too long to send back...) is left
/// out by the dialect just the same, so it is reported too.
fn form_problems(ui: &Value) -> Option<Vec<String>> {
    let error = match Form::deserialize(ui) {
        Ok(form) => match bounds::form(form) {
            Ok(_) => return None,
            Err(CallError::Malformed(why)) => {
                return Some(vec![format!("the form is left out: {why}")])
            }
            Err(e) => return Some(vec![format!("the form is left out: {e}")]),
        },
        Err(e) => e,
    };
    let fields = ui.get("form").and_then(Value::as_array);
    let mut out = Vec::new();
    for (k, field) in fields.into_iter().flatten().enumerate() {
        if let Err(e) = Field::deserialize(field) {
            let label = ["hint", "name", "label"]
                .iter()
                .find_map(|key| field.get(*key)?.as_str())
                .map_or_else(String::new, |l| {
                    format!(" ({:?})", clip(l, MAX_MESSAGE_CHARS))
                });
            out.push(format!("field {}{label}: {e}", k + 1));
        }
    }
    if out.is_empty() {
        out.push(format!("the form does not parse: {error}"));
    }
    Some(out)
}

/// `catalogue` without the broken methods (an institution left with none,
/// left out whole).
fn without(
    catalogue: &Catalogue,
    broken: &BTreeSet<(String, Option<AuthMethodKind>)>,
) -> Catalogue {
    let kept = catalogue
        .institutions()
        .iter()
        .filter_map(|inst| {
            let level_broken = broken.contains(&(inst.id.clone(), None));
            let usable = |kind: &AuthMethodKind, has_own: bool| {
                !broken.contains(&(inst.id.clone(), Some(kind.clone())))
                    && (has_own || !level_broken)
            };
            let mut inst: Institution = inst.clone();
            if inst.auth_methods.is_empty() {
                return (!level_broken).then_some(inst);
            }
            inst.auth_methods
                .retain(|m| usable(&m.kind, m.ui.is_some()));
            (!inst.auth_methods.is_empty()).then_some(inst)
        })
        .collect();
    Catalogue::new(kept)
}
