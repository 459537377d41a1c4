//! `records export` while links go on being written.

use crate::kit::{backends, jan, linked, record_at};
use connectflow::records::export::{export, Format};
use connectflow::records::{
    AuthStore, CustomerSince, Filter, Found, Linked, LinkedBank, NewLink, PageRequest, RecordsError,
};
use connectflow::store::BoxFuture;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A store that records one more link before answering each listing: what
/// a `serve` linking accounts does to an export running beside it.
#[derive(Debug)]
struct Busy {
    inner: Arc<dyn AuthStore>,
    made: AtomicU64,
}

impl AuthStore for Busy {
    fn owner(&self) -> &str {
        self.inner.owner()
    }
    fn link<'a>(&'a self, link: NewLink<'a>) -> BoxFuture<'a, Result<Linked, RecordsError>> {
        self.inner.link(link)
    }
    fn get<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<connectflow::records::Auth>, RecordsError>> {
        self.inner.get(id)
    }
    fn find<'a>(
        &'a self,
        filter: &'a Filter,
        page: PageRequest,
    ) -> BoxFuture<'a, Result<Found, RecordsError>> {
        Box::pin(async move {
            let n = self.made.fetch_add(1, Ordering::SeqCst);
            let newer = linked(
                &format!("new-{n}"),
                &format!("new-acc-{n}"),
                "ada",
                "gtbank",
            );
            // Newer than every auth already there, as a link made now is.
            record_at(self.inner.as_ref(), &newer, jan(20, 0) + n).await;
            self.inner.find(filter, page).await
        })
    }
    fn customer_banks<'a>(
        &'a self,
        partner: &'a str,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LinkedBank>, RecordsError>> {
        self.inner.customer_banks(partner, customer)
    }
    fn customers_since<'a>(
        &'a self,
        since: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<CustomerSince>, RecordsError>> {
        self.inner.customers_since(since, limit)
    }
    fn set_validated<'a>(
        &'a self,
        id: &'a str,
        validated: bool,
        at: u64,
    ) -> BoxFuture<'a, Result<Option<connectflow::records::Auth>, RecordsError>> {
        self.inner.set_validated(id, validated, at)
    }
}

/// Finding (review, 2026-12-04): the export read page after page by
/// number, newest first, so each link written meanwhile pushed the listing
/// along and the last auth of a page came out again at the top of the
/// next. Every auth now comes out once.
#[tokio::test]
async fn an_export_writes_each_auth_once_while_links_are_written() {
    for backend in backends().await {
        let name = backend.name;
        for i in 0..250 {
            let at = jan(1 + i / 24, i % 24);
            let l = linked(
                &format!("flow-{i}"),
                &format!("acc-{i}"),
                &format!("c{i}"),
                "gtbank",
            );
            record_at(backend.store.as_ref(), &l, at).await;
        }
        let busy = Busy {
            inner: backend.store.clone(),
            made: AtomicU64::new(0),
        };
        let mut out = Vec::new();
        let written = export(&busy, &Filter::default(), Format::JsonLines, &mut out)
            .await
            .unwrap();
        let ids: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{name}: an auth came out twice");
        assert_eq!(written as usize, ids.len(), "{name}");
        assert!(ids.len() >= 250, "{name}: {} written", ids.len());
    }
}
