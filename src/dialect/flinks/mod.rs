//! Flinks' legacy Authorize API (`{base}/v3/{customerId}/BankingServices/`),
//! as described in `reference/flinks.md`.
//!
//! | flow call | Flinks |
//! |---|---|
//! | list institutions | answered locally: the institutions configured, each with a username/password form built here (Flinks has no `ui` catalogue) |
//! | create session | `POST /GenerateAuthorizeToken` with the secret key (a token valid 30 minutes), or answered locally for instances without tokens |
//! | re-authorise a card | the same token, then a login with no fields: `POST /Authorize` with `LoginId` and `MostRecentCached` (cached mode); without tokens, that `/Authorize` at once |
//! | login | `POST /Authorize` with `Institution`, `Username`, `Password`, `MostRecentCached`, `Save`, `Language`, `Tag` |
//! | commit | `POST /Authorize` with the step's `RequestId` and `SecurityResponses` keyed by the exact prompt |
//! | poll | `GET /GetAccountsDetailAsync/{RequestId}` |
//! | exchange code | never asked: a Flinks link gives the durable `LoginId` at once |
//!
//! What each reply and `FlinksCode` means is in `decode.rs` and `codes.rs`.
//! The `RequestId` rides from a reply into the next call as the flow's
//! [`Continuation`](crate::flow::Continuation).

mod card;
mod codes;
mod decode;
mod encode;
pub mod events;
pub mod wire;

pub use codes::FlinksCode;
pub use events::ConnectEvents;

use super::{Dialect, Encoded, HttpResponse};
use crate::flow::{
    AuthMethod, AuthMethodKind, Call, CallError, Catalogue, Institution, Reply, Timestamp,
};
use crate::form::{Field, Form, Secret};
use std::sync::Arc;

/// The customer id of Flinks' documented toolbox sandbox.
pub const TOOLBOX_CUSTOMER_ID: &str = "43387ca6-0391-4c82-857d-70d95f087ecb";
/// Flinks' test institution.
pub const FLINKS_CAPITAL: &str = "FlinksCapital";
/// How long an authorize token lives (flinks.md §1).
pub const TOKEN_LIFETIME_MS: u64 = 30 * 60 * 1000;
/// Wait between status polls of a `202` (flinks.md §6).
pub const POLL_INTERVAL_MS: u64 = 10_000;
/// Give up polling a `202` after this (flinks.md §6).
pub const POLL_DEADLINE_MS: u64 = 30 * 60 * 1000;

/// `Language`: which language Flinks (and this dialect's forms) speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
}

impl Language {
    /// `en` or `fr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
        }
    }
}

/// Everything the Flinks dialect needs besides the call. No `Serialize`: it
/// holds the secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlinksConfig {
    /// The instance's customer id (a GUID in the path).
    pub customer_id: String,
    /// The secret key for `GenerateAuthorizeToken`; `None` for older
    /// instances that authorize without a token.
    pub secret_key: Option<Secret>,
    /// The API key for the data endpoints (`x-api-key`), when configured.
    pub api_key: Option<Secret>,
    /// The institutions offered, as (Flinks name, display name).
    pub institutions: Vec<(String, String)>,
    /// The language of prompts and messages.
    pub language: Language,
    /// `Save`: keep the credentials for later refreshes.
    pub save: bool,
    /// `Tag`: the host's correlation id, echoed back by Flinks.
    pub tag: Option<String>,
    /// `MostRecentCached` when re-authorising a card by its LoginId: `true`
    /// (the default) answers from Flinks' cache without contacting the bank,
    /// as after Flinks Connect; `false` is a live refresh, which may ask the
    /// security questions again.
    pub most_recent_cached: bool,
    /// Wait between status polls of a `202`, in ms; [`POLL_INTERVAL_MS`]
    /// unless a test wants it shorter.
    pub poll_interval_ms: u64,
    /// Give up polling a `202` after this, in ms; [`POLL_DEADLINE_MS`].
    pub poll_deadline_ms: u64,
}

impl FlinksConfig {
    /// A config for `customer_id` offering Flinks Capital, English, with
    /// the secret key when given.
    pub fn new(customer_id: impl Into<String>, secret_key: Option<Secret>) -> Self {
        FlinksConfig {
            customer_id: customer_id.into(),
            secret_key,
            api_key: None,
            institutions: vec![(FLINKS_CAPITAL.into(), "Flinks Capital".into())],
            language: Language::En,
            save: true,
            tag: None,
            most_recent_cached: true,
            poll_interval_ms: POLL_INTERVAL_MS,
            poll_deadline_ms: POLL_DEADLINE_MS,
        }
    }

    /// Sets the API key the data endpoints take as `x-api-key` (builder
    /// style): the status poll of a background link and the accounts
    /// summary (flinks.md §1). Without it those calls go out with no key,
    /// and a real instance refuses them.
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the language (builder style).
    pub fn language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// Sets the institutions offered (builder style).
    pub fn institutions<I, N>(mut self, list: impl IntoIterator<Item = (I, N)>) -> Self
    where
        I: Into<String>,
        N: Into<String>,
    {
        self.institutions = list
            .into_iter()
            .map(|(i, n)| (i.into(), n.into()))
            .collect();
        self
    }
}

/// The Flinks dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flinks {
    /// How to speak to Flinks.
    pub config: FlinksConfig,
}

impl Flinks {
    /// A dialect for this config.
    pub fn new(config: FlinksConfig) -> Self {
        Flinks { config }
    }

    /// The username/password form of every Flinks institution.
    pub fn login_form(&self) -> Form {
        let fr = self.config.language == Language::Fr;
        Form::new(
            if fr { "Connexion" } else { "Log in" },
            vec![
                Field::input(
                    "username",
                    if fr { "Nom d'utilisateur" } else { "Username" },
                ),
                Field::password("password", if fr { "Mot de passe" } else { "Password" }),
            ],
        )
    }

    /// The configured institutions as a catalogue: one internet-banking
    /// method each, with [`login_form`](Self::login_form).
    pub fn catalogue(&self) -> Arc<Catalogue> {
        let form = self.login_form();
        let institutions = self
            .config
            .institutions
            .iter()
            .map(|(id, name)| {
                let method = AuthMethod::new(AuthMethodKind::InternetBanking, Some(form.clone()));
                let mut inst = Institution::new(id.clone(), name.clone(), vec![method]);
                inst.country = Some("ca".into());
                inst
            })
            .collect();
        Arc::new(Catalogue::new(institutions))
    }

    fn base(&self) -> String {
        format!("/v3/{}/BankingServices", self.config.customer_id)
    }
}

impl Dialect for Flinks {
    fn partner(&self) -> &'static str {
        "flinks"
    }

    fn encode(&self, call: &Call, now: Timestamp) -> Encoded {
        encode::encode(self, call, now)
    }

    fn decode(
        &self,
        call: &Call,
        response: &HttpResponse,
        now: Timestamp,
    ) -> Result<Reply, CallError> {
        decode::decode(self, call, response, now)
    }
}
