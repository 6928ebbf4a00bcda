//! `seed-demo`: the demo club on a fresh database of the backend under test — every report has
//! figures, every state and kind is present, the audit chain verifies, the same seed gives the
//! same club, a non-empty database is refused, and the demo sign-in works as the README says.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::test::TestRequest;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{json, Value};

use reintegra::clock::TestClock;
use reintegra::demo::story::{DIAGNOSIS_KINDS, EXIT_REASONS, OUTCOME_KINDS, RISK_GROUPS};
use reintegra::demo::{self, Options};
use reintegra::policy::Role;
use reintegra::state::AppState;

use crate::common::{start_time, test_config, TestApp, TestDb, TestUser};

const SEED: u64 = 7;

/// The harness clock's day: the demo's history ends the day before.
fn today() -> NaiveDate {
    start_time().date_naive()
}

fn options() -> Options {
    Options {
        seed: SEED,
        today: Some(today()),
    }
}

async fn seeded() -> TestDb {
    seed_into(TestDb::new()).await
}

async fn seed_into(db: TestDb) -> TestDb {
    let summary = demo::seed(test_config(&db.url, &[]), options())
        .await
        .unwrap_or_else(|e| panic!("seed-demo failed: {e}"));
    assert!(summary.to_string().contains("60 participants"), "{summary}");
    db
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    k: String,
}

fn distinct(app: &TestApp, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql)
        .load::<Key>(&mut app.conn())
        .expect("query")
        .into_iter()
        .map(|r| r.k)
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn get(app: &TestApp, user: &TestUser, path: &str) -> Value {
    let res = app.get_as(user, path).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text());
    res.json()
}

fn numerator(cell: &Value) -> i64 {
    cell["numerator"]
        .as_i64()
        .or_else(|| cell["count"].as_i64())
        .unwrap_or_else(|| panic!("not a cell: {cell}"))
}

fn from_to() -> String {
    let first = demo::story::plan(SEED, today()).first_day;
    format!("from={first}&to={}", today())
}

#[actix_web::test]
async fn the_demo_club_fills_every_report_its_audit_chain_verifies_and_its_staff_sign_in() {
    // An installation bootstrapped with `create-admin` is still empty: the demo goes in.
    let db = TestDb::new();
    {
        let clock = TestClock::at(start_time() - chrono::Duration::days(800));
        let state = AppState::new(test_config(&db.url, &[]), Arc::new(clock)).expect("state");
        reintegra::staff::service::create_admin(
            &state,
            "it@club.example.org",
            "Bootstrap Admin",
            "a long bootstrap phrase",
        )
        .expect("create-admin");
    }
    let app = TestApp::on(seed_into(db).await).await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;

    // The outcome report, grouped each way: every cell of the total has someone in it.
    for group_by in ["risk_group", "exit_reason", "sex", "age_band", "year"] {
        let report = get(
            &app,
            &manager,
            &format!("/api/v1/reports/outcomes?{}&group_by={group_by}", from_to()),
        )
        .await;
        let total = &report["total"];
        for cell in [
            "started",
            "exited",
            "completed",
            "left_for_job",
            "vocational_outcome_during_programme",
            "social_outcome_during_programme",
        ] {
            assert!(numerator(&total[cell]) > 0, "{group_by} {cell}: {total}");
        }
        for month in ["3", "6", "12"] {
            assert!(
                numerator(&total["employed_at_follow_up"][month]) > 0,
                "{group_by} employed at {month} months: {total}"
            );
        }
        let keys: BTreeSet<String> = report["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["key"].as_str().unwrap_or_default().to_owned())
            .collect();
        match group_by {
            "risk_group" => assert_eq!(keys, set(&RISK_GROUPS)),
            "exit_reason" => {
                let mut all = set(&EXIT_REASONS);
                all.insert("not_exited".into());
                assert_eq!(keys, all);
            }
            "sex" => assert_eq!(keys, set(&["female", "male"])),
            "age_band" => assert_eq!(keys, set(&["under_18", "18_29", "30_54", "55_plus"])),
            _ => assert!(keys.len() >= 2, "{keys:?}"),
        }
    }

    // The annual report of the last full year: every block has figures.
    let year = today()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap_or(2026)
        - 1;
    let annual = get(
        &app,
        &auditor,
        &format!("/api/v1/reports/annual?year={year}"),
    )
    .await;
    assert!(
        annual["total_participants"].as_i64().unwrap_or(0) > 20,
        "{annual}"
    );
    for block in [
        "participants_by_sex",
        "participants_by_age_band",
        "exits_by_reason",
        "outcomes_by_kind",
        "activity_minutes_by_area",
        "activity_minutes_by_category",
        "staff_by_role",
    ] {
        let sum: i64 = annual[block]
            .as_object()
            .unwrap_or_else(|| panic!("{block}: {annual}"))
            .values()
            .filter_map(Value::as_i64)
            .sum();
        assert!(sum > 0, "{block}: {annual}");
    }
    for figure in ["entries", "completed"] {
        assert!(
            annual[figure].as_i64().unwrap_or(0) > 0,
            "{figure}: {annual}"
        );
    }
    assert!(
        annual["participants_by_risk_group"]
            .as_array()
            .is_some_and(|g| g.len() == RISK_GROUPS.len()),
        "{annual}"
    );

    // ESF+: every indicator the service computes counts someone.
    let esf = get(
        &app,
        &auditor,
        &format!("/api/v1/reports/esf?{}", from_to()),
    )
    .await;
    let indicators = esf["indicators"].as_array().expect("indicators");
    assert!(indicators.len() > 10, "{esf}");
    for i in indicators {
        assert!(i["count"].as_i64().unwrap_or(0) > 0, "{i}");
    }

    // Every state and kind the issue lists.
    let participants = get(&app, &manager, "/api/v1/participants?per_page=200").await;
    assert_eq!(participants["total"], 60);
    let statuses: BTreeSet<String> = participants["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        statuses,
        set(&[
            "referred",
            "qualified",
            "rejected",
            "in_programme",
            "exited",
            "anonymised"
        ])
    );
    assert_eq!(
        distinct(
            &app,
            "SELECT DISTINCT exit_reason AS k FROM programmes WHERE exit_reason IS NOT NULL"
        ),
        set(&EXIT_REASONS)
    );
    assert_eq!(
        distinct(&app, "SELECT DISTINCT kind AS k FROM diagnoses"),
        set(&DIAGNOSIS_KINDS)
    );
    assert_eq!(
        distinct(
            &app,
            "SELECT DISTINCT kind AS k FROM outcomes WHERE status <> 'retracted'"
        ),
        set(&OUTCOME_KINDS)
    );
    assert_eq!(
        distinct(&app, "SELECT DISTINCT status AS k FROM outcomes"),
        set(&["recorded", "verified", "retracted"])
    );
    assert_eq!(
        distinct(&app, "SELECT DISTINCT status AS k FROM plans"),
        set(&["active", "superseded"])
    );
    assert_eq!(
        distinct(&app, "SELECT DISTINCT status AS k FROM follow_ups"),
        set(&["due", "done", "unreachable"])
    );
    assert_eq!(
        distinct(
            &app,
            "SELECT DISTINCT activity_type_code AS k FROM sessions"
        ),
        set(&[
            "computer_course",
            "job_search_workshop",
            "psychoeducation_workshop",
            "support_group"
        ])
    );
    assert_eq!(
        distinct(&app, "SELECT DISTINCT status AS k FROM attendance"),
        set(&["present", "late", "excused", "absent"])
    );
    assert!(
        !distinct(
            &app,
            "SELECT id AS k FROM participants WHERE pesel IS NULL AND status <> 'anonymised'"
        )
        .is_empty(),
        "some participants have no PESEL"
    );

    // The audit chain verifies over everything the demo wrote (and the reads above).
    let verify = get(&app, &auditor, "/api/v1/audit-events/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    assert!(verify["checked"].as_i64().unwrap_or(0) > 1000, "{verify}");

    a_demo_account_signs_in_and_must_choose_its_own_password_first(&app).await;
}

/// What the same seed must reproduce: the participants (without generated ids), the reports
/// (without drill-down tokens) and the sequence of audit actions.
async fn fingerprint(db: TestDb) -> (Value, Vec<(String, String)>) {
    let app = TestApp::on(db).await;
    let trail = app.audit_trail();
    let manager = app.user(&[Role::Manager]).await;
    let mut participants = get(&app, &manager, "/api/v1/participants?per_page=200").await;
    let items = participants["items"].as_array_mut().expect("items");
    for p in items.iter_mut() {
        p["id"] = Value::Null;
        p["lead_staff_id"] = Value::Null;
        if p["current_programme"].is_object() {
            p["current_programme"]["id"] = Value::Null;
        }
    }
    // Namesakes are listed in id order, and ids are random.
    items.sort_by_key(|p| p.to_string());
    let mut outcomes = get(
        &app,
        &manager,
        &format!("/api/v1/reports/outcomes?{}&group_by=risk_group", from_to()),
    )
    .await;
    strip(&mut outcomes, "drill_down");
    let annual = get(&app, &manager, "/api/v1/reports/annual?year=2025").await;
    let esf = get(
        &app,
        &manager,
        &format!("/api/v1/reports/esf?{}", from_to()),
    )
    .await;
    (
        json!({"participants": participants, "outcomes": outcomes, "annual": annual, "esf": esf}),
        trail,
    )
}

/// The first place where two documents differ, as a JSON Pointer with both values.
fn difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().find_map(|(k, v)| {
                difference(v, y.get(k).unwrap_or(&Value::Null), format!("{at}/{k}"))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(n, (v, w))| difference(v, w, format!("{at}/{n}"))),
        _ => (a != b).then(|| format!("{at}: {a} ≠ {b}")),
    }
}

fn strip(v: &mut Value, key: &str) {
    match v {
        Value::Object(map) => {
            map.remove(key);
            map.values_mut().for_each(|x| strip(x, key));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| strip(x, key)),
        _ => {}
    }
}

#[actix_web::test]
async fn the_same_seed_gives_the_same_club_and_a_used_database_is_refused() {
    let first = seeded().await;
    // Seeding again over the club is refused, and writes nothing (the trails below would differ).
    let refused = demo::seed(test_config(&first.url, &[]), options()).await;
    let message = refused.err().unwrap_or_default();
    assert!(message.contains("not empty"), "{message}");

    let (a, trail_a) = fingerprint(first).await;
    let (b, trail_b) = fingerprint(seeded().await).await;
    assert_eq!(trail_a.len(), trail_b.len());
    assert!(trail_a == trail_b, "the audit trails differ");
    assert_eq!(difference(&a, &b, String::new()), None);
}

#[actix_web::test]
async fn a_database_with_staff_or_participants_is_refused() {
    let app = TestApp::spawn().await;
    app.create_staff(&[Role::Counsellor], false);
    let refused = demo::seed(test_config(&app.db.url, &[]), options()).await;
    let message = refused.err().unwrap_or_default();
    assert!(
        message.contains("0 participants, 1 staff accounts besides admins"),
        "{message}"
    );

    let sw = app.user(&[Role::SocialWorker]).await;
    app.register_participant(&sw, crate::common::participant_body(1))
        .await;
    let before = app.audit_trail().len();
    let refused = demo::seed(test_config(&app.db.url, &[]), options()).await;
    let message = refused.err().unwrap_or_default();
    assert!(message.contains("1 participants"), "{message}");
    assert_eq!(app.audit_trail().len(), before, "nothing was written");
}

/// The README's demo sign-in: the printed password works, and the first call sets a new one.
async fn a_demo_account_signs_in_and_must_choose_its_own_password_first(app: &TestApp) {
    let spec = demo::story::STAFF
        .iter()
        .find(|s| s.roles == ["manager"])
        .expect("a demo manager");
    let res = app.login(spec.email, spec.password).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["staff"]["must_change_password"], true, "{body}");
    let token = body["access_token"].as_str().unwrap_or_default().to_owned();
    let bearer = ("authorization", format!("Bearer {token}"));

    let res = app
        .call(
            TestRequest::get()
                .uri("/api/v1/participants")
                .insert_header(bearer.clone()),
        )
        .await;
    res.problem(403, "password-change-required");

    let res = app
        .call(
            TestRequest::post()
                .uri("/api/v1/auth/password")
                .insert_header(bearer)
                .set_json(json!({"current_password": spec.password, "new_password": "my own club phrase 42"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let token = res.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let res = app
        .call(
            TestRequest::get()
                .uri("/api/v1/participants?per_page=1")
                .insert_header(("authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["total"], 60);
}
