//! Participants (api.md §5, §13.4): registration rules, visibility, updates, lists and search.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, pesel_for, TestApp};

fn post(body: Value) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/participants")
        .set_json(body)
}

#[actix_web::test]
async fn a_clinician_registers_a_participant_and_leads_the_team() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let res = app.call_as(&worker, post(participant_body(1))).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let p = res.json();
    let id = p["id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/participants/{id}").as_str())
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(p["status"], "referred");
    assert_eq!(
        p["care_team"],
        json!([{"staff_id": worker.id, "lead": true}])
    );
    assert_eq!(p["risk_groups"][0]["code"], "long_term_unemployed");
    assert_eq!(p["current_programme"], Value::Null);
    // Birth date and sex come from the PESEL.
    let pesel = reintegra::participants::pesel::Pesel::parse(&pesel_for(1)).unwrap();
    assert_eq!(p["birth_date"], pesel.birth_date().to_string());
    assert_eq!(p["sex"], "male");
    assert!(p["age"].as_i64().unwrap() > 18);
    assert!(app
        .audit_trail()
        .contains(&("participant.create".into(), "allowed".into())));
}

#[actix_web::test]
async fn without_pesel_a_document_birth_date_and_sex_are_required() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Counsellor]).await;
    let mut body = participant_body(2);
    body.as_object_mut().unwrap().remove("pesel");
    let res = app.call_as(&worker, post(body.clone())).await;
    res.problem(422, "validation");
    let mut fields: Vec<String> = res.field_errors().into_iter().map(|(f, _)| f).collect();
    fields.sort();
    assert_eq!(fields, vec!["/birth_date", "/id_document", "/sex"]);

    body["id_document"] =
        json!({"kind": "passport", "number": "FX123456", "issuing_country": "UA"});
    body["birth_date"] = json!("1990-05-17");
    body["sex"] = json!("female");
    let res = app.call_as(&worker, post(body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["id_document"]["issuing_country"], "UA");
}

#[actix_web::test]
async fn every_bad_field_is_listed_in_one_422() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Psychologist]).await;
    let res = app
        .call_as(
            &worker,
            post(json!({
                "first_name": "x".repeat(10_000),
                "last_name": "Kowal\u{0007}ska",
                "pesel": "87061302072",
                "phone": "600",
                "email": "not-an-email",
                "address": {"postal_code": "00950"},
                "education_level": "phd",
                "disability": "yes",
                "referral": {"source": "police", "referred_on": "2026-02-30"},
                "risk_groups": [{"code": "long_term_unemployed"}],
                "care_team": [{"staff_id": "nobody"}]
            })),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    let expected: Vec<(String, String)> = [
        ("/address/postal_code", "format"),
        ("/care_team/0/staff_id", "type"),
        ("/disability", "type"),
        ("/education_level", "enum"),
        ("/email", "email"),
        ("/first_name", "too_long"),
        ("/last_name", "control_character"),
        ("/pesel", "checksum"),
        ("/phone", "format"),
        ("/referral/referred_on", "date"),
        ("/referral/source", "enum"),
        ("/risk_groups/0/evidence", "required"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(errors, expected);
}

#[actix_web::test]
async fn pesel_must_agree_with_birth_date_and_sex_and_dates_not_be_future() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(3);
    body["birth_date"] = json!("1999-12-31");
    body["sex"] = json!("female");
    body["referral"]["referred_on"] = json!("2027-01-01");
    body["risk_groups"][0]["code"] = json!("astronauts");
    let res = app.call_as(&worker, post(body)).await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("/birth_date".to_string(), "pesel_mismatch".to_string()),
            ("/referral/referred_on".to_string(), "future".to_string()),
            ("/sex".to_string(), "pesel_mismatch".to_string()),
        ]
    );
}

#[actix_web::test]
async fn duplicate_pesel_is_409_revealing_the_holder_only_to_those_who_see_it() {
    let app = TestApp::spawn().await;
    let a = app.user(&[Role::SocialWorker]).await;
    let b = app.user(&[Role::SocialWorker]).await;
    let manager = app.user(&[Role::Manager]).await;
    let first = app.register_participant(&a, participant_body(4)).await;

    let mine = app.call_as(&a, post(participant_body(4))).await;
    assert_eq!(mine.problem(409, "conflict")["code"], "duplicate_pesel");
    assert_eq!(mine.json()["existing_participant_id"], first);
    let theirs = app.call_as(&b, post(participant_body(4))).await;
    assert_eq!(theirs.problem(409, "conflict")["code"], "duplicate_pesel");
    assert!(theirs.json().get("existing_participant_id").is_none());
    let mut body = participant_body(4);
    body["care_team"] = json!([{"staff_id": a.id, "lead": true}]);
    let managers = app.call_as(&manager, post(body)).await;
    assert_eq!(managers.json()["existing_participant_id"], first);
}

#[actix_web::test]
async fn a_manager_names_a_team_with_a_lead_of_active_clinicians() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let auditor = app.user(&[Role::Auditor]).await;

    let res = app.call_as(&manager, post(participant_body(5))).await;
    assert_eq!(
        res.field_errors(),
        vec![("/care_team".into(), "required".into())]
    );
    let mut body = participant_body(5);
    body["care_team"] = json!([{"staff_id": worker.id}, {"staff_id": auditor.id, "lead": true}]);
    let res = app.call_as(&manager, post(body.clone())).await;
    assert_eq!(
        res.field_errors(),
        vec![("/care_team/1/staff_id".into(), "not_clinical".into())]
    );
    body["care_team"] = json!([{"staff_id": worker.id, "lead": true}]);
    let res = app.call_as(&manager, post(body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(
        res.json()["care_team"],
        json!([{"staff_id": worker.id, "lead": true}])
    );
}

#[actix_web::test]
async fn visibility_follows_the_care_team() {
    let app = TestApp::spawn().await;
    let mine = app.user(&[Role::Psychologist]).await;
    let other = app.user(&[Role::Psychologist]).await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let id = app.register_participant(&mine, participant_body(6)).await;
    let path = format!("/api/v1/participants/{id}");

    assert_eq!(app.get_as(&mine, &path).await.status, 200);
    app.get_as(&other, &path).await.problem(404, "not-found");
    app.get_as(
        &other,
        &format!("/api/v1/participants/{}", uuid::Uuid::new_v4()),
    )
    .await
    .problem(404, "not-found");
    let full = app.get_as(&manager, &path).await.json();
    assert_eq!(full["phone"], "+48600100200");
    let audited = app.get_as(&auditor, &path).await.json();
    assert_eq!(audited["first_name"], "Anna");
    assert_eq!(audited["pesel"], pesel_for(6));
    for hidden in ["phone", "email", "address", "legal_representative"] {
        assert_eq!(
            audited[hidden],
            Value::Null,
            "{hidden} hidden from auditors"
        );
    }
    app.get_as(&admin, &path).await.problem(403, "forbidden");

    let trail = app.audit_trail();
    assert_eq!(
        trail
            .iter()
            .filter(|t| *t == &("participant.read".to_string(), "allowed".to_string()))
            .count(),
        3
    );
    assert!(trail.contains(&("participant.read".into(), "denied".into())));

    // Lists and search never show another team's participant.
    assert_eq!(
        app.get_as(&mine, "/api/v1/participants").await.json()["total"],
        1
    );
    assert_eq!(
        app.get_as(&other, "/api/v1/participants").await.json()["total"],
        0
    );
    assert_eq!(
        app.get_as(&other, "/api/v1/participants?q=anna")
            .await
            .json()["total"],
        0
    );
    let csv = app
        .call_as(
            &other,
            TestRequest::get()
                .uri("/api/v1/participants")
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(csv.text().lines().count(), 1, "header only");
    assert_eq!(
        app.get_as(&manager, "/api/v1/participants").await.json()["total"],
        1
    );
    assert_eq!(
        app.get_as(&auditor, "/api/v1/participants").await.json()["total"],
        1
    );
    app.get_as(&admin, "/api/v1/participants")
        .await
        .problem(403, "forbidden");
}

#[actix_web::test]
async fn search_folds_case_and_polish_letters_and_matches_pesel_prefixes() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    for (n, first, last) in [
        (10, "Łucja", "Żółć"),
        (11, "Zenon", "Łukasik"),
        (12, "Anna", "Lis"),
        (13, "Ewa", "Nowak"),
    ] {
        let mut body = participant_body(n);
        body["first_name"] = json!(first);
        body["last_name"] = json!(last);
        app.register_participant(&worker, body).await;
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let names = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["first_name"].as_str().unwrap(),
                    p["last_name"].as_str().unwrap()
                )
            })
            .collect()
    };
    let all = app.get_as(&worker, "/api/v1/participants").await.json();
    assert_eq!(
        names(all),
        vec!["Anna Lis", "Zenon Łukasik", "Ewa Nowak", "Łucja Żółć"]
    );
    assert_eq!(
        names(
            app.get_as(&worker, "/api/v1/participants?q=LUC")
                .await
                .json()
        ),
        vec!["Łucja Żółć"]
    );
    assert_eq!(
        names(
            app.get_as(&worker, "/api/v1/participants?q=zolc%20lu")
                .await
                .json()
        ),
        vec!["Łucja Żółć"]
    );
    assert_eq!(
        names(
            app.get_as(&worker, "/api/v1/participants?q=zenon%20%C5%82uk")
                .await
                .json()
        ),
        vec!["Zenon Łukasik"]
    );
    // "Ł" folds to "l": Lis, Łukasik and Łucja all start with it.
    assert_eq!(
        names(
            app.get_as(&worker, "/api/v1/participants?q=%C5%81")
                .await
                .json()
        ),
        vec!["Anna Lis", "Zenon Łukasik", "Łucja Żółć"]
    );
    let by_pesel = app
        .get_as(
            &worker,
            &format!("/api/v1/participants?q={}", &pesel_for(13)[..6]),
        )
        .await
        .json();
    assert_eq!(names(by_pesel), vec!["Ewa Nowak"]);
    let newest = app
        .get_as(&worker, "/api/v1/participants?sort=-created_at&per_page=1")
        .await
        .json();
    assert_eq!(names(newest.clone()), vec!["Ewa Nowak"]);
    assert_eq!(newest["total"], 4);
    let row = &newest["items"][0];
    let mut keys: Vec<_> = row.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "birth_date",
            "current_programme",
            "first_name",
            "id",
            "last_name",
            "lead_staff_id",
            "risk_groups",
            "sex",
            "status",
            "version"
        ]
    );
    assert_eq!(row["lead_staff_id"], worker.id);
    assert_eq!(row["risk_groups"], json!(["long_term_unemployed"]));
    for bad in [
        "status=asleep",
        "sort=name",
        "programme_active=maybe",
        "referred_from=yesterday",
        "colour=red",
    ] {
        app.get_as(&worker, &format!("/api/v1/participants?{bad}"))
            .await
            .problem(400, "malformed-request");
    }
    let lists = app
        .audit_trail()
        .iter()
        .filter(|(a, _)| a == "participant.list")
        .count();
    assert!(lists >= 6, "each list read is one participant.list event");
}

async fn patch(
    app: &TestApp,
    user: &crate::common::TestUser,
    id: &str,
    etag: &str,
    body: Value,
) -> crate::common::TestResponse {
    app.call_as(
        user,
        TestRequest::patch()
            .uri(&format!("/api/v1/participants/{id}"))
            .insert_header(("if-match", etag.to_owned()))
            .set_json(body),
    )
    .await
}

#[actix_web::test]
async fn personal_data_changes_with_if_match_and_one_of_two_concurrent_patches_wins() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let id = app
        .register_participant(&worker, participant_body(20))
        .await;

    let res = patch(
        &app,
        &worker,
        &id,
        "\"1\"",
        json!({"phone": null, "last_name": "Nowa"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["phone"], Value::Null);
    assert_eq!(res.json()["last_name"], "Nowa");
    assert_eq!(res.header("etag"), Some("\"2\""));
    let (a, b) = futures::join!(
        patch(&app, &worker, &id, "\"2\"", json!({"first_name": "Ala"})),
        patch(&app, &worker, &id, "\"2\"", json!({"first_name": "Ola"})),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);

    let new_pesel = pesel_for(21);
    let res = patch(&app, &worker, &id, "\"3\"", json!({"pesel": new_pesel})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let other = app
        .register_participant(&worker, participant_body(22))
        .await;
    let dup = patch(&app, &worker, &other, "\"1\"", json!({"pesel": new_pesel})).await;
    assert_eq!(dup.problem(409, "conflict")["code"], "duplicate_pesel");
    patch(&app, &auditor, &id, "\"4\"", json!({"first_name": "X"}))
        .await
        .problem(403, "forbidden");
    app.call_as(
        &worker,
        TestRequest::patch()
            .uri(&format!("/api/v1/participants/{id}"))
            .set_json(json!({"first_name": "X"})),
    )
    .await
    .problem(428, "precondition-required");
    let changed = app
        .get_as(&worker, &format!("/api/v1/participants/{id}"))
        .await;
    assert_eq!(changed.header("etag"), Some("\"4\""));
}

#[actix_web::test]
async fn an_auditor_who_is_also_a_clinician_sees_contact_details_of_their_own_caseload_only() {
    let app = TestApp::spawn().await;
    let both = app.user(&[Role::Auditor, Role::SocialWorker]).await;
    let other = app.user(&[Role::SocialWorker]).await;
    let theirs = app.register_participant(&other, participant_body(50)).await;
    let mine = app.register_participant(&both, participant_body(51)).await;
    let seen = app
        .get_as(&both, &format!("/api/v1/participants/{theirs}"))
        .await
        .json();
    assert_eq!(
        seen["phone"],
        Value::Null,
        "auditor view of another team's participant"
    );
    let own = app
        .get_as(&both, &format!("/api/v1/participants/{mine}"))
        .await
        .json();
    assert_eq!(own["phone"], "+48600100200");
}

#[actix_web::test]
async fn required_personal_fields_cannot_be_cleared_by_patch() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, participant_body(52))
        .await;
    let res = patch(
        &app,
        &worker,
        &id,
        "\"1\"",
        json!({"first_name": null, "sex": null, "email": null}),
    )
    .await;
    res.problem(422, "validation");
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/first_name".to_string(), "required".to_string()),
            ("/sex".to_string(), "required".to_string())
        ]
    );
}

#[actix_web::test]
async fn refusals_about_a_participant_are_visible_to_managers_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let outsider = app.user(&[Role::Psychologist]).await;
    let manager = app.user(&[Role::Manager]).await;
    let admin = app.user(&[Role::Admin]).await;
    let id = app.register_participant(&lead, participant_body(53)).await;
    app.get_as(&outsider, &format!("/api/v1/participants/{id}"))
        .await
        .problem(404, "not-found");
    let query = format!("/api/v1/audit-events?participant_id={id}&outcome=denied");
    let for_manager = app.get_as(&manager, &query).await.json();
    assert_eq!(for_manager["total"], 1, "{for_manager}");
    assert_eq!(for_manager["items"][0]["actor_id"], outsider.id);
    assert_eq!(app.get_as(&admin, &query).await.json()["total"], 0);
}

#[actix_web::test]
async fn date_rules_are_reported_with_the_other_field_errors() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(55);
    body["phone"] = json!("x");
    body["referral"]["referred_on"] = json!("2099-01-01");
    let res = app.call_as(&worker, post(body)).await;
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/phone".to_string(), "format".to_string()),
            ("/referral/referred_on".to_string(), "future".to_string()),
        ]
    );
}

/// A caseload listed by name is read from copies of the names kept on the care-team rows (one
/// index walk instead of sorting the caseload): a rename moves the participant in the list, a
/// reassigned caseload arrives in order, and the copies always equal the participant's names.
#[actix_web::test]
async fn a_caseload_by_name_follows_renames_and_reassignment() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let successor = app.user(&[Role::SocialWorker]).await;
    let manager = app.user(&[Role::Manager]).await;
    let mut ids = Vec::new();
    for (n, last) in [(1, "Zielińska"), (2, "Łukasik"), (3, "Adamska")] {
        let mut body = participant_body(n);
        body["last_name"] = json!(last);
        ids.push(app.register_participant(&worker, body).await);
    }
    let last_names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["last_name"].as_str().unwrap().to_owned())
            .collect()
    };
    let first_page = app
        .get_as(&worker, "/api/v1/participants?per_page=2")
        .await
        .json();
    assert_eq!(last_names(&first_page), ["Adamska", "Łukasik"]);
    assert_eq!(first_page["total"], 3);
    let second_page = app
        .get_as(&worker, "/api/v1/participants?per_page=2&page=2")
        .await
        .json();
    assert_eq!(last_names(&second_page), ["Zielińska"]);

    let path = format!("/api/v1/participants/{}", ids[0]);
    let etag = app
        .get_as(&worker, &path)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let res = app
        .call_as(
            &worker,
            TestRequest::patch()
                .uri(&path)
                .insert_header(("if-match", etag))
                .set_json(json!({"last_name": "Bąk"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let renamed = app.get_as(&worker, "/api/v1/participants").await.json();
    assert_eq!(last_names(&renamed), ["Adamska", "Bąk", "Łukasik"]);

    let res = app
        .call_as(
            &manager,
            TestRequest::post()
                .uri(&format!("/api/v1/staff/{}/reassign-caseload", worker.id))
                .set_json(json!({"to_staff_id": successor.id})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let moved = app.get_as(&successor, "/api/v1/participants").await.json();
    assert_eq!(last_names(&moved), ["Adamska", "Bąk", "Łukasik"]);
    assert_eq!(
        app.get_as(&worker, "/api/v1/participants").await.json()["total"],
        0
    );

    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM care_team_members c JOIN participants p \
             ON p.id = c.participant_id WHERE c.last_name <> p.last_name \
             OR c.first_name <> p.first_name OR c.last_name_key <> p.last_name_key \
             OR c.first_name_key <> p.first_name_key",
        ),
        0,
        "every care-team row carries its participant's names"
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM care_team_members"),
        3
    );
}

/// `GET /participants/{id}` reads the record, its risk groups, whole care team and open
/// programme in one joined statement and places the caller from that team: each group and member
/// appears once, in order, the record is the one a write answers, and team membership still
/// decides who sees it (a non-lead member yes, a clinician of another team no).
#[actix_web::test]
async fn a_record_with_several_risk_groups_and_team_members_reads_as_it_was_written() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let psychologist = app.user(&[Role::Psychologist]).await;
    let counsellor = app.user(&[Role::Counsellor]).await;
    let outsider = app.user(&[Role::Psychologist]).await;
    let mut body = participant_body(41);
    body["risk_groups"] = json!([
        {"code": "long_term_unemployed", "evidence": "PUP certificate 12/2026", "evidence_date": "2026-02-10"},
        {"code": "disability", "evidence": "Disability certificate 3/2024"},
        {"code": "alcohol_after_therapy", "evidence": "Treatment centre certificate 7/2025"}
    ]);
    body["care_team"] = json!([
        {"staff_id": psychologist.id},
        {"staff_id": counsellor.id},
        {"staff_id": lead.id, "lead": true}
    ]);
    let created = app.call_as(&manager, post(body)).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let written = created.json();
    let id = written["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/participants/{id}");

    let codes: Vec<&str> = written["risk_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "alcohol_after_therapy",
            "disability",
            "long_term_unemployed"
        ]
    );
    assert_eq!(written["care_team"].as_array().unwrap().len(), 3);
    assert_eq!(written["care_team"][0]["staff_id"], lead.id.as_str());

    for reader in [&manager, &lead, &psychologist, &counsellor] {
        let read = app.get_as(reader, &path).await;
        assert_eq!(read.status, 200, "{}", read.text());
        assert_eq!(read.json(), written, "read as {:?}", reader.roles);
    }
    app.get_as(&outsider, &path).await.problem(404, "not-found");

    // With a programme open, the read shows it (and no retention end) exactly once.
    app.qualify(&lead, &id).await;
    let started = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{id}/programmes"))
                .set_json(json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny", "basis_reference": "KS/12/2026"})),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text());
    let read = app.get_as(&psychologist, &path).await.json();
    assert_eq!(read["current_programme"]["id"], started.json()["id"]);
    assert_eq!(read["retention_until"], Value::Null);
    assert_eq!(read["risk_groups"].as_array().unwrap().len(), 3);
    assert_eq!(read["care_team"], written["care_team"]);

    // A member's caseload page (one index walk that brings the lead and the open programme
    // along) shows the same row as the manager's list of everyone (loaded by the page's ids).
    let caseload = app
        .get_as(&psychologist, "/api/v1/participants")
        .await
        .json();
    assert_eq!(caseload["total"], 1);
    let row = &caseload["items"][0];
    assert_eq!(row["lead_staff_id"], lead.id.as_str());
    assert_eq!(row["current_programme"]["id"], started.json()["id"]);
    assert_eq!(
        row["risk_groups"],
        json!([
            "alcohol_after_therapy",
            "disability",
            "long_term_unemployed"
        ])
    );
    let everyone = app.get_as(&manager, "/api/v1/participants").await.json();
    assert_eq!(&everyone["items"][0], row);
}
