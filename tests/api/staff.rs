//! Staff accounts (api.md §4, §13.7): creation, the directory, updates, the last admin,
//! password resets, idempotent creation, and `reintegra create-admin`.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{TestApp, TestResponse, TestUser, TEST_PASSWORD};

fn new_staff(email: &str, roles: &[&str]) -> Value {
    json!({"email": email, "full_name": "Joanna Żak", "roles": roles, "initial_password": "first password 123"})
}

async fn create(app: &TestApp, admin: &TestUser, body: Value) -> TestResponse {
    app.call_as(
        admin,
        TestRequest::post().uri("/api/v1/staff").set_json(body),
    )
    .await
}

async fn patch(app: &TestApp, admin: &TestUser, id: &str, etag: &str, body: Value) -> TestResponse {
    app.call_as(
        admin,
        TestRequest::patch()
            .uri(&format!("/api/v1/staff/{id}"))
            .insert_header(("if-match", etag.to_owned()))
            .set_json(body),
    )
    .await
}

async fn etag_of(app: &TestApp, admin: &TestUser, id: &str) -> String {
    app.get_as(admin, &format!("/api/v1/staff/{id}"))
        .await
        .header("etag")
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn admins_create_accounts_with_unique_case_insensitive_emails() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = create(
        &app,
        &admin,
        new_staff(
            "Joanna.Zak@Club.test",
            &["psychologist", "counsellor", "psychologist"],
        ),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body = res.json();
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/staff/{id}").as_str())
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(body["email"], "joanna.zak@club.test");
    assert_eq!(body["roles"], json!(["psychologist", "counsellor"]));
    assert_eq!(body["active"], true);
    assert_eq!(body["must_change_password"], true);
    assert!(body.get("password_hash").is_none());

    let dup = create(
        &app,
        &admin,
        new_staff("JOANNA.ZAK@club.test", &["manager"]),
    )
    .await;
    assert_eq!(dup.problem(409, "conflict")["code"], "email_taken");
    assert!(app
        .audit_trail()
        .contains(&("staff.create".into(), "allowed".into())));
}

#[actix_web::test]
async fn invalid_accounts_list_every_field_error() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = create(
        &app,
        &admin,
        json!({"email": "not-an-email", "full_name": "x".repeat(101), "roles": ["boss"],
               "initial_password": "short", "active_until": "2026-02-30"}),
    )
    .await;
    res.problem(422, "validation");
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("/active_until".to_string(), "date".to_string()),
            ("/email".to_string(), "email".to_string()),
            ("/full_name".to_string(), "too_long".to_string()),
            ("/initial_password".to_string(), "too_short".to_string()),
            ("/roles/0".to_string(), "enum".to_string()),
        ]
    );
    // The password rule needs a valid e-mail to check against; alone it is reported too.
    let res = create(&app, &admin, json!({"email": "ola@club.test", "full_name": "Ola", "roles": [], "initial_password": "ola-is-my-password"})).await;
    let mut fields = res.field_errors();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            (
                "/initial_password".to_string(),
                "contains_email".to_string()
            ),
            ("/roles".to_string(), "required".to_string()),
        ]
    );
}

#[actix_web::test]
async fn everyone_sees_the_directory_and_only_admins_the_accounts() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let psychologist = app.user(&[Role::Psychologist]).await;
    let auditor = app.user(&[Role::Auditor]).await;

    let full = app.get_as(&admin, "/api/v1/staff").await;
    assert_eq!(full.status, 200);
    assert_eq!(full.json()["total"], 3);
    assert!(full.json()["items"][0]["email"].is_string());

    for user in [&psychologist, &auditor] {
        let dir = app.get_as(user, "/api/v1/staff").await.json();
        let entry = dir["items"][0].as_object().unwrap();
        let mut keys: Vec<_> = entry.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, vec!["active", "full_name", "id", "roles"]);
        let one = app
            .get_as(user, &format!("/api/v1/staff/{}", admin.id))
            .await
            .json();
        assert!(one.get("email").is_none(), "{one}");
    }

    let filtered = app
        .get_as(&psychologist, "/api/v1/staff?role=auditor")
        .await
        .json();
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["id"], auditor.id);
    let named = app
        .get_as(&admin, "/api/v1/staff?q=TEST%20PSYCH")
        .await
        .json();
    assert_eq!(named["total"], 1, "{named}");
    app.get_as(&admin, "/api/v1/staff?role=boss")
        .await
        .problem(400, "malformed-request");
    app.get_as(&admin, "/api/v1/staff?colour=red")
        .await
        .problem(400, "malformed-request");
    app.get_as(&admin, &format!("/api/v1/staff/{}", uuid::Uuid::new_v4()))
        .await
        .problem(404, "not-found");
}

#[actix_web::test]
async fn the_directory_is_sorted_by_name_across_polish_letters() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    for (i, name) in ["Żaneta Nowak", "Łukasz Lis", "Anna Zając", "Ewa Kowal"]
        .iter()
        .enumerate()
    {
        let res = create(
            &app,
            &admin,
            json!({"email": format!("p{i}@club.test"), "full_name": name, "roles": ["counsellor"], "initial_password": "first password 123"}),
        )
        .await;
        assert_eq!(res.status, 201);
    }
    let list = app
        .get_as(&admin, "/api/v1/staff?role=counsellor")
        .await
        .json();
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["full_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        vec!["Anna Zając", "Ewa Kowal", "Łukasz Lis", "Żaneta Nowak"]
    );
    let found = app.get_as(&admin, "/api/v1/staff?q=lukasz").await.json();
    assert_eq!(found["items"][0]["full_name"], "Łukasz Lis");
    let by_surname = app.get_as(&admin, "/api/v1/staff?q=zaj").await.json();
    assert_eq!(by_surname["items"][0]["full_name"], "Anna Zając");
}

#[actix_web::test]
async fn updates_need_if_match_and_role_changes_end_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let path = format!("/api/v1/staff/{}", worker.id);

    app.call_as(
        &admin,
        TestRequest::patch()
            .uri(&path)
            .set_json(json!({"full_name": "X"})),
    )
    .await
    .problem(428, "precondition-required");
    let res = patch(
        &app,
        &admin,
        &worker.id,
        "\"1\"",
        json!({"roles": ["social_worker", "manager"], "full_name": "Maria Wiśniewska"}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    assert_eq!(res.json()["roles"], json!(["manager", "social_worker"]));
    let stale = patch(
        &app,
        &admin,
        &worker.id,
        "\"1\"",
        json!({"full_name": "Late"}),
    )
    .await;
    assert_eq!(
        stale.problem(412, "precondition-failed")["current_version"],
        2
    );

    // The role change took effect at once: the old token no longer works.
    app.get_as(&worker, "/api/v1/auth/me")
        .await
        .problem(401, "unauthorized");
    let relogged = app.login(&worker.email, TEST_PASSWORD).await.json();
    assert_eq!(
        relogged["staff"]["roles"],
        json!(["manager", "social_worker"])
    );

    // A name change alone keeps sessions.
    let again = app.user(&[Role::Counsellor]).await;
    let etag = etag_of(&app, &admin, &again.id).await;
    assert_eq!(
        patch(
            &app,
            &admin,
            &again.id,
            &etag,
            json!({"full_name": "New Name"})
        )
        .await
        .status,
        200
    );
    assert_eq!(app.get_as(&again, "/api/v1/auth/me").await.status, 200);

    let taken = patch(
        &app,
        &admin,
        &again.id,
        "\"2\"",
        json!({"email": worker.email.to_uppercase()}),
    )
    .await;
    assert_eq!(taken.problem(409, "conflict")["code"], "email_taken");
    let res = app.call_as(&admin, TestRequest::delete().uri(&path)).await;
    res.problem(405, "method-not-allowed");
    assert!(app
        .audit_trail()
        .contains(&("staff.update".into(), "allowed".into())));
}

#[actix_web::test]
async fn the_last_active_admin_cannot_be_demoted_or_deactivated() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    for body in [
        json!({"roles": ["manager"]}),
        json!({"active": false}),
        json!({"active_until": "2026-01-01"}),
    ] {
        let res = patch(&app, &admin, &admin.id, "\"1\"", body).await;
        assert_eq!(res.problem(409, "conflict")["code"], "last_admin");
    }
    // With a second admin the first may step down.
    let (second, _) = app.create_staff(&[Role::Admin], false);
    let res = patch(
        &app,
        &admin,
        &admin.id,
        "\"1\"",
        json!({"roles": ["manager"]}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let _ = second;
}

#[actix_web::test]
async fn two_concurrent_demotions_of_the_last_two_admins_leave_one() {
    let app = TestApp::spawn().await;
    let a = app.user(&[Role::Admin]).await;
    let b = app.user(&[Role::Admin]).await;
    let (ra, rb) = futures::join!(
        patch(&app, &a, &b.id, "\"1\"", json!({"roles": ["manager"]})),
        patch(&app, &b, &a.id, "\"1\"", json!({"active": false})),
    );
    let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
    statuses.sort();
    // The loser is refused by the last-admin rule (409) or, when the winner's change ended its
    // session before its request was authenticated, by the token check (401).
    assert!(
        statuses == [200, 409] || statuses == [200, 401],
        "{} / {}",
        ra.text(),
        rb.text()
    );
    let admins = app
        .get_as(
            if ra.status == 200 { &a } else { &b },
            "/api/v1/staff?role=admin&active=true",
        )
        .await;
    let count = admins.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["active"] == true)
        .count();
    assert_eq!(count, 1, "{}", admins.text());
}

#[actix_web::test]
async fn fifty_concurrent_creations_never_fail_with_500() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let requests = (0..50).map(|i| {
        // Every fifth e-mail repeats another one: duplicates must be 409, never 500.
        let email = format!("person{}@club.test", if i % 5 == 4 { i - 1 } else { i });
        create(&app, &admin, new_staff(&email, &["counsellor"]))
    });
    let results = futures::future::join_all(requests).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let conflicts = results.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (40, 10),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let total = app
        .get_as(&admin, "/api/v1/staff?role=counsellor")
        .await
        .json()["total"]
        .clone();
    assert_eq!(total, 40);
}

#[actix_web::test]
async fn reset_password_forces_a_change_clears_throttling_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let worker = app.user(&[Role::SocialWorker]).await;
    for _ in 0..5 {
        app.login(&worker.email, "wrong password here").await;
    }
    app.login(&worker.email, TEST_PASSWORD)
        .await
        .problem(429, "rate-limited");

    let path = format!("/api/v1/staff/{}/reset-password", worker.id);
    let weak = app
        .call_as(
            &admin,
            TestRequest::post()
                .uri(&path)
                .set_json(json!({"initial_password": "short"})),
        )
        .await;
    assert_eq!(
        weak.field_errors(),
        vec![("/initial_password".into(), "too_short".into())]
    );
    let res = app
        .call_as(
            &admin,
            TestRequest::post()
                .uri(&path)
                .set_json(json!({"initial_password": "reset password 456"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["must_change_password"], true);
    app.get_as(&worker, "/api/v1/auth/me")
        .await
        .problem(401, "unauthorized");
    let login = app.login(&worker.email, "reset password 456").await;
    assert_eq!(
        login.status,
        200,
        "throttling was cleared: {}",
        login.text()
    );
    assert_eq!(login.json()["staff"]["must_change_password"], true);
    let stale = app
        .call_as(
            &admin,
            TestRequest::post()
                .uri(&path)
                .insert_header(("if-match", "\"1\""))
                .set_json(json!({"initial_password": "another password 789"})),
        )
        .await;
    stale.problem(412, "precondition-failed");
}

#[actix_web::test]
async fn creation_with_an_idempotency_key_is_replayed_not_repeated() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let post = |key: &str, body: Value| {
        TestRequest::post()
            .uri("/api/v1/staff")
            .insert_header(("idempotency-key", key.to_owned()))
            .set_json(body)
    };
    let first = app
        .call_as(
            &admin,
            post("k-1", new_staff("once@club.test", &["manager"])),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    // Same key, same request (keys in another order): the stored reply, not a second account.
    let body = json!({"roles": ["manager"], "initial_password": "first password 123", "full_name": "Joanna Żak", "email": "once@club.test"});
    let replay = app.call_as(&admin, post("k-1", body)).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.json(), first.json());
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(replay.header("etag"), first.header("etag"));
    let creations = app
        .audit_trail()
        .iter()
        .filter(|(a, _)| a == "staff.create")
        .count();
    assert_eq!(creations, 1);

    // Same key, different body → 422.
    let other = app
        .call_as(
            &admin,
            post("k-1", new_staff("twice@club.test", &["manager"])),
        )
        .await;
    assert_eq!(
        other.problem(422, "validation")["errors"][0]["field"],
        "Idempotency-Key"
    );
    // Keys are per staff member: another admin's k-1 is a new request.
    let admin2 = app.user(&[Role::Admin]).await;
    let theirs = app
        .call_as(
            &admin2,
            post("k-1", new_staff("twice@club.test", &["manager"])),
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert!(theirs.header("idempotency-replayed").is_none());
    // A failed request releases its key: a corrected retry with the same key goes through.
    let bad = app
        .call_as(&admin, post("k-2", new_staff("bad", &["manager"])))
        .await;
    assert_eq!(bad.status, 422);
    let good = app
        .call_as(
            &admin,
            post("k-2", new_staff("good@club.test", &["manager"])),
        )
        .await;
    assert_eq!(good.status, 201, "{}", good.text());
    // After 24 hours a key may be used afresh.
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let admin_again = TestUser {
        token: app.login(&admin.email, TEST_PASSWORD).await.json()["access_token"]
            .as_str()
            .unwrap()
            .into(),
        ..admin.clone()
    };
    let later = app
        .call_as(
            &admin_again,
            post("k-1", new_staff("later@club.test", &["manager"])),
        )
        .await;
    assert_eq!(later.status, 201);
    assert!(later.header("idempotency-replayed").is_none());
    let too_long = app
        .call_as(
            &admin_again,
            post(&"k".repeat(65), new_staff("x@club.test", &["manager"])),
        )
        .await;
    too_long.problem(422, "validation");
}

#[actix_web::test]
async fn a_stored_reply_is_not_replayed_to_a_session_that_has_ended() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let post = || {
        TestRequest::post()
            .uri("/api/v1/staff")
            .insert_header(("idempotency-key", "once"))
            .set_json(new_staff("kept@club.test", &["manager"]))
    };
    assert_eq!(app.call_as(&admin, post()).await.status, 201);
    assert_eq!(
        app.call_as(&admin, TestRequest::post().uri("/api/v1/auth/logout-all"))
            .await
            .status,
        204
    );
    let replay = app.call_as(&admin, post()).await;
    replay.problem(401, "unauthorized");
    assert!(replay.header("idempotency-replayed").is_none());
}
