//! RESP2, the Redis wire format, for the store's own connections
//! (`mux.rs`): commands written from the redis crate's [`Cmd`]s, replies
//! read into its [`Value`]s, so every caller above (pipelines, scripts,
//! `FromRedisValue`) is the crate's, unchanged.
//!
//! Invariant: a reply is read into exactly the [`Value`] the crate's own
//! parser makes of it (`+OK` is [`Value::Okay`]; an error line, read by
//! that parser itself, a [`Value::ServerError`] whose code the crate's
//! callers match on: `NOSCRIPT` makes a script load itself, `WRONGTYPE` is
//! read as the hash format). `tests` compares the two on every reply shape, and on any bytes
//! checks this one never panics and never reads past what it was given.
//!
//! Why not the crate's parser: it is built on `combine`, and reading three
//! small replies through it cost some 3,500 instructions of a bank choice's
//! round trip (callgrind); this one is a loop over the bytes.

use redis::{Cmd, Value};

/// The deepest nesting of arrays a reply may have: the store's replies
/// have at most one level (a pipeline's `TIME`); a server sending more is
/// not one this store talks to, and a bound keeps the recursion shallow.
const MAX_DEPTH: usize = 8;

/// The most elements one array may announce before its elements arrive:
/// an announcement is not memory to reserve on trust.
const MAX_PREALLOCATED: usize = 64;

/// The largest reply read: a record is far smaller (`codec::MAX_RECORD`),
/// and `INFO server` a few KiB; a length past this is a server this store
/// should not trust with its memory.
pub(super) const MAX_REPLY: usize = 16 * 1024 * 1024;

/// Room past [`MAX_REPLY`] for a reply's headers and line ends.
const HEADER_ROOM: usize = 64;

/// A reply that is not RESP2: the connection it came on is dropped.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Malformed(pub(super) &'static str);

/// Appends `cmd` to `out` as a RESP array of bulk strings.
pub(super) fn write_command(out: &mut Vec<u8>, cmd: &Cmd) {
    let args = cmd.args_iter();
    out.push(b'*');
    push_decimal(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        let bytes: &[u8] = match arg {
            redis::Arg::Simple(bytes) => bytes,
            // A `SCAN` cursor's place, filled with the first cursor; the
            // store sends no cursor commands.
            redis::Arg::Cursor => b"0",
        };
        out.push(b'$');
        push_decimal(out, bytes.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
}

/// `n` in decimal. A command's numbers are its argument count and their
/// lengths, nearly all below 1,000: those are written without a loop or a
/// copy of a variable length (which costs a call to `memcpy`).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let digit = |d: u64| b'0' + (d % 10) as u8;
    match n {
        0..=9 => out.push(digit(n)),
        10..=99 => out.extend_from_slice(&[digit(n / 10), digit(n)]),
        100..=999 => out.extend_from_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
        _ => {
            let mut digits = [0u8; 20];
            let mut at = digits.len();
            while n > 0 {
                at -= 1;
                digits[at] = digit(n);
                n /= 10;
            }
            out.extend_from_slice(&digits[at..]);
        }
    }
}

/// What [`read`] found at the front of a buffer.
#[derive(Debug, PartialEq)]
pub(super) enum Read {
    /// A whole reply, and how many bytes it took.
    Reply(Value, usize),
    /// Part of one: no reply can be read before the buffer holds `need`
    /// bytes (past what it holds, and no further than the reply's end).
    Partial {
        /// The length the buffer must reach before it is read again.
        need: usize,
    },
}

/// Reads one reply from the front of `buf`, or says how long `buf` must
/// grow before the next try, which starts again from the same start.
///
/// A bulk string announces its length, so a large one (a long record,
/// `INFO`) split across many reads is read once, when its last byte has
/// come, not once a read: only a reply of many small elements is read
/// again after each read that ends inside it, and the store asks for none
/// (its arrays are a pipeline's two or three replies).
pub(super) fn read(buf: &[u8]) -> Result<Read, Malformed> {
    let mut at = 0;
    let mut need = 0;
    match value(buf, &mut at, 0, &mut need)? {
        Some(v) => Ok(Read::Reply(v, at)),
        // Counted from the reply's start, this bounds the whole reply (an
        // array of large strings too) and the room kept for it.
        None if need > MAX_REPLY + HEADER_ROOM => Err(Malformed("a reply too large")),
        None => Ok(Read::Partial { need }),
    }
}

/// [`read`] without the length to wait for: the value and how many bytes
/// it took, `Ok(None)` if `buf` holds only part of one.
#[cfg(test)]
pub(super) fn parse(buf: &[u8]) -> Result<Option<(Value, usize)>, Malformed> {
    match read(buf)? {
        Read::Reply(v, used) => Ok(Some((v, used))),
        Read::Partial { .. } => Ok(None),
    }
}

/// The line starting at `*at` (without its `\r\n`), moving `*at` past it.
fn line<'b>(buf: &'b [u8], at: &mut usize) -> Result<Option<&'b [u8]>, Malformed> {
    let rest = buf.get(*at..).unwrap_or_default();
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        return Ok(None);
    };
    match rest.get(cr + 1) {
        None => Ok(None),
        Some(b'\n') => {
            *at += cr + 2;
            Ok(Some(&rest[..cr]))
        }
        Some(_) => Err(Malformed("a line not ended by CRLF")),
    }
}

/// A RESP integer (`:`, and the lengths of `$` and `*`).
fn integer(digits: &[u8]) -> Result<i64, Malformed> {
    let (negative, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 19 {
        return Err(Malformed("not an integer"));
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(Malformed("not an integer"));
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(i64::from(d - b'0')))
            .ok_or(Malformed("an integer out of range"))?;
    }
    Ok(if negative { -n } else { n })
}

fn text(bytes: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(bytes).map_err(|_| Malformed("a status line not in UTF-8"))
}

/// The reply starting at `*at`, moving `*at` past it; when `buf` ends
/// inside it, `None` and `*need` the length `buf` must reach first.
fn value(
    buf: &[u8],
    at: &mut usize,
    depth: usize,
    need: &mut usize,
) -> Result<Option<Value>, Malformed> {
    let start = *at;
    let Some(&kind) = buf.get(start) else {
        *need = start + 1;
        return Ok(None);
    };
    *at += 1;
    let Some(head) = line(buf, at)? else {
        // The line's end may be the next byte (its `\n`).
        *need = buf.len() + 1;
        *at = start;
        return Ok(None);
    };
    let parsed = match kind {
        b'+' => match head {
            b"OK" => Value::Okay,
            other => Value::SimpleString(text(other)?.to_owned()),
        },
        // Read by the crate's own parser: its error type cannot be named
        // outside it (redis 0.27), and an error is rare on the store's
        // paths (a script's first use on a server, a record of the hash
        // format).
        b'-' => {
            text(head)?;
            redis::parse_redis_value(&buf[start..*at])
                .map_err(|_| Malformed("an error line the crate cannot read"))?
        }
        b':' => Value::Int(integer(head)?),
        b'$' => match integer(head)? {
            -1 => Value::Nil,
            len => {
                let len = usize::try_from(len).map_err(|_| Malformed("a negative length"))?;
                if len > MAX_REPLY {
                    return Err(Malformed("a reply too large"));
                }
                let body = *at;
                let end = body
                    .checked_add(len)
                    .ok_or(Malformed("a length too large"))?;
                // The body and its CRLF, or wait for them.
                if buf.len() < end + 2 {
                    *need = end + 2;
                    *at = start;
                    return Ok(None);
                }
                if &buf[end..end + 2] != b"\r\n" {
                    return Err(Malformed("a bulk string not ended by CRLF"));
                }
                *at = end + 2;
                Value::BulkString(buf[body..end].to_vec())
            }
        },
        b'*' => match integer(head)? {
            -1 => Value::Nil,
            len => {
                let len = usize::try_from(len).map_err(|_| Malformed("a negative length"))?;
                if depth >= MAX_DEPTH {
                    return Err(Malformed("arrays nested too deep"));
                }
                let mut items = Vec::with_capacity(len.min(MAX_PREALLOCATED));
                for _ in 0..len {
                    match value(buf, at, depth + 1, need)? {
                        Some(item) => items.push(item),
                        None => {
                            *at = start;
                            return Ok(None);
                        }
                    }
                }
                Value::Array(items)
            }
        },
        _ => return Err(Malformed("not a RESP2 reply")),
    };
    Ok(Some(parsed))
}

#[cfg(test)]
mod tests;
