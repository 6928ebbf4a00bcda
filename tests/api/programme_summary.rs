//! The programme summary (api.md §5, §13.4): months elapsed and planned (extension, exit),
//! goals and overdue actions and reviews of the active IPD, attendance minutes and rate, and who
//! may read it.

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{TestApp, TestUser};
use crate::sessions::{plan as plan_session, put_attendance, session_body};
use crate::worklist::{participant, start_programme};

async fn summary(app: &TestApp, user: &TestUser, programme: &str) -> Value {
    let res = app
        .get_as(user, &format!("/api/v1/programmes/{programme}/summary"))
        .await;
    assert_eq!(res.status, 200, "summary: {}", res.text());
    res.json()
}

/// Every category at 0 but the ones given.
fn categories(minutes: &[(&str, i64)]) -> Value {
    let mut all = json!({"diagnosis": 0, "support_group": 0, "psychoeducation": 0,
        "self_education": 0, "leisure": 0, "individual_counselling": 0,
        "proactive_workshop": 0, "course": 0, "work_practice": 0, "other": 0});
    for (category, m) in minutes {
        all[*category] = json!(m);
    }
    all
}

fn no_attendance() -> (Value, Value) {
    (
        json!({"total": 0, "social": 0, "vocational": 0, "by_category": categories(&[])}),
        json!({"numerator": 0, "denominator": 0, "fraction": null}),
    )
}

async fn send(app: &TestApp, user: &TestUser, req: TestRequest, status: u16) -> Value {
    let res = app.call_as(user, req).await;
    assert_eq!(res.status, status, "{}", res.text());
    res.json()
}

#[actix_web::test]
async fn months_goals_and_overdue_work_follow_the_day_the_extension_and_the_exit() {
    let app = TestApp::spawn().await;
    let mut lead = app.user(&[Role::Psychologist]).await;
    let p = participant(&app, 1, &lead, &[]).await;
    let programme = start_programme(&app, &lead, &p, "2026-03-02", 12).await;
    let (minutes, rate) = no_attendance();

    // Day one, before any plan.
    assert_eq!(
        summary(&app, &lead, &programme).await,
        json!({"months_elapsed": 0, "months_planned": 12, "attended_minutes": minutes,
               "attendance_rate": rate, "goals": {"achieved": 0, "total": 0},
               "overdue_actions": 0, "overdue_reviews": 0})
    );

    // An active plan: two goals, three actions (due 2026-04-01, 04-15, 07-01); the first
    // review falls due on 2026-05-31.
    crate::diagnoses::record_final_diagnosis(&app, &lead, &p, "general_survey").await;
    let mut body = crate::plans::plan_body_for(&programme, &lead.id, &lead.id);
    body["actions"].as_array_mut().unwrap().push(json!({
        "goal_index": 1, "title": "Forklift course", "responsible_staff_id": lead.id,
        "due_date": "2026-07-01"}));
    let plan = send(
        &app,
        &lead,
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{p}/plans"))
            .set_json(body),
        201,
    )
    .await;
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    let plan = send(
        &app,
        &lead,
        TestRequest::post()
            .uri(&format!("/api/v1/plans/{plan_id}/activate"))
            .set_json(crate::plans::accepted()),
        200,
    )
    .await;
    assert_eq!(plan["next_review_on"], "2026-05-31");
    // A draft revision's goals do not count.
    send(
        &app,
        &lead,
        TestRequest::post().uri(&format!("/api/v1/plans/{plan_id}/revise")),
        201,
    )
    .await;
    let s = summary(&app, &lead, &programme).await;
    assert_eq!(s["goals"], json!({"achieved": 0, "total": 2}));
    assert_eq!(
        (s["overdue_actions"].clone(), s["overdue_reviews"].clone()),
        (json!(0), json!(0))
    );

    // 2026-06-01 in Warsaw: three whole months (2026-03-02 + 3 months = 2026-06-02 = the day
    // after). One goal achieved, the second action done.
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap(),
        &mut [&mut lead],
    )
    .await;
    let goal = &plan["goals"][0];
    send(
        &app,
        &lead,
        TestRequest::patch()
            .uri(&format!("/api/v1/goals/{}", goal["id"].as_str().unwrap()))
            .insert_header(("if-match", format!("\"{}\"", goal["version"])))
            .set_json(json!({"status": "achieved", "achieved_on": "2026-05-20"})),
        200,
    )
    .await;
    let action = &plan["actions"][1];
    send(
        &app,
        &lead,
        TestRequest::patch()
            .uri(&format!(
                "/api/v1/actions/{}",
                action["id"].as_str().unwrap()
            ))
            .insert_header(("if-match", format!("\"{}\"", action["version"])))
            .set_json(json!({"status": "done", "done_on": "2026-04-14"})),
        200,
    )
    .await;
    assert_eq!(
        summary(&app, &lead, &programme).await,
        json!({"months_elapsed": 3, "months_planned": 12, "attended_minutes": minutes,
               "attendance_rate": rate, "goals": {"achieved": 1, "total": 2},
               "overdue_actions": 1, "overdue_reviews": 1})
    );

    // A review moves the next one to 2026-08-30; an extension to 2027-09-01 plans 18 months.
    send(
        &app,
        &lead,
        TestRequest::post()
            .uri(&format!("/api/v1/plans/{plan_id}/reviews"))
            .set_json(json!({"reviewed_on": "2026-06-01", "summary": "On track",
                             "next_review_on": "2026-08-30"})),
        201,
    )
    .await;
    let res = app
        .get_as(&lead, &format!("/api/v1/programmes/{programme}"))
        .await;
    let version = res.json()["version"].clone();
    send(
        &app,
        &lead,
        TestRequest::patch()
            .uri(&format!("/api/v1/programmes/{programme}"))
            .insert_header(("if-match", format!("\"{version}\"")))
            .set_json(json!({"planned_end_date": "2027-09-01",
                             "extension_reason": "Work practice continues"})),
        200,
    )
    .await;
    let s = summary(&app, &lead, &programme).await;
    assert_eq!(
        (s["months_elapsed"].clone(), s["months_planned"].clone()),
        (json!(3), json!(18))
    );
    assert_eq!(
        (s["overdue_actions"].clone(), s["overdue_reviews"].clone()),
        (json!(1), json!(0))
    );

    // Exited on 2026-06-01: months and overdue work are counted at the exit, not today.
    send(
        &app,
        &lead,
        TestRequest::post()
            .uri(&format!("/api/v1/programmes/{programme}/exit"))
            .set_json(json!({"exit_date": "2026-06-01", "exit_reason": "employed"})),
        200,
    )
    .await;
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 9, 15, 10, 0, 0).unwrap(),
        &mut [&mut lead],
    )
    .await;
    assert_eq!(
        summary(&app, &lead, &programme).await,
        json!({"months_elapsed": 3, "months_planned": 18, "attended_minutes": minutes,
               "attendance_rate": rate, "goals": {"achieved": 1, "total": 2},
               "overdue_actions": 1, "overdue_reviews": 0})
    );
}

#[actix_web::test]
async fn the_summary_is_read_like_the_programme() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let p = participant(&app, 2, &lead, &[]).await;
    let programme = start_programme(&app, &lead, &p, "2026-03-02", 12).await;
    let path = format!("/api/v1/programmes/{programme}/summary");

    for role in [Role::Manager, Role::Auditor] {
        let user = app.user(&[role]).await;
        assert_eq!(summary(&app, &user, &programme).await["months_planned"], 12);
    }
    let outsider = app.user(&[Role::Counsellor]).await;
    app.get_as(&outsider, &path).await.problem(404, "not-found");
    let admin = app.user(&[Role::Admin]).await;
    app.get_as(&admin, &path).await.problem(403, "forbidden");
    app.get(&path).await.problem(401, "unauthorized");
    app.get_as(
        &lead,
        &format!("/api/v1/programmes/{}/summary", uuid::Uuid::new_v4()),
    )
    .await
    .problem(404, "not-found");
    let denied: Vec<_> = app
        .audit_trail()
        .into_iter()
        .filter(|(action, _)| action == "programme.read")
        .collect();
    assert_eq!(
        denied,
        vec![
            ("programme.read".to_owned(), "denied".to_owned()),
            ("programme.read".to_owned(), "denied".to_owned()),
            ("programme.read".to_owned(), "denied".to_owned()),
        ],
        "the outsider, the admin and the unknown id"
    );
}

/// Plans a session of `activity` at `starts_at` lasting `minutes`, facilitated by `user`, with
/// `invited`, and records `rows`; the answer of the PUT must be 200.
async fn held(
    app: &TestApp,
    user: &TestUser,
    activity: &str,
    starts_at: &str,
    minutes: i64,
    invited: &[&str],
    rows: Value,
) {
    let session = plan_session(
        app,
        user,
        session_body(activity, starts_at, minutes, &[&user.id], invited),
    )
    .await;
    let res = put_attendance(
        app,
        user,
        session["id"].as_str().unwrap(),
        session["version"].as_i64().unwrap(),
        rows,
    )
    .await;
    assert_eq!(res.status, 200, "attendance: {}", res.text());
}

#[actix_web::test]
async fn attendance_is_summed_by_area_and_category_and_rated() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let p = participant(&app, 3, &lead, &[]).await;
    let programme = start_programme(&app, &lead, &p, "2026-02-26", 12).await;
    // Another participant in the same sessions: their rows count for their own programme only.
    let q = participant(&app, 4, &lead, &[]).await;
    let other_programme = start_programme(&app, &lead, &q, "2026-02-26", 12).await;
    let both = [p.as_str(), q.as_str()];

    // Three social sessions of 90 minutes, two vocational ones of 120, all before now (10:00 in
    // Warsaw on 2026-03-02). The participant attends the whole first one (minutes default to the
    // duration), comes late to the second for 60 minutes, misses the third, and attends both
    // vocational ones: 90 + 60 + 0 social minutes, 120 + 120 vocational, 4 of 5 rows attended.
    held(
        &app,
        &lead,
        "support_group",
        "2026-02-26T10:00:00+01:00",
        90,
        &both,
        json!([{"participant_id": p, "status": "present"},
               {"participant_id": q, "status": "absent"}]),
    )
    .await;
    held(
        &app,
        &lead,
        "psychoeducation_workshop",
        "2026-02-27T10:00:00+01:00",
        90,
        &both,
        json!([{"participant_id": p, "status": "late", "minutes": 60}]),
    )
    .await;
    held(
        &app,
        &lead,
        "support_group",
        "2026-02-28T10:00:00+01:00",
        90,
        &both,
        json!([{"participant_id": p, "status": "absent"},
               {"participant_id": q, "status": "present"}]),
    )
    .await;
    held(
        &app,
        &lead,
        "cv_workshop",
        "2026-03-01T10:00:00+01:00",
        120,
        &both,
        json!([{"participant_id": p, "status": "present"}]),
    )
    .await;
    held(
        &app,
        &lead,
        "computer_course",
        "2026-03-02T08:00:00+01:00",
        120,
        &both,
        json!([{"participant_id": p, "status": "present", "minutes": 120},
               {"participant_id": q, "status": "excused"}]),
    )
    .await;

    let s = summary(&app, &lead, &programme).await;
    assert_eq!(
        s["attended_minutes"],
        json!({"total": 390, "social": 150, "vocational": 240, "by_category": categories(&[
            ("support_group", 90), ("psychoeducation", 60), ("proactive_workshop", 120),
            ("course", 120)])})
    );
    assert_eq!(
        s["attendance_rate"],
        json!({"numerator": 4, "denominator": 5, "fraction": 0.8})
    );

    let s = summary(&app, &lead, &other_programme).await;
    assert_eq!(
        s["attended_minutes"],
        json!({"total": 90, "social": 90, "vocational": 0,
               "by_category": categories(&[("support_group", 90)])})
    );
    assert_eq!(
        s["attendance_rate"],
        json!({"numerator": 1, "denominator": 3, "fraction": 1.0 / 3.0})
    );
}
