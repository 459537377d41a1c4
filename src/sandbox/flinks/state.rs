//! What the Flinks front keeps besides the bank, and what each Flinks call
//! does with it. No I/O and no clock: the handlers pass `now` and fresh
//! ids in, as they do to the bank.

use super::{capital, Reply};
use crate::dialect::flinks::wire::{self, SecurityChallenge, SummaryAccount};
use crate::dialect::flinks::{FlinksCode, TOKEN_LIFETIME_MS};
use crate::flow::{AuthMethodKind, Linked, Step};
use crate::form::Values;
use crate::sandbox::bank::{ids, reason, Bank, BankError, Reauthorised};
use axum::http::StatusCode;
use std::collections::HashMap;
use std::time::Duration;

/// The bank's tenant for the one customer id served.
const KEY: &str = crate::dialect::flinks::TOOLBOX_CUSTOMER_ID;
/// How long a card is still processing after its link: a `DeleteCard`
/// sooner is answered `CARD_IN_USE` (flinks.md §7), as Flinks does.
const CARD_BUSY_MS: u64 = 2_000;

/// An authorize token: single-use (flinks.md §1). The first `/Authorize`
/// it carries opens a conversation, and from then on it is good only for
/// that conversation's answers; the link spends it altogether.
#[derive(Debug)]
struct Token {
    expires_at: u64,
    /// Spent by the link it authorized.
    spent: bool,
    /// The conversation (RequestId) its first `/Authorize` opened; `Some`
    /// but unknown when that login was refused before one opened.
    used_by: Option<String>,
}

/// One `/Authorize` conversation, by RequestId (the bank's session id).
#[derive(Debug)]
struct Conversation {
    institution: String,
    username: String,
    french: bool,
    /// The prompt the last `203` showed: the key its answer must carry.
    asked: Option<String>,
    /// The card's LoginId once linked.
    linked: Option<String>,
    /// The token that opened it, spent when it links.
    token: Option<String>,
}

/// A linked login at an institution (flinks.md §4).
#[derive(Debug)]
struct Card {
    /// The bank's account id for the link.
    account: String,
    institution: String,
    username: String,
    french: bool,
}

/// The Flinks front's state. See the [module documentation](super).
pub(crate) struct FlinksState {
    bank: Bank,
    tokens: HashMap<String, Token>,
    conversations: HashMap<String, Conversation>,
    /// By LoginId: until when a card just linked is still being processed
    /// (`DeleteCard` then answers `CARD_IN_USE`, flinks.md §7).
    busy_until: HashMap<String, u64>,
    /// By LoginId.
    cards: HashMap<String, Card>,
    /// Cards deleted so far per login (institution, username, French).
    deleted: HashMap<(String, String, bool), u32>,
}

/// A credentials `/Authorize`, as read from the body.
#[derive(Debug)]
pub(super) struct Login<'a> {
    pub(super) institution: &'a str,
    pub(super) username: &'a str,
    pub(super) password: &'a str,
    pub(super) french: bool,
}

impl FlinksState {
    pub(super) fn new(bank: Bank) -> FlinksState {
        FlinksState {
            bank,
            tokens: HashMap::new(),
            conversations: HashMap::new(),
            cards: HashMap::new(),
            busy_until: HashMap::new(),
            deleted: HashMap::new(),
        }
    }

    /// Records a fresh token, live for 30 minutes; forgets dead ones.
    pub(super) fn add_token(&mut self, token: String, now: u64) {
        self.tokens.retain(|_, t| t.expires_at >= now && !t.spent);
        self.tokens.insert(
            token,
            Token {
                expires_at: now.saturating_add(TOKEN_LIFETIME_MS),
                spent: false,
                used_by: None,
            },
        );
    }

    /// No token (a legacy instance), or a live one not yet used, or used
    /// by the conversation `answering` (the RequestId an answer carries).
    /// A conversation opened with a token takes its answers only with that
    /// token (flinks.md §1: MFA answers reuse it): a client that dropped it
    /// from an answer would pass a sandbox that read it as a legacy call.
    pub(super) fn check_token(
        &self,
        token: Option<&str>,
        answering: Option<&str>,
        now: u64,
    ) -> Result<(), Reply> {
        let opened_with = answering
            .and_then(|rid| self.conversations.get(rid))
            .and_then(|c| c.token.as_deref());
        match token.map(|t| self.tokens.get(t)) {
            None if opened_with.is_some() => Err(Reply::code(FlinksCode::AccessDenied, None, None)),
            None => Ok(()),
            Some(Some(t))
                if t.expires_at >= now
                    && !t.spent
                    && (t.used_by.is_none() || t.used_by.as_deref() == answering) =>
            {
                Ok(())
            }
            Some(_) => Err(Reply::code(FlinksCode::AccessDenied, None, None)),
        }
    }

    /// `token`'s first `/Authorize`: from now on good only for the answers
    /// of `conversation` (a refused login opens none: the token is done).
    fn use_token(&mut self, token: Option<&str>, conversation: &str) {
        if let Some(t) = token.and_then(|t| self.tokens.get_mut(t)) {
            t.used_by = Some(conversation.to_owned());
        }
    }

    /// A live login with credentials: a new conversation at the bank. The
    /// duration is how long the front should wait before answering.
    pub(super) fn login(
        &mut self,
        token: Option<String>,
        login: &Login<'_>,
        now: u64,
    ) -> (Reply, Option<Duration>) {
        let institution = login.institution;
        let opened =
            self.bank
                .open_session(KEY, institution, &AuthMethodKind::InternetBanking, now);
        let sid = match opened {
            Ok(info) => info.id,
            Err(e) => {
                self.use_token(token.as_deref(), "");
                return (from_bank(&e, None, Some(institution)), None);
            }
        };
        // Used whatever the bank says: a refused login spends the token too.
        self.use_token(token.as_deref(), &sid);
        let values = Values::new()
            .with("username", login.username)
            .with("password", login.password);
        let answer = match self.bank.login(KEY, &sid, &values, now) {
            Ok(answer) => answer,
            Err(e) => return (from_bank(&e, Some(&sid), Some(institution)), None),
        };
        self.conversations.insert(
            sid.clone(),
            Conversation {
                institution: institution.to_owned(),
                username: login.username.to_owned(),
                french: login.french,
                asked: None,
                linked: None,
                token,
            },
        );
        (self.reply_to(&sid, answer.step, now), answer.delay)
    }

    /// Answers to the last question of conversation `request_id`, keyed by
    /// prompt.
    pub(super) fn answer(
        &mut self,
        request_id: &str,
        responses: &std::collections::BTreeMap<String, Vec<String>>,
        now: u64,
    ) -> Reply {
        let Some(conversation) = self.conversations.get(request_id) else {
            return Reply::code(FlinksCode::SessionNonexistent, Some(request_id), None);
        };
        let institution = conversation.institution.clone();
        if let Some(login_id) = &conversation.linked {
            // Answered after the link: the link again.
            return Reply::ok(wire::authorized(
                login_id,
                request_id,
                &institution,
                &conversation.username,
            ));
        }
        let asked = conversation.asked.as_deref().unwrap_or_default();
        let Some(answer) = responses.get(asked).and_then(|a| a.first()) else {
            let code = if responses.is_empty() {
                FlinksCode::InvalidRequest
            } else {
                FlinksCode::UnknownChallengeKey
            };
            return Reply::code(code, Some(request_id), Some(&institution));
        };
        let values = Values::new().with("answer", answer.as_str());
        match self.bank.commit(KEY, request_id, &values, None, now) {
            Ok(answer) => self.reply_to(request_id, answer.step, now),
            Err(e) => from_bank(&e, Some(request_id), Some(&institution)),
        }
    }

    /// `/Authorize` with a LoginId: from Flinks' cache at once, or a live
    /// refresh at the bank with the saved credentials.
    pub(super) fn card_login(
        &mut self,
        token: Option<String>,
        login_id: &str,
        cached: bool,
        request_id: String,
        now: u64,
    ) -> Reply {
        let Some(card) = self.cards.get(login_id) else {
            return Reply::code(FlinksCode::InvalidLogin, None, None);
        };
        let (institution, username, french) =
            (card.institution.clone(), card.username.clone(), card.french);
        if cached {
            // A card the bank would ask the person about again: its cache
            // holds the last refresh's error, with a usable RequestId
            // (flinks.md §3).
            let unanswered = self
                .bank
                .reauth_needs_person(KEY, &card.account)
                .unwrap_or(false);
            self.conversations.insert(
                request_id.clone(),
                Conversation {
                    institution: institution.clone(),
                    username: username.clone(),
                    french,
                    asked: None,
                    linked: Some(login_id.to_owned()),
                    token,
                },
            );
            if unanswered {
                return Reply::code(
                    FlinksCode::QuestionNotFound,
                    Some(&request_id),
                    Some(&institution),
                );
            }
            return Reply::ok(wire::authorized(
                login_id,
                &request_id,
                &institution,
                &username,
            ));
        }
        let account = card.account.clone();
        match self.bank.reauthorise(KEY, &account, now) {
            Ok(Reauthorised::Code(code)) => {
                self.conversations.insert(
                    request_id.clone(),
                    Conversation {
                        institution,
                        username,
                        french,
                        asked: None,
                        linked: None,
                        token,
                    },
                );
                self.reply_to(&request_id, Step::code(code), now)
            }
            // The bank wants the login: Flinks logs in with the credentials
            // it saved (`Save: true`), and the conversation goes on as a
            // live one.
            Ok(Reauthorised::Session(info)) => {
                let values = Values::new()
                    .with("username", username.as_str())
                    .with("password", capital::PASSWORD);
                let step = match self.bank.login(KEY, &info.id, &values, now) {
                    Ok(answer) => answer.step,
                    Err(e) => return from_bank(&e, Some(&info.id), Some(&institution)),
                };
                self.conversations.insert(
                    info.id.clone(),
                    Conversation {
                        institution,
                        username,
                        french,
                        asked: None,
                        linked: None,
                        token,
                    },
                );
                self.reply_to(&info.id, step, now)
            }
            Err(e) => from_bank(&e, None, Some(&institution)),
        }
    }

    /// `GetAccountsDetailAsync`: still working, or the accounts.
    pub(super) fn poll(&mut self, request_id: &str, now: u64) -> Reply {
        let Some(conversation) = self.conversations.get(request_id) else {
            return Reply::code(FlinksCode::SessionNonexistent, Some(request_id), None);
        };
        if conversation.linked.is_none() {
            let institution = conversation.institution.clone();
            let step = match self.bank.commit(KEY, request_id, &Values::new(), None, now) {
                Ok(answer) => answer.step,
                Err(e) => return from_bank(&e, Some(request_id), Some(&institution)),
            };
            let reply = self.reply_to(request_id, step, now);
            if reply.0 != StatusCode::OK {
                return reply;
            }
        }
        self.summary(request_id)
    }

    /// `GetAccountsSummary`: the accounts of a linked conversation's card.
    pub(super) fn summary(&self, request_id: &str) -> Reply {
        let Some(conversation) = self.conversations.get(request_id) else {
            return Reply::code(FlinksCode::SessionNonexistent, Some(request_id), None);
        };
        let institution = conversation.institution.as_str();
        let Some(login_id) = &conversation.linked else {
            return Reply::code(
                FlinksCode::OperationPending,
                Some(request_id),
                Some(institution),
            );
        };
        let card = self.cards.get(login_id);
        let view = card.and_then(|c| self.bank.account(KEY, &c.account));
        let (Some(card), Some(view)) = (card, view) else {
            // Deleted since: the conversation's card is gone.
            return Reply::code(
                FlinksCode::InvalidLogin,
                Some(request_id),
                Some(institution),
            );
        };
        let account = SummaryAccount {
            id: &card.account,
            title: "Chequing",
            number: &view.account.number,
            category: "Operations",
            currency: "CAD",
            balance_cents: view.account.balance.unwrap_or(0),
        };
        Reply::ok(wire::accounts_summary(
            request_id,
            login_id,
            institution,
            &[account],
        ))
    }

    /// `DeleteCard`: the card and its link go; the login's next link gets a
    /// new LoginId. Right after its link the card is still in use.
    pub(super) fn delete_card(&mut self, login_id: &str, now: u64) -> Reply {
        if self
            .busy_until
            .get(login_id)
            .is_some_and(|&until| now < until)
        {
            return Reply::code(FlinksCode::CardInUse, None, None);
        }
        self.busy_until.remove(login_id);
        let Some(card) = self.cards.remove(login_id) else {
            return Reply::code(FlinksCode::InvalidLogin, None, None);
        };
        self.bank.unlink(KEY, &card.account);
        *self
            .deleted
            .entry((card.institution, card.username, card.french))
            .or_default() += 1;
        self.conversations
            .retain(|_, c| c.linked.as_deref() != Some(login_id));
        tracing::info!(%login_id, "sandbox: card deleted");
        Reply::ok(wire::card_deleted(login_id))
    }

    /// What the bank's step is on Flinks' wire, updating the conversation.
    fn reply_to(&mut self, request_id: &str, step: Step, now: u64) -> Reply {
        let Some(conversation) = self.conversations.get_mut(request_id) else {
            return Reply::code(FlinksCode::SessionNonexistent, Some(request_id), None);
        };
        let institution = conversation.institution.clone();
        match step {
            Step::Done(Linked::Code(code)) => {
                let account = match self.bank.exchange(KEY, &code, now) {
                    Ok(account) => account,
                    Err(e) => return from_bank(&e, Some(request_id), Some(&institution)),
                };
                let username = conversation.username.clone();
                let french = conversation.french;
                if let Some(token) = conversation.token.as_deref() {
                    if let Some(t) = self.tokens.get_mut(token) {
                        t.spent = true;
                    }
                }
                let login_id = self.card_for(&institution, &username, french, account);
                self.busy_until
                    .insert(login_id.clone(), now.saturating_add(CARD_BUSY_MS));
                if let Some(c) = self.conversations.get_mut(request_id) {
                    c.linked = Some(login_id.clone());
                    c.asked = None;
                }
                tracing::info!(%login_id, "sandbox: card linked");
                Reply::ok(wire::authorized(
                    &login_id,
                    request_id,
                    &institution,
                    &username,
                ))
            }
            Step::NeedsInput { form, .. } => {
                let english = form.fields.first().map_or("", |f| f.hint.as_str());
                let shown = capital::prompt(english, conversation.french).to_owned();
                conversation.asked = Some(shown.clone());
                Reply::with_status(
                    203,
                    wire::challenges(
                        request_id,
                        &institution,
                        &[SecurityChallenge::question(shown)],
                    ),
                )
            }
            Step::Pending { .. } => Reply::code(
                FlinksCode::OperationDispatched,
                Some(request_id),
                Some(&institution),
            ),
            Step::Rejected(rejection) => {
                let code = match rejection.code.as_deref() {
                    Some(reason::WRONG_CREDENTIALS) => FlinksCode::InvalidLogin,
                    // Not retryable in the same session (flinks.md §5): the
                    // conversation ends here.
                    Some(reason::WRONG_ANSWER | reason::WRONG_OTP) => {
                        self.conversations.remove(request_id);
                        FlinksCode::InvalidSecurityResponse
                    }
                    Some(reason::LOCKED) | Some("disabled") => FlinksCode::DisabledLogin,
                    _ => FlinksCode::InvalidRequest,
                };
                Reply::code(code, Some(request_id), Some(&institution))
            }
            // Flinks links a login, not an account: Flinks Capital never
            // asks, and another bank's list would be an aggregation error.
            _ => Reply::code(
                FlinksCode::AggregationError,
                Some(request_id),
                Some(&institution),
            ),
        }
    }

    /// The LoginId of this login's card, made on its first link (or its
    /// first after a `DeleteCard`).
    fn card_for(
        &mut self,
        institution: &str,
        username: &str,
        french: bool,
        account: String,
    ) -> String {
        let existing = self
            .cards
            .iter()
            .find(|(_, c)| {
                c.institution == institution && c.username == username && c.french == french
            })
            .map(|(id, _)| id.clone());
        if let Some(id) = existing {
            return id;
        }
        let generation = self
            .deleted
            .get(&(institution.to_owned(), username.to_owned(), french))
            .copied()
            .unwrap_or(0);
        let language = if french { "fr" } else { "en" };
        let id = ids::login_id(institution, username, language, generation);
        self.cards.insert(
            id.clone(),
            Card {
                account,
                institution: institution.to_owned(),
                username: username.to_owned(),
                french,
            },
        );
        id
    }
}

/// The bank's errors as FlinksCodes.
fn from_bank(e: &BankError, request_id: Option<&str>, institution: Option<&str>) -> Reply {
    let code = match e {
        BankError::InstitutionDown { .. } => FlinksCode::RetryLater,
        BankError::TooManySessions { .. } => FlinksCode::TooManyRequests,
        BankError::SessionNotFound | BankError::SessionExpired => FlinksCode::SessionNonexistent,
        BankError::AlreadyCompleted | BankError::AlreadyLoggedIn => FlinksCode::CardInUse,
        BankError::AccountNotFound => FlinksCode::InvalidLogin,
        _ => FlinksCode::InvalidRequest,
    };
    Reply::code(code, request_id, institution)
}
