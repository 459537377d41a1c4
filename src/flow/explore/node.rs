//! One explored flow and the scripted partner that answers it.

use super::letters::{Letter, ReplyLetter, Vocabulary};
use super::{sample_values, T0};
use crate::flow::config::FlowConfig;
use crate::flow::input::{Input, UserAction};
use crate::flow::machine::{ConnectFlow, Counters};
use crate::flow::notice::Notice;
use crate::flow::reply::{CallError, Rejection, RejectionKind, Reply, Step};
use crate::flow::state::StateKind;
use crate::flow::types::{Account, Catalogue, SessionInfo, Timestamp};
use crate::flow::view::View;
use crate::flow::FlowError;
use crate::flow::{Call, Effect, Event, RequestId, Snapshot};
use crate::form::{Field, Form, Values};
use std::sync::Arc;

/// A flow plus what the explorer needs to drive it.
pub(super) struct Node {
    pub(super) flow: ConnectFlow,
    pub(super) now: Timestamp,
    /// The call in flight, drained from the flow.
    pending: Option<Call>,
    pub(super) calls: u64,
    sessions: u64,
    /// What the scripted partner answers a list call with.
    pub(super) catalogue: Arc<Catalogue>,
    /// What the last step made the flow do (not carried by a clone).
    pub(super) last: Observed,
    /// The last step's input was refused by the flow.
    pub(super) refused: bool,
    /// The newest request id issued, and the one before it: a stale reply
    /// comes under whichever the flow no longer waits for.
    newest_id: Option<RequestId>,
    older_id: Option<RequestId>,
    /// What the rules remember of the run so far.
    pub(super) history: History,
}

/// What one step made the flow do: the calls it asked for and the events it
/// emitted, in order. A [`Double`](super::Double) may change it before the
/// rules judge it.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Calls, with their request ids.
    pub calls: Vec<(RequestId, Call)>,
    /// Events.
    pub events: Vec<Event>,
}

/// What the rules remember of a run.
#[derive(Debug, Clone, Default)]
pub(super) struct History {
    /// The highest request id seen.
    pub(super) max_id: u64,
    /// `Success` events seen.
    pub(super) successes: u32,
    /// The code, once one came.
    pub(super) code: Option<String>,
    /// Secret values already sent in a login or commit.
    pub(super) sent: Arc<Vec<String>>,
}

impl Clone for Node {
    fn clone(&self) -> Node {
        Node {
            flow: self.flow.clone(),
            now: self.now,
            pending: self.pending.clone(),
            calls: self.calls,
            sessions: self.sessions,
            catalogue: Arc::clone(&self.catalogue),
            last: Observed::default(),
            refused: false,
            newest_id: self.newest_id,
            older_id: self.older_id,
            history: self.history.clone(),
        }
    }
}

/// What the explorer types into an unlimited secret field.
pub(super) const SECRET_TYPED: &str = "s3cret-typed";

/// What the person types into a secret field: a value no other part of a
/// flow holds, so a snapshot carrying it is found (rule 6). Nines when the
/// field is limited, like a PIN or an OTP (the rest get ones or sevens).
fn secret_marker(field: &Field) -> String {
    match (field.length, field.max_length) {
        (Some(n), _) => "9".repeat(n.min(super::LONGEST_TYPED) as usize),
        (None, Some(max)) => "9".repeat((max as usize).min(6)),
        (None, None) => SECRET_TYPED.to_owned(),
    }
}

/// [`sample_values`] with a [`secret_marker`] in every secret field.
fn typed_values(form: &Form) -> Values {
    let mut values = sample_values(form);
    for field in form.fields.iter().filter(|f| f.is_secret()) {
        if field.kind != crate::form::FieldKind::Choice {
            values.insert(field.name.clone(), secret_marker(field));
        }
    }
    values
}

impl Node {
    pub(super) fn new(config: FlowConfig, catalogue: Arc<Catalogue>) -> Node {
        let mut node = Node {
            flow: ConnectFlow::new(config, T0),
            now: T0,
            pending: None,
            calls: 0,
            sessions: 0,
            catalogue,
            last: Observed::default(),
            refused: false,
            newest_id: None,
            older_id: None,
            history: History::default(),
        };
        node.drain();
        node
    }

    /// A request id the flow no longer waits for, if it issued one.
    pub(super) fn stale_id(&self) -> Option<RequestId> {
        let waiting = self.flow.waiting_for();
        [self.newest_id, self.older_id]
            .into_iter()
            .flatten()
            .find(|id| Some(*id) != waiting)
    }

    /// The same node, its flow through snapshot → JSON → restore.
    pub(super) fn restored(&self) -> Result<Node, String> {
        let json = self.flow.snapshot().to_json();
        let snapshot = Snapshot::from_json(&json).map_err(|e| e.to_string())?;
        let flow = ConnectFlow::restore(snapshot, Some(Arc::clone(&self.catalogue)))
            .map_err(|e| e.to_string())?;
        let mut node = self.clone();
        node.flow = flow;
        Ok(node)
    }

    /// What makes two explored flows the same node. Status polls are
    /// counted as "none or some": each poll is otherwise a new node, and the
    /// flow behaves the same after the first as after the hundredth.
    pub(super) fn key(&self) -> (StateKind, Counters, bool) {
        let notice = matches!(
            self.flow.view(),
            View::ChooseInstitution {
                notice: Some(_),
                ..
            }
        ) || matches!(&self.flow.view(), View::Form(f) if matches!(f.notice, Some(Notice::SessionRenewed)));
        let mut counters = self.flow.counters.clone();
        counters.polls = counters.polls.min(1);
        (self.flow.state(), counters, notice)
    }

    fn drain(&mut self) {
        while let Some(Effect::Call { id, call }) = self.flow.poll_effect() {
            self.calls += 1;
            self.older_id = self.newest_id;
            self.newest_id = Some(id);
            self.last.calls.push((id, call.clone()));
            self.pending = Some(call);
        }
        while let Some(event) = self.flow.poll_event() {
            self.last.events.push(event);
        }
    }

    pub(super) fn alphabet(&self, catalogue: &Catalogue, vocabulary: &Vocabulary) -> Vec<Letter> {
        let mut letters = Vec::new();
        match self.flow.view() {
            View::ChooseInstitution { .. } => {
                for inst in catalogue.institutions() {
                    for method in inst.method_kinds() {
                        letters.push(Letter::Choose {
                            id: inst.id.clone(),
                            method,
                        });
                    }
                }
            }
            View::Form(form) => {
                letters.push(Letter::SubmitValid);
                letters.push(Letter::SubmitInvalid);
                letters.extend(form.other_methods().cloned().map(Letter::Switch));
            }
            View::ChooseAccount { .. } => letters.push(Letter::ChooseAccount),
            View::Linked { .. } => letters.push(Letter::Retry),
            _ => {}
        }
        letters.extend([Letter::Back, Letter::Exit, Letter::Timeout]);
        if self.flow.waiting_for().is_some() {
            letters.extend(vocabulary.replies().iter().copied().map(Letter::Reply));
        }
        letters
    }

    /// Applies `letter`; `None` when the flow refuses it or it does not apply.
    pub(super) fn step(&self, letter: &Letter) -> Option<Node> {
        let mut next = self.clone();
        let input = match letter {
            Letter::Choose { id, method } => UserAction::ChooseInstitution {
                id: id.clone(),
                auth_method: Some(method.clone()),
            },
            Letter::SubmitValid => match self.flow.view() {
                View::Form(f) => UserAction::Submit(typed_values(f.form)),
                _ => UserAction::Submit(Values::new()),
            },
            Letter::SubmitInvalid => UserAction::Submit(Values::new()),
            Letter::ChooseAccount => UserAction::ChooseAccount(0),
            Letter::Switch(m) => UserAction::SwitchAuthMethod(m.clone()),
            Letter::Back => UserAction::Back,
            Letter::Retry => UserAction::Retry,
            Letter::Exit => UserAction::Exit,
            Letter::Timeout => {
                let deadline = self.flow.poll_timeout()?;
                next.now = deadline.max(next.now);
                next.flow.handle_timeout(next.now);
                next.drain();
                return Some(next);
            }
            Letter::Stale => {
                let id = self.stale_id()?;
                let late = Ok(Reply::Step(Step::code("code_stale")));
                next.refused = next
                    .flow
                    .handle(next.now, Input::Api { id, result: late })
                    .is_err();
                next.drain();
                return Some(next);
            }
            Letter::Reply(r) => {
                let id = self.flow.waiting_for()?;
                let result = next.reply(*r)?;
                next.flow.handle(next.now, Input::Api { id, result }).ok()?;
                next.drain();
                return Some(next);
            }
        };
        // Invalid values are recorded for the view but change no state; an
        // edge that changes nothing would only add noise to the graph.
        match next.flow.handle(next.now, Input::User(input)) {
            Ok(()) => {
                next.drain();
                Some(next)
            }
            Err(FlowError::InvalidValues(_)) if self.flow.state() != StateKind::Failed => {
                next.refused = true;
                next.drain();
                Some(next)
            }
            Err(_) => None,
        }
    }

    /// A scripted partner: the reply `letter` stands for, when it fits the call.
    pub(super) fn reply(&mut self, letter: ReplyLetter) -> Option<Result<Reply, CallError>> {
        let call = self.pending.as_ref()?;
        // A re-authorisation's opening call may settle the login itself
        // (Flinks' cached `/Authorize`): it takes a step as well as a session.
        let step_call = matches!(
            call,
            Call::Login { .. } | Call::Commit { .. } | Call::Poll { .. } | Call::Reauthorise { .. }
        );
        Some(match letter {
            ReplyLetter::Institutions if matches!(call, Call::ListInstitutions) => {
                Ok(Reply::Institutions(Arc::clone(&self.catalogue)))
            }
            ReplyLetter::Session
                if matches!(call, Call::CreateSession { .. } | Call::Reauthorise { .. }) =>
            {
                self.sessions += 1;
                Ok(Reply::SessionCreated(SessionInfo {
                    continuation: None,
                    id: format!("session-{}", self.sessions),
                    expires_at: Some(self.now.plus_ms(5 * 60 * 1000)),
                    form: None,
                    institution: None,
                }))
            }
            ReplyLetter::Code if step_call => Ok(Reply::Step(Step::code("code_1"))),
            ReplyLetter::AccountId if step_call => Ok(Reply::Step(Step::account("login_1"))),
            ReplyLetter::Mfa if step_call => Ok(Reply::Step(Step::needs_input(Form::new(
                "Enter OTP",
                vec![Field::input("otp", "OTP").max_length(6)],
            )))),
            ReplyLetter::Accounts if step_call => Ok(Reply::Step(Step::choose_account(vec![
                Account::new("0131883461", "ADA OBI"),
                Account::new("0131883462", "ADA OBI"),
            ]))),
            ReplyLetter::Pending if step_call => Ok(Reply::Step(Step::Pending {
                poll_after_ms: 10_000,
                give_up_after_ms: 30 * 60 * 1000,
                continuation: None,
            })),
            ReplyLetter::RejectRetry if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::retry("Invalid credentials"),
            ))),
            ReplyLetter::RestartLogin if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::new(RejectionKind::RestartLogin, "Wrong answer"),
            ))),
            ReplyLetter::NeedsPerson if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::new(RejectionKind::RestartLogin, "Your bank has questions")
                    .needing_person(),
            ))),
            ReplyLetter::TryLater if step_call => Ok(Reply::Step(Step::Rejected(Rejection::new(
                RejectionKind::TryLater,
                "Institution unreachable",
            )))),
            ReplyLetter::RejectFinal if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::terminal("Account locked"),
            ))),
            ReplyLetter::SessionExpired if step_call => Ok(Reply::Step(Step::Rejected(
                Rejection::new(RejectionKind::SessionExpired, "Session expired"),
            ))),
            ReplyLetter::Exchanged if matches!(call, Call::ExchangeCode { .. }) => {
                Ok(Reply::Exchanged {
                    account_id: "acc_1".into(),
                })
            }
            ReplyLetter::Timeout => Err(CallError::Timeout),
            ReplyLetter::Unauthorized => Err(CallError::Unauthorized("invalid key".into())),
            ReplyLetter::Malformed => Err(CallError::Malformed("not JSON".into())),
            ReplyLetter::BadRequest => Err(CallError::Http {
                status: 400,
                message: "Bad request".into(),
            }),
            _ => return None,
        })
    }
}
