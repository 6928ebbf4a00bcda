//! Outcomes (api.md §9, §13.5): kind-specific details, evidence, computed category and
//! `during_programme`, manager verification, retraction instead of deletion, who may, and what
//! auditors see.

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{TestApp, TestResponse, TestUser};

/// A valid outcome body of `kind` achieved on `on`.
pub fn outcome_body(kind: &str, on: &str) -> Value {
    let details = match kind {
        "employment_contract" => {
            json!({"employer": "Hurtownia Łódź Sp. z o.o.", "hours_per_week": 40})
        }
        "civil_law_contract" | "supported_employment" => json!({"employer": "CIS Łódź"}),
        "self_employment" | "social_cooperative" => json!({"name": "Spółdzielnia Razem"}),
        "education" | "training_completed" | "qualification" => {
            json!({"institution": "ZDZ Łódź", "name": "Forklift operator"})
        }
        _ => json!({"description": "Moved into a municipal flat"}),
    };
    json!({
        "kind": kind, "achieved_on": on, "details": details,
        "evidence": {"document_type": "contract_copy", "reference": "UP/17/2026"},
        "note": "Confirmed by phone with the employer",
    })
}

pub async fn post_outcome(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    body: Value,
) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{participant}/outcomes"))
            .set_json(body),
    )
    .await
}

/// Records an outcome as `user`; answers its id.
pub async fn record_outcome(app: &TestApp, user: &TestUser, participant: &str) -> String {
    let res = post_outcome(
        app,
        user,
        participant,
        outcome_body("housing_secured", "2026-03-01"),
    )
    .await;
    assert_eq!(res.status, 201, "outcome: {}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, user: &TestUser, path: &str, body: Option<Value>) -> TestResponse {
    let mut req = TestRequest::post().uri(path);
    if let Some(body) = body {
        req = req.set_json(body);
    }
    app.call_as(user, req).await
}

struct Case {
    lead: TestUser,
    participant: String,
}

/// A participant referred on 2026-02-20, in a programme from 2026-03-02 (today).
async fn case(app: &TestApp, n: u32) -> Case {
    let lead = app.user(&[Role::Counsellor]).await;
    let participant = crate::sessions::in_programme(app, &lead, n).await;
    Case { lead, participant }
}

#[actix_web::test]
async fn each_kind_needs_its_details_and_every_kind_its_evidence() {
    let app = TestApp::spawn().await;
    let c = case(&app, 1).await;
    let res = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        json!({"kind": "employment_contract", "achieved_on": "2026-03-02",
               "details": {"hours_per_week": 61, "contract_end": "2026-03-01", "institution": "ZDZ"}}),
    )
    .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/details/contract_end".into(), "not_after_start".into()),
            ("/details/employer".into(), "required".into()),
            ("/details/hours_per_week".into(), "range".into()),
            ("/details/institution".into(), "not_allowed".into()),
            ("/evidence".into(), "required".into()),
        ]
    );
    let res = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        outcome_body("qualification", "2026-02-19"),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/achieved_on".into(), "before_referral".into())]
    );
    let res = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        outcome_body("debt_settled", "2026-03-03"),
    )
    .await;
    assert_eq!(
        res.field_errors(),
        vec![("/achieved_on".into(), "future".into())]
    );
    let mut body = outcome_body("education", "2026-03-02");
    body["evidence"] = json!({"document_type": "", "reference": "x"});
    body["kind"] = json!("lottery_win");
    let res = post_outcome(&app, &c.lead, &c.participant, body).await;
    let fields: Vec<String> = res.field_errors().into_iter().map(|(f, _)| f).collect();
    assert!(fields.contains(&"/kind".to_owned()), "{fields:?}");
    assert!(
        fields.contains(&"/evidence/document_type".to_owned()),
        "{fields:?}"
    );

    for kind in [
        "employment_contract",
        "civil_law_contract",
        "self_employment",
        "social_cooperative",
        "supported_employment",
        "education",
        "training_completed",
        "qualification",
        "housing_secured",
        "abstinence_maintained",
        "family_roles_restored",
        "debt_settled",
        "health_care_started",
        "other_social",
    ] {
        let res = post_outcome(
            &app,
            &c.lead,
            &c.participant,
            outcome_body(kind, "2026-03-02"),
        )
        .await;
        assert_eq!(res.status, 201, "{kind}: {}", res.text());
        let o = res.json();
        let social = [
            "housing_secured",
            "abstinence_maintained",
            "family_roles_restored",
            "debt_settled",
            "health_care_started",
            "other_social",
        ];
        let category = if social.contains(&kind) {
            "social"
        } else {
            "vocational"
        };
        assert_eq!(o["category"], category, "{kind}");
        assert_eq!(o["status"], "recorded");
        assert_eq!(o["evidence"]["reference"], "UP/17/2026");
    }
    let list = app
        .get_as(
            &c.lead,
            &format!(
                "/api/v1/participants/{}/outcomes?category=social&per_page=200",
                c.participant
            ),
        )
        .await
        .json();
    assert_eq!(list["total"], 6);
}

#[actix_web::test]
async fn during_programme_follows_the_programmes_dates() {
    let app = TestApp::spawn().await;
    let mut c = case(&app, 2).await;
    let before = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        outcome_body("housing_secured", "2026-02-25"),
    )
    .await;
    assert_eq!(
        before.json()["during_programme"],
        false,
        "{}",
        before.text()
    );
    let first_day = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        outcome_body("housing_secured", "2026-03-02"),
    )
    .await;
    assert_eq!(first_day.json()["during_programme"], true);

    // The programme ends on 2026-03-10; an outcome on the 11th is after it.
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 3, 12, 9, 0, 0).unwrap(),
        &mut [&mut c.lead],
    )
    .await;
    let programme = app
        .get_as(
            &c.lead,
            &format!("/api/v1/participants/{}/programmes", c.participant),
        )
        .await
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = post(
        &app,
        &c.lead,
        &format!("/api/v1/programmes/{programme}/exit"),
        Some(json!({"exit_date": "2026-03-10", "exit_reason": "employed"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let last_day = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        outcome_body("employment_contract", "2026-03-10"),
    )
    .await;
    assert_eq!(last_day.json()["during_programme"], true);
    let after = post_outcome(
        &app,
        &c.lead,
        &c.participant,
        outcome_body("employment_contract", "2026-03-11"),
    )
    .await;
    assert_eq!(after.json()["during_programme"], false);
    // Computed on every read: the first-day outcome is still within the (now closed) programme.
    let read = app
        .get_as(
            &c.lead,
            &format!(
                "/api/v1/outcomes/{}",
                first_day.json()["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(read.json()["during_programme"], true);
}

#[actix_web::test]
async fn managers_verify_and_a_wrong_outcome_is_retracted_not_deleted() {
    let app = TestApp::spawn().await;
    let c = case(&app, 3).await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let id = record_outcome(&app, &c.lead, &c.participant).await;
    let verify = format!("/api/v1/outcomes/{id}/verify");
    let retract = format!("/api/v1/outcomes/{id}/retract");

    // Only managers verify: the recorder and auditors get 403, whatever the id.
    post(&app, &c.lead, &verify, None)
        .await
        .problem(403, "forbidden");
    post(
        &app,
        &auditor,
        "/api/v1/outcomes/5d8f1a84-2d0a-4b5e-9c36-0a4b1f0e9b11/verify",
        None,
    )
    .await
    .problem(403, "forbidden");
    let res = post(&app, &manager, &verify, None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "verified");
    assert_eq!(res.json()["verified_by"], manager.id.as_str());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let p = post(&app, &manager, &verify, None)
        .await
        .problem(409, "conflict");
    assert_eq!(p["code"], "outcome_verified");

    let res = post(&app, &c.lead, &retract, Some(json!({}))).await;
    assert_eq!(
        res.field_errors(),
        vec![("/reason".into(), "required".into())]
    );
    post(&app, &auditor, &retract, Some(json!({"reason": "x"})))
        .await
        .problem(403, "forbidden");
    let res = post(
        &app,
        &c.lead,
        &retract,
        Some(json!({"reason": "Contract was never signed"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "retracted");
    let p = post(&app, &c.lead, &retract, Some(json!({"reason": "again"})))
        .await
        .problem(409, "conflict");
    assert_eq!(p["code"], "outcome_retracted");
    let p = post(&app, &manager, &verify, None)
        .await
        .problem(409, "conflict");
    assert_eq!(p["code"], "outcome_retracted");

    // Still there for the auditor, with evidence and the retraction, without the note.
    let seen = app
        .get_as(&auditor, &format!("/api/v1/outcomes/{id}"))
        .await
        .json();
    assert_eq!(seen["status"], "retracted");
    assert_eq!(seen["retraction_reason"], "Contract was never signed");
    assert_eq!(seen["evidence"]["document_type"], "contract_copy");
    assert!(seen["note"].is_null());
    assert!(seen["details"]["description"].is_null());
    let by_lead = app
        .get_as(&c.lead, &format!("/api/v1/outcomes/{id}"))
        .await
        .json();
    assert_eq!(by_lead["note"], "Confirmed by phone with the employer");

    let trail = app.audit_trail();
    for action in [
        "outcome.create",
        "outcome.verify",
        "outcome.retract",
        "outcome.read",
    ] {
        assert!(
            trail.contains(&(action.into(), "allowed".into())),
            "{action}"
        );
    }
    assert!(trail.contains(&("outcome.verify".into(), "denied".into())));

    let timeline = app
        .get_as(
            &manager,
            &format!("/api/v1/participants/{}/timeline", c.participant),
        )
        .await
        .json();
    let recorded = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "outcome_recorded")
        .unwrap_or_else(|| panic!("{timeline}"));
    assert_eq!(recorded["resource_path"], format!("/api/v1/outcomes/{id}"));
    assert_eq!(recorded["summary"], "Outcome recorded (housing_secured)");
}

#[actix_web::test]
async fn another_teams_clinician_neither_sees_nor_records_outcomes() {
    let app = TestApp::spawn().await;
    let c = case(&app, 4).await;
    let other = app.user(&[Role::SocialWorker]).await;
    let admin = app.user(&[Role::Admin]).await;
    let id = record_outcome(&app, &c.lead, &c.participant).await;
    let list = format!("/api/v1/participants/{}/outcomes", c.participant);
    app.get_as(&other, &list).await.problem(404, "not-found");
    app.get_as(&other, &format!("/api/v1/outcomes/{id}"))
        .await
        .problem(404, "not-found");
    post_outcome(
        &app,
        &other,
        &c.participant,
        outcome_body("debt_settled", "2026-03-01"),
    )
    .await
    .problem(404, "not-found");
    post(
        &app,
        &other,
        &format!("/api/v1/outcomes/{id}/retract"),
        Some(json!({"reason": "x"})),
    )
    .await
    .problem(404, "not-found");
    app.get_as(&admin, &list).await.problem(403, "forbidden");
    let own = app.get_as(&c.lead, &list).await;
    assert_eq!(own.json()["total"], 1, "{}", own.text());
}
