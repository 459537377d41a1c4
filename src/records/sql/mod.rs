//! [`SqlStore`]: the records in SQLite or PostgreSQL, through sqlx's `Any`
//! driver.
//!
//! One implementation serves both databases because its SQL is portable
//! (`INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING`, `$n` placeholders,
//! integer times and 0/1 booleans); what differs is only how a write
//! transaction starts (SQLite: `BEGIN IMMEDIATE`, so two writers queue on
//! the busy timeout instead of one failing on a stale snapshot) and SQLite's
//! journal mode. Queries are built at run time with binds: nothing needs a
//! database at build time.

mod auths;
mod outbox;
mod partner;

pub use partner::PartnerUnlink;

use super::store::RecordsError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The migrations, embedded at build time and applied at open: one set,
/// portable to both databases (see `migrations/0001_records.sql`).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/records/migrations");

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file, embedded in this process.
    Sqlite,
    /// A PostgreSQL server, shareable by many instances.
    Postgres,
}

/// Where the records are: what `--records` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `sqlite:PATH`: a file, created (with its directory) when missing.
    Sqlite(PathBuf),
    /// `postgres://...` or `postgresql://...`: a server.
    Postgres(String),
}

impl Location {
    /// Reads `sqlite:PATH` (absolute or relative; `sqlite://` also
    /// accepted) or a `postgres://` / `postgresql://` URL.
    pub fn parse(spec: &str) -> Result<Location, RecordsError> {
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            return Ok(Location::Postgres(spec.to_owned()));
        }
        if let Some(rest) = spec.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() || path.contains('?') {
                return Err(RecordsError::Config(format!(
                    "--records {spec:?}: give a file path after sqlite: (no query string)"
                )));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        Err(RecordsError::Config(format!(
            "--records must be sqlite:PATH or a postgres:// URL, not {:?}",
            redact(spec)
        )))
    }

    /// How to show it in a log line: a PostgreSQL password is replaced
    /// by `***`.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("sqlite:{}", path.display()),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// Brings a new or older database up to date (WAL on SQLite, the
/// migrations) and reads its owner id, made on first open.
///
/// PostgreSQL migrations take an advisory lock; SQLite's take none, and
/// switching a file to WAL needs it to itself, so two processes opening one
/// new file at once (two `connectflow link` runs in a QA job) raced, and
/// one failed ("table meta already exists", "database is locked"). On
/// SQLite a failed run is tried again after a pause: by then the other has
/// committed, and what it did is found done.
async fn prepare(pool: &AnyPool, backend: Backend) -> Result<String, RecordsError> {
    let mut pause = Duration::from_millis(50);
    let mut tries = 1;
    loop {
        match prepare_once(pool, backend).await {
            Ok(owner) => return Ok(owner),
            Err(e) if backend == Backend::Sqlite && tries < 8 => {
                tracing::debug!(error = %e, "opening the records raced another process; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn prepare_once(pool: &AnyPool, backend: Backend) -> Result<String, RecordsError> {
    if backend == Backend::Sqlite {
        // Readers never wait for the writer; persistent in the file.
        sqlx::query("PRAGMA journal_mode=WAL").execute(pool).await?;
    }
    MIGRATOR.run(pool).await?;
    let made = super::model::object_id(super::time::now_ms());
    sqlx::query("INSERT INTO meta (key, value) VALUES ('owner', $1) ON CONFLICT (key) DO NOTHING")
        .bind(made)
        .execute(pool)
        .await?;
    Ok(sqlx::query("SELECT value FROM meta WHERE key = 'owner'")
        .fetch_one(pool)
        .await?
        .try_get("value")?)
}

/// `postgres://user:***@host/db` for `postgres://user:secret@host/db`, and
/// `?password=***` for a password given as a parameter (sqlx and libpq
/// take both; `sslpassword` too).
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The user-info ends at the last `@` (a password may hold `/`, `?` or
    // `@` itself); one in the query too only masks more than it must.
    let (user_info, rest) = match rest.rsplit_once('@') {
        Some((user_info, after)) => (Some(user_info), after),
        None => (None, rest),
    };
    let user_info = user_info.map(|u| match u.split_once(':') {
        Some((user, _)) => format!("{user}:***@"),
        None => format!("{u}@"),
    });
    let tail = match rest.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                        format!("{key}=***")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => rest.to_owned(),
    };
    format!("{scheme}://{}{tail}", user_info.unwrap_or_default())
}

/// The records in a SQL database. Cheap to clone (a pool).
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    owner: String,
    /// SQLite has one writer at a time, and a connection that finds the
    /// file locked sleeps in SQLite's busy handler (up to 100 ms a try)
    /// even after the lock is free: under load the links queued behind one
    /// another for seconds. This process's writers queue here instead, in
    /// order and without sleeping.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqlStore {
    /// Opens (creating an SQLite file when missing), brings the schema up to
    /// date, and reads this database's owner id (made on first open; `owner`
    /// replaces it for this process when given).
    pub async fn open(location: &Location, owner: Option<&str>) -> Result<SqlStore, RecordsError> {
        sqlx::any::install_default_drivers();
        let (url, backend, connections) = match location {
            Location::Sqlite(path) => (sqlite_url(path)?, Backend::Sqlite, 4),
            Location::Postgres(url) => (url.clone(), Backend::Postgres, 8),
        };
        let sqlite = backend == Backend::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // With WAL, NORMAL syncs at checkpoints rather than
                        // at every commit: a link survives a crash of this
                        // process, and only a power loss can take back the
                        // last commits (as it takes a memory store's
                        // sessions, or Redis' last second). At every commit
                        // the fsyncs capped whole-session load at the disk's
                        // rate and stalled every hop behind them.
                        // PostgreSQL is the store for power-loss durability.
                        sqlx::query("PRAGMA synchronous=NORMAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let stored = prepare(&pool, backend).await?;
        let owner = owner.map_or(stored, str::to_owned);
        Ok(SqlStore {
            pool,
            backend,
            owner,
            writer: std::sync::Arc::default(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections in use.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// This process's turn to write (SQLite), held until the transaction
    /// ends; `None` on PostgreSQL, whose writers do not exclude each other.
    async fn writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.lock().await),
            Backend::Postgres => None,
        }
    }

    /// A write transaction.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, RecordsError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// The sqlx URL of an SQLite file, creating its directory: `mode=rwc`
/// creates the file. The path is made absolute and percent-encoded, so a
/// `?`, `#` or `%` in it stays part of the name.
fn sqlite_url(path: &Path) -> Result<String, RecordsError> {
    let absolute = std::path::absolute(path)
        .map_err(|e| RecordsError::Config(format!("records file {}: {e}", path.display())))?;
    if let Some(dir) = absolute.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            RecordsError::Config(format!("records directory {}: {e}", dir.display()))
        })?;
    }
    let text = absolute.to_str().ok_or_else(|| {
        RecordsError::Config(format!("records path {} is not UTF-8", path.display()))
    })?;
    let mut encoded = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '?' | '#' | ' ' => encoded.push_str(&format!("%{:02X}", c as u32)),
            c => encoded.push(c),
        }
    }
    Ok(format!("sqlite://{encoded}?mode=rwc"))
}

/// An `i64` column as milliseconds (a negative one reads as 0).
fn ms(row: &AnyRow, column: &str) -> Result<u64, RecordsError> {
    let value: i64 = row.try_get(column)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

/// Milliseconds as the `BIGINT` they are kept in.
fn db_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_and_never_show_a_password() {
        assert_eq!(
            Location::parse("sqlite:data/r.db").unwrap(),
            Location::Sqlite("data/r.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/r.db").unwrap(),
            Location::Sqlite("/tmp/r.db".into())
        );
        let pg = Location::parse("postgres://app:s3cret@db:5432/records").unwrap();
        assert_eq!(pg.display(), "postgres://app:***@db:5432/records");
        assert!(Location::parse("mysql://x").is_err());
        assert!(Location::parse("sqlite:").is_err());
        let err = Location::parse("redis://u:s3cret@h/")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }

    /// Finding (review, 2026-12-04): two processes opening one new SQLite
    /// file at once raced on its migrations and one failed to start. Here
    /// two stores open a new file at the same moment; both open, and agree
    /// on the database's owner.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_opens_of_a_new_sqlite_file_at_once_both_succeed() {
        for _ in 0..5 {
            let path = std::env::temp_dir().join(format!(
                "connectflow-race-{}.db",
                uuid::Uuid::new_v4().simple()
            ));
            let location = Location::Sqlite(path.clone());
            let (a, b) = tokio::join!(
                SqlStore::open(&location, None),
                SqlStore::open(&location, None)
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.owner, b.owner);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }

    /// Finding (review, 2026-12-04): a password given as a URL parameter
    /// (which sqlx and libpq accept) was shown in clear in the "opening
    /// records at ..." error and the log line; it is masked like the
    /// user-info one, other parameters kept.
    #[test]
    fn a_password_given_as_a_parameter_is_not_shown() {
        for url in [
            "postgres://app@db/r?password=s3cret",
            "postgres://app@db/r?sslmode=require&password=s3cret",
            "postgres://db?PASSWORD=s3cret&user=app",
            "postgres://app:s3cret@db/r?sslpassword=s3cret",
            // A password holding `?` or `/` (review of this change: the
            // user-info was cut at the `?` and shown whole).
            "postgres://app:s3?cret@db/r",
            "postgres://app:s3/c?ret@db:5432/r?sslmode=require",
        ] {
            let shown = Location::parse(url).unwrap().display();
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert_eq!(
            Location::parse("postgres://app@db/r?sslmode=require&password=x")
                .unwrap()
                .display(),
            "postgres://app@db/r?sslmode=require&password=***"
        );
    }
}
