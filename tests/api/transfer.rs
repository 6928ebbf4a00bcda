//! `reintegra transfer`, `backup` and `restore` (issue 16).
//!
//! The cross-backend cases copy INTO the backend under test (`TEST_BACKEND`) from the other one:
//! PostgreSQL → SQLite in the SQLite run of `scripts/test`, SQLite → PostgreSQL in the
//! PostgreSQL run, so each direction runs once. Both runs need the PostgreSQL server (as
//! `database.rs` already does).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use actix_web::test::TestRequest;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{json, Value};

use reintegra::config::DatabaseUrl;
use reintegra::db::schema::case_notes;
use reintegra::db::AnyConnection;
use reintegra::policy::Role;
use reintegra::transfer::{self, Digest, Options, Silent, TableKind, TABLES};

use crate::common::{backend, count, participant_body, Backend, TestApp, TestDb, TestUser};
use crate::consents::{consent_body, record_consent};
use crate::diagnoses::record_final_diagnosis;
use crate::notes::write_note;
use crate::outcomes::record_outcome;
use crate::plans::plans_of;
use crate::sessions::{plan as plan_session, put_attendance, session_body};

const BIN: &str = env!("CARGO_BIN_EXE_reintegra");

fn other(b: Backend) -> Backend {
    match b {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

/// (source, target): into the backend under test, from the other one.
fn direction() -> (Backend, Backend) {
    (other(backend()), backend())
}

fn url_arg(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        DatabaseUrl::Postgres(u) => u.clone(),
    }
}

fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    cmd
}

fn transfer_args(from: &DatabaseUrl, to: &DatabaseUrl) -> [String; 5] {
    [
        "transfer".to_owned(),
        "--from".to_owned(),
        url_arg(from),
        "--to".to_owned(),
        url_arg(to),
    ]
}

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run reintegra");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// Every table's row count and checksum.
fn digests(conn: &mut AnyConnection) -> Vec<(&'static str, Digest)> {
    TABLES
        .iter()
        .map(|t| (t.name, t.digest(conn).expect("digest")))
        .collect()
}

/// Rows in the tables the service fills (the migrations' own rows left out).
fn data_rows(conn: &mut AnyConnection) -> Vec<(&'static str, i64)> {
    TABLES
        .iter()
        .filter(|t| t.kind == TableKind::Data)
        .map(|t| (t.name, t.count(conn).expect("count")))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// 100 kB of Polish and emoji (multi-byte in UTF-8), with line breaks and quotes.
fn large_text() -> String {
    let line = "Zażółć gęślą jaźń — ŹRÓDŁO \"cytat\" 'apostrof' \\ 😀🎉 ąćęłńóśźż\n";
    let mut text = String::new();
    while text.len() < 100_000 {
        text.push_str(line);
    }
    text
}

struct Seeded {
    app: TestApp,
    psych: TestUser,
    manager: TestUser,
    participant: String,
    /// Registered with every optional field left out: NULLs in most nullable columns.
    sparse: String,
    large_note: String,
}

async fn post(app: &TestApp, user: &TestUser, path: &str, body: Value) -> Value {
    let res = app
        .call_as(user, TestRequest::post().uri(path).set_json(body))
        .await;
    assert!(res.status.is_success(), "POST {path}: {}", res.text());
    res.json()
}

/// A club with a row in every table, through the API; only the 100 kB note body is written
/// straight into the database (the API takes at most 20,000 characters).
async fn seeded(on: Backend) -> Seeded {
    let app = TestApp::on(TestDb::of(on)).await;
    let manager = app.user(&[Role::Manager]).await;
    let psych = app.user(&[Role::Psychologist]).await;

    let mut body = participant_body(1);
    body["first_name"] = json!("Zażółć 🙂");
    body["last_name"] = json!("Gęślą-Jaźń");
    let p = app.register_participant(&psych, body).await;
    app.qualify(&psych, &p).await;
    let programme = post(
        &app,
        &psych,
        &format!("/api/v1/participants/{p}/programmes"),
        json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sparse = app
        .register_participant(
            &psych,
            json!({
                "first_name": "Łucja", "last_name": "Nowak", "pesel": crate::common::pesel_for(2),
                "referral": {"source": "self", "referred_on": "2026-02-20"}
            }),
        )
        .await;

    record_consent(&app, &psych, &p, consent_body("image", "2026-03-01")).await;
    let note = write_note(&app, &psych, &p, "Notatka: rozmowa o mieszkaniu 🏠", "team").await;
    // A correction names the corrected note: a reference within case_notes.
    post(
        &app,
        &psych,
        &format!("/api/v1/participants/{p}/notes"),
        json!({"body": "Korekta: chodziło o Łódź", "confidentiality": "team", "corrects_note_id": note}),
    )
    .await;
    let large_note = write_note(&app, &psych, &p, "placeholder", "psychologist").await;
    diesel::update(case_notes::table.find(&large_note))
        .set(case_notes::body.eq(large_text()))
        .execute(&mut app.conn())
        .expect("store the large note");

    let diagnosis = record_final_diagnosis(&app, &psych, &p, "psychological").await;
    record_final_diagnosis(&app, &psych, &p, "holland").await;
    post(
        &app,
        &psych,
        &format!("/api/v1/diagnoses/{diagnosis}/amendments"),
        json!({"reason": "Pomyłka w dacie", "text": "Badanie odbyło się rano ☀️"}),
    )
    .await;

    // An active plan and its draft revision (a reference within plans), a goal's status
    // change (its history) and a review.
    let plans = plans_of(&app, &psych, &p, &programme).await;
    let res = app
        .call_as(
            &psych,
            TestRequest::patch()
                .uri(&format!("/api/v1/goals/{}", plans.goal))
                .insert_header(("if-match", "\"1\""))
                .set_json(json!({"status": "in_progress", "progress_note": "Postęp 👍"})),
        )
        .await;
    assert_eq!(res.status, 200, "goal: {}", res.text());
    post(
        &app,
        &psych,
        &format!("/api/v1/plans/{}/reviews", plans.active),
        json!({"reviewed_on": "2026-03-02", "summary": "Przegląd: wszystko zgodnie z planem"}),
    )
    .await;

    let session = plan_session(
        &app,
        &psych,
        session_body(
            "support_group",
            "2026-03-02T09:00:00+01:00",
            90,
            &[&psych.id],
            &[&p],
        ),
    )
    .await;
    let res = put_attendance(
        &app,
        &psych,
        session["id"].as_str().unwrap(),
        session["version"].as_i64().unwrap(),
        json!([{"participant_id": p, "status": "present", "note": "Rozmowa o sprawie sądowej"}]),
    )
    .await;
    assert_eq!(res.status, 200, "attendance: {}", res.text());
    record_outcome(&app, &psych, &p).await;
    // The exit schedules the follow-ups.
    post(
        &app,
        &psych,
        &format!("/api/v1/programmes/{programme}/exit"),
        json!({"exit_date": "2026-03-02", "exit_reason": "completed"}),
    )
    .await;

    // A stored idempotent reply, a failed sign-in.
    let res = app
        .call_as(
            &psych,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{p}/notes"))
                .insert_header(("idempotency-key", "notatka-1"))
                .set_json(json!({"body": "Idempotentna notatka", "confidentiality": "team"})),
        )
        .await;
    assert_eq!(res.status, 201, "idempotent note: {}", res.text());
    assert_eq!(
        app.login(&manager.email, "not the password").await.status,
        401
    );

    let empty: Vec<&str> = TABLES
        .iter()
        .filter(|t| t.count(&mut app.conn()).expect("count") == 0)
        .map(|t| t.name)
        .collect();
    assert!(empty.is_empty(), "the seed leaves tables empty: {empty:?}");
    Seeded {
        app,
        psych,
        manager,
        participant: p,
        sparse,
        large_note,
    }
}

/// Signs `user` in on `app` (another database holding the same account).
async fn sign_in(app: &TestApp, user: &TestUser) -> TestUser {
    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status, 200, "login: {}", res.text());
    let mut user = user.clone();
    user.token = res.json()["access_token"].as_str().unwrap().to_owned();
    user
}

#[actix_web::test]
async fn a_seeded_database_is_copied_identically_into_the_backend_under_test() {
    let (from, to) = direction();
    let source = seeded(from).await;
    let target = TestDb::empty(to);

    let report = transfer::transfer(
        &source.app.db.url,
        &target.url,
        Options::default(),
        &mut Silent,
    )
    .unwrap_or_else(|e| panic!("transfer {from:?} → {to:?}: {e}"));
    assert!(report.ok(), "{report}");
    assert_eq!(report.tables.len(), TABLES.len());
    assert!(report.audit.ok && report.audit.checked > 10, "{report}");

    // Checked again here, independently of the report.
    let source_digests = digests(&mut source.app.conn());
    assert_eq!(source_digests, digests(&mut target.connect()));
    assert!(source_digests.iter().all(|(_, d)| d.rows > 0));

    // The service on the target serves the same data.
    let copy = TestApp::on(target).await;
    let psych = sign_in(&copy, &source.psych).await;
    let manager = sign_in(&copy, &source.manager).await;
    let res = copy
        .get_as(&manager, "/api/v1/reports/annual?year=2026")
        .await;
    assert_eq!(
        res.json(),
        source
            .app
            .get_as(&source.manager, "/api/v1/reports/annual?year=2026")
            .await
            .json()
    );
    for path in [
        format!("/api/v1/participants/{}", source.participant),
        format!("/api/v1/participants/{}", source.sparse),
        format!("/api/v1/participants/{}/notes", source.participant),
        format!("/api/v1/participants/{}/diagnoses", source.participant),
        format!("/api/v1/participants/{}/plans", source.participant),
        format!("/api/v1/participants/{}/follow-ups", source.participant),
        format!("/api/v1/participants/{}/outcomes", source.participant),
    ] {
        let before = source.app.get_as(&source.psych, &path).await;
        let after = copy.get_as(&psych, &path).await;
        assert_eq!(before.status, 200, "{path}: {}", before.text());
        assert_eq!(after.status, 200, "{path}: {}", after.text());
        assert_eq!(before.json(), after.json(), "{path}");
        assert_eq!(before.header("etag"), after.header("etag"), "{path}");
    }
    let participant = copy
        .get_as(
            &psych,
            &format!("/api/v1/participants/{}", source.participant),
        )
        .await
        .json();
    assert_eq!(participant["first_name"], "Zażółć 🙂");
    assert_eq!(participant["disability"], false);
    let sparse = copy
        .get_as(&psych, &format!("/api/v1/participants/{}", source.sparse))
        .await
        .json();
    assert_eq!(sparse["email"], Value::Null);
    assert_eq!(sparse["disability"], Value::Null);
    let large: String = case_notes::table
        .find(&source.large_note)
        .select(case_notes::body)
        .first(&mut copy.conn())
        .expect("the large note");
    assert_eq!(large, large_text());
    // Appending to the copied chain continues it: it still verifies after the reads above.
    let auditor = copy.user(&[Role::Auditor]).await;
    let res = copy.get_as(&auditor, "/api/v1/audit-events/verify").await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["ok"], true, "{}", res.text());
}

#[test]
fn every_table_of_both_migrated_catalogues_is_copied_in_foreign_key_order() {
    #[derive(QueryableByName)]
    struct Edge {
        #[diesel(sql_type = Text)]
        child: String,
        #[diesel(sql_type = Text)]
        parent: String,
    }
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let copied: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    for b in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::of(b);
        let mut conn = db.connect();
        let (tables, edges) = match b {
            Backend::Sqlite => (
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
                "SELECT m.name AS child, f.\"table\" AS parent \
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            ),
            Backend::Postgres => (
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
                "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent \
                 FROM pg_constraint WHERE contype = 'f'",
            ),
        };
        let mut catalogue: Vec<String> = diesel::sql_query(tables)
            .load::<Name>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
        catalogue.sort();
        let mut listed: Vec<String> = copied.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(
            catalogue, listed,
            "{b:?}: tables not covered by the transfer"
        );

        let position = |name: &str| copied.iter().position(|t| *t == name).unwrap();
        let edges = diesel::sql_query(edges).load::<Edge>(&mut conn).unwrap();
        assert!(!edges.is_empty());
        for e in edges {
            let (child, parent) = (position(&e.child), position(&e.parent));
            // A reference within a table is set after the table is in (case_notes, plans).
            assert!(
                parent < child
                    || (parent == child && ["case_notes", "plans"].contains(&e.child.as_str())),
                "{b:?}: {} is copied before {}, which it references",
                e.child,
                e.parent
            );
        }
    }
}

#[test]
fn a_target_holding_data_is_refused_and_left_as_it_was() {
    let (from, to) = direction();
    let source = TestDb::of(from);
    let target = TestDb::of(to);
    target
        .connect()
        .batch_execute(
            "INSERT INTO login_failures (id, email_key, failed_at) \
             VALUES ('f1', 'someone@example.org', '2026-03-01 10:00:00')",
        )
        .unwrap();
    let before = digests(&mut target.connect());

    let (out, _, stderr) = run(command().args(transfer_args(&source.url, &target.url)));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the target already holds data (login_failures: 1 rows)"),
        "{stderr}"
    );
    assert_eq!(digests(&mut target.connect()), before);
}

/// The source of the interrupted transfer: 60,000 rows in one table, so the copy runs long
/// enough to be killed in the middle.
fn big_source(b: Backend) -> TestDb {
    let db = TestDb::of(b);
    db.connect()
        .batch_execute(match b {
            Backend::Sqlite => {
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) \
                 INSERT INTO login_failures (id, email_key, failed_at) \
                 SELECT 'f' || i, 'someone' || (i % 97) || '@example.org', '2026-03-01 10:00:00' FROM n"
            }
            Backend::Postgres => {
                "INSERT INTO login_failures (id, email_key, failed_at) \
                 SELECT 'f' || i, 'someone' || (i % 97) || '@example.org', TIMESTAMP '2026-03-01 10:00:00' \
                 FROM generate_series(1, 60000) AS i"
            }
        })
        .unwrap();
    db
}

#[test]
fn a_transfer_killed_midway_leaves_the_target_without_data_and_a_rerun_succeeds() {
    let (from, to) = direction();
    let source = big_source(from);
    let target = TestDb::empty(to);
    let args = transfer_args(&source.url, &target.url);

    let mut child = command()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut copying = false;
    for line in stderr.lines().map_while(Result::ok) {
        seen.push(line.clone());
        // A progress line within the big table: the target's transaction is open and holds
        // rows, and most of the table is still to come.
        if line.contains("table=\"login_failures\"") && line.contains("copied=") {
            copying = true;
            break;
        }
    }
    assert!(
        copying,
        "no progress line while copying:\n{}",
        seen.join("\n")
    );
    child.kill().unwrap(); // SIGKILL: no clean-up of any kind.
    child.wait().unwrap();

    let mut conn = target.connect();
    assert_eq!(data_rows(&mut conn), vec![], "rows left in the target");
    assert_eq!(count(&mut conn, "SELECT seq AS n FROM audit_chain_head"), 0);
    drop(conn);

    let (out, stdout, stderr) = run(command().args(&args));
    assert!(out.status.success(), "rerun: {stderr}");
    assert!(stdout.contains("identical"), "{stdout}");
    let mut conn = target.connect();
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM login_failures"),
        60_000
    );
    assert_eq!(digests(&mut conn), digests(&mut source.connect()));
}

#[actix_web::test]
async fn a_copy_that_differs_from_the_source_is_rolled_back_and_reported() {
    let (from, to) = direction();
    let source = TestApp::on(TestDb::of(from)).await;
    source.create_staff(&[Role::Manager], false);
    let target = TestDb::of(to);
    // A target that changes what it is given, as a faulty conversion would.
    target
        .connect()
        .batch_execute(match to {
            Backend::Sqlite => {
                "CREATE TRIGGER mangle AFTER INSERT ON staff BEGIN \
                 UPDATE staff SET full_name = full_name || '!' WHERE id = NEW.id; END"
            }
            Backend::Postgres => {
                "CREATE FUNCTION mangle() RETURNS trigger AS $$ BEGIN \
                 NEW.full_name := NEW.full_name || '!'; RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER mangle BEFORE INSERT ON staff FOR EACH ROW EXECUTE FUNCTION mangle()"
            }
        })
        .unwrap();

    let (out, stdout, stderr) = run(command().args(transfer_args(&source.db.url, &target.url)));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("the copy differs from the source; nothing was committed"),
        "{stderr}"
    );
    let staff_line = stderr
        .lines()
        .find(|l| l.starts_with("staff "))
        .unwrap_or_else(|| panic!("no line for staff: {stderr}"));
    assert!(staff_line.ends_with("DIFFERENT"), "{staff_line}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("staff_roles ") && l.ends_with(" ok")),
        "{stderr}"
    );
    assert_eq!(data_rows(&mut target.connect()), vec![]);
}

#[test]
fn a_source_whose_audit_chain_is_broken_is_refused() {
    let (from, to) = direction();
    let source = TestDb::of(from);
    let mut conn = source.connect();
    // A head that no event backs: the chain does not verify.
    conn.batch_execute("UPDATE audit_chain_head SET seq = 3")
        .unwrap();
    let target = TestDb::of(to);
    let err = transfer::transfer(&source.url, &target.url, Options::default(), &mut Silent)
        .expect_err("a broken chain is not copied");
    assert!(
        err.to_string().contains("audit chain does not verify"),
        "{err}"
    );
    assert_eq!(
        count(
            &mut target.connect(),
            "SELECT seq AS n FROM audit_chain_head"
        ),
        0
    );
}

fn with_database(url: &DatabaseUrl) -> Command {
    let mut cmd = command();
    cmd.env("DATABASE_URL", url_arg(url));
    cmd
}

#[actix_web::test]
async fn a_sqlite_backup_restores_into_the_backend_under_test() {
    let app = TestApp::on(TestDb::of(Backend::Sqlite)).await;
    let psych = app.user(&[Role::Psychologist]).await;
    let mut body = participant_body(7);
    body["first_name"] = json!("Józef 🐘");
    let p = app.register_participant(&psych, body).await;
    write_note(&app, &psych, &p, "Notatka z kopii zapasowej", "team").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");

    let (out, stdout, stderr) = run(with_database(&app.db.url)
        .args(["backup", "--to"])
        .arg(&file));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("integrity ok; audit chain verified"),
        "{stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the backup is readable by its owner only"
        );
    }
    let (out, _, stderr) = run(with_database(&app.db.url)
        .args(["backup", "--to"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("already exists"), "{stderr}");

    // Written after the backup: the restore brings back the state of the backup.
    let source = digests(&mut app.conn());
    write_note(&app, &psych, &p, "Po kopii", "team").await;

    let target = TestDb::of(backend());
    let restore = |extra: &[&str], from: &Path| {
        run(with_database(&target.url)
            .args(["restore", "--from"])
            .arg(from)
            .args(extra))
    };
    let (out, stdout, stderr) = restore(&[], &file);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("identical"), "{stdout}");
    assert_eq!(digests(&mut target.connect()), source);

    // Once the database holds data, only --replace restores over it, in one transaction.
    let (out, _, stderr) = restore(&[], &file);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("already holds data"), "{stderr}");
    diesel::update(case_notes::table)
        .set(case_notes::body.eq("changed after the restore"))
        .execute(&mut target.connect())
        .unwrap();
    let (out, _, stderr) = restore(&["--replace"], &file);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(digests(&mut target.connect()), source);

    // A file that is not a database is refused before anything is touched.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 8192]).unwrap();
    let (out, _, stderr) = restore(&["--replace"], &garbage);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("is not a sound SQLite database"),
        "{stderr}"
    );
    assert_eq!(digests(&mut target.connect()), source);
}

#[test]
fn a_backup_on_postgres_names_pg_dump_and_fails() {
    let db = TestDb::of(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.dump");
    let (out, _, stderr) = run(with_database(&db.url).args(["backup", "--to"]).arg(&file));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!(
            "pg_dump --format=custom --file={}",
            file.display()
        )),
        "{stderr}"
    );
    assert!(!file.exists());
}

#[test]
fn a_missing_source_is_named_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.db");
    let target = dir.path().join("target.db");
    let (out, _, stderr) = run(command()
        .args(["transfer", "--from"])
        .arg(&missing)
        .arg("--to")
        .arg(&target));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no SQLite database at"), "{stderr}");
    assert!(!missing.exists() && !target.exists());
}
