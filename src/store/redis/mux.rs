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
//! caller at a time: that was built (f0c09d1 … see docs/performance.md)
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
//!   next call opens a new one: after a Redis restart, the first call
//!   after the server is back succeeds.
//! - **Cancellation is safe.** A caller that stops waiting (a hop past
//!   its deadline) leaves its place in the queue: its replies are read and
//!   dropped, and every later caller gets its own.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};

use super::connect::{Stream, Target};
use super::resp;

/// The most a connection's read buffer keeps between reads.
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
}

/// What callers hand one connection's task, and it hands back.
struct Queue {
    state: Mutex<QueueState>,
    /// Something was written to `out` (or the connection is to close).
    written: Notify,
}

struct QueueState {
    /// Commands not yet written to the socket.
    out: Vec<u8>,
    /// Callers waiting for replies, in the order their commands were
    /// written.
    waiting: VecDeque<Waiting>,
    /// The task has stopped: nothing more is read or written.
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

fn broken(what: &'static str) -> RedisError {
    io::Error::new(io::ErrorKind::ConnectionReset, what).into()
}

fn timed_out() -> RedisError {
    io::Error::new(io::ErrorKind::TimedOut, "redis did not answer in time").into()
}

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
            }),
        }
    }

    /// The open connection, or a new one.
    async fn queue(&self) -> Result<Arc<Queue>, RedisError> {
        if let Some(queue) = lock(&self.shared.live).as_ref() {
            if !lock(&queue.state).closed {
                return Ok(Arc::clone(queue));
            }
        }
        // Callers that find no connection each open one (while Redis is
        // down, each fails fast on its own); the first stored is kept.
        let stream = self.shared.target.open(self.shared.connect_timeout).await?;
        let mut live = lock(&self.shared.live);
        if let Some(queue) = live.as_ref() {
            if !lock(&queue.state).closed {
                return Ok(Arc::clone(queue));
            }
        }
        let queue = Arc::new(Queue {
            state: Mutex::new(QueueState {
                out: Vec::with_capacity(4096),
                waiting: VecDeque::with_capacity(64),
                closed: false,
            }),
            written: Notify::new(),
        });
        tokio::spawn(drive(stream, Arc::clone(&queue)));
        *live = Some(Arc::clone(&queue));
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
        {
            let mut state = lock(&queue.state);
            if state.closed {
                return Err(broken("the redis connection closed"));
            }
            write(&mut state.out);
            state.waiting.push_back(Waiting {
                skip,
                left: skip + count,
                values: Vec::with_capacity(count),
                answer,
            });
        }
        queue.written.notify_one();
        match tokio::time::timeout(self.shared.response_timeout, answered).await {
            Ok(Ok(replies)) => replies,
            // The task stopped without answering: the connection broke.
            Ok(Err(_)) => Err(broken("the redis connection closed")),
            Err(_) => {
                // A connection whose peer went silent (a network that
                // drops packets, no reset) would never fail by itself:
                // the next call opens another.
                queue.close();
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

/// One connection's task: writes what callers gathered, reads replies and
/// hands them out in order, until the connection fails.
async fn drive(mut stream: Stream, queue: Arc<Queue>) {
    let failure = run(&mut stream, &queue).await;
    let waiting = {
        let mut state = lock(&queue.state);
        state.closed = true;
        std::mem::take(&mut state.waiting)
    };
    for caller in waiting {
        let _ = caller.answer.send(Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            failure.clone(),
        )
        .into()));
    }
}

/// Runs until the connection fails, and says why.
async fn run(stream: &mut Stream, queue: &Queue) -> String {
    let mut sending = Vec::with_capacity(4096);
    let mut input: Vec<u8> = Vec::with_capacity(4096);
    loop {
        // Whatever callers wrote since the last write, in one write.
        {
            let mut state = lock(&queue.state);
            if state.closed {
                return "the redis connection closed".into();
            }
            std::mem::swap(&mut state.out, &mut sending);
        }
        if !sending.is_empty() {
            if stream.write_all(&sending).await.is_err() || stream.flush().await.is_err() {
                return "writing to redis failed".into();
            }
            sending.clear();
            // Anything more written meanwhile goes out before reading.
            continue;
        }
        input.reserve(1024);
        tokio::select! {
            read = stream.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => return "redis closed the connection".into(),
                Ok(_) => {
                    if let Err(what) = hand_out(&mut input, queue) {
                        return format!("a malformed reply from redis: {what}");
                    }
                }
            },
            () = queue.written.notified() => {}
        }
    }
}

/// Reads every whole reply in `input` and gives each to the caller it
/// belongs to; keeps a partial one for the next read.
fn hand_out(input: &mut Vec<u8>, queue: &Queue) -> Result<(), &'static str> {
    let mut read = 0;
    let mut state = lock(&queue.state);
    loop {
        let (value, used) = match resp::parse(&input[read..]) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => break,
            Err(resp::Malformed(what)) => return Err(what),
        };
        read += used;
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
    drop(state);
    input.drain(..read);
    if input.len() > resp::MAX_REPLY {
        return Err("a reply too large");
    }
    // A rare large reply (`INFO`, a long record) leaves no large buffer.
    if input.is_empty() && input.capacity() > KEPT_BUFFER {
        *input = Vec::with_capacity(4096);
    }
    Ok(())
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
            match replies.pop() {
                Some(reply) if replies.is_empty() => Ok(reply),
                _ => Err(malformed_count(replies.len())),
            }
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
