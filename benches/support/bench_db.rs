//! A fresh database for one benchmark run: a temporary SQLite file, or with
//! `BENCH_DATABASE_URL=postgres://…` a new PostgreSQL database on that server, dropped again
//! when the value goes. Included with `#[path]` by the in-process benches.

// Shared by several bench targets through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::Connection;

use reintegra::clock::SystemClock;
use reintegra::config::{Config, DatabaseUrl};
use reintegra::db::{self, migrations};
use reintegra::state::AppState;

pub struct BenchDb {
    pub url: String,
    /// `sqlite` or `postgres`, for the report.
    pub backend: &'static str,
    /// The PostgreSQL server's admin URL and the database made on it.
    made: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl BenchDb {
    pub fn from_env() -> BenchDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("BENCH_DATABASE_URL").ok() {
            Some(admin) => {
                let name = format!("reintegra_bench_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    diesel::PgConnection::establish(&admin).expect("connect to PostgreSQL");
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                BenchDb {
                    url: format!("{base}/{name}"),
                    backend: "postgres",
                    made: Some((admin, name)),
                    _dir: dir,
                }
            }
            None => BenchDb {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                backend: "sqlite",
                made: None,
                _dir: dir,
            },
        }
    }

    /// The application's state on this database, with cheap argon2 parameters (the benches
    /// measure everything but password hashing).
    pub fn state(&self) -> AppState {
        let vars: HashMap<&str, String> = HashMap::from([
            ("DATABASE_URL", self.url.clone()),
            (
                "REINTEGRA_JWT_SECRET",
                "bench-secret-bench-secret-bench-secret".to_owned(),
            ),
            ("REINTEGRA_ARGON2_M_KIB", "64".to_owned()),
            ("REINTEGRA_ARGON2_T", "1".to_owned()),
        ]);
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
        AppState::new(config, Arc::new(SystemClock)).expect("state")
    }

    /// A connection of its own to the migrated database.
    pub fn connect(&self) -> db::AnyConnection {
        let url = DatabaseUrl::parse(&self.url).expect("url");
        let mut conn = db::establish(&url).expect("connect");
        migrations::run_pending(&mut conn).expect("migrate");
        conn
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.made {
            if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// An hour's access token for `staff_id`, as the sign-in would issue it.
pub async fn token_for(state: &AppState, staff_id: &str) -> String {
    let id = staff_id.to_owned();
    let member = state
        .db
        .read(move |c| Ok(reintegra::staff::repo::find(c, &id)?))
        .await
        .expect("staff")
        .expect("staff exists");
    reintegra::auth::token::issue_access(
        &state.jwt_secret,
        Utc::now(),
        3600,
        staff_id,
        member.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        member.row.token_version,
    )
    .expect("token")
}
