//! The bank's "that request cannot be answered", as opposed to a person's
//! login being refused (a [`Step::Rejected`](crate::flow::Step::Rejected)).
//! Each front maps these to its partner's statuses and codes; the words a
//! person may read are written once, here.

/// Why the bank did not answer a request with a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BankError {
    /// No such session for this API key. A session made with another key is
    /// reported the same way, so existence never leaks across keys.
    #[error("Session not found")]
    SessionNotFound,
    /// The session outlived its time to live.
    #[error("Session expired")]
    SessionExpired,
    /// A second login on a session already past its login.
    #[error("Login already completed for this session")]
    AlreadyLoggedIn,
    /// The session already issued its link code.
    #[error("Session already completed")]
    AlreadyCompleted,
    /// A commit before any successful login.
    #[error("Login required before commit")]
    LoginRequired,
    /// The institution id is not in the bank's list.
    #[error("Institution not found")]
    UnknownInstitution,
    /// The institution does not offer this auth method.
    #[error("Auth method {method} is not supported by {institution}")]
    MethodNotSupported {
        /// The method as asked for.
        method: String,
        /// The institution's name.
        institution: String,
    },
    /// The key already has `limit` live (unexpired, unfinished) sessions.
    #[error("Too many open sessions for this key (limit {limit}): finish some or let them expire")]
    TooManySessions {
        /// The configured cap.
        limit: usize,
        /// When the first live session expires, in ms from now: the earliest
        /// a slot frees up without the client finishing one.
        retry_after_ms: u64,
    },
    /// The request does not fit the form the bank asked for.
    #[error("Invalid input{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    InvalidInput {
        /// What is wrong, when there is more to say.
        detail: Option<String>,
    },
    /// The institution cannot be reached (a scripted outage).
    #[error("{bank} is temporarily unavailable, please try again later")]
    InstitutionDown {
        /// The institution's name.
        bank: String,
    },
    /// An account id that is unknown, unlinked or another key's.
    #[error("Account not found")]
    AccountNotFound,
    /// A link code that is unknown, spent, expired or another key's.
    #[error("Invalid or expired code")]
    CodeInvalid,
}

impl BankError {
    /// [`BankError::InvalidInput`] with a detail.
    pub(crate) fn invalid(detail: impl Into<String>) -> BankError {
        BankError::InvalidInput {
            detail: Some(detail.into()),
        }
    }

    /// [`BankError::InvalidInput`] with nothing more to say: the keys of a
    /// commit do not match the form it answers. The expected names are not
    /// listed, as Mono does not list them.
    pub(crate) fn mismatch() -> BankError {
        BankError::InvalidInput { detail: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_the_sandbox_always_wrote_them() {
        assert_eq!(BankError::mismatch().to_string(), "Invalid input");
        assert_eq!(
            BankError::invalid("username is required").to_string(),
            "Invalid input: username is required"
        );
        assert_eq!(
            BankError::InstitutionDown {
                bank: "GTBank".into()
            }
            .to_string(),
            "GTBank is temporarily unavailable, please try again later"
        );
    }
}
