//! [`Event`]: what happened, named as partners' widgets name it.

use super::types::{AuthMethodKind, InstitutionRef, Timestamp};
use serde::{Deserialize, Serialize};

/// Something that happened, for analytics and host apps. Carries the flow's
/// `reference` and the time it happened. Never carries a typed secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The flow's reference, when the host set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// When.
    pub timestamp: Timestamp,
}

impl Event {
    /// The event as one JSON object: Mono's public name in `type`, its data
    /// fields, `timestamp` and `reference`. What `connectflow link --json`
    /// prints and the link API streams.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.kind)
            .unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()));
        if let Some(map) = value.as_object_mut() {
            map.insert("timestamp".into(), self.timestamp.0.into());
            if let Some(r) = &self.reference {
                map.insert("reference".into(), r.clone().into());
            }
        }
        value
    }
}

/// The events of Mono's Connect widget (public names), so dashboards built for
/// the widget keep working.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "SCREAMING_SNAKE_CASE",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum EventKind {
    /// The flow started.
    Opened,
    /// An institution was chosen.
    InstitutionSelected {
        /// Which.
        institution: InstitutionRef,
        /// How the person will log in.
        auth_method: AuthMethodKind,
    },
    /// The person chose another way to log in.
    AuthMethodSwitched {
        /// Before.
        prev_auth_method: AuthMethodKind,
        /// After.
        auth_method: AuthMethodKind,
    },
    /// Credentials were sent.
    SubmitCredentials,
    /// An MFA answer was sent.
    SubmitMfa {
        /// `OTP`, `QUESTION`, `CAPTCHA`, `SELECTION` (see [`mfa_type`](super::mfa_type)).
        mfa_type: String,
    },
    /// An account was picked.
    AccountSelected {
        /// Always 1 today.
        selected_accounts_count: u32,
    },
    /// The partner linked the account.
    AccountLinked {
        /// Which institution.
        institution: InstitutionRef,
    },
    /// Something went wrong (a rejection, an unreachable partner, an expiry).
    Error {
        /// Machine-readable kind.
        error_type: ErrorType,
        /// For a person.
        error_message: String,
        /// The partner's machine code for it, when it sent one (a
        /// `FlinksCode`; Mono sends none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
    },
    /// The person left.
    Exit {
        /// Where they were.
        page_name: PageName,
    },
    /// The short-lived code arrived (Mono `onSuccess({code})`); emitted at
    /// most once per flow.
    Success {
        /// The code, when the partner links through one. Not a typed secret,
        /// but short-lived and single-use.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
}

impl EventKind {
    /// Mono's public event name (`SUBMIT_MFA`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Opened => "OPENED",
            EventKind::InstitutionSelected { .. } => "INSTITUTION_SELECTED",
            EventKind::AuthMethodSwitched { .. } => "AUTH_METHOD_SWITCHED",
            EventKind::SubmitCredentials => "SUBMIT_CREDENTIALS",
            EventKind::SubmitMfa { .. } => "SUBMIT_MFA",
            EventKind::AccountSelected { .. } => "ACCOUNT_SELECTED",
            EventKind::AccountLinked { .. } => "ACCOUNT_LINKED",
            EventKind::Error { .. } => "ERROR",
            EventKind::Exit { .. } => "EXIT",
            EventKind::Success { .. } => "SUCCESS",
        }
    }

    /// Mono's raw widget message type (`mono.connect.login_attempt`, ...),
    /// including the `error_occured` spelling dashboards filter on.
    pub fn mono_raw_type(&self) -> &'static str {
        match self {
            EventKind::Opened => "mono.connect.widget_opened",
            EventKind::InstitutionSelected { .. } => "mono.connect.institution_selected",
            EventKind::AuthMethodSwitched { .. } => "mono.connect.auth_method_switched",
            EventKind::SubmitCredentials => "mono.connect.login_attempt",
            EventKind::SubmitMfa { .. } => "mono.connect.mfa_submitted",
            EventKind::AccountSelected { .. } => "mono.connect.account_selected",
            EventKind::AccountLinked { .. } => "mono.connect.account_linked",
            EventKind::Error { .. } => "mono.connect.error_occured",
            EventKind::Exit { .. } => "mono.connect.on_exit",
            EventKind::Success { .. } => "mono.connect.widget.account_linked",
        }
    }
}

/// `errorType` of an [`EventKind::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorType {
    /// Login refused; the person may try again.
    LoginRejected,
    /// MFA answer or account pick refused; the person may try again.
    MfaRejected,
    /// The partner refused for good (locked, disabled).
    Rejected,
    /// The partner answered with an outcome this crate does not know.
    Unrecognised,
    /// Too many refused attempts.
    TooManyAttempts,
    /// The partner could not be reached or failed.
    PartnerUnavailable,
    /// The session expired.
    SessionExpired,
    /// The code expired before it was exchanged.
    CodeExpired,
    /// Our credentials with the partner were refused.
    Unauthorized,
    /// The partner's reply made no sense.
    Protocol,
    /// More MFA rounds than configured.
    TooManyRounds,
    /// The chosen institution is not in the catalogue.
    UnknownInstitution,
}

/// Where a person was when they left (Mono `pageName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PageName {
    /// Waiting for a partner call.
    Loading,
    /// The institution list.
    InstitutionList,
    /// The login form.
    Login,
    /// An MFA form.
    #[serde(rename = "MFA")]
    Mfa,
    /// The account list.
    AccountSelection,
    /// Linked, exchange pending or failed.
    Linked,
}
