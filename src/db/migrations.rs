//! Embedded migrations, one set per backend with the same migration names.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::AnyConnection;

pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

// MigrationHarness is implemented for the concrete connections, so each call matches on the backend.
macro_rules! with_harness {
    ($conn:expr, |$c:ident, $set:ident| $body:expr) => {
        match $conn {
            AnyConnection::Postgresql($c) => {
                let $set = POSTGRES;
                $body
            }
            AnyConnection::Sqlite($c) => {
                let $set = SQLITE;
                $body
            }
        }
    };
}

/// Applies every pending migration; answers the names applied.
pub fn run_pending(conn: &mut AnyConnection) -> Result<Vec<String>, MigrationError> {
    with_harness!(conn, |c, set| c
        .run_pending_migrations(set)
        .map(|v| v.iter().map(|m| m.to_string()).collect()))
}

/// True when the database lacks a migration this build knows (readiness answers 503 then).
pub fn has_pending(conn: &mut AnyConnection) -> Result<bool, MigrationError> {
    with_harness!(conn, |c, set| c.has_pending_migration(set))
}

/// Reverts the newest applied migration; answers its name.
pub fn revert_last(conn: &mut AnyConnection) -> Result<String, MigrationError> {
    with_harness!(conn, |c, set| c
        .revert_last_migration(set)
        .map(|m| m.to_string()))
}

/// Names of the migrations this build embeds for the connection's backend, oldest first.
pub fn known(conn: &AnyConnection) -> Result<Vec<String>, MigrationError> {
    use diesel::migration::MigrationSource;
    Ok(match conn {
        AnyConnection::Postgresql(_) => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        AnyConnection::Sqlite(_) => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    })
}
