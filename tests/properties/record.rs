//! What one step did, as the rules read it: the [`Did`] and the [`Record`]
//! a step hands back, and the two readings of a flow's output they are made
//! of (an effect's id and call, a snapshot's JSON).

use connectflow::flow::*;

/// What one step did.
#[derive(Debug)]
pub(crate) enum Did {
    User {
        action: ActionKind,
        result: Result<(), FlowError>,
    },
    Reply {
        id: RequestId,
        /// The flow was waiting for exactly this id.
        awaited: bool,
        duplicate: bool,
        reply: Result<Reply, CallError>,
        result: Result<(), FlowError>,
    },
    Timer {
        /// A deadline was due when `handle_timeout` was called.
        fired: bool,
    },
    Restore,
    Nothing,
}

impl Did {
    pub(crate) fn error(&self) -> Option<&FlowError> {
        match self {
            Did::User { result: Err(e), .. } | Did::Reply { result: Err(e), .. } => Some(e),
            _ => None,
        }
    }

    pub(crate) fn accepted_reply(&self) -> Option<&Result<Reply, CallError>> {
        match self {
            Did::Reply {
                awaited: true,
                result: Ok(()),
                reply,
                ..
            } => Some(reply),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) kind_before: StateKind,
    pub(crate) waiting_before: Option<RequestId>,
    pub(crate) did: Did,
    /// Snapshot JSON before and right after the input, taken when the input
    /// must change nothing (the flow had ended, or a reply nobody awaits).
    pub(crate) unchanged: Option<(String, String)>,
    /// Snapshot JSON after the input, before its effects were polled (only
    /// when the harness is asked to keep it).
    pub(crate) pre_drain: Option<String>,
    pub(crate) effects: Vec<Effect>,
    pub(crate) events: Vec<Event>,
}

pub(crate) fn effect_parts(effect: &Effect) -> (RequestId, &Call) {
    let Effect::Call { id, call } = effect else {
        panic!("unknown effect {effect:?}")
    };
    (*id, call)
}

pub(crate) fn json(flow: &ConnectFlow) -> String {
    String::from_utf8(flow.snapshot().to_json()).expect("snapshot JSON is UTF-8")
}
