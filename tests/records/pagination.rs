//! The pagination property, on a real SQLite store (the SQL is the same
//! on PostgreSQL, whose pages the endpoint tests check edge by edge).

use crate::kit::{linked, post, record_at, serve_api, sqlite};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// For any set of auths (any creation times, ties included) and any page
/// size, walking the pages `1..=totalPages` of `/v2/products/auths` yields
/// every auth exactly once, newest first (ties by id, descending); and
/// every page's block is consistent: `totalDocs` is the number of auths,
/// `totalPages = max(1, ceil(totalDocs / limit))`, `pagingCounter =
/// (page - 1) * limit + 1`, `hasPrevPage = page > 1` with `prevPage`
/// present exactly then, `hasNextPage = page < totalPages` with `nextPage`
/// present exactly then, and a page holds `limit` auths except the last.
#[test]
fn concatenated_pages_are_every_auth_once_and_blocks_are_consistent() {
    // Each case seeds a database through real transactions, so this runs
    // fewer cases than the pure properties: PROPTEST_CASES, at most 48
    // (the runner is built directly, so the environment cannot raise it).
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(24u32)
        .min(48);
    let config = ProptestConfig {
        cases,
        ..ProptestConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let strategy = (proptest::collection::vec(0u64..5, 0..23), 1u64..9);
    let outcome = runner.run(&strategy, |(times, limit)| {
        runtime.block_on(async {
            let backend = sqlite().await;
            let store = backend.store.as_ref();
            let mut made = Vec::new();
            for (i, t) in times.iter().enumerate() {
                let link = linked(&format!("p{i}"), &format!("acc{i}"), "c", "b");
                let auth = record_at(store, &link, 1_704_067_200_000 + t * 1000).await;
                made.push((auth.created_at, auth.id));
            }
            made.sort();
            made.reverse();
            let expected: Vec<String> = made.into_iter().map(|(_, id)| id).collect();
            let url = serve_api(backend.store.clone()).await;
            let mut seen = Vec::new();
            let mut page = 1;
            loop {
                let (status, body) = post(
                    &url,
                    "/v2/products/auths",
                    &format!(r#"{{"page": {page}, "limit": {limit}}}"#),
                )
                .await;
                assert_eq!(status, 200);
                let p = &body["data"]["pagination"];
                let total = expected.len() as u64;
                let pages = total.div_ceil(limit).max(1);
                assert_eq!(p["totalDocs"], total);
                assert_eq!(p["limit"], limit);
                assert_eq!(p["page"], page);
                assert_eq!(p["totalPages"], pages);
                assert_eq!(p["pagingCounter"], (page - 1) * limit + 1);
                assert_eq!(p["hasPrevPage"], page > 1);
                assert_eq!(p.get("prevPage").is_some(), page > 1);
                assert_eq!(p["hasNextPage"], page < pages);
                assert_eq!(p.get("nextPage").is_some(), page < pages);
                let auths = body["data"]["auths"].as_array().unwrap();
                if page < pages {
                    assert_eq!(auths.len() as u64, limit);
                }
                seen.extend(auths.iter().map(|a| a["id"].as_str().unwrap().to_owned()));
                if page >= pages {
                    break;
                }
                page += 1;
            }
            let unique: BTreeSet<&String> = seen.iter().collect();
            assert_eq!(unique.len(), seen.len(), "a doc repeated");
            assert_eq!(seen, expected);
        });
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
