//! `reintegra backup` (SQLite: `VACUUM INTO`, checked) and `reintegra restore` (a verified
//! transfer from the backup file).

use std::path::{Path, PathBuf};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;

use super::{
    absolute, open_source, read_only_uri, transfer, Options, Progress, Report, TransferError,
    TABLES,
};
use crate::audit::Verification;
use crate::config::DatabaseUrl;
use crate::db::AnyConnection;

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// What a backup wrote and found in the copy.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    pub audit: Verification,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "`reintegra backup` makes SQLite backups; on PostgreSQL use pg_dump, e.g.\n  \
         pg_dump --format=custom --file={file} \"$DATABASE_URL\"\n\
         and restore with\n  \
         pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" {file}\n\
         (or make a verified SQLite copy: reintegra transfer --from \"$DATABASE_URL\" --to copy.db)"
    )]
    Postgres { file: String },
    #[error("{0} already exists; a backup never overwrites a file")]
    Exists(PathBuf),
    #[error("{0}")]
    Failed(String),
}

/// A consistent online snapshot of a SQLite database (`VACUUM INTO`, which reads in one
/// transaction while the service goes on writing), into a new file readable by the owner only,
/// then checked: SQLite's integrity check and the audit chain. A failed backup leaves no file.
pub fn backup(database: &DatabaseUrl, file: &Path) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    let path = match database {
        DatabaseUrl::Postgres(_) => {
            return Err(BackupError::Postgres {
                file: file.display().to_string(),
            })
        }
        DatabaseUrl::Sqlite(path) => path,
    };
    if !path.is_file() {
        return Err(BackupError::Failed(format!(
            "no SQLite database at {}",
            path.display()
        )));
    }
    if absolute(path) == absolute(file) {
        return Err(BackupError::Exists(file.to_path_buf()));
    }
    create_private(file)?;
    let result = write_backup(path, file);
    if result.is_err() {
        // Only the file this call created (`create_new` above) is removed.
        let _ = std::fs::remove_file(file);
    }
    let (rows, audit) = result?;
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        file: file.to_path_buf(),
        bytes,
        rows,
        audit,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Creates the empty file the backup goes into: never over an existing one, and 0600 since it
/// holds special-category data. `VACUUM INTO` accepts an empty file.
fn create_private(file: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(BackupError::Exists(file.to_path_buf()))
        }
        Err(e) => Err(BackupError::Failed(format!(
            "cannot create {}: {e}",
            file.display()
        ))),
    }
}

fn write_backup(database: &Path, file: &Path) -> Result<(u64, Verification), BackupError> {
    let failed = |what: &str| {
        let what = what.to_owned();
        move |e: diesel::result::Error| BackupError::Failed(format!("{what}: {e}"))
    };
    let mut conn = diesel::SqliteConnection::establish(&read_only_uri(database))
        .map_err(|e| BackupError::Failed(format!("cannot open the database: {e}")))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000")
        .map_err(failed("cannot open the database"))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(file.to_string_lossy())
        .execute(&mut conn)
        .map_err(failed("VACUUM INTO failed"))?;
    drop(conn);
    let mut copy = AnyConnection::Sqlite(
        diesel::SqliteConnection::establish(&read_only_uri(file))
            .map_err(|e| BackupError::Failed(format!("cannot open the backup: {e}")))?,
    );
    check_integrity(&mut copy).map_err(|e| BackupError::Failed(e.to_string()))?;
    let audit =
        crate::audit::verify(&mut copy, None).map_err(failed("cannot verify the audit chain"))?;
    if !audit.ok {
        return Err(BackupError::Failed(format!(
            "the backup's audit chain does not verify (first broken event: seq {}): is the \
             database's own chain intact? (GET /api/v1/audit-events/verify)",
            audit.first_broken_seq.unwrap_or_default()
        )));
    }
    let mut rows = 0;
    for table in TABLES {
        rows += table
            .count(&mut copy)
            .map_err(failed("cannot count the backup's rows"))? as u64;
    }
    Ok((rows, audit))
}

/// SQLite's own check of a database file (pages, indexes, constraints' structures).
fn check_integrity(conn: &mut AnyConnection) -> Result<(), TransferError> {
    let results: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(conn)?;
    let problems: Vec<String> = results
        .into_iter()
        .map(|c| c.integrity_check)
        .filter(|r| r != "ok")
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TransferError::Setup(format!(
            "the SQLite integrity check failed: {}",
            problems.join("; ")
        )))
    }
}

/// Restores a SQLite backup into `database` (either backend): the backup's integrity is checked,
/// then it is transferred like any source — its audit chain verified first, the copy verified
/// before commit, all in one transaction. A target holding data is refused unless `replace`.
pub fn restore(
    backup: &Path,
    database: &DatabaseUrl,
    replace: bool,
    progress: &mut dyn Progress,
) -> Result<Report, TransferError> {
    let source = DatabaseUrl::Sqlite(backup.to_path_buf());
    let mut conn = open_source(&source)?;
    check_integrity(&mut conn).map_err(|e| {
        TransferError::Setup(format!(
            "{} is not a sound SQLite database: {e}",
            backup.display()
        ))
    })?;
    drop(conn);
    transfer(&source, database, Options { replace }, progress)
}
