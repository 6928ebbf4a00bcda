//! The case around the record: risk groups, qualification, re-referral, care teams and
//! caseload reassignment (api.md §5, §13.4).

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{participant_body, TestApp, TestResponse, TestUser};

async fn put(
    app: &TestApp,
    user: &TestUser,
    path: String,
    etag: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut req = TestRequest::put().uri(&path).set_json(body);
    if let Some(tag) = etag {
        req = req.insert_header(("if-match", tag.to_owned()));
    }
    app.call_as(user, req).await
}

async fn qualification(app: &TestApp, user: &TestUser, id: &str, body: Value) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{id}/qualification"))
            .set_json(body),
    )
    .await
}

#[actix_web::test]
async fn risk_groups_are_replaced_under_the_participants_etag() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, participant_body(30))
        .await;
    let path = format!("/api/v1/participants/{id}/risk-groups");
    let body = json!([
        {"code": "long_term_unemployed", "evidence": "PUP certificate 12/2026", "evidence_date": "2026-02-10"},
        {"code": "alcohol_after_therapy", "evidence": "Treatment centre certificate 7/2025"}
    ]);
    put(&app, &worker, path.clone(), None, body.clone())
        .await
        .problem(428, "precondition-required");
    let res = put(&app, &worker, path.clone(), Some("\"1\""), body.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let list = res.json();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["code"], "alcohol_after_therapy");
    put(&app, &worker, path.clone(), Some("\"1\""), body)
        .await
        .problem(412, "precondition-failed");

    let bad = put(
        &app,
        &worker,
        path.clone(),
        Some("\"2\""),
        json!([{"code": "astronauts", "evidence": "x"}, {"code": "disability", "evidence_date": "2030-01-01"}]),
    )
    .await;
    bad.problem(422, "validation");
    let mut fields = bad.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/1/evidence".to_string(), "required".to_string()),
            ("/1/evidence_date".to_string(), "future".to_string())
        ],
        "every rule of the body first; membership (which needs the database) after"
    );
    let bad = put(
        &app,
        &worker,
        path.clone(),
        Some("\"2\""),
        json!([{"code": "astronauts", "evidence": "x"}, {"code": "disability", "evidence": "y"}, {"code": "astronauts", "evidence": "z"}]),
    )
    .await;
    let mut fields = bad.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/0/code".to_string(), "unknown".to_string()),
            ("/2/code".to_string(), "duplicate".to_string()),
            ("/2/code".to_string(), "unknown".to_string())
        ]
    );
    assert!(app
        .audit_trail()
        .contains(&("participant.risk_groups_update".into(), "allowed".into())));
}

#[actix_web::test]
async fn qualification_follows_the_rules_and_only_from_referred() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let member = app.user(&[Role::Psychologist]).await;
    let mut body = participant_body(31);
    body["care_team"] = json!([{"staff_id": member.id}]);
    body["risk_groups"] = json!([]);
    let id = app.register_participant(&lead, body).await;

    // Only the lead (or a manager) decides; a plain team member sees the participant: 403.
    qualification(
        &app,
        &member,
        &id,
        json!({"decision": "qualified", "decided_on": "2026-02-25"}),
    )
    .await
    .problem(403, "forbidden");
    let res = qualification(
        &app,
        &lead,
        &id,
        json!({"decision": "qualified", "decided_on": "2026-02-25"}),
    )
    .await;
    assert_eq!(res.problem(409, "conflict")["code"], "risk_group_missing");
    let res = qualification(
        &app,
        &lead,
        &id,
        json!({"decision": "rejected", "decided_on": "2026-02-25"}),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/reason".into(), "required".into())]
    );
    for (decided_on, code) in [("2026-02-19", "range"), ("2026-03-03", "future")] {
        let res = qualification(
            &app,
            &lead,
            &id,
            json!({"decision": "rejected", "decided_on": decided_on, "reason": "r"}),
        )
        .await;
        assert_eq!(
            res.field_errors(),
            vec![("/decided_on".into(), code.into())],
            "{decided_on}"
        );
    }
    let res = qualification(&app, &lead, &id, json!({"decision": "rejected", "decided_on": "2026-02-25", "reason": "Not in a risk group"})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "rejected");
    let again = qualification(
        &app,
        &lead,
        &id,
        json!({"decision": "qualified", "decided_on": "2026-02-26"}),
    )
    .await;
    assert_eq!(
        again.problem(409, "conflict")["code"],
        "participant_not_referred"
    );

    // A new referral brings a rejected participant back, keeping the history.
    let res = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{id}/referrals"))
                .set_json(
                    json!({"source": "pup", "reference": "PUP/9", "referred_on": "2026-03-01"}),
                ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["status"], "referred");
    assert_eq!(res.json()["referral"]["source"], "pup");
    let twice = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{id}/referrals"))
                .set_json(json!({"source": "pup", "referred_on": "2026-03-01"})),
        )
        .await;
    assert_eq!(
        twice.problem(409, "conflict")["code"],
        "participant_not_closed"
    );
    let etag = app
        .get_as(&lead, &format!("/api/v1/participants/{id}"))
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let res = put(
        &app,
        &lead,
        format!("/api/v1/participants/{id}/risk-groups"),
        Some(&etag),
        json!([{"code": "homeless_exit_programme", "evidence": "Exit programme no 3/2026"}]),
    )
    .await;
    assert_eq!(res.status, 200);
    let res = qualification(
        &app,
        &lead,
        &id,
        json!({"decision": "qualified", "decided_on": "2026-03-02"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "qualified");
}

#[actix_web::test]
async fn the_care_team_has_exactly_one_lead_of_active_clinicians() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let psych = app.user(&[Role::Psychologist]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let id = app.register_participant(&lead, participant_body(32)).await;
    let path = format!("/api/v1/participants/{id}/care-team");

    let team = app.get_as(&lead, &path).await;
    assert_eq!(team.status, 200);
    assert_eq!(team.json()["total"], 1);
    assert_eq!(team.json()["items"][0]["lead"], true);
    assert!(team.json()["items"][0]["full_name"].is_string());

    for (body, field, code) in [
        (
            json!([{"staff_id": lead.id}, {"staff_id": psych.id}]),
            "",
            "lead",
        ),
        (
            json!([{"staff_id": lead.id, "lead": true}, {"staff_id": psych.id, "lead": true}]),
            "",
            "lead",
        ),
        (
            json!([{"staff_id": lead.id, "lead": true}, {"staff_id": auditor.id}]),
            "/1/staff_id",
            "not_clinical",
        ),
        (
            json!([{"staff_id": lead.id, "lead": true}, {"staff_id": lead.id}]),
            "/1/staff_id",
            "duplicate",
        ),
    ] {
        let res = put(&app, &lead, path.clone(), Some("\"1\""), body).await;
        assert_eq!(
            res.field_errors(),
            vec![(field.to_string(), code.to_string())]
        );
    }
    // The lead hands over and stays a member.
    let res = put(
        &app,
        &lead,
        path.clone(),
        Some("\"1\""),
        json!([{"staff_id": lead.id}, {"staff_id": psych.id, "lead": true}]),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["items"][0]["staff_id"], psych.id);
    // No longer the lead: may not assign the team any more.
    put(
        &app,
        &lead,
        path.clone(),
        Some("\"2\""),
        json!([{"staff_id": lead.id, "lead": true}]),
    )
    .await
    .problem(403, "forbidden");
    assert!(app
        .audit_trail()
        .contains(&("care_team.update".into(), "allowed".into())));
}

#[actix_web::test]
async fn a_leaving_staff_members_caseload_moves_in_one_go() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let leaving = app.user(&[Role::Counsellor]).await;
    let successor = app.user(&[Role::Counsellor]).await;
    let a = app
        .register_participant(&leaving, participant_body(33))
        .await;
    let mut body = participant_body(34);
    body["care_team"] = json!([{"staff_id": successor.id, "lead": true}]);
    let b = app.register_participant(&leaving, body).await;
    let untouched = app
        .register_participant(&successor, participant_body(35))
        .await;

    let path = format!("/api/v1/staff/{}/reassign-caseload", leaving.id);
    let bad = app
        .call_as(
            &manager,
            TestRequest::post()
                .uri(&path)
                .set_json(json!({"to_staff_id": manager.id})),
        )
        .await;
    assert_eq!(
        bad.field_errors(),
        vec![("/to_staff_id".into(), "not_clinical".into())]
    );
    app.call_as(
        &successor,
        TestRequest::post()
            .uri(&path)
            .set_json(json!({"to_staff_id": successor.id})),
    )
    .await
    .problem(403, "forbidden");
    let res = app
        .call_as(
            &manager,
            TestRequest::post()
                .uri(&path)
                .set_json(json!({"to_staff_id": successor.id})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["moved"], 2);

    let team_a = app
        .get_as(&manager, &format!("/api/v1/participants/{a}/care-team"))
        .await
        .json();
    assert_eq!(
        team_a["items"],
        json!([{"staff_id": successor.id, "full_name": team_a["items"][0]["full_name"], "lead": true}])
    );
    let team_b = app
        .get_as(&manager, &format!("/api/v1/participants/{b}/care-team"))
        .await;
    assert_eq!(team_b.json()["total"], 1, "merged: {}", team_b.text());
    assert_eq!(team_b.header("etag"), Some("\"2\""), "version bumped");
    assert_eq!(
        app.get_as(&manager, &format!("/api/v1/participants/{untouched}"))
            .await
            .header("etag"),
        Some("\"1\"")
    );
    assert_eq!(
        app.get_as(&leaving, "/api/v1/participants").await.json()["total"],
        0
    );
    let events = app
        .audit_trail()
        .iter()
        .filter(|(a, o)| a == "staff.reassign_caseload" && o == "allowed")
        .count();
    assert_eq!(events, 2, "one per participant");
}

#[actix_web::test]
async fn the_timeline_tells_the_story_newest_first_and_hides_what_the_reader_may_not_see() {
    use reintegra::audit::{self, AuditAction, AuditOutcome, NewEvent};
    use reintegra::http::{AppError, RequestContext};

    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let psych = app.user(&[Role::Psychologist]).await;
    let outsider = app.user(&[Role::Psychologist]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let id = app.register_participant(&lead, participant_body(40)).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let res = put(
        &app,
        &lead,
        format!("/api/v1/participants/{id}/care-team"),
        Some("\"1\""),
        json!([{"staff_id": lead.id, "lead": true}, {"staff_id": psych.id}]),
    )
    .await;
    assert_eq!(res.status, 200);
    app.clock.advance(chrono::Duration::minutes(1));
    app.qualify(&lead, &id).await;

    // Note entries as the notes feature records them: a team note and a psychologist-only one.
    let now = reintegra::clock::Clock::now(&app.clock);
    for confidentiality in ["team", "psychologist"] {
        let event = NewEvent::new(AuditAction::NoteCreate, AuditOutcome::Allowed, None)
            .entity("note", uuid::Uuid::new_v4().to_string())
            .participant(id.clone())
            .details(json!({ "confidentiality": confidentiality }));
        let ctx = RequestContext {
            request_id: "t".into(),
            ip: None,
        };
        app.state
            .db
            .write_blocking(|conn| audit::record(conn, now, &ctx, event).map_err(AppError::from))
            .unwrap();
    }

    let path = format!("/api/v1/participants/{id}/timeline");
    let kinds = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    let for_psych = app.get_as(&psych, &path).await;
    assert_eq!(for_psych.status, 200, "{}", for_psych.text());
    assert_eq!(
        kinds(for_psych.json()),
        vec![
            "note",
            "note",
            "qualification",
            "care_team_changed",
            "referral"
        ]
    );
    let first = &for_psych.json()["items"][2];
    assert_eq!(first["summary"], "Qualification decision (qualified)");
    assert_eq!(first["resource_path"], format!("/api/v1/participants/{id}"));
    assert!(first["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        for_psych.json()["items"][4]["summary"],
        "Registered on referral (ops)"
    );

    assert_eq!(
        kinds(app.get_as(&lead, &path).await.json()),
        vec!["note", "qualification", "care_team_changed", "referral"]
    );
    assert_eq!(
        kinds(app.get_as(&auditor, &path).await.json()),
        vec!["qualification", "care_team_changed", "referral"]
    );
    app.get_as(&outsider, &path).await.problem(404, "not-found");
    let paged = app
        .get_as(&psych, &format!("{path}?per_page=2&page=2"))
        .await
        .json();
    assert_eq!(
        (paged["total"].clone(), kinds(paged)),
        (
            json!(5),
            vec!["qualification".to_string(), "care_team_changed".to_string()]
        )
    );
    assert!(app
        .audit_trail()
        .contains(&("participant.timeline_read".into(), "allowed".into())));
}

#[actix_web::test]
async fn notes_and_consents_written_through_the_api_reach_the_timeline_with_their_confidentiality()
{
    let app = TestApp::spawn().await;
    let psych = app.user(&[Role::Psychologist]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(41);
    body["care_team"] = json!([{"staff_id": worker.id}]);
    let id = app.register_participant(&psych, body).await;
    crate::notes::write_note(
        &app,
        &psych,
        &id,
        "Findings stay with psychologists",
        "psychologist",
    )
    .await;
    crate::notes::write_note(&app, &worker, &id, "Met at the OPS", "team").await;
    crate::consents::record_consent(
        &app,
        &worker,
        &id,
        crate::consents::consent_body("image", "2026-02-01"),
    )
    .await;

    let path = format!("/api/v1/participants/{id}/timeline");
    let entries = |v: Value| -> Vec<(String, String)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_owned(),
                    e["summary"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let for_psych = entries(app.get_as(&psych, &path).await.json());
    assert_eq!(for_psych.len(), 4, "{for_psych:?}");
    assert!(for_psych.contains(&("note".into(), "Case note added (psychologist)".into())));
    let for_worker = entries(app.get_as(&worker, &path).await.json());
    assert_eq!(
        for_worker,
        vec![
            (
                "consent_granted".to_string(),
                "Consent granted (image)".to_string()
            ),
            ("note".to_string(), "Case note added (team)".to_string()),
            (
                "referral".to_string(),
                "Registered on referral (ops)".to_string()
            ),
        ]
    );
    let text = app.get_as(&psych, &path).await.text();
    assert!(
        !text.contains("Findings") && !text.contains("OPS\""),
        "no free text in the timeline"
    );
}

#[actix_web::test]
async fn two_concurrent_decisions_on_one_referral_cannot_both_win() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let manager = app.user(&[Role::Manager]).await;
    let id = app.register_participant(&lead, participant_body(54)).await;
    let (a, b) = futures::join!(
        qualification(
            &app,
            &lead,
            &id,
            json!({"decision": "qualified", "decided_on": "2026-02-25"})
        ),
        qualification(
            &app,
            &manager,
            &id,
            json!({"decision": "rejected", "decided_on": "2026-02-25", "reason": "Not eligible"})
        ),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text(), b.text());
    let decisions =
        crate::common::count(&mut app.conn(), "SELECT COUNT(*) AS n FROM qualifications");
    assert_eq!(decisions, 1, "the loser's decision row rolled back");
}

/// A body names at most 20 risk groups and 30 care-team members (422 `count` at the list), so
/// the checks behind them stay bounded.
#[actix_web::test]
async fn lists_in_bodies_are_bounded() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = crate::common::participant_body(31);
    body["risk_groups"] = json!((0..21)
        .map(|i| json!({"code": format!("group_{i}"), "evidence": "x"}))
        .collect::<Vec<_>>());
    body["care_team"] = json!((0..31)
        .map(|_| json!({"staff_id": uuid::Uuid::new_v4()}))
        .collect::<Vec<_>>());
    let res = app
        .call_as(
            &worker,
            TestRequest::post()
                .uri("/api/v1/participants")
                .set_json(body),
        )
        .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/care_team".to_string(), "count".to_string()),
            ("/risk_groups".to_string(), "count".to_string())
        ]
    );

    let id = app
        .register_participant(&worker, crate::common::participant_body(32))
        .await;
    let res = app
        .call_as(
            &worker,
            TestRequest::put()
                .uri(&format!("/api/v1/participants/{id}/care-team"))
                .insert_header(("if-match", "\"1\""))
                .set_json(json!((0..31)
                    .map(|_| json!({"staff_id": uuid::Uuid::new_v4()}))
                    .collect::<Vec<_>>())),
        )
        .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/".to_string(), "count".to_string())]
    );
}
