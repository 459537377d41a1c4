//! [`OutboxStore`] on SQL. A row's `next_attempt_at` is both when it is due
//! and, while a sender works on it, its lease: claiming moves it forward
//! with compare-and-set, so two senders (two instances on one PostgreSQL)
//! never send the same row at once, and a sender that dies mid-send leaves
//! a row that falls due again by itself.

use super::{db_ms, SqlStore};
use crate::records::store::{OutboxCounts, OutboxMessage, OutboxStore, RecordsError};
use crate::store::BoxFuture;
use sqlx::Row;

impl OutboxStore for SqlStore {
    fn claim_due<'a>(
        &'a self,
        now: u64,
        lease_until: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<OutboxMessage>, RecordsError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, reference, body, attempts, next_attempt_at FROM outbox \
                 WHERE state = 'pending' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, id LIMIT $2",
            )
            .bind(db_ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in rows {
                let id: String = row.try_get("id")?;
                let due: i64 = row.try_get("next_attempt_at")?;
                let taken = sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1 \
                     WHERE id = $2 AND state = 'pending' AND next_attempt_at = $3",
                )
                .bind(db_ms(lease_until))
                .bind(&id)
                .bind(due)
                .execute(&self.pool)
                .await?;
                if taken.rows_affected() == 1 {
                    let attempts: i64 = row.try_get("attempts")?;
                    claimed.push(OutboxMessage {
                        id,
                        reference: row.try_get("reference")?,
                        body: row.try_get("body")?,
                        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    });
                }
            }
            Ok(claimed)
        })
    }

    fn delivered<'a>(&'a self, id: &'a str, at: u64) -> BoxFuture<'a, Result<(), RecordsError>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, \
                 delivered_at = $1, last_error = NULL WHERE id = $2",
            )
            .bind(db_ms(at))
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn failed<'a>(
        &'a self,
        id: &'a str,
        attempts: u32,
        retry_at: Option<u64>,
        error: &'a str,
    ) -> BoxFuture<'a, Result<(), RecordsError>> {
        Box::pin(async move {
            let (state, next) = match retry_at {
                Some(at) => ("pending", db_ms(at)),
                None => ("dead", 0),
            };
            sqlx::query(
                "UPDATE outbox SET state = $1, attempts = $2, next_attempt_at = $3, last_error = $4 \
                 WHERE id = $5 AND state = 'pending'",
            )
            .bind(state)
            .bind(i64::from(attempts))
            .bind(next)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }

    fn counts(&self) -> BoxFuture<'_, Result<OutboxCounts, RecordsError>> {
        Box::pin(async move {
            // Counted per state on the (state, next_attempt_at) index, so
            // the delivered rows (nearly all of them, growing) are not read
            // on every refresh of the gauges.
            let mut counts = OutboxCounts::default();
            for (state, slot) in [("pending", &mut counts.pending), ("dead", &mut counts.dead)] {
                let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE state = $1")
                    .bind(state)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("n")?;
                *slot = u64::try_from(n).unwrap_or(0);
            }
            Ok(counts)
        })
    }

    fn revive(&self, now: u64) -> BoxFuture<'_, Result<u64, RecordsError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 \
                 WHERE state = 'dead'",
            )
            .bind(db_ms(now))
            .execute(&self.pool)
            .await?;
            Ok(done.rows_affected())
        })
    }
}
