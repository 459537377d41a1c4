//! Behaviour of the machine a person (or the bank they log in to) would
//! notice, driven through the public API only: what the host is asked to
//! send, and where the flow ends. This file holds the host the tests play
//! and what several topics share; the tests are in the files beside it.

mod leaving;
mod limits;
mod prefill;
mod reauthorisation;
mod saved_login;

use crate::flow::explore::demo_catalogue;
use crate::flow::*;
use crate::form::{Form, Values};
use std::sync::Arc;

const T0: Timestamp = Timestamp(1_700_000_000_000);

/// Plays the host: answers the call in flight and acts for the person.
struct Host {
    flow: ConnectFlow,
    now: Timestamp,
    /// Every call polled, in order.
    calls: Vec<Call>,
    pending: Option<RequestId>,
}

impl Host {
    fn new(config: FlowConfig) -> Host {
        let mut host = Host {
            flow: ConnectFlow::new(config, T0),
            now: T0,
            calls: Vec::new(),
            pending: None,
        };
        host.drain();
        host
    }

    /// Polls every effect (as a driver would, sending each).
    fn drain(&mut self) {
        while let Some(Effect::Call { id, call }) = self.flow.poll_effect() {
            self.calls.push(call);
            self.pending = Some(id);
        }
        while self.flow.poll_event().is_some() {}
    }

    fn reply(&mut self, result: Result<Reply, CallError>) {
        let id = self.pending.take().expect("a call in flight");
        self.flow
            .handle(self.now, Input::Api { id, result })
            .expect("the awaited reply is accepted");
        self.drain();
    }

    fn act(&mut self, action: UserAction) {
        self.flow
            .handle(self.now, Input::User(action))
            .expect("the action is allowed");
        self.drain();
    }

    fn choose_demo_bank(&mut self) {
        self.reply(Ok(Reply::Institutions(Arc::new(demo_catalogue()))));
        self.act(UserAction::ChooseInstitution {
            id: "demo-bank".into(),
            auth_method: None,
        });
    }

    fn session(&mut self, id: &str) {
        self.reply(Ok(Reply::SessionCreated(SessionInfo::new(id))));
    }

    fn log_in(&mut self) {
        self.act(UserAction::Submit(
            Values::new()
                .with("username", "ada")
                .with("password", "PW-hunter2"),
        ));
    }

    fn count(&self, kind: CallKind) -> usize {
        self.calls.iter().filter(|c| c.kind() == kind).count()
    }
}

fn otp() -> Form {
    Form::new(
        "Enter OTP",
        vec![crate::form::Field::input("otp", "OTP").max_length(6)],
    )
}

fn rejected(kind: RejectionKind, message: &str) -> Result<Reply, CallError> {
    Ok(Reply::Step(Step::Rejected(Rejection::new(kind, message))))
}
