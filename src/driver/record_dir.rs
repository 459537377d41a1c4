//! [`RecordDir`]: a transcript per flow, in one directory — for a server,
//! where one [`Driver`](super::Driver) makes every flow's calls.
//!
//! Each flow's exchanges go to `DIR/<reference>.jsonl` (the flow's
//! reference, made safe for a file name), in the format [`Recorder`]
//! writes and with the same scrubbing. A server gives every flow a
//! reference; a call of a flow without one (another host's) has nothing to
//! be grouped by and goes to a file of its own, `flow-<n>.jsonl`.
//! The shape, for a server:
//!
//! - The file starts with the institution list the flow was shown. A server
//!   answers the list from its cache, so that exchange is the one the cache
//!   was filled from, copied into every flow's file (its `at` is when it was
//!   fetched): a replay then serves the list as the flow got it.
//! - `state` lines say which state the flow was in when it made each call
//!   (a server's turns handle the person's input and the replies outside the
//!   driver); `event` lines are not written.
//! - A flow's turns may run on several instances, or in a background task
//!   after the person's reply went out: each call is appended to the flow's
//!   file as it happens, one whole line per write. Within one process a
//!   flow keeps one recorder (one set of placeholders); a turn on another
//!   instance continues the file with fresh placeholder numbers (see
//!   [`Recorder::append`]).

use super::record::Recorder;
use crate::dialect::{HttpRequest, HttpResponse};
use crate::flow::{Call, CallError, ConnectFlow, Timestamp};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Recorders kept open at once; past this the map is emptied and files are
/// reopened (in append mode) on their next call, so a long-running server
/// does not hold a file per flow it ever served.
const OPEN_LIMIT: usize = 256;

/// A directory of per-flow transcripts. Share one per process
/// ([`Driver::with_record_dir`](super::Driver::with_record_dir)).
pub struct RecordDir {
    dir: PathBuf,
    partner: String,
    state: Mutex<DirState>,
}

#[derive(Default)]
struct DirState {
    open: HashMap<String, Arc<Recorder>>,
    /// The last institution-list exchange made outside a flow.
    list: Option<ListExchange>,
    unnamed: u64,
}

#[derive(Clone)]
struct ListExchange {
    request: HttpRequest,
    response: Result<HttpResponse, CallError>,
    at: Timestamp,
    elapsed: Duration,
}

impl std::fmt::Debug for RecordDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDir")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// `reference` as a file name: ASCII letters, digits, `-` and `_` kept,
/// anything else `_`, at most 100 characters.
pub fn safe_name(reference: &str) -> String {
    let name: String = reference
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "_".to_owned()
    } else {
        name
    }
}

impl RecordDir {
    /// Records `partner`'s flows into `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>, partner: &str) -> io::Result<RecordDir> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(RecordDir {
            dir,
            partner: partner.to_owned(),
            state: Mutex::new(DirState::default()),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The transcript file of the flow with `reference`.
    pub fn path_for(&self, reference: &str) -> PathBuf {
        self.dir.join(format!("{}.jsonl", safe_name(reference)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DirState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers an institution-list exchange made outside any flow (a
    /// server's catalogue cache).
    pub(crate) fn list(
        &self,
        request: &HttpRequest,
        response: &Result<HttpResponse, CallError>,
        at: Timestamp,
        elapsed: Duration,
    ) {
        self.lock().list = Some(ListExchange {
            request: request.clone(),
            response: response.clone(),
            at,
            elapsed,
        });
    }

    /// The recorder of `flow`'s file, opened (and started with the list the
    /// flow was shown) on its first call in this process. `None` when the
    /// file cannot be opened: that is logged, and the flow goes on.
    pub(crate) fn recorder(&self, flow: &ConnectFlow) -> Option<Arc<Recorder>> {
        let mut state = self.lock();
        let reference = match flow.reference() {
            Some(r) => r.to_owned(),
            None => {
                state.unnamed += 1;
                format!("flow-{}", state.unnamed)
            }
        };
        if let Some(r) = state.open.get(&reference) {
            return Some(Arc::clone(r));
        }
        if state.open.len() >= OPEN_LIMIT {
            state.open.clear();
        }
        let path = self.path_for(&reference);
        let fresh = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        let recorder = match Recorder::append(&path, &self.partner) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not open a flow's transcript");
                return None;
            }
        };
        if fresh {
            if let Some(list) = &state.list {
                recorder.state(crate::flow::StateKind::LoadingInstitutions);
                recorder.exchange(
                    Some(&Call::ListInstitutions),
                    &list.request,
                    &list.response,
                    list.at,
                    list.elapsed,
                );
            }
        }
        state.open.insert(reference, Arc::clone(&recorder));
        Some(recorder)
    }
}
