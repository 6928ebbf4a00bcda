//! The database layer: one diesel schema over SQLite and PostgreSQL.
//!
//! Everything that differs between the two backends lives in this module, behind a `match` on
//! [`AnyConnection`]: how a connection is opened and tuned, how a write transaction begins, and
//! which embedded migrations apply.

pub mod migrations;
pub mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};

use crate::config::DatabaseUrl;
use crate::http::AppError;

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection, for what diesel's
/// multi-backend connection cannot express (multi-row `INSERT`, `RETURNING`): the same typed
/// query, written once, compiled for each backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Postgresql($c) => $body,
            $crate::db::AnyConnection::Sqlite($c) => $body,
        }
    };
}

/// The diesel backend of [`AnyConnection`], for boxed queries.
pub type DbBackend = <AnyConnection as Connection>::Backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Postgresql(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// SQLite, tuned per connection: WAL so readers never block the writer, FULL sync so an
/// acknowledged write survives power loss, enforced foreign keys, a busy wait instead of an
/// immediate `SQLITE_BUSY`, and case-sensitive LIKE so prefix searches on the folded (already
/// lower-case) search keys can use their indexes (the 10,000-participant search bench: median
/// 11.9 → 8.0 ms). Reads map the database file (up to 256 MiB) instead of copying pages in with
/// `pread`: every commit (every audited read appends an event) makes each other connection drop
/// its page cache, and a caseload list then spent 14 % of its time re-reading pages.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; \
     PRAGMA mmap_size = 268435456;";

/// Opens connections of the backend the URL names (never by trial: see `config::DatabaseUrl`).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    /// Shared with [`Db`]: bumped whenever a connection is found dead (see [`Db::conn`]).
    losses: Arc<AtomicU64>,
    /// Commits do not wait for the disk (see [`Db::for_bulk_load`]).
    bulk_load: bool,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager {
            url,
            losses: Arc::new(AtomicU64::new(0)),
            bulk_load: false,
        }
    }
}

/// A bulk load into a new database (`seed-demo`) commits thousands of small transactions; on
/// these connections a commit does not wait for its fsync. Neither setting can corrupt the
/// database: SQLite in WAL mode with `synchronous = NORMAL` and PostgreSQL with
/// `synchronous_commit = off` may only lose the last commits on a power failure, and a load cut
/// short is thrown away anyway.
const BULK_LOAD_SQLITE: &str = "PRAGMA synchronous = NORMAL;";
const BULK_LOAD_POSTGRES: &str = "SET synchronous_commit = off;";

/// A pooled connection with what the pool needs to know about it beyond the connection itself.
pub struct Conn {
    inner: AnyConnection,
    /// The count of losses this connection was last known to have survived.
    checked: u64,
    /// Found dead: the pool discards it on return.
    dead: bool,
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

impl Conn {
    /// One round trip: does the server still answer on this connection?
    fn answers(&mut self) -> bool {
        self.inner.batch_execute("SELECT 1").is_ok()
    }
}

/// Opens one connection of the URL's backend, outside any pool (CLI commands, tests).
pub fn establish(url: &DatabaseUrl) -> Result<AnyConnection, r2d2::Error> {
    match url {
        DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
            .map(AnyConnection::Postgresql)
            .map_err(r2d2::Error::ConnectionError),
        DatabaseUrl::Sqlite(path) => {
            let path = path.to_string_lossy();
            let mut conn =
                diesel::SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .map_err(r2d2::Error::QueryError)?;
            Ok(AnyConnection::Sqlite(conn))
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = Conn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Conn, r2d2::Error> {
        let mut inner = establish(&self.url)?;
        if self.bulk_load {
            let sql = match inner.backend() {
                Backend::Sqlite => BULK_LOAD_SQLITE,
                Backend::Postgres => BULK_LOAD_POSTGRES,
            };
            inner.batch_execute(sql).map_err(r2d2::Error::QueryError)?;
        }
        Ok(Conn {
            inner,
            checked: self.losses.load(Ordering::Acquire),
            dead: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        conn.inner
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection found dead is dropped. So is one returned in the middle of a transaction (a
    /// panic inside a closure): its next user would run inside someone else's transaction.
    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.dead
            || !matches!(
                <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(
                    &mut conn.inner
                )
                .transaction_depth(),
                Ok(None)
            )
    }
}

pub type DbPool = Pool<ConnectionManager>;
pub type DbConn = PooledConnection<ConnectionManager>;

/// The service's handle on the database: a pool plus, on SQLite, the single-writer lock.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    /// SQLite allows one writer at a time. Taking turns here, before a connection is borrowed,
    /// means no request ever waits inside SQLite and runs out its busy timeout.
    write_lock: Option<Arc<Mutex<()>>>,
    /// How many times a connection was found dead (the server restarted, an administrator ended
    /// its sessions). Every pooled connection that has not been checked since the last loss is
    /// checked before use, so one lost connection costs one failed request, not one per pooled
    /// connection until their maximum lifetime.
    losses: Arc<AtomicU64>,
}

impl Db {
    /// Builds the pool without connecting, so a service whose database is down still starts and
    /// answers `/health/ready` with 503.
    pub fn new(url: &DatabaseUrl, pool_size: u32) -> Db {
        Self::build(ConnectionManager::new(url.clone()), pool_size)
    }

    /// A pool whose commits do not wait for the disk, for filling a new database only
    /// (`seed-demo`; see [`BULK_LOAD_SQLITE`]). Never for serving requests.
    pub fn for_bulk_load(url: &DatabaseUrl, pool_size: u32) -> Db {
        let mut manager = ConnectionManager::new(url.clone());
        manager.bulk_load = true;
        Self::build(manager, pool_size)
    }

    fn build(manager: ConnectionManager, pool_size: u32) -> Db {
        let backend = match manager.url {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        };
        let losses = manager.losses.clone();
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(10))
            .idle_timeout(Some(Duration::from_secs(300)))
            .test_on_check_out(false)
            .build_unchecked(manager);
        Db {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            losses,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// A pooled connection. After a connection was found dead, the others are checked once
    /// before use (one round trip each) and the dead ones dropped.
    pub fn conn(&self) -> Result<DbConn, AppError> {
        let losses = self.losses.load(Ordering::Acquire);
        for _ in 0..=self.pool.max_size() {
            let mut conn = self.pool.get().map_err(|e| {
                tracing::warn!(error = %e, "no database connection available");
                AppError::Unavailable("the database is not available".into())
            })?;
            if conn.checked >= losses || conn.answers() {
                conn.checked = losses;
                return Ok(conn);
            }
            conn.dead = true;
        }
        Err(AppError::Unavailable(
            "the database is not available".into(),
        ))
    }

    /// After a failure that may be the connection's: checks it, and when it is dead has the pool
    /// drop it and every other connection checked before its next use.
    fn after_failure(&self, conn: &mut DbConn, error: &AppError) {
        let suspicious = matches!(error, AppError::Unavailable(_) | AppError::Internal(_));
        if suspicious && !conn.answers() {
            conn.dead = true;
            let n = self.losses.fetch_add(1, Ordering::AcqRel) + 1;
            tracing::warn!(
                losses = n,
                "a database connection was lost; checking the others"
            );
        }
    }

    /// Runs `f` on a pooled connection on the blocking pool, outside any transaction.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || {
            let mut conn = db.conn()?;
            let result = f(&mut conn);
            if let Err(e) = &result {
                db.after_failure(&mut conn, e);
            }
            result
        })
        .await
        .map_err(AppError::from)?
    }

    /// Runs `f` inside one write transaction on the blocking pool: everything it writes commits
    /// together or not at all.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        // A request sent with an Idempotency-Key marks its claim in the same transaction as its
        // work, so a retry can tell that the work committed (see `http::idempotency`).
        let claim = crate::http::idempotency::active_claim();
        // Only the mark's presence matters; the wall clock is good enough for its value. Stored
        // with microseconds like every instant, the precision both backends keep (a transfer to
        // PostgreSQL would otherwise change it).
        let now = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6).naive_utc();
        actix_web::web::block(move || {
            let _turn = db.write_turn();
            let mut conn = db.conn()?;
            let result = write_transaction(&mut conn, |conn| {
                let value = f(conn)?;
                if let Some(claim) = &claim {
                    crate::http::idempotency::mark_committed(conn, claim, now)?;
                }
                Ok(value)
            });
            if let Err(e) = &result {
                db.after_failure(&mut conn, e);
            }
            result
        })
        .await
        .map_err(AppError::from)?
    }

    /// On SQLite, the turn of the one writer (held until dropped); nothing on PostgreSQL.
    fn write_turn(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.write_lock
            .as_ref()
            .map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The synchronous form of [`Db::write`], for the CLI and for code already off the async workers.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut AnyConnection) -> Result<T, E>,
        E: From<diesel::result::Error> + From<AppError>,
    {
        let _turn = self.write_turn();
        let mut conn = self.conn()?;
        write_transaction(&mut conn, f)
    }
}

/// Begins a write transaction the way each backend needs, runs `f`, commits on `Ok` and rolls
/// back on `Err`. On SQLite the transaction starts `IMMEDIATE`: a deferred one that writes later
/// can fail with `SQLITE_BUSY` whatever the busy timeout.
pub fn write_transaction<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Tm = <AnyConnection as Connection>::TransactionManager;
    match conn {
        // Beginning on the inner connection keeps the depth bookkeeping where the multi-connection
        // transaction manager reads it, so commit, rollback and nested savepoints work as usual.
        AnyConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(_) => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            Tm::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Prepares the database location: SQLite's parent folder is created on first start.
pub fn prepare_location(url: &DatabaseUrl) -> std::io::Result<()> {
    if let DatabaseUrl::Sqlite(path) = url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    Ok(())
}
