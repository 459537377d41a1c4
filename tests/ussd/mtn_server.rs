//! A stand-in for MTN Nigeria's USSD gateway (which cannot run here): it
//! listens on loopback, and each connection our link opens speaks the XML
//! over TCP of ussd.md §4 (vumi's `xml_over_tcp.py`). Written apart from
//! the crate's codec, from the wire description, so the two cannot share
//! a misreading.

// `tests/cli_serve.rs` includes this file too, and uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a test waits for anything from the link.
const PATIENCE: Duration = Duration::from_secs(10);

/// MTN's side: accepts the link's connections.
pub(crate) struct MtnServer {
    listener: TcpListener,
}

/// One packet, read.
#[derive(Debug, Clone)]
pub(crate) struct Packet {
    pub(crate) session: String,
    pub(crate) kind: String,
    pub(crate) fields: HashMap<String, String>,
}

impl Packet {
    pub(crate) fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// A screen as the handset gets it.
#[derive(Debug)]
pub(crate) struct Shown {
    pub(crate) text: String,
    /// `msgtype` 6 with `EndofSession` 1.
    pub(crate) end: bool,
    pub(crate) reply: Packet,
}

impl MtnServer {
    pub(crate) async fn start() -> MtnServer {
        MtnServer {
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    pub(crate) fn addr(&self) -> String {
        self.listener.local_addr().unwrap().to_string()
    }

    /// The link's next connection.
    pub(crate) async fn accept(&self) -> Connection {
        let (stream, _) = tokio::time::timeout(PATIENCE, self.listener.accept())
            .await
            .expect("the link connects")
            .unwrap();
        Connection {
            stream,
            buffer: Vec::new(),
            sent: 0,
        }
    }

    /// The link's next connection within `wait`, if it makes one.
    pub(crate) async fn try_accept(&self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.listener.accept())
            .await
            .is_ok()
    }

    /// The link's next connection, and its login.
    pub(crate) async fn accept_login(&self) -> (Connection, Packet) {
        let mut connection = self.accept().await;
        let login = connection.recv().await;
        assert_eq!(login.kind, "AUTHRequest", "{login:?}");
        (connection, login)
    }

    /// The link's next connection, logged in.
    pub(crate) async fn accept_logged_in(&self) -> Connection {
        let (mut connection, login) = self.accept_login().await;
        connection.welcome(&login).await;
        connection
    }
}

/// One connection from the link.
pub(crate) struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Hops sent (each gets its own request id).
    sent: usize,
}

impl Connection {
    /// Accepts `login`.
    pub(crate) async fn welcome(&mut self, login: &Packet) {
        let id = login.get("requestId");
        self.send(
            "1",
            "AUTHResponse",
            &[("requestId", id), ("authMsg", "SUCCESS")],
        )
        .await;
    }

    /// Writes raw bytes.
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub(crate) async fn send(&mut self, session: &str, kind: &str, fields: &[(&str, &str)]) {
        let mut body = format!("<{kind}>");
        for (name, value) in fields {
            let value = value
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            body.push_str(&format!("<{name}>{value}</{name}>"));
        }
        body.push_str(&format!("</{kind}>"));
        self.send_raw(&frame(session, body.as_bytes())).await;
    }

    /// The next packet, whatever it is.
    pub(crate) async fn recv(&mut self) -> Packet {
        self.try_recv(PATIENCE)
            .await
            .expect("a packet from the link")
    }

    /// The next packet within `wait`; `None` if the link closed the
    /// connection or sent nothing.
    pub(crate) async fn try_recv(&mut self, wait: Duration) -> Option<Packet> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.buffer.len() >= 32 {
                let len: usize = text(&self.buffer[16..32]).trim().parse().unwrap();
                if self.buffer.len() >= len {
                    let packet: Vec<u8> = self.buffer.drain(..len).collect();
                    return Some(read(&packet));
                }
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => self.buffer.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Whether the link closes this connection within `wait` (packets it
    /// sends before are skipped).
    pub(crate) async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }

    /// Sends a hop of `session` from `msisdn`; its request id.
    pub(crate) async fn send_hop(
        &mut self,
        session: &str,
        msisdn: &str,
        msgtype: &str,
        userdata: &str,
        end_of_session: &str,
    ) -> String {
        self.sent += 1;
        let request_id = format!("{}", 1_000_000 + self.sent);
        self.send(
            session,
            "USSDRequest",
            &[
                ("requestId", &request_id),
                ("msisdn", msisdn),
                ("starCode", "123"),
                ("clientId", "0123"),
                ("phase", "2"),
                ("msgtype", msgtype),
                ("dcs", "15"),
                ("userdata", userdata),
                ("EndofSession", end_of_session),
            ],
        )
        .await;
        request_id
    }

    /// The next packet other than an enquiry (which is answered).
    pub(crate) async fn recv_answering(&mut self) -> Packet {
        loop {
            let packet = self.recv().await;
            if packet.kind != "ENQRequest" {
                return packet;
            }
            let id = packet.get("requestId").to_owned();
            self.send(
                &packet.session,
                "ENQResponse",
                &[("requestId", &id), ("enqCmd", "ENQUIRELINKRSP")],
            )
            .await;
        }
    }

    /// The next screen, of whichever session.
    pub(crate) async fn next_screen(&mut self) -> Shown {
        let reply = self.recv_answering().await;
        assert_eq!(reply.kind, "USSDResponse", "{reply:?}");
        assert_eq!(reply.get("starCode"), "123");
        assert_eq!(reply.get("clientId"), "0123");
        assert_eq!(reply.get("phase"), "2");
        assert_eq!(reply.get("dcs"), "15");
        let end = match (reply.get("msgtype"), reply.get("EndofSession")) {
            ("2", "0") => false,
            ("6", "1") => true,
            other => panic!("msgtype and EndofSession {other:?}"),
        };
        Shown {
            text: reply.get("userdata").to_owned(),
            end,
            reply,
        }
    }

    /// A hop of `session` from `msisdn`, and the link's reply to it.
    pub(crate) async fn hop(
        &mut self,
        session: &str,
        msisdn: &str,
        msgtype: &str,
        userdata: &str,
        end_of_session: &str,
    ) -> Shown {
        let request_id = self
            .send_hop(session, msisdn, msgtype, userdata, end_of_session)
            .await;
        let shown = self.next_screen().await;
        assert_eq!(shown.reply.session, session, "{shown:?}");
        assert_eq!(shown.reply.get("requestId"), request_id, "{shown:?}");
        assert_eq!(shown.reply.get("msisdn"), msisdn);
        shown
    }

    /// Dials `*123#` as `msisdn`, then answers each of `answers`; the last
    /// screen.
    pub(crate) async fn session(&mut self, session: &str, msisdn: &str, answers: &[&str]) -> Shown {
        let mut shown = self.hop(session, msisdn, "1", "*123#", "0").await;
        for answer in answers {
            assert!(!shown.end, "ended before {answer:?}: {shown:?}");
            shown = self.hop(session, msisdn, "4", answer, "0").await;
        }
        shown
    }
}

/// A packet: the session id and length, each NUL-padded to 16 bytes, then the body.
pub(crate) fn frame(session: &str, body: &[u8]) -> Vec<u8> {
    let mut out = session.as_bytes().to_vec();
    out.resize(16, 0);
    out.extend_from_slice((32 + body.len()).to_string().as_bytes());
    out.resize(32, 0);
    out.extend_from_slice(body);
    out
}

fn text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .filter(|&&b| b != 0)
        .map(|&b| char::from(b))
        .collect()
}

/// `<Kind><name>value</name>…</Kind>`, the only shape the protocol has.
fn read(packet: &[u8]) -> Packet {
    let session = text(&packet[..16]);
    let body = text(&packet[32..]);
    let open = body.find('>').expect("a root element");
    let kind = body[1..open].to_owned();
    let mut rest = &body[open + 1..body.len() - kind.len() - 3];
    let mut fields = HashMap::new();
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').unwrap() + start;
        let name = &rest[start + 1..end];
        let close = format!("</{name}>");
        let stop = rest.find(&close).unwrap();
        fields.insert(name.to_owned(), unescape(&rest[end + 1..stop]));
        rest = &rest[stop + close.len()..];
    }
    Packet {
        session,
        kind,
        fields,
    }
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = rest[amp..].find(';').unwrap() + amp;
        let entity = &rest[amp + 1..semi];
        match entity {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            number => {
                out.push(char::from_u32(number.trim_start_matches('#').parse().unwrap()).unwrap())
            }
        }
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    out
}
