//! [`Values`]: what a person typed, by field name, and the serde escape hatch
//! (`reveal_values`) for the one place values must be stored before they are sent.

use super::{Form, Secret};
use std::fmt;

/// What a person typed, by field name, in the order given. Every value is held
/// as a [`Secret`] while in transit: `Debug` on a `Values` never shows a PIN,
/// whatever the partner's descriptor said.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Values(Vec<(String, Secret)>);

impl Values {
    /// No values.
    pub fn new() -> Self {
        Values(Vec::new())
    }

    /// Adds `name = value` (builder style).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.insert(name, value);
        self
    }

    /// Adds `name = value`, replacing an earlier value of the same name.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Secret>) {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// `(name, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Secret)> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values of the fields `form` does not treat as secret, for pre-filling
    /// the form again after a retryable rejection (the username stays, the
    /// password goes).
    pub fn public_part(&self, form: &Form) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(n, _)| form.field(n).is_some_and(|f| !f.is_secret()))
            .map(|(n, v)| (n.clone(), v.expose().to_owned()))
            .collect()
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(n, v)| (n, v)))
            .finish()
    }
}

impl<N: Into<String>, V: Into<Secret>> FromIterator<(N, V)> for Values {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut values = Values::new();
        for (n, v) in iter {
            values.insert(n, v);
        }
        values
    }
}

/// Serde for [`Values`] in the one place that must store values not yet sent:
/// an unpolled effect inside a snapshot. `Values` has no `Serialize` of its own
/// so that no derived impl can leak a PIN by accident; use
/// `#[serde(with = "crate::form::reveal_values")]` and justify it.
pub(crate) mod reveal_values {
    use super::Values;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(crate) fn serialize<S: Serializer>(values: &Values, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(values.len()))?;
        for (n, v) in values.iter() {
            map.serialize_entry(n, v.expose())?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Values, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Values;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Values, A::Error> {
                let mut values = Values::new();
                while let Some((k, v)) = m.next_entry::<String, Text>()? {
                    values.insert(k, v.0);
                }
                Ok(values)
            }
        }
        d.deserialize_map(V)
    }

    /// One value: a `String` whose refusal says values are strings, so a
    /// front-end that sends a PIN as a JSON number is told what to send
    /// (the link API's `json_error` keeps only the "expected ..." part,
    /// never the PIN). JSON is the only format values are read from, and
    /// it hands strings to `visit_str`/`visit_string`.
    struct Text(String);

    impl<'de> serde::Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
            struct T;
            impl Visitor<'_> for T {
                type Value = Text;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string (form values are JSON strings, digits too)")
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                    Ok(Text(v.to_owned()))
                }
                fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                    Ok(Text(v))
                }
            }
            d.deserialize_string(T)
        }
    }
}
