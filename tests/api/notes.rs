//! Case notes (api.md §5 "Case notes", §13.3, §13.4): append-only notes, psychologist notes
//! withheld, corrections, visibility, audit.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{participant_body, TestApp, TestUser};
use crate::consents::audit_rows;

fn post_note(participant: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/api/v1/participants/{participant}/notes"))
        .set_json(body)
}

/// Writes a note as `user` through the API; answers its id.
pub async fn write_note(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    body: &str,
    confidentiality: &str,
) -> String {
    let res = app
        .call_as(
            user,
            post_note(
                participant,
                json!({"body": body, "confidentiality": confidentiality}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "write note: {}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

async fn list(app: &TestApp, user: &TestUser, participant: &str) -> Value {
    let res = app
        .get_as(user, &format!("/api/v1/participants/{participant}/notes"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A participant whose care team is a psychologist (lead) and a social worker.
async fn shared_team(app: &TestApp, n: u32) -> (TestUser, TestUser, String) {
    let psychologist = app.user(&[Role::Psychologist]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(n);
    body["care_team"] = json!([
        {"staff_id": psychologist.id, "lead": true},
        {"staff_id": worker.id, "lead": false}
    ]);
    let p = app.register_participant(&psychologist, body).await;
    (psychologist, worker, p)
}

#[actix_web::test]
async fn a_team_member_appends_a_note() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(1)).await;
    let text = "Rozmowa wstępna.\n\tUczestniczka chce pracować w gastronomii.";
    let res = app
        .call_as(
            &worker,
            post_note(&p, json!({"body": text, "confidentiality": "team"})),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let n = res.json();
    let id = n["id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/notes/{id}").as_str())
    );
    assert_eq!(
        n,
        json!({
            "id": id, "participant_id": p, "body": text, "confidentiality": "team",
            "author_id": worker.id, "created_at": "2026-03-02T09:00:00.000000Z",
            "corrects_note_id": null, "corrected_by_note_id": null
        })
    );
    let read = app.get_as(&worker, &format!("/api/v1/notes/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(read.json(), n);

    let rows = audit_rows(&app, "note.create");
    assert_eq!(rows.len(), 1);
    let (participant, entity, changed, details) = &rows[0];
    assert_eq!(participant.as_deref(), Some(p.as_str()));
    assert_eq!(entity.as_deref(), Some(id));
    assert_eq!(changed, &json!(["body", "confidentiality"]));
    assert_eq!(details, &Some(json!({"confidentiality": "team"})));
    // The body never reaches the audit log.
    let dump = format!("{:?}", audit_rows(&app, "note.list"));
    assert!(!dump.contains("gastronomii"), "{dump}");
}

#[actix_web::test]
async fn every_bad_field_is_listed_in_one_422() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Counsellor]).await;
    let p = app.register_participant(&worker, participant_body(2)).await;
    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "  ", "confidentiality": "secret", "corrects_note_id": "note-1"}),
            ),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("/body", "blank"),
            ("/confidentiality", "enum"),
            ("/corrects_note_id", "type"),
        ]
        .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    let res = app.call_as(&worker, post_note(&p, json!({}))).await;
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [("/body", "required"), ("/confidentiality", "required")]
            .map(|(f, c)| (f.to_string(), c.to_string()))
    );
    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "x".repeat(20_001), "confidentiality": "team"}),
            ),
        )
        .await;
    assert_eq!(
        res.field_errors(),
        vec![("/body".to_string(), "too_long".to_string())]
    );
    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "x".repeat(20_000), "confidentiality": "team"}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "20,000 characters are allowed");
    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "ok", "confidentiality": "team", "corrects_note_id": uuid::Uuid::new_v4()}),
            ),
        )
        .await;
    assert_eq!(
        res.field_errors(),
        vec![("/corrects_note_id".to_string(), "unknown".to_string())]
    );
}

#[actix_web::test]
async fn psychologist_notes_are_for_the_teams_psychologists_only() {
    let app = TestApp::spawn().await;
    let (psychologist, worker, p) = shared_team(&app, 3).await;
    let manager = app.user(&[Role::Manager]).await;
    let outsider = app.user(&[Role::Psychologist]).await;

    let team_note = write_note(&app, &worker, &p, "Wizyta domowa", "team").await;
    app.clock.advance(chrono::Duration::minutes(1));
    let secret = write_note(
        &app,
        &psychologist,
        &p,
        "Obserwacje terapeutyczne",
        "psychologist",
    )
    .await;
    app.clock.advance(chrono::Duration::minutes(1));
    let secret2 = write_note(&app, &psychologist, &p, "Druga sesja", "psychologist").await;
    app.clock.advance(chrono::Duration::minutes(1));
    let manager_note = write_note(&app, &manager, &p, "Uwagi kierownika", "team").await;

    // Only a psychologist on the team writes them.
    for caller in [&worker, &manager] {
        app.call_as(
            caller,
            post_note(&p, json!({"body": "x", "confidentiality": "psychologist"})),
        )
        .await
        .problem(403, "forbidden");
    }
    app.call_as(
        &outsider,
        post_note(&p, json!({"body": "x", "confidentiality": "psychologist"})),
    )
    .await
    .problem(404, "not-found");

    // The team's psychologist sees everything, newest first.
    let page = list(&app, &psychologist, &p).await;
    assert_eq!(
        ids(&page),
        vec![
            manager_note.clone(),
            secret2.clone(),
            secret.clone(),
            team_note.clone()
        ]
    );
    assert_eq!(
        (page["total"].clone(), page["withheld"].clone()),
        (json!(4), json!(0))
    );

    // The social worker on the same team and the manager get them withheld.
    for caller in [&worker, &manager] {
        let page = list(&app, caller, &p).await;
        assert_eq!(ids(&page), vec![manager_note.clone(), team_note.clone()]);
        assert_eq!(page["total"], 2);
        assert_eq!(page["withheld"], 2);
        assert_eq!(page["page"], 1);
        assert_eq!(page["per_page"], 50);
        app.get_as(caller, &format!("/api/v1/notes/{secret}"))
            .await
            .problem(404, "not-found");
        assert_eq!(
            app.get_as(caller, &format!("/api/v1/notes/{team_note}"))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        app.get_as(&psychologist, &format!("/api/v1/notes/{secret}"))
            .await
            .json()["body"],
        "Obserwacje terapeutyczne"
    );

    // Pages count what the caller may see.
    let res = app
        .get_as(
            &worker,
            &format!("/api/v1/participants/{p}/notes?page=2&per_page=1"),
        )
        .await;
    let page = res.json();
    assert_eq!(ids(&page), vec![team_note.clone()]);
    assert_eq!(
        (page["total"].clone(), page["withheld"].clone()),
        (json!(2), json!(2))
    );

    let lists = audit_rows(&app, "note.list");
    let details: Vec<Value> = lists.iter().filter_map(|r| r.3.clone()).collect();
    assert!(
        details.contains(&json!({"count": 4, "withheld": 0})),
        "{details:?}"
    );
    assert!(
        details.contains(&json!({"count": 2, "withheld": 2})),
        "{details:?}"
    );
    assert!(
        details.contains(&json!({"count": 1, "withheld": 2})),
        "{details:?}"
    );
    assert!(lists.iter().all(|r| r.0.as_deref() == Some(p.as_str())));
    let creates: Vec<Value> = audit_rows(&app, "note.create")
        .into_iter()
        .filter_map(|r| r.3)
        .collect();
    assert_eq!(
        creates
            .iter()
            .filter(|d| **d == json!({"confidentiality": "psychologist"}))
            .count(),
        2
    );
    let trail = app.audit_trail();
    assert!(
        trail.contains(&("note.write_psychologist".into(), "denied".into())),
        "{trail:?}"
    );
    assert!(
        trail.contains(&("note.read_psychologist".into(), "denied".into())),
        "{trail:?}"
    );
}

#[actix_web::test]
async fn a_correction_is_a_new_note_keeping_the_confidentiality() {
    let app = TestApp::spawn().await;
    let (psychologist, worker, p) = shared_team(&app, 4).await;
    let original = write_note(&app, &worker, &p, "Spotkanie 3 marca", "team").await;
    app.clock.advance(chrono::Duration::minutes(1));

    // Asking for another confidentiality than the corrected note's is refused.
    let res = app
        .call_as(
            &psychologist,
            post_note(
                &p,
                json!({"body": "x", "confidentiality": "psychologist", "corrects_note_id": original}),
            ),
        )
        .await;
    assert_eq!(
        res.field_errors(),
        vec![(
            "/confidentiality".to_string(),
            "correction_mismatch".to_string()
        )]
    );

    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "Spotkanie 4 marca", "corrects_note_id": original}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let correction = res.json();
    let correction_id = correction["id"].as_str().unwrap().to_owned();
    assert_eq!(correction["corrects_note_id"], original);
    assert_eq!(correction["confidentiality"], "team");
    assert_eq!(correction["corrected_by_note_id"], Value::Null);

    let page = list(&app, &worker, &p).await;
    assert_eq!(ids(&page), vec![correction_id.clone(), original.clone()]);
    assert_eq!(page["items"][1]["corrected_by_note_id"], correction_id);
    assert_eq!(
        page["items"][1]["body"], "Spotkanie 3 marca",
        "the original stays"
    );
    let read = app
        .get_as(&worker, &format!("/api/v1/notes/{original}"))
        .await;
    assert_eq!(read.json()["corrected_by_note_id"], correction_id);

    // A note is corrected once; the correction itself may be corrected.
    let res = app
        .call_as(
            &psychologist,
            post_note(
                &p,
                json!({"body": "again", "confidentiality": "team", "corrects_note_id": original}),
            ),
        )
        .await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "note_already_corrected"
    );
    let res = app
        .call_as(
            &psychologist,
            post_note(
                &p,
                json!({"body": "Spotkanie 5 marca", "corrects_note_id": correction_id}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());

    // A psychologist note corrected by the psychologist stays a psychologist note; the social
    // worker cannot even name it.
    let secret = write_note(&app, &psychologist, &p, "Obserwacja", "psychologist").await;
    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "x", "confidentiality": "team", "corrects_note_id": secret}),
            ),
        )
        .await;
    assert_eq!(
        res.field_errors(),
        vec![("/corrects_note_id".to_string(), "unknown".to_string())]
    );
    let res = app
        .call_as(
            &psychologist,
            post_note(
                &p,
                json!({"body": "Obserwacja (poprawiona)", "corrects_note_id": secret}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["confidentiality"], "psychologist");
    assert_eq!(list(&app, &worker, &p).await["withheld"], 2);

    // A note of another participant cannot be corrected here.
    let other = app.register_participant(&worker, participant_body(5)).await;
    let foreign = write_note(&app, &worker, &other, "Inna osoba", "team").await;
    let res = app
        .call_as(
            &worker,
            post_note(
                &p,
                json!({"body": "x", "confidentiality": "team", "corrects_note_id": foreign}),
            ),
        )
        .await;
    assert_eq!(
        res.field_errors(),
        vec![("/corrects_note_id".to_string(), "unknown".to_string())]
    );
    let rows = audit_rows(&app, "note.create");
    assert_eq!(
        rows.iter()
            .filter(|r| r.2 == json!(["body", "confidentiality", "corrects_note_id"]))
            .count(),
        3
    );
}

#[actix_web::test]
async fn visibility_follows_the_care_team_and_roles() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let stranger = app.user(&[Role::SocialWorker]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let admin = app.user(&[Role::Admin]).await;
    let manager = app.user(&[Role::Manager]).await;
    let p = app.register_participant(&worker, participant_body(6)).await;
    let note = write_note(&app, &worker, &p, "Notatka", "team").await;
    let list_path = format!("/api/v1/participants/{p}/notes");
    let one = format!("/api/v1/notes/{note}");
    let new = || post_note(&p, json!({"body": "x", "confidentiality": "team"}));

    app.get_as(&stranger, &list_path)
        .await
        .problem(404, "not-found");
    app.get_as(&stranger, &one).await.problem(404, "not-found");
    app.call_as(&stranger, new())
        .await
        .problem(404, "not-found");

    for caller in [&auditor, &admin] {
        app.get_as(caller, &list_path)
            .await
            .problem(403, "forbidden");
        app.get_as(caller, &one).await.problem(403, "forbidden");
        app.call_as(caller, new()).await.problem(403, "forbidden");
    }

    // Managers read and write team notes of every participant.
    assert_eq!(ids(&list(&app, &manager, &p).await), vec![note.clone()]);
    assert_eq!(app.call_as(&manager, new()).await.status, 201);

    let ghost = uuid::Uuid::new_v4();
    app.get_as(&worker, &format!("/api/v1/notes/{ghost}"))
        .await
        .problem(404, "not-found");
    app.get_as(&worker, "/api/v1/notes/42")
        .await
        .problem(404, "not-found");
    app.call_as(
        &worker,
        post_note(
            &ghost.to_string(),
            json!({"body": "x", "confidentiality": "team"}),
        ),
    )
    .await
    .problem(404, "not-found");

    let trail = app.audit_trail();
    for action in ["note.read", "note.write"] {
        assert!(
            trail.contains(&(action.to_string(), "denied".to_string())),
            "{action}: {trail:?}"
        );
    }
}

#[actix_web::test]
async fn notes_are_append_only() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(7)).await;
    let note = write_note(&app, &worker, &p, "Notatka", "team").await;
    for method in [
        actix_web::http::Method::PATCH,
        actix_web::http::Method::DELETE,
    ] {
        app.call_as(
            &worker,
            TestRequest::default()
                .method(method.clone())
                .uri(&format!("/api/v1/notes/{note}"))
                .set_json(json!({"body": "changed"})),
        )
        .await
        .problem(405, "method-not-allowed");
    }
    assert_eq!(list(&app, &worker, &p).await["items"][0]["body"], "Notatka");
}

#[actix_web::test]
async fn anonymised_participants_take_no_new_notes() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let p = app.register_participant(&worker, participant_body(8)).await;
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
            post_note(&p, json!({"body": "x", "confidentiality": "team"})),
        )
        .await;
    assert_eq!(
        res.problem(409, "conflict")["code"],
        "participant_anonymised"
    );
}
