//! A session's start: its flow and its record, made for a partner.

use super::{Customer, ServiceError, Session, SessionService};
use crate::flow::{ConnectFlow, Snapshot};

impl SessionService {
    /// A new flow for `partner`, and its record. `reference` is generated
    /// when not given (12 characters, unguessable enough to quote to support).
    /// Made on the heap and moved out of it (the crate's USSD channel keeps
    /// them there): one copy more, on a path that starts a session once.
    pub fn start<S>(
        &self,
        partner: &str,
        reference: Option<String>,
        customer: Option<Customer>,
        channel: S,
    ) -> Result<(Session<S>, ConnectFlow), ServiceError> {
        let (session, flow) = self.start_boxed(partner, reference, customer, channel)?;
        Ok((*session, *flow))
    }

    /// [`start`](Self::start), the record and the flow made on the heap: for
    /// a channel that holds them across its awaits and hands them to
    /// [`drive`](Self::drive) (1.8 KB, otherwise copied out of this call,
    /// then into the turn's boxes).
    pub(crate) fn start_boxed<S>(
        &self,
        partner: &str,
        reference: Option<String>,
        customer: Option<Customer>,
        channel: S,
    ) -> Result<(Box<Session<S>>, Box<ConnectFlow>), ServiceError> {
        let (mut session, flow) = self.start_unsaved(partner, reference, customer, channel)?;
        session.flow = flow.snapshot();
        Ok((session, flow))
    }

    /// [`start_boxed`](Self::start_boxed), the record's `flow` left
    /// [`Snapshot::unstarted`] instead of the new flow's snapshot: for a
    /// caller that saves the record only after taking the flow's snapshot
    /// into it, as every save of a turn ([`drive`](Self::drive)) does. The
    /// USSD bank choice is one: the new flow's snapshot was made and
    /// dropped unread, some 1,100 instructions of its 55,000 (issue 13).
    ///
    /// [`Snapshot::unstarted`]: crate::flow::Snapshot::unstarted
    pub(crate) fn start_unsaved<S>(
        &self,
        partner: &str,
        reference: Option<String>,
        customer: Option<Customer>,
        channel: S,
    ) -> Result<(Box<Session<S>>, Box<ConnectFlow>), ServiceError> {
        let (name, _) = self
            .partners
            .iter()
            .find(|(n, _)| *n == partner)
            .ok_or_else(|| ServiceError::UnknownPartner(partner.to_owned()))?;
        let reference = reference.unwrap_or_else(new_reference);
        let config = self.config.flow.clone().with_reference(reference.clone());
        let flow = Box::new(ConnectFlow::new(config, self.clock.now()));
        let session = Box::new(Session {
            flow: Snapshot::unstarted(),
            partner: (*name).to_owned(),
            reference,
            customer,
            institution: None,
            auth_method: None,
            claim: None,
            delivered: None,
            keep_until: None,
            channel,
            read_at: None,
            index: None,
        });
        Ok((session, flow))
    }
}

/// A fresh reference: 12 upper-case hex characters (48 random bits).
pub fn new_reference() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex.get(..12).unwrap_or(&hex).to_ascii_uppercase()
}
