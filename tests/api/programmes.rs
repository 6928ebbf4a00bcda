//! Programmes and follow-ups (api.md §5, §9, §13.4): start, dates, the one-open rule, the CIS
//! cap, extension, exit with its follow-ups, follow-up contacts and consent, visibility, audit.

use actix_web::test::TestRequest;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, TestApp, TestResponse, TestUser};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A participant registered and qualified (2026-02-25) by `lead`.
async fn qualified(app: &TestApp, lead: &TestUser, n: u32) -> String {
    let id = app.register_participant(lead, participant_body(n)).await;
    app.qualify(lead, &id).await;
    id
}

async fn start(app: &TestApp, user: &TestUser, participant: &str, body: Value) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{participant}/programmes"))
            .set_json(body),
    )
    .await
}

/// Starts a programme on 2026-03-02 (the test clock's today) and answers it.
async fn started(app: &TestApp, user: &TestUser, participant: &str) -> Value {
    let res = start(
        app,
        user,
        participant,
        json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny", "basis_reference": "KS/12/2026"}),
    )
    .await;
    assert_eq!(res.status, 201, "start: {}", res.text());
    res.json()
}

async fn extend(
    app: &TestApp,
    user: &TestUser,
    programme: &str,
    etag: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut req = TestRequest::patch()
        .uri(&format!("/api/v1/programmes/{programme}"))
        .set_json(body);
    if let Some(tag) = etag {
        req = req.insert_header(("if-match", tag.to_owned()));
    }
    app.call_as(user, req).await
}

async fn exit(
    app: &TestApp,
    user: &TestUser,
    programme: &str,
    etag: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut req = TestRequest::post()
        .uri(&format!("/api/v1/programmes/{programme}/exit"))
        .set_json(body);
    if let Some(tag) = etag {
        req = req.insert_header(("if-match", tag.to_owned()));
    }
    app.call_as(user, req).await
}

async fn record(
    app: &TestApp,
    user: &TestUser,
    follow_up: &str,
    etag: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut req = TestRequest::patch()
        .uri(&format!("/api/v1/follow-ups/{follow_up}"))
        .set_json(body);
    if let Some(tag) = etag {
        req = req.insert_header(("if-match", tag.to_owned()));
    }
    app.call_as(user, req).await
}

async fn follow_ups(app: &TestApp, user: &TestUser, participant: &str) -> Value {
    let res = app
        .get_as(
            user,
            &format!("/api/v1/participants/{participant}/follow-ups"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

async fn participant(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let res = app
        .get_as(user, &format!("/api/v1/participants/{id}"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

/// Switches the unit to a CIS through the API, as an admin.
async fn become_cis(app: &TestApp) {
    let admin = app.user(&[Role::Admin]).await;
    let res = app
        .call_as(
            &admin,
            TestRequest::put()
                .uri("/api/v1/settings")
                .insert_header(("if-match", "\"1\""))
                .set_json(json!({
                    "unit_name": "Centrum Integracji Społecznej", "unit_kind": "cis",
                    "programme_months": 12, "follow_up_months": [3, 6, 12],
                    "retention_years": 5, "project_retention_until": null,
                    "review_interval_days": 90
                })),
        )
        .await;
    assert_eq!(res.status, 200, "settings: {}", res.text());
}

/// A consent row straight in the database (the consents routes belong to another feature).
fn grant_consent(
    app: &TestApp,
    participant: &str,
    purpose: &str,
    granted_on: &str,
    expires_on: Option<&str>,
    withdrawn_on: Option<&str>,
) {
    use reintegra::db::schema::consents;
    let now = reintegra::http::stored_now(&app.clock);
    diesel::insert_into(consents::table)
        .values((
            consents::id.eq(uuid::Uuid::new_v4().to_string()),
            consents::participant_id.eq(participant),
            consents::purpose.eq(purpose),
            consents::granted_on.eq(d(granted_on)),
            consents::expires_on.eq(expires_on.map(d)),
            consents::document_reference.eq("Zgoda 1/2026"),
            consents::withdrawn_on.eq(withdrawn_on.map(d)),
            consents::version.eq(1_i64),
            consents::created_at.eq(now),
            consents::created_by.eq("test"),
        ))
        .execute(&mut app.conn())
        .unwrap();
}

type EventRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

/// `(action, entity_type, entity_id, participant_id, changed_fields, details)` of the allowed
/// events recorded under `name`, oldest first.
fn events(app: &TestApp, name: &str) -> Vec<EventRow> {
    use reintegra::db::schema::audit_events::dsl::*;
    audit_events
        .filter(action.eq(name))
        .filter(outcome.eq("allowed"))
        .order(seq.asc())
        .select((
            action,
            entity_type,
            entity_id,
            participant_id,
            changed_fields,
            details,
        ))
        .load(&mut app.conn())
        .unwrap()
}

/// Moves the clock on by `days` and signs `user` in again (access tokens last 15 minutes).
async fn days_later(app: &TestApp, user: &mut TestUser, days: i64) {
    app.clock.advance(Duration::days(days));
    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status, 200, "login: {}", res.text());
    user.token = res.json()["access_token"].as_str().unwrap().to_owned();
}

fn open_programmes(app: &TestApp, participant: &str) -> i64 {
    count(
        &mut app.conn(),
        &format!(
            "SELECT COUNT(*) AS n FROM programmes WHERE participant_id = '{participant}' AND exit_date IS NULL"
        ),
    )
}

// ------------------------------------------------------------------------------------------
// Start

#[actix_web::test]
async fn starting_moves_a_qualified_participant_into_the_programme() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 1).await;
    let before = participant(&app, &lead, &id).await;
    assert_eq!(before["current_programme"], Value::Null);

    let res = start(
        &app,
        &lead,
        &id,
        json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny", "basis_reference": "KS/12/2026"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let p = res.json();
    let pid = p["id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/programmes/{pid}").as_str())
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(
        p,
        json!({
            "id": pid, "participant_id": id, "start_date": "2026-03-02", "planned_months": 12,
            "planned_end_date": "2027-03-01", "basis": "kontrakt_socjalny",
            "basis_reference": "KS/12/2026", "extension_reason": null, "status": "open",
            "exit_date": null, "exit_reason": null, "exit_note": null, "version": 1
        })
    );

    let after = participant(&app, &lead, &id).await;
    assert_eq!(after["status"], "in_programme");
    assert_eq!(
        after["version"].as_i64(),
        before["version"].as_i64().map(|v| v + 1),
        "the participant's version moves with its status"
    );
    assert_eq!(
        after["current_programme"],
        json!({"id": pid, "start_date": "2026-03-02", "planned_end_date": "2027-03-01"})
    );
    let listed = app
        .get_as(&lead, "/api/v1/participants?programme_active=true")
        .await
        .json();
    assert_eq!(listed["items"][0]["current_programme"]["id"], pid);

    let read = app
        .get_as(&lead, &format!("/api/v1/programmes/{pid}"))
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(read.json(), p);

    let events = events(&app, "programme.start");
    assert_eq!(events.len(), 1);
    let (_, entity_type, entity_id, participant_id, changed, _) = &events[0];
    assert_eq!(entity_type.as_deref(), Some("programme"));
    assert_eq!(entity_id.as_deref(), Some(pid));
    assert_eq!(participant_id.as_deref(), Some(id.as_str()));
    assert!(changed.contains("start_date"), "{changed}");
}

#[actix_web::test]
async fn only_a_qualified_participant_starts_and_only_one_programme_is_open() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let referred = app.register_participant(&lead, participant_body(2)).await;
    let body = json!({"start_date": "2026-03-02", "basis": "ipzs"});
    let res = start(&app, &lead, &referred, body.clone()).await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "participant_not_qualified"
    );

    let id = qualified(&app, &lead, 3).await;
    assert_eq!(start(&app, &lead, &id, body.clone()).await.status, 201);
    let again = start(&app, &lead, &id, body).await;
    assert_eq!(
        again.problem(409, "conflict")["code"],
        "programme_already_open"
    );
    assert_eq!(open_programmes(&app, &id), 1);
    assert_eq!(events(&app, "programme.start").len(), 1);
}

#[actix_web::test]
async fn two_simultaneous_starts_give_one_programme_and_one_409() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Psychologist]).await;
    for n in 0..3 {
        let id = qualified(&app, &lead, 10 + n).await;
        let body = json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"});
        let (a, b) = futures::join!(
            start(&app, &lead, &id, body.clone()),
            start(&app, &lead, &id, body.clone())
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{} / {}", a.text(), b.text());
        let loser = if a.status == 409 { &a } else { &b };
        assert_eq!(
            loser.problem(409, "conflict")["code"],
            "programme_already_open"
        );
        assert_eq!(open_programmes(&app, &id), 1);
        assert_eq!(
            participant(&app, &lead, &id).await["status"],
            "in_programme"
        );
    }
    assert_eq!(events(&app, "programme.start").len(), 3);
}

#[actix_web::test]
async fn start_fields_are_checked_together() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 4).await;

    let res = start(
        &app,
        &lead,
        &id,
        json!({"planned_months": "twelve", "basis": "contract", "basis_reference": ""}),
    )
    .await;
    res.problem(422, "validation");
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/basis".into(), "enum".into()),
            ("/basis_reference".into(), "blank".into()),
            ("/planned_months".into(), "type".into()),
            ("/start_date".into(), "required".into()),
        ]
    );

    for (start_date, months, expected) in [
        ("2026-03-03", json!(12), vec![("/start_date", "future")]),
        (
            "2026-02-24",
            json!(12),
            vec![("/start_date", "before_qualification")],
        ),
        ("2026-03-01", json!(0), vec![("/planned_months", "range")]),
        // The range is a rule of the body (first 422); the decision date needs the database.
        ("2026-02-20", json!(37), vec![("/planned_months", "range")]),
        ("2026-03-01", json!(-3), vec![("/planned_months", "range")]),
    ] {
        let res = start(
            &app,
            &lead,
            &id,
            json!({"start_date": start_date, "planned_months": months, "basis": "other"}),
        )
        .await;
        res.problem(422, "validation");
        let mut fields = res.field_errors();
        fields.sort();
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
            .collect();
        assert_eq!(fields, expected, "{start_date} / {months}");
    }
    assert_eq!(open_programmes(&app, &id), 0);
    assert_eq!(participant(&app, &lead, &id).await["status"], "qualified");

    // Bounds are inclusive: 36 months in a KIS, a start on the decision day.
    let res = start(
        &app,
        &lead,
        &id,
        json!({"start_date": "2026-02-25", "planned_months": 36, "basis": "other"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["planned_end_date"], "2029-02-24");
}

/// A participant referred in 2023 and qualified on `decided_on`, so programmes may start in 2024.
async fn qualified_long_ago(app: &TestApp, lead: &TestUser, n: u32, decided_on: &str) -> String {
    let mut body = participant_body(n);
    body["referral"]["referred_on"] = json!("2023-12-01");
    body["risk_groups"][0]["evidence_date"] = json!("2023-11-20");
    let id = app.register_participant(lead, body).await;
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{id}/qualification"))
                .set_json(json!({"decision": "qualified", "decided_on": decided_on})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    id
}

#[actix_web::test]
async fn the_planned_end_follows_the_month_arithmetic_of_the_contract() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    for (n, start_date, months, end) in [
        (20, "2024-01-15", Some(12), "2025-01-14"),
        (21, "2024-01-31", Some(1), "2024-02-28"),
        (22, "2024-02-29", Some(12), "2025-02-27"),
        (23, "2024-08-31", None, "2025-08-30"),
    ] {
        let id = qualified_long_ago(&app, &lead, n, "2024-01-10").await;
        let mut body = json!({"start_date": start_date, "basis": "kontrakt_socjalny"});
        if let Some(m) = months {
            body["planned_months"] = json!(m);
        }
        let res = start(&app, &lead, &id, body).await;
        assert_eq!(res.status, 201, "{}", res.text());
        let p = res.json();
        assert_eq!(p["planned_end_date"], end, "{start_date} + {months:?}");
        assert_eq!(p["planned_months"], months.unwrap_or(12));
    }
}

#[actix_web::test]
async fn the_default_length_comes_from_the_settings() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = app
        .call_as(
            &admin,
            TestRequest::put()
                .uri("/api/v1/settings")
                .insert_header(("if-match", "\"1\""))
                .set_json(json!({
                    "unit_name": "KIS", "unit_kind": "kis", "programme_months": 6,
                    "follow_up_months": [6], "retention_years": 5,
                    "project_retention_until": null, "review_interval_days": 90
                })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 5).await;
    let p = started(&app, &lead, &id).await;
    assert_eq!(p["planned_months"], 6);
    assert_eq!(p["planned_end_date"], "2026-09-01");

    // Exit schedules the one follow-up the unit asks for.
    let res = exit(
        &app,
        &lead,
        p["id"].as_str().unwrap(),
        None,
        json!({"exit_date": "2026-03-02", "exit_reason": "moved"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let list = follow_ups(&app, &lead, &id).await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["months_after_exit"], 6);
    assert_eq!(list["items"][0]["due_on"], "2026-09-02");
}

#[actix_web::test]
async fn a_cis_caps_programmes_and_extensions_at_24_months() {
    let app = TestApp::spawn().await;
    become_cis(&app).await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 6).await;

    let res = start(
        &app,
        &lead,
        &id,
        json!({"start_date": "2026-03-02", "planned_months": 25, "basis": "ipzs"}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/planned_months".into(), "cis_cap".into())]
    );

    let res = start(
        &app,
        &lead,
        &id,
        json!({"start_date": "2026-03-02", "planned_months": 12, "basis": "ipzs"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let p = res.json();
    let pid = p["id"].as_str().unwrap();

    // The cap: start + 24 months − 1 day = 2028-03-01.
    let res = extend(
        &app,
        &lead,
        pid,
        Some("\"1\""),
        json!({"planned_end_date": "2028-03-02", "extension_reason": "IPZS extended"}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/planned_end_date".into(), "cis_cap".into())]
    );
    let res = extend(
        &app,
        &lead,
        pid,
        Some("\"1\""),
        json!({"planned_end_date": "2028-03-01", "extension_reason": "IPZS extended"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["planned_end_date"], "2028-03-01");

    // 24 months at the start is the most a CIS allows.
    let other = qualified(&app, &lead, 7).await;
    let res = start(
        &app,
        &lead,
        &other,
        json!({"start_date": "2026-03-02", "planned_months": 24, "basis": "ipzs"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["planned_end_date"], "2028-03-01");
}

// ------------------------------------------------------------------------------------------
// Extension

#[actix_web::test]
async fn an_extension_moves_the_end_later_with_a_reason_under_if_match() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let id = qualified(&app, &lead, 8).await;
    let p = started(&app, &lead, &id).await;
    let pid = p["id"].as_str().unwrap();
    let body = json!({"planned_end_date": "2027-06-30", "extension_reason": "Needs more time for the work practice"});

    extend(&app, &lead, pid, None, body.clone())
        .await
        .problem(428, "precondition-required");
    let stale = extend(&app, &lead, pid, Some("\"7\""), body.clone()).await;
    assert_eq!(
        stale.problem(412, "precondition-failed")["current_version"],
        1
    );
    let res = extend(
        &app,
        &lead,
        pid,
        Some("\"1\""),
        json!({"planned_end_date": "2027-03-01", "extension_reason": "x"}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/planned_end_date".into(), "not_later".into())]
    );
    let res = extend(
        &app,
        &lead,
        pid,
        Some("\"1\""),
        json!({"planned_end_date": "2027-01-01"}),
    )
    .await;
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![("/extension_reason".into(), "required".into())],
        "shape errors come before the date rule"
    );
    // KIS: never past 36 months from the start.
    let res = extend(
        &app,
        &lead,
        pid,
        Some("\"1\""),
        json!({"planned_end_date": "2029-03-02", "extension_reason": "x"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/planned_end_date".into(), "max_length".into())]
    );

    let res = extend(&app, &lead, pid, Some("\"1\""), body.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let extended = res.json();
    assert_eq!(extended["planned_end_date"], "2027-06-30");
    assert_eq!(
        extended["extension_reason"],
        "Needs more time for the work practice"
    );
    assert_eq!(
        extended["planned_months"], 12,
        "the length planned at the start"
    );
    assert_eq!(
        participant(&app, &lead, &id).await["current_programme"]["planned_end_date"],
        "2027-06-30"
    );
    // The same ETag cannot win twice.
    extend(&app, &lead, pid, Some("\"1\""), body.clone())
        .await
        .problem(412, "precondition-failed");

    let events = events(&app, "programme.extend");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.as_deref(), Some("programme"));
    assert_eq!(events[0].3.as_deref(), Some(id.as_str()));
    assert!(!events[0]
        .5
        .as_deref()
        .unwrap_or("")
        .contains("work practice"));

    // After the exit nothing changes any more.
    let res = exit(
        &app,
        &lead,
        pid,
        None,
        json!({"exit_date": "2026-03-02", "exit_reason": "completed"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = extend(
        &app,
        &lead,
        pid,
        Some("\"3\""),
        json!({"planned_end_date": "2027-12-31", "extension_reason": "x"}),
    )
    .await;
    assert_eq!(res.problem(409, "conflict")["code"], "programme_closed");
}

// ------------------------------------------------------------------------------------------
// Exit and follow-ups

#[actix_web::test]
async fn exit_closes_the_programme_and_schedules_follow_ups_at_3_6_and_12_months() {
    let app = TestApp::spawn().await;
    let mut lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 9).await;
    let p = started(&app, &lead, &id).await;
    let pid = p["id"].as_str().unwrap();
    days_later(&app, &mut lead, 29).await; // 2026-03-31
    let before = participant(&app, &lead, &id).await["version"]
        .as_i64()
        .unwrap();

    let res = exit(
        &app,
        &lead,
        pid,
        None,
        json!({"exit_date": "2026-03-31", "exit_reason": "other"}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/exit_note".into(), "required".into())]
    );
    for (exit_date, code) in [("2026-03-01", "before_start"), ("2026-04-01", "future")] {
        let res = exit(
            &app,
            &lead,
            pid,
            None,
            json!({"exit_date": exit_date, "exit_reason": "completed"}),
        )
        .await;
        assert_eq!(
            res.field_errors(),
            vec![("/exit_date".into(), code.into())],
            "{exit_date}"
        );
    }
    let res = exit(&app, &lead, pid, None, json!({"exit_reason": "retired"})).await;
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/exit_date".into(), "required".into()),
            ("/exit_reason".into(), "enum".into())
        ]
    );
    exit(
        &app,
        &lead,
        pid,
        Some("\"9\""),
        json!({"exit_date": "2026-03-31", "exit_reason": "employed"}),
    )
    .await
    .problem(412, "precondition-failed");

    let res = exit(
        &app,
        &lead,
        pid,
        Some("\"1\""),
        json!({"exit_date": "2026-03-31", "exit_reason": "employed", "exit_note": "Contract with a bakery"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let closed = res.json();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["exit_date"], "2026-03-31");
    assert_eq!(closed["exit_reason"], "employed");
    assert_eq!(closed["exit_note"], "Contract with a bakery");
    assert_eq!(closed["version"], 2);

    let record = participant(&app, &lead, &id).await;
    assert_eq!(record["status"], "exited");
    assert_eq!(record["current_programme"], Value::Null);
    assert_eq!(record["version"].as_i64(), Some(before + 1));

    // Due dates clamp to the month's end (31 March + 3 months = 30 June), with no −1 day.
    let list = follow_ups(&app, &lead, &id).await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["page"], 1);
    let items = list["items"].as_array().unwrap();
    let due: Vec<(i64, &str)> = items
        .iter()
        .map(|f| {
            (
                f["months_after_exit"].as_i64().unwrap(),
                f["due_on"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        due,
        vec![(3, "2026-06-30"), (6, "2026-09-30"), (12, "2027-03-31")]
    );
    for f in items {
        assert_eq!(f["status"], "due");
        assert_eq!(f["programme_id"], pid);
        assert_eq!(f["participant_id"], id);
        assert_eq!(f["contacted_on"], Value::Null);
        assert_eq!(f["result"], Value::Null);
        assert_eq!(f["note"], Value::Null);
        assert_eq!(f["version"], 1);
    }

    // Exiting twice is a conflict, with or without If-Match.
    let again = exit(
        &app,
        &lead,
        pid,
        None,
        json!({"exit_date": "2026-03-31", "exit_reason": "completed"}),
    )
    .await;
    assert_eq!(again.problem(409, "conflict")["code"], "programme_closed");
    assert_eq!(follow_ups(&app, &lead, &id).await["total"], 3);

    let events = events(&app, "programme.exit");
    assert_eq!(events.len(), 1);
    let (_, entity_type, entity_id, participant_id, changed, details) = &events[0];
    assert_eq!(entity_type.as_deref(), Some("programme"));
    assert_eq!(entity_id.as_deref(), Some(pid));
    assert_eq!(participant_id.as_deref(), Some(id.as_str()));
    assert!(changed.contains("exit_note"));
    assert!(!details.as_deref().unwrap_or("").contains("bakery"));
}

#[actix_web::test]
async fn an_exit_after_death_schedules_no_follow_ups() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 11).await;
    let p = started(&app, &lead, &id).await;
    let res = exit(
        &app,
        &lead,
        p["id"].as_str().unwrap(),
        None,
        json!({"exit_date": "2026-03-02", "exit_reason": "death"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["exit_reason"], "death");
    let list = follow_ups(&app, &lead, &id).await;
    assert_eq!(list["total"], 0);
    assert_eq!(list["items"], json!([]));
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM follow_ups"),
        0
    );
}

#[actix_web::test]
async fn after_an_exit_a_new_referral_and_qualification_allow_a_new_programme() {
    let app = TestApp::spawn().await;
    let mut lead = app.user(&[Role::Counsellor]).await;
    let id = qualified(&app, &lead, 12).await;
    let first = started(&app, &lead, &id).await;
    let first_id = first["id"].as_str().unwrap();
    days_later(&app, &mut lead, 10).await; // 2026-03-12
    let res = exit(
        &app,
        &lead,
        first_id,
        None,
        json!({"exit_date": "2026-03-10", "exit_reason": "dropped_out"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());

    let body = json!({"start_date": "2026-03-12", "basis": "kontrakt_socjalny"});
    let res = start(&app, &lead, &id, body.clone()).await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "participant_not_qualified"
    );
    let res = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{id}/referrals"))
                .set_json(json!({"source": "ops", "referred_on": "2026-03-11"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let res = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{id}/qualification"))
                .set_json(json!({"decision": "qualified", "decided_on": "2026-03-12"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    // The latest decision counts: the new start may not precede it.
    let res = start(
        &app,
        &lead,
        &id,
        json!({"start_date": "2026-03-11", "basis": "ipzs"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/start_date".into(), "before_qualification".into())]
    );
    let res = start(&app, &lead, &id, body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let second_id = res.json()["id"].as_str().unwrap().to_owned();

    let list = app
        .get_as(&lead, &format!("/api/v1/participants/{id}/programmes"))
        .await;
    assert_eq!(list.status, 200);
    let list = list.json();
    assert_eq!(list["total"], 2);
    assert_eq!(
        list["items"][0]["id"],
        second_id.as_str(),
        "newest start first"
    );
    assert_eq!(list["items"][0]["status"], "open");
    assert_eq!(list["items"][1]["id"], first_id);
    assert_eq!(list["items"][1]["status"], "closed");
    let page = app
        .get_as(
            &lead,
            &format!("/api/v1/participants/{id}/programmes?page=2&per_page=1"),
        )
        .await
        .json();
    assert_eq!(page["items"][0]["id"], first_id);
    assert_eq!(
        (page["page"].as_i64(), page["per_page"].as_i64()),
        (Some(2), Some(1))
    );
    app.get_as(
        &lead,
        &format!("/api/v1/participants/{id}/programmes?sort=start_date"),
    )
    .await
    .problem(400, "malformed-request");
    app.get_as(
        &lead,
        &format!("/api/v1/participants/{id}/follow-ups?per_page=0"),
    )
    .await
    .problem(400, "malformed-request");
}

/// An exited participant with three follow-ups (exit 2026-03-02) and the first of them.
async fn exited(app: &TestApp, lead: &TestUser, n: u32) -> (String, Value) {
    let id = qualified(app, lead, n).await;
    let p = started(app, lead, &id).await;
    let res = exit(
        app,
        lead,
        p["id"].as_str().unwrap(),
        None,
        json!({"exit_date": "2026-03-02", "exit_reason": "completed"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let list = follow_ups(app, lead, &id).await;
    (id, list["items"][0].clone())
}

#[actix_web::test]
async fn a_follow_up_contact_needs_consent_unless_unreachable() {
    let app = TestApp::spawn().await;
    let mut lead = app.user(&[Role::SocialWorker]).await;
    let (id, first) = exited(&app, &lead, 13).await;
    let fid = first["id"].as_str().unwrap();
    days_later(&app, &mut lead, 100).await; // 2026-06-10
    let employed =
        json!({"contacted_on": "2026-06-05", "result": "employed", "note": "Works at the bakery"});

    record(&app, &lead, fid, None, employed.clone())
        .await
        .problem(428, "precondition-required");
    let res = record(
        &app,
        &lead,
        fid,
        Some("\"1\""),
        json!({"contacted_on": "2026-03-01", "result": "declined"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/contacted_on".into(), "before_exit".into())]
    );
    let res = record(
        &app,
        &lead,
        fid,
        Some("\"1\""),
        json!({"contacted_on": "2026-06-11", "result": "declined"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/contacted_on".into(), "future".into())]
    );
    let res = record(&app, &lead, fid, Some("\"1\""), json!({"result": "lost"})).await;
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/contacted_on".into(), "required".into()),
            ("/result".into(), "enum".into())
        ]
    );

    // No consent, or one that is not valid on the day of the contact: 409.
    let res = record(&app, &lead, fid, Some("\"1\""), employed.clone()).await;
    assert_eq!(res.problem(409, "conflict")["code"], "consent_missing");
    grant_consent(&app, &id, "image", "2026-01-01", None, None);
    grant_consent(&app, &id, "contact_after_exit", "2026-06-06", None, None);
    grant_consent(
        &app,
        &id,
        "contact_after_exit",
        "2026-01-01",
        Some("2026-06-04"),
        None,
    );
    grant_consent(
        &app,
        &id,
        "contact_after_exit",
        "2026-01-01",
        None,
        Some("2026-06-05"),
    );
    let res = record(&app, &lead, fid, Some("\"1\""), employed.clone()).await;
    assert_eq!(res.problem(409, "conflict")["code"], "consent_missing");

    // Unreachable needs no consent.
    let res = record(
        &app,
        &lead,
        fid,
        Some("\"1\""),
        json!({"contacted_on": "2026-06-03", "result": "unreachable"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let f = res.json();
    assert_eq!(f["status"], "unreachable");
    assert_eq!(f["result"], "unreachable");
    assert_eq!(f["contacted_on"], "2026-06-03");

    // A consent valid on the day (expiring that very day) allows a later, successful contact.
    grant_consent(
        &app,
        &id,
        "contact_after_exit",
        "2026-03-01",
        Some("2026-06-05"),
        Some("2026-06-06"),
    );
    let res = record(&app, &lead, fid, Some("\"2\""), employed.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let f = res.json();
    assert_eq!(
        f,
        json!({
            "id": fid, "programme_id": first["programme_id"], "participant_id": id,
            "months_after_exit": 3, "due_on": "2026-06-02", "status": "done",
            "contacted_on": "2026-06-05", "result": "employed", "note": "Works at the bakery",
            "version": 3
        })
    );
    record(&app, &lead, fid, Some("\"2\""), employed)
        .await
        .problem(412, "precondition-failed");
    // `note` absent keeps it; null clears it.
    let res = record(
        &app,
        &lead,
        fid,
        Some("\"3\""),
        json!({"contacted_on": "2026-06-05", "result": "education"}),
    )
    .await;
    assert_eq!(res.json()["note"], "Works at the bakery");
    let res = record(
        &app,
        &lead,
        fid,
        Some("\"4\""),
        json!({"contacted_on": "2026-06-05", "result": "education", "note": null}),
    )
    .await;
    assert_eq!(res.json()["note"], Value::Null);

    let list = follow_ups(&app, &lead, &id).await;
    assert_eq!(list["items"][0]["status"], "done");
    assert_eq!(list["items"][1]["status"], "due");

    // The audit names fields, never their values.
    let events = events(&app, "follow_up.update");
    assert_eq!(events.len(), 4);
    let (_, entity_type, entity_id, participant_id, changed, details) = &events[1];
    assert_eq!(entity_type.as_deref(), Some("follow_up"));
    assert_eq!(entity_id.as_deref(), Some(fid));
    assert_eq!(participant_id.as_deref(), Some(id.as_str()));
    let changed: Vec<String> = serde_json::from_str(changed).unwrap();
    assert_eq!(changed, ["contacted_on", "result", "status", "note"]);
    // The result (a closed set, for the timeline) — never the note's text.
    let details: Value = serde_json::from_str(details.as_deref().unwrap()).unwrap();
    assert_eq!(
        details.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["result"]
    );
}

// ------------------------------------------------------------------------------------------
// Visibility

#[actix_web::test]
async fn programmes_are_seen_by_the_team_managers_and_auditors_only() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let stranger = app.user(&[Role::Psychologist]).await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let (id, first) = exited(&app, &lead, 14).await;
    let pid = first["programme_id"].as_str().unwrap().to_owned();
    let fid = first["id"].as_str().unwrap().to_owned();
    let reads = [
        format!("/api/v1/participants/{id}/programmes"),
        format!("/api/v1/programmes/{pid}"),
        format!("/api/v1/participants/{id}/follow-ups"),
    ];
    for path in &reads {
        app.get_as(&stranger, path).await.problem(404, "not-found");
        app.get_as(&admin, path).await.problem(403, "forbidden");
        assert_eq!(app.get_as(&manager, path).await.status, 200, "{path}");
        assert_eq!(app.get_as(&auditor, path).await.status, 200, "{path}");
    }
    let auditor_sees = app
        .get_as(&auditor, &format!("/api/v1/programmes/{pid}"))
        .await
        .json();
    assert_eq!(auditor_sees["exit_reason"], "completed");

    // Unknown and malformed ids are 404; an admin is refused whatever the id.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/programmes/{unknown}"),
        format!("/api/v1/participants/{unknown}/programmes"),
        "/api/v1/programmes/not-a-uuid".to_owned(),
    ] {
        app.get_as(&manager, &path).await.problem(404, "not-found");
    }
    app.get_as(&admin, &format!("/api/v1/programmes/{unknown}"))
        .await
        .problem(403, "forbidden");

    // Writes: auditors and admins never; another team's clinician cannot see them.
    let contact = json!({"contacted_on": "2026-03-02", "result": "unreachable"});
    let extension = json!({"planned_end_date": "2027-12-31", "extension_reason": "x"});
    for (user, status) in [(&auditor, 403), (&admin, 403), (&stranger, 404)] {
        let kind = if status == 403 {
            "forbidden"
        } else {
            "not-found"
        };
        record(&app, user, &fid, Some("\"1\""), contact.clone())
            .await
            .problem(status, kind);
        extend(&app, user, &pid, Some("\"2\""), extension.clone())
            .await
            .problem(status, kind);
        exit(
            &app,
            user,
            &pid,
            None,
            json!({"exit_date": "2026-03-02", "exit_reason": "completed"}),
        )
        .await
        .problem(status, kind);
        start(
            &app,
            user,
            &id,
            json!({"start_date": "2026-03-02", "basis": "ipzs"}),
        )
        .await
        .problem(status, kind);
    }
    // A team member who is not the lead records follow-ups but does not manage the programme.
    let member = app.user(&[Role::Counsellor]).await;
    let res = app
        .call_as(
            &lead,
            TestRequest::put()
                .uri(&format!("/api/v1/participants/{id}/care-team"))
                .insert_header((
                    "if-match",
                    format!("\"{}\"", participant(&app, &lead, &id).await["version"]),
                ))
                .set_json(json!([{"staff_id": lead.id, "lead": true}, {"staff_id": member.id}])),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    extend(&app, &member, &pid, Some("\"2\""), extension)
        .await
        .problem(403, "forbidden");
    let res = record(&app, &member, &fid, Some("\"1\""), contact.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    // A manager records too.
    let res = record(&app, &manager, &fid, Some("\"2\""), contact).await;
    assert_eq!(res.status, 200, "{}", res.text());

    let denied: Vec<String> = app
        .audit_trail()
        .into_iter()
        .filter(|(_, outcome)| outcome == "denied")
        .map(|(action, _)| action)
        .collect();
    for action in ["programme.read", "programme.manage", "follow_up.write"] {
        assert!(denied.iter().any(|a| a == action), "{action}: {denied:?}");
    }
}

#[actix_web::test]
async fn a_start_with_the_same_idempotency_key_is_replayed() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = qualified(&app, &lead, 15).await;
    let req = || {
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{id}/programmes"))
            .insert_header(("idempotency-key", "start-15"))
            .set_json(json!({"start_date": "2026-03-02", "basis": "ipzs"}))
    };
    let first = app.call_as(&lead, req()).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let second = app.call_as(&lead, req()).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotency-replayed"), Some("true"));
    assert_eq!(second.json()["id"], first.json()["id"]);
    assert_eq!(open_programmes(&app, &id), 1);
}

/// Auditors read programmes as evidence: dates, basis (with the contract's reference) and
/// reasons, but not the staff's free-text notes on extensions, exits and follow-up contacts
/// (api.md §13.3); the care team sees them.
#[actix_web::test]
async fn auditors_see_programme_evidence_but_not_the_staff_notes() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let id = qualified(&app, &lead, 21).await;
    let p = started(&app, &lead, &id).await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let res = extend(
        &app,
        &lead,
        &pid,
        Some("\"1\""),
        json!({"planned_end_date": "2027-06-30", "extension_reason": "Therapy for alcohol dependence continues"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = exit(
        &app,
        &lead,
        &pid,
        None,
        json!({"exit_date": "2026-03-02", "exit_reason": "other", "exit_note": "Moved to a shelter in Gdańsk"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let first = follow_ups(&app, &lead, &id).await["items"][0].clone();
    let res = record(
        &app,
        &lead,
        first["id"].as_str().unwrap(),
        Some("\"1\""),
        json!({"contacted_on": "2026-03-02", "result": "unreachable", "note": "Phone number disconnected"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());

    let one = format!("/api/v1/programmes/{pid}");
    let all = format!("/api/v1/participants/{id}/programmes");
    let seen_by = |user| {
        let (one, all) = (one.clone(), all.clone());
        let app = &app;
        async move {
            let single = app.get_as(user, &one).await.json();
            let listed = app.get_as(user, &all).await.json()["items"][0].clone();
            assert_eq!(single, listed);
            single
        }
    };
    let audited = seen_by(&auditor).await;
    assert_eq!(audited["extension_reason"], Value::Null);
    assert_eq!(audited["exit_note"], Value::Null);
    assert_eq!(audited["exit_reason"], "other");
    assert_eq!(audited["basis_reference"], "KS/12/2026");
    assert_eq!(audited["planned_end_date"], "2027-06-30");
    let full = seen_by(&lead).await;
    assert_eq!(full["exit_note"], "Moved to a shelter in Gdańsk");
    assert_eq!(
        full["extension_reason"],
        "Therapy for alcohol dependence continues"
    );

    let audited = follow_ups(&app, &auditor, &id).await["items"][0].clone();
    assert_eq!(audited["result"], "unreachable");
    assert_eq!(audited["note"], Value::Null);
    let full = follow_ups(&app, &lead, &id).await["items"][0].clone();
    assert_eq!(full["note"], "Phone number disconnected");

    // The timeline names the exit reason and the contact's result (recorded with the events).
    let timeline = app
        .get_as(&lead, &format!("/api/v1/participants/{id}/timeline"))
        .await
        .json();
    let summaries: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"Programme ended (other)"),
        "{summaries:?}"
    );
    assert!(
        summaries.contains(&"Follow-up recorded (unreachable)"),
        "{summaries:?}"
    );
}

/// Programme, follow-up, risk-group and care-team writes refuse an anonymised participant (409
/// `participant_anonymised`), decided inside the write's transaction.
#[actix_web::test]
async fn an_anonymised_participants_case_cannot_be_changed() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    // One participant in a programme, one exited with follow-ups; both then anonymised.
    let open_id = qualified(&app, &lead, 22).await;
    let open = started(&app, &lead, &open_id).await;
    let (id, first) = exited(&app, &lead, 23).await;
    for participant in [&open_id, &id] {
        use reintegra::db::schema::participants;
        diesel::update(participants::table.find(participant))
            .set(participants::status.eq("anonymised"))
            .execute(&mut app.conn())
            .unwrap();
    }
    let anonymised = |res: TestResponse| {
        assert_eq!(
            res.problem(409, "conflict")["code"],
            "participant_anonymised"
        )
    };
    anonymised(
        record(
            &app,
            &lead,
            first["id"].as_str().unwrap(),
            Some("\"1\""),
            json!({"contacted_on": "2026-03-02", "result": "unreachable"}),
        )
        .await,
    );
    let pid = open["id"].as_str().unwrap();
    anonymised(
        extend(
            &app,
            &lead,
            pid,
            Some("\"1\""),
            json!({"planned_end_date": "2027-06-30", "extension_reason": "x"}),
        )
        .await,
    );
    anonymised(
        exit(
            &app,
            &lead,
            pid,
            None,
            json!({"exit_date": "2026-03-02", "exit_reason": "completed"}),
        )
        .await,
    );
    let version = participant(&app, &lead, &id).await["version"].clone();
    let put = |path: &str, body: Value| {
        TestRequest::put()
            .uri(&format!("/api/v1/participants/{id}/{path}"))
            .insert_header(("if-match", format!("\"{version}\"")))
            .set_json(body)
    };
    anonymised(
        app.call_as(
            &lead,
            put(
                "risk-groups",
                json!([{"code": "homeless", "evidence": "MOPS certificate"}]),
            ),
        )
        .await,
    );
    anonymised(
        app.call_as(
            &lead,
            put("care-team", json!([{"staff_id": lead.id, "lead": true}])),
        )
        .await,
    );
    assert_eq!(open_programmes(&app, &open_id), 1, "nothing changed");
}
