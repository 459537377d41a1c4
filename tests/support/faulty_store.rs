//! A memory store (unsealed: keys as written) that fails on purpose: the
//! reads of one key while it is named, and the writes to keys under one
//! prefix while that is named, as a Redis that drops a connection would;
//! or that loses a write to a record another write put there first.

use connectflow::store::{BoxFuture, Entry, MemoryStore, SessionStore, StoreError, Version};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Default)]
pub(crate) struct FaultyStore {
    inner: MemoryStore,
    /// Reads of this key fail.
    pub(crate) reads_down: Mutex<Option<String>>,
    /// Writes to keys starting with this fail.
    pub(crate) writes_down: Mutex<Option<String>>,
    /// `(prefix, from)`: the next write to a key starting with `prefix`
    /// finds a copy of the record at `from` put there just before it (a
    /// write that lost the race to another), then this is cleared.
    pub(crate) plant: Mutex<Option<(String, String)>>,
}

fn reset() -> StoreError {
    StoreError::Backend("connection reset".into())
}

impl SessionStore for FaultyStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Entry>, StoreError>> {
        if self.reads_down.lock().unwrap().as_deref() == Some(key) {
            return Box::pin(async { Err(reset()) });
        }
        self.inner.get(key)
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<Version>,
        data: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        let down = self.writes_down.lock().unwrap();
        if down
            .as_deref()
            .is_some_and(|prefix| key.starts_with(prefix))
        {
            return Box::pin(async { Err(reset()) });
        }
        drop(down);
        let planted = {
            let mut plant = self.plant.lock().unwrap();
            match plant.as_ref() {
                Some((prefix, _)) if key.starts_with(prefix.as_str()) => plant.take(),
                _ => None,
            }
        };
        if let Some((_, from)) = planted {
            return Box::pin(async move {
                let copy = self.inner.get(&from).await?.expect("a record to plant");
                self.inner
                    .compare_and_set(key, None, copy.data, ttl)
                    .await?;
                self.inner.compare_and_set(key, expected, data, ttl).await
            });
        }
        self.inner.compare_and_set(key, expected, data, ttl)
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
}
