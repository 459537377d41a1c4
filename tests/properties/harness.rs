//! The host: a [`Harness`] that plays the partner (`replies`) and the person
//! (`person`) around a live flow, applies one [`StepSpec`] at a time and
//! hands back a [`Record`] (`record`) of what happened, for the rules to
//! judge.

use crate::ops::{Op, StepSpec};
use crate::partner::catalogue;
use crate::progress::progress_op;
use crate::record::*;
use connectflow::flow::*;
use std::collections::HashSet;
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);

pub(crate) struct Harness {
    pub(crate) flow: ConnectFlow,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) now: Timestamp,
    /// Every effect polled so far, in order.
    pub(crate) issued: Vec<(RequestId, Call)>,
    pub(crate) last_applied: Option<(RequestId, Result<Reply, CallError>)>,
    pub(crate) sessions: u32,
    pub(crate) marker_n: u32,
    /// Every secret marker the person typed.
    pub(crate) typed: Vec<String>,
    /// Effects polled so far.
    pub(crate) calls: u64,
    pub(crate) keep_pre_drain: bool,
    /// The partner only gives outcomes that keep the flow going round
    /// (transient errors, retryable rejections, more MFA), and the person
    /// never exits: only the config's limits can end the flow.
    pub(crate) hostile: bool,
    /// Session calls (create or re-authorise) the person started: made for
    /// their accepted choice of a bank or switch of method, or for the
    /// host's preselection as the list arrived. Not a restart or renewal.
    pub(crate) person_sessions: HashSet<RequestId>,
}

impl Harness {
    pub(crate) fn new(config: FlowConfig) -> Harness {
        let mut h = Harness {
            flow: ConnectFlow::new(config, T0),
            catalogue: catalogue(),
            now: T0,
            issued: Vec::new(),
            last_applied: None,
            sessions: 0,
            marker_n: 100,
            typed: Vec::new(),
            calls: 0,
            keep_pre_drain: false,
            hostile: false,
            person_sessions: HashSet::new(),
        };
        h.drain();
        h
    }

    pub(crate) fn drain(&mut self) -> (Vec<Effect>, Vec<Event>) {
        let mut effects = Vec::new();
        while let Some(effect) = self.flow.poll_effect() {
            let (id, call) = effect_parts(&effect);
            self.issued.push((id, call.clone()));
            self.calls += 1;
            effects.push(effect);
        }
        let mut events = Vec::new();
        while let Some(event) = self.flow.poll_event() {
            events.push(event);
        }
        (effects, events)
    }

    /// Snapshot -> JSON -> `from_json` -> restore with the catalogue; checks
    /// the JSON round trip is exact and the restored flow is the same value.
    pub(crate) fn restore(&mut self) {
        let snapshot = self.flow.snapshot();
        let bytes = snapshot.to_json();
        let back = Snapshot::from_json(&bytes).expect("from_json(to_json(s))");
        assert_eq!(back, snapshot, "from_json(to_json(s)) != s");
        let restored =
            ConnectFlow::restore(back, Some(Arc::clone(&self.catalogue))).expect("restore");
        assert_eq!(
            format!("{restored:?}"),
            format!("{:?}", self.flow),
            "restore gave a different flow"
        );
        self.flow = restored;
    }

    /// The call in flight, from the effects polled so far.
    pub(crate) fn pending(&self) -> Option<(RequestId, Call)> {
        let id = self.flow.waiting_for()?;
        let call = self
            .issued
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| panic!("the flow waits for {id}, which it never emitted"));
        Some((id, call))
    }

    pub(crate) fn max_issued(&self) -> u64 {
        self.issued.iter().map(|(id, _)| id.0).max().unwrap_or(0)
    }

    // ---- one step

    pub(crate) fn send(
        &mut self,
        id: RequestId,
        reply: Result<Reply, CallError>,
        duplicate: bool,
        before: &mut Option<String>,
    ) -> Did {
        let awaited = self.flow.waiting_for() == Some(id);
        if !awaited && before.is_none() {
            *before = Some(json(&self.flow));
        }
        let result = self.flow.handle(
            self.now,
            Input::Api {
                id,
                result: reply.clone(),
            },
        );
        if awaited && result.is_ok() {
            self.last_applied = Some((id, reply.clone()));
        }
        Did::Reply {
            id,
            awaited,
            duplicate,
            reply,
            result,
        }
    }

    pub(crate) fn fire(&mut self) -> Did {
        let fired = self.flow.poll_timeout().is_some_and(|t| t <= self.now);
        self.flow.handle_timeout(self.now);
        Did::Timer { fired }
    }

    pub(crate) fn step(&mut self, spec: &StepSpec) -> Record {
        let kind_before = self.flow.state();
        let waiting_before = self.flow.waiting_for();
        // The snapshot before the input, when the input must be a no-op: the
        // flow has ended, or (decided in `send`) a reply nobody awaits.
        let mut before = kind_before.is_terminal().then(|| json(&self.flow));
        let op = match &spec.op {
            Op::Act(c) => progress_op(self, *c).unwrap_or(Op::Act(0)),
            op => op.clone(),
        };
        let did = match &op {
            Op::Act(_) => Did::Nothing,
            op @ (Op::Choose { .. }
            | Op::SubmitValid
            | Op::SubmitInvalid(_)
            | Op::ChooseAccount(_)
            | Op::Switch(_)
            | Op::Back
            | Op::Retry
            | Op::Exit) => {
                let action = self.user_action(op);
                let kind = action.kind();
                let result = self.flow.handle(self.now, Input::User(action));
                Did::User {
                    action: kind,
                    result,
                }
            }
            Op::Answer(sel) => match self.pending() {
                Some((id, call)) => {
                    let reply = self.fitting(&call, *sel);
                    self.send(id, reply, false, &mut before)
                }
                None => Did::Nothing,
            },
            Op::WrongShape(sel) => match self.pending() {
                Some((id, call)) => {
                    let reply = self.wrong_shape(&call, *sel);
                    self.send(id, reply, false, &mut before)
                }
                None => Did::Nothing,
            },
            Op::Stale { pick, fitting } => {
                let old: Vec<(RequestId, Call)> = self
                    .issued
                    .iter()
                    .filter(|(id, _)| Some(*id) != waiting_before)
                    .cloned()
                    .collect();
                if old.is_empty() {
                    Did::Nothing
                } else {
                    let (id, old_call) = old[usize::from(*pick) % old.len()].clone();
                    let call = match self.pending() {
                        Some((_, current)) if *fitting => current,
                        _ => old_call,
                    };
                    let reply = self.fitting(&call, pick.wrapping_mul(7));
                    self.send(id, reply, false, &mut before)
                }
            }
            Op::Duplicate => match self.last_applied.clone() {
                Some((id, reply)) => self.send(id, reply, true, &mut before),
                None => Did::Nothing,
            },
            Op::NeverIssued(k) => {
                let id = match k % 3 {
                    0 => RequestId(0),
                    1 => RequestId(self.max_issued().max(self.flow_next_id()) + 1 + u64::from(*k)),
                    _ => RequestId(u64::MAX),
                };
                let reply = match self.pending() {
                    Some((_, call)) => self.fitting(&call, *k),
                    None => Ok(Reply::Institutions(Arc::clone(&self.catalogue))),
                };
                self.send(id, reply, false, &mut before)
            }
            Op::Timeout => {
                if let Some(deadline) = self.flow.poll_timeout() {
                    self.now = self.now.max(deadline);
                }
                self.fire()
            }
            Op::Advance { ms, fire } => {
                self.now = self.now.plus_ms(*ms);
                if *fire {
                    self.fire()
                } else {
                    Did::Nothing
                }
            }
            Op::Restore => {
                self.restore();
                Did::Restore
            }
        };
        let unchanged = before.map(|before| (before, json(&self.flow)));
        if spec.restore_mid {
            self.restore();
        }
        let pre_drain = self.keep_pre_drain.then(|| json(&self.flow));
        let (effects, events) = self.drain();
        let by_person = match &did {
            Did::User {
                action: ActionKind::ChooseInstitution | ActionKind::SwitchAuthMethod,
                result: Ok(()),
            } => true,
            did => matches!(did.accepted_reply(), Some(Ok(Reply::Institutions(_)))),
        };
        for effect in &effects {
            let (id, call) = effect_parts(effect);
            if by_person && matches!(call.kind(), CallKind::CreateSession | CallKind::Reauthorise) {
                self.person_sessions.insert(id);
            }
        }
        Record {
            kind_before,
            waiting_before,
            did,
            unchanged,
            pre_drain,
            effects,
            events,
        }
    }

    /// Whether `did` lets the flow send a login on its own: it is the reply
    /// to a session the person started ([`Self::person_sessions`]) whose
    /// login form asks nothing (a saved login), so this is that session's
    /// first and only automatic login.
    pub(crate) fn opens_a_saved_login(&self, did: &Did) -> bool {
        match did {
            Did::Reply {
                id,
                awaited: true,
                result: Ok(()),
                reply: Ok(Reply::SessionCreated(info)),
                ..
            } => {
                self.person_sessions.contains(id)
                    && info.form.as_ref().is_some_and(|f| f.fields.is_empty())
            }
            _ => false,
        }
    }

    /// An id the flow has not handed out yet: past every id in the snapshot.
    pub(crate) fn flow_next_id(&self) -> u64 {
        let v: serde_json::Value =
            serde_json::from_slice(&self.flow.snapshot().to_json()).expect("snapshot JSON");
        v["next_id"].as_u64().unwrap_or(0)
    }
}
