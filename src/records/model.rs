//! [`Auth`]: one validated bank account of one customer, field for field as
//! Okra's Auth schema, plus what connectflow knows about how it was linked.
//!
//! ```text
//!   owner (the host app, one per records database)
//!     └── record: one login of one customer at one institution
//!           └── auth: one account linked through that login
//!                 (unique per owner × partner × partner account id × customer)
//! ```

use super::time::iso;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Okra's `env`: which kind of partner key the account was linked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Env {
    /// `production`: a live key.
    Production,
    /// `production-sandbox`: a test key (Mono's `test_sk_...`).
    Sandbox,
}

impl Env {
    /// The environment a partner secret key belongs to: Mono's test keys
    /// start with `test_sk_` (any `test_` key is taken as a test key).
    pub fn of_key(key: &str) -> Env {
        if key.starts_with("test_") {
            Env::Sandbox
        } else {
            Env::Production
        }
    }

    /// The wire name (`production`, `production-sandbox`).
    pub fn as_str(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::Sandbox => "production-sandbox",
        }
    }

    /// The environment named `name`; anything unknown reads as production.
    pub fn parse(name: &str) -> Env {
        match name {
            "production-sandbox" => Env::Sandbox,
            _ => Env::Production,
        }
    }
}

/// The bank an auth is at, embedded in it as Okra does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    /// The partner's institution id (Mono's `_id`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Icon URL, when the partner's catalogue has one (also given as
    /// `logo`, `v2_icon` and `v2_logo`: the partner has one picture).
    pub icon: Option<String>,
}

/// The customer an auth belongs to, embedded as Okra does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCustomer {
    /// The host's id for them (the phone number on USSD).
    pub id: String,
    /// Their name, when known.
    pub name: Option<String>,
}

/// One auth: a bank account a customer proved they own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// The auth's id: 24 hex digits, like a Mongo ObjectId (sent as both
    /// `id` and `_id`).
    pub id: String,
    /// False once the account was unlinked.
    pub validated: bool,
    /// Where.
    pub bank: Bank,
    /// Who; `None` when the channel knew nobody (shown as `null`).
    pub customer: Option<AuthCustomer>,
    /// The record (login at one institution) it belongs to.
    pub record: String,
    /// The host app that owns it.
    pub owner: String,
    /// Live or test key.
    pub env: Env,
    /// First linked (ms since the epoch).
    pub created_at: u64,
    /// Last linked or changed (ms since the epoch).
    pub last_updated: u64,
    /// The partner it was linked through (`mono`, `flinks`).
    pub partner: String,
    /// The partner's durable id for it (Mono account id, Flinks LoginId).
    pub partner_account_id: String,
    /// How the person logged in (`internet_banking`, ...), when known.
    pub auth_method: Option<String>,
    /// The reference of the flow that linked it last.
    pub reference: String,
    /// The channel it was linked on last (`ussd`, `link`, `terminal`).
    pub channel: String,
}

/// Okra's JSON: the sample's keys in the sample's order (`_id`, `record`,
/// `__v`, `bank`, `created_at`, `customer`, `env`, `last_updated`, `owner`,
/// `validated`, `id`), then connectflow's own (`partner`,
/// `partner_account_id`, `institution`, `auth_method`, `reference`,
/// `channel`), which an Okra client ignores.
impl Serialize for Auth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(17))?;
        map.serialize_entry("_id", &self.id)?;
        map.serialize_entry("record", &self.record)?;
        // Mongo's version key; Okra's samples always show 0.
        map.serialize_entry("__v", &0)?;
        map.serialize_entry("bank", &BankJson(&self.bank))?;
        map.serialize_entry("created_at", &iso(self.created_at))?;
        map.serialize_entry("customer", &self.customer.as_ref().map(CustomerJson))?;
        map.serialize_entry("env", self.env.as_str())?;
        map.serialize_entry("last_updated", &iso(self.last_updated))?;
        map.serialize_entry("owner", &self.owner)?;
        map.serialize_entry("validated", &self.validated)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("partner", &self.partner)?;
        map.serialize_entry("partner_account_id", &self.partner_account_id)?;
        map.serialize_entry("institution", &self.bank.id)?;
        map.serialize_entry("auth_method", &self.auth_method)?;
        map.serialize_entry("reference", &self.reference)?;
        map.serialize_entry("channel", &self.channel)?;
        map.end()
    }
}

struct BankJson<'a>(&'a Bank);

impl Serialize for BankJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bank = self.0;
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("_id", &bank.id)?;
        map.serialize_entry("icon", &bank.icon)?;
        map.serialize_entry("logo", &bank.icon)?;
        map.serialize_entry("name", &bank.name)?;
        // Connectflow links only through institutions the partner lists.
        map.serialize_entry("status", "active")?;
        map.serialize_entry("v2_icon", &bank.icon)?;
        map.serialize_entry("v2_logo", &bank.icon)?;
        map.end()
    }
}

struct CustomerJson<'a>(&'a AuthCustomer);

impl Serialize for CustomerJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("_id", &self.0.id)?;
        map.serialize_entry("name", &self.0.name)?;
        map.end()
    }
}

/// A fresh id shaped like a Mongo ObjectId: 24 hex digits, the first 8 the
/// time in seconds (so ids sort roughly by creation, as Okra's do), the
/// other 16 random.
pub fn object_id(now_ms: u64) -> String {
    let secs = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    format!("{secs:08x}{random:016x}")
}

/// True for 24 hex digits (an id this module could have made).
pub fn is_object_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_object_ids_and_json_keeps_okras_shape() {
        let id = object_id(1_629_873_945_000);
        assert!(is_object_id(&id) && id.starts_with("6125e719"), "{id}");
        assert_ne!(id, object_id(1_629_873_945_000));
        let auth = Auth {
            id: id.clone(),
            validated: true,
            bank: Bank {
                id: "b1".into(),
                name: "Alat".into(),
                icon: None,
            },
            customer: Some(AuthCustomer {
                id: "c1".into(),
                name: Some("Faith".into()),
            }),
            record: "r1".into(),
            owner: "o1".into(),
            env: Env::of_key("test_sk_abc"),
            created_at: 1_629_873_945_000,
            last_updated: 1_629_873_945_000,
            partner: "mono".into(),
            partner_account_id: "acc".into(),
            auth_method: None,
            reference: "REF".into(),
            channel: "ussd".into(),
        };
        let json = serde_json::to_string(&auth).unwrap();
        assert!(
            json.starts_with(&format!(
                r#"{{"_id":"{id}","record":"r1","__v":0,"bank":{{"_id":"b1""#
            )),
            "{json}"
        );
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["id"], value["_id"]);
        assert_eq!(value["env"], "production-sandbox");
        assert_eq!(value["customer"]["_id"], "c1");
        assert_eq!(value["created_at"], "2021-08-25T06:45:45.000Z");
        assert_eq!(Env::of_key("live_sk_x"), Env::Production);
    }
}
