//! The worklist (api.md §8, §13.5): every kind on a prepared day, its windows and boundaries,
//! the caller's scope (care teams, responsibility, facilitation), anonymised participants left
//! out, the order, the `kind` filter, pagination, and who may read it.

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{participant_body, TestApp, TestUser};
use crate::consents::{consent_body, record_consent};
use crate::sessions::{plan as plan_session, put_attendance, session_body};

/// Registers participant `n` with `lead` as the lead and `members` beside them, qualified.
pub async fn participant(app: &TestApp, n: u32, lead: &TestUser, members: &[&TestUser]) -> String {
    let mut body = participant_body(n);
    let mut team = vec![json!({"staff_id": lead.id, "lead": true})];
    team.extend(
        members
            .iter()
            .map(|m| json!({"staff_id": m.id, "lead": false})),
    );
    body["care_team"] = Value::Array(team);
    let id = app.register_participant(lead, body).await;
    app.qualify(lead, &id).await;
    id
}

/// Starts a programme; answers its id.
pub async fn start_programme(
    app: &TestApp,
    lead: &TestUser,
    participant: &str,
    start_date: &str,
    planned_months: u32,
) -> String {
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{participant}/programmes"))
                .set_json(
                    json!({"start_date": start_date, "planned_months": planned_months,
                                 "basis": "kontrakt_socjalny"}),
                ),
        )
        .await;
    assert_eq!(res.status, 201, "start: {}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

/// An action of a plan body: `(responsible staff, due date)` for goal 0.
fn action(title: &str, responsible: &TestUser, due: &str) -> Value {
    json!({"goal_index": 0, "title": title, "responsible_staff_id": responsible.id,
           "due_date": due})
}

/// Creates a plan with one social goal and `actions` and activates it (accepted 2026-03-02, so
/// the first review falls due 90 days later, on 2026-05-31); answers the active plan.
pub async fn active_plan(
    app: &TestApp,
    lead: &TestUser,
    participant: &str,
    programme: &str,
    actions: Vec<Value>,
) -> Value {
    crate::diagnoses::record_final_diagnosis(app, lead, participant, "general_survey").await;
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{participant}/plans"))
                .set_json(json!({
                    "programme_id": programme,
                    "goals": [{"area": "social", "title": "Abstinence",
                               "indicator": "Six months without relapse",
                               "target_date": "2026-09-01"}],
                    "actions": actions,
                })),
        )
        .await;
    assert_eq!(res.status, 201, "plan: {}", res.text());
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/plans/{id}/activate"))
                .set_json(crate::plans::accepted()),
        )
        .await;
    assert_eq!(res.status, 200, "activate: {}", res.text());
    res.json()
}

/// Plans a session through the API: a 90-minute `support_group` at 10:00 Warsaw time on
/// `day`, titled `title`, facilitated by `facilitators`, `invited` invited; answers it.
async fn session(
    app: &TestApp,
    creator: &TestUser,
    day: &str,
    title: &str,
    facilitators: &[&TestUser],
    invited: &[&str],
) -> Value {
    let ids: Vec<&str> = facilitators.iter().map(|f| f.id.as_str()).collect();
    let starts_at = format!("{day}T10:00:00+02:00");
    let mut body = session_body("support_group", &starts_at, 90, &ids, invited);
    body["title"] = json!(title);
    plan_session(app, creator, body).await
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// `(kind, due_on, participant_id, resource_path, summary)` of each item.
type Row = (String, String, Option<String>, String, String);

fn rows(page: &Value) -> Vec<Row> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["due_on"].as_str().unwrap().to_owned(),
                i["participant_id"].as_str().map(str::to_owned),
                i["resource_path"].as_str().unwrap().to_owned(),
                i["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(kind: &str, due: &str, participant: Option<&str>, path: String, summary: &str) -> Row {
    (
        kind.into(),
        due.into(),
        participant.map(str::to_owned),
        path,
        summary.into(),
    )
}

async fn worklist(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let res = app.get_as(user, &format!("/api/v1/worklist{query}")).await;
    assert_eq!(res.status, 200, "worklist: {}", res.text());
    res.json()
}

/// The prepared club. Case data set up on 2026-03-02, sessions planned and read on Thursday 2026-05-28 (so the week window
/// ends 2026-06-04, the month window 2026-06-27, the session window starts 2026-04-28).
struct Club {
    psychologist: TestUser,
    counsellor: TestUser,
    outsider: TestUser,
    first: String,
    exited: String,
    outsiders_participant: String,
    plan: String,
    actions: Vec<String>,
    programme: String,
    outsiders_programme: String,
    consent_soon: String,
    consent_today: String,
    follow_up: String,
    session_yesterday: String,
    session_window_start: String,
    counsellors_session: String,
}

async fn prepare(app: &TestApp) -> Club {
    let psychologist = app.user(&[Role::Psychologist]).await;
    let counsellor = app.user(&[Role::Counsellor]).await;
    let outsider = app.user(&[Role::Psychologist]).await;

    // The first participant: a 3-month programme (ends 2026-06-01), an active plan.
    let first = participant(app, 1, &psychologist, &[&counsellor]).await;
    let programme = start_programme(app, &psychologist, &first, "2026-03-02", 3).await;
    let plan = active_plan(
        app,
        &psychologist,
        &first,
        &programme,
        vec![
            action("Weekly support group", &psychologist, "2026-04-01"), // overdue
            action("CV workshop", &counsellor, "2026-04-15"),            // the counsellor's
            action("Housing application", &psychologist, "2026-06-04"),  // today + 7
            action("Debt counselling", &psychologist, "2026-06-05"),     // today + 8
            action("Medical check", &psychologist, "2026-05-01"),        // done below
        ],
    )
    .await;
    let plan_id = plan["id"].as_str().unwrap().to_owned();
    let actions: Vec<String> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    let res = app
        .call_as(
            &psychologist,
            TestRequest::patch()
                .uri(&format!("/api/v1/actions/{}", actions[4]))
                .insert_header(("if-match", format!("\"{}\"", plan["actions"][4]["version"])))
                .set_json(json!({"status": "done", "done_on": "2026-03-02"})),
        )
        .await;
    assert_eq!(res.status, 200, "action done: {}", res.text());
    // A draft revision copies the open actions; drafts are not worked on.
    let res = app
        .call_as(
            &psychologist,
            TestRequest::post().uri(&format!("/api/v1/plans/{plan_id}/revise")),
        )
        .await;
    assert_eq!(res.status, 201, "revise: {}", res.text());

    // Consents of the first participant.
    let expiring = |purpose: &str, expires: &str| {
        let mut body = consent_body(purpose, "2026-03-01");
        body["expires_on"] = json!(expires);
        body
    };
    let consent_soon = record_consent(
        app,
        &psychologist,
        &first,
        expiring("contact_after_exit", "2026-06-10"),
    )
    .await;
    let consent_today =
        record_consent(app, &psychologist, &first, expiring("image", "2026-05-28")).await;
    record_consent(
        app,
        &psychologist,
        &first,
        expiring("share_with_pup", "2026-05-27"),
    )
    .await;
    record_consent(
        app,
        &psychologist,
        &first,
        expiring("share_with_employer", "2026-06-28"),
    )
    .await;
    record_consent(
        app,
        &psychologist,
        &first,
        consent_body("share_with_ops", "2026-03-01"),
    )
    .await;
    let withdrawn = record_consent(app, &psychologist, &first, {
        let mut body = expiring("other", "2026-06-10");
        body["description"] = json!("Photos in the club's newsletter");
        body
    })
    .await;
    let res = app
        .call_as(
            &psychologist,
            TestRequest::post()
                .uri(&format!("/api/v1/consents/{withdrawn}/withdraw"))
                .set_json(json!({"withdrawn_on": "2026-03-02", "note": "Changed mind"})),
        )
        .await;
    assert_eq!(res.status, 200, "withdraw: {}", res.text());

    // The second participant left on 2026-03-02: follow-ups on 2026-06-02, 09-02, 2027-03-02.
    let exited = participant(app, 2, &psychologist, &[]).await;
    let exited_programme = start_programme(app, &psychologist, &exited, "2026-02-26", 12).await;
    let res = app
        .call_as(
            &psychologist,
            TestRequest::post()
                .uri(&format!("/api/v1/programmes/{exited_programme}/exit"))
                .set_json(json!({"exit_date": "2026-03-02", "exit_reason": "completed"})),
        )
        .await;
    assert_eq!(res.status, 200, "exit: {}", res.text());
    let res = app
        .get_as(
            &psychologist,
            &format!("/api/v1/participants/{exited}/follow-ups"),
        )
        .await;
    let follow_ups = res.json();
    assert_eq!(
        follow_ups["items"][0]["due_on"], "2026-06-02",
        "{follow_ups}"
    );
    let follow_up = follow_ups["items"][0]["id"].as_str().unwrap().to_owned();

    // The third participant is anonymised: their expiring consent and their programme's end
    // never show.
    let anonymised = participant(app, 3, &psychologist, &[]).await;
    start_programme(app, &psychologist, &anonymised, "2026-03-02", 3).await;
    record_consent(
        app,
        &psychologist,
        &anonymised,
        expiring("contact_after_exit", "2026-06-10"),
    )
    .await;
    diesel::sql_query(format!(
        "UPDATE participants SET status = 'anonymised' WHERE id = '{anonymised}'"
    ))
    .execute(&mut app.conn())
    .expect("anonymise");

    // The outsider's own participant, ending on 2026-06-01 too.
    let outsiders_participant = participant(app, 4, &outsider, &[]).await;
    let outsiders_programme =
        start_programme(app, &outsider, &outsiders_participant, "2026-03-02", 3).await;

    // Thursday 2026-05-28, 23:30 Warsaw time (21:30 UTC): still the 28th in Warsaw.
    let (mut psychologist, mut counsellor, mut outsider) = (psychologist, counsellor, outsider);
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 5, 28, 21, 30, 0).unwrap(),
        &mut [&mut psychologist, &mut counsellor, &mut outsider],
    )
    .await;

    // Sessions around the day, planned and recorded through the API.
    let me = &psychologist;
    let yesterday = session(app, me, "2026-05-27", "Support group", &[me], &[]).await;
    let recorded = session(app, me, "2026-05-28", "Recorded group", &[me], &[&first]).await;
    let res = put_attendance(
        app,
        me,
        &id_of(&recorded),
        recorded["version"].as_i64().unwrap(),
        json!([{"participant_id": first, "status": "present"}]),
    )
    .await;
    assert_eq!(res.status, 200, "attendance: {}", res.text());
    let cancelled = session(app, me, "2026-05-26", "Cancelled group", &[me], &[]).await;
    let res = app
        .call_as(
            me,
            TestRequest::post()
                .uri(&format!("/api/v1/sessions/{}/cancel", id_of(&cancelled)))
                .set_json(json!({"reason": "Facilitator ill"})),
        )
        .await;
    assert_eq!(res.status, 200, "cancel: {}", res.text());
    session(app, me, "2026-04-27", "Long ago", &[me], &[]).await;
    let window_start = session(app, me, "2026-04-28", "Thirty days ago", &[me], &[]).await;
    session(app, me, "2026-05-29", "Tomorrow", &[me], &[]).await;
    let counsellors = session(app, me, "2026-05-27", "CV clinic", &[&counsellor], &[]).await;

    Club {
        psychologist,
        counsellor,
        outsider,
        first,
        exited,
        outsiders_participant,
        plan: plan_id,
        actions,
        programme,
        outsiders_programme,
        consent_soon,
        consent_today,
        follow_up,
        session_yesterday: id_of(&yesterday),
        session_window_start: id_of(&window_start),
        counsellors_session: id_of(&counsellors),
    }
}

#[actix_web::test]
async fn a_clinician_sees_what_is_due_on_their_teams_in_order() {
    let app = TestApp::spawn().await;
    let mut c = prepare(&app).await;
    let page = worklist(&app, &c.psychologist, "").await;
    let first = Some(c.first.as_str());
    let expected = vec![
        row(
            "action_due",
            "2026-04-01",
            first,
            format!("/api/v1/plans/{}#{}", c.plan, c.actions[0]),
            "IPD action overdue: Weekly support group",
        ),
        row(
            "attendance_missing",
            "2026-04-28",
            None,
            format!("/api/v1/sessions/{}", c.session_window_start),
            "Attendance not recorded: Thirty days ago",
        ),
        row(
            "attendance_missing",
            "2026-05-27",
            None,
            format!("/api/v1/sessions/{}", c.session_yesterday),
            "Attendance not recorded: Support group",
        ),
        row(
            "consent_expiring",
            "2026-05-28",
            first,
            format!("/api/v1/consents/{}", c.consent_today),
            "Consent (image) expires",
        ),
        row(
            "review_due",
            "2026-05-31",
            first,
            format!("/api/v1/plans/{}", c.plan),
            "IPD review due",
        ),
        row(
            "programme_ending",
            "2026-06-01",
            first,
            format!("/api/v1/programmes/{}", c.programme),
            "Programme reaches its planned end",
        ),
        row(
            "follow_up_due",
            "2026-06-02",
            Some(c.exited.as_str()),
            format!(
                "/api/v1/participants/{}/follow-ups#{}",
                c.exited, c.follow_up
            ),
            "Follow-up 3 months after exit due",
        ),
        row(
            "action_due",
            "2026-06-04",
            first,
            format!("/api/v1/plans/{}#{}", c.plan, c.actions[2]),
            "IPD action due: Housing application",
        ),
        row(
            "consent_expiring",
            "2026-06-10",
            first,
            format!("/api/v1/consents/{}", c.consent_soon),
            "Consent (contact_after_exit) expires",
        ),
    ];
    assert_eq!(rows(&page), expected);
    assert_eq!(
        (
            page["page"].clone(),
            page["per_page"].clone(),
            page["total"].clone()
        ),
        (json!(1), json!(50), json!(9))
    );

    // Pages cut the same order; a page past the end is empty.
    let second = worklist(&app, &c.psychologist, "?per_page=2&page=2").await;
    assert_eq!(rows(&second), expected[2..4].to_vec());
    assert_eq!(second["total"], 9);
    let beyond = worklist(&app, &c.psychologist, "?per_page=50&page=2").await;
    assert_eq!(rows(&beyond), vec![]);
    assert_eq!(beyond["total"], 9);

    // One kind.
    let consents = worklist(&app, &c.psychologist, "?kind=consent_expiring").await;
    assert_eq!(
        rows(&consents),
        vec![expected[3].clone(), expected[8].clone()]
    );
    assert_eq!(consents["total"], 2);

    // Overdue reviews stay until reviewed; the week window moves with the day.
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap(),
        &mut [&mut c.psychologist],
    )
    .await;
    let reviews = worklist(&app, &c.psychologist, "?kind=review_due").await;
    assert_eq!(
        rows(&reviews),
        vec![row(
            "review_due",
            "2026-05-31",
            first,
            format!("/api/v1/plans/{}", c.plan),
            "IPD review overdue"
        )]
    );
    let actions = worklist(&app, &c.psychologist, "?kind=action_due").await;
    assert_eq!(
        rows(&actions).into_iter().map(|r| r.3).collect::<Vec<_>>(),
        vec![
            format!("/api/v1/plans/{}#{}", c.plan, c.actions[0]),
            format!("/api/v1/plans/{}#{}", c.plan, c.actions[2]),
            format!("/api/v1/plans/{}#{}", c.plan, c.actions[3]),
        ],
        "the action due on 2026-06-05 is within the week from 2026-06-01"
    );

    // Each read is audited as one worklist.read.
    let reads = crate::consents::audit_rows(&app, "worklist.read");
    assert_eq!(reads.len(), 6);
    assert_eq!(reads[0].0, None, "the event names no participant");
    assert_eq!(
        reads[0].3,
        Some(json!({"kind": null, "rows": 9, "total": 9}))
    );
    assert_eq!(
        reads[3].3,
        Some(json!({"kind": "consent_expiring", "rows": 2, "total": 2}))
    );
}

#[actix_web::test]
async fn each_caller_sees_only_their_own_items() {
    let app = TestApp::spawn().await;
    let c = prepare(&app).await;
    let first = Some(c.first.as_str());

    // The counsellor is on the first participant's team only and responsible for one action.
    let page = worklist(&app, &c.counsellor, "").await;
    assert_eq!(
        rows(&page),
        vec![
            row(
                "action_due",
                "2026-04-15",
                first,
                format!("/api/v1/plans/{}#{}", c.plan, c.actions[1]),
                "IPD action overdue: CV workshop",
            ),
            row(
                "attendance_missing",
                "2026-05-27",
                None,
                format!("/api/v1/sessions/{}", c.counsellors_session),
                "Attendance not recorded: CV clinic",
            ),
            row(
                "consent_expiring",
                "2026-05-28",
                first,
                format!("/api/v1/consents/{}", c.consent_today),
                "Consent (image) expires",
            ),
            row(
                "review_due",
                "2026-05-31",
                first,
                format!("/api/v1/plans/{}", c.plan),
                "IPD review due",
            ),
            row(
                "programme_ending",
                "2026-06-01",
                first,
                format!("/api/v1/programmes/{}", c.programme),
                "Programme reaches its planned end",
            ),
            row(
                "consent_expiring",
                "2026-06-10",
                first,
                format!("/api/v1/consents/{}", c.consent_soon),
                "Consent (contact_after_exit) expires",
            ),
        ]
    );

    // A clinician on none of those teams sees none of those items, only their own.
    let page = worklist(&app, &c.outsider, "").await;
    assert_eq!(
        rows(&page),
        vec![row(
            "programme_ending",
            "2026-06-01",
            Some(c.outsiders_participant.as_str()),
            format!("/api/v1/programmes/{}", c.outsiders_programme),
            "Programme reaches its planned end",
        )]
    );

    // A manager without a clinical role sits on no care team: only the sessions they facilitate.
    let manager = app.user(&[Role::Manager]).await;
    let page = worklist(&app, &manager, "").await;
    assert_eq!(
        page,
        json!({"items": [], "page": 1, "per_page": 50, "total": 0})
    );
    let own = session(
        &app,
        &manager,
        "2026-05-28",
        "Club meeting",
        &[&manager],
        &[],
    )
    .await;
    let page = worklist(&app, &manager, "").await;
    assert_eq!(
        rows(&page),
        vec![row(
            "attendance_missing",
            "2026-05-28",
            None,
            format!("/api/v1/sessions/{}", id_of(&own)),
            "Attendance not recorded: Club meeting",
        )]
    );
}

#[actix_web::test]
async fn admins_and_auditors_have_no_worklist_and_anonymous_callers_none_at_all() {
    let app = TestApp::spawn().await;
    for role in [Role::Admin, Role::Auditor] {
        let user = app.user(&[role]).await;
        app.get_as(&user, "/api/v1/worklist")
            .await
            .problem(403, "forbidden");
    }
    let denied: Vec<_> = app
        .audit_trail()
        .into_iter()
        .filter(|(a, _)| a == "worklist.read")
        .collect();
    assert_eq!(
        denied,
        vec![
            ("worklist.read".to_owned(), "denied".to_owned()),
            ("worklist.read".to_owned(), "denied".to_owned()),
        ]
    );
    app.get("/api/v1/worklist")
        .await
        .problem(401, "unauthorized");
}

#[actix_web::test]
async fn query_parameters_are_checked() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::SocialWorker]).await;
    let res = app
        .get_as(&user, "/api/v1/worklist?kind=coffee&colour=red&per_page=0")
        .await;
    res.problem(400, "malformed-request");
    assert_eq!(
        res.field_errors(),
        vec![
            ("kind".to_owned(), "invalid".to_owned()),
            ("per_page".to_owned(), "invalid".to_owned()),
            ("colour".to_owned(), "unknown".to_owned()),
        ]
    );
    let page = worklist(&app, &user, "?kind=attendance_missing&page=3").await;
    assert_eq!(
        page,
        json!({"items": [], "page": 3, "per_page": 50, "total": 0})
    );
}
