//! The first write of a session a channel started without reading first.
//!
//! A USSD session starts on the person's first answer, and on a store where
//! a round trip is dear (Redis) the read before it would be half the hop's
//! store time: both keys are almost always free. So the session and its
//! phone's index are created where free ([`SessionStore::create_pair`]), and
//! what was there instead is dealt with after:
//!
//! | found | then |
//! |---|---|
//! | nothing | done: one round trip |
//! | a session at the key | the session was not written (the store removes an index it created beside it); [`StoreError::Conflict`], and the channel serves the hop again with a read (a gateway's retry, an answer to a resume offer) |
//! | an index naming another session | the index is moved to this one (compare-and-set on what was read, best effort, as before) unless the channel [gives way](Channel::yields_to) to that session: then this one is removed and the hop served again with a read |
//!
//! Nothing outside the store has happened when this write runs (a partner
//! call is made only after the write that claims it), so serving the hop
//! again is safe.
//!
//! [`SessionStore::create_pair`]: crate::store::SessionStore::create_pair

use super::record::IndexWrite;
use super::{Channel, ChannelState, ServiceError, Session, SessionService};
use crate::store::{Created, StoreError, Version};
use std::time::Duration;

impl SessionService {
    /// Saves a turn's `session` at `version`: as [`save`](Self::save), or
    /// for a session started without a read (its index says `unread`), as
    /// the module says.
    pub(super) async fn save_turn<S: ChannelState, C: Channel<S>>(
        &self,
        key: &str,
        version: Option<Version>,
        session: &Session<S>,
        channel: &C,
    ) -> Result<Version, ServiceError> {
        let index = match &session.index {
            Some(index) if index.unread && version.is_none() => index,
            _ => return self.save(key, version, session).await,
        };
        let ttl = self.ttl_of(session);
        let data = session.to_bytes()?;
        let created = self
            .store
            .create_pair(
                key,
                data,
                &index.key,
                index.data.clone(),
                ttl,
                self.config.index_ttl(),
            )
            .await?;
        match created {
            Created::Both => Ok(1),
            Created::AlsoTaken(previous) => {
                self.take_index(key, session, index, previous, channel)
                    .await?;
                Ok(1)
            }
            // Also any outcome a later store may report: nothing is assumed
            // written, and the hop is served again with a read.
            _ => Err(StoreError::Conflict.into()),
        }
    }

    /// Moves the index to `key`, or gives way to the session it names.
    async fn take_index<S: ChannelState, C: Channel<S>>(
        &self,
        key: &str,
        session: &Session<S>,
        index: &IndexWrite,
        previous: crate::store::Entry,
        channel: &C,
    ) -> Result<(), ServiceError> {
        let named = String::from_utf8_lossy(&previous.data);
        let gives_way = matches!(
            self.load::<S>(&named).await,
            Ok(Some(other)) if channel.yields_to(session, &other.session)
        );
        if gives_way {
            // Only this write's own record: a conditional delete at version 1.
            let _ = self
                .store
                .compare_and_set(key, Some(1), Vec::new(), Duration::ZERO)
                .await;
            return Err(StoreError::Conflict.into());
        }
        // Best effort, as when the index rides on the write: a lost race
        // here only loses the resume offer.
        let _ = self
            .store
            .compare_and_set(
                &index.key,
                Some(previous.version),
                index.data.clone(),
                self.config.index_ttl(),
            )
            .await;
        Ok(())
    }
}
