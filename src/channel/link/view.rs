//! A flow's [`View`] as JSON for a front-end that knows nothing of the
//! partner: every type here is what `GET /link/v1/session` answers, and the
//! OpenAPI document is generated from them.
//!
//! What a front-end must never hold is left out: the partner's code (the
//! flow exchanges it server-side), the durable account id (the host gets it
//! for the public token), full account numbers (masked), and any typed
//! secret (a form's prefill carries only non-secret values).

use crate::flow::{
    Account, AuthMethodKind, Failure, FormPurpose, Institution, InstitutionRef, Notice, Timestamp,
    View, Working,
};
use crate::form::{Field, FieldKind};
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /link/v1/session`: where the flow is, and the sequence number the
/// next action must carry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionResponse {
    /// The sequence number of the next action.
    pub seq: u64,
    /// What to show.
    pub view: ViewJson,
}

/// What the person must see or answer right now.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ViewJson {
    /// A call to the bank is in flight: show `message` and ask again
    /// (`GET /link/v1/session`) or listen to the event stream.
    Working {
        /// `loading_institutions`, `creating_session`, `logging_in`,
        /// `committing`, `pending`, `exchanging`.
        stage: String,
        /// A sentence for the person.
        message: String,
        /// When to ask again, in milliseconds: when the flow's next
        /// deadline falls (a Flinks `202` poll, a bank-list retry), else
        /// a second while a bank call runs. A hint, between 250 and 5,000;
        /// the event stream moves the flow on its own too.
        retry_after_ms: u64,
    },
    /// Pick an institution (action `choose_institution`).
    ChooseInstitution {
        /// The institutions, in the partner's order.
        #[schema(value_type = Vec<InstitutionJson>)]
        institutions: InstitutionList,
        /// Why the person is back here.
        #[serde(skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// Fill in a form (action `submit`).
    Form(FormJson),
    /// Pick an account (action `choose_account` with its `index`).
    ChooseAccount {
        /// Where.
        institution: InstitutionRefJson,
        /// The accounts.
        accounts: Vec<AccountJson>,
        /// Why the list is shown again.
        #[serde(skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// The account is linked but finishing failed; action `retry` tries again.
    Linked {
        /// Why it is not finished.
        #[serde(skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// Linked. Hand `public_token` to your backend, which exchanges it at
    /// `POST /link/v1/exchange`.
    Done {
        /// Single-flow token the host backend exchanges for the account id.
        public_token: String,
        /// The flow's reference.
        reference: String,
        /// Where the account is.
        #[serde(skip_serializing_if = "Option::is_none")]
        institution: Option<InstitutionRefJson>,
        /// Where the host asked the person to be sent, if anywhere.
        #[serde(skip_serializing_if = "Option::is_none")]
        redirect_url: Option<String>,
    },
    /// Ended badly.
    Failed {
        /// A sentence for the person.
        reason: String,
        /// Whether starting a new link might work.
        retryable: bool,
    },
    /// The person left.
    Exited {
        /// Where they were (Mono `pageName`).
        page: String,
    },
}

/// The institution list, shared: it is the same for everyone, so it is
/// rendered once per catalogue and every answer points at it.
#[derive(Debug, Clone)]
pub struct InstitutionList(pub(crate) std::sync::Arc<Vec<InstitutionJson>>);

impl Serialize for InstitutionList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// An institution in the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstitutionJson {
    /// Id to send in `choose_institution`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Icon URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Brand colour.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_color: Option<String>,
    /// Ways to log in, the first being the default.
    pub auth_methods: Vec<AuthMethodJson>,
    /// `degraded` when most recent attempts there failed (timeouts, 5xx,
    /// "try later"): worth a note ("may be slow"); `down` when every recent
    /// attempt failed (for a couple of minutes): worth saying it is
    /// unavailable. Absent when healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// This customer linked an account here before (such banks come first,
    /// most recent first).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub linked_before: bool,
}

/// A way to log in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthMethodJson {
    /// `internet_banking`, `mobile_banking`, `manual`, `ussd`, or the
    /// partner's own name for it.
    #[serde(rename = "type")]
    pub kind: String,
    /// For a person.
    pub label: String,
}

/// An institution by id and name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstitutionRefJson {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A login or MFA form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FormJson {
    /// `credentials` (login) or `mfa`.
    pub purpose: String,
    /// Where.
    pub institution: InstitutionRefJson,
    /// How the person is logging in.
    pub auth_method: AuthMethodJson,
    /// Other ways to log in here (action `switch_auth_method`).
    pub other_auth_methods: Vec<AuthMethodJson>,
    /// Heading.
    pub title: String,
    /// The fields, in order. Submit every one by `name`.
    pub fields: Vec<FieldJson>,
    /// Why the form is shown again (a refused password, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// One input.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldJson {
    /// `input`, `captcha`, `choice`, or a type this server does not know,
    /// passed through as the partner sent it (render it as text input).
    #[serde(rename = "type")]
    pub kind: String,
    /// The key to submit the value under.
    pub name: String,
    /// Label.
    pub label: String,
    /// Mask the input (password, PIN, OTP).
    pub secret: bool,
    /// Most characters accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Exactly this many characters (captcha).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// The choices of a `choice` field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionJson>,
    /// A captcha's image, as a `data:` URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// A value to fill in again (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is wrong with the last value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One option of a `choice` field.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionJson {
    /// What to submit.
    pub value: String,
    /// What to show.
    pub label: String,
}

/// An account to pick.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountJson {
    /// Send this in `choose_account`.
    pub index: usize,
    /// Holder's name.
    pub name: String,
    /// The number with all but its last four digits masked.
    pub number: String,
    /// e.g. `SAVINGS_ACCOUNT`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// e.g. `NGN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// What a `done` view needs beyond the flow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DoneContext<'a> {
    /// The link token, from which the public token is derived (only for a
    /// `done` view: it costs an HMAC).
    pub(crate) token: &'a super::token::LinkToken,
    pub(crate) reference: &'a str,
    pub(crate) institution: Option<&'a InstitutionRef>,
    pub(crate) redirect_url: Option<&'a str>,
}

/// The institution list as JSON (cached per catalogue by the caller).
pub(crate) fn institutions(list: &[Institution]) -> Vec<InstitutionJson> {
    list.iter()
        .map(|i| InstitutionJson {
            id: i.id.clone(),
            name: i.name.clone(),
            icon: i.icon.clone(),
            primary_color: i.primary_color.clone(),
            auth_methods: i.auth_methods.iter().map(|m| method(&m.kind)).collect(),
            status: crate::service::marked(i).map(|s| s.name().to_owned()),
            linked_before: false,
        })
        .collect()
}

/// `shared` (the list everyone is shown) with the banks in `first` (this
/// customer's earlier links, most recent first) moved to the top and
/// marked; `shared` itself when there are none, so the cached rendering
/// serves everyone else.
pub(crate) fn linked_first(shared: InstitutionList, first: &[String]) -> InstitutionList {
    if first.is_empty() {
        return shared;
    }
    let rank = |id: &str| first.iter().position(|f| f == id);
    let mut list: Vec<InstitutionJson> = shared.0.iter().cloned().collect();
    list.sort_by_key(|i| rank(&i.id).unwrap_or(usize::MAX));
    for i in &mut list {
        i.linked_before = rank(&i.id).is_some();
    }
    InstitutionList(std::sync::Arc::new(list))
}

/// How soon a front-end is told to ask again when the flow has no
/// deadline to go by (a bank call runs).
pub(crate) const RETRY_AFTER_MS: u64 = 1000;

/// `retry_after_ms` for a flow whose next deadline is `deadline`, at `now`:
/// the time left, kept between 250 ms (not a busy loop) and 5 s (a front-end
/// that missed a change still hears of it soon).
pub(crate) fn retry_after(now: Timestamp, deadline: Option<Timestamp>) -> u64 {
    deadline.map_or(RETRY_AFTER_MS, |at| {
        at.0.saturating_sub(now.0).clamp(250, 5000)
    })
}

/// Renders `view`; the institution list comes from `institutions` (the
/// caller caches it, it is the same for everyone).
pub(crate) fn render(
    view: &View<'_>,
    institutions: impl FnOnce(&[Institution]) -> InstitutionList,
    done: DoneContext<'_>,
) -> ViewJson {
    match view {
        View::Working(w) => ViewJson::Working {
            stage: stage(*w).into(),
            message: w.message().into(),
            retry_after_ms: RETRY_AFTER_MS,
        },
        View::ChooseInstitution {
            institutions: list,
            notice,
        } => ViewJson::ChooseInstitution {
            institutions: institutions(list),
            notice: notice.map(Notice::message),
        },
        View::Form(f) => ViewJson::Form(FormJson {
            purpose: match f.purpose {
                FormPurpose::Credentials => "credentials",
                FormPurpose::Mfa => "mfa",
            }
            .into(),
            institution: inst_ref(f.institution),
            auth_method: method(f.auth_method),
            other_auth_methods: f.other_methods().map(method).collect(),
            title: f.form.title.clone(),
            fields: f
                .form
                .fields
                .iter()
                .map(|field| FieldJson {
                    error: f.error_for(&field.name).map(|e| e.message()),
                    value: (!field.is_secret())
                        .then(|| f.prefill_for(&field.name).map(str::to_owned))
                        .flatten(),
                    ..field_json(field)
                })
                .collect(),
            notice: f.notice.map(Notice::message),
        }),
        View::ChooseAccount {
            institution,
            accounts,
            notice,
        } => ViewJson::ChooseAccount {
            institution: inst_ref(institution),
            accounts: accounts.iter().enumerate().map(account).collect(),
            notice: notice.map(Notice::message),
        },
        View::Linked { notice } => ViewJson::Linked {
            notice: notice.map(Notice::message),
        },
        View::Done { .. } => ViewJson::Done {
            public_token: done.token.public_token().expose(),
            reference: done.reference.to_owned(),
            institution: done.institution.map(inst_ref),
            redirect_url: done.redirect_url.map(str::to_owned),
        },
        View::Failed { failure, retryable } => ViewJson::Failed {
            reason: Failure::message(failure),
            retryable: *retryable,
        },
        View::Exited { page } => ViewJson::Exited {
            page: serde_json::to_value(page)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        },
    }
}

fn stage(w: Working) -> &'static str {
    match w {
        Working::LoadingInstitutions | Working::RetryingInstitutions { .. } => {
            "loading_institutions"
        }
        Working::CreatingSession => "creating_session",
        Working::LoggingIn => "logging_in",
        Working::Committing => "committing",
        Working::Pending { .. } => "pending",
        Working::Exchanging => "exchanging",
    }
}

fn method(kind: &AuthMethodKind) -> AuthMethodJson {
    AuthMethodJson {
        kind: kind.as_str().to_owned(),
        label: kind.label().to_owned(),
    }
}

fn inst_ref(i: &InstitutionRef) -> InstitutionRefJson {
    InstitutionRefJson {
        id: i.id.clone(),
        name: i.name.clone(),
    }
}

fn field_json(field: &Field) -> FieldJson {
    let (kind, image) = match &field.kind {
        FieldKind::Input => ("input".to_owned(), None),
        FieldKind::Captcha => ("captcha".to_owned(), field.value.clone()),
        FieldKind::Choice => ("choice".to_owned(), None),
        FieldKind::Unknown(raw) => (raw.clone(), None),
    };
    FieldJson {
        kind,
        name: field.name.clone(),
        label: field.label().to_owned(),
        secret: field.is_secret(),
        max_length: field.max_length,
        length: field.length,
        options: field
            .options
            .iter()
            .map(|o| OptionJson {
                value: o.value.clone(),
                label: o.label.clone(),
            })
            .collect(),
        image,
        value: None,
        error: None,
    }
}

fn account((index, a): (usize, &Account)) -> AccountJson {
    AccountJson {
        index,
        name: a.name.clone(),
        number: a.masked_number(),
        kind: a.kind.clone(),
        currency: a.currency.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Form;

    #[test]
    fn unknown_field_types_pass_through_and_captcha_images_are_shown() {
        let form: Form = serde_json::from_str(
            r#"{"title":"Verify","form":[
              {"type":"elements.slider","name":"amount","hint":"Amount"},
              {"type":"elements.captcha_input","name":"captcha","hint":"Type the code","value":"data:image/png;base64,AAA","length":5},
              {"type":"elements.input","name":"pin","contentType":"password","maxLength":4}]}"#,
        )
        .unwrap();
        let fields: Vec<FieldJson> = form.fields.iter().map(field_json).collect();
        assert_eq!(fields[0].kind, "elements.slider");
        assert_eq!(fields[0].label, "Amount");
        assert_eq!(fields[1].kind, "captcha");
        assert_eq!(
            fields[1].image.as_deref(),
            Some("data:image/png;base64,AAA")
        );
        assert_eq!(fields[1].length, Some(5));
        assert!(fields[2].secret && fields[2].max_length == Some(4));
        // A field with no hint is labelled by its name.
        assert_eq!(fields[2].label, "pin");
    }
}
