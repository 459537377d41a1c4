//! One packet of MTN Nigeria's XML over TCP, and where one ends in a stream
//! (public for tools that play either side: `connectflow ussd-sim
//! --mtn-ng-listen` plays MTN's gateway with it).
//!
//! Invariant: [`Packet::to_bytes`] writes what [`Packet::parse`] reads back
//! field for field (values trimmed, as the protocol's readers take them),
//! whatever the text: markup characters are escaped and characters past
//! Latin-1 sent as character references (property-tested below).
//!
//! The wire (ussd.md §4; vumi's `xml_over_tcp.py`, the reference's source):
//! a 32-byte header, then an XML body of one element whose children are
//! the fields, in Latin-1.
//!
//! ```text
//! 0               16              32
//! ┌───────────────┬───────────────┬──────────────────────────────────────┐
//! │ session id    │ length        │ <USSDRequest><msisdn>234…</msisdn>…  │
//! │ ASCII, NUL-   │ decimal ASCII,│ </USSDRequest>                       │
//! │ padded        │ NUL-padded    │                                      │
//! └───────────────┴───────────────┴──────────────────────────────────────┘
//!                  length counts the header too
//! ```

use quick_xml::events::Event;
use quick_xml::Reader;

/// Bytes of the session id field, then of the length field.
const FIELD_LEN: usize = 16;
/// The header: session id and length.
pub const HEADER_LEN: usize = 2 * FIELD_LEN;
/// No packet is longer (a USSD screen is at most 182 characters; a request
/// a few hundred bytes). A longer length is a stream out of step.
pub const MAX_PACKET: usize = 16 * 1024;

/// One packet: its header's session id, its root element (`USSDRequest`,
/// `ENQRequest`, …) and its fields in order.
///
/// Built for the protocol's own packets: the kind and field names are
/// written as given (they are the protocol's names, never escaped), a
/// session id past 16 bytes is cut to 16 (the header's room), and a packet
/// past [`MAX_PACKET`] is written but refused by any reader of this module.
/// Values may be any text.
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    /// The header's session id (digits; at most 16 bytes are sent).
    pub(crate) session_id: String,
    /// The body's root element.
    pub(crate) kind: String,
    /// Each child element's name and text.
    pub(crate) fields: Vec<(String, String)>,
}

/// Debug without values: `AUTHRequest` carries the account's password, and
/// `USSDRequest` what the person typed (a PIN).
impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.fields.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Packet")
            .field("session_id", &self.session_id)
            .field("kind", &self.kind)
            .field("fields", &names)
            .finish()
    }
}

/// Why bytes are not a packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The header's length is not a number between the header's length and
    /// [`MAX_PACKET`]: where the next packet starts is lost.
    #[error("a packet header's length is unreadable or out of range")]
    Length,
    /// Fewer bytes than the header says.
    #[error("the packet is shorter than its header says")]
    Short,
    /// The body is not one XML element of fields.
    #[error("the packet's body is not readable XML: {0}")]
    Body(String),
}

impl Packet {
    /// A packet of `kind` for `session_id`, without fields yet.
    pub fn new(session_id: &str, kind: &str) -> Packet {
        Packet {
            session_id: session_id.to_owned(),
            kind: kind.to_owned(),
            fields: Vec::new(),
        }
    }

    /// With one more field.
    pub fn with(mut self, name: &str, value: &str) -> Packet {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The header's session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The body's root element: what kind of packet it is.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The packet as sent: header, then the body in Latin-1.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut xml = String::with_capacity(64 + self.fields.len() * 32);
        xml.push('<');
        xml.push_str(&self.kind);
        xml.push('>');
        for (name, value) in &self.fields {
            xml.push('<');
            xml.push_str(name);
            xml.push('>');
            xml.push_str(&quick_xml::escape::partial_escape(value.as_str()));
            xml.push_str("</");
            xml.push_str(name);
            xml.push('>');
        }
        xml.push_str("</");
        xml.push_str(&self.kind);
        xml.push('>');
        let body = latin1(&xml);
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        out.extend_from_slice(&padded(self.session_id.as_bytes()));
        out.extend_from_slice(&padded((HEADER_LEN + body.len()).to_string().as_bytes()));
        out.extend_from_slice(&body);
        out
    }

    /// Reads one whole packet (as [`frame_len`] cut it from the stream).
    pub fn parse(frame: &[u8]) -> Result<Packet, PacketError> {
        let len = frame_len(frame)?.ok_or(PacketError::Short)?;
        let session_id = session_of(frame);
        // Latin-1 is the protocol's encoding: each byte is the character
        // of that number.
        let body: String = frame[HEADER_LEN..len]
            .iter()
            .map(|&b| char::from(b))
            .collect();
        let (kind, fields) = read_body(&body)?;
        Ok(Packet {
            session_id,
            kind,
            fields,
        })
    }
}

/// The length of the packet at the front of `stream`, once all of it has
/// arrived (`None`: not yet); an error when its header cannot be read,
/// after which the stream's packets can no longer be told apart.
pub fn frame_len(stream: &[u8]) -> Result<Option<usize>, PacketError> {
    let Some(header) = stream.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let digits = unpadded(&header[FIELD_LEN..]);
    let len: usize = digits.trim().parse().map_err(|_| PacketError::Length)?;
    if !(HEADER_LEN..=MAX_PACKET).contains(&len) {
        return Err(PacketError::Length);
    }
    Ok((stream.len() >= len).then_some(len))
}

/// The session id in `frame`'s header, whatever follows it.
pub(crate) fn session_of(frame: &[u8]) -> String {
    unpadded(frame.get(..FIELD_LEN).unwrap_or_default())
}

/// A header field's text: its bytes without the NULs that pad it.
fn unpadded(field: &[u8]) -> String {
    field
        .iter()
        .filter(|&&b| b != 0)
        .map(|&b| char::from(b))
        .collect()
}

/// A header field: `text`'s first 16 bytes, padded with NULs to 16.
fn padded(text: &[u8]) -> [u8; FIELD_LEN] {
    let mut field = [0; FIELD_LEN];
    let n = text.len().min(FIELD_LEN);
    field[..n].copy_from_slice(&text[..n]);
    field
}

/// `xml` in Latin-1, a character past it as a character reference (what
/// the protocol's own clients write: Python's `xmlcharrefreplace`).
fn latin1(xml: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len());
    for c in xml.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => out.push(b),
            Err(_) => out.extend_from_slice(format!("&#{};", u32::from(c)).as_bytes()),
        }
    }
    out
}

/// The root element's name and its children's names and trimmed texts.
/// Text of elements nested deeper is not a field's and is left out.
fn read_body(body: &str) -> Result<(String, Vec<(String, String)>), PacketError> {
    let bad = |e: &dyn std::fmt::Display| PacketError::Body(e.to_string());
    let mut reader = Reader::from_str(body);
    let mut kind: Option<String> = None;
    let mut closed = false;
    let mut fields = Vec::new();
    // Inside the root (1), inside a field (2), deeper (3+).
    let mut depth = 0usize;
    let mut name = String::new();
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(|e| bad(&e))?;
        match event {
            Event::Start(_) | Event::Empty(_) if closed => {
                return Err(PacketError::Body("more than one root element".into()));
            }
            Event::Start(e) => {
                let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match depth {
                    0 => kind = Some(tag),
                    1 => {
                        name = tag;
                        text.clear();
                    }
                    _ => {}
                }
                depth += 1;
            }
            Event::Empty(e) => {
                let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match depth {
                    0 => {
                        kind = Some(tag);
                        closed = true;
                    }
                    1 => fields.push((tag, String::new())),
                    _ => {}
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                match depth {
                    0 => closed = true,
                    1 => fields.push((std::mem::take(&mut name), text.trim().to_owned())),
                    _ => {}
                }
            }
            Event::Text(t) if depth == 2 => text.push_str(&t.decode().map_err(|e| bad(&e))?),
            Event::CData(t) if depth == 2 => text.push_str(&t.decode().map_err(|e| bad(&e))?),
            // A reference's text is not named in its error: it is a field's
            // text, which may be what a person typed, and errors are logged.
            Event::GeneralRef(r) if depth == 2 => {
                let unreadable = || PacketError::Body("an unreadable reference".into());
                if let Some(c) = r.resolve_char_ref().map_err(|_| unreadable())? {
                    text.push(c);
                } else {
                    let entity = r.decode().map_err(|_| unreadable())?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&entity)
                        .ok_or_else(unreadable)?;
                    text.push_str(resolved);
                }
            }
            Event::Eof => break,
            // Declarations, comments, whitespace between fields, text
            // nested deeper than a field.
            _ => {}
        }
    }
    match kind {
        Some(kind) if closed => Ok((kind, fields)),
        Some(_) => Err(PacketError::Body("the root element is not closed".into())),
        None => Err(PacketError::Body("no root element".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A packet of `session` around `body`, written by hand.
    fn frame(session: &str, body: &str) -> Vec<u8> {
        let mut frame = session.as_bytes().to_vec();
        frame.resize(16, 0);
        frame.extend_from_slice((32 + body.len()).to_string().as_bytes());
        frame.resize(32, 0);
        frame.extend_from_slice(body.as_bytes());
        frame
    }

    /// vumi's test packet, byte for byte: what the protocol's reference
    /// client writes for a reply.
    #[test]
    fn a_reply_is_written_as_the_reference_client_writes_it() {
        let packet = Packet::new("0", "USSDResponse")
            .with("requestId", "1291850641")
            .with("userdata", "We are the Knights Who Say ... Ni!");
        let body = "<USSDResponse><requestId>1291850641</requestId>\
                    <userdata>We are the Knights Who Say ... Ni!</userdata></USSDResponse>";
        assert_eq!(packet.to_bytes(), frame("0", body));
    }

    #[test]
    fn a_request_reads_with_entities_character_references_and_cdata() {
        let body = "<?xml version=\"1.0\"?><USSDRequest>\n  <msisdn> 2348031234567 </msisdn>\
                    <userdata>a&amp;b &#233;&#x263A; <![CDATA[<1>]]></userdata><clientId/></USSDRequest>";
        let frame = frame("4242", body);
        let packet = Packet::parse(&frame).unwrap();
        assert_eq!(packet.session_id, "4242");
        assert_eq!(packet.kind, "USSDRequest");
        assert_eq!(packet.field("msisdn"), Some("2348031234567"));
        assert_eq!(packet.field("userdata"), Some("a&b é\u{263a} <1>"));
        assert_eq!(packet.field("clientId"), Some(""));
    }

    #[test]
    fn a_stream_is_cut_at_each_packets_length_and_a_bad_length_is_an_error() {
        let one = Packet::new("1", "ENQRequest")
            .with("enqCmd", "ENQUIRELINK")
            .to_bytes();
        let mut stream = one.clone();
        stream.extend_from_slice(&one[..10]);
        assert_eq!(frame_len(&stream), Ok(Some(one.len())));
        assert_eq!(frame_len(&one[..31]), Ok(None));
        assert_eq!(frame_len(&one[..one.len() - 1]), Ok(None));
        let mut bad = one.clone();
        bad[16] = b'x';
        assert_eq!(frame_len(&bad), Err(PacketError::Length));
        let mut huge = [0u8; 32];
        huge[16..22].copy_from_slice(b"999999");
        assert_eq!(frame_len(&huge), Err(PacketError::Length));
        let mut tiny = [0u8; 32];
        tiny[16] = b'5';
        assert_eq!(frame_len(&tiny), Err(PacketError::Length));
    }

    #[test]
    fn a_body_that_is_not_one_element_of_fields_is_an_error() {
        for body in [
            "",
            "<a><b>1</b>",
            "<a></a><b></b>",
            "<a><b>&nope;</b></a>",
            "no xml",
        ] {
            let frame = frame("1", body);
            assert!(
                matches!(Packet::parse(&frame), Err(PacketError::Body(_))),
                "{body:?}"
            );
        }
    }

    /// Errors are logged: one about a field's text does not quote it.
    #[test]
    fn an_unreadable_reference_is_not_quoted_in_its_error() {
        for body in ["<a><b>&pin4921;</b></a>", "<a><b>&#x4921FFFF;</b></a>"] {
            let frame = frame("1", body);
            let error = Packet::parse(&frame).unwrap_err();
            assert_eq!(error, PacketError::Body("an unreadable reference".into()));
            assert!(!error.to_string().contains("4921"), "{error}");
        }
    }

    #[test]
    fn debug_shows_no_value() {
        let login = Packet::new("1", "AUTHRequest").with("passWord", "hunter2");
        let shown = format!("{login:?}");
        assert!(
            shown.contains("passWord") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    proptest! {
        /// Invariant: any field text XML can carry (markup characters,
        /// characters past Latin-1; not the C0 controls XML 1.0 forbids)
        /// comes back from the wire as it was sent, trimmed, and the
        /// packet's length is what its header says.
        #[test]
        fn what_is_written_reads_back(
            session in "[0-9]{1,16}",
            values in proptest::collection::vec(r"[^\x00-\x08\x0B\x0C\x0E-\x1F]{0,40}", 0..6),
        ) {
            let mut packet = Packet::new(&session, "USSDResponse");
            for (i, v) in values.iter().enumerate() {
                packet = packet.with(&format!("f{i}"), v);
            }
            let bytes = packet.to_bytes();
            prop_assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
            let back = Packet::parse(&bytes).unwrap();
            prop_assert_eq!(&back.session_id, &session);
            prop_assert_eq!(back.kind.as_str(), "USSDResponse");
            for (i, v) in values.iter().enumerate() {
                let name = format!("f{i}");
                prop_assert_eq!(back.field(&name), Some(v.trim()));
            }
        }
    }
}
