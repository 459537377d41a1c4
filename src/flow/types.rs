//! Partner-neutral data the flow works with: time, request ids, institutions,
//! auth methods, accounts, sessions.

use crate::form::{Extra, Form};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Wall-clock milliseconds since the Unix epoch.
///
/// Not `std::time::Instant`: a snapshot taken on one gateway instance must
/// restore on another, so deadlines have to mean the same thing everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `self + ms`, saturating.
    pub fn plus_ms(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Milliseconds from `self` until `later` (0 if `later` is not later).
    pub fn until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0)
    }
}

/// Matches a reply to the effect that asked for it. Unique within one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How a person proves they own the account at an institution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum AuthMethodKind {
    /// `internet_banking`: the internet-banking username and password.
    InternetBanking,
    /// `mobile_banking`: the mobile-app credentials.
    MobileBanking,
    /// `manual`: account number plus one identifier (BVN, date of birth, phone,
    /// email), for customers with neither internet nor mobile banking.
    Manual,
    /// `ussd`: account number plus the USSD PIN.
    Ussd,
    /// A method this crate does not know; kept as sent.
    Unknown(String),
}

impl AuthMethodKind {
    /// The wire name (`internet_banking`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            AuthMethodKind::InternetBanking => "internet_banking",
            AuthMethodKind::MobileBanking => "mobile_banking",
            AuthMethodKind::Manual => "manual",
            AuthMethodKind::Ussd => "ussd",
            AuthMethodKind::Unknown(s) => s,
        }
    }

    /// A label for a person ("Internet banking").
    pub fn label(&self) -> &str {
        match self {
            AuthMethodKind::InternetBanking => "Internet banking",
            AuthMethodKind::MobileBanking => "Mobile banking",
            AuthMethodKind::Manual => "Account number and ID",
            AuthMethodKind::Ussd => "USSD PIN",
            AuthMethodKind::Unknown(s) => s,
        }
    }
}

impl From<String> for AuthMethodKind {
    fn from(s: String) -> Self {
        match s.as_str() {
            "internet_banking" => AuthMethodKind::InternetBanking,
            "mobile_banking" => AuthMethodKind::MobileBanking,
            "manual" => AuthMethodKind::Manual,
            "ussd" => AuthMethodKind::Ussd,
            _ => AuthMethodKind::Unknown(s),
        }
    }
}

impl From<&str> for AuthMethodKind {
    fn from(s: &str) -> Self {
        AuthMethodKind::from(s.to_owned())
    }
}

impl From<AuthMethodKind> for String {
    fn from(k: AuthMethodKind) -> Self {
        match k {
            AuthMethodKind::Unknown(s) => s,
            other => other.as_str().to_owned(),
        }
    }
}

impl fmt::Display for AuthMethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One way to log in at an institution, with its form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthMethod {
    /// Which method.
    #[serde(rename = "type")]
    pub kind: AuthMethodKind,
    /// Display name, when the partner gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The login form for this method, when the catalogue carries one. The
    /// form from session creation takes precedence (captchas are per session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<Form>,
    /// Whether linking this way needs periodic re-authorisation.
    #[serde(default)]
    pub requires_reauth: bool,
    /// Keys this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AuthMethod {
    /// A method with a form.
    pub fn new(kind: AuthMethodKind, ui: Option<Form>) -> Self {
        AuthMethod {
            kind,
            name: None,
            ui,
            requires_reauth: false,
            extra: Extra::new(),
        }
    }
}

/// A bank (or other institution) a person can link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Institution {
    /// Partner id (Mono `_id`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// `PERSONAL_BANKING` or `BUSINESS_BANKING`, as sent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// e.g. `mono.connections.gtbank`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// CBN bank code (v1 `bank_code`, v3 `nip_code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    /// ISO country, lower case as Mono sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Brand colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// How long the institution may take to answer a login or commit (ms); the
    /// driver's timeout for those calls should be at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Institution-level form (v1); auth-method forms win when both exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<Form>,
    /// Ways to log in, in the partner's order.
    #[serde(default)]
    pub auth_methods: Vec<AuthMethod>,
    /// Keys this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Institution {
    /// An institution with the given methods.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        auth_methods: Vec<AuthMethod>,
    ) -> Self {
        Institution {
            id: id.into(),
            name: name.into(),
            kind: None,
            identifier: None,
            bank_code: None,
            country: None,
            icon: None,
            primary_color: None,
            timeout_ms: None,
            ui: None,
            auth_methods,
            extra: Extra::new(),
        }
    }

    /// The method of this kind.
    pub fn method(&self, kind: &AuthMethodKind) -> Option<&AuthMethod> {
        self.auth_methods.iter().find(|m| &m.kind == kind)
    }

    /// The method kinds, in order. An institution that lists none is taken to
    /// offer internet banking with its institution-level form (v1 catalogues).
    pub fn method_kinds(&self) -> Vec<AuthMethodKind> {
        if self.auth_methods.is_empty() {
            vec![AuthMethodKind::InternetBanking]
        } else {
            self.auth_methods.iter().map(|m| m.kind.clone()).collect()
        }
    }

    /// The catalogue's login form for `kind`: the method's, else the institution's.
    pub fn form_for(&self, kind: &AuthMethodKind) -> Option<&Form> {
        self.method(kind)
            .and_then(|m| m.ui.as_ref())
            .or(self.ui.as_ref())
    }

    /// `{id, name}`.
    pub fn to_ref(&self) -> InstitutionRef {
        InstitutionRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// An institution by id and name: what a flow keeps once one is chosen, so a
/// snapshot never copies the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionRef {
    /// Partner id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// Keys of an institution's `extra` that start with this are this crate's
/// own notes on a partner's list (the service's health mark,
/// `connectflow_health`), not the partner's data. The
/// [`fingerprint`](Catalogue::fingerprint) leaves them out.
pub(crate) const LOCAL_NOTE_PREFIX: &str = "connectflow_";

/// FNV-1a (64-bit) over `bytes`: stable across processes, builds and Rust
/// versions, unlike `DefaultHasher`, for what is compared between instances
/// or frozen into a stored format.
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn is_local_note(key: &str) -> bool {
    key.starts_with(LOCAL_NOTE_PREFIX)
}

/// The institution list, shared (behind an `Arc`) between every flow of a
/// process. A flow keeps only its [`fingerprint`](Catalogue::fingerprint) in a
/// snapshot and is handed the catalogue again on restore.
#[derive(Debug, Clone)]
pub struct Catalogue {
    institutions: Vec<Institution>,
    /// Computed on first use: only snapshots need it, and one catalogue is
    /// shared by every flow of a process, so it is paid once, not per flow.
    fingerprint: std::sync::OnceLock<u64>,
}

impl PartialEq for Catalogue {
    fn eq(&self, other: &Self) -> bool {
        self.institutions == other.institutions
    }
}

impl Catalogue {
    /// Builds a catalogue.
    pub fn new(institutions: Vec<Institution>) -> Self {
        Catalogue {
            institutions,
            fingerprint: std::sync::OnceLock::new(),
        }
    }

    /// Identifies the partner's list: every field of every institution, but
    /// not the notes this crate adds to it (keys of `extra` starting with
    /// `connectflow_`, such as the service's health mark). Those
    /// change with what one process has seen, not with the list, and a
    /// parked flow must not lose its catalogue because a bank's health did.
    pub fn fingerprint(&self) -> u64 {
        *self.fingerprint.get_or_init(|| {
            // Without notes the bytes are the list's own, as fingerprinted
            // by earlier builds: snapshots they stored still match. Filtered
            // (not `remove`d, which may reorder), so with notes the bytes are
            // exactly those of the same list without them.
            let noted = |i: &Institution| i.extra.keys().any(|k| is_local_note(k));
            let bytes = if self.institutions.iter().any(noted) {
                let bare: Vec<Institution> = self
                    .institutions
                    .iter()
                    .map(|i| Institution {
                        extra: i
                            .extra
                            .iter()
                            .filter(|(k, _)| !is_local_note(k))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                        ..i.clone()
                    })
                    .collect();
                serde_json::to_vec(&bare)
            } else {
                serde_json::to_vec(&self.institutions)
            }
            .unwrap_or_default();
            // Over the canonical JSON, with a hash stable across processes,
            // so a snapshot written by one gateway instance can be checked by
            // another.
            fnv1a(bytes)
        })
    }

    /// The institutions, in the partner's order.
    pub fn institutions(&self) -> &[Institution] {
        &self.institutions
    }

    /// The institution with this id.
    pub fn get(&self, id: &str) -> Option<&Institution> {
        self.institutions.iter().find(|i| i.id == id)
    }
}

/// One account a person may pick (Mono `101`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Account number (NUBAN in Nigeria). v2 commits send it back.
    pub number: String,
    /// Account holder's name.
    #[serde(default)]
    pub name: String,
    /// e.g. `SAVINGS_ACCOUNT`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// e.g. `NGN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// e.g. `active`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Balance in minor units (kobo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<i64>,
    /// Keys this crate does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Account {
    /// An account with a number and holder name.
    pub fn new(number: impl Into<String>, name: impl Into<String>) -> Self {
        Account {
            number: number.into(),
            name: name.into(),
            kind: None,
            currency: None,
            status: None,
            balance: None,
            extra: Extra::new(),
        }
    }

    /// `******3461`: what may be shown on a shared screen or logged.
    pub fn masked_number(&self) -> String {
        let n = self.number.chars().count();
        let tail: String = self.number.chars().skip(n.saturating_sub(4)).collect();
        format!("{}{}", "*".repeat(n.saturating_sub(4)), tail)
    }
}

/// A partner session, as created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Sent back as `x-session-id`.
    pub id: String,
    /// When the partner forgets the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The login form for this session; preferred over the catalogue's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Form>,
    /// The institution as the partner names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institution: Option<InstitutionRef>,
    /// What to carry into the session's first call (its login), as a step's
    /// continuation is carried into the next: opaque to the flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<super::reply::Continuation>,
}

impl SessionInfo {
    /// A session with this id and nothing else known: no expiry, the
    /// catalogue's login form.
    pub fn new(id: impl Into<String>) -> SessionInfo {
        SessionInfo {
            id: id.into(),
            expires_at: None,
            form: None,
            institution: None,
            continuation: None,
        }
    }
}
