//! What the stub partner does with one request ([`Answer`]): a reply,
//! Mono-shaped or not, or a fault, optionally after a delay.

use crate::dialect::mono::wire;
use crate::flow::{Institution, SessionInfo, Step};
use std::time::Duration;

/// What the stub does with one request: a reply (Mono-shaped or not), or a
/// fault, optionally after a delay. Built with the constructors below.
///
/// ```
/// use connectflow::flow::Step;
/// use connectflow::testing::Answer;
/// use std::time::Duration;
///
/// let linked = Answer::step(&Step::code("code_9"));
/// let slow = Answer::step(&Step::code("code_9")).after(Duration::from_millis(300));
/// let down = Answer::status(503, "down");
/// let broken = Answer::garbage();
/// let gone = Answer::drop_connection();
/// # let _ = (linked, slow, down, broken, gone);
/// ```
#[derive(Debug, Clone)]
pub struct Answer {
    pub(super) delay: Duration,
    pub(super) kind: Kind,
}

/// What an answer does.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    Reply {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
        location: Option<String>,
    },
    Drop,
    Hang,
}

impl Answer {
    /// A login or commit outcome as Mono sends it ([`wire::step`]): `200`
    /// with `99`/`101`/`102`, or a rejection as `400` with Mono's failed
    /// envelope.
    pub fn step(step: &Step) -> Answer {
        let status = match step {
            Step::Rejected(_) => 400,
            _ => 200,
        };
        Answer::envelope(status, &wire::step(step))
    }

    /// `200` with an institution list ([`wire::institutions`]).
    pub fn institutions(list: &[Institution]) -> Answer {
        Answer::envelope(200, &wire::institutions(list))
    }

    /// `200` with a created session ([`wire::session`]).
    pub fn session(info: &SessionInfo) -> Answer {
        Answer::envelope(200, &wire::session(info))
    }

    /// `200` with an exchanged code's account id ([`wire::exchanged`]).
    pub fn exchanged(account_id: &str) -> Answer {
        Answer::json(200, &wire::exchanged(account_id))
    }

    /// `status` with a Mono envelope ([`wire::Envelope`]) as its body.
    pub fn envelope(status: u16, envelope: &wire::Envelope) -> Answer {
        Answer::reply(status, "application/json", envelope.to_bytes())
    }

    /// `status` with any JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Answer {
        Answer::reply(status, "application/json", body.to_string().into_bytes())
    }

    /// `status` with a plain-text body, e.g. `Answer::status(503, "down")`.
    pub fn status(status: u16, body: impl Into<Vec<u8>>) -> Answer {
        Answer::reply(status, "text/plain; charset=utf-8", body.into())
    }

    /// `200` with an HTML error page where JSON was expected, as a proxy in
    /// front of a partner sends when the partner is down.
    pub fn garbage() -> Answer {
        Answer::reply(
            200,
            "text/html; charset=utf-8",
            b"<html>upstream error</html>".to_vec(),
        )
    }

    /// Reads the request, then closes the connection without a byte of
    /// answer: the client cannot know whether the partner acted on it.
    pub fn drop_connection() -> Answer {
        Answer {
            delay: Duration::ZERO,
            kind: Kind::Drop,
        }
    }

    /// Reads the request and never answers (until the stub stops, when the
    /// connection is dropped): only the client's own timeout ends the wait.
    pub fn hang() -> Answer {
        Answer {
            delay: Duration::ZERO,
            kind: Kind::Hang,
        }
    }

    /// The same answer, given `delay` later (delays add up).
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = self.delay.saturating_add(delay);
        self
    }

    fn reply(status: u16, content_type: &'static str, body: Vec<u8>) -> Answer {
        Answer {
            delay: Duration::ZERO,
            kind: Kind::Reply {
                status,
                content_type,
                body,
                location: None,
            },
        }
    }

    /// `status` (a 3xx) sending the client to `location`: what a partner
    /// behind a misconfigured proxy, or an attacker on the path, answers.
    pub fn redirect(status: u16, location: impl Into<String>) -> Answer {
        let mut answer = Answer::reply(status, "text/plain; charset=utf-8", Vec::new());
        if let Kind::Reply { location: l, .. } = &mut answer.kind {
            *l = Some(location.into());
        }
        answer
    }
}
