//! Recording a flow's partner conversation as a transcript: versioned JSON
//! Lines, one [`Entry`] per line, every secret replaced by a placeholder
//! before the line is written.
//!
//! The recorder hooks in at the [`Driver`](super::Driver)
//! ([`Driver::with_recorder`](super::Driver::with_recorder)), so every
//! channel that drives a flow records the same way. A transcript replays
//! with `connectflow replay` or `connectflow::testing::ReplayPartner`.
//!
//! ```text
//! {"type":"header","version":2,"partner":"mono"}
//! {"type":"state","state":"LoadingInstitutions"}
//! {"type":"exchange","seq":1,"call":"list_institutions","method":"GET","path":"/v3/institutions?scope=auth",...}
//! {"type":"event","name":"OPENED"}
//! {"type":"input","at":1764921600123}
//! ```

use super::scrub::Scrubber;
use crate::dialect::{HeaderValue, HttpRequest, HttpResponse};
use crate::flow::{Call, CallError, Event, StateKind, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The transcript format this crate writes (and the newest it reads).
/// 2 added [`Entry::Input`] lines, which a reader of 1 would refuse line by
/// line; version 1 files read as before (no input times: a replay of one
/// hands the person's actions over at the last reply's time).
pub const TRANSCRIPT_VERSION: u32 = 2;

/// Request headers worth keeping: the rest are transport noise or keys.
const REQUEST_HEADERS: &[&str] = &["content-type", "accept", "x-session-id"];
/// Response headers a dialect reads.
const RESPONSE_HEADERS: &[&str] = &["content-type", "retry-after", "location"];

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Entry {
    /// The first line: format version and partner.
    Header {
        /// [`TRANSCRIPT_VERSION`] when written.
        version: u32,
        /// `mono` or `flinks`.
        partner: String,
    },
    /// One request to the partner and what came back.
    Exchange(Box<Exchange>),
    /// The flow entered a state.
    State {
        /// [`StateKind::name`].
        state: String,
    },
    /// The host handed the flow one of the person's actions, at `at` (the
    /// flow's time, ms since the Unix epoch; [`Driver::input_time`]): a
    /// replay hands the same action over at the same time.
    ///
    /// [`Driver::input_time`]: super::Driver::input_time
    Input {
        /// When.
        at: u64,
    },
    /// The flow emitted an event.
    Event {
        /// Mono's public event name (`SUBMIT_MFA`, ...).
        name: String,
    },
}

/// One recorded partner exchange, secrets replaced by placeholders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// 1, 2, ... within the transcript.
    pub seq: u64,
    /// The flow call it made (`login`, ...), or `request` outside a flow.
    pub call: String,
    /// Flow time (ms since the epoch) when it was sent: a replay's clock.
    pub at: u64,
    /// `GET`, `POST`, `DELETE`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The allow-listed request headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_headers: BTreeMap<String, String>,
    /// The request body: JSON when it was JSON, else a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Value>,
    /// The response status; `None` when no response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why no response came (timeout, connection failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The allow-listed response headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, String>,
    /// The response body: JSON when it was JSON, else a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Value>,
    /// How long the partner took.
    pub ms: u64,
}

/// A transcript that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The file could not be read.
    #[error("could not read the transcript: {0}")]
    Io(#[from] io::Error),
    /// A line is not a transcript entry.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Written by a newer connectflow.
    #[error("transcript version {0} is newer than this connectflow reads ({TRANSCRIPT_VERSION})")]
    Version(u32),
}

/// A whole transcript, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// `mono` or `flinks`.
    pub partner: String,
    /// Every line after the header, in order.
    pub entries: Vec<Entry>,
}

impl Transcript {
    /// Reads a transcript file.
    pub fn load(path: &Path) -> Result<Transcript, TranscriptError> {
        let file = std::fs::File::open(path)?;
        Transcript::read(io::BufReader::new(file))
    }

    /// Reads a transcript from JSON Lines.
    pub fn read(reader: impl BufRead) -> Result<Transcript, TranscriptError> {
        let mut partner = None;
        let mut entries = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(&line).map_err(|e| TranscriptError::Line {
                line: i + 1,
                message: e.to_string(),
            })?;
            match entry {
                Entry::Header {
                    version,
                    partner: p,
                } => {
                    if version > TRANSCRIPT_VERSION {
                        return Err(TranscriptError::Version(version));
                    }
                    partner = Some(p);
                }
                other if partner.is_none() => {
                    let _ = other;
                    return Err(TranscriptError::Line {
                        line: i + 1,
                        message: "the first entry must be the header".into(),
                    });
                }
                other => entries.push(other),
            }
        }
        Ok(Transcript {
            partner: partner.ok_or(TranscriptError::Line {
                line: 1,
                message: "empty transcript".into(),
            })?,
            entries,
        })
    }

    /// The recorded exchanges, in order.
    pub fn exchanges(&self) -> impl Iterator<Item = &Exchange> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Exchange(x) => Some(&**x),
            _ => None,
        })
    }

    /// The states the flow went through, in order.
    pub fn states(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::State { state } => Some(state.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The events the flow emitted, in order.
    pub fn events(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Event { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Writes one flow's transcript. Shared by a [`Driver`](super::Driver)
/// (`Arc<Recorder>`); a failed write is kept and reported by
/// [`finish`](Recorder::finish), never by failing the flow.
pub struct Recorder {
    inner: Mutex<Inner>,
}

struct Inner {
    out: Box<dyn Write + Send>,
    scrubber: Scrubber,
    seq: u64,
    last_state: Option<StateKind>,
    error: Option<io::Error>,
    /// Whether the file's header allows [`Entry::Input`] lines (format 2
    /// on): a file continued under a format-1 header gets none, which a
    /// reader of 1 would refuse.
    inputs: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Creates (truncates) `path` and writes the header.
    pub fn create(path: &Path, partner: &str) -> io::Result<Recorder> {
        let file = std::fs::File::create(path)?;
        Ok(Recorder::to_writer(io::BufWriter::new(file), partner))
    }

    /// Records into any writer (a test's buffer).
    pub fn to_writer(out: impl Write + Send + 'static, partner: &str) -> Recorder {
        let recorder = Recorder::bare(Box::new(out), Scrubber::default(), 0, true);
        recorder.write(&Entry::Header {
            version: TRANSCRIPT_VERSION,
            partner: partner.to_owned(),
        });
        recorder
    }

    /// Appends to `path`: a new file gets the header; an existing one is
    /// continued — exchange numbers and placeholder numbers carry on from
    /// the file's last, so a turn of the flow recorded by another process
    /// (or after a restart) never gives a new secret an old placeholder.
    /// The same value may get a new placeholder in the new part; a replay
    /// binds each placeholder on first use, so the file still replays.
    pub fn append(path: &Path, partner: &str) -> io::Result<Recorder> {
        let existing = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        if existing.trim().is_empty() {
            return Ok(Recorder::to_writer(file, partner));
        }
        let seq = existing
            .lines()
            .filter(|l| l.contains("\"type\":\"exchange\""))
            .count();
        let scrubber = Scrubber::continuing(super::scrub::highest_placeholder(&existing));
        let version = existing
            .lines()
            .next()
            .and_then(|first| serde_json::from_str::<Entry>(first).ok());
        let inputs = matches!(version, Some(Entry::Header { version, .. }) if version >= 2);
        Ok(Recorder::bare(
            Box::new(file),
            scrubber,
            u64::try_from(seq).unwrap_or(u64::MAX),
            inputs,
        ))
    }

    fn bare(out: Box<dyn Write + Send>, scrubber: Scrubber, seq: u64, inputs: bool) -> Recorder {
        Recorder {
            inner: Mutex::new(Inner {
                out,
                scrubber,
                seq,
                last_state: None,
                error: None,
                inputs,
            }),
        }
    }

    /// Flushes; the first write error since creation, if any.
    pub fn finish(&self) -> io::Result<()> {
        let mut inner = self.lock();
        if let Some(e) = inner.error.take() {
            return Err(e);
        }
        inner.out.flush()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, entry: &Entry) {
        let mut inner = self.lock();
        write_entry(&mut inner, entry);
    }

    /// The flow is in `state` (written only when it changed).
    pub(crate) fn state(&self, state: StateKind) {
        let mut inner = self.lock();
        if inner.last_state == Some(state) {
            return;
        }
        inner.last_state = Some(state);
        write_entry(
            &mut inner,
            &Entry::State {
                state: state.name().to_owned(),
            },
        );
    }

    /// The host handed the flow one of the person's actions at `at`.
    pub(crate) fn input(&self, at: Timestamp) {
        let mut inner = self.lock();
        if inner.inputs {
            write_entry(&mut inner, &Entry::Input { at: at.0 });
        }
    }

    /// The flow emitted `event` (its name only: messages can quote input).
    pub(crate) fn event(&self, event: &Event) {
        self.write(&Entry::Event {
            name: event.kind.name().to_owned(),
        });
    }

    /// One partner exchange; every secret in it is scrubbed first.
    pub(crate) fn exchange(
        &self,
        call: Option<&Call>,
        request: &HttpRequest,
        response: &Result<HttpResponse, CallError>,
        at: Timestamp,
        elapsed: Duration,
    ) {
        let mut inner = self.lock();
        let s = &mut inner.scrubber;
        // Secrets the flow itself holds: what the person typed, the ids
        // the partner issued earlier and the flow now sends back.
        if let Some(call) = call {
            learn_call(s, call);
        }
        for (name, value) in &request.headers {
            if let HeaderValue::Secret(v) = value {
                s.secret("key", v.expose());
            } else if name.eq_ignore_ascii_case("x-session-id") {
                s.secret("session", value.expose());
            }
        }
        // The institution list is public: its ids and names are the banks'
        // and stay readable. Any other reply is not, `GET` or not: Flinks'
        // status poll is a `GET` whose reply carries the durable LoginId and
        // the holder's name. A request made outside a flow (no call) is
        // read as before: public when it is a `GET`.
        let public_reply = match call {
            Some(call) => call.kind() == crate::flow::CallKind::ListInstitutions,
            None => request.method == crate::dialect::Method::Get,
        };
        let request_body = request.body.as_deref().map(body_value);
        if let Some(body) = &request_body {
            s.learn(body, false);
        }
        let (status, error, response_headers, response_body) = match response {
            Ok(r) => {
                let body = (!r.body.is_empty()).then(|| body_value(&r.body));
                if let Some(body) = &body {
                    s.learn(body, public_reply);
                }
                let headers = r
                    .headers
                    .iter()
                    .filter(|(k, _)| RESPONSE_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(k)))
                    .map(|(k, v)| (k.to_ascii_lowercase(), s.text(v)))
                    .collect();
                (Some(r.status), None, headers, body.map(|b| s.json(&b)))
            }
            Err(e) => (None, Some(s.text(&e.to_string())), BTreeMap::new(), None),
        };
        let request_headers = request
            .headers
            .iter()
            .filter(|(k, _)| REQUEST_HEADERS.contains(k))
            .map(|(k, v)| ((*k).to_owned(), s.text(v.expose())))
            .collect();
        inner.seq += 1;
        let exchange = Exchange {
            seq: inner.seq,
            call: call.map_or("request", |c| c.kind().name()).to_owned(),
            at: at.0,
            method: request.method.as_str().to_owned(),
            path: inner.scrubber.text(&request.path),
            request_headers,
            request_body: request_body.map(|b| inner.scrubber.json(&b)),
            status,
            error,
            response_headers,
            response_body,
            ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        write_entry(&mut inner, &Entry::Exchange(Box::new(exchange)));
    }
}

fn write_entry(inner: &mut Inner, entry: &Entry) {
    if inner.error.is_some() {
        return;
    }
    let line = match serde_json::to_string(entry) {
        Ok(l) => l,
        Err(e) => {
            inner.error = Some(io::Error::other(e));
            return;
        }
    };
    // Flushed per line: a transcript of a run that crashed is the one most
    // worth having.
    // One write per line: lines appended to one file by two processes (a
    // flow's turns on two instances) stay whole.
    let line = format!("{line}\n");
    let result = inner
        .out
        .write_all(line.as_bytes())
        .and_then(|()| inner.out.flush());
    if let Err(e) = result {
        inner.error = Some(e);
    }
}

fn learn_call(s: &mut Scrubber, call: &Call) {
    match call {
        Call::Login {
            session, values, ..
        }
        | Call::Commit {
            session, values, ..
        } => {
            s.secret("session", &session.id);
            for (name, value) in values.iter() {
                s.secret(name, value.expose());
            }
            if let Call::Commit {
                account: Some(choice),
                ..
            } = call
            {
                s.secret("account", &choice.number);
            }
        }
        Call::Poll { session } => {
            s.secret("session", &session.id);
        }
        Call::ExchangeCode { code } => {
            s.secret("code", code);
        }
        Call::Reauthorise { account, .. } => {
            s.secret("account", account);
        }
        _ => {}
    }
}

fn body_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}
