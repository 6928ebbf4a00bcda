//! The test harness: the real application against a fresh database per test.
//!
//! `TEST_BACKEND=sqlite` (default) gives each test a new SQLite file in a temporary folder;
//! `TEST_BACKEND=postgres` gives each test a new PostgreSQL database cloned from a migrated
//! template (`CREATE DATABASE … TEMPLATE …`), on the server of `TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use actix_service::boxed::{self, BoxService};
use actix_web::body::to_bytes;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa_actix_web::service_config::ServiceConfig;

use reintegra::clock::TestClock;
use reintegra::config::{Config, DatabaseUrl};
use reintegra::db::{self, migrations, AnyConnection};
use reintegra::state::AppState;

pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TEST_BACKEND must be sqlite or postgres, not {other}"),
    }
}

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The URL of database `name` on the test PostgreSQL server.
pub fn pg_url_for(name: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

/// A fresh, migrated database that disappears with the value.
pub struct TestDb {
    pub url: DatabaseUrl,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn new() -> TestDb {
        Self::of(backend())
    }

    pub fn of(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::Sqlite(dir.path().join("reintegra.db"));
                let mut conn = db::establish(&url).expect("open sqlite");
                migrations::run_pending(&mut conn).expect("migrate sqlite");
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let template = pg_template();
                let name = format!("reintegra_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    PgConnection::establish(&admin_url()).expect("connect to PostgreSQL");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .expect("clone the template database");
                TestDb {
                    url: DatabaseUrl::Postgres(pg_url_for(&name)),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// An empty database (no migrations applied), for migration tests.
    pub fn empty(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestDb {
                    url: DatabaseUrl::Sqlite(dir.path().join("empty.db")),
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let name = format!("reintegra_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin =
                    PgConnection::establish(&admin_url()).expect("connect to PostgreSQL");
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create database");
                TestDb {
                    url: DatabaseUrl::Postgres(pg_url_for(&name)),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    pub fn connect(&self) -> AnyConnection {
        db::establish(&self.url).expect("connect to the test database")
    }

    /// Makes the database unreachable: PostgreSQL drops it (ending every session), SQLite's file
    /// is replaced by a folder, which cannot be opened as a database.
    pub fn destroy(&self) {
        match (&self.url, &self.pg_name) {
            (DatabaseUrl::Postgres(_), Some(name)) => drop_pg_database(name),
            (DatabaseUrl::Sqlite(path), _) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                std::fs::create_dir(path).expect("replace the database by a folder");
            }
            _ => unreachable!(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            drop_pg_database(name);
        }
    }
}

fn drop_pg_database(name: &str) {
    if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

#[derive(QueryableByName)]
struct DbName {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// The migrated template database, named after a hash of the migrations so a change to them makes
/// a new one. Test processes run in parallel (nextest), so creation happens under an advisory lock
/// and the template is published by a rename once complete.
fn pg_template() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let name = format!("reintegra_tpl_{}", migrations_hash());
        let mut admin = PgConnection::establish(&admin_url())
            .expect("connect to PostgreSQL (set TEST_DATABASE_URL, or start it: see README)");
        admin
            .batch_execute("SELECT pg_advisory_lock(727274)")
            .expect("advisory lock");
        let existing: Vec<DbName> = diesel::sql_query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'reintegra_tpl_%'",
        )
        .load(&mut admin)
        .expect("list templates");
        // Templates of other migration sets are left alone: another checkout (a second
        // worktree, a branch) may be cloning them right now. scripts/test removes them before
        // a run.
        if !existing.iter().any(|d| d.datname == name) {
            let building = format!("{name}_building");
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
                .expect("drop an unfinished template");
            admin
                .batch_execute(&format!("CREATE DATABASE {building}"))
                .expect("create template");
            {
                let mut conn = db::establish(&DatabaseUrl::Postgres(pg_url_for(&building)))
                    .expect("connect to template");
                migrations::run_pending(&mut conn).expect("migrate template");
            }
            admin
                .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                .expect("publish template");
        }
        admin
            .batch_execute("SELECT pg_advisory_unlock(727274)")
            .expect("advisory unlock");
        name
    })
}

fn migrations_hash() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut hasher = Sha256::new();
    for f in files {
        hasher.update(f.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(&hasher.finalize()[..8])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The configuration tests run with: the test database, a fixed secret, cheap argon2.
pub fn test_config(url: &DatabaseUrl, overrides: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = HashMap::new();
    let url = match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    };
    vars.insert("DATABASE_URL".into(), url);
    vars.insert("REINTEGRA_JWT_SECRET".into(), TEST_SECRET.into());
    vars.insert("REINTEGRA_DB_POOL_SIZE".into(), "8".into());
    vars.insert("REINTEGRA_ARGON2_M_KIB".into(), "64".into());
    vars.insert("REINTEGRA_ARGON2_T".into(), "1".into());
    for (k, v) in overrides {
        vars.insert((*k).into(), (*v).into());
    }
    Config::from_lookup(|k| vars.get(k).cloned()).expect("valid test configuration")
}

type AppService = BoxService<actix_http::Request, ServiceResponse, actix_web::Error>;

/// The application on a fresh database, called in-process through its full middleware stack.
pub struct TestApp {
    service: AppService,
    pub state: AppState,
    pub clock: TestClock,
    pub db: TestDb,
}

/// 2026-03-02 09:00 UTC: a Monday, well inside a programme year.
pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
        Self::build(overrides, reintegra::routes).await
    }

    /// The application with extra routes mounted beside the real ones (test fixtures that
    /// exercise the shared HTTP pieces before any feature uses them).
    pub async fn build(overrides: &[(&str, &str)], routes: fn(&mut ServiceConfig)) -> TestApp {
        Self::build_on(TestDb::new(), overrides, routes).await
    }

    /// The application on a database of the caller's choosing (a backend other than
    /// `TEST_BACKEND`, one filled by a transfer, or one prepared by `seed-demo`).
    pub async fn on(db: TestDb) -> TestApp {
        Self::build_on(db, &[], reintegra::routes).await
    }

    async fn build_on(
        db: TestDb,
        overrides: &[(&str, &str)],
        routes: fn(&mut ServiceConfig),
    ) -> TestApp {
        let clock = TestClock::at(start_time());
        let state = AppState::new(test_config(&db.url, overrides), Arc::new(clock.clone()))
            .expect("application state");
        let service =
            actix_web::test::init_service(reintegra::app_with(state.clone(), routes)).await;
        TestApp {
            service: boxed::service(service),
            state,
            clock,
            db,
        }
    }

    pub async fn call(&self, req: TestRequest) -> TestResponse {
        let res = self
            .service
            .call(req.to_request())
            .await
            .unwrap_or_else(|e| panic!("the service returned an error instead of a response: {e}"));
        let status = res.status();
        let headers = res.headers().clone();
        let body = to_bytes(res.into_body()).await.unwrap_or_default();
        TestResponse {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.call(TestRequest::get().uri(path)).await
    }

    pub fn conn(&self) -> AnyConnection {
        self.db.connect()
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer of `status` and `type` name; answers the problem.
    #[track_caller]
    pub fn problem(&self, status: u16, type_name: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text()
        );
        let p = self.json();
        assert_eq!(
            p["type"],
            format!("https://reintegra.example/problems/{type_name}"),
            "{p}"
        );
        assert_eq!(p["status"], status);
        assert!(p["title"].is_string(), "{p}");
        assert!(p["request_id"].is_string(), "{p}");
        assert_eq!(
            p["request_id"].as_str(),
            self.header("x-request-id"),
            "the body names the response's request id"
        );
        p
    }

    /// The `(field, code)` pairs of a problem's `errors`.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.json()["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors member: {}", self.text()))
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap_or_default().to_owned(),
                    e["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// `SELECT COUNT(*) AS n FROM …` on the test database.
pub fn count(conn: &mut AnyConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .expect("count query")
        .n
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub roles: Vec<reintegra::policy::Role>,
    pub token: String,
    pub refresh_token: String,
}

pub const TEST_PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Creates an active account with these roles straight in the database (no initial-password
    /// step), returning its id and e-mail.
    pub fn create_staff(
        &self,
        roles: &[reintegra::policy::Role],
        must_change_password: bool,
    ) -> (String, String) {
        use reintegra::staff::model::StaffRow;
        let id = uuid::Uuid::new_v4().to_string();
        let label = roles.first().map(|r| r.as_str()).unwrap_or("staff");
        let email = format!("{label}.{}@club.test", &id[..8]);
        let hash =
            reintegra::auth::password::hash_with(&self.state.passwords.params(), TEST_PASSWORD)
                .unwrap();
        let now = reintegra::http::stored_now(&self.clock);
        let row = StaffRow {
            id: id.clone(),
            email: email.clone(),
            full_name: format!("Test {label} {}", &id[..4]),
            full_name_key: format!("test {label} {}", &id[..4]),
            password_hash: hash,
            active: true,
            active_until: None,
            must_change_password,
            token_version: 1,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let roles = roles.to_vec();
        self.state
            .db
            .write_blocking(|conn| -> Result<(), reintegra::http::AppError> {
                Ok(reintegra::staff::repo::insert(conn, &row, &roles)?)
            })
            .expect("create staff");
        (id, email)
    }

    /// A signed-in staff member holding `roles`.
    pub async fn user(&self, roles: &[reintegra::policy::Role]) -> TestUser {
        let (id, email) = self.create_staff(roles, false);
        let res = self.login(&email, TEST_PASSWORD).await;
        assert_eq!(res.status, 200, "login: {}", res.text());
        let body = res.json();
        TestUser {
            id,
            email,
            password: TEST_PASSWORD.into(),
            roles: roles.to_vec(),
            token: body["access_token"].as_str().unwrap().to_owned(),
            refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Moves the clock to `at` and signs `users` in again there (their old access tokens would
    /// have expired on the way).
    pub async fn travel_to(&self, at: chrono::DateTime<Utc>, users: &mut [&mut TestUser]) {
        self.clock.set(at);
        for user in users.iter_mut() {
            let res = self.login(&user.email, &user.password).await;
            assert_eq!(res.status, 200, "login: {}", res.text());
            let body = res.json();
            user.token = body["access_token"].as_str().unwrap().to_owned();
            user.refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.call(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .set_json(serde_json::json!({"email": email, "password": password})),
        )
        .await
    }

    /// Calls with the user's access token.
    pub async fn call_as(&self, user: &TestUser, req: TestRequest) -> TestResponse {
        self.call(req.insert_header(("authorization", format!("Bearer {}", user.token))))
            .await
    }

    pub async fn get_as(&self, user: &TestUser, path: &str) -> TestResponse {
        self.call_as(user, TestRequest::get().uri(path)).await
    }

    /// The audit actions recorded so far, in order, with their outcomes.
    pub fn audit_trail(&self) -> Vec<(String, String)> {
        use reintegra::db::schema::audit_events::dsl::*;
        audit_events
            .select((action, outcome))
            .order(seq.asc())
            .load(&mut self.conn())
            .expect("read audit events")
    }
}

/// A valid, unique PESEL for test participant number `n`.
pub fn pesel_for(n: u32) -> String {
    use reintegra::participants::pesel::{Pesel, Sex};
    let birth = chrono::NaiveDate::from_ymd_opt(1970 + (n % 40) as i32, 1 + (n % 12), 1 + (n % 28))
        .unwrap();
    let sex = if n % 2 == 0 { Sex::Female } else { Sex::Male };
    Pesel::generate(birth, (n / 40 % 10_000) as u16, sex)
        .unwrap()
        .as_str()
        .to_owned()
}

/// A complete registration body for participant number `n`.
pub fn participant_body(n: u32) -> serde_json::Value {
    serde_json::json!({
        "first_name": "Anna",
        "last_name": format!("Przykładowa-{n}"),
        "pesel": pesel_for(n),
        "phone": "+48 600 100 200",
        "email": format!("anna{n}@example.org"),
        "address": {"street": "Ogrodowa 1", "postal_code": "00-950", "city": "Łódź"},
        "education_level": "isced_3_4",
        "labour_status_at_entry": "long_term_unemployed",
        "disability": false,
        "referral": {"source": "ops", "reference": "OPS/2026/1", "referred_on": "2026-02-20"},
        "risk_groups": [{"code": "long_term_unemployed", "evidence": "PUP certificate 12/2026", "evidence_date": "2026-02-10"}]
    })
}

impl TestApp {
    /// Registers a participant as `user` (who joins the care team as lead if clinical).
    pub async fn register_participant(&self, user: &TestUser, body: serde_json::Value) -> String {
        let res = self
            .call_as(
                user,
                TestRequest::post()
                    .uri("/api/v1/participants")
                    .set_json(body),
            )
            .await;
        assert_eq!(res.status, 201, "register: {}", res.text());
        res.json()["id"].as_str().unwrap().to_owned()
    }
}

impl TestApp {
    /// Qualifies a referred participant as `lead` (it has a risk group with evidence).
    pub async fn qualify(&self, lead: &TestUser, participant_id: &str) {
        let res = self
            .call_as(
                lead,
                TestRequest::post()
                    .uri(&format!(
                        "/api/v1/participants/{participant_id}/qualification"
                    ))
                    .set_json(
                        serde_json::json!({"decision": "qualified", "decided_on": "2026-02-25"}),
                    ),
            )
            .await;
        assert_eq!(res.status, 200, "qualify: {}", res.text());
    }
}
