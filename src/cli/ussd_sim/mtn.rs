//! MTN Nigeria's side of a USSD session: `ussd-sim --mtn-ng-listen` plays
//! MTN's USSD gateway, which calls no URL. It listens for `connectflow
//! serve --mtn-ng`, accepts its login (any account: this is a stand-in),
//! answers its enquiries, and sends the person's session over that
//! connection as MTN does (ussd.md §4): a `USSDRequest` with `msgtype` 1
//! and the dialled code, then `msgtype` 4 with each answer; hanging up is
//! `EndofSession` 1.
//!
//! Serve keeps one connection; a newer login replaces an older one (serve
//! dialled again). A hop whose connection drops before its screen comes,
//! or that serve refuses, ends the session on the handset, as on a phone.

use super::Handset;
use crate::cli::BoxError;
use connectflow::channel::ussd::gateway::mtn_nigeria::packet::{frame_len, Packet};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

/// How long a hop waits for serve's screen (or for serve to dial again).
const PATIENCE: Duration = Duration::from_secs(30);
/// How long hanging up waits for serve's goodbye.
const HANG_UP: Duration = Duration::from_secs(5);
/// How long one packet's write may take.
const WRITE: Duration = Duration::from_secs(10);
/// The longest answer a handset sends (ussd.md §5).
const LONGEST_ANSWER: usize = 182;

/// Serve's logged-in connection: which one (a count of logins) and its
/// write half.
type Writer = Arc<Mutex<Option<(u64, OwnedWriteHalf)>>>;

/// What the connections tell the session.
enum Heard {
    /// A `USSDResponse`.
    Screen(Packet),
    /// A `USSDError` serve sent about a packet of ours.
    Refused(Packet),
    /// The logged-in connection closed: a screen in flight will not come.
    Dropped,
}

/// MTN's gateway, as the phone's session sees it.
pub(super) struct Gateway {
    writer: Writer,
    heard: mpsc::UnboundedReceiver<Heard>,
    /// The phone, as MTN sends it: `234…`, no `+`.
    msisdn: String,
    /// What is dialled, and the code MTN names (`starCode`): the same
    /// without its `*` and `#`.
    dialled: String,
    star_code: String,
    session: String,
    requests: u64,
}

impl Gateway {
    /// Listens on `addr`, prints `listening on HOST:PORT`, and returns once
    /// serve has connected and logged in.
    pub(super) async fn listen(addr: &str, phone: &str, code: &str) -> Result<Gateway, BoxError> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        println!("listening on {local}");
        eprintln!("ussd-sim: playing MTN Nigeria's USSD gateway; start `connectflow serve --mtn-ng {local} --mtn-ng-user any --mtn-ng-application-id any` (CONNECTFLOW_MTN_NG_PASSWORD=any)");
        let writer: Writer = Arc::new(Mutex::new(None));
        let (heard_in, heard) = mpsc::unbounded_channel();
        let (up_in, mut up) = mpsc::unbounded_channel();
        tokio::spawn(accept(listener, Arc::clone(&writer), heard_in, up_in));
        up.recv().await.ok_or("ussd-sim: stopped listening")?;
        Ok(Gateway {
            writer,
            heard,
            msisdn: phone.trim_start_matches('+').to_owned(),
            dialled: code.to_owned(),
            star_code: code
                .trim_start_matches('*')
                .trim_end_matches('#')
                .to_owned(),
            session: String::new(),
            requests: 0,
        })
    }

    /// Sends one `USSDRequest` of the session, once serve is logged in.
    async fn request(&mut self, msgtype: &str, userdata: &str, end: &str) -> Result<(), BoxError> {
        // What was heard before this request is not about it (a drop
        // between two hops, a late screen).
        while self.heard.try_recv().is_ok() {}
        self.requests += 1;
        let packet = Packet::new(&self.session, "USSDRequest")
            .with("requestId", &self.requests.to_string())
            .with("msisdn", &self.msisdn)
            .with("starCode", &self.star_code)
            .with("clientId", "ussd-sim")
            .with("phase", "2")
            .with("msgtype", msgtype)
            .with("dcs", "15")
            .with("userdata", userdata)
            .with("EndofSession", end)
            .to_bytes();
        let by = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some((_, write)) = self.writer.lock().await.as_mut() {
                if write_within(write, &packet).await {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > by {
                return Err("ussd-sim: serve is not connected".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Serve's answer to this session's last request, within `wait`: its
    /// screen, or an ending one when serve refused the request or the
    /// connection dropped under it.
    async fn screen(&mut self, wait: Duration) -> Result<(bool, String), BoxError> {
        let by = tokio::time::Instant::now() + wait;
        loop {
            let heard = tokio::time::timeout_at(by, self.heard.recv())
                .await
                .map_err(|_| "ussd-sim: no screen from serve in time")?
                .ok_or("ussd-sim: stopped listening")?;
            match heard {
                Heard::Screen(reply) if reply.session_id() == self.session => {
                    let end = reply.field("msgtype") == Some("6")
                        || reply.field("EndofSession") == Some("1");
                    return Ok((end, reply.field("userdata").unwrap_or_default().to_owned()));
                }
                Heard::Refused(error) if error.session_id() == self.session => {
                    let code = error.field("errorCode").unwrap_or_default();
                    return Ok((
                        true,
                        format!(
                            "(serve refused the hop: USSDError {code}; MTN would end the session)"
                        ),
                    ));
                }
                Heard::Dropped => {
                    return Ok((true, "(serve's connection dropped before the screen came; MTN would end the session)".to_owned()));
                }
                // Another session's: a late screen of an earlier one.
                Heard::Screen(_) | Heard::Refused(_) => {}
            }
        }
    }
}

impl Handset for Gateway {
    fn dial(&mut self) {
        // MTN's session ids are numbers.
        let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
        self.session = format!("{n:010}");
    }

    async fn hop(&mut self, input: Option<&str>) -> Result<(bool, String), BoxError> {
        match input {
            None => {
                let dialled = self.dialled.clone();
                self.request("1", &dialled, "0").await?;
            }
            Some(answer) => {
                // A handset sends no more; a longer line would be a packet
                // no real gateway sends.
                let cut: String = answer.chars().take(LONGEST_ANSWER).collect();
                if cut.len() < answer.len() {
                    eprintln!("ussd-sim: the answer was cut to {LONGEST_ANSWER} characters, as a handset would");
                }
                self.request("4", &cut, "0").await?;
            }
        }
        self.screen(PATIENCE).await
    }

    async fn notify(&mut self, status: &str) {
        // A session its last screen ended needs nothing more; hanging up
        // is MTN's end of session, which serve answers with a goodbye.
        if status != "Success" && self.request("4", "", "1").await.is_ok() {
            let _ = self.screen(HANG_UP).await;
        }
    }
}

/// Takes serve's connections, each in a task of its own; `up` hears of
/// each login.
async fn accept(
    listener: TcpListener,
    writer: Writer,
    heard: mpsc::UnboundedSender<Heard>,
    up: mpsc::UnboundedSender<()>,
) {
    let logins = Arc::new(std::sync::atomic::AtomicU64::new(0));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let connection = Connection {
                    writer: Arc::clone(&writer),
                    heard: heard.clone(),
                    up: up.clone(),
                    logins: Arc::clone(&logins),
                };
                tokio::spawn(connection.run(stream));
            }
            // Out of descriptors, say: not a reason to spin.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// One connection from serve.
struct Connection {
    writer: Writer,
    heard: mpsc::UnboundedSender<Heard>,
    up: mpsc::UnboundedSender<()>,
    logins: Arc<std::sync::atomic::AtomicU64>,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let (mut read, write) = stream.into_split();
        // Ours until serve has logged in: the session's requests go out
        // only on a logged-in connection, after its login's answer.
        let mut before_login = Some(write);
        let mut login: Option<u64> = None;
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match read.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
            while let Ok(Some(len)) = frame_len(&buffer) {
                let frame: Vec<u8> = buffer.drain(..len).collect();
                let Ok(packet) = Packet::parse(&frame) else {
                    continue;
                };
                let answer = match packet.kind() {
                    "AUTHRequest" => Some(
                        Packet::new(packet.session_id(), "AUTHResponse")
                            .with("requestId", packet.field("requestId").unwrap_or_default())
                            .with("authMsg", "SUCCESS"),
                    ),
                    "ENQRequest" => Some(
                        Packet::new(packet.session_id(), "ENQResponse")
                            .with("requestId", packet.field("requestId").unwrap_or_default())
                            .with("enqCmd", "ENQUIRELINKRSP"),
                    ),
                    "USSDResponse" => {
                        let _ = self.heard.send(Heard::Screen(packet.clone()));
                        None
                    }
                    "USSDError" => {
                        let _ = self.heard.send(Heard::Refused(packet.clone()));
                        None
                    }
                    _ => None,
                };
                let Some(answer) = answer else { continue };
                let written = match before_login.as_mut() {
                    Some(write) => write_within(write, &answer.to_bytes()).await,
                    None => match self.writer.lock().await.as_mut() {
                        Some((_, write)) => write_within(write, &answer.to_bytes()).await,
                        None => false,
                    },
                };
                if !written {
                    break;
                }
                if packet.kind() == "AUTHRequest" {
                    if let Some(write) = before_login.take() {
                        // The newest login is serve's connection: it
                        // replaces an older one (dropped with its half).
                        let n = self
                            .logins
                            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                            + 1;
                        *self.writer.lock().await = Some((n, write));
                        login = Some(n);
                        eprintln!(
                            "ussd-sim: serve logged in as {}",
                            packet.field("userName").unwrap_or_default()
                        );
                        let _ = self.up.send(());
                    }
                }
            }
            if frame_len(&buffer).is_err() {
                // Out of step with serve: it starts a new connection.
                break;
            }
        }
        // Only the logged-in connection's end is the session's business.
        let mut current = self.writer.lock().await;
        if login.is_some() && current.as_ref().map(|(n, _)| Some(*n)) == Some(login) {
            *current = None;
            let _ = self.heard.send(Heard::Dropped);
            eprintln!("ussd-sim: serve's connection closed; waiting for it to dial again");
        }
    }
}

/// Writes `bytes`; false when the write fails or takes longer than [`WRITE`].
async fn write_within(write: &mut OwnedWriteHalf, bytes: &[u8]) -> bool {
    matches!(
        tokio::time::timeout(WRITE, write.write_all(bytes)).await,
        Ok(Ok(()))
    )
}
