//! The store's connection to Redis: one connection that every caller
//! shares, their commands written together and their replies read
//! together by a task of its own (a multiplexed connection, as the redis
//! crate's), with the store's own buffers and reply reader.
//!
//! Why not the redis crate's `ConnectionManager`: a round trip through it
//! cost the server about 26,000 instructions (callgrind), more than a whole
//! bare HTTP request: each command packed into a buffer of its own and
//! sent over a channel, framed again by a codec, its reply parsed by a
//! `combine` parser and sent back. Here a caller writes its commands
//! straight into the connection's outgoing buffer, under a lock held for
//! that copy, and waits on a oneshot; the task writes whatever has
//! gathered in one write and reads replies with `resp.rs`.
//!
//! Why one shared connection, not a pool of connections each used by one
//! caller at a time: that was built (b7898d0, docs/performance.md)
//! and counted 10,000 instructions fewer a round trip than the crate, but
//! served fewer hops under load. Redis then reads and answers each
//! caller's commands with system calls of their own, where on one
//! connection it reads many callers' commands at once and answers them in
//! one write; on two cores shared with it, its time is the hops' time.
//!
//! What the manager gave, kept:
//!
//! - **Fail fast, recover by itself.** A connection is opened within the
//!   connection timeout and a reply awaited within the response timeout
//!   (then an I/O error, which the store retries once). A connection that
//!   fails (an I/O error, the server closing it, a reply that is not
//!   RESP2) fails every caller waiting on it with an I/O error, and the
//!   next call opens a new one, one attempt at a time: after a Redis
//!   restart, the first call after the server is back succeeds. A caller
//!   that times out with no reply read at all while it waited closes the
//!   connection (a silent peer never fails it by itself); one that times
//!   out behind replies still coming (a Redis slow under load) does not.
//! - **Cancellation is safe.** A caller that stops waiting (a hop past
//!   its deadline) leaves its place in the queue: its replies are read and
//!   dropped, and every later caller gets its own.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};

use super::connect::{Stream, Target};
use super::resp;

/// The most a connection's buffers keep between uses.
const KEPT_BUFFER: usize = 64 * 1024;

/// A handle onto the store's connection; clones share it.
#[derive(Clone)]
pub(super) struct Mux {
    shared: Arc<Shared>,
}

struct Shared {
    target: Target,
    connect_timeout: Duration,
    response_timeout: Duration,
    /// The connection in use, if one is open.
    live: Mutex<Option<Arc<Queue>>>,
    /// Held while a connection is opened: one attempt at a time, however
    /// many callers found none (after a restart, all of those in flight).
    opening: tokio::sync::Mutex<()>,
    /// When the last attempt failed: callers that waited for it fail with
    /// it rather than each try again (with Redis unreachable, one after
    /// another, each up to the connection timeout).
    failed_at: Mutex<Option<Instant>>,
}

/// What callers hand one connection's task, and it hands back.
struct Queue {
    state: Mutex<QueueState>,
    /// Something was written to `out`, or the connection is to close.
    written: Notify,
}

struct QueueState {
    /// Commands not yet written to the socket.
    out: Vec<u8>,
    /// Callers waiting for replies, in the order their commands were
    /// written.
    waiting: VecDeque<Waiting>,
    /// Replies read so far: a caller that times out closes the connection
    /// only if none came while it waited.
    replies: u64,
    /// The task has stopped, or is to stop: nothing more is written.
    closed: bool,
}

struct Waiting {
    /// Replies to skip first (a transaction's `MULTI` and `QUEUED`s).
    skip: usize,
    /// Replies still to come.
    left: usize,
    values: Vec<Value>,
    answer: oneshot::Sender<Result<Vec<Value>, RedisError>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still
    // holds a queue in order.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn broken(what: String) -> RedisError {
    io::Error::new(io::ErrorKind::ConnectionReset, what).into()
}

fn timed_out() -> RedisError {
    io::Error::new(io::ErrorKind::TimedOut, "redis did not answer in time").into()
}

const CLOSED: &str = "the redis connection closed";

impl Mux {
    /// A handle for `target`; nothing is opened until it is used.
    pub(super) fn new(
        target: Target,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Mux {
        Mux {
            shared: Arc::new(Shared {
                target,
                connect_timeout,
                response_timeout,
                live: Mutex::new(None),
                opening: tokio::sync::Mutex::new(()),
                failed_at: Mutex::new(None),
            }),
        }
    }

    /// The open connection, if there is one.
    fn open_queue(&self) -> Option<Arc<Queue>> {
        let live = lock(&self.shared.live);
        let queue = live.as_ref()?;
        let open = !lock(&queue.state).closed;
        open.then(|| Arc::clone(queue))
    }

    /// The open connection, or a new one.
    async fn queue(&self) -> Result<Arc<Queue>, RedisError> {
        if let Some(queue) = self.open_queue() {
            return Ok(queue);
        }
        let asked = Instant::now();
        let _opening = self.shared.opening.lock().await;
        // Opened by the caller before, while this one waited.
        if let Some(queue) = self.open_queue() {
            return Ok(queue);
        }
        if lock(&self.shared.failed_at).is_some_and(|failed| failed >= asked) {
            return Err(broken("connecting to redis failed".into()));
        }
        let stream = match self.shared.target.open(self.shared.connect_timeout).await {
            Ok(stream) => stream,
            Err(e) => {
                *lock(&self.shared.failed_at) = Some(Instant::now());
                return Err(e);
            }
        };
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                out: Vec::with_capacity(4096),
                waiting: VecDeque::with_capacity(64),
                replies: 0,
                closed: false,
            }),
            written: Notify::new(),
        });
        tokio::spawn(drive(stream, Arc::clone(&queue)));
        *lock(&self.shared.live) = Some(Arc::clone(&queue));
        Ok(queue)
    }

    /// Writes what `write` puts in the outgoing buffer and waits for
    /// `skip + count` replies, answering the last `count`.
    async fn round_trip(
        &self,
        write: impl FnOnce(&mut Vec<u8>),
        skip: usize,
        count: usize,
    ) -> Result<Vec<Value>, RedisError> {
        if skip + count == 0 {
            return Ok(Vec::new());
        }
        let queue = self.queue().await?;
        let (answer, answered) = oneshot::channel();
        let replies_before = {
            let mut state = lock(&queue.state);
            if state.closed {
                return Err(broken(CLOSED.into()));
            }
            // The commands and their place in line under one lock: the
            // replies come back in the order the commands went out.
            write(&mut state.out);
            state.waiting.push_back(Waiting {
                skip,
                left: skip + count,
                values: Vec::with_capacity(count),
                answer,
            });
            state.replies
        };
        queue.written.notify_one();
        match tokio::time::timeout(self.shared.response_timeout, answered).await {
            Ok(Ok(replies)) => replies,
            // The task stopped without answering: the connection broke.
            Ok(Err(_)) => Err(broken(CLOSED.into())),
            Err(_) => {
                // No reply at all while this caller waited: the peer went
                // silent (a network that drops packets sends no reset, and
                // such a connection would never fail by itself). Closed,
                // the next call opens another. A Redis slow but answering
                // (a queue long under load) keeps its connection.
                let silent = lock(&queue.state).replies == replies_before;
                if silent {
                    queue.close();
                }
                Err(timed_out())
            }
        }
    }
}

impl Queue {
    /// Stops the connection's task: it fails whoever still waits.
    fn close(&self) {
        lock(&self.state).closed = true;
        self.written.notify_one();
    }
}

impl Drop for Shared {
    // The task holds its queue, not the store: without this, a store
    // dropped would leave its connection open, its task waiting.
    fn drop(&mut self) {
        if let Some(queue) = lock(&self.live).take() {
            queue.close();
        }
    }
}

/// Fails whoever still waits when the task ends, however it ends: its
/// own failure, or dropped with its runtime.
struct Ending {
    queue: Arc<Queue>,
    why: String,
}

impl Drop for Ending {
    fn drop(&mut self) {
        let waiting = {
            let mut state = lock(&self.queue.state);
            state.closed = true;
            std::mem::take(&mut state.waiting)
        };
        for caller in waiting {
            let _ = caller.answer.send(Err(broken(self.why.clone())));
        }
    }
}

/// One connection's task: writes what callers gathered, reads replies and
/// hands them out in order, until the connection fails or is closed.
async fn drive(mut stream: Stream, queue: Arc<Queue>) {
    let mut ending = Ending {
        queue,
        why: CLOSED.into(),
    };
    ending.why = run(&mut stream, &ending.queue).await;
}

/// Runs until the connection fails or is closed, and says why.
async fn run(stream: &mut Stream, queue: &Queue) -> String {
    let mut sending = Vec::with_capacity(4096);
    let mut input: Vec<u8> = Vec::with_capacity(4096);
    let mut values = Vec::with_capacity(64);
    // The length `input` must reach before a reply can be read from it.
    let mut need: usize = 0;
    loop {
        // Whatever callers wrote since the last write, in one write.
        {
            let mut state = lock(&queue.state);
            if state.closed {
                return CLOSED.into();
            }
            std::mem::swap(&mut state.out, &mut sending);
        }
        if !sending.is_empty() {
            if let Err(why) = send(stream, &sending, queue).await {
                return why;
            }
            sending.clear();
            if sending.capacity() > KEPT_BUFFER {
                sending = Vec::with_capacity(4096);
            }
            // Anything more written meanwhile goes out before reading.
            continue;
        }
        // Room for the rest of a reply known to be long, in one read.
        input.reserve(need.saturating_sub(input.len()).max(4096));
        tokio::select! {
            read = stream.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => return "redis closed the connection".into(),
                // A reply known to need more bytes is not read again
                // until they have come (resp.rs).
                Ok(_) if input.len() < need => {}
                Ok(_) => match hand_out(&mut input, &mut values, queue) {
                    Ok(more) => need = more,
                    Err(what) => return format!("a malformed reply from redis: {what}"),
                },
            },
            () = queue.written.notified() => {
                // Woken by the first caller to write, this task would run
                // next (tokio runs a task woken by the running one before
                // the others) and send that caller's commands alone. Let
                // the callers already woken write theirs first: under load
                // one write then carries many callers' commands, and Redis
                // reads them in one read and answers them in one write.
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Writes `bytes`, or stops when the connection is closed meanwhile (a
/// peer that reads nothing more would otherwise hold the write, and this
/// task, until the kernel gives up: minutes).
async fn send(stream: &mut Stream, bytes: &[u8], queue: &Queue) -> Result<(), String> {
    let mut sent = 0;
    while sent < bytes.len() {
        // `write` is cancel-safe (nothing written when it loses the race);
        // `write_all` is not.
        tokio::select! {
            wrote = stream.write(&bytes[sent..]) => match wrote {
                Ok(0) | Err(_) => return Err("writing to redis failed".into()),
                Ok(n) => sent += n,
            },
            () = queue.written.notified() => {
                if lock(&queue.state).closed {
                    return Err(CLOSED.into());
                }
            }
        }
    }
    // TLS holds what it has not sent yet until flushed; TCP holds nothing.
    loop {
        tokio::select! {
            flushed = stream.flush() => {
                return flushed.map_err(|_| "writing to redis failed".to_owned());
            }
            () = queue.written.notified() => {
                if lock(&queue.state).closed {
                    return Err(CLOSED.into());
                }
            }
        }
    }
}

/// Reads every whole reply in `input` and gives each to the caller it
/// belongs to; keeps a partial one for the next read, and returns the
/// length `input` must reach before that one can be read. The replies are
/// read before the queue is locked: callers queue meanwhile.
fn hand_out(
    input: &mut Vec<u8>,
    values: &mut Vec<Value>,
    queue: &Queue,
) -> Result<usize, &'static str> {
    let mut read = 0;
    let need = loop {
        match resp::read(&input[read..]) {
            Ok(resp::Read::Reply(value, used)) => {
                read += used;
                values.push(value);
            }
            Ok(resp::Read::Partial { need }) => break need,
            Err(resp::Malformed(what)) => return Err(what),
        }
    };
    input.drain(..read);
    if input.len() > resp::MAX_REPLY {
        return Err("a reply too large");
    }
    // A rare large reply (`INFO`, a long record) leaves no large buffer.
    if input.is_empty() && input.capacity() > KEPT_BUFFER {
        *input = Vec::with_capacity(4096);
    }
    if values.is_empty() {
        return Ok(need);
    }
    let mut state = lock(&queue.state);
    state.replies += values.len() as u64;
    for value in values.drain(..) {
        // A RESP2 server sends nothing it was not asked for.
        let Some(caller) = state.waiting.front_mut() else {
            return Err("a reply nobody asked for");
        };
        caller.left -= 1;
        if caller.skip > 0 {
            caller.skip -= 1;
        } else {
            caller.values.push(value);
        }
        if caller.left == 0 {
            if let Some(done) = state.waiting.pop_front() {
                // A caller that stopped waiting no longer listens.
                let _ = done.answer.send(Ok(done.values));
            }
        }
    }
    Ok(need)
}

fn malformed_count(got: usize) -> RedisError {
    (
        ErrorKind::ParseError,
        "redis: a reply count not the command's",
        got.to_string(),
    )
        .into()
}

impl ConnectionLike for Mux {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut replies = self
                .round_trip(|out| resp::write_command(out, cmd), 0, 1)
                .await?;
            if replies.len() != 1 {
                return Err(malformed_count(replies.len()));
            }
            replies.pop().ok_or_else(|| malformed_count(0))
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.round_trip(
                |out| {
                    if offset == 0 {
                        for cmd in pipe.cmd_iter() {
                            resp::write_command(out, cmd);
                        }
                    } else {
                        // Only a transaction skips replies (MULTI's and
                        // each QUEUED): its packing has MULTI and EXEC.
                        out.extend_from_slice(&pipe.get_packed_pipeline());
                    }
                },
                offset,
                count,
            )
            .await
        })
    }

    fn get_db(&self) -> i64 {
        self.shared.target.db()
    }
}
