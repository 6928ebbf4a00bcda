//! Consents (api.md §5 "Consents", §13.4): recording, computed states, withdrawal, visibility,
//! audit.

use actix_web::test::TestRequest;
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::consents::model::Purpose;
use reintegra::policy::Role;

use crate::common::{participant_body, TestApp, TestUser};

pub fn consent_body(purpose: &str, granted_on: &str) -> Value {
    json!({"purpose": purpose, "granted_on": granted_on, "document_reference": "ZG/2026/7"})
}

fn post_consent(participant: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/api/v1/participants/{participant}/consents"))
        .set_json(body)
}

fn withdraw(consent: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/api/v1/consents/{consent}/withdraw"))
        .set_json(body)
}

/// Records a consent as `user` through the API; answers its id.
pub async fn record_consent(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    body: Value,
) -> String {
    let res = app.call_as(user, post_consent(participant, body)).await;
    assert_eq!(res.status, 201, "record consent: {}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

/// An audit row as the tests look at it: `(participant_id, entity_id, changed_fields, details)`.
pub type AuditRow = (Option<String>, Option<String>, Value, Option<Value>);
type StoredAuditRow = (Option<String>, Option<String>, String, Option<String>);

/// The audit rows of `action`, in order.
pub fn audit_rows(app: &TestApp, action_name: &str) -> Vec<AuditRow> {
    use diesel::prelude::*;
    use reintegra::db::schema::audit_events::dsl::*;
    let rows: Vec<StoredAuditRow> = audit_events
        .filter(action.eq(action_name))
        .order(seq.asc())
        .select((participant_id, entity_id, changed_fields, details))
        .load(&mut app.conn())
        .expect("read audit events");
    rows.into_iter()
        .map(|(p, e, c, d)| {
            (
                p,
                e,
                serde_json::from_str(&c).unwrap(),
                d.map(|d| serde_json::from_str(&d).unwrap()),
            )
        })
        .collect()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Noon in Warsaw on `date`, with `user` signed in afresh (access tokens live 15 minutes).
async fn set_today(app: &TestApp, user: &mut TestUser, date: &str) {
    let d = day(date);
    set_now(
        app,
        user,
        Utc.from_utc_datetime(&d.and_hms_opt(11, 0, 0).unwrap()),
    )
    .await;
}

async fn set_now(app: &TestApp, user: &mut TestUser, at: chrono::DateTime<Utc>) {
    app.clock.set(at);
    let res = app.login(&user.email, &user.password).await;
    assert_eq!(res.status, 200, "login: {}", res.text());
    user.token = res.json()["access_token"].as_str().unwrap().to_owned();
}

#[actix_web::test]
async fn a_team_member_records_a_consent_with_location_etag_and_audit() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(1)).await;
    let mut body = consent_body("contact_after_exit", "2026-03-01");
    body["expires_on"] = json!("2027-03-01");
    body["description"] = json!("Telefon po zakończeniu programu");
    let res = app.call_as(&worker, post_consent(&p, body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let c = res.json();
    let id = c["id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/consents/{id}").as_str())
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(c["participant_id"], p);
    assert_eq!(c["purpose"], "contact_after_exit");
    assert_eq!(c["granted_on"], "2026-03-01");
    assert_eq!(c["expires_on"], "2027-03-01");
    assert_eq!(c["document_reference"], "ZG/2026/7");
    assert_eq!(c["description"], "Telefon po zakończeniu programu");
    assert_eq!(c["state"], "active");
    assert_eq!(c["withdrawn_on"], Value::Null);
    assert_eq!(c["version"], 1);
    assert_eq!(c["created_by"], worker.id);

    let read = app.get_as(&worker, &format!("/api/v1/consents/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(read.json(), c);

    let rows = audit_rows(&app, "consent.create");
    assert_eq!(rows.len(), 1);
    let (participant, entity, changed, details) = &rows[0];
    assert_eq!(participant.as_deref(), Some(p.as_str()));
    assert_eq!(entity.as_deref(), Some(id));
    assert_eq!(
        changed,
        &json!([
            "purpose",
            "granted_on",
            "document_reference",
            "description",
            "expires_on"
        ])
    );
    assert_eq!(details, &Some(json!({"purpose": "contact_after_exit"})));
}

#[actix_web::test]
async fn every_bad_field_is_listed_in_one_422() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Counsellor]).await;
    let p = app.register_participant(&worker, participant_body(2)).await;
    let res = app
        .call_as(
            &worker,
            post_consent(
                &p,
                json!({"purpose": "marketing", "description": "a\u{0007}b", "granted_on": "2026-02-30",
                       "expires_on": "01.03.2026", "document_reference": "x".repeat(201)}),
            ),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("/description", "control_character"),
            ("/document_reference", "too_long"),
            ("/expires_on", "format"),
            ("/granted_on", "date"),
            ("/purpose", "enum"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );

    let res = app.call_as(&worker, post_consent(&p, json!({}))).await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("/document_reference", "required"),
            ("/granted_on", "required"),
            ("/purpose", "required"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );

    // `other` needs a description; the expiry may not precede the grant.
    let mut body = consent_body("other", "2026-03-01");
    body["expires_on"] = json!("2026-02-28");
    let res = app.call_as(&worker, post_consent(&p, body)).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        [
            ("/description", "required"),
            ("/expires_on", "before_granted_on")
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );

    // Expiring on the day of the grant is fine, and so is `other` with a description.
    let mut body = consent_body("other", "2026-03-01");
    body["expires_on"] = json!("2026-03-01");
    body["description"] = json!("Udział w nagraniu radiowym");
    let res = app.call_as(&worker, post_consent(&p, body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(
        audit_rows(&app, "consent.create").len() == 1,
        "422s are not audited"
    );
}

#[actix_web::test]
async fn states_follow_the_dates_and_the_clock() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(3)).await;
    // Today is 2026-03-02.
    let pending = record_consent(&app, &worker, &p, consent_body("image", "2026-03-10")).await;
    let mut body = consent_body("contact_after_exit", "2026-03-01");
    body["expires_on"] = json!("2026-03-05");
    let short = record_consent(&app, &worker, &p, body).await;
    let open = record_consent(
        &app,
        &worker,
        &p,
        consent_body("share_with_pup", "2025-01-01"),
    )
    .await;

    async fn state_of(app: &TestApp, user: &TestUser, id: &str) -> String {
        let res = app.get_as(user, &format!("/api/v1/consents/{id}")).await;
        assert_eq!(res.status, 200, "{}", res.text());
        res.json()["state"].as_str().unwrap().to_owned()
    }
    let mut worker = worker;
    assert_eq!(state_of(&app, &worker, &pending).await, "pending");
    assert_eq!(state_of(&app, &worker, &short).await, "active");
    assert_eq!(state_of(&app, &worker, &open).await, "active");

    set_today(&app, &mut worker, "2026-03-05").await;
    assert_eq!(
        state_of(&app, &worker, &short).await,
        "active",
        "valid through expires_on"
    );
    set_today(&app, &mut worker, "2026-03-06").await;
    assert_eq!(state_of(&app, &worker, &short).await, "expired");
    assert_eq!(state_of(&app, &worker, &pending).await, "pending");
    set_today(&app, &mut worker, "2026-03-10").await;
    assert_eq!(state_of(&app, &worker, &pending).await, "active");

    // 23:30 UTC on 9 March is already 10 March in Warsaw; 22:30 UTC is still 9 March.
    set_now(
        &app,
        &mut worker,
        Utc.with_ymd_and_hms(2026, 3, 9, 23, 30, 0).unwrap(),
    )
    .await;
    assert_eq!(state_of(&app, &worker, &pending).await, "active");
    set_now(
        &app,
        &mut worker,
        Utc.with_ymd_and_hms(2026, 3, 9, 22, 30, 0).unwrap(),
    )
    .await;
    assert_eq!(state_of(&app, &worker, &pending).await, "pending");

    let mut conn = app.conn();
    use reintegra::consents::repo::valid_on;
    assert!(valid_on(&mut conn, &p, Purpose::ContactAfterExit, day("2026-03-01")).unwrap());
    assert!(valid_on(&mut conn, &p, Purpose::ContactAfterExit, day("2026-03-05")).unwrap());
    assert!(!valid_on(&mut conn, &p, Purpose::ContactAfterExit, day("2026-03-06")).unwrap());
    assert!(!valid_on(&mut conn, &p, Purpose::ContactAfterExit, day("2026-02-28")).unwrap());
    assert!(!valid_on(&mut conn, &p, Purpose::ShareWithOps, day("2026-03-02")).unwrap());
    assert!(valid_on(&mut conn, &p, Purpose::ShareWithPup, day("2030-01-01")).unwrap());
    let other = app.register_participant(&worker, participant_body(4)).await;
    assert!(!valid_on(&mut conn, &other, Purpose::ShareWithPup, day("2026-03-02")).unwrap());
}

#[actix_web::test]
async fn withdrawal_ends_validity_and_happens_once() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(5)).await;
    let id = record_consent(
        &app,
        &worker,
        &p,
        consent_body("contact_after_exit", "2026-02-01"),
    )
    .await;

    // A stale If-Match is refused; a missing one is fine.
    let res = app
        .call_as(
            &worker,
            withdraw(&id, json!({"withdrawn_on": "2026-03-01"}))
                .insert_header(("if-match", "\"7\"")),
        )
        .await;
    assert_eq!(
        res.problem(412, "precondition-failed")["current_version"],
        1
    );

    let res = app
        .call_as(
            &worker,
            withdraw(
                &id,
                json!({"withdrawn_on": "2026-03-01", "note": "Telefonicznie"}),
            )
            .insert_header(("if-match", "\"1\"")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let c = res.json();
    assert_eq!(c["state"], "withdrawn");
    assert_eq!(c["withdrawn_on"], "2026-03-01");
    assert_eq!(c["withdrawal_note"], "Telefonicznie");
    assert_eq!(c["version"], 2);
    assert_eq!(c["purpose"], "contact_after_exit");
    assert_eq!(c["granted_on"], "2026-02-01");

    let again = app
        .call_as(
            &worker,
            withdraw(&id, json!({"withdrawn_on": "2026-03-02"})),
        )
        .await;
    assert_eq!(
        again.problem(409, "conflict")["code"],
        "consent_already_withdrawn"
    );

    let mut conn = app.conn();
    use reintegra::consents::repo::valid_on;
    assert!(valid_on(&mut conn, &p, Purpose::ContactAfterExit, day("2026-02-28")).unwrap());
    assert!(!valid_on(&mut conn, &p, Purpose::ContactAfterExit, day("2026-03-01")).unwrap());

    let rows = audit_rows(&app, "consent.withdraw");
    assert_eq!(rows.len(), 1);
    let (participant, entity, changed, details) = &rows[0];
    assert_eq!(participant.as_deref(), Some(p.as_str()));
    assert_eq!(entity.as_deref(), Some(id.as_str()));
    assert_eq!(changed, &json!(["withdrawn_on", "withdrawal_note"]));
    assert_eq!(details, &Some(json!({"purpose": "contact_after_exit"})));
    let read = app.get_as(&worker, &format!("/api/v1/consents/{id}")).await;
    assert_eq!(read.header("etag"), Some("\"2\""));
}

#[actix_web::test]
async fn withdrawal_dates_are_checked_against_the_grant_and_today() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(6)).await;
    let granted = record_consent(&app, &manager, &p, consent_body("image", "2026-02-01")).await;
    let pending = record_consent(&app, &manager, &p, consent_body("image", "2026-04-01")).await;

    let res = app
        .call_as(
            &manager,
            withdraw(&granted, json!({"withdrawn_on": "2026-01-31"})),
        )
        .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/withdrawn_on".to_string(), "before_granted_on".to_string())]
    );
    let res = app
        .call_as(
            &manager,
            withdraw(&granted, json!({"withdrawn_on": "2026-03-03"})),
        )
        .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/withdrawn_on".to_string(), "future".to_string())]
    );
    // Both rules at once, on a consent granted in the future.
    let res = app
        .call_as(
            &manager,
            withdraw(&pending, json!({"withdrawn_on": "2026-03-20"})),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("/withdrawn_on".to_string(), "before_granted_on".to_string()),
            ("/withdrawn_on".to_string(), "future".to_string()),
        ]
    );
    let res = app
        .call_as(
            &manager,
            withdraw(&granted, json!({"withdrawn_on": "soon", "note": ""})),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("/note".to_string(), "blank".to_string()),
            ("/withdrawn_on".to_string(), "format".to_string()),
        ]
    );
    let res = app.call_as(&manager, withdraw(&granted, json!({}))).await;
    assert_eq!(
        res.field_errors(),
        vec![("/withdrawn_on".to_string(), "required".to_string())]
    );
    // Withdrawing on the day of the grant, today, works (managers may).
    let res = app
        .call_as(
            &manager,
            withdraw(&granted, json!({"withdrawn_on": "2026-03-02"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["withdrawal_note"], Value::Null);
    assert_eq!(
        audit_rows(&app, "consent.withdraw")[0].2,
        json!(["withdrawn_on"])
    );
}

#[actix_web::test]
async fn lists_are_newest_first_paginated_and_audited() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Psychologist]).await;
    let p = app.register_participant(&worker, participant_body(7)).await;
    let mut ids = Vec::new();
    for purpose in ["image", "share_with_ops", "share_with_employer"] {
        ids.push(record_consent(&app, &worker, &p, consent_body(purpose, "2026-03-01")).await);
        app.clock.advance(chrono::Duration::seconds(30));
    }
    let res = app
        .get_as(&worker, &format!("/api/v1/participants/{p}/consents"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["page"], 1);
    assert_eq!(body["per_page"], 50);
    let listed: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]
    );

    let res = app
        .get_as(
            &worker,
            &format!("/api/v1/participants/{p}/consents?page=2&per_page=2"),
        )
        .await;
    let body = res.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["id"], ids[0]);

    let res = app
        .get_as(
            &worker,
            &format!("/api/v1/participants/{p}/consents?per_page=0&sort=x"),
        )
        .await;
    res.problem(400, "malformed-request");

    let rows = audit_rows(&app, "consent.list");
    assert_eq!(
        rows.len(),
        2,
        "one event per list read, none for the refused query"
    );
    assert_eq!(rows[0].0.as_deref(), Some(p.as_str()));
    assert_eq!(rows[0].3, Some(json!({"count": 3})));
    assert_eq!(rows[1].3, Some(json!({"count": 1})));
}

#[actix_web::test]
async fn visibility_follows_the_care_team_and_roles() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let stranger = app.user(&[Role::Counsellor]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let manager = app.user(&[Role::Manager]).await;
    let p = app.register_participant(&worker, participant_body(8)).await;
    let id = record_consent(&app, &worker, &p, consent_body("image", "2026-03-01")).await;
    app.call_as(
        &worker,
        withdraw(
            &id,
            json!({"withdrawn_on": "2026-03-02", "note": "Nie chce zdjęć"}),
        ),
    )
    .await;
    let list = format!("/api/v1/participants/{p}/consents");
    let one = format!("/api/v1/consents/{id}");

    // Another team's clinician: nothing exists.
    app.get_as(&stranger, &list).await.problem(404, "not-found");
    app.get_as(&stranger, &one).await.problem(404, "not-found");
    app.call_as(
        &stranger,
        post_consent(&p, consent_body("image", "2026-03-01")),
    )
    .await
    .problem(404, "not-found");
    app.call_as(
        &stranger,
        withdraw(&id, json!({"withdrawn_on": "2026-03-02"})),
    )
    .await
    .problem(404, "not-found");

    // Auditors read (without the withdrawal note) but never write.
    let res = app.get_as(&auditor, &list).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["items"][0]["withdrawal_note"], Value::Null);
    assert_eq!(res.json()["items"][0]["state"], "withdrawn");
    let res = app.get_as(&auditor, &one).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["withdrawal_note"], Value::Null);
    app.call_as(
        &auditor,
        post_consent(&p, consent_body("image", "2026-03-01")),
    )
    .await
    .problem(403, "forbidden");
    app.call_as(
        &auditor,
        withdraw(&id, json!({"withdrawn_on": "2026-03-02"})),
    )
    .await
    .problem(403, "forbidden");

    // Admins see no case data at all.
    app.get_as(&admin, &list).await.problem(403, "forbidden");
    app.get_as(&admin, &one).await.problem(403, "forbidden");
    app.call_as(
        &admin,
        post_consent(&p, consent_body("image", "2026-03-01")),
    )
    .await
    .problem(403, "forbidden");

    // Managers see every participant's consents, notes included.
    let res = app.get_as(&manager, &one).await;
    assert_eq!(res.json()["withdrawal_note"], "Nie chce zdjęć");

    // Unknown and malformed ids are 404, like ids of consents one may not see.
    let ghost = uuid::Uuid::new_v4();
    app.get_as(&worker, &format!("/api/v1/consents/{ghost}"))
        .await
        .problem(404, "not-found");
    app.get_as(&worker, "/api/v1/consents/not-a-uuid")
        .await
        .problem(404, "not-found");
    app.get_as(&worker, &format!("/api/v1/participants/{ghost}/consents"))
        .await
        .problem(404, "not-found");

    let trail = app.audit_trail();
    for action in ["consent.read", "consent.write"] {
        assert!(
            trail.contains(&(action.to_string(), "denied".to_string())),
            "{action}: {trail:?}"
        );
    }
}

#[actix_web::test]
async fn consents_are_never_edited_or_deleted() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(9)).await;
    let id = record_consent(&app, &worker, &p, consent_body("image", "2026-03-01")).await;
    for method in [
        actix_web::http::Method::PATCH,
        actix_web::http::Method::DELETE,
    ] {
        let res = app
            .call_as(
                &worker,
                TestRequest::default()
                    .method(method.clone())
                    .uri(&format!("/api/v1/consents/{id}"))
                    .set_json(json!({"purpose": "other"})),
            )
            .await;
        res.problem(405, "method-not-allowed");
    }
}

#[actix_web::test]
async fn anonymised_participants_take_no_new_consents() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app
        .register_participant(&worker, participant_body(10))
        .await;
    let id = record_consent(&app, &worker, &p, consent_body("image", "2026-03-01")).await;
    {
        use diesel::prelude::*;
        use reintegra::db::schema::participants;
        diesel::update(participants::table.find(&p))
            .set(participants::status.eq("anonymised"))
            .execute(&mut app.conn())
            .unwrap();
    }
    let res = app
        .call_as(
            &worker,
            post_consent(&p, consent_body("image", "2026-03-01")),
        )
        .await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "participant_anonymised"
    );
    let res = app
        .call_as(
            &worker,
            withdraw(&id, json!({"withdrawn_on": "2026-03-02"})),
        )
        .await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "participant_anonymised"
    );
}

#[actix_web::test]
async fn an_idempotency_key_records_one_consent() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app
        .register_participant(&worker, participant_body(11))
        .await;
    let mut first = None;
    for _ in 0..2 {
        let res = app
            .call_as(
                &worker,
                post_consent(&p, consent_body("share_with_ops", "2026-03-01"))
                    .insert_header(("idempotency-key", "consent-11")),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        let id = res.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(first.get_or_insert(id.clone()), &id);
    }
    let res = app
        .get_as(&worker, &format!("/api/v1/participants/{p}/consents"))
        .await;
    assert_eq!(res.json()["total"], 1);
}
