//! [`Sealed`]: any session store, with every record sealed at rest.

use super::{SealError, Sealer};
use crate::store::{
    AlsoSet, BoxFuture, Created, Entry, EntryOr, SessionStore, StoreError, Version,
};
use std::time::Duration;

/// A [`SessionStore`] that seals every record it writes into `inner` and
/// opens every record it reads. The associated data is the store key and
/// the version the record is written at, so a record copied to another key
/// or written back over a newer version is refused.
///
/// A record that does not open is never returned: [`StoreError::Tampered`]
/// when it fails authentication, [`StoreError::UnknownKey`] when it was
/// sealed with a key this instance lacks. Versions, TTLs and conflicts are
/// the inner store's, unchanged.
#[derive(Debug)]
pub struct Sealed<S> {
    inner: S,
    sealer: Sealer,
}

impl<S: SessionStore> Sealed<S> {
    /// Wraps `inner` so that what rests in it is sealed with `sealer`.
    pub fn new(inner: S, sealer: Sealer) -> Sealed<S> {
        Sealed { inner, sealer }
    }

    /// The wrapped store, which holds sealed bytes (for inspection and tests).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner store.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// What a record is bound to: its store key and the version it is stored
/// at. Versions start at 1 and grow by one per write (the store contract),
/// so the writer knows the version its write will have.
fn aad(key: &str, version: Version) -> Vec<u8> {
    let mut aad = Vec::with_capacity(key.len() + 24);
    aad.extend_from_slice(b"connectflow/2\0");
    aad.extend_from_slice(key.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

impl<S: SessionStore> Sealed<S> {
    /// `entry`, read at `key`, opened; or why it does not open.
    fn open(&self, key: &str, entry: Entry) -> Result<Entry, StoreError> {
        match self.sealer.open(&aad(key, entry.version), &entry.data) {
            Ok(data) => Ok(Entry { data, ..entry }),
            // The store key is left out of logs: it may be built from a
            // phone number.
            Err(SealError::UnknownKey(id)) => {
                tracing::error!(key_id = %id, "a sealed record names a key this instance does not have; check CONNECTFLOW_SEAL_KEYS");
                Err(StoreError::UnknownKey {
                    version: entry.version,
                })
            }
            Err(_) => {
                tracing::warn!("a sealed record failed authentication");
                Err(StoreError::Tampered {
                    version: entry.version,
                })
            }
        }
    }

    /// `data`, sealed for `key` at the version a write expecting
    /// `expected` gives it.
    fn seal(
        &self,
        key: &str,
        expected: Option<Version>,
        data: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let next = expected.map_or(1, |v| v.saturating_add(1));
        self.sealer
            .try_seal(&aad(key, next), data)
            .map_err(|_| StoreError::Backend("record too large to seal".into()))
    }
}

/// A store that numbers versions otherwise breaks the binding: say so
/// loudly rather than write records no one can open.
fn check_version(written: Version, expected: Option<Version>) -> Result<Version, StoreError> {
    let next = expected.map_or(1, |v| v.saturating_add(1));
    if written != next {
        return Err(StoreError::Backend(format!(
            "the store wrote version {written}, expected {next}"
        )));
    }
    Ok(written)
}

impl<S: SessionStore> SessionStore for Sealed<S> {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        Box::pin(async move {
            let Some(entry) = self.inner.get(key).await? else {
                return Ok(None);
            };
            self.open(key, entry).map(Some)
        })
    }

    fn get_or<'a>(
        &'a self,
        key: &'a str,
        fallback: &'a str,
    ) -> BoxFuture<'a, Result<EntryOr, StoreError>> {
        Box::pin(async move {
            let (first, second) = self.inner.get_or(key, fallback).await?;
            Ok((
                first.map(|e| self.open(key, e)).transpose()?,
                second.map(|e| self.open(fallback, e)).transpose()?,
            ))
        })
    }

    fn compare_and_set_with<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
        also: AlsoSet<'a>,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let sealed = self.seal(key, expected, &data)?;
            let also = AlsoSet {
                data: self.seal(also.key, also.expected, &also.data)?,
                ..also
            };
            let version = self
                .inner
                .compare_and_set_with(key, expected, sealed, ttl, also)
                .await?;
            check_version(version, expected)
        })
    }

    fn create_pair<'a>(
        &'a self,
        key: &'a str,
        data: Vec<u8>,
        also_key: &'a str,
        also_data: Vec<u8>,
        ttl: Duration,
        also_ttl: Duration,
    ) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(async move {
            let sealed = self.seal(key, None, &data)?;
            let also_sealed = self.seal(also_key, None, &also_data)?;
            Ok(
                match self
                    .inner
                    .create_pair(key, sealed, also_key, also_sealed, ttl, also_ttl)
                    .await?
                {
                    Created::Both => Created::Both,
                    Created::Taken(entry) => Created::Taken(self.open(key, entry)?),
                    Created::AlsoTaken(entry) => {
                        let version = entry.version;
                        match self.open(also_key, entry) {
                            Ok(opened) => Created::AlsoTaken(opened),
                            // The session is written by now: an index that
                            // does not open is no index (as a read treats
                            // it), and is replaced, best effort.
                            Err(_) => {
                                let _ = self
                                    .compare_and_set(also_key, Some(version), also_data, also_ttl)
                                    .await;
                                Created::Both
                            }
                        }
                    }
                },
            )
        })
    }

    fn version<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Version>, StoreError>> {
        // The version is stored beside the sealed bytes: nothing to open.
        self.inner.version(key)
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let sealed = self.seal(key, expected, &data)?;
            let version = self
                .inner
                .compare_and_set(key, expected, sealed, ttl)
                .await?;
            check_version(version, expected)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }

    fn blind(&self, part: &str) -> String {
        self.sealer.blind(part)
    }

    fn blind_others(&self, part: &str) -> Vec<String> {
        self.sealer.blind_others(part)
    }

    fn has_other_blinds(&self) -> bool {
        self.sealer.has_others()
    }
}
