//! Sessions and attendance (api.md §8, §13.3, §13.5): who plans, edits and records; what each
//! reader is shown; all-or-nothing attendance; idempotent re-PUT; cancelled sessions; the
//! participant's attendance with totals, monthly day counts and CSV.

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, TestApp, TestResponse, TestUser};

/// A unit with two care teams: `psych` leads `a`'s team and facilitates the sessions; `worker`
/// leads `b`'s team. Both participants are in a programme from 2026-03-02.
pub struct Club {
    pub manager: TestUser,
    pub psych: TestUser,
    pub worker: TestUser,
    pub auditor: TestUser,
    pub admin: TestUser,
    pub a: String,
    pub b: String,
}

pub async fn in_programme(app: &TestApp, lead: &TestUser, n: u32) -> String {
    let participant = app.register_participant(lead, participant_body(n)).await;
    app.qualify(lead, &participant).await;
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{participant}/programmes"))
                .set_json(json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"})),
        )
        .await;
    assert_eq!(res.status, 201, "start: {}", res.text());
    participant
}

pub async fn club(app: &TestApp) -> Club {
    let psych = app.user(&[Role::Psychologist]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let a = in_programme(app, &psych, 1).await;
    let b = in_programme(app, &worker, 2).await;
    Club {
        manager: app.user(&[Role::Manager]).await,
        auditor: app.user(&[Role::Auditor]).await,
        admin: app.user(&[Role::Admin]).await,
        psych,
        worker,
        a,
        b,
    }
}

pub fn session_body(
    activity: &str,
    starts_at: &str,
    minutes: i64,
    facilitators: &[&str],
    invited: &[&str],
) -> Value {
    json!({
        "activity_type_code": activity,
        "title": format!("{activity} at {starts_at}"),
        "starts_at": starts_at,
        "duration_minutes": minutes,
        "location": "Room 2",
        "facilitator_ids": facilitators,
        "participant_ids": invited,
    })
}

/// Plans a session as `user`; answers it.
pub async fn plan(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let res = app
        .call_as(
            user,
            TestRequest::post().uri("/api/v1/sessions").set_json(body),
        )
        .await;
    assert_eq!(res.status, 201, "session: {}", res.text());
    res.json()
}

pub async fn put_attendance(
    app: &TestApp,
    user: &TestUser,
    session: &str,
    version: i64,
    rows: Value,
) -> TestResponse {
    app.call_as(
        user,
        TestRequest::put()
            .uri(&format!("/api/v1/sessions/{session}/attendance"))
            .insert_header(("if-match", format!("\"{version}\"")))
            .set_json(rows),
    )
    .await
}

/// A 90-minute support group today, facilitated by the psychologist, `a` invited; planned by
/// `user`.
async fn todays_group(app: &TestApp, user: &TestUser, club: &Club) -> Value {
    let body = session_body(
        "support_group",
        "2026-03-02T09:00:00+01:00",
        90,
        &[&club.psych.id],
        &[&club.a],
    );
    plan(app, user, body).await
}

async fn edit_session(
    app: &TestApp,
    user: &TestUser,
    session: &str,
    version: i64,
    body: Value,
) -> TestResponse {
    let req = TestRequest::patch()
        .uri(&format!("/api/v1/sessions/{session}"))
        .insert_header(("if-match", format!("\"{version}\"")))
        .set_json(body);
    app.call_as(user, req).await
}

async fn cancel_session(
    app: &TestApp,
    user: &TestUser,
    session: &str,
    body: Value,
) -> TestResponse {
    let req = TestRequest::post()
        .uri(&format!("/api/v1/sessions/{session}/cancel"))
        .set_json(body);
    app.call_as(user, req).await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn version(res: &TestResponse) -> i64 {
    res.header("etag")
        .and_then(|e| e.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no ETag: {}", res.text()))
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    count(
        &mut app.conn(),
        &format!("SELECT COUNT(*) AS n FROM audit_events WHERE action = '{action}' AND outcome = 'allowed'"),
    )
}

#[actix_web::test]
async fn a_session_takes_its_area_from_the_activity_type_and_its_day_in_warsaw() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    // 23:30 UTC on 2 March is already 3 March in Warsaw.
    let s = plan(
        &app,
        &club.psych,
        session_body(
            "job_search_workshop",
            "2026-03-02T23:30:00Z",
            120,
            &[&club.psych.id],
            &[&club.a],
        ),
    )
    .await;
    assert_eq!(s["area"], "vocational");
    assert_eq!(s["category"], "proactive_workshop");
    assert_eq!(s["starts_on"], "2026-03-03");
    assert_eq!(s["status"], "scheduled");
    assert_eq!(s["participant_ids"], json!([club.a]));
    assert_eq!(s["facilitator_ids"], json!([club.psych.id]));
    assert_eq!(s["version"], 1);

    let on_the_2nd = app
        .get_as(
            &club.manager,
            "/api/v1/sessions?from=2026-03-02&to=2026-03-02",
        )
        .await;
    assert_eq!(on_the_2nd.json()["total"], 0, "{}", on_the_2nd.text());
    let on_the_3rd = app
        .get_as(&club.manager, "/api/v1/sessions?from=2026-03-03")
        .await;
    assert_eq!(on_the_3rd.json()["total"], 1);

    let res = app
        .call_as(
            &club.psych,
            TestRequest::post().uri("/api/v1/sessions").set_json(json!({
                "activity_type_code": "knitting", "title": "x", "starts_at": "2026-03-02T10:00:00",
                "duration_minutes": 601, "facilitator_ids": [club.auditor.id],
                "participant_ids": [club.b],
            })),
        )
        .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/duration_minutes".into(), "range".into()),
            ("/starts_at".into(), "format".into()),
        ]
    );
    let res = app
        .call_as(
            &club.psych,
            TestRequest::post().uri("/api/v1/sessions").set_json(json!({
                "activity_type_code": "knitting", "title": "x", "starts_at": "2026-03-02T10:00:00+01:00",
                "duration_minutes": 60, "facilitator_ids": [club.auditor.id],
                "participant_ids": [club.b],
            })),
        )
        .await;
    // The type, a facilitator who runs no activities, and another team's participant.
    assert_eq!(
        res.field_errors(),
        vec![
            ("/activity_type_code".into(), "unknown".into()),
            ("/facilitator_ids/0".into(), "not_facilitator".into()),
            ("/participant_ids/0".into(), "unknown".into()),
        ]
    );
}

#[actix_web::test]
async fn sessions_are_listed_by_start_and_filtered() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let later = plan(
        &app,
        &club.worker,
        session_body(
            "cv_workshop",
            "2026-03-05T09:00:00+01:00",
            90,
            &[&club.worker.id],
            &[&club.b],
        ),
    )
    .await;
    let earlier = plan(
        &app,
        &club.psych,
        session_body(
            "support_group",
            "2026-03-04T09:00:00+01:00",
            90,
            &[&club.psych.id],
            &[&club.a],
        ),
    )
    .await;
    let ids = |res: TestResponse| -> Vec<String> {
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| id(s).to_owned())
            .collect()
    };
    let all = ids(app.get_as(&club.auditor, "/api/v1/sessions").await);
    assert_eq!(all, vec![id(&earlier), id(&later)]);
    let by_type = ids(app
        .get_as(&club.manager, "/api/v1/sessions?activity_type=cv_workshop")
        .await);
    assert_eq!(by_type, vec![id(&later)]);
    let by_facilitator = ids(app
        .get_as(
            &club.manager,
            &format!("/api/v1/sessions?facilitator_id={}", club.psych.id),
        )
        .await);
    assert_eq!(by_facilitator, vec![id(&earlier)]);
    let by_participant = ids(app
        .get_as(
            &club.psych,
            &format!("/api/v1/sessions?participant_id={}", club.a),
        )
        .await);
    assert_eq!(by_participant, vec![id(&earlier)]);
    // Which sessions another team's participant attends is not the psychologist's to learn.
    let hidden = ids(app
        .get_as(
            &club.psych,
            &format!("/api/v1/sessions?participant_id={}", club.b),
        )
        .await);
    assert!(hidden.is_empty());

    let bad = app
        .get_as(&club.manager, "/api/v1/sessions?from=2026-02-30&colour=red")
        .await;
    bad.problem(400, "malformed-request");
    // An admin sees no case data, sessions included.
    app.get_as(&club.admin, "/api/v1/sessions")
        .await
        .problem(403, "forbidden");
    assert_eq!(audit_count(&app, "session.list"), 5);
}

#[actix_web::test]
async fn readers_see_only_the_participants_they_may_see() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let s = plan(
        &app,
        &club.manager,
        session_body(
            "support_group",
            "2026-03-02T09:00:00+01:00",
            90,
            &[&club.psych.id, &club.worker.id],
            &[&club.a, &club.b],
        ),
    )
    .await;
    let res = put_attendance(
        &app,
        &club.manager,
        id(&s),
        1,
        json!([
            {"participant_id": club.a, "status": "present", "note": "Spoke first"},
            {"participant_id": club.b, "status": "absent"},
        ]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["total"], 2);
    assert_eq!(res.json()["hidden_attendees"], 0);

    let path = format!("/api/v1/sessions/{}", id(&s));
    let seen_by_psych = app.get_as(&club.psych, &path).await.json();
    assert_eq!(seen_by_psych["participant_ids"], json!([club.a]));
    assert_eq!(seen_by_psych["attendance"].as_array().unwrap().len(), 1);
    assert_eq!(
        seen_by_psych["attendance"][0]["participant_id"],
        club.a.as_str()
    );
    assert_eq!(seen_by_psych["attendance"][0]["minutes"], 90);
    assert_eq!(seen_by_psych["hidden_attendees"], 1);

    let seen_by_auditor = app.get_as(&club.auditor, &path).await.json();
    assert_eq!(seen_by_auditor["hidden_attendees"], 0);
    assert_eq!(seen_by_auditor["attendance"].as_array().unwrap().len(), 2);
    // Notes are free text about a person: not for auditors.
    assert!(seen_by_auditor["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["note"].is_null()));
    let seen_by_manager = app.get_as(&club.manager, &path).await.json();
    let notes: Vec<&Value> = seen_by_manager["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["note"])
        .collect();
    assert!(notes.contains(&&json!("Spoke first")));

    let list = app.get_as(&club.psych, "/api/v1/sessions").await.json();
    assert_eq!(list["items"][0]["hidden_attendees"], 1);
    assert!(list["items"][0].get("attendance").is_none());

    app.get_as(&club.admin, &path)
        .await
        .problem(403, "forbidden");
    app.get_as(
        &club.psych,
        "/api/v1/sessions/5d8f1a84-2d0a-4b5e-9c36-0a4b1f0e9b11",
    )
    .await
    .problem(404, "not-found");
    assert!(audit_count(&app, "session.read") >= 3);
}

#[actix_web::test]
async fn facilitators_and_managers_record_attendance_and_nobody_else() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let other_psych = app.user(&[Role::Psychologist]).await;
    let s = todays_group(&app, &club.psych, &club).await;
    let rows = json!([{"participant_id": club.a, "status": "present"}]);
    // Not a facilitator: may read the session, so 403 rather than 404.
    put_attendance(&app, &other_psych, id(&s), 1, rows.clone())
        .await
        .problem(403, "forbidden");
    put_attendance(&app, &club.worker, id(&s), 1, rows.clone())
        .await
        .problem(403, "forbidden");
    // Auditors and admins never record, whatever the id.
    for user in [&club.auditor, &club.admin] {
        put_attendance(
            &app,
            user,
            "5d8f1a84-2d0a-4b5e-9c36-0a4b1f0e9b11",
            1,
            rows.clone(),
        )
        .await
        .problem(403, "forbidden");
    }
    let res = put_attendance(&app, &club.psych, id(&s), 1, rows.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(version(&res), 2);
    // A manager may, and the same for edits.
    let res = put_attendance(
        &app,
        &club.manager,
        id(&s),
        2,
        json!([{"participant_id": club.a, "status": "late", "minutes": 60}]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["items"][0]["minutes"], 60);
    let title = json!({"title": "Support group, week 1"});
    edit_session(&app, &other_psych, id(&s), 3, title.clone())
        .await
        .problem(403, "forbidden");
    let res = edit_session(&app, &club.psych, id(&s), 3, title.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["title"], "Support group, week 1");
    edit_session(&app, &club.manager, id(&s), 3, title.clone())
        .await
        .problem(412, "precondition-failed");

    let trail = app.audit_trail();
    assert!(trail.contains(&("attendance.record".into(), "denied".into())));
    assert!(trail.contains(&("session.edit".into(), "denied".into())));
    assert_eq!(audit_count(&app, "attendance.record"), 2);
}

#[actix_web::test]
async fn one_bad_row_leaves_the_stored_attendance_exactly_as_it_was() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let outsider = app.user(&[Role::Counsellor]).await;
    let never_started = app
        .register_participant(&outsider, participant_body(3))
        .await;
    let s = plan(
        &app,
        &club.manager,
        session_body(
            "support_group",
            "2026-03-02T09:00:00+01:00",
            90,
            &[&club.psych.id],
            &[],
        ),
    )
    .await;
    let first = put_attendance(
        &app,
        &club.manager,
        id(&s),
        1,
        json!([
            {"participant_id": club.a, "status": "present"},
            {"participant_id": club.b, "status": "excused"},
        ]),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text());
    let before = app
        .get_as(&club.manager, &format!("/api/v1/sessions/{}", id(&s)))
        .await
        .json();

    let res = put_attendance(
        &app,
        &club.manager,
        id(&s),
        2,
        json!([
            {"participant_id": club.a, "status": "absent"},
            {"participant_id": club.a, "status": "present"},
            {"participant_id": never_started, "status": "present"},
            {"participant_id": "0b9a3f1e-8f0e-4c7a-9d59-3f4b3e0c6a11", "status": "present"},
            {"participant_id": club.b, "status": "present", "minutes": 91},
        ]),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/1/participant_id".into(), "duplicate".into()),
            ("/2/participant_id".into(), "no_programme".into()),
            ("/3/participant_id".into(), "unknown".into()),
            ("/4/minutes".into(), "above_duration".into()),
        ]
    );
    let after = app
        .get_as(&club.manager, &format!("/api/v1/sessions/{}", id(&s)))
        .await
        .json();
    assert_eq!(before["attendance"], after["attendance"]);
    assert_eq!(after["version"], 2);
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM attendance"),
        2
    );

    // The facilitator may not name another team's participant: to them it does not exist.
    let res = put_attendance(
        &app,
        &club.psych,
        id(&s),
        2,
        json!([{"participant_id": club.b, "status": "present"}]),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/0/participant_id".into(), "unknown".into())]
    );

    // More than 200 rows is refused as a whole.
    let many: Vec<Value> = (0..201)
        .map(|_| json!({"participant_id": club.a, "status": "present"}))
        .collect();
    let res = put_attendance(&app, &club.manager, id(&s), 2, Value::Array(many)).await;
    assert_eq!(res.field_errors(), vec![("/".into(), "count".into())]);
}

#[actix_web::test]
async fn the_same_attendance_twice_is_one_change() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let s = todays_group(&app, &club.manager, &club).await;
    let rows = json!([
        {"participant_id": club.a, "status": "present"},
        {"participant_id": club.b, "status": "absent"},
    ]);
    let first = put_attendance(&app, &club.manager, id(&s), 1, rows.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(version(&first), 2);
    let events = audit_count(&app, "attendance.record");
    assert_eq!(events, 2);
    // Sent again (a retry after a lost answer, with either ETag): same state, same version.
    let again = put_attendance(&app, &club.manager, id(&s), 2, rows.clone()).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(version(&again), 2);
    assert_eq!(again.json(), first.json());
    assert_eq!(audit_count(&app, "attendance.record"), events);
    // A stale ETag is still refused.
    put_attendance(&app, &club.manager, id(&s), 1, rows.clone())
        .await
        .problem(412, "precondition-failed");
    // Changing one row audits that row only; dropping a row audits its removal.
    let res = put_attendance(
        &app,
        &club.manager,
        id(&s),
        2,
        json!([{"participant_id": club.a, "status": "present"}]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(version(&res), 3);
    assert_eq!(audit_count(&app, "attendance.record"), events + 1);
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'attendance.record' AND participant_id = '{}'",
                club.b
            )
        ),
        2
    );
    // Stored: the dropped row is gone, the kept one is as the first PUT wrote it.
    let stored = |who: &str| {
        count(
            &mut app.conn(),
            &format!(
                "SELECT COUNT(*) AS n FROM attendance WHERE session_id = '{}' AND participant_id = '{who}' AND status = 'present'",
                id(&s)
            ),
        )
    };
    assert_eq!((stored(&club.a), stored(&club.b)), (1, 0));
    assert_eq!(
        count(
            &mut app.conn(),
            &format!(
                "SELECT COUNT(*) AS n FROM attendance WHERE session_id = '{}'",
                id(&s)
            )
        ),
        1
    );
    let first_of_a = first.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["participant_id"] == club.a.as_str())
        .cloned()
        .unwrap();
    assert_eq!(res.json()["items"][0], first_of_a);
    // If-Match is required on the PUT.
    let res = app
        .call_as(
            &club.manager,
            TestRequest::put()
                .uri(&format!("/api/v1/sessions/{}/attendance", id(&s)))
                .set_json(rows),
        )
        .await;
    res.problem(428, "precondition-required");
}

#[actix_web::test]
async fn cancelled_and_future_sessions_take_no_attendance() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let s = todays_group(&app, &club.psych, &club).await;
    let res = cancel_session(&app, &club.psych, id(&s), json!({})).await;
    assert_eq!(
        res.field_errors(),
        vec![("/reason".into(), "required".into())]
    );
    cancel_session(&app, &club.auditor, id(&s), json!({"reason": "x"}))
        .await
        .problem(403, "forbidden");
    let res = cancel_session(
        &app,
        &club.psych,
        id(&s),
        json!({"reason": "Facilitator ill"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "cancelled");
    assert_eq!(res.json()["cancel_reason"], "Facilitator ill");
    let p = cancel_session(&app, &club.psych, id(&s), json!({"reason": "again"}))
        .await
        .problem(409, "conflict");
    assert_eq!(p["code"], "session_cancelled");
    let p = put_attendance(
        &app,
        &club.psych,
        id(&s),
        2,
        json!([{"participant_id": club.a, "status": "present"}]),
    )
    .await
    .problem(409, "conflict");
    assert_eq!(p["code"], "session_cancelled");
    let cancelled = app
        .get_as(&club.manager, "/api/v1/sessions?status=cancelled")
        .await;
    assert_eq!(cancelled.json()["total"], 1);

    let tomorrow = plan(
        &app,
        &club.psych,
        session_body(
            "support_group",
            "2026-03-03T09:00:00+01:00",
            90,
            &[&club.psych.id],
            &[&club.a],
        ),
    )
    .await;
    let p = put_attendance(
        &app,
        &club.psych,
        id(&tomorrow),
        1,
        json!([{"participant_id": club.a, "status": "present"}]),
    )
    .await
    .problem(409, "conflict");
    assert_eq!(p["code"], "session_not_started");

    // Once attendance is in, the session's time stays and it cannot be cancelled.
    let mut psych = club.psych.clone();
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap(),
        &mut [&mut psych],
    )
    .await;
    let club = Club { psych, ..club };
    let res = put_attendance(
        &app,
        &club.psych,
        id(&tomorrow),
        1,
        json!([{"participant_id": club.a, "status": "present"}]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let p = app
        .call_as(
            &club.psych,
            TestRequest::patch()
                .uri(&format!("/api/v1/sessions/{}", id(&tomorrow)))
                .insert_header(("if-match", "\"2\""))
                .set_json(json!({"duration_minutes": 60})),
        )
        .await
        .problem(409, "conflict");
    assert_eq!(p["code"], "attendance_recorded");
    let res = app
        .call_as(
            &club.psych,
            TestRequest::post()
                .uri(&format!("/api/v1/sessions/{}/cancel", id(&tomorrow)))
                .set_json(json!({"reason": "late idea"})),
        )
        .await;
    assert_eq!(res.problem(409, "conflict")["code"], "attendance_recorded");
}

#[actix_web::test]
async fn a_participants_attendance_adds_up_by_area_status_and_month() {
    let app = TestApp::spawn().await;
    let club = club(&app).await;
    let f = club.psych.id.clone();
    // Three social sessions of 90 minutes, two vocational of 120; one absence, one late.
    let plan_of = [
        (
            "support_group",
            "2026-03-02T09:00:00+01:00",
            90,
            "present",
            None,
        ),
        (
            "support_group",
            "2026-03-09T09:00:00+01:00",
            90,
            "absent",
            None,
        ),
        (
            "psychoeducation_workshop",
            "2026-03-16T09:00:00+01:00",
            90,
            "late",
            Some(45),
        ),
        (
            "job_search_workshop",
            "2026-03-31T12:00:00+02:00",
            120,
            "present",
            None,
        ),
        (
            "cv_workshop",
            "2026-04-01T12:00:00+02:00",
            120,
            "excused",
            None,
        ),
    ];
    let mut sessions = Vec::new();
    for (activity, at, minutes, _, _) in plan_of {
        sessions.push(
            plan(
                &app,
                &club.psych,
                session_body(activity, at, minutes, &[&f], &[&club.a]),
            )
            .await,
        );
    }
    let Club {
        mut psych,
        mut worker,
        mut manager,
        mut auditor,
        mut admin,
        a,
        b,
    } = club;
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 4, 2, 9, 0, 0).unwrap(),
        &mut [
            &mut psych,
            &mut worker,
            &mut manager,
            &mut auditor,
            &mut admin,
        ],
    )
    .await;
    let club = Club {
        psych,
        worker,
        manager,
        auditor,
        admin,
        a,
        b,
    };
    for (s, (_, _, _, status, minutes)) in sessions.iter().zip(plan_of) {
        let mut row = json!({"participant_id": club.a, "status": status});
        if let Some(m) = minutes {
            row["minutes"] = json!(m);
        }
        let res = put_attendance(&app, &club.psych, id(s), 1, json!([row])).await;
        assert_eq!(res.status, 200, "{}", res.text());
    }

    let path = format!("/api/v1/participants/{}/attendance", club.a);
    let res = app.get_as(&club.psych, &format!("{path}?per_page=2")).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["total"], 5);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert_eq!(body["items"][0]["session_id"], id(&sessions[0]));
    assert_eq!(
        body["totals"],
        json!({
            "minutes_by_area": {"social": 135, "vocational": 120},
            "minutes_by_category": {"proactive_workshop": 120, "psychoeducation": 45, "support_group": 90},
            "sessions_by_status": {"absent": 1, "excused": 1, "late": 1, "present": 2},
        })
    );
    assert_eq!(
        body["months"],
        json!([
            {"month": "2026-03", "days_present": 3, "days_excused": 0, "days_absent_unexcused": 1, "minutes": 255},
            {"month": "2026-04", "days_present": 0, "days_excused": 1, "days_absent_unexcused": 0, "minutes": 0},
        ])
    );
    let march = app
        .get_as(
            &club.auditor,
            &format!("{path}?from=2026-03-10&to=2026-03-31"),
        )
        .await
        .json();
    assert_eq!(march["total"], 2);

    let csv = app
        .call_as(
            &club.manager,
            TestRequest::get()
                .uri(&path)
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    let mut reader = ::csv::Reader::from_reader(csv.body.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.get(0), Some("session_id"));
    let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[2].get(6), Some("late"));
    assert_eq!(rows[2].get(7), Some("45"));

    // Another team's clinician does not learn the participant exists; admins read no case data.
    app.get_as(&club.worker, &path)
        .await
        .problem(404, "not-found");
    app.get_as(&club.admin, &path)
        .await
        .problem(403, "forbidden");
    assert_eq!(audit_count(&app, "attendance.read"), 3);
}
