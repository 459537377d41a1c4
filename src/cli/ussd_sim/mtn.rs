//! MTN Nigeria's side of a USSD session: `ussd-sim --mtn-ng-listen` plays
//! MTN's USSD gateway, which calls no URL. It listens for `connectflow
//! serve --mtn-ng`, accepts its login (any account: this is a stand-in),
//! answers its enquiries, and sends the person's session over that
//! connection as MTN does (ussd.md §4): a `USSDRequest` with `msgtype` 1
//! and the dialled code, then `msgtype` 4 with each answer; hanging up is
//! `EndofSession` 1. When serve's connection drops, it waits for the next.

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

/// The connection serve keeps open, once it has logged in.
type Writer = Arc<Mutex<Option<OwnedWriteHalf>>>;

/// MTN's gateway, as the phone's session sees it.
pub(super) struct Gateway {
    writer: Writer,
    /// Serve's `USSDResponse`s, from whichever connection.
    screens: mpsc::UnboundedReceiver<Packet>,
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
        let (screens_in, screens) = mpsc::unbounded_channel();
        let (up_in, mut up) = mpsc::unbounded_channel();
        tokio::spawn(accept(listener, Arc::clone(&writer), screens_in, up_in));
        up.recv().await.ok_or("ussd-sim: stopped listening")?;
        Ok(Gateway {
            writer,
            screens,
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

    /// Sends one `USSDRequest` of the session, once serve is connected.
    async fn request(&mut self, msgtype: &str, userdata: &str, end: &str) -> Result<(), BoxError> {
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
            if let Some(write) = self.writer.lock().await.as_mut() {
                if write.write_all(&packet).await.is_ok() {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > by {
                return Err("ussd-sim: serve is not connected".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Serve's next screen of this session, within `wait`.
    async fn screen(&mut self, wait: Duration) -> Result<Packet, BoxError> {
        let by = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(by, self.screens.recv()).await {
                Ok(Some(reply)) if reply.session_id == self.session => return Ok(reply),
                // A late screen of an earlier session: not this one's.
                Ok(Some(_)) => {}
                Ok(None) => return Err("ussd-sim: stopped listening".into()),
                Err(_) => return Err("ussd-sim: no screen from serve in time".into()),
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
            Some(answer) => self.request("4", answer, "0").await?,
        }
        let reply = self.screen(PATIENCE).await?;
        let end = reply.field("msgtype") == Some("6") || reply.field("EndofSession") == Some("1");
        Ok((end, reply.field("userdata").unwrap_or_default().to_owned()))
    }

    async fn notify(&mut self, status: &str) {
        // A session its last screen ended needs nothing more; hanging up
        // is MTN's end of session, which serve answers with a goodbye.
        if status != "Success" && self.request("4", "", "1").await.is_ok() {
            let _ = self.screen(HANG_UP).await;
        }
    }
}

/// Takes serve's connections one after another: each logs in, and its
/// screens go to `screens`; `up` hears of each login.
async fn accept(
    listener: TcpListener,
    writer: Writer,
    screens: mpsc::UnboundedSender<Packet>,
    up: mpsc::UnboundedSender<()>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        serve_connection(stream, &writer, &screens, &up).await;
        *writer.lock().await = None;
        eprintln!("ussd-sim: serve's connection closed; waiting for it to dial again");
    }
}

/// One connection from serve, until it closes.
async fn serve_connection(
    stream: TcpStream,
    writer: &Writer,
    screens: &mpsc::UnboundedSender<Packet>,
    up: &mpsc::UnboundedSender<()>,
) {
    let (mut read, write) = stream.into_split();
    *writer.lock().await = Some(write);
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match read.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        while let Ok(Some(len)) = frame_len(&buffer) {
            let frame: Vec<u8> = buffer.drain(..len).collect();
            let Ok(packet) = Packet::parse(&frame) else {
                continue;
            };
            let answer = match packet.kind.as_str() {
                "AUTHRequest" => {
                    eprintln!(
                        "ussd-sim: serve logged in as {}",
                        packet.field("userName").unwrap_or_default()
                    );
                    let _ = up.send(());
                    Some(
                        Packet::new(&packet.session_id, "AUTHResponse")
                            .with("requestId", packet.field("requestId").unwrap_or_default())
                            .with("authMsg", "SUCCESS"),
                    )
                }
                "ENQRequest" => Some(
                    Packet::new(&packet.session_id, "ENQResponse")
                        .with("requestId", packet.field("requestId").unwrap_or_default())
                        .with("enqCmd", "ENQUIRELINKRSP"),
                ),
                "USSDResponse" => {
                    let _ = screens.send(packet);
                    None
                }
                "USSDError" => {
                    eprintln!(
                        "ussd-sim: serve refused a packet (error {})",
                        packet.field("errorCode").unwrap_or_default()
                    );
                    None
                }
                _ => None,
            };
            if let Some(answer) = answer {
                if let Some(write) = writer.lock().await.as_mut() {
                    if write.write_all(&answer.to_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        }
        if frame_len(&buffer).is_err() {
            // Out of step with serve: a new connection starts clean.
            return;
        }
    }
}
