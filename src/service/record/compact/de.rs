//! Reading a value in the compact form (the format: `mod.rs`).
//!
//! A stored record is untrusted input (an unsealed store, a corrupt
//! byte): every length is checked against what is left, strings against
//! UTF-8, nesting against [`MAX_DEPTH`] and what references repeat against
//! [`MAX_REFERENCED`], so bad bytes are an error, never a panic, an
//! over-allocation or a stack overflow.

use super::{
    names, Error, END, FALSE, FLOAT, MAP, MAX_REFERENCED, MAX_REFS, MIN_REF_LEN, NAME, NINT, NULL,
    REF, SEQ, SMALL, STR, TRUE, UINT,
};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// Deeper than any record, and as deep as serde_json reads (it refuses a
/// 128th level), so every record read here has a JSON view serde_json
/// reads back.
const MAX_DEPTH: usize = 127;

/// The value in `bytes`, which must hold exactly one.
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut reader = Reader::new(bytes);
    let value = T::deserialize(&mut reader)?;
    if reader.input.is_empty() {
        Ok(value)
    } else {
        Err(Error("bytes after the record".into()))
    }
}

/// Where a read is in a record's bytes.
pub(super) struct Reader<'de> {
    /// What is left to read.
    pub(super) input: &'de [u8],
    /// How many sequences and maps the read is inside.
    depth: usize,
    /// The strings a [`REF`] can name, in the order read (as the writer
    /// counted them: `mod.rs`).
    strings: [&'de str; MAX_REFS],
    /// How many of `strings` there are.
    count: usize,
    /// The bytes [`REF`]s have repeated so far.
    referenced: usize,
}

fn error(what: &str) -> Error {
    Error(what.into())
}

impl<'de> Reader<'de> {
    pub(super) fn new(input: &'de [u8]) -> Reader<'de> {
        Reader {
            input,
            depth: 0,
            strings: [""; MAX_REFS],
            count: 0,
            referenced: 0,
        }
    }

    pub(super) fn peek(&self) -> Result<u8, Error> {
        self.input
            .first()
            .copied()
            .ok_or_else(|| error("ends early"))
    }

    pub(super) fn byte(&mut self) -> Result<u8, Error> {
        let (first, rest) = self
            .input
            .split_first()
            .ok_or_else(|| error("ends early"))?;
        self.input = rest;
        Ok(*first)
    }

    pub(super) fn leb128(&mut self) -> Result<u64, Error> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte holds one bit of a u64.
            if shift == 63 && bits > 1 {
                break;
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(error("has an integer past 64 bits"))
    }

    pub(super) fn take(&mut self, len: u64) -> Result<&'de [u8], Error> {
        let len = usize::try_from(len).ok().filter(|&n| n <= self.input.len());
        let (taken, rest) = self
            .input
            .split_at(len.ok_or_else(|| error("ends inside a string"))?);
        self.input = rest;
        Ok(taken)
    }

    /// The content of a [`STR`], its tag read.
    pub(super) fn str(&mut self) -> Result<&'de str, Error> {
        let len = self.leb128()?;
        let s = std::str::from_utf8(self.take(len)?)
            .map_err(|_| error("has a string that is not UTF-8"))?;
        if s.len() >= MIN_REF_LEN && self.count < MAX_REFS {
            self.strings[self.count] = s;
            self.count += 1;
        }
        Ok(s)
    }

    /// The string a [`REF`] names, its tag read.
    pub(super) fn reference(&mut self) -> Result<&'de str, Error> {
        let at = usize::from(self.byte()?);
        let s = self.strings[..self.count]
            .get(at)
            .copied()
            .ok_or_else(|| error("refers to a string it does not hold"))?;
        self.referenced += s.len();
        if self.referenced > MAX_REFERENCED {
            return Err(error("repeats more than a record holds"));
        }
        Ok(s)
    }

    /// Any string: a name, a [`STR`] or a [`REF`], its tag read.
    pub(super) fn string(&mut self, tag: u8) -> Result<Option<&'de str>, Error> {
        Ok(Some(match tag {
            STR => self.str()?,
            REF => self.reference()?,
            tag if tag >= NAME => Reader::name(tag)?,
            _ => return Ok(None),
        }))
    }

    pub(super) fn float(&mut self) -> Result<f64, Error> {
        let bytes: [u8; 8] = self.take(8)?.try_into().map_err(|_| error("ends early"))?;
        Ok(f64::from_le_bytes(bytes))
    }

    pub(super) fn negative(&mut self) -> Result<i64, Error> {
        let n = i64::try_from(self.leb128()?).map_err(|_| error("has an integer below i64"))?;
        Ok(!n)
    }

    /// A name's string, its tag read.
    pub(super) fn name(tag: u8) -> Result<&'static str, Error> {
        names::NAMES
            .get(usize::from(tag - NAME))
            .copied()
            .ok_or_else(|| error("names a string this build does not know"))
    }

    /// Into a sequence or map (its tag read), no deeper than [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error("nests too deep"));
        }
        Ok(())
    }

    /// Out of a sequence or map: its [`END`] must be next.
    pub(super) fn leave(&mut self) -> Result<(), Error> {
        self.depth -= 1;
        match self.byte()? {
            END => Ok(()),
            _ => Err(error("has more than its reader took")),
        }
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Error;

    fn is_human_readable(&self) -> bool {
        true
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let tag = self.byte()?;
        if let Some(string) = self.string(tag)? {
            return visitor.visit_borrowed_str(string);
        }
        match tag {
            NULL => visitor.visit_unit(),
            FALSE => visitor.visit_bool(false),
            TRUE => visitor.visit_bool(true),
            UINT => visitor.visit_u64(self.leb128()?),
            NINT => visitor.visit_i64(self.negative()?),
            FLOAT => visitor.visit_f64(self.float()?),
            SEQ => {
                self.enter()?;
                let value = visitor.visit_seq(Items(&mut *self))?;
                self.leave()?;
                Ok(value)
            }
            MAP => {
                self.enter()?;
                let value = visitor.visit_map(Items(&mut *self))?;
                self.leave()?;
                Ok(value)
            }
            tag if tag >= SMALL => visitor.visit_u64(u64::from(tag - SMALL)),
            _ => Err(error("has an unknown tag")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek()? == NULL {
            self.byte()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let tag = self.byte()?;
        // A unit variant: its name.
        if let Some(name) = self.string(tag)? {
            return visitor.visit_enum(name.into_deserializer());
        }
        match tag {
            // Any other: a one-entry map from its name to its content.
            MAP => {
                self.enter()?;
                let value = visitor.visit_enum(Variant(&mut *self))?;
                self.leave()?;
                Ok(value)
            }
            _ => Err(error("has an enum that is neither a name nor a map")),
        }
    }

    // A value skipped is read as any value is (serde's `IgnoredAny` drops
    // it), so it is checked the same way: a name this build does not know
    // is an error even where it would be skipped.
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

/// A sequence's items or a map's entries, up to its [`END`].
struct Items<'a, 'de>(&'a mut Reader<'de>);

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.0.peek()? == END {
            return Ok(None);
        }
        seed.deserialize(&mut *self.0).map(Some)
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.0.peek()? == END {
            return Ok(None);
        }
        seed.deserialize(&mut *self.0).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.0)
    }
}

/// A variant written as a one-entry map: its name, then its content.
struct Variant<'a, 'de>(&'a mut Reader<'de>);

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let name = seed.deserialize(&mut *self.0)?;
        Ok((name, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.0)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.0)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(&mut *self.0, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(&mut *self.0, visitor)
    }
}
