//! Data protection (api.md §11, §13.4, §13.7): `retention_until`, `/retention/due`, the access
//! log of a record, the GDPR export and anonymisation, and who may use them.

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, pesel_for, TestApp, TestResponse, TestUser};
use crate::consents::{consent_body, record_consent};
use crate::diagnoses::record_final_diagnosis;
use crate::notes::write_note;
use crate::outcomes::record_outcome;
use crate::plans::plans_of;
use crate::sessions::{in_programme, plan as plan_session, put_attendance, session_body};

const NOBODY: &str = "5d8f1a84-2d0a-4b5e-9c36-0a4b1f0e9b11";

async fn participant_json(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let res = app
        .get_as(user, &format!("/api/v1/participants/{id}"))
        .await;
    assert_eq!(res.status, 200, "read: {}", res.text());
    res.json()
}

async fn retention_until(app: &TestApp, user: &TestUser, id: &str) -> Value {
    participant_json(app, user, id).await["retention_until"].clone()
}

async fn exit_programme(app: &TestApp, user: &TestUser, programme: &str, on: &str) {
    let res = app
        .call_as(
            user,
            TestRequest::post()
                .uri(&format!("/api/v1/programmes/{programme}/exit"))
                .set_json(json!({"exit_date": on, "exit_reason": "completed"})),
        )
        .await;
    assert_eq!(res.status, 200, "exit: {}", res.text());
}

async fn programme_of(app: &TestApp, user: &TestUser, id: &str) -> String {
    participant_json(app, user, id).await["current_programme"]["id"]
        .as_str()
        .expect("an open programme")
        .to_owned()
}

async fn due(app: &TestApp, user: &TestUser) -> Vec<String> {
    let res = app.get_as(user, "/api/v1/retention/due").await;
    assert_eq!(res.status, 200, "due: {}", res.text());
    res.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn anonymise(app: &TestApp, user: &TestUser, id: &str, body: Value) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/participants/{id}/anonymise"))
            .set_json(body),
    )
    .await
}

fn conflict_code(res: &TestResponse) -> String {
    assert_eq!(res.status, 409, "{}", res.text());
    res.json()["code"].as_str().unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn retention_runs_from_the_last_case_event_and_the_project_end_wins_when_later() {
    let app = TestApp::spawn().await;
    let mut manager = app.user(&[Role::Manager]).await;
    let mut psych = app.user(&[Role::Psychologist]).await;
    let mut admin = app.user(&[Role::Admin]).await;

    // Referred only (2026-02-20), qualified (2026-02-25): 31 December 2026 + 5 years.
    let referred = app.register_participant(&psych, participant_body(1)).await;
    let qualified = app.register_participant(&psych, participant_body(2)).await;
    app.qualify(&psych, &qualified).await;
    assert_eq!(
        retention_until(&app, &manager, &referred).await,
        "2031-12-31"
    );
    assert_eq!(
        retention_until(&app, &manager, &qualified).await,
        "2031-12-31"
    );

    // In a programme: no end yet. Exited in 2027: 31 December 2027 + 5 years.
    let exited = in_programme(&app, &psych, 3).await;
    let open = in_programme(&app, &psych, 4).await;
    assert_eq!(retention_until(&app, &manager, &exited).await, Value::Null);
    let programme = programme_of(&app, &psych, &exited).await;
    app.travel_to(
        Utc.with_ymd_and_hms(2027, 1, 15, 9, 0, 0).unwrap(),
        &mut [&mut manager, &mut psych, &mut admin],
    )
    .await;
    exit_programme(&app, &psych, &programme, "2027-01-10").await;
    assert_eq!(retention_until(&app, &manager, &exited).await, "2032-12-31");
    assert_eq!(retention_until(&app, &manager, &open).await, Value::Null);
    assert!(due(&app, &manager).await.is_empty());

    // On 2032-01-05 the two without a programme are due; the exited one (2032-12-31) and the
    // one still in a programme are not.
    app.travel_to(
        Utc.with_ymd_and_hms(2032, 1, 5, 9, 0, 0).unwrap(),
        &mut [&mut manager, &mut psych, &mut admin],
    )
    .await;
    let mut expected = vec![referred.clone(), qualified.clone()];
    expected.sort();
    let mut got = due(&app, &manager).await;
    got.sort();
    assert_eq!(got, expected);
    let res = app.get_as(&manager, "/api/v1/retention/due").await;
    let row = &res.json()["items"][0];
    assert_eq!(row["retention_until"], "2031-12-31");
    assert_eq!(row["first_name"], "Anna");
    assert!(row["status"].is_string());
    assert_eq!(res.json()["total"], 2);

    // A funder's retention end later than that wins, and nothing is due before it.
    let res = app.get_as(&admin, "/api/v1/settings").await;
    assert_eq!(res.status, 200);
    let mut settings = res.json();
    let version = settings["version"].as_i64().unwrap();
    settings["project_retention_until"] = json!("2035-06-30");
    let res = app
        .call_as(
            &admin,
            TestRequest::put()
                .uri("/api/v1/settings")
                .insert_header(("if-match", format!("\"{version}\"")))
                .set_json(settings),
        )
        .await;
    assert_eq!(res.status, 200, "settings: {}", res.text());
    assert_eq!(
        retention_until(&app, &manager, &referred).await,
        "2035-06-30"
    );
    assert_eq!(retention_until(&app, &manager, &exited).await, "2035-06-30");
    assert!(due(&app, &manager).await.is_empty());

    // Only managers read retention.
    for user in [&psych, &admin] {
        app.get_as(user, "/api/v1/retention/due")
            .await
            .problem(403, "forbidden");
    }
    assert!(app
        .audit_trail()
        .contains(&("retention.list".into(), "allowed".into())));
}

#[actix_web::test]
async fn the_access_log_lists_reads_and_denied_attempts_newest_first_not_writes() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let psych = app.user(&[Role::Psychologist]).await;
    let stranger = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&psych, participant_body(1)).await;
    write_note(&app, &psych, &p, "Came on time", "team").await;

    participant_json(&app, &manager, &p).await;
    participant_json(&app, &auditor, &p).await;
    let res = app
        .get_as(&psych, &format!("/api/v1/participants/{p}/notes"))
        .await;
    assert_eq!(res.status, 200);
    app.get_as(&stranger, &format!("/api/v1/participants/{p}"))
        .await
        .problem(404, "not-found");

    let res = app
        .get_as(&manager, &format!("/api/v1/participants/{p}/access-log"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    let items = body["items"].as_array().unwrap();
    let seen: Vec<(String, String, String)> = items
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
                e["actor_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "participant.read".into(),
                "denied".into(),
                stranger.id.clone()
            ),
            ("note.list".into(), "allowed".into(), psych.id.clone()),
            (
                "participant.read".into(),
                "allowed".into(),
                auditor.id.clone()
            ),
            (
                "participant.read".into(),
                "allowed".into(),
                manager.id.clone()
            ),
        ],
        "newest first, writes (participant.create, note.create) left out"
    );
    assert_eq!(body["total"], 4);
    let first = &items[0];
    for field in [
        "seq",
        "at",
        "actor_roles",
        "entity_type",
        "entity_id",
        "request_id",
    ] {
        assert!(!first[field].is_null(), "{field}: {first}");
    }
    assert_eq!(first["actor_roles"], json!(["social_worker"]));

    // Auditors read it too, as CSV; the manager's read of the log is in it.
    let res = app
        .call_as(
            &auditor,
            TestRequest::get()
                .uri(&format!("/api/v1/participants/{p}/access-log"))
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/csv"));
    let csv = res.text();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("\u{feff}seq,at,actor_id,actor_roles,action,outcome,entity_type,entity_id,request_id,ip")
    );
    assert_eq!(lines.count(), 5, "{csv}");
    assert!(csv.contains("participant.access_log"));
    assert!(!csv.contains("note.create"));

    // Clinicians (their own participant included) and admins never read it.
    for (user, id) in [
        (&psych, p.as_str()),
        (&psych, NOBODY),
        (&stranger, p.as_str()),
        (&admin, p.as_str()),
        (&admin, NOBODY),
    ] {
        app.get_as(user, &format!("/api/v1/participants/{id}/access-log"))
            .await
            .problem(403, "forbidden");
    }
    app.get_as(
        &manager,
        &format!("/api/v1/participants/{NOBODY}/access-log"),
    )
    .await
    .problem(404, "not-found");
}

/// A participant in a programme with something in every section: a consent, a team and a
/// psychologist note, a final psychological and a Holland diagnosis, an active plan and its
/// revision, attendance at a session, an outcome. Answers the programme and the session.
async fn full_case(app: &TestApp, psych: &TestUser, p: &str) -> (String, String) {
    let programme = programme_of(app, psych, p).await;
    record_consent(app, psych, p, consent_body("image", "2026-03-01")).await;
    write_note(app, psych, p, "Team note: asked about housing", "team").await;
    write_note(app, psych, p, "Psychologist note: anxiety", "psychologist").await;
    record_final_diagnosis(app, psych, p, "psychological").await;
    record_final_diagnosis(app, psych, p, "holland").await;
    plans_of(app, psych, p, &programme).await;
    let session = plan_session(
        app,
        psych,
        session_body(
            "support_group",
            "2026-03-02T09:00:00+01:00",
            90,
            &[&psych.id],
            &[p],
        ),
    )
    .await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    let res = put_attendance(
        app,
        psych,
        &session_id,
        session["version"].as_i64().unwrap(),
        json!([{"participant_id": p, "status": "present", "note": "Spoke about the court case"}]),
    )
    .await;
    assert_eq!(res.status, 200, "attendance: {}", res.text());
    record_outcome(app, psych, p).await;
    (programme, session_id)
}

#[actix_web::test]
async fn the_export_holds_every_section_and_withholds_what_the_psychologist_keeps() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let psych = app.user(&[Role::Psychologist]).await;
    let p = in_programme(&app, &psych, 1).await;
    full_case(&app, &psych, &p).await;
    participant_json(&app, &auditor, &p).await;

    let res = app
        .get_as(&manager, &format!("/api/v1/participants/{p}/export"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    let e = res.json();
    assert_eq!(e["participant"]["pesel"], pesel_for(1));
    assert_eq!(e["participant"]["email"], "anna1@example.org");
    assert_eq!(
        e["participant"]["risk_groups"][0]["code"],
        "long_term_unemployed"
    );
    assert_eq!(e["participant"]["care_team"][0]["staff_id"], psych.id);
    let len = |k: &str| e[k].as_array().map(Vec::len).unwrap_or(usize::MAX);
    assert_eq!(len("referrals"), 1);
    assert_eq!(e["referrals"][0]["reference"], "OPS/2026/1");
    assert_eq!(len("qualifications"), 1);
    assert_eq!(len("consents"), 1);
    assert_eq!(len("notes"), 1, "team notes only");
    assert_eq!(e["notes"][0]["body"], "Team note: asked about housing");
    assert_eq!(len("programmes"), 1);
    assert_eq!(len("follow_ups"), 0);
    assert_eq!(len("diagnoses"), 2);
    assert_eq!(len("plans"), 2);
    assert!(e["plans"][0]["goals"]
        .as_array()
        .is_some_and(|g| !g.is_empty()));
    assert_eq!(len("attendance"), 1);
    assert_eq!(e["attendance"][0]["minutes"], 90);
    assert_eq!(e["attendance"][0]["note"], "Spoke about the court case");
    assert_eq!(len("outcomes"), 1);
    assert!(e["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["actor_id"] == json!(auditor.id) && a["action"] == "participant.read"));

    // What the psychologist keeps is listed, not shown.
    assert_eq!(e["withheld"]["notes"].as_array().unwrap().len(), 1);
    let withheld = e["withheld"]["diagnoses"].as_array().unwrap();
    assert_eq!(withheld.len(), 1);
    assert_eq!(withheld[0]["kind"], "psychological");
    let psychological = e["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "psychological")
        .unwrap();
    assert_eq!(psychological["id"], withheld[0]["id"]);
    assert_eq!(psychological["restricted"], true);
    assert_eq!(psychological["findings"], Value::Null);
    assert!(!text.contains("Psychologist note: anxiety"));
    assert!(!text.contains("Findings of the psychological diagnosis"));
    assert!(!text.contains("Summary of the psychological diagnosis"));
    assert!(text.contains("Findings of the holland diagnosis"));

    // Audited; nobody but managers exports, whatever the id.
    assert!(app
        .audit_trail()
        .contains(&("participant.export".into(), "allowed".into())));
    for user in [&psych, &auditor, &admin] {
        for id in [p.as_str(), NOBODY] {
            app.get_as(user, &format!("/api/v1/participants/{id}/export"))
                .await
                .problem(403, "forbidden");
        }
    }
    app.get_as(&manager, &format!("/api/v1/participants/{NOBODY}/export"))
        .await
        .problem(404, "not-found");
}

#[actix_web::test]
async fn anonymisation_removes_identity_and_free_text_and_keeps_what_reports_count() {
    let app = TestApp::spawn().await;
    let mut manager = app.user(&[Role::Manager]).await;
    let mut psych = app.user(&[Role::Psychologist]).await;
    let mut auditor = app.user(&[Role::Auditor]).await;
    let mut admin = app.user(&[Role::Admin]).await;
    let p = in_programme(&app, &psych, 1).await;
    let (programme, _) = full_case(&app, &psych, &p).await;
    // A note sent with an Idempotency-Key: its stored reply holds the text.
    let res = app
        .call_as(
            &psych,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{p}/notes"))
                .insert_header(("idempotency-key", "note-1"))
                .set_json(
                    json!({"body": "Idempotent note about debts", "confidentiality": "team"}),
                ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let before = participant_json(&app, &manager, &p).await;

    // Never while in a programme; a reason is required.
    let reason = json!({"reason": "Participant asked for erasure", "override": true});
    assert_eq!(
        conflict_code(&anonymise(&app, &manager, &p, reason.clone()).await),
        "participant_in_programme"
    );
    app.travel_to(
        Utc.with_ymd_and_hms(2026, 3, 20, 9, 0, 0).unwrap(),
        &mut [&mut manager, &mut psych, &mut auditor, &mut admin],
    )
    .await;
    exit_programme(&app, &psych, &programme, "2026-03-16").await;
    let summary_path = format!("/api/v1/programmes/{programme}/summary");
    let summary_before = app.get_as(&manager, &summary_path).await.json();

    // Before the retention end only with override.
    let res = anonymise(&app, &manager, &p, json!({"reason": "Tidying up"})).await;
    assert_eq!(conflict_code(&res), "retention_not_ended");
    assert_eq!(res.json()["retention_until"], "2031-12-31");
    let res = anonymise(&app, &manager, &p, json!({"override": true})).await;
    assert_eq!(
        res.field_errors(),
        vec![("/reason".into(), "required".into())]
    );
    // Clinicians, auditors and admins never anonymise, whatever the id.
    for user in [&psych, &auditor, &admin] {
        for id in [p.as_str(), NOBODY] {
            anonymise(&app, user, id, reason.clone())
                .await
                .problem(403, "forbidden");
        }
    }

    let res = anonymise(&app, &manager, &p, reason.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let after = res.json();
    assert_eq!(
        res.header("etag"),
        Some(format!("\"{}\"", after["version"]).as_str())
    );
    assert_eq!(after["status"], "anonymised");
    for field in ["first_name", "last_name"] {
        assert_eq!(after[field], "anonymised");
    }
    // The care team's copies of the names (the caseload order) are replaced as well.
    let mut conn = app.conn();
    let team_rows = |cond: &str| {
        format!("SELECT COUNT(*) AS n FROM care_team_members WHERE participant_id = '{p}'{cond}")
    };
    assert!(count(&mut conn, &team_rows("")) > 0);
    assert_eq!(
        count(
            &mut conn,
            &team_rows(
                " AND (last_name <> 'anonymised' OR first_name <> 'anonymised' \
                 OR last_name_key <> 'anonymised' OR first_name_key <> 'anonymised')"
            )
        ),
        0
    );
    for field in [
        "pesel",
        "id_document",
        "phone",
        "email",
        "address",
        "legal_representative",
    ] {
        assert_eq!(after[field], Value::Null, "{field}");
    }
    assert_eq!(after["referral"]["reference"], Value::Null);
    let birth = before["birth_date"].as_str().unwrap();
    assert_eq!(after["birth_date"], format!("{}-01-01", &birth[..4]));
    assert_eq!(after["sex"], before["sex"]);
    assert_eq!(
        after["risk_groups"][0]["code"],
        before["risk_groups"][0]["code"]
    );
    assert_eq!(participant_json(&app, &manager, &p).await, after);

    // Gone everywhere the record is read.
    let secrets = [
        "Przykładowa-1".to_owned(),
        "Przykladowa".to_owned(),
        pesel_for(1),
        "anna1@example.org".to_owned(),
        "Ogrodowa".to_owned(),
        "Team note: asked about housing".to_owned(),
        "Psychologist note: anxiety".to_owned(),
        "Idempotent note about debts".to_owned(),
        "Spoke about the court case".to_owned(),
        "Findings of the".to_owned(),
        "Summary of the".to_owned(),
        "Forklift licence".to_owned(),
        "Moved into a municipal flat".to_owned(),
        "Confirmed by phone".to_owned(),
        "PUP certificate".to_owned(),
        "OPS/2026/1".to_owned(),
        "ZG/2026/7".to_owned(),
        "UP/17/2026".to_owned(),
    ];
    let reads = [
        (&manager, format!("/api/v1/participants/{p}")),
        (&manager, "/api/v1/participants?per_page=200".to_owned()),
        (&manager, format!("/api/v1/participants/{p}/timeline")),
        (&manager, format!("/api/v1/participants/{p}/notes")),
        (&psych, format!("/api/v1/participants/{p}/notes")),
        (&psych, format!("/api/v1/participants/{p}/diagnoses")),
        (&manager, format!("/api/v1/participants/{p}/outcomes")),
        (&manager, format!("/api/v1/participants/{p}/consents")),
        (&manager, format!("/api/v1/participants/{p}/plans")),
        (&manager, format!("/api/v1/participants/{p}/export")),
    ];
    for (user, path) in &reads {
        let res = app.get_as(user, path).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text());
        let text = res.text();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{path} still holds {secret}"
            );
        }
    }
    let res = app
        .call_as(
            &manager,
            TestRequest::get()
                .uri("/api/v1/participants")
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200);
    let csv = res.text();
    assert!(csv.contains(&p) && csv.contains("anonymised"), "{csv}");
    for secret in &secrets {
        assert!(!csv.contains(secret.as_str()), "CSV still holds {secret}");
    }
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM idempotency_keys WHERE response_body LIKE '%debts%'"
        ),
        0,
        "stored replies purged"
    );

    // What reports count stays.
    let res = app
        .get_as(&manager, &format!("/api/v1/participants/{p}/attendance"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["items"][0]["minutes"], 90);
    let outcomes = app
        .get_as(&manager, &format!("/api/v1/participants/{p}/outcomes"))
        .await
        .json();
    assert_eq!(outcomes["items"][0]["kind"], "housing_secured");
    assert_eq!(
        app.get_as(&manager, &summary_path).await.json(),
        summary_before
    );

    // Once only; audited without the reason.
    assert_eq!(
        conflict_code(&anonymise(&app, &manager, &p, reason).await),
        "participant_anonymised"
    );
    let details: Vec<Option<String>> = {
        use diesel::prelude::*;
        use reintegra::db::schema::audit_events::dsl::*;
        audit_events
            .filter(action.eq("participant.anonymise"))
            .filter(outcome.eq("allowed"))
            .select(details)
            .load(&mut conn)
            .unwrap()
    };
    assert_eq!(details.len(), 1);
    let d: Value = serde_json::from_str(details[0].as_deref().unwrap()).unwrap();
    assert_eq!(d["override"], true);
    assert_eq!(d["reason_given"], true);
    assert!(!details[0].as_deref().unwrap().contains("erasure"));
}

#[actix_web::test]
async fn after_the_retention_end_anonymisation_needs_no_override() {
    let app = TestApp::spawn().await;
    let mut manager = app.user(&[Role::Manager]).await;
    let psych = app.user(&[Role::Psychologist]).await;
    let p = app.register_participant(&psych, participant_body(1)).await;
    app.travel_to(
        Utc.with_ymd_and_hms(2032, 1, 2, 9, 0, 0).unwrap(),
        &mut [&mut manager],
    )
    .await;
    assert_eq!(due(&app, &manager).await, vec![p.clone()]);
    // A stale ETag (the record changed since the manager looked) anonymises nothing.
    let stale = app
        .call_as(
            &manager,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{p}/anonymise"))
                .insert_header(("if-match", "\"0\""))
                .set_json(json!({"reason": "Retention ended"})),
        )
        .await;
    stale.problem(412, "precondition-failed");
    assert_eq!(due(&app, &manager).await, vec![p.clone()], "still there");
    let res = anonymise(&app, &manager, &p, json!({"reason": "Retention ended"})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["status"], "anonymised");
    assert!(
        due(&app, &manager).await.is_empty(),
        "anonymised leave the list"
    );
    // Anonymised participants stay in lists.
    let list = app
        .get_as(&manager, "/api/v1/participants?status=anonymised")
        .await
        .json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["last_name"], "anonymised");
}
