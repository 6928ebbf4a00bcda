//! Moving a database between backends (`reintegra transfer`), and SQLite backups and restores
//! (`reintegra backup`, `reintegra restore`).
//!
//! A transfer reads the source in one snapshot (a read-only SQLite connection inside one read
//! transaction; a `REPEATABLE READ READ ONLY` transaction on PostgreSQL), migrates the target,
//! refuses it when it holds data, and then copies every table in foreign-key order, 1,000 rows a
//! batch, inside ONE write transaction on the target. Before that transaction commits it re-reads
//! every table from the target and compares row counts and checksums with what was read from the
//! source, and verifies the audit chain there: on any difference it rolls back, so the target is
//! either a verified copy or as empty as it was — also when the process is killed midway.
//!
//! The checksum of a table is SHA-256 over the sorted SHA-256 digests of its rows, each row
//! serialised as JSON from its typed struct (`tables::rows`). Sorting the digests makes it
//! independent of the order rows are read in, which on PostgreSQL follows the database's text
//! collation and on SQLite the bytes.

mod backup;
mod progress;
pub mod tables;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::audit::Verification;
use crate::config::DatabaseUrl;
use crate::db::{self, migrations, AnyConnection, Backend};

pub use backup::{backup, restore, BackupError, BackupReport};
pub use progress::{stderr_progress, Progress, Silent};
pub use tables::TABLES;

/// Rows read and inserted per batch.
pub const BATCH_ROWS: i64 = 1_000;

/// What the migrations do with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Filled by the service: must be empty in a target (the refusal checks these).
    Data,
    /// Given rows by the migrations (the chain head, settings, dictionaries, lock rows): the
    /// source's rows replace them.
    Seeded,
}

/// What `tables!` implements for each row struct.
pub trait Copier: Sized + Serialize {
    const NAME: &'static str;
    const KIND: TableKind;
    const COLUMNS: usize;
    fn count(conn: &mut AnyConnection) -> QueryResult<i64>;
    /// Up to `limit` rows after `last`, in primary-key order.
    fn batch(conn: &mut AnyConnection, last: Option<&Self>, limit: i64) -> QueryResult<Vec<Self>>;
    fn insert(conn: &mut AnyConnection, rows: &[Self]) -> QueryResult<usize>;
    fn delete_all(conn: &mut AnyConnection) -> QueryResult<usize>;
    /// Brings every value to the precision both backends store; answers how many changed.
    fn normalise(&mut self) -> u64;
    /// Takes out a reference to a row of the same table (answering the row's id and the
    /// reference), so the row can go in before the row it names; see [`Copier::reattach`].
    fn detach(&mut self) -> Option<(String, String)>;
    fn reattach(conn: &mut AnyConnection, id: &str, target: &str) -> QueryResult<usize>;
}

/// A column value as both backends can hold it. Timestamps keep microseconds: PostgreSQL stores
/// no more, and the service stores no more (`http::stored_now`), except that before this module
/// existed the idempotency claims' `committed_at` was written with nanoseconds on SQLite. Such a
/// value is truncated on the way and counted in the report, rather than failing every transfer
/// of a database that ever stored an idempotent reply.
pub trait Normalise {
    /// Answers 1 when the value changed.
    fn normalise(&mut self) -> u64 {
        0
    }
}

impl Normalise for chrono::NaiveDateTime {
    fn normalise(&mut self) -> u64 {
        use chrono::SubsecRound;
        let micros = self.trunc_subsecs(6);
        let changed = micros != *self;
        *self = micros;
        u64::from(changed)
    }
}

impl<T: Normalise> Normalise for Option<T> {
    fn normalise(&mut self) -> u64 {
        self.as_mut().map_or(0, Normalise::normalise)
    }
}

impl Normalise for String {}
impl Normalise for i32 {}
impl Normalise for i64 {}
impl Normalise for bool {}
impl Normalise for chrono::NaiveDate {}

/// Copies a table from the first connection into the second, reporting rows as they go in.
type CopyFn =
    fn(&mut AnyConnection, &mut AnyConnection, &mut dyn FnMut(u64)) -> QueryResult<Copied>;

/// One table's operations, without its row type (so the list can be walked).
pub struct Table {
    pub name: &'static str,
    pub kind: TableKind,
    count: fn(&mut AnyConnection) -> QueryResult<i64>,
    copy: CopyFn,
    digest: fn(&mut AnyConnection) -> QueryResult<Digest>,
    delete_all: fn(&mut AnyConnection) -> QueryResult<usize>,
}

impl Table {
    pub const fn of<R: Copier>() -> Table {
        Table {
            name: R::NAME,
            kind: R::KIND,
            count: R::count,
            copy: copy_rows::<R>,
            digest: digest_rows::<R>,
            delete_all: R::delete_all,
        }
    }

    pub fn count(&self, conn: &mut AnyConnection) -> QueryResult<i64> {
        (self.count)(conn)
    }

    /// The table's row count and checksum as stored in `conn`.
    pub fn digest(&self, conn: &mut AnyConnection) -> QueryResult<Digest> {
        (self.digest)(conn)
    }
}

/// Rows per multi-row `INSERT`: under the bound-parameter limits (999 in SQLite builds before
/// 3.32, 65,535 in PostgreSQL's protocol).
pub(crate) fn rows_per_insert(postgres: bool, columns: usize) -> usize {
    let limit = if postgres { 30_000 } else { 999 };
    (limit / columns.max(1)).clamp(1, BATCH_ROWS as usize)
}

/// A table's row count and content checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub rows: u64,
    /// Hex SHA-256 over the sorted SHA-256 digests of the rows' canonical JSON.
    pub sha256: String,
}

#[derive(Default)]
struct Digester {
    rows: Vec<[u8; 32]>,
}

impl Digester {
    fn add<R: Serialize>(&mut self, row: &R) -> QueryResult<()> {
        // serde_json writes struct fields in declaration order with no whitespace, and the typed
        // values (chrono's ISO forms, numbers, booleans, null) one way only: a canonical form.
        let json = serde_json::to_vec(row)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        self.rows.push(Sha256::digest(&json).into());
        Ok(())
    }

    fn finish(mut self) -> Digest {
        self.rows.sort_unstable();
        let mut hasher = Sha256::new();
        for row in &self.rows {
            hasher.update(row);
        }
        Digest {
            rows: self.rows.len() as u64,
            sha256: hex::encode(hasher.finalize()),
        }
    }
}

/// Walks a table in keyset batches.
fn for_each_batch<R: Copier>(
    conn: &mut AnyConnection,
    mut f: impl FnMut(&mut Vec<R>) -> QueryResult<()>,
) -> QueryResult<()> {
    let mut last: Option<R> = None;
    loop {
        let mut rows = R::batch(conn, last.as_ref(), BATCH_ROWS)?;
        let full = rows.len() as i64 == BATCH_ROWS;
        f(&mut rows)?;
        match rows.pop() {
            Some(row) if full => last = Some(row),
            _ => return Ok(()),
        }
    }
}

/// The checksum of the rows as `copy_rows` computes it for the source (normalised the same way,
/// which changes nothing in a copy).
fn digest_rows<R: Copier>(conn: &mut AnyConnection) -> QueryResult<Digest> {
    let mut digest = Digester::default();
    for_each_batch::<R>(conn, |rows| {
        rows.iter_mut().try_for_each(|r| {
            r.normalise();
            digest.add(r)
        })
    })?;
    Ok(digest.finish())
}

/// What copying one table read.
pub struct Copied {
    /// The checksum of the rows as read from the source (normalised).
    digest: Digest,
    /// Values [`Normalise`] changed.
    truncated: u64,
}

/// Copies one table.
fn copy_rows<R: Copier>(
    source: &mut AnyConnection,
    target: &mut AnyConnection,
    progress: &mut dyn FnMut(u64),
) -> QueryResult<Copied> {
    let mut digest = Digester::default();
    let mut detached = Vec::new();
    let mut truncated = 0;
    for_each_batch::<R>(source, |rows| {
        for row in rows.iter_mut() {
            truncated += row.normalise();
            digest.add(row)?;
            detached.extend(row.detach());
        }
        R::insert(target, rows)?;
        progress(rows.len() as u64);
        Ok(())
    })?;
    // Every row is in now, so each reference names an existing row.
    for (id, referenced) in &detached {
        R::reattach(target, id, referenced)?;
    }
    Ok(Copied {
        digest: digest.finish(),
        truncated,
    })
}

/// How a transfer treats a target that already holds data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Delete the target's data (in the same transaction as the copy) instead of refusing.
    /// Only `restore --replace` sets it.
    pub replace: bool,
}

/// One table compared.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: &'static str,
    pub source: Digest,
    pub target: Digest,
    /// Source timestamps with more than microseconds, truncated (see [`Normalise`]).
    pub truncated: u64,
}

impl TableReport {
    pub fn matches(&self) -> bool {
        self.source == self.target
    }
}

/// What a transfer did and found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tables: Vec<TableReport>,
    /// The audit chain verified on the target before commit.
    pub audit: Verification,
    /// PostgreSQL sequences moved past the copied ids (`table.column`).
    pub sequences_reset: Vec<String>,
    pub seconds: f64,
}

impl Report {
    /// Every table identical and the chain intact.
    pub fn ok(&self) -> bool {
        self.audit.ok && self.tables.iter().all(TableReport::matches)
    }

    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.source.rows).sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<26} {:>10} {:>10}  {:<16}  result",
            "table", "source", "target", "sha256"
        )?;
        for t in &self.tables {
            let sha = if t.matches() {
                t.source.sha256[..16].to_owned()
            } else {
                format!("{}≠{}", &t.source.sha256[..7], &t.target.sha256[..7])
            };
            writeln!(
                f,
                "{:<26} {:>10} {:>10}  {:<16}  {}",
                t.table,
                t.source.rows,
                t.target.rows,
                sha,
                if t.matches() { "ok" } else { "DIFFERENT" }
            )?;
        }
        writeln!(
            f,
            "audit chain on the target: {} ({} events checked, head seq {}, hash {})",
            if self.audit.ok { "verified" } else { "BROKEN" },
            self.audit.checked,
            self.audit.head_seq,
            self.audit.head_hash
        )?;
        if let Some(seq) = self.audit.first_broken_seq {
            writeln!(f, "first broken event: seq {seq}")?;
        }
        let truncated: Vec<String> = self
            .tables
            .iter()
            .filter(|t| t.truncated > 0)
            .map(|t| format!("{} in {}", t.truncated, t.table))
            .collect();
        if !truncated.is_empty() {
            writeln!(
                f,
                "timestamps truncated to microseconds (the precision both backends keep): {}",
                truncated.join(", ")
            )?;
        }
        if !self.sequences_reset.is_empty() {
            writeln!(f, "sequences reset: {}", self.sequences_reset.join(", "))?;
        }
        write!(
            f,
            "{} rows in {} tables, {:.1} s: {}",
            self.rows(),
            self.tables.len(),
            self.seconds,
            if self.ok() {
                "identical"
            } else {
                "DIFFERENCES FOUND"
            }
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Connecting, migrating, a wrong argument: nothing was written beyond the migrations.
    #[error("{0}")]
    Setup(String),
    #[error(
        "the target already holds data ({}); a transfer goes only into an empty, freshly \
         migrated database (nothing was copied)",
        list_counts(.0)
    )]
    TargetNotEmpty(Vec<(&'static str, i64)>),
    #[error(
        "the source's audit chain does not verify (first broken event: seq {}); nothing was copied",
        .0.first_broken_seq.unwrap_or_default()
    )]
    SourceChainBroken(Verification),
    #[error("the copy differs from the source; nothing was committed to the target\n{0}")]
    Mismatch(Box<Report>),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

fn list_counts(tables: &[(&'static str, i64)]) -> String {
    tables
        .iter()
        .map(|(t, n)| format!("{t}: {n} rows"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn setup<E: fmt::Display>(what: &str) -> impl FnOnce(E) -> TransferError + '_ {
    move |e| TransferError::Setup(format!("{what}: {e}"))
}

/// Copies every table from `from` into `to`, verified; see the module documentation.
pub fn transfer(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    options: Options,
    progress: &mut dyn Progress,
) -> Result<Report, TransferError> {
    let started = Instant::now();
    if same_database(from, to) {
        return Err(TransferError::Setup(
            "the source and the target are the same database".into(),
        ));
    }
    let mut source = open_source(from)?;
    check_source_schema(&mut source)?;
    // One snapshot for everything read from the source, the verification of its chain included:
    // a service still writing to it cannot make the copy inconsistent.
    source.batch_execute(match source.backend() {
        Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        Backend::Sqlite => "BEGIN DEFERRED",
    })?;
    let result = copy_into(&mut source, to, options, progress, started);
    // Read-only: ending the snapshot commits nothing. A failure here changes nothing either.
    let _ = source.batch_execute("ROLLBACK");
    result
}

fn copy_into(
    source: &mut AnyConnection,
    to: &DatabaseUrl,
    options: Options,
    progress: &mut dyn Progress,
    started: Instant,
) -> Result<Report, TransferError> {
    tracing::info!("verifying the source's audit chain");
    let chain = crate::audit::verify(source, None)?;
    if !chain.ok {
        return Err(TransferError::SourceChainBroken(chain));
    }
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        counts.push(table.count(source)?);
    }

    db::prepare_location(to).map_err(setup("cannot create the target's folder"))?;
    let mut target = db::establish(to).map_err(setup("cannot connect to the target"))?;
    let applied =
        migrations::run_pending(&mut target).map_err(setup("cannot migrate the target"))?;
    tracing::info!(applied = applied.len(), "target migrated");

    let total = counts.iter().map(|&n| n.max(0) as u64).sum();
    let report = db::write_transaction(&mut target, |target| {
        // Judged inside the transaction that copies, so nothing written between the look and
        // the copy can slip through (SQLite: the write lock is already ours).
        if options.replace {
            delete_everything(target)?;
        } else {
            refuse_data(target)?;
        }
        progress.start(total);
        copy_tables(source, target, &counts, progress, started)
    });
    // Also when the copy failed midway (finishing twice is harmless).
    progress.finish();
    let report = report?;
    tracing::info!(
        rows = report.rows(),
        seconds = report.seconds,
        "transfer committed"
    );
    Ok(report)
}

/// The copy and its verification, inside the target's transaction: an `Err` rolls it all back.
fn copy_tables(
    source: &mut AnyConnection,
    target: &mut AnyConnection,
    counts: &[i64],
    progress: &mut dyn Progress,
    started: Instant,
) -> Result<Report, TransferError> {
    // The migrations' own rows give way to the source's (the target holds no data referring to
    // them: it was refused otherwise, or emptied).
    for table in TABLES.iter().rev().filter(|t| t.kind == TableKind::Seeded) {
        (table.delete_all)(target)?;
    }
    let mut read = Vec::with_capacity(TABLES.len());
    for (table, &rows) in TABLES.iter().zip(counts) {
        progress.table(table.name, rows.max(0) as u64);
        let copied = (table.copy)(source, target, &mut |n| progress.advance(n))?;
        read.push(copied);
    }
    // The bar goes before the checking phase logs anything under it.
    progress.finish();
    let sequences_reset = reset_sequences(target)?;

    tracing::info!("checking the copy: row counts, checksums, audit chain");
    let mut tables = Vec::with_capacity(TABLES.len());
    for (table, copied) in TABLES.iter().zip(read) {
        tables.push(TableReport {
            table: table.name,
            source: copied.digest,
            target: table.digest(target)?,
            truncated: copied.truncated,
        });
    }
    let audit = crate::audit::verify(target, None)?;
    let report = Report {
        tables,
        audit,
        sequences_reset,
        seconds: started.elapsed().as_secs_f64(),
    };
    if report.ok() {
        Ok(report)
    } else {
        Err(TransferError::Mismatch(Box::new(report)))
    }
}

/// Refuses a target holding any row of service data.
fn refuse_data(target: &mut AnyConnection) -> Result<(), TransferError> {
    let mut held = Vec::new();
    for table in TABLES.iter().filter(|t| t.kind == TableKind::Data) {
        let n = table.count(target)?;
        if n > 0 {
            held.push((table.name, n));
        }
    }
    if held.is_empty() {
        Ok(())
    } else {
        Err(TransferError::TargetNotEmpty(held))
    }
}

/// Empties every table (for `restore --replace`), in the caller's transaction. The audit log's
/// append-only triggers are set aside for the deletion and are back before the transaction ends.
fn delete_everything(conn: &mut AnyConnection) -> Result<(), TransferError> {
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        sql: String,
    }
    match conn.backend() {
        Backend::Postgres => {
            // DISABLE TRIGGER is transactional: a rollback leaves them enabled.
            conn.batch_execute("ALTER TABLE audit_events DISABLE TRIGGER USER")?;
            for table in TABLES.iter().rev() {
                (table.delete_all)(conn)?;
            }
            conn.batch_execute("ALTER TABLE audit_events ENABLE TRIGGER USER")?;
        }
        Backend::Sqlite => {
            // SQLite cannot disable a trigger: drop them and create them again from their own
            // text, all inside the transaction.
            let triggers: Vec<Named> = diesel::sql_query(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'",
            )
            .load(conn)?;
            for t in &triggers {
                conn.batch_execute(&format!("DROP TRIGGER \"{}\"", t.name.replace('"', "\"\"")))?;
            }
            for table in TABLES.iter().rev() {
                (table.delete_all)(conn)?;
            }
            for t in &triggers {
                conn.batch_execute(&t.sql)?;
            }
        }
    }
    Ok(())
}

/// Moves every PostgreSQL sequence (serial or identity column) past the largest copied value, so
/// the next generated id does not collide with a copied one. The schema has none today (ids are
/// UUIDs, `audit_events.seq` is assigned by the chain head); this keeps a future one safe.
fn reset_sequences(conn: &mut AnyConnection) -> Result<Vec<String>, TransferError> {
    #[derive(QueryableByName)]
    struct Sequence {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        column_name: String,
        #[diesel(sql_type = Text)]
        sequence: String,
    }
    if conn.backend() != Backend::Postgres {
        // SQLite's AUTOINCREMENT follows explicit ids by itself.
        return Ok(Vec::new());
    }
    let sequences: Vec<Sequence> = diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                pg_get_serial_sequence(quote_ident(c.table_schema) || '.' || quote_ident(c.table_name), \
                                       c.column_name)::text AS sequence \
         FROM information_schema.columns c \
         WHERE c.table_schema = current_schema() \
           AND (c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES')",
    )
    .load(conn)?;
    let mut reset = Vec::new();
    for s in sequences {
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        diesel::sql_query(format!(
            "SELECT setval($1::regclass, COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)",
            quote(&s.column_name),
            quote(&s.table_name)
        ))
        .bind::<Text, _>(&s.sequence)
        .execute(conn)?;
        reset.push(format!("{}.{}", s.table_name, s.column_name));
    }
    Ok(reset)
}

fn same_database(a: &DatabaseUrl, b: &DatabaseUrl) -> bool {
    match (a, b) {
        (DatabaseUrl::Postgres(a), DatabaseUrl::Postgres(b)) => a.trim() == b.trim(),
        (DatabaseUrl::Sqlite(a), DatabaseUrl::Sqlite(b)) => absolute(a) == absolute(b),
        _ => false,
    }
}

/// The path made absolute through its existing folder (the file itself may not exist yet).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (dir.canonicalize(), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

/// Opens the source without changing it: SQLite read-only (and never creating a missing file),
/// PostgreSQL as usual (the snapshot transaction is read-only).
pub(crate) fn open_source(url: &DatabaseUrl) -> Result<AnyConnection, TransferError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            if !path.is_file() {
                return Err(TransferError::Setup(format!(
                    "no SQLite database at {}",
                    path.display()
                )));
            }
            let mut conn = diesel::SqliteConnection::establish(&read_only_uri(path))
                .map_err(setup("cannot open the source"))?;
            conn.batch_execute("PRAGMA busy_timeout = 5000")?;
            Ok(AnyConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(_) => {
            db::establish(url).map_err(setup("cannot connect to the source"))
        }
    }
}

/// A `file:` URI opening `path` read-only; the characters a URI gives meaning to are escaped.
pub(crate) fn read_only_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro");
    uri
}

/// The source must carry exactly the migrations this build knows: its tables then have the
/// columns the row structs read.
fn check_source_schema(conn: &mut AnyConnection) -> Result<(), TransferError> {
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }
    let known: Vec<String> = migrations::known(conn)
        .map_err(setup("cannot list the migrations"))?
        .iter()
        .map(|name| name.split('_').next().unwrap_or_default().replace('-', ""))
        .collect();
    let mut applied: Vec<String> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<Version>(conn)
            .map_err(setup(
                "the source is not a Reintegra database (no migrations table)",
            ))?
            .into_iter()
            .map(|v| v.version)
            .collect();
    applied.sort();
    let mut known_sorted = known.clone();
    known_sorted.sort();
    if applied != known_sorted {
        return Err(TransferError::Setup(format!(
            "the source's schema is not this version's ({} of {} migrations applied, {} unknown \
             to this build): run `reintegra migrate` on it with this build first",
            applied.iter().filter(|v| known.contains(v)).count(),
            known.len(),
            applied.iter().filter(|v| !known.contains(v)).count()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_keep_microseconds_and_say_when_they_lost_more() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let mut exact = Some(date.and_hms_micro_opt(9, 0, 0, 123_456).unwrap());
        assert_eq!(exact.normalise(), 0);
        let mut finer = date.and_hms_nano_opt(9, 0, 0, 123_456_789).unwrap();
        assert_eq!(finer.normalise(), 1);
        assert_eq!(finer, date.and_hms_micro_opt(9, 0, 0, 123_456).unwrap());
        assert_eq!(None::<chrono::NaiveDateTime>.normalise(), 0);
    }

    #[test]
    fn the_checksum_does_not_depend_on_the_order_rows_are_read_in() {
        let (mut a, mut b) = (Digester::default(), Digester::default());
        for row in ["x", "y", "z"] {
            a.add(&row).unwrap();
        }
        for row in ["z", "x", "y"] {
            b.add(&row).unwrap();
        }
        let (a, b) = (a.finish(), b.finish());
        assert_eq!(a, b);
        let mut c = Digester::default();
        for row in ["x", "y", "y"] {
            c.add(&row).unwrap();
        }
        assert_ne!(a, c.finish());
    }
}
