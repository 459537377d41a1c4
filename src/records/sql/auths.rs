//! [`AuthStore`] on SQL: the link upsert, reads, the returning customer's
//! banks, unlinking.

use super::{db_ms, ms, SqlStore};
use crate::records::model::{object_id, Auth, AuthCustomer, Bank, Env};
use crate::records::outbox::webhook_body;
use crate::records::pagination::PageRequest;
use crate::records::store::{
    AuthStore, CustomerSince, Filter, Found, Linked, LinkedBank, NewLink, RecordsError,
};
use crate::store::BoxFuture;
use sqlx::any::AnyRow;
use sqlx::{Any, Row};

pub(super) const COLUMNS: &str =
    "id, record_id, owner, env, validated, partner, partner_account_id, \
    customer_id, customer_name, bank_id, bank_name, bank_icon, auth_method, reference, channel, \
    created_at, last_updated";

/// A value bound to a `$n` placeholder of a query built at run time.
enum Bind {
    Text(String),
    Int(i64),
}

impl SqlStore {
    async fn link_once(&self, link: NewLink<'_>) -> Result<Linked, RecordsError> {
        let linked = link.linked;
        let (customer_id, customer_name) = match &linked.customer {
            Some(c) => (c.id.clone(), c.name.clone()),
            None => (String::new(), None),
        };
        let (bank_id, bank_name) = match &linked.institution {
            Some(i) => (i.id.clone(), i.name.clone()),
            None => (String::new(), String::new()),
        };
        let at = db_ms(link.at);
        let _writer = self.writer().await;
        let mut tx = self.write().await?;
        // The flow's reference makes a delivery idempotent: a retry finds
        // the link it recorded. Unless the reference names a link that
        // cannot be this flow's, as a host may give two flows one
        // reference: a link of another account or customer (this one is
        // then kept under the reference with its account and customer,
        // and still found by its own retries), or one whose auth has been
        // unlinked since (this account linked again: validated again and
        // announced). The latter's key is the unlinked auth's with the
        // time it was unlinked, which every delivery of the new link reads
        // alike: two at once (a turn and the background redelivery, two
        // instances' sweeps) meet on that key, and one records it.
        //
        // What the reference alone cannot tell: a delivery that committed,
        // lost its answer, and is retried (from the parked list, later)
        // after its account was unlinked records the link again, as a new
        // flow reusing the reference would. And once a link is in force
        // again, a retry of its delivery is answered with the reference's
        // first link (its delivery id, `returning` as it was then): the
        // auth and the webhooks are right, the answer's details are the
        // first link's. A flow id in the delivered link would tell both.
        let unlinked_key = |key: &str, auth: &Auth| unlinked_key(key, auth.last_updated);
        let reference = key_part(&linked.reference);
        let key = match self.repeated(&mut tx, &reference).await? {
            Some(done) if same_link(&done.auth, linked, &customer_id) => {
                if done.auth.validated {
                    tx.rollback().await?;
                    return Ok(done);
                }
                unlinked_key(&reference, &done.auth)
            }
            Some(_) => {
                let key = shared_key(&reference, &linked.account_id, &customer_id);
                match self.repeated(&mut tx, &key).await? {
                    // Only a key written before its parts were escaped (a
                    // reference with a `#` in it, which that key's own
                    // flow was linked under) names another link here: this
                    // link is kept beside it, under a key every delivery of
                    // this flow makes alike.
                    Some(done) if !same_link(&done.auth, linked, &customer_id) => {
                        format!("{key}#{}", done.auth.id)
                    }
                    Some(done) if done.auth.validated => {
                        tx.rollback().await?;
                        return Ok(done);
                    }
                    Some(done) => unlinked_key(&key, &done.auth),
                    None => key,
                }
            }
            None => reference.into_owned(),
        };
        // A no-op update on conflict, so RETURNING gives the existing row.
        let record_id: String = sqlx::query(
            "INSERT INTO records (id, owner, partner, customer_id, bank_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (owner, partner, customer_id, bank_id) DO UPDATE SET bank_id = excluded.bank_id \
             RETURNING id",
        )
        .bind(object_id(link.at))
        .bind(&self.owner)
        .bind(&linked.partner)
        .bind(&customer_id)
        .bind(&bank_id)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let fresh = object_id(link.at);
        // The same account for the same customer: validated again, last
        // linked now, by this flow; the id and created_at stay.
        let id: String = sqlx::query(
            "INSERT INTO auths (id, record_id, owner, env, validated, partner, partner_account_id, \
               customer_id, customer_name, bank_id, bank_name, bank_icon, auth_method, reference, \
               channel, created_at, last_updated) \
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
             ON CONFLICT (owner, partner, partner_account_id, customer_id) DO UPDATE SET \
               validated = 1, env = excluded.env, last_updated = excluded.last_updated, \
               reference = excluded.reference, channel = excluded.channel, \
               bank_name = excluded.bank_name, \
               customer_name = COALESCE(excluded.customer_name, auths.customer_name), \
               bank_icon = COALESCE(excluded.bank_icon, auths.bank_icon), \
               auth_method = COALESCE(excluded.auth_method, auths.auth_method) \
             RETURNING id",
        )
        .bind(&fresh)
        .bind(&record_id)
        .bind(&self.owner)
        .bind(link.env.as_str())
        .bind(&linked.partner)
        .bind(&linked.account_id)
        .bind(&customer_id)
        .bind(customer_name)
        .bind(&bank_id)
        .bind(bank_name)
        .bind(linked.institution_icon.clone())
        .bind(linked.auth_method.as_ref().map(|m| m.as_str().to_owned()))
        .bind(&linked.reference)
        .bind(&linked.channel)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        let returning = id != fresh;
        let noted = sqlx::query(
            "INSERT INTO links (reference, auth_id, is_returning, channel, linked_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (reference) DO NOTHING",
        )
        .bind(&key)
        .bind(&id)
        .bind(i64::from(returning))
        .bind(&linked.channel)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if noted.rows_affected() == 0 {
            // Another delivery of the same flow committed first (PostgreSQL
            // lets both get this far): it is the one that counts.
            tx.rollback().await?;
            return self
                .repeated(&mut *self.pool.acquire().await?, &key)
                .await?
                .ok_or_else(|| RecordsError::Corrupt("a link vanished".into()));
        }
        let auth = fetch_auth(&mut tx, &id)
            .await?
            .ok_or_else(|| RecordsError::Corrupt("an upserted auth is missing".into()))?;
        let delivery = if link.outbox {
            let delivery = object_id(link.at);
            let body = webhook_body(&delivery, &auth, returning, linked);
            sqlx::query(
                "INSERT INTO outbox (id, reference, body, state, attempts, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
            )
            .bind(&delivery)
            .bind(&key)
            .bind(body)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            Some(delivery)
        } else {
            None
        };
        tx.commit().await?;
        Ok(Linked {
            auth,
            returning,
            delivery,
        })
    }

    /// What an earlier delivery of the flow `reference` made, if any.
    async fn repeated(
        &self,
        conn: &mut sqlx::AnyConnection,
        reference: &str,
    ) -> Result<Option<Linked>, RecordsError> {
        let Some(row) = sqlx::query(
            "SELECT l.auth_id, l.is_returning, o.id AS delivery FROM links l \
             LEFT JOIN outbox o ON o.reference = l.reference WHERE l.reference = $1",
        )
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let auth_id: String = row.try_get("auth_id")?;
        let returning: i64 = row.try_get("is_returning")?;
        let delivery: Option<String> = row.try_get("delivery")?;
        let auth = fetch_auth(conn, &auth_id)
            .await?
            .ok_or_else(|| RecordsError::Corrupt(format!("link {reference} names no auth")))?;
        Ok(Some(Linked {
            auth,
            returning: returning != 0,
            delivery,
        }))
    }

    async fn find_page(&self, filter: &Filter, page: PageRequest) -> Result<Found, RecordsError> {
        let mut binds = vec![Bind::Text(self.owner.clone())];
        let mut clause = String::from("owner = $1");
        let mut add = |column: &str, op: &str, bind: Bind, binds: &mut Vec<Bind>| {
            binds.push(bind);
            clause.push_str(&format!(" AND {column} {op} ${}", binds.len()));
        };
        if let Some(customer) = &filter.customer {
            add("customer_id", "=", Bind::Text(customer.clone()), &mut binds);
        }
        if let Some(bank) = &filter.bank {
            add("bank_id", "=", Bind::Text(bank.clone()), &mut binds);
        }
        if let Some(from) = filter.from {
            add("created_at", ">=", Bind::Int(db_ms(from)), &mut binds);
        }
        if let Some(until) = filter.until {
            add("created_at", "<", Bind::Int(db_ms(until)), &mut binds);
        }
        let count_sql = format!("SELECT COUNT(*) AS n FROM auths WHERE {clause}");
        let n = binds.len();
        let page_sql = format!(
            "SELECT {COLUMNS} FROM auths WHERE {clause} \
             ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        // One snapshot for the count and the page where the database
        // gives one (a read in SQLite's transaction; PostgreSQL's default
        // isolation re-reads per statement, so a write in between can make
        // them disagree by that write, never repeat or skip a row).
        let mut tx = self.pool.begin().await?;
        let total: i64 = bound(sqlx::query(&count_sql), &binds)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let rows = bound(sqlx::query(&page_sql), &binds)
            .bind(db_ms(page.limit()))
            .bind(db_ms(page.offset()))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let auths = rows.iter().map(read_auth).collect::<Result<_, _>>()?;
        Ok(Found {
            total: u64::try_from(total).unwrap_or(0),
            auths,
        })
    }
}

fn bound<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Text(s) => query.bind(s.as_str()),
            Bind::Int(i) => query.bind(*i),
        };
    }
    query
}

async fn fetch_auth(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<Option<Auth>, RecordsError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM auths WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(read_auth).transpose()
}

pub(super) fn read_auth(row: &AnyRow) -> Result<Auth, RecordsError> {
    let customer_id: String = row.try_get("customer_id")?;
    let customer_name: Option<String> = row.try_get("customer_name")?;
    let validated: i64 = row.try_get("validated")?;
    let env: String = row.try_get("env")?;
    Ok(Auth {
        id: row.try_get("id")?,
        validated: validated != 0,
        bank: Bank {
            id: row.try_get("bank_id")?,
            name: row.try_get("bank_name")?,
            icon: row.try_get("bank_icon")?,
        },
        customer: (!customer_id.is_empty()).then_some(AuthCustomer {
            id: customer_id,
            name: customer_name,
        }),
        record: row.try_get("record_id")?,
        owner: row.try_get("owner")?,
        env: Env::parse(&env),
        created_at: ms(row, "created_at")?,
        last_updated: ms(row, "last_updated")?,
        partner: row.try_get("partner")?,
        partner_account_id: row.try_get("partner_account_id")?,
        auth_method: row.try_get("auth_method")?,
        reference: row.try_get("reference")?,
        channel: row.try_get("channel")?,
    })
}

impl AuthStore for SqlStore {
    fn owner(&self) -> &str {
        &self.owner
    }

    fn link<'a>(&'a self, link: NewLink<'a>) -> BoxFuture<'a, Result<Linked, RecordsError>> {
        Box::pin(self.link_once(link))
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Auth>, RecordsError>> {
        Box::pin(async move {
            let auth = fetch_auth(&mut *self.pool.acquire().await?, id).await?;
            Ok(auth.filter(|a| a.owner == self.owner))
        })
    }

    fn find<'a>(
        &'a self,
        filter: &'a Filter,
        page: PageRequest,
    ) -> BoxFuture<'a, Result<Found, RecordsError>> {
        Box::pin(self.find_page(filter, page))
    }

    fn customer_banks<'a>(
        &'a self,
        partner: &'a str,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<Vec<LinkedBank>, RecordsError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT bank_id, MAX(bank_name) AS bank_name, MAX(last_updated) AS last_linked \
                 FROM auths WHERE owner = $1 AND partner = $2 AND customer_id = $3 AND validated = 1 \
                 GROUP BY bank_id ORDER BY last_linked DESC, bank_id",
            )
            .bind(&self.owner)
            .bind(partner)
            .bind(customer)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(LinkedBank {
                        id: row.try_get("bank_id")?,
                        name: row.try_get("bank_name")?,
                        last_linked: ms(row, "last_linked")?,
                    })
                })
                .collect()
        })
    }

    fn customers_since<'a>(
        &'a self,
        since: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<CustomerSince>, RecordsError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT partner, customer_id, created_at FROM records \
                 WHERE owner = $1 AND created_at >= $2 ORDER BY created_at LIMIT $3",
            )
            .bind(&self.owner)
            .bind(db_ms(since))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(CustomerSince {
                        partner: row.try_get("partner")?,
                        customer: row.try_get("customer_id")?,
                        created_at: ms(row, "created_at")?,
                    })
                })
                .collect()
        })
    }

    fn set_validated<'a>(
        &'a self,
        id: &'a str,
        validated: bool,
        at: u64,
    ) -> BoxFuture<'a, Result<Option<Auth>, RecordsError>> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE auths SET validated = $1, last_updated = $2 WHERE id = $3 AND owner = $4",
            )
            .bind(i64::from(validated))
            .bind(db_ms(at))
            .bind(id)
            .bind(&self.owner)
            .execute(&self.pool)
            .await?;
            self.get(id).await
        })
    }
}

/// One part of a link's key in the `links` table (the flow's reference,
/// an account id, a customer id), with `\` and `#` escaped by a `\`: parts are
/// joined with `#`, and a host may choose a reference with a `#` in it,
/// which unescaped would make (`r#a#c`, …) the key of another flow's link
/// (reference `r`, account `a`, customer `c`), whose delivery would then
/// be answered with the first link and never recorded. A part with
/// neither character is its own key, as keys were written before; a link
/// recorded before, under a reference with either character, is not found
/// by its delivery's retries after the upgrade (they record it once more:
/// a second link row and webhook for the same auth), and one kept under a
/// raw key another flow now makes is told apart by [`same_link`].
fn key_part(part: &str) -> std::borrow::Cow<'_, str> {
    if !part.contains(['\\', '#']) {
        return std::borrow::Cow::Borrowed(part);
    }
    let mut escaped = String::with_capacity(part.len() + 4);
    for c in part.chars() {
        if matches!(c, '\\' | '#') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    std::borrow::Cow::Owned(escaped)
}

/// The key of a link kept under a reference another link holds: the
/// reference's key part (as [`key_part`] gave it, the key the reference
/// was looked up under), and the account and customer, escaped here.
fn shared_key(reference: &str, account: &str, customer: &str) -> String {
    format!("{reference}#{}#{}", key_part(account), key_part(customer))
}

/// The key of a link made again after its account was unlinked at
/// `last_updated`: the link's earlier key and that time.
fn unlinked_key(key: &str, last_updated: u64) -> String {
    format!("{key}#{last_updated}")
}

/// Whether `auth` (what a delivery under this reference recorded) is the
/// link `linked` would record: the same partner, account and customer.
fn same_link(auth: &Auth, linked: &crate::service::LinkedAccount, customer_id: &str) -> bool {
    let recorded_customer = auth.customer.as_ref().map_or("", |c| c.id.as_str());
    auth.partner == linked.partner
        && auth.partner_account_id == linked.account_id
        && recorded_customer == customer_id
}

#[cfg(test)]
mod tests {
    use super::{key_part, shared_key, unlinked_key};
    use proptest::prelude::*;

    /// The shapes a link's key takes, as `link_once` builds them.
    #[derive(Debug, Clone, PartialEq)]
    enum Key {
        Plain(String),
        Shared(String, String, String),
        PlainUnlinked(String, u64),
        SharedUnlinked(String, String, String, u64),
    }

    fn built(key: &Key) -> String {
        match key {
            Key::Plain(r) => key_part(r).into_owned(),
            Key::Shared(r, a, c) => shared_key(&key_part(r), a, c),
            Key::PlainUnlinked(r, at) => unlinked_key(&key_part(r), *at),
            Key::SharedUnlinked(r, a, c, at) => unlinked_key(&shared_key(&key_part(r), a, c), *at),
        }
    }

    /// Parts made of the characters that matter, and digits (a time).
    fn part() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![Just('#'), Just('\\'), Just('a'), Just('1')],
            0..5,
        )
        .prop_map(|c| c.into_iter().collect())
    }

    fn key() -> impl Strategy<Value = Key> {
        prop_oneof![
            part().prop_map(Key::Plain),
            (part(), part(), part()).prop_map(|(r, a, c)| Key::Shared(r, a, c)),
            (part(), 0u64..20).prop_map(|(r, at)| Key::PlainUnlinked(r, at)),
            (part(), part(), part(), 0u64..20)
                .prop_map(|(r, a, c, at)| Key::SharedUnlinked(r, a, c, at)),
        ]
    }

    /// `built`'s inverse: the key split at each `#` not escaped, each part
    /// unescaped, the shape told by the number of parts.
    fn parsed(key: &str) -> Option<Key> {
        let (mut parts, mut part, mut escaped) = (Vec::new(), String::new(), false);
        for c in key.chars() {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '#') => parts.push(std::mem::take(&mut part)),
                (_, c) => {
                    part.push(c);
                    escaped = false;
                }
            }
        }
        parts.push(part);
        let at = |p: &String| p.parse::<u64>().ok();
        match parts.as_slice() {
            [r] => Some(Key::Plain(r.clone())),
            [r, t] => Some(Key::PlainUnlinked(r.clone(), at(t)?)),
            [r, a, c] => Some(Key::Shared(r.clone(), a.clone(), c.clone())),
            [r, a, c, t] => Some(Key::SharedUnlinked(r.clone(), a.clone(), c.clone(), at(t)?)),
            _ => None,
        }
    }

    proptest! {
        /// Invariant: a link's key gives back the parts and the shape it
        /// was built from, so two keys are the same string only when they
        /// are the same key: a host's reference, whatever it holds, is never
        /// another flow's key.
        #[test]
        fn a_key_gives_back_what_it_was_built_from(key in key()) {
            prop_assert_eq!(parsed(&built(&key)), Some(key));
        }
    }

    /// A part with neither `\` nor `#` is its own key, as before escaping.
    #[test]
    fn plain_parts_keep_their_keys() {
        assert_eq!(shared_key("ref-1", "acc 9", "cus_1"), "ref-1#acc 9#cus_1");
        assert_eq!(key_part("a#b\\c"), "a\\#b\\\\c");
    }
}
