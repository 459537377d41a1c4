//! A compact record as JSON, for tools and tests that look inside records
//! (`record_json`): each value written as JSON writes it, keys in stored
//! order; a key that is not a string (a number, a boolean) is quoted, as
//! JSON's serializer does for map keys.

use super::de::Reader;
use super::{Error, END, FALSE, FLOAT, MAP, NINT, NULL, SEQ, SMALL, TRUE, UINT};

/// The JSON of the one value in `bytes`.
pub(crate) fn to_json(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut reader = Reader::new(bytes);
    let mut out = Vec::with_capacity(bytes.len() * 3);
    value(&mut reader, &mut out, false)?;
    if !reader.input.is_empty() {
        return Err(Error("bytes after the record".into()));
    }
    Ok(out)
}

fn string(out: &mut Vec<u8>, s: &str) -> Result<(), Error> {
    serde_json::to_writer(out, s).map_err(|e| Error(e.to_string()))
}

/// One value; `key`: as a map's key (always a JSON string).
fn value(reader: &mut Reader<'_>, out: &mut Vec<u8>, key: bool) -> Result<(), Error> {
    let tag = reader.byte()?;
    if let Some(s) = reader.string(tag)? {
        return string(out, s);
    }
    let scalar = match tag {
        SEQ | MAP if key => return Err(Error("has a map key that is not a scalar".into())),
        SEQ | MAP => {
            reader.enter()?;
            out.push(if tag == SEQ { b'[' } else { b'{' });
            let mut first = true;
            while reader.peek()? != END {
                if !first {
                    out.push(b',');
                }
                first = false;
                if tag == MAP {
                    value(reader, out, true)?;
                    out.push(b':');
                }
                value(reader, out, false)?;
            }
            reader.leave()?;
            out.push(if tag == SEQ { b']' } else { b'}' });
            return Ok(());
        }
        NULL => "null".to_owned(),
        FALSE => "false".to_owned(),
        TRUE => "true".to_owned(),
        UINT => reader.leb128()?.to_string(),
        NINT => reader.negative()?.to_string(),
        FLOAT => serde_json::to_string(&reader.float()?).map_err(|e| Error(e.to_string()))?,
        tag if tag >= SMALL => (tag - SMALL).to_string(),
        _ => return Err(Error("has an unknown tag".into())),
    };
    if key {
        string(out, &scalar)
    } else {
        out.extend_from_slice(scalar.as_bytes());
        Ok(())
    }
}
