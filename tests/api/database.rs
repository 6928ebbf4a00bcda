//! One schema on two backends: the migration sets agree, every migration runs up, down and up
//! again, and SQLite connections carry the pragmas the service relies on.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use reintegra::db::{migrations, AnyConnection};

use crate::common::{backend, count, Backend, TestApp, TestDb};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[derive(QueryableByName, Debug)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

const PG_COLUMNS: &str =
    "SELECT table_name::text AS table_name, column_name::text AS column_name, \
     data_type::text AS data_type, is_nullable::text AS is_nullable \
     FROM information_schema.columns \
     WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'";
const SQLITE_COLUMNS: &str = "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
     CASE WHEN p.\"notnull\" = 1 THEN 'NO' ELSE 'YES' END AS is_nullable \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'";
const PG_INDEXES: &str = "SELECT indexname::text AS name FROM pg_indexes \
     WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND tablename <> '__diesel_schema_migrations'";
const SQLITE_INDEXES: &str = "SELECT name FROM sqlite_master WHERE type = 'index' \
     AND name NOT LIKE 'sqlite_autoindex_%'";

/// Columns with dialect type names folded to one vocabulary.
fn columns(conn: &mut AnyConnection, sql: &str) -> Vec<Column> {
    let mut cols: Vec<Column> = diesel::sql_query(sql).load(conn).expect("read columns");
    for c in &mut cols {
        c.data_type = match c.data_type.to_lowercase().as_str() {
            "timestamp without time zone" | "timestamp" => "timestamp".into(),
            "character varying" | "varchar" | "text" => "text".into(),
            "boolean" | "bool" => "boolean".into(),
            other => other.into(),
        };
    }
    cols.sort();
    cols
}

fn index_names(conn: &mut AnyConnection, sql: &str) -> Vec<String> {
    let mut names: Vec<String> = diesel::sql_query(sql)
        .load::<Named>(conn)
        .expect("read indexes")
        .into_iter()
        .map(|n| n.name)
        .collect();
    names.sort();
    names
}

#[test]
fn both_migration_sets_produce_the_same_tables_columns_types_and_nullability() {
    let sqlite = TestDb::of(Backend::Sqlite);
    let postgres = TestDb::of(Backend::Postgres);
    let (mut s, mut p) = (sqlite.connect(), postgres.connect());
    let (sc, pc) = (columns(&mut s, SQLITE_COLUMNS), columns(&mut p, PG_COLUMNS));
    assert!(!sc.is_empty());
    let only_sqlite: Vec<_> = sc.iter().filter(|c| !pc.contains(c)).collect();
    let only_postgres: Vec<_> = pc.iter().filter(|c| !sc.contains(c)).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
    assert_eq!(
        index_names(&mut s, SQLITE_INDEXES),
        index_names(&mut p, PG_INDEXES)
    );
    assert_eq!(
        migrations::known(&s).unwrap(),
        migrations::known(&p).unwrap()
    );
}

fn user_tables(conn: &mut AnyConnection) -> i64 {
    let sql = match conn.backend() {
        reintegra::db::Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations'"
        }
        reintegra::db::Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'"
        }
    };
    count(conn, sql)
}

#[test]
fn every_migration_runs_up_down_and_up_again() {
    let db = TestDb::empty(backend());
    let mut conn = db.connect();
    let known = migrations::known(&conn).unwrap();
    let applied = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(applied.len(), known.len());
    assert!(!migrations::has_pending(&mut conn).unwrap());
    let tables_after_up = user_tables(&mut conn);

    // Down one at a time, newest first, then all the way up again.
    for _ in 0..known.len() {
        migrations::revert_last(&mut conn).unwrap();
        assert!(migrations::has_pending(&mut conn).unwrap());
    }
    assert_eq!(
        user_tables(&mut conn),
        0,
        "down migrations leave nothing behind"
    );
    let reapplied = migrations::run_pending(&mut conn).unwrap();
    assert_eq!(reapplied.len(), known.len());
    assert_eq!(user_tables(&mut conn), tables_after_up);

    // And each step individually: up, down, up.
    migrations::revert_last(&mut conn).unwrap();
    assert_eq!(migrations::run_pending(&mut conn).unwrap().len(), 1);
    assert!(!migrations::has_pending(&mut conn).unwrap());
}

#[derive(QueryableByName)]
struct Pragma {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct PragmaNumber {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[actix_web::test]
async fn sqlite_connections_use_wal_full_sync_foreign_keys_and_a_busy_timeout() {
    let db = TestDb::of(Backend::Sqlite);
    let app_state = reintegra::state::AppState::new(
        crate::common::test_config(&db.url, &[]),
        std::sync::Arc::new(reintegra::clock::SystemClock),
    )
    .unwrap();
    let mut conn = app_state.db.conn().unwrap();
    let text = |conn: &mut AnyConnection, sql: &str| -> String {
        diesel::sql_query(sql)
            .get_result::<Pragma>(conn)
            .unwrap()
            .value
    };
    let number = |conn: &mut AnyConnection, sql: &str| -> i64 {
        diesel::sql_query(sql)
            .get_result::<PragmaNumber>(conn)
            .unwrap()
            .value
    };
    assert_eq!(
        text(
            &mut conn,
            "SELECT journal_mode AS value FROM pragma_journal_mode"
        ),
        "wal"
    );
    assert_eq!(
        number(
            &mut conn,
            "SELECT synchronous AS value FROM pragma_synchronous"
        ),
        2
    );
    assert_eq!(
        number(
            &mut conn,
            "SELECT foreign_keys AS value FROM pragma_foreign_keys"
        ),
        1
    );
    assert_eq!(
        number(
            &mut conn,
            "SELECT timeout AS value FROM pragma_busy_timeout"
        ),
        5000
    );
}

#[actix_web::test]
async fn concurrent_write_transactions_never_fail_busy() {
    // Many writers at once on one table: on SQLite they take turns (IMMEDIATE transactions behind
    // the write lock), on PostgreSQL they run side by side; nobody sees an error.
    let app = TestApp::spawn().await;
    app.conn()
        .batch_execute("CREATE TABLE counter (id INTEGER PRIMARY KEY NOT NULL, n BIGINT NOT NULL); INSERT INTO counter VALUES (1, 0)")
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let db = app.state.db.clone();
        tasks.push(async move {
            db.write(|conn| {
                // Read, then write later in the same transaction: the pattern that fails with
                // SQLITE_BUSY under deferred transactions.
                let _: i64 = diesel::sql_query("SELECT n AS value FROM counter WHERE id = 1")
                    .get_result::<PragmaNumber>(conn)?
                    .value;
                conn.batch_execute("UPDATE counter SET n = n + 1 WHERE id = 1")?;
                Ok(())
            })
            .await
        });
    }
    for result in futures::future::join_all(tasks).await {
        result.expect("write transaction");
    }
    assert_eq!(count(&mut app.conn(), "SELECT n AS n FROM counter"), 40);
}
