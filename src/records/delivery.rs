//! [`RecordsDelivery`]: the session service's [`Delivery`] into the
//! records — every channel's successful link becomes an auth (and, with a
//! webhook, an outbox row) in the step that marks the flow delivered.

use super::known::Known;
use super::model::Env;
use super::store::{AuthStore, Linked, NewLink, RecordsError};
use super::time::now_ms;
use crate::service::{Delivered, Delivery, DeliveryError, LinkedAccount};
use crate::store::BoxFuture;
use std::sync::Arc;
use tokio::sync::Notify;

/// Links into auth records; with [`with_outbox`](Self::with_outbox), each
/// also queues its webhook delivery in the same transaction.
#[derive(Debug, Clone)]
pub struct RecordsDelivery {
    store: Arc<dyn AuthStore>,
    env: Env,
    outbox: Option<Arc<Notify>>,
    /// Who has linked before: most dials are from customers who have not,
    /// and this answers for them without a query.
    known: Arc<Known>,
}

impl RecordsDelivery {
    /// Links recorded in `store`, as made with a key of `env`.
    pub fn new(store: Arc<dyn AuthStore>, env: Env) -> RecordsDelivery {
        RecordsDelivery {
            store,
            env,
            outbox: None,
            known: Arc::default(),
        }
    }

    /// Each link also queues a webhook delivery, and wakes the sender
    /// (`Outbox::waker`) once it is committed.
    pub fn with_outbox(mut self, waker: Arc<Notify>) -> RecordsDelivery {
        self.outbox = Some(waker);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn AuthStore> {
        &self.store
    }

    /// Records one link (idempotent by its reference) and says what it made.
    pub async fn record(&self, linked: &LinkedAccount) -> Result<Linked, RecordsError> {
        let done = self
            .store
            .link(NewLink {
                linked,
                env: self.env,
                at: now_ms(),
                outbox: self.outbox.is_some(),
            })
            .await?;
        if let Some(customer) = &linked.customer {
            self.known.insert(&linked.partner, &customer.id);
        }
        if let (Some(waker), Some(_)) = (&self.outbox, &done.delivery) {
            waker.notify_one();
        }
        Ok(done)
    }
}

impl Delivery for RecordsDelivery {
    fn deliver<'a>(
        &'a self,
        linked: &'a LinkedAccount,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            let done = self
                .record(linked)
                .await
                .map_err(|e| DeliveryError(e.to_string()))?;
            Ok(Delivered {
                returning: done.returning,
                id: Some(done.auth.id),
            })
        })
    }

    fn linked_before<'a>(
        &'a self,
        partner: &'a str,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, DeliveryError>> {
        Box::pin(async move {
            if !self.known.may_have_linked(&self.store, partner, customer) {
                return Ok(Vec::new());
            }
            let banks = self
                .store
                .customer_banks(partner, customer)
                .await
                .map_err(|e| DeliveryError(e.to_string()))?;
            Ok(banks.into_iter().map(|b| b.id).collect())
        })
    }
}
