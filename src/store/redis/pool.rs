//! The store's connections to Redis: a pool of plain connections, each
//! round trip made by the task that asks for it, on a connection it has to
//! itself for that time.
//!
//! Why not the redis crate's `ConnectionManager`: it multiplexes every
//! caller over one connection through a task of its own (the command sent
//! over a channel, written by that task, its reply parsed there and sent
//! back over another), and a round trip through it cost the server about
//! 26,000 instructions (callgrind), more than a whole bare HTTP request;
//! the channels, the second task's wake-ups and its `combine` parser were
//! most of it. Here a round trip is the caller's own write and read on a
//! socket, the command written into the connection's buffer and the reply
//! read by `resp.rs`. The crate stays for what it does well: commands,
//! pipelines, scripts and their `NOSCRIPT` reload, reading replies into
//! Rust types, parsing URLs (`Pool` is its `ConnectionLike`).
//!
//! What the manager gave, kept:
//!
//! - **Fail fast, recover by itself.** A connection is opened within the
//!   connection timeout, a round trip answered within the response timeout
//!   or failed as an I/O error (which the store retries once on a fresh
//!   connection). A connection that failed in any way is dropped, never
//!   reused with a reply half read, and with it every idle one opened
//!   before (after a Redis restart they are all dead, and a retry must not
//!   meet another).
//! - **Cancellation is safe.** A round trip's future owns its connection;
//!   dropped half way (a hop's deadline), it drops the connection with it.
//! - **Bounded.** At most [`MAX_CONNECTIONS`] are open; a caller beyond
//!   them waits for one, within the response timeout.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::connect::{Stream, Target};
use super::resp;

/// The most connections one store keeps open to Redis: as many round
/// trips at once. Each is a client on the server (10,000 by default), and
/// one instance serving USSD has a few dozen hops in flight at its busiest.
pub(super) const MAX_CONNECTIONS: usize = 64;

/// A handle onto the store's connections; clones share them.
#[derive(Clone)]
pub(super) struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    target: Target,
    connect_timeout: Duration,
    response_timeout: Duration,
    /// Connections not in a round trip, the most recently used last.
    idle: Mutex<Vec<Conn>>,
    /// One permit a round trip: with a connection opened only when none is
    /// idle, no more than this many are ever open.
    busy: Semaphore,
    /// Raised when a connection fails: idle ones from before are dropped.
    generation: AtomicU64,
}

struct Conn {
    stream: Stream,
    /// What is written next (emptied once written).
    out: Vec<u8>,
    /// What was read and not yet parsed (empty between round trips).
    input: Vec<u8>,
    generation: u64,
}

impl Pool {
    /// A pool for `target`; nothing is opened until it is used.
    pub(super) fn new(
        target: Target,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                target,
                connect_timeout,
                response_timeout,
                idle: Mutex::new(Vec::new()),
                busy: Semaphore::new(MAX_CONNECTIONS),
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// Writes what `write` puts in the buffer, reads `replies` replies and
    /// hands each to `take` with its index.
    async fn round_trip(
        &self,
        write: impl FnOnce(&mut Vec<u8>),
        replies: usize,
        take: impl FnMut(usize, Value),
    ) -> Result<(), RedisError> {
        let shared = &*self.shared;
        let _permit = match shared.busy.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                match tokio::time::timeout(shared.response_timeout, shared.busy.acquire()).await {
                    Ok(Ok(permit)) => permit,
                    // The semaphore is never closed.
                    Ok(Err(_)) | Err(_) => return Err(timed_out()),
                }
            }
        };
        let mut conn = match shared.take_idle() {
            Some(conn) => conn,
            None => Conn::open(shared).await.inspect_err(|_| shared.failed())?,
        };
        write(&mut conn.out);
        let exchanged =
            tokio::time::timeout(shared.response_timeout, conn.exchange(replies, take)).await;
        match exchanged {
            Ok(Ok(())) => {
                shared.put_idle(conn);
                Ok(())
            }
            Ok(Err(e)) => {
                shared.failed();
                Err(e)
            }
            Err(_) => {
                shared.failed();
                Err(timed_out())
            }
        }
    }
}

impl Shared {
    fn take_idle(&self) -> Option<Conn> {
        let current = self.generation.load(Ordering::Acquire);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // The newest first: it is the likeliest to be warm, and the stale
        // ones below it are dropped as they come up.
        while let Some(conn) = idle.pop() {
            if conn.generation == current {
                return Some(conn);
            }
        }
        None
    }

    fn put_idle(&self, conn: Conn) {
        if conn.generation == self.generation.load(Ordering::Acquire) {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }

    /// A connection failed: those opened before it are not to be trusted.
    fn failed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let stale = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        // Closed outside the lock.
        drop(stale);
    }
}

fn timed_out() -> RedisError {
    io::Error::new(io::ErrorKind::TimedOut, "redis did not answer in time").into()
}

impl Conn {
    async fn open(shared: &Shared) -> Result<Conn, RedisError> {
        let generation = shared.generation.load(Ordering::Acquire);
        let stream = shared.target.open(shared.connect_timeout).await?;
        Ok(Conn {
            stream,
            out: Vec::with_capacity(1024),
            input: Vec::with_capacity(1024),
            generation,
        })
    }

    /// Sends `out` and reads `replies` replies into `take`.
    async fn exchange(
        &mut self,
        replies: usize,
        mut take: impl FnMut(usize, Value),
    ) -> Result<(), RedisError> {
        self.stream.write_all(&self.out).await?;
        self.stream.flush().await?;
        self.out.clear();
        let mut read = 0;
        let mut got = 0;
        while got < replies {
            match resp::parse(&self.input[read..]) {
                Ok(Some((value, used))) => {
                    read += used;
                    take(got, value);
                    got += 1;
                }
                Ok(None) => {
                    if self.input.len() - read > resp::MAX_REPLY {
                        return Err(malformed("a reply too large"));
                    }
                    if read > 0 {
                        self.input.drain(..read);
                        read = 0;
                    }
                    self.input.reserve(1024);
                    if self.stream.read_buf(&mut self.input).await? == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            "redis closed the connection",
                        )
                        .into());
                    }
                }
                Err(resp::Malformed(what)) => return Err(malformed(what)),
            }
        }
        // A RESP2 server sends nothing it was not asked for: bytes beyond
        // the replies are a stream out of step, not one to read on.
        if read != self.input.len() {
            return Err(malformed("more bytes than replies"));
        }
        self.input.clear();
        Ok(())
    }
}

fn malformed(what: &'static str) -> RedisError {
    (
        ErrorKind::ParseError,
        "redis: a malformed reply",
        what.to_owned(),
    )
        .into()
}

impl ConnectionLike for Pool {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut reply = Value::Nil;
            self.round_trip(|out| resp::write_command(out, cmd), 1, |_, v| reply = v)
                .await?;
            Ok(reply)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut values = Vec::with_capacity(count);
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
                offset + count,
                |i, v| {
                    if i >= offset {
                        values.push(v);
                    }
                },
            )
            .await?;
            Ok(values)
        })
    }

    fn get_db(&self) -> i64 {
        self.shared.target.db()
    }
}
