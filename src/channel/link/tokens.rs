//! The host backend's two calls: make a link token for one person's flow,
//! and exchange the public token the flow ended with for the account id.
//!
//! The partner's code never leaves the server: the flow exchanges it for
//! the durable account id inside the turn that received it (claimed, so
//! exactly once, and within the code's ten minutes whatever the host does),
//! and the front-end is shown only a public token. `POST /link/v1/exchange`
//! hands the host what that server-side exchange produced, for the API key
//! and the public token together.

use super::error::ApiError;
use super::state::LinkState;
use super::token::{random_hex, session_key, LinkToken, PublicToken};
use super::view::InstitutionRefJson;
use super::LinkService;
use crate::flow::{PartnerCustomer, Preselect, View};
use crate::service::{Customer, Session};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// `POST /link/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Who is linking: `{"id"}` alone, a customer the partner knows (its
    /// id), or `{"name", "email"}` of a new one (with an `id` beside them,
    /// that id is yours: the records' customer id, not sent to the partner).
    pub customer: CustomerJson,
    /// Echoed on every event and the outcome; generated when absent.
    #[serde(default)]
    pub reference: Option<String>,
    /// Skip the list: start at this institution.
    #[serde(default)]
    pub institution: Option<String>,
    /// With `institution`: log in this way.
    #[serde(default)]
    pub auth_method: Option<String>,
    /// Re-authorise this linked account (its bank needs the person again,
    /// `REAUTHORISATION_REQUIRED`) instead of linking a new one; needs
    /// `institution`, the bank the account is at. The flow starts at that
    /// bank's re-authorisation and ends with the same account id.
    #[serde(default)]
    pub account: Option<String>,
    /// Where the reference page sends the person on success (`http(s)`).
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// Seconds the link token lives (default 1800).
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// A customer: by id, or by name and email.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerJson {
    /// Alone: the partner's id for a customer it knows (Mono's customer
    /// id). Beside a name and an email: your id for them, kept in the
    /// records only.
    #[serde(default)]
    pub id: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

/// A link token for one flow.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Give this to the front-end (`Authorization: Bearer`). It drives this
    /// one flow and nothing else.
    pub link_token: String,
    /// When it stops working, Unix milliseconds.
    pub expires_at: u64,
    /// The reference web page, ready to open.
    pub link_url: String,
    /// The flow's reference.
    pub reference: String,
}

/// `POST /link/v1/exchange`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// What the front-end was given on success.
    pub public_token: String,
}

/// The linked account.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeResponse {
    /// The partner's durable account id.
    pub account_id: String,
    /// Where.
    pub institution: Option<InstitutionRefJson>,
    /// The flow's reference.
    pub reference: String,
}

/// The most characters (not bytes) a text field of a token request holds.
const MAX_TEXT: usize = 256;

/// A token request's text field, refused when empty, longer than
/// [`MAX_TEXT`] characters or holding a control character.
///
/// Counted in characters, as the message says: a byte count refused a
/// 200-character Cyrillic name (two bytes a letter) while passing the same
/// name in Latin letters.
fn text(value: Option<String>, what: &str) -> Result<Option<String>, ApiError> {
    match value {
        Some(v)
            if v.trim().is_empty()
                || v.chars().count() > MAX_TEXT
                || v.chars().any(char::is_control) =>
        {
            Err(ApiError::BadRequest(format!(
                "{what} must be 1 to {MAX_TEXT} printable characters"
            )))
        }
        other => Ok(other),
    }
}

impl CustomerJson {
    /// The customer as the records know them, and as the partner's session
    /// names them: a new one by name and email when both are given (an id
    /// beside them is the host's, for the records), else a customer the
    /// partner knows, by the id given alone. A host's own id is never sent
    /// to the partner as the partner's: Mono would refuse the session.
    fn into_customer(self) -> Result<(Customer, PartnerCustomer), ApiError> {
        // Trimmed, so the partner and the records see the same values.
        let trimmed = |v: Option<String>| v.map(|v| v.trim().to_owned());
        let id = trimmed(text(self.id, "customer.id")?);
        let name = trimmed(text(self.name, "customer.name")?);
        let email = trimmed(text(self.email, "customer.email")?);
        let at_partner =
            PartnerCustomer::from_parts(id.as_deref(), name.as_deref(), email.as_deref())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "customer needs an id alone, or a name and an email (with an @)".into(),
                    )
                })?;
        // The records' id: the host's when given, else the new customer's
        // email.
        let id = match (id, &at_partner) {
            (Some(id), _) => id,
            (None, PartnerCustomer::New { email, .. }) => email.clone(),
            (None, PartnerCustomer::Known { id }) => id.clone(),
        };
        let customer = Customer {
            id,
            name,
            email,
            phone: None,
        };
        Ok((customer, at_partner))
    }
}

impl LinkService {
    /// Makes a link token in-process: what `POST /link/v1/tokens` does, for
    /// a host that runs the server inside its own program.
    pub async fn issue(&self, request: TokenRequest) -> Result<TokenResponse, super::ErrorDetail> {
        self.create_token(request).await.map_err(ApiError::detail)
    }

    /// `POST /link/v1/tokens`: a new session, not yet opened, and its token.
    pub(crate) async fn create_token(
        &self,
        request: TokenRequest,
    ) -> Result<TokenResponse, ApiError> {
        let (customer, partner_customer) = request.customer.into_customer()?;
        let reference = text(request.reference, "reference")?;
        let redirect_url = match text(request.redirect_url, "redirect_url")? {
            Some(url) => match reqwest::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u.to_string()),
                _ => {
                    return Err(ApiError::BadRequest(
                        "redirect_url must be an http(s) URL".into(),
                    ))
                }
            },
            None => None,
        };
        let ttl = match request.expires_in {
            None => self.config.token_ttl,
            Some(s) if (60..=self.config.max_token_ttl.as_secs()).contains(&s) => {
                Duration::from_secs(s)
            }
            Some(_) => {
                return Err(ApiError::BadRequest(format!(
                    "expires_in must be 60 to {} seconds",
                    self.config.max_token_ttl.as_secs()
                )))
            }
        };
        let preselect = match (
            text(request.institution, "institution")?,
            request.auth_method,
        ) {
            (Some(id), method) => Some(Preselect {
                id,
                auth_method: method.map(Into::into),
            }),
            (None, Some(_)) => {
                return Err(ApiError::BadRequest("auth_method needs institution".into()))
            }
            (None, None) => None,
        };
        let reauthorise = match (text(request.account, "account")?, &preselect) {
            (Some(account), Some(_)) => Some(account),
            (Some(_), None) => {
                return Err(ApiError::BadRequest(
                    "account needs institution: the bank the account is at".into(),
                ))
            }
            (None, _) => None,
        };
        // A returning customer's banks first (one records read per token).
        let first = self
            .service
            .linked_before(self.partner(), &customer.id)
            .await;
        let token = LinkToken::generate();
        let expires_at = self.service.now().plus_ms(ttl.as_millis() as u64);
        let state = LinkState {
            token_hash: token.hash(),
            public_hash: token.public_token().hash(),
            expires_at,
            seq: 0,
            last: None,
            salt: random_hex(1),
            events: Vec::new(),
            first_event: 0,
            redirect_url,
            opened: false,
            preselect,
            reauthorise,
            partner_customer: Some(partner_customer),
            first,
            screens: Vec::new(),
            first_screen: 0,
        };
        let (mut session, _) = self
            .service
            .start(self.partner(), reference, Some(customer), state)
            .map_err(super::turn::failed)?;
        // Every later save keeps it this long too, not just the session TTL.
        session.keep_until = Some(expires_at);
        self.store_new(&token, &session, ttl).await?;
        Ok(TokenResponse {
            link_url: self.link_url(&token),
            link_token: token.expose(),
            expires_at: expires_at.0,
            reference: session.reference,
        })
    }

    /// Writes a session that is not stored yet, to live `ttl` unless used.
    pub(crate) async fn store_new(
        &self,
        token: &LinkToken,
        session: &Session<LinkState>,
        ttl: Duration,
    ) -> Result<(), ApiError> {
        let bytes = session
            .to_bytes()
            .map_err(|e| super::turn::failed(e.into()))?;
        self.service
            .store()
            .compare_and_set(&session_key(&token.id), None, bytes, ttl)
            .await
            .map_err(|e| super::turn::failed(e.into()))?;
        Ok(())
    }

    /// The reference page for `token`.
    pub(crate) fn link_url(&self, token: &LinkToken) -> String {
        format!(
            "{}/link?token={}",
            self.config.public_url.trim_end_matches('/'),
            token.expose()
        )
    }

    /// `POST /link/v1/exchange`.
    pub(crate) async fn exchange(&self, public_token: &str) -> Result<ExchangeResponse, ApiError> {
        let public = PublicToken::parse(public_token).ok_or(ApiError::InvalidPublicToken)?;
        let loaded = match self
            .service
            .load::<LinkState>(&session_key(&public.id))
            .await
        {
            Ok(Some(l)) => l,
            Ok(None) => return Err(ApiError::InvalidPublicToken),
            Err(e) => {
                return Err(match super::turn::failed(e) {
                    ApiError::Unauthorized => ApiError::InvalidPublicToken,
                    other => other,
                })
            }
        };
        let session = loaded.session;
        if !public.matches(&session.channel.public_hash) {
            return Err(ApiError::InvalidPublicToken);
        }
        let flow = self
            .service
            .restore(&session)
            .await
            .map_err(super::turn::failed)?;
        let View::Done {
            account_id: Some(account_id),
            ..
        } = flow.view()
        else {
            return Err(ApiError::NotLinked);
        };
        Ok(ExchangeResponse {
            account_id: account_id.to_owned(),
            institution: session.institution.as_ref().map(|i| InstitutionRefJson {
                id: i.id.clone(),
                name: i.name.clone(),
            }),
            reference: session.reference.clone(),
        })
    }
}
