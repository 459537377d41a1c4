//! Flinks' `/Authorize` wire shapes (flinks.md §2–§3), for both sides: the
//! dialect reads what the builders here write, and the sandbox writes its
//! replies with them, so the two cannot drift.

use super::codes::FlinksCode;
use crate::dialect::text::{clip_owned, MAX_CODE_CHARS};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// The kind of a security challenge. Flinks documents only
/// `QuestionAndAnswer`; others are kept as sent, cut to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ChallengeType {
    /// A question answered in free text.
    QuestionAndAnswer,
    /// A question answered by picking one of its options (unconfirmed shape).
    MultipleChoice,
    /// Any other type, as sent (at most 64 characters).
    Unknown(String),
}

impl From<String> for ChallengeType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "QuestionAndAnswer" => ChallengeType::QuestionAndAnswer,
            "MultipleChoice" | "MultipleChoiceMultipleAnswers" => ChallengeType::MultipleChoice,
            // Cut: the type rides on the form's field (stored with the
            // session) and on every MFA event.
            _ => ChallengeType::Unknown(clip_owned(s, MAX_CODE_CHARS)),
        }
    }
}

impl From<ChallengeType> for String {
    fn from(t: ChallengeType) -> Self {
        match t {
            ChallengeType::QuestionAndAnswer => "QuestionAndAnswer".into(),
            ChallengeType::MultipleChoice => "MultipleChoice".into(),
            ChallengeType::Unknown(s) => s,
        }
    }
}

/// One entry of `SecurityChallenges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityChallenge {
    /// `QuestionAndAnswer`, ...
    #[serde(rename = "Type")]
    pub kind: ChallengeType,
    /// The question; answers are keyed by this exact text.
    pub prompt: String,
    /// Options, for types that have them (Flinks calls them `Iterables`).
    #[serde(default, skip_serializing_if = "Vec::is_empty", alias = "Options")]
    pub iterables: Vec<String>,
}

impl SecurityChallenge {
    /// A free-text question.
    pub fn question(prompt: impl Into<String>) -> Self {
        SecurityChallenge {
            kind: ChallengeType::QuestionAndAnswer,
            prompt: prompt.into(),
            iterables: Vec::new(),
        }
    }
}

/// The body of `POST /Authorize`, as a server reads it. `SecurityResponses`
/// values are accepted as a string or an array of strings (real clients send
/// both). `Debug` never shows the password or the answers.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeRequest {
    /// Institution (live login).
    #[serde(default)]
    pub institution: Option<String>,
    /// Username (live login).
    #[serde(default)]
    pub username: Option<String>,
    /// Password (live login).
    #[serde(default)]
    pub password: Option<String>,
    /// A card's LoginId (cached mode, or a refresh).
    #[serde(default)]
    pub login_id: Option<String>,
    /// Cached data, no bank contact.
    #[serde(default)]
    pub most_recent_cached: Option<bool>,
    /// Keep the credentials.
    #[serde(default)]
    pub save: Option<bool>,
    /// `en` or `fr`.
    #[serde(default)]
    pub language: Option<String>,
    /// The host's correlation id.
    #[serde(default)]
    pub tag: Option<String>,
    /// The session being answered (MFA).
    #[serde(default)]
    pub request_id: Option<String>,
    /// MFA answers by exact prompt.
    #[serde(default, deserialize_with = "answers")]
    pub security_responses: BTreeMap<String, Vec<String>>,
}

impl fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("institution", &self.institution)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("login_id", &self.login_id)
            .field("request_id", &self.request_id)
            .field(
                "security_responses",
                &self.security_responses.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn answers<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let raw = Option::<BTreeMap<String, OneOrMany>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .map(|(k, v)| match v {
            OneOrMany::One(s) => (k, vec![s]),
            OneOrMany::Many(list) => (k, list),
        })
        .collect())
}

/// `200`: linked. `Login.Id` is the LoginId.
pub fn authorized(login_id: &str, request_id: &str, institution: &str, username: &str) -> Value {
    json!({
        "HttpStatusCode": 200,
        "Links": [
            { "rel": "AccountsDetail", "href": "/GetAccountsDetail" },
            { "rel": "AccountsSummary", "href": "/GetAccountsSummary" },
        ],
        "Login": {
            "Username": username,
            "IsScheduledRefresh": false,
            "Type": "Personal",
            "Id": login_id,
        },
        "Institution": institution,
        "InstitutionName": institution,
        "RequestId": request_id,
    })
}

/// `203`: answer these, with the same RequestId.
pub fn challenges(request_id: &str, institution: &str, list: &[SecurityChallenge]) -> Value {
    json!({
        "HttpStatusCode": 203,
        "Links": [{ "rel": "Authorization", "href": "/Authorize" }],
        "SecurityChallenges": list,
        "Institution": institution,
        "RequestId": request_id,
    })
}

/// The HTTP status Flinks answers `code` with (flinks.md §5).
pub fn status_of(code: &FlinksCode) -> u16 {
    match code {
        FlinksCode::SessionNonexistent | FlinksCode::CardInUse => 400,
        FlinksCode::AggregationError => 500,
        FlinksCode::OperationPending | FlinksCode::OperationDispatched => 202,
        _ => 401,
    }
}

/// A failure (or a `202`) with its `FlinksCode`: `(status, body)`.
pub fn failed(
    code: &FlinksCode,
    request_id: Option<&str>,
    institution: Option<&str>,
) -> (u16, Value) {
    let status = status_of(code);
    let mut body = json!({ "HttpStatusCode": status, "FlinksCode": code.as_str() });
    if let Some(obj) = body.as_object_mut() {
        if let Some(r) = request_id {
            obj.insert("RequestId".into(), r.into());
        }
        if let Some(i) = institution {
            obj.insert("Institution".into(), i.into());
        }
    }
    (status, body)
}

/// `POST /GenerateAuthorizeToken` answer. The key is unconfirmed (flinks.md
/// §1); the dialect reads `Token`, `token` or `AuthorizeToken`.
pub fn authorize_token(token: &str) -> Value {
    json!({ "HttpStatusCode": 200, "Token": token })
}

/// One account of `GetAccountsSummary` (flinks.md §6): `balance` in cents
/// becomes `Balance.Current` in dollars, as Flinks writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryAccount<'a> {
    /// Flinks' account id.
    pub id: &'a str,
    /// `Title`, e.g. "Chequing".
    pub title: &'a str,
    /// `AccountNumber`.
    pub number: &'a str,
    /// `Category`, e.g. `Operations`.
    pub category: &'a str,
    /// `Currency`, e.g. `CAD`.
    pub currency: &'a str,
    /// Current balance in cents.
    pub balance_cents: i64,
}

/// `GetAccountsSummary` (and `GetAccountsDetailAsync` once ready): the
/// card's accounts, its LoginId and the session's RequestId.
pub fn accounts_summary(
    request_id: &str,
    login_id: &str,
    institution: &str,
    accounts: &[SummaryAccount<'_>],
) -> Value {
    let accounts: Vec<Value> = accounts
        .iter()
        .map(|a| {
            json!({
                "Id": a.id,
                "Title": a.title,
                "AccountNumber": a.number,
                "Category": a.category,
                "Currency": a.currency,
                // Dollars with cents, as a JSON number.
                "Balance": { "Current": a.balance_cents as f64 / 100.0 },
            })
        })
        .collect();
    json!({
        "HttpStatusCode": 200,
        "Accounts": accounts,
        "Login": { "Id": login_id, "Type": "Personal", "IsScheduledRefresh": false },
        "Institution": institution,
        "RequestId": request_id,
    })
}

/// `DeleteCard` done.
pub fn card_deleted(login_id: &str) -> Value {
    json!({
        "StatusCode": 200,
        "Message": format!("All of the information about LoginId {login_id} has been removed"),
    })
}
