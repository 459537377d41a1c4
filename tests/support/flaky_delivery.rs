//! A delivery that fails while told to (a records database that is down),
//! then keeps every link it is given, once per reference (as the records
//! do: delivery is at least once, recorded once); its lookups of earlier
//! links may hang, or answer as scripted.

use connectflow::service::{Delivered, Delivery, DeliveryError, LinkedAccount};
use connectflow::store::BoxFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub(crate) struct FlakyDelivery {
    /// Calls still to refuse.
    pub(crate) failures: AtomicUsize,
    /// Calls made, refused or not.
    pub(crate) calls: AtomicUsize,
    /// The references delivered, in order, each once.
    pub(crate) delivered: Mutex<Vec<String>>,
    /// Asked which banks a customer linked before, never answers (a
    /// records database that hangs).
    pub(crate) lookups_hang: bool,
    /// The answers to the next lookups of earlier links, in order, ahead
    /// of `lookups_hang`: `None` hangs (a records database that stalls on
    /// one hop and not the next).
    pub(crate) lookups: Mutex<std::collections::VecDeque<Option<Vec<String>>>>,
}

impl FlakyDelivery {
    /// Refuses the next `n` calls.
    pub(crate) fn failing(n: usize) -> FlakyDelivery {
        FlakyDelivery {
            failures: AtomicUsize::new(n),
            ..FlakyDelivery::default()
        }
    }

    pub(crate) fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }
}

impl Delivery for FlakyDelivery {
    fn deliver<'a>(
        &'a self,
        linked: &'a LinkedAccount,
    ) -> BoxFuture<'a, Result<Delivered, DeliveryError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let refused = self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if refused {
                return Err(DeliveryError("the records database is down".into()));
            }
            let mut delivered = self.delivered.lock().unwrap();
            if !delivered.contains(&linked.reference) {
                delivered.push(linked.reference.clone());
            }
            Ok(Delivered::default())
        })
    }

    fn linked_before<'a>(
        &'a self,
        _partner: &'a str,
        _customer: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, DeliveryError>> {
        let scripted = self.lookups.lock().unwrap().pop_front();
        Box::pin(async move {
            match scripted {
                Some(Some(banks)) => return Ok(banks),
                Some(None) => std::future::pending::<()>().await,
                None if self.lookups_hang => std::future::pending::<()>().await,
                None => {}
            }
            Ok(Vec::new())
        })
    }
}
