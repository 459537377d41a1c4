//! Per-session captchas: five random characters, drawn into a real PNG so a
//! graphical host can show it, and also spelled out in the field's hint so a
//! terminal, a USSD menu or a test can answer without reading the image.

use crate::form::{ContentType, Extra, Field, FieldKind, Form};

/// Characters a captcha is drawn from: no `I`/`1`/`O`/`0` look-alikes. 32 of
/// them, so a random byte modulo 32 is unbiased.
const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Characters per captcha (the field's `length`).
pub(crate) const LENGTH: usize = 5;

/// What comes before the answer in the hint (see [`captcha_answer`]).
const HINT_PREFIX: &str = "Type the characters in the image (sandbox: ";

/// Five characters from [`ALPHABET`], one per byte of `bits`: the caller
/// brings the randomness (the bank's injected entropy), so a test can fix it.
pub(crate) fn text(bits: u128) -> String {
    bits.to_be_bytes()
        .iter()
        .take(LENGTH)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The captcha field `name` for `text`: kind captcha, `length: 5`, the PNG
/// as a `data:` URL in `value`, and the answer at the end of the hint.
pub(crate) fn field(name: &str, text: &str) -> Field {
    Field {
        kind: FieldKind::Captcha,
        name: name.into(),
        hint: format!("{HINT_PREFIX}{text})"),
        content_type: ContentType::Text,
        max_length: None,
        length: Some(LENGTH as u32),
        value: Some(format!("data:image/png;base64,{}", base64(&png(text)))),
        options: Vec::new(),
        extra: Extra::new(),
    }
}

/// The expected answer of a sandbox captcha in `form`, read back from the
/// captcha field's hint (`"… (sandbox: ABCDE)"`).
///
/// This is the sandbox's documented convention, so that demos and tests can
/// solve a captcha without OCR; the PNG in the field's `value` shows the same
/// characters. `None` when the form has no captcha field or the hint does not
/// follow the convention (a real partner's captcha).
pub fn captcha_answer(form: &Form) -> Option<String> {
    let field = form.fields.iter().find(|f| f.kind == FieldKind::Captcha)?;
    let rest = field.hint.strip_prefix(HINT_PREFIX)?;
    let answer = rest.strip_suffix(')')?;
    (!answer.is_empty()).then(|| answer.to_owned())
}

// ---- a tiny PNG writer ----------------------------------------------------

/// 5×7 glyphs, one byte per row, bit 4 the leftmost pixel.
fn glyph(c: u8) -> [u8; 7] {
    match c {
        b'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        b'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        b'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        b'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        b'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        b'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        b'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        b'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        b'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        b'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        b'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        b'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        b'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        b'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        b'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        b'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        b'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        b'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        b'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        b'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        b'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        b'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        b'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        b'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        b'2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        b'3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        b'4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        b'5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        b'6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        b'7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        b'8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        b'9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        _ => [0; 7],
    }
}

const SCALE: usize = 4;
const MARGIN: usize = 2 * SCALE;

/// `text` in dark grey on white, as an 8-bit greyscale PNG. Uncompressed
/// (stored deflate blocks): a captcha is a few kilobytes either way, and this
/// keeps the sandbox free of an image crate.
fn png(text: &str) -> Vec<u8> {
    let cell = 6 * SCALE; // 5 columns + 1 of spacing
    let width = 2 * MARGIN + text.len() * cell - SCALE;
    let height = 2 * MARGIN + 7 * SCALE;
    let mut raw = Vec::with_capacity((width + 1) * height);
    for y in 0..height {
        raw.push(0); // filter type: none
        for x in 0..width {
            let on = (|| {
                let gx = x.checked_sub(MARGIN)?;
                let gy = y.checked_sub(MARGIN)? / SCALE;
                let (index, col) = (gx / cell, (gx % cell) / SCALE);
                let row = *glyph(*text.as_bytes().get(index)?).get(gy)?;
                (col < 5 && row & (0x10 >> col) != 0).then_some(())
            })()
            .is_some();
            raw.push(if on { 0x30 } else { 0xFF });
        }
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = data.chunks(0xFFFF).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    if blocks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in data {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn crc_and_png_header() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let png = png("AB2");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82])); // IEND's CRC
    }

    #[test]
    fn answer_round_trips_through_the_hint() {
        let text = text(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(text.len(), LENGTH);
        assert!(text.bytes().all(|b| ALPHABET.contains(&b)));
        let form = Form::new(
            "Login",
            vec![
                Field::input("username", "Username"),
                field("captcha", &text),
            ],
        );
        assert_eq!(captcha_answer(&form), Some(text));
        assert_eq!(captcha_answer(&Form::new("x", vec![])), None);
    }
}
