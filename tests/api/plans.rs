//! Individual Action Plans (api.md §7, §13.5): preconditions, draft editing, activation with
//! acceptance, one active plan per programme, revisions, goal progress, actions, reviews, who
//! may, and what auditors see.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, TestApp, TestResponse, TestUser};

/// A participant in a programme with a care team of a psychologist (lead), a social worker and
/// a counsellor.
struct Case {
    lead: TestUser,
    worker: TestUser,
    counsellor: TestUser,
    participant: String,
    programme: String,
}

async fn open_case(app: &TestApp, n: u32) -> Case {
    let lead = app.user(&[Role::Psychologist]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let counsellor = app.user(&[Role::Counsellor]).await;
    let mut body = participant_body(n);
    body["care_team"] = json!([
        {"staff_id": lead.id, "lead": true},
        {"staff_id": worker.id, "lead": false},
        {"staff_id": counsellor.id, "lead": false},
    ]);
    let participant = app.register_participant(&lead, body).await;
    app.qualify(&lead, &participant).await;
    let res = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{participant}/programmes"))
                .set_json(json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"})),
        )
        .await;
    assert_eq!(res.status, 201, "start: {}", res.text());
    let programme = res.json()["id"].as_str().unwrap().to_owned();
    Case {
        lead,
        worker,
        counsellor,
        participant,
        programme,
    }
}

/// Records a general survey as `user`; finalizes it when `finalize`.
async fn diagnose(app: &TestApp, user: &TestUser, participant: &str, finalize: bool) {
    let res = app
        .call_as(
            user,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{participant}/diagnoses"))
                .set_json(
                    json!({"kind": "general_survey", "performed_on": "2026-02-27",
                                 "summary": "Housing stable, wants warehouse work"}),
                ),
        )
        .await;
    assert_eq!(res.status, 201, "diagnose: {}", res.text());
    if finalize {
        let id = res.json()["id"].as_str().unwrap().to_owned();
        let res = app
            .call_as(
                user,
                TestRequest::post().uri(&format!("/api/v1/diagnoses/{id}/finalize")),
            )
            .await;
        assert_eq!(res.status, 200, "finalize: {}", res.text());
    }
}

fn plan_body(case: &Case) -> Value {
    plan_body_for(&case.programme, &case.lead.id, &case.counsellor.id)
}

/// A plan of two goals, an action for each: the first by `social_lead`, the second by
/// `vocational_lead` (both on the care team).
pub fn plan_body_for(programme: &str, social_lead: &str, vocational_lead: &str) -> Value {
    json!({
        "programme_id": programme,
        "goals": [
            {"area": "social", "title": "Abstinence", "indicator": "Six months without relapse",
             "target_date": "2026-09-01"},
            {"area": "vocational", "title": "Warehouse work", "description": "Forklift licence first",
             "indicator": "Employment contract", "target_date": "2027-02-28"},
        ],
        "actions": [
            {"goal_index": 0, "title": "Weekly support group", "responsible_staff_id": social_lead,
             "due_date": "2026-04-01", "activity_type_code": "support_group"},
            {"goal_index": 1, "title": "CV workshop", "responsible_staff_id": vocational_lead,
             "due_date": "2026-04-15", "activity_type_code": "cv_workshop"},
        ]
    })
}

/// The plans of a participant in an open programme, made by `lead` (who may activate): an active
/// plan and a draft revision of it.
pub struct Plans {
    pub active: String,
    pub draft: String,
    pub goal: String,
    pub action: String,
}

pub async fn plans_of(app: &TestApp, lead: &TestUser, participant: &str, programme: &str) -> Plans {
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{participant}/plans"))
                .set_json(plan_body_for(programme, &lead.id, &lead.id)),
        )
        .await;
    assert_eq!(res.status, 201, "plan: {}", res.text());
    let plan = res.json();
    let res = activate(app, lead, id_of(&plan), accepted()).await;
    assert_eq!(res.status, 200, "activate: {}", res.text());
    let res = app
        .call_as(
            lead,
            TestRequest::post().uri(&format!("/api/v1/plans/{}/revise", id_of(&plan))),
        )
        .await;
    assert_eq!(res.status, 201, "revise: {}", res.text());
    Plans {
        active: id_of(&plan).to_owned(),
        draft: id_of(&res.json()).to_owned(),
        goal: id_of(&plan["goals"][0]).to_owned(),
        action: id_of(&plan["actions"][0]).to_owned(),
    }
}

async fn post_plan(app: &TestApp, user: &TestUser, case: &Case, body: Value) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{}/plans", case.participant))
            .set_json(body),
    )
    .await
}

/// A case with a final diagnosis and a draft plan; answers the plan.
async fn drafted(app: &TestApp, n: u32) -> (Case, Value) {
    let case = open_case(app, n).await;
    diagnose(app, &case.worker, &case.participant, true).await;
    let res = post_plan(app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.status, 201, "plan: {}", res.text());
    let plan = res.json();
    (case, plan)
}

async fn activate(app: &TestApp, user: &TestUser, plan: &str, body: Value) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/plans/{plan}/activate"))
            .set_json(body),
    )
    .await
}

pub fn accepted() -> Value {
    json!({"accepted_on": "2026-03-02", "accepted_by_participant": true})
}

/// A case with an active plan; answers the plan.
async fn active(app: &TestApp, n: u32) -> (Case, Value) {
    let (case, plan) = drafted(app, n).await;
    let res = activate(app, &case.lead, plan["id"].as_str().unwrap(), accepted()).await;
    assert_eq!(res.status, 200, "activate: {}", res.text());
    (case, res.json())
}

fn id_of(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn patch(
    app: &TestApp,
    user: &TestUser,
    path: &str,
    version: Option<i64>,
    body: Value,
) -> TestResponse {
    let mut req = TestRequest::patch().uri(path).set_json(body);
    if let Some(v) = version {
        req = req.insert_header(("if-match", format!("\"{v}\"")));
    }
    app.call_as(user, req).await
}

#[actix_web::test]
async fn a_plan_needs_an_open_programme_and_a_final_diagnosis() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, 1).await;
    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.problem(409, "conflict")["code"], "diagnosis_required");
    diagnose(&app, &case.worker, &case.participant, false).await;
    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "diagnosis_required",
        "a draft diagnosis is not enough"
    );
    diagnose(&app, &case.worker, &case.participant, true).await;

    let mut other_programme = plan_body(&case);
    other_programme["programme_id"] = json!(uuid::Uuid::new_v4());
    let res = post_plan(&app, &case.worker, &case, other_programme).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/programme_id".into(), "unknown".into())]
    );

    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let plan = res.json();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/plans/{}", id_of(&plan)).as_str())
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(plan["status"], "draft");
    assert_eq!(plan["version_no"], 1);
    assert_eq!(plan["goals"].as_array().unwrap().len(), 2);
    assert_eq!(plan["goals"][1]["status"], "planned");
    assert_eq!(plan["actions"][1]["goal_id"], plan["goals"][1]["id"]);
    assert_eq!(plan["actions"][1]["goal_index"], 1);

    // After the exit no new plan is drafted.
    let res = app
        .call_as(
            &case.lead,
            TestRequest::post()
                .uri(&format!("/api/v1/programmes/{}/exit", case.programme))
                .set_json(json!({"exit_date": "2026-03-02", "exit_reason": "moved"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.problem(409, "conflict")["code"], "programme_closed");
}

#[actix_web::test]
async fn bad_goals_and_actions_are_named_one_by_one() {
    let app = TestApp::spawn().await;
    let case = open_case(&app, 2).await;
    diagnose(&app, &case.worker, &case.participant, true).await;
    let outsider = app.user(&[Role::Counsellor]).await;
    let mut body = plan_body(&case);
    body["goals"][0]["area"] = json!("spiritual");
    body["goals"][1]["target_date"] = json!("2026-02-30");
    body["actions"][0]["goal_index"] = json!(2);
    body["actions"][1]["title"] = json!("");
    let res = post_plan(&app, &case.worker, &case, body).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/actions/0/goal_index".into(), "unknown_goal".into()),
            ("/actions/1/title".into(), "blank".into()),
            ("/goals/0/area".into(), "enum".into()),
            ("/goals/1/target_date".into(), "date".into()),
        ]
    );

    // Rules that need the database: the team and the dictionary.
    let mut body = plan_body(&case);
    body["actions"][0]["responsible_staff_id"] = json!(outsider.id);
    body["actions"][1]["activity_type_code"] = json!("juggling");
    let res = post_plan(&app, &case.worker, &case, body).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            (
                "/actions/0/responsible_staff_id".into(),
                "not_on_team".into()
            ),
            ("/actions/1/activity_type_code".into(), "unknown".into()),
        ]
    );
    assert_eq!(count(&mut app.conn(), "SELECT COUNT(*) AS n FROM plans"), 0);
}

#[actix_web::test]
async fn drafts_are_edited_wholesale_and_active_plans_are_not() {
    let app = TestApp::spawn().await;
    let (case, plan) = drafted(&app, 3).await;
    let path = format!("/api/v1/plans/{}", id_of(&plan));
    let one_goal = json!({"goals": [{"area": "social", "title": "Contact with daughter",
        "indicator": "Monthly visits", "target_date": "2026-12-01"}]});
    let res = patch(&app, &case.worker, &path, Some(1), one_goal.clone()).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/actions".into(), "required".into())]
    );
    patch(&app, &case.worker, &path, None, json!({"actions": []}))
        .await
        .problem(428, "precondition-required");

    let mut both = one_goal;
    both["actions"] = json!([{"goal_index": 0, "title": "Family mediation",
        "responsible_staff_id": case.worker.id, "due_date": "2026-05-01"}]);
    let res = patch(&app, &case.worker, &path, Some(1), both.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let edited = res.json();
    assert_eq!(edited["goals"].as_array().unwrap().len(), 1);
    assert_eq!(edited["actions"][0]["goal_id"], edited["goals"][0]["id"]);
    patch(&app, &case.worker, &path, Some(1), both.clone())
        .await
        .problem(412, "precondition-failed");

    // Actions alone name the draft's current goals.
    let res = patch(
        &app,
        &case.worker,
        &path,
        Some(2),
        json!({"actions": [{"goal_index": 1, "title": "x", "responsible_staff_id": case.worker.id,
                            "due_date": "2026-05-01"}]}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/actions/0/goal_index".into(), "unknown_goal".into())]
    );

    let res = activate(&app, &case.lead, id_of(&plan), accepted()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = patch(&app, &case.worker, &path, Some(3), both).await;
    assert_eq!(res.problem(409, "conflict")["code"], "plan_not_draft");
}

#[actix_web::test]
async fn activation_needs_acceptance_and_a_manager_or_the_lead() {
    let app = TestApp::spawn().await;
    let (case, plan) = drafted(&app, 4).await;
    let id = id_of(&plan);
    let res = activate(
        &app,
        &case.lead,
        id,
        json!({"accepted_on": "2026-03-03", "accepted_by_participant": false}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/accepted_by_participant".into(), "must_be_true".into()),
            ("/accepted_on".into(), "future".into()),
        ]
    );
    let res = activate(
        &app,
        &case.lead,
        id,
        json!({"accepted_on": "2026-03-01", "accepted_by_participant": true}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/accepted_on".into(), "before_start".into())]
    );
    activate(&app, &case.counsellor, id, accepted())
        .await
        .problem(403, "forbidden");

    // Progress is recorded on the active plan only.
    let goal = &plan["goals"][0];
    let res = patch(
        &app,
        &case.worker,
        &format!("/api/v1/goals/{}", id_of(goal)),
        Some(1),
        json!({"status": "in_progress"}),
    )
    .await;
    assert_eq!(res.problem(409, "conflict")["code"], "plan_not_active");

    let res = activate(&app, &case.lead, id, accepted()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let active = res.json();
    assert_eq!(active["status"], "active");
    assert_eq!(active["accepted_by_participant"], true);
    assert_eq!(
        active["next_review_on"], "2026-05-31",
        "the first review falls due review_interval_days (90) after acceptance"
    );
    let res = activate(&app, &case.lead, id, accepted()).await;
    assert_eq!(res.problem(409, "conflict")["code"], "plan_not_draft");
    assert!(app
        .audit_trail()
        .contains(&("plan.activate".into(), "allowed".into())));
}

#[actix_web::test]
async fn a_revision_supersedes_its_base_when_activated() {
    let app = TestApp::spawn().await;
    let (case, v1) = active(&app, 5).await;
    let goal = &v1["goals"][0];
    let res = patch(
        &app,
        &case.worker,
        &format!("/api/v1/goals/{}", id_of(goal)),
        Some(1),
        json!({"status": "in_progress", "progress_note": "Attends every week"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());

    // A second plan for the programme is a revision, not a new plan.
    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.problem(409, "conflict")["code"], "plan_already_active");

    let res = app
        .call_as(
            &case.counsellor,
            TestRequest::post().uri(&format!("/api/v1/plans/{}/revise", id_of(&v1))),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let v2 = res.json();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/plans/{}", id_of(&v2)).as_str())
    );
    assert_eq!(v2["version_no"], 2);
    assert_eq!(v2["status"], "draft");
    assert_eq!(v2["revises_plan_id"], v1["id"]);
    assert_ne!(v2["goals"][0]["id"], v1["goals"][0]["id"]);
    assert_eq!(v2["goals"][0]["status"], "in_progress");
    assert_eq!(
        v2["goals"][0]["history"].as_array().unwrap().len(),
        1,
        "a revision carries its goals' history"
    );
    assert_eq!(v2["actions"][1]["goal_id"], v2["goals"][1]["id"]);

    let res = activate(&app, &case.lead, id_of(&v2), accepted()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = app
        .get_as(&case.lead, &format!("/api/v1/plans/{}", id_of(&v1)))
        .await;
    assert_eq!(res.json()["status"], "superseded");
    let res = app
        .get_as(
            &case.lead,
            &format!("/api/v1/participants/{}/plans", case.participant),
        )
        .await;
    let list = res.json();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["id"], v2["id"], "newest first");
    let res = app
        .call_as(
            &case.lead,
            TestRequest::post().uri(&format!("/api/v1/plans/{}/revise", id_of(&v1))),
        )
        .await;
    assert_eq!(res.problem(409, "conflict")["code"], "plan_not_active");
}

#[actix_web::test]
async fn of_two_drafts_activated_at_once_exactly_one_becomes_active() {
    let app = TestApp::spawn().await;
    let (case, first) = drafted(&app, 6).await;
    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let second = res.json();
    let (a, b) = futures::join!(
        activate(&app, &case.lead, id_of(&first), accepted()),
        activate(&app, &case.lead, id_of(&second), accepted()),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text(), b.text());
    let loser = if a.status == 409 { &a } else { &b };
    assert_eq!(loser.json()["code"], "plan_already_active");
    assert_eq!(
        count(
            &mut app.conn(),
            "SELECT COUNT(*) AS n FROM plans WHERE status = 'active'"
        ),
        1
    );
}

#[actix_web::test]
async fn the_database_refuses_a_second_active_plan_for_a_programme() {
    let app = TestApp::spawn().await;
    let (case, first) = active(&app, 7).await;
    let _ = first;
    let res = post_plan(&app, &case.worker, &case, plan_body(&case)).await;
    assert_eq!(res.status, 409);
    // Even written behind the service's back.
    use diesel::prelude::*;
    let refused = diesel::sql_query(format!(
        "INSERT INTO plans (id, participant_id, programme_id, version_no, status, activated_at, \
         created_by, version, created_at, updated_at) VALUES ('{}', '{}', '{}', 9, 'active', \
         '2026-03-02 09:00:00', '{}', 1, '2026-03-02 09:00:00', '2026-03-02 09:00:00')",
        uuid::Uuid::new_v4(),
        case.participant,
        case.programme,
        case.lead.id
    ))
    .execute(&mut app.conn());
    assert!(refused.is_err(), "the unique index must refuse it");
}

#[actix_web::test]
async fn goal_progress_needs_its_date_and_is_kept_in_history() {
    let app = TestApp::spawn().await;
    let (case, plan) = active(&app, 8).await;
    let goal_path = format!("/api/v1/goals/{}", id_of(&plan["goals"][0]));
    let res = patch(
        &app,
        &case.worker,
        &goal_path,
        Some(1),
        json!({"status": "achieved"}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/achieved_on".into(), "required".into())]
    );
    let res = patch(
        &app,
        &case.worker,
        &goal_path,
        Some(1),
        json!({"status": "in_progress", "achieved_on": "2026-03-01"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/achieved_on".into(), "not_allowed".into())]
    );
    patch(
        &app,
        &case.worker,
        &goal_path,
        None,
        json!({"status": "achieved"}),
    )
    .await
    .problem(428, "precondition-required");
    let res = patch(
        &app,
        &case.worker,
        &goal_path,
        Some(1),
        json!({"status": "achieved", "achieved_on": "2026-03-02", "progress_note": "Sober since January"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let goal = res.json();
    assert_eq!(goal["status"], "achieved");
    assert_eq!(goal["achieved_on"], "2026-03-02");
    assert_eq!(goal["history"][0]["status"], "achieved");
    assert_eq!(goal["history"][0]["changed_by"], case.worker.id.as_str());
    patch(
        &app,
        &case.worker,
        &goal_path,
        Some(1),
        json!({"progress_note": "x"}),
    )
    .await
    .problem(412, "precondition-failed");

    // The note alone changes no status and leaves no history.
    let res = patch(
        &app,
        &case.worker,
        &goal_path,
        Some(2),
        json!({"progress_note": "Still sober"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["history"].as_array().unwrap().len(), 1);
    assert_eq!(res.json()["achieved_on"], "2026-03-02");

    let trail = app.audit_trail();
    assert!(trail.contains(&("plan_goal.achieve".into(), "allowed".into())));
    assert!(trail.contains(&("plan_goal.update".into(), "allowed".into())));

    let timeline = app
        .get_as(
            &case.lead,
            &format!("/api/v1/participants/{}/timeline", case.participant),
        )
        .await
        .json();
    let kinds: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "goal_achieved",
        "plan_activated",
        "diagnosis_finalized",
        "diagnosis_recorded",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let achieved = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "goal_achieved")
        .unwrap();
    assert_eq!(
        achieved["resource_path"],
        format!("/api/v1/plans/{}", id_of(&plan))
    );
}

#[actix_web::test]
async fn actions_are_done_on_a_date() {
    let app = TestApp::spawn().await;
    let (case, plan) = active(&app, 9).await;
    let path = format!("/api/v1/actions/{}", id_of(&plan["actions"][1]));
    let res = patch(
        &app,
        &case.counsellor,
        &path,
        Some(1),
        json!({"status": "done"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/done_on".into(), "required".into())]
    );
    let res = patch(
        &app,
        &case.counsellor,
        &path,
        Some(1),
        json!({"status": "done", "done_on": "2026-03-02"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "done");
    assert_eq!(res.json()["goal_index"], 1);
    let res = patch(
        &app,
        &case.counsellor,
        &path,
        Some(2),
        json!({"status": "cancelled"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["done_on"], Value::Null);
}

#[actix_web::test]
async fn reviews_schedule_the_next_one() {
    let app = TestApp::spawn().await;
    let (case, plan) = active(&app, 10).await;
    let path = format!("/api/v1/plans/{}/reviews", id_of(&plan));
    let review =
        |body: Value| app.call_as(&case.worker, TestRequest::post().uri(&path).set_json(body));
    let res = review(json!({"reviewed_on": "2026-03-02", "summary": "On track",
                            "next_review_on": "2026-03-02"}))
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/next_review_on".into(), "not_after_review".into())]
    );
    let res = review(json!({"reviewed_on": "2026-03-02", "summary": "On track"})).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let reviewed = res.json();
    assert_eq!(reviewed["reviews"][0]["next_review_on"], "2026-05-31");
    assert_eq!(reviewed["next_review_on"], "2026-05-31");
    let res = review(
        json!({"reviewed_on": "2026-03-02", "summary": "Closer look",
                            "next_review_on": "2026-04-01"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["next_review_on"], "2026-04-01");
    assert_eq!(res.json()["reviews"].as_array().unwrap().len(), 2);

    // Another team's plan is not this worker's to review.
    let (_, draft) = drafted(&app, 11).await;
    let res = app
        .call_as(
            &case.worker,
            TestRequest::post()
                .uri(&format!("/api/v1/plans/{}/reviews", id_of(&draft)))
                .set_json(json!({"reviewed_on": "2026-03-02", "summary": "x"})),
        )
        .await;
    assert_eq!(res.status, 404, "another team's plan is not visible");
}

#[actix_web::test]
async fn who_may_read_and_write_plans() {
    let app = TestApp::spawn().await;
    let (case, plan) = active(&app, 12).await;
    let goal_path = format!("/api/v1/goals/{}", id_of(&plan["goals"][0]));
    let res = patch(
        &app,
        &case.worker,
        &goal_path,
        Some(1),
        json!({"status": "in_progress", "progress_note": "Attends"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = app
        .call_as(
            &case.worker,
            TestRequest::post()
                .uri(&format!("/api/v1/plans/{}/reviews", id_of(&plan)))
                .set_json(json!({"reviewed_on": "2026-03-02", "summary": "Doing well"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());

    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let manager = app.user(&[Role::Manager]).await;
    let stranger = app.user(&[Role::Psychologist]).await;
    let plan_path = format!("/api/v1/plans/{}", id_of(&plan));

    let seen = app.get_as(&auditor, &plan_path).await;
    assert_eq!(seen.status, 200, "{}", seen.text());
    let seen = seen.json();
    assert_eq!(seen["goals"][0]["status"], "in_progress");
    assert_eq!(seen["goals"][0]["progress_note"], Value::Null);
    assert_eq!(seen["reviews"][0]["summary"], Value::Null);
    let seen = app.get_as(&manager, &plan_path).await.json();
    assert_eq!(seen["goals"][0]["progress_note"], "Attends");
    assert_eq!(seen["reviews"][0]["summary"], "Doing well");

    app.get_as(&admin, &plan_path)
        .await
        .problem(403, "forbidden");
    app.get_as(&stranger, &plan_path)
        .await
        .problem(404, "not-found");
    patch(
        &app,
        &stranger,
        &goal_path,
        Some(2),
        json!({"status": "abandoned"}),
    )
    .await
    .problem(404, "not-found");

    // A role that never writes plans is refused whatever the id, even one that names nothing.
    let nothing = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/plans/{nothing}/revise"),
        format!("/api/v1/plans/{nothing}/activate"),
    ] {
        app.call_as(
            &auditor,
            TestRequest::post().uri(&path).set_json(accepted()),
        )
        .await
        .problem(403, "forbidden");
    }
    patch(
        &app,
        &auditor,
        &format!("/api/v1/goals/{nothing}"),
        Some(1),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    app.get_as(&admin, &format!("/api/v1/plans/{nothing}"))
        .await
        .problem(403, "forbidden");

    // A manager drafts and activates without being on the team.
    let res = app
        .call_as(
            &manager,
            TestRequest::post().uri(&format!("/api/v1/plans/{}/revise", id_of(&plan))),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let res = activate(&app, &manager, id_of(&res.json()), accepted()).await;
    assert_eq!(res.status, 200, "{}", res.text());

    let reads = count(
        &mut app.conn(),
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'plan.read' AND outcome = 'allowed'",
    );
    assert_eq!(reads, 2, "each read of a plan is audited");
}
