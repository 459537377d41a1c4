//! Auths found by the partner's own account id: what a partner's webhook
//! names (Mono's `mono.events.account_unlinked` carries its account id, not
//! our auth id). The lookup rides the prefix of the unique (owner, partner,
//! partner account id, customer) index.

use super::auths::{read_auth, COLUMNS};
use super::{db_ms, SqlStore};
use crate::records::model::Auth;
use crate::records::store::RecordsError;
use sqlx::Row;

/// What [`SqlStore::unlink_partner_account`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerUnlink {
    /// Every auth of the account (one per customer who linked it), as it
    /// is now; empty when this database never saw the account.
    pub auths: Vec<Auth>,
    /// The ids of those this call unlinked (the others were already).
    pub unlinked: Vec<String>,
}

impl SqlStore {
    /// Every auth of `partner`'s account `account_id` (one per customer
    /// who linked it), newest first.
    pub async fn partner_account_auths(
        &self,
        partner: &str,
        account_id: &str,
    ) -> Result<Vec<Auth>, RecordsError> {
        let rows = sqlx::query(&select_sql())
            .bind(&self.owner)
            .bind(partner)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_auth).collect()
    }

    /// Marks every validated auth of `partner`'s account `account_id` not
    /// validated, `last_updated` at `at` — what an operator's
    /// [`set_validated`](crate::records::AuthStore::set_validated)`(id,
    /// false, at)` does to one auth. An auth already unlinked is left as it
    /// is, `last_updated` included, so a partner's repeated delivery of the
    /// same event changes nothing.
    pub async fn unlink_partner_account(
        &self,
        partner: &str,
        account_id: &str,
        at: u64,
    ) -> Result<PartnerUnlink, RecordsError> {
        let _writer = self.writer().await;
        let mut tx = self.write().await?;
        // Only validated rows: the condition, not a read before the write,
        // decides what this call unlinked, so two deliveries at once cannot
        // both count one auth.
        let unlinked = sqlx::query(
            "UPDATE auths SET validated = 0, last_updated = $1 \
             WHERE owner = $2 AND partner = $3 AND partner_account_id = $4 AND validated = 1 \
             RETURNING id",
        )
        .bind(db_ms(at))
        .bind(&self.owner)
        .bind(partner)
        .bind(account_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get("id"))
        .collect::<Result<Vec<String>, _>>()?;
        let rows = sqlx::query(&select_sql())
            .bind(&self.owner)
            .bind(partner)
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let auths = rows.iter().map(read_auth).collect::<Result<_, _>>()?;
        Ok(PartnerUnlink { auths, unlinked })
    }
}

fn select_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM auths \
         WHERE owner = $1 AND partner = $2 AND partner_account_id = $3 \
         ORDER BY created_at DESC, id DESC"
    )
}
