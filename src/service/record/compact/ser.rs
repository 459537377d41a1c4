//! Writing a value in the compact form (the format: `mod.rs`).

use super::{
    names, Error, END, FALSE, FLOAT, MAP, MAX_REFERENCED, MAX_REFS, MIN_REF_LEN, NAME, NINT, NULL,
    REF, SEQ, SMALL, STR, TRUE, UINT,
};
use serde::ser::{self, Serialize};

/// `header`, then `value` in the compact form.
pub(crate) fn to_vec<T: Serialize + ?Sized>(header: &[u8], value: &T) -> Result<Vec<u8>, Error> {
    // A session record is a few hundred bytes: sized once.
    let mut writer = Writer {
        out: Vec::with_capacity(512),
        strings: [(0, 0); MAX_REFS],
        count: 0,
        referenced: 0,
    };
    writer.out.extend_from_slice(header);
    value.serialize(&mut writer)?;
    Ok(writer.out)
}

struct Writer {
    /// The bytes so far.
    out: Vec<u8>,
    /// Where in them (start, length) the first [`MAX_REFS`] strings of at
    /// least [`MIN_REF_LEN`] bytes are, as a [`REF`] numbers them.
    strings: [(usize, usize); MAX_REFS],
    /// How many of `strings` there are.
    count: usize,
    /// The bytes [`REF`]s have repeated so far (held to [`MAX_REFERENCED`],
    /// as the reader holds them).
    referenced: usize,
}

impl Writer {
    fn uint(&mut self, n: u64) {
        if n < u64::from(NAME - SMALL) {
            self.out.push(SMALL + n as u8);
        } else {
            self.out.push(UINT);
            self.leb128(n);
        }
    }

    fn int(&mut self, n: i64) {
        match u64::try_from(n) {
            Ok(n) => self.uint(n),
            Err(_) => {
                self.out.push(NINT);
                // -1 - n for n < 0 is in 0..=i64::MAX: `!n` is that.
                self.leb128(!n as u64);
            }
        }
    }

    fn leb128(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    /// A name compiled in (a field's, a variant's): looked up by address.
    fn name(&mut self, s: &'static str) {
        match names::index_of_static(s) {
            Some(at) => self.out.push(NAME + at),
            None => self.value(s),
        }
    }

    fn str(&mut self, s: &str) {
        match names::index_of(s) {
            Some(at) => self.out.push(NAME + at),
            None => self.value(s),
        }
    }

    /// A string that is not a listed name.
    fn value(&mut self, s: &str) {
        if s.len() < MIN_REF_LEN {
            self.out.push(STR);
            self.leb128(s.len() as u64);
            self.out.extend_from_slice(s.as_bytes());
            return;
        }
        // A record repeats its own values (the phone, the reference, the
        // bank): a string written before is written again as its number.
        // (Past what a reader lets references repeat, it is written in
        // full, and registered as any string written in full is.)
        let earlier = &self.strings[..self.count];
        if let Some(at) = earlier.iter().position(|&(start, len)| {
            len == s.len() && self.out.get(start..start + len) == Some(s.as_bytes())
        }) {
            if self.referenced + s.len() <= MAX_REFERENCED {
                self.referenced += s.len();
                self.out.extend_from_slice(&[REF, at as u8]);
                return;
            }
        }
        self.out.push(STR);
        self.leb128(s.len() as u64);
        if self.count < MAX_REFS {
            self.strings[self.count] = (self.out.len(), s.len());
            self.count += 1;
        }
        self.out.extend_from_slice(s.as_bytes());
    }
}

impl ser::Serializer for &mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    // What types write differently for people and machines (timestamps,
    // uuids) is written as in JSON: the same data model, read back alike.
    fn is_human_readable(&self) -> bool {
        true
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push(if v { TRUE } else { FALSE });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.int(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.uint(v);
        Ok(())
    }
    // Within 64 bits, or refused: JSON writes wider ones, but no record
    // has one, and the reader's integers are 64-bit.
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        let v = i64::try_from(v).map_err(|_| Error("an integer past 64 bits".into()))?;
        self.serialize_i64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        let v = u64::try_from(v).map_err(|_| Error("an integer past 64 bits".into()))?;
        self.serialize_u64(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.out.push(FLOAT);
            self.out.extend_from_slice(&v.to_le_bytes());
        } else {
            self.out.push(NULL);
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.str(v);
        Ok(())
    }
    // As JSON: a sequence of numbers.
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.out.push(SEQ);
        for b in v {
            self.uint((*b).into());
        }
        self.out.push(END);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push(NULL);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push(NULL);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.name(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(MAP);
        self.name(variant);
        value.serialize(&mut *self)?;
        self.out.push(END);
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Error> {
        self.out.push(SEQ);
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Error> {
        self.out.push(MAP);
        self.name(variant);
        self.out.push(SEQ);
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Error> {
        self.out.push(MAP);
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Error> {
        self.out.push(MAP);
        self.name(variant);
        self.out.push(MAP);
        Ok(self)
    }
}

// Serde's compound types, each closed by an END: a sequence, a tuple and a
// map by one; a variant's content by two (its content, then the one-entry
// map around it, `serialize_*_variant`).

/// The compound traits that take their items one at a time.
macro_rules! items {
    ($($trait:ident::$method:ident, $ends:literal;)*) => {$(
        impl ser::$trait for &mut Writer {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Error> {
                self.out.extend_from_slice(&[END; $ends]);
                Ok(())
            }
        }
    )*};
}

items! {
    SerializeSeq::serialize_element, 1;
    SerializeTuple::serialize_element, 1;
    SerializeTupleStruct::serialize_field, 1;
    SerializeTupleVariant::serialize_field, 2;
}

/// The compound traits that take named fields: the name, then the value.
macro_rules! fields {
    ($($trait:ident, $ends:literal;)*) => {$(
        impl ser::$trait for &mut Writer {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.name(key);
                value.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Error> {
                self.out.extend_from_slice(&[END; $ends]);
                Ok(())
            }
        }
    )*};
}

fields! {
    SerializeStruct, 1;
    SerializeStructVariant, 2;
}

impl ser::SerializeMap for &mut Writer {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        self.out.push(END);
        Ok(())
    }
}
