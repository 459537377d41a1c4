//! Flinks' `FlinksCode`s (flinks.md §5) and what each means for a flow: the
//! one place that decides it.
//!
//! | FlinksCode | flow |
//! |---|---|
//! | `INVALID_LOGIN`, `INVALID_USERNAME`, `INVALID_PASSWORD` | [`RejectionKind::Retry`]: enter the credentials again |
//! | `INVALID_SECURITY_RESPONSE`, `QUESTION_NOT_FOUND`, `UNKNOWN_CHALLENGE_KEY` | [`RejectionKind::RestartLogin`]: not retryable in the same session (`QUESTION_NOT_FOUND` to a card's cached login also [`needs_person`](crate::flow::Rejection::needs_person): it goes on live) |
//! | `SESSION_NONEXISTENT` | [`RejectionKind::SessionExpired`] |
//! | `RETRY_LATER`, `TOO_MANY_REQUESTS`, `AGGREGATION_ERROR`, `CARD_IN_USE` | [`RejectionKind::TryLater`] |
//! | `DISABLED_LOGIN`, `UNAUTHORIZED`, `NEW_ACCOUNT`, `INVALID_REQUEST` | [`RejectionKind::Final`] |
//! | a code this crate does not know | [`RejectionKind::Unrecognised`]: the flow ends, retryable, with the code on its event |
//! | `ACCESS_DENIED` | our API credentials: [`CallError::Unauthorized`](crate::flow::CallError::Unauthorized) |
//! | `OPERATION_PENDING`, `OPERATION_DISPATCHED` | [`Step::Pending`](crate::flow::Step::Pending), polled |

use super::Language;
use crate::dialect::text::{clip, MAX_CODE_CHARS};
use crate::flow::RejectionKind;
use std::fmt;

/// A `FlinksCode`. Codes this crate does not know are kept as sent, cut to
/// their first 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlinksCode {
    /// `SESSION_NONEXISTENT`: the RequestId expired or is unknown.
    SessionNonexistent,
    /// `CARD_IN_USE`: the card is still processing.
    CardInUse,
    /// `ACCESS_DENIED`: bad API credentials.
    AccessDenied,
    /// `INVALID_LOGIN`: bad LoginId, or bad username/password.
    InvalidLogin,
    /// `INVALID_USERNAME`.
    InvalidUsername,
    /// `INVALID_PASSWORD`.
    InvalidPassword,
    /// `INVALID_REQUEST`: malformed input.
    InvalidRequest,
    /// `INVALID_SECURITY_RESPONSE`: wrong MFA answer.
    InvalidSecurityResponse,
    /// `QUESTION_NOT_FOUND`: no stored answer for a prompt.
    QuestionNotFound,
    /// `UNKNOWN_CHALLENGE_KEY`: an answer keyed to the wrong prompt.
    UnknownChallengeKey,
    /// `RETRY_LATER`: the institution is unreachable.
    RetryLater,
    /// `TOO_MANY_REQUESTS`.
    TooManyRequests,
    /// `UNAUTHORIZED`: the institution refused access.
    Unauthorized,
    /// `NEW_ACCOUNT`: the person must act in online banking first.
    NewAccount,
    /// `DISABLED_LOGIN`: the login is disabled at the bank.
    DisabledLogin,
    /// `AGGREGATION_ERROR`: an unexpected processing error.
    AggregationError,
    /// `OPERATION_PENDING`: still running in the background.
    OperationPending,
    /// `OPERATION_DISPATCHED`: dispatched in the background.
    OperationDispatched,
    /// Any other code, as sent (at most 64 characters).
    Unknown(String),
}

const NAMES: [(&str, FlinksCode); 18] = [
    ("SESSION_NONEXISTENT", FlinksCode::SessionNonexistent),
    ("CARD_IN_USE", FlinksCode::CardInUse),
    ("ACCESS_DENIED", FlinksCode::AccessDenied),
    ("INVALID_LOGIN", FlinksCode::InvalidLogin),
    ("INVALID_USERNAME", FlinksCode::InvalidUsername),
    ("INVALID_PASSWORD", FlinksCode::InvalidPassword),
    ("INVALID_REQUEST", FlinksCode::InvalidRequest),
    (
        "INVALID_SECURITY_RESPONSE",
        FlinksCode::InvalidSecurityResponse,
    ),
    ("QUESTION_NOT_FOUND", FlinksCode::QuestionNotFound),
    ("UNKNOWN_CHALLENGE_KEY", FlinksCode::UnknownChallengeKey),
    ("RETRY_LATER", FlinksCode::RetryLater),
    ("TOO_MANY_REQUESTS", FlinksCode::TooManyRequests),
    ("UNAUTHORIZED", FlinksCode::Unauthorized),
    ("NEW_ACCOUNT", FlinksCode::NewAccount),
    ("DISABLED_LOGIN", FlinksCode::DisabledLogin),
    ("AGGREGATION_ERROR", FlinksCode::AggregationError),
    ("OPERATION_PENDING", FlinksCode::OperationPending),
    ("OPERATION_DISPATCHED", FlinksCode::OperationDispatched),
];

impl FlinksCode {
    /// The code as Flinks writes it.
    pub fn as_str(&self) -> &str {
        match self {
            FlinksCode::Unknown(s) => s,
            known => NAMES
                .iter()
                .find(|(_, c)| c == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// The code for `text` (exact, as Flinks sends it; unknown text is kept,
    /// cut to 64 characters).
    pub fn parse(text: &str) -> FlinksCode {
        NAMES.iter().find(|(name, _)| *name == text).map_or_else(
            // Cut because the code is copied into the refusal's message, its
            // code and its event, all stored with the session: a huge one
            // would make the session too big to save.
            || FlinksCode::Unknown(clip(text, MAX_CODE_CHARS).to_owned()),
            |(_, c)| c.clone(),
        )
    }

    /// True for the two "still working" codes of a `202`.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            FlinksCode::OperationPending | FlinksCode::OperationDispatched
        )
    }

    /// What a flow can do about this code (flinks.md §5, "client action").
    pub fn rejection_kind(&self) -> RejectionKind {
        match self {
            FlinksCode::InvalidLogin
            | FlinksCode::InvalidUsername
            | FlinksCode::InvalidPassword => RejectionKind::Retry,
            // "Not retryable in the same session": a new /Authorize, the
            // person answers again. A missing stored answer likewise needs a
            // live login the person can answer. An answer keyed to a prompt
            // Flinks no longer asks ("resend, keyed by the exact Prompt")
            // was keyed by the prompt Flinks sent: the conversation and the
            // form disagree, and the same form again would be refused the
            // same way, so fresh prompts come from a new /Authorize.
            FlinksCode::InvalidSecurityResponse
            | FlinksCode::QuestionNotFound
            | FlinksCode::UnknownChallengeKey => RejectionKind::RestartLogin,
            FlinksCode::SessionNonexistent => RejectionKind::SessionExpired,
            FlinksCode::RetryLater
            | FlinksCode::TooManyRequests
            | FlinksCode::AggregationError
            | FlinksCode::CardInUse
            | FlinksCode::OperationPending
            | FlinksCode::OperationDispatched => RejectionKind::TryLater,
            FlinksCode::AccessDenied
            | FlinksCode::InvalidRequest
            | FlinksCode::Unauthorized
            | FlinksCode::NewAccount
            | FlinksCode::DisabledLogin => RejectionKind::Final,
            FlinksCode::Unknown(_) => RejectionKind::Unrecognised,
        }
    }

    /// A sentence for the person, in `language`.
    pub fn message(&self, language: Language) -> String {
        let fr = language == Language::Fr;
        let (en, fr_text) = match self {
            FlinksCode::InvalidLogin => (
                "Your username or password is incorrect",
                "Votre nom d'utilisateur ou votre mot de passe est incorrect",
            ),
            FlinksCode::InvalidUsername => (
                "Your username is incorrect",
                "Votre nom d'utilisateur est incorrect",
            ),
            FlinksCode::InvalidPassword => (
                "Your password is incorrect",
                "Votre mot de passe est incorrect",
            ),
            FlinksCode::InvalidSecurityResponse => {
                ("That answer is incorrect", "Cette réponse est incorrecte")
            }
            FlinksCode::QuestionNotFound => (
                "Your bank needs you to answer its security questions",
                "Votre banque doit vous poser ses questions de sécurité",
            ),
            FlinksCode::SessionNonexistent => ("Your session expired", "Votre session a expiré"),
            FlinksCode::RetryLater | FlinksCode::AggregationError => (
                "Your bank cannot be reached right now, please try again later",
                "Votre banque est injoignable pour le moment, réessayez plus tard",
            ),
            FlinksCode::TooManyRequests => (
                "Too many attempts, please wait a moment",
                "Trop de tentatives, veuillez patienter",
            ),
            FlinksCode::CardInUse => (
                "This login is still being processed, please try again shortly",
                "Cette connexion est en cours de traitement, réessayez bientôt",
            ),
            FlinksCode::DisabledLogin => (
                "This login is disabled at your bank",
                "Cette connexion est désactivée par votre banque",
            ),
            FlinksCode::Unauthorized => (
                "Your bank refused access; please check your online banking",
                "Votre banque a refusé l'accès; vérifiez vos services en ligne",
            ),
            FlinksCode::NewAccount => (
                "Your bank needs you to act in your online banking first",
                "Votre banque vous demande d'agir d'abord dans vos services en ligne",
            ),
            FlinksCode::OperationPending | FlinksCode::OperationDispatched => (
                "Your bank is still working on it",
                "Votre banque traite encore la demande",
            ),
            FlinksCode::AccessDenied => (
                "This service is not set up correctly",
                "Ce service n'est pas configuré correctement",
            ),
            FlinksCode::InvalidRequest => (
                "Your bank could not read the request",
                "Votre banque n'a pas pu lire la demande",
            ),
            FlinksCode::UnknownChallengeKey => (
                "Your bank's security question changed: please log in again",
                "La question de sécurité de votre banque a changé : veuillez vous reconnecter",
            ),
            FlinksCode::Unknown(code) => {
                return if fr {
                    format!("Votre banque a refusé la demande ({code})")
                } else {
                    format!("Your bank refused the request ({code})")
                };
            }
        };
        if fr { fr_text } else { en }.to_owned()
    }
}

impl fmt::Display for FlinksCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips_and_unknown_ones_are_kept() {
        for (name, code) in NAMES {
            assert_eq!(FlinksCode::parse(name), code);
            assert_eq!(code.as_str(), name);
        }
        let odd = FlinksCode::parse("NEW_THING");
        assert_eq!(odd, FlinksCode::Unknown("NEW_THING".into()));
        assert_eq!(odd.as_str(), "NEW_THING");
        assert_eq!(odd.rejection_kind(), RejectionKind::Unrecognised);
        assert!(odd.message(Language::En).contains("NEW_THING"));
    }
}
