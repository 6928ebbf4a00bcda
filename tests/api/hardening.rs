//! Defects a security and integrity review found (issue "Hardening"), each pinned by a test.

use actix_web::test::TestRequest;
use chrono::Duration;
use diesel::connection::SimpleConnection;
use serde_json::json;

use reintegra::policy::Role;

use crate::common::{backend, count, Backend, TestApp, TEST_PASSWORD};

fn failures(app: &TestApp) -> i64 {
    count(&mut app.conn(), "SELECT COUNT(*) AS n FROM login_failures")
}

/// The throttle decides and records an attempt in one transaction, so attempts in flight count
/// against each other: 30 parallel wrong passwords run at most 5 password checks.
#[actix_web::test]
async fn thirty_parallel_wrong_passwords_get_at_most_five_answers_of_401() {
    let app = TestApp::spawn().await;
    let (_, email) = app.create_staff(&[Role::SocialWorker], false);
    let attempts = (0..30).map(|_| app.login(&email, "a wrong password"));
    let answers = futures::future::join_all(attempts).await;
    let wrong = answers.iter().filter(|r| r.status == 401).count();
    let throttled = answers.iter().filter(|r| r.status == 429).count();
    assert!(wrong <= 5, "{wrong} password checks ran");
    assert_eq!(wrong + throttled, 30);
    assert_eq!(failures(&app), wrong as i64);
}

/// An e-mail longer than RFC 5321 allows is refused before it reaches the throttle table (a
/// 4 KB one was a 500 on PostgreSQL: the index row was too large).
#[actix_web::test]
async fn an_overlong_login_email_is_422_and_leaves_no_throttle_row() {
    let app = TestApp::spawn().await;
    let email = format!("{}@club.test", "a".repeat(4096));
    let res = app.login(&email, "whatever it is").await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/email".to_string(), "too_long".to_string())]
    );
    assert_eq!(failures(&app), 0);
}

/// Failures past their 15-minute window are pruned for every e-mail, so a spray of distinct
/// addresses cannot grow the table without bound.
#[actix_web::test]
async fn throttle_rows_past_their_window_are_pruned() {
    let app = TestApp::spawn().await;
    for i in 0..10 {
        app.login(&format!("ghost{i}@club.test"), "whatever it is")
            .await;
    }
    assert_eq!(failures(&app), 10);
    app.clock.advance(Duration::minutes(16));
    app.login("another.ghost@club.test", "whatever it is").await;
    assert_eq!(failures(&app), 1);
}

fn change_password(current: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/auth/password")
        .set_json(json!({"current_password": current, "new_password": "a brand new passphrase"}))
}

/// Guessing the current password through `POST /auth/password` counts like failed sign-ins
/// (same five per e-mail) and is audited as a failed login.
#[actix_web::test]
async fn wrong_current_passwords_are_throttled_and_audited_like_failed_logins() {
    let app = TestApp::spawn().await;
    let mut user = app.user(&[Role::Counsellor]).await;
    for _ in 0..5 {
        let res = app.call_as(&user, change_password("not my password")).await;
        res.problem(422, "validation");
        assert!(res
            .field_errors()
            .contains(&("/current_password".to_string(), "wrong".to_string())));
    }
    let res = app.call_as(&user, change_password(TEST_PASSWORD)).await;
    res.problem(429, "rate-limited");
    assert!(res.header("retry-after").is_some());
    // The count is shared with sign-in.
    app.login(&user.email, TEST_PASSWORD)
        .await
        .problem(429, "rate-limited");
    let trail = app.audit_trail();
    let failed = trail
        .iter()
        .filter(|(a, o)| a == "auth.login_failed" && o == "denied")
        .count();
    assert_eq!(failed, 5);
    assert!(trail.contains(&("auth.login_throttled".into(), "denied".into())));

    // Once the window passes, the right current password works and clears the count.
    app.clock.advance(Duration::minutes(16));
    let signed_in = app.login(&user.email, TEST_PASSWORD).await;
    user.token = signed_in.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.login(&user.email, "one more wrong one").await;
    let res = app.call_as(&user, change_password(TEST_PASSWORD)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(failures(&app), 0);
}

/// On PostgreSQL a `TRUNCATE` would bypass the row triggers that keep the audit log
/// append-only; it is refused too.
#[actix_web::test]
async fn the_audit_log_cannot_be_truncated() {
    let app = TestApp::spawn().await;
    app.user(&[Role::Manager]).await;
    let before = count(&mut app.conn(), "SELECT COUNT(*) AS n FROM audit_events");
    let truncate = match backend() {
        Backend::Postgres => app.conn().batch_execute("TRUNCATE audit_events"),
        // SQLite has no TRUNCATE; its equivalent is an unqualified DELETE.
        Backend::Sqlite => app.conn().batch_execute("DELETE FROM audit_events"),
    };
    assert!(truncate.is_err(), "the audit log was emptied");
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM audit_events"),
        before
    );
}

/// Verification reads the head first and checks the chain up to it, so events appended by other
/// requests meanwhile never make it report a broken chain.
#[actix_web::test]
async fn verification_during_audited_traffic_is_always_ok() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let id = app
        .register_participant(&worker, crate::common::participant_body(1))
        .await;
    let path = format!("/api/v1/participants/{id}");
    for _round in 0..5 {
        let reads = (0..40).map(|_| app.get_as(&worker, &path));
        let checks = (0..10).map(|_| app.get_as(&auditor, "/api/v1/audit-events/verify"));
        let (reads, checks) = futures::join!(
            futures::future::join_all(reads),
            futures::future::join_all(checks)
        );
        assert!(reads.iter().all(|r| r.status == 200));
        for check in checks {
            assert_eq!(check.json()["ok"], true, "{}", check.text());
        }
    }
}

/// A head recorded outside the database anchors the chain: rolling the log back past it (deleting
/// the tail and moving the head back) verifies on its own, but not against the anchor.
#[actix_web::test]
async fn an_anchored_head_catches_a_rolled_back_chain() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    for _ in 0..3 {
        app.user(&[Role::Manager]).await;
    }
    let anchor = app
        .get_as(&auditor, "/api/v1/audit-events/verify")
        .await
        .json();
    let (seq, hash) = (
        anchor["head_seq"].as_i64().unwrap(),
        anchor["head_hash"].as_str().unwrap().to_owned(),
    );
    assert!(seq >= 4, "{anchor}");
    let anchored = format!("/api/v1/audit-events/verify?expected_seq={seq}&expected_hash={hash}");
    assert_eq!(app.get_as(&auditor, &anchored).await.json()["ok"], true);

    // Roll back: drop every event from `seq - 1` on and point the head at the one before.
    let keep = seq - 2;
    let kept_hash: String = {
        use diesel::prelude::*;
        use reintegra::db::schema::audit_events;
        audit_events::table
            .find(keep)
            .select(audit_events::hash)
            .first(&mut app.conn())
            .unwrap()
    };
    let disable = match backend() {
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;",
        Backend::Sqlite => "DROP TRIGGER audit_events_no_delete;",
    };
    app.conn()
        .batch_execute(&format!(
            "{disable} DELETE FROM audit_events WHERE seq > {keep}; \
             UPDATE audit_chain_head SET seq = {keep}, hash = '{kept_hash}' WHERE id = 1;"
        ))
        .unwrap();
    let mut conn = app.conn();
    assert!(
        reintegra::audit::verify(&mut conn, None).unwrap().ok,
        "consistent on its own"
    );
    let anchor = reintegra::audit::Anchor { seq, hash };
    let v = reintegra::audit::verify(&mut conn, Some(&anchor)).unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_broken_seq, Some(keep + 1));

    // Half an anchor is a bad query.
    app.get_as(
        &auditor,
        &format!("/api/v1/audit-events/verify?expected_seq={seq}"),
    )
    .await
    .problem(400, "malformed-request");
}

/// A caseload reassignment bumps each participant's version in the database (`version + 1`), so
/// it cannot lose a bump to an edit that commits between its read and its write.
#[actix_web::test]
async fn a_reassignment_racing_with_edits_loses_no_version_bump() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let leaving = app.user(&[Role::Counsellor]).await;
    let successor = app.user(&[Role::Counsellor]).await;
    let id = app
        .register_participant(&leaving, crate::common::participant_body(41))
        .await;
    let edits = (1..=8).map(|v| {
        app.call_as(
            &manager,
            TestRequest::patch()
                .uri(&format!("/api/v1/participants/{id}"))
                .insert_header(("if-match", format!("\"{v}\"")))
                .set_json(json!({"phone": format!("+48 600 100 20{v}")})),
        )
    });
    let reassign = app.call_as(
        &manager,
        TestRequest::post()
            .uri(&format!("/api/v1/staff/{}/reassign-caseload", leaving.id))
            .set_json(json!({"to_staff_id": successor.id})),
    );
    let (edits, reassigned) = futures::join!(futures::future::join_all(edits), reassign);
    assert_eq!(reassigned.status, 200, "{}", reassigned.text());
    let applied = edits.iter().filter(|r| r.status == 200).count() as i64;
    assert!(edits.iter().all(|r| r.status == 200 || r.status == 412));
    let version = count(
        &mut app.conn(),
        &format!("SELECT version AS n FROM participants WHERE id = '{id}'"),
    );
    assert_eq!(version, 1 + applied + 1);
}

fn consents(app: &TestApp) -> i64 {
    count(&mut app.conn(), "SELECT COUNT(*) AS n FROM consents")
}

fn record_consent(participant: &str, key: &str) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/api/v1/participants/{participant}/consents"))
        .insert_header(("idempotency-key", key.to_owned()))
        .set_json(crate::consents::consent_body("image", "2026-03-01"))
}

/// An idempotent POST's work marks its claim in its own transaction. When its reply then cannot
/// be stored, the client still gets the handler's answer (with the envelope), and a retry gets
/// 409 — while the first may still be finishing, `idempotency_in_progress`; after that
/// `idempotency_reply_lost` — never a second record.
#[actix_web::test]
async fn a_lost_idempotent_reply_never_leads_to_a_second_record() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, crate::common::participant_body(61))
        .await;
    let (refuse, allow) = match backend() {
        Backend::Postgres => (
            "CREATE FUNCTION refuse_reply() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'the reply store is down'; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_reply BEFORE UPDATE OF status ON idempotency_keys \
             FOR EACH ROW EXECUTE FUNCTION refuse_reply();",
            "DROP TRIGGER refuse_reply ON idempotency_keys;",
        ),
        Backend::Sqlite => (
            "CREATE TRIGGER refuse_reply BEFORE UPDATE OF status ON idempotency_keys \
             BEGIN SELECT RAISE(ABORT, 'the reply store is down'); END;",
            "DROP TRIGGER refuse_reply;",
        ),
    };
    app.conn().batch_execute(refuse).unwrap();
    let first = app.call_as(&worker, record_consent(&id, "consent-1")).await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert!(first.header("x-request-id").is_some());
    app.conn().batch_execute(allow).unwrap();

    let soon = app.call_as(&worker, record_consent(&id, "consent-1")).await;
    assert_eq!(
        soon.problem(409, "conflict")["code"],
        "idempotency_in_progress"
    );
    app.clock.advance(Duration::minutes(6));
    let later = app.call_as(&worker, record_consent(&id, "consent-1")).await;
    assert_eq!(
        later.problem(409, "conflict")["code"],
        "idempotency_reply_lost"
    );
    assert_eq!(consents(&app), 1);
}

/// The `Bearer` scheme is case-insensitive for idempotency as for the token check, so a client
/// writing `BEARER` still gets its replay rather than a second record.
#[actix_web::test]
async fn idempotency_recognises_the_bearer_scheme_in_any_case() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, crate::common::participant_body(62))
        .await;
    let send = || {
        app.call(
            record_consent(&id, "consent-2")
                .insert_header(("authorization", format!("BEARER {}", worker.token))),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(consents(&app), 1);
}

/// After the database ends the service's sessions (a restart, an administrator), the first
/// request that meets a dead connection fails with 503 and every request after it succeeds: the
/// other pooled connections are checked before use instead of failing until their lifetime ends.
/// (PostgreSQL only: an SQLite connection is a file handle that cannot be ended from outside.)
#[actix_web::test]
async fn connections_ended_by_the_database_cost_at_most_one_request() {
    if backend() != Backend::Postgres {
        return;
    }
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, crate::common::participant_body(71))
        .await;
    let path = format!("/api/v1/participants/{id}");
    // Open several pooled connections.
    let warm = futures::future::join_all((0..16).map(|_| app.get_as(&worker, &path))).await;
    assert!(warm.iter().all(|r| r.status == 200));
    app.conn()
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(app.get_as(&worker, &path).await.status.as_u16());
    }
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert!(failed <= 1, "{statuses:?}");
    assert!(statuses[1..].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
}

/// An anonymous flood from one address stays bounded: the first ten rejected tokens a minute are
/// audited one by one, the rest are counted into the next recorded event, and past the
/// configured limit the address gets 429 instead of 401.
#[actix_web::test]
async fn an_anonymous_flood_is_audited_in_bounds_and_throttled() {
    let app =
        TestApp::spawn_with(&[("REINTEGRA_UNAUTHENTICATED_PER_ADDRESS_PER_MINUTE", "20")]).await;
    let from = |ip: &str| {
        TestRequest::get()
            .uri("/api/v1/participants")
            .peer_addr(format!("{ip}:40000").parse().unwrap())
            .insert_header(("authorization", "Bearer not-a-token"))
    };
    let rejected = |app: &TestApp| {
        app.audit_trail()
            .iter()
            .filter(|(a, _)| a == "auth.token_rejected")
            .count()
    };
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(app.call(from("198.51.100.7")).await.status.as_u16());
    }
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(rejected(&app), 10);
    // Another address is not affected.
    assert_eq!(app.call(from("198.51.100.8")).await.status, 401);
    assert_eq!(rejected(&app), 11);

    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.call(from("198.51.100.7")).await.status, 401);
    let details: Vec<Option<String>> = {
        use diesel::prelude::*;
        use reintegra::db::schema::audit_events;
        audit_events::table
            .filter(audit_events::action.eq("auth.token_rejected"))
            .order(audit_events::seq.desc())
            .select(audit_events::details)
            .limit(1)
            .load(&mut app.conn())
            .unwrap()
    };
    let last: serde_json::Value = serde_json::from_str(details[0].as_deref().unwrap()).unwrap();
    assert_eq!(last["unrecorded_before"], 15, "10 counted + 5 throttled");
}

/// Every route refuses query parameters it does not take, also those that take none (400 naming
/// each), instead of ignoring them.
#[actix_web::test]
async fn unknown_query_parameters_are_refused_on_every_route() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app
        .register_participant(&worker, crate::common::participant_body(81))
        .await;
    for path in [
        format!("/api/v1/participants/{id}?x=1&fields=all&x=2"),
        "/api/v1/auth/me?debug=true".to_owned(),
        "/api/v1/settings?v".to_owned(),
    ] {
        let res = app.get_as(&worker, &path).await;
        res.problem(400, "malformed-request");
        let names: Vec<String> = res.field_errors().into_iter().map(|(f, _)| f).collect();
        assert!(!names.is_empty(), "{path}");
        assert!(
            res.field_errors().iter().all(|(_, c)| c == "unknown"),
            "{path}"
        );
    }
    let res = app
        .get_as(
            &worker,
            &format!("/api/v1/participants/{id}?x=1&fields=all"),
        )
        .await;
    assert_eq!(
        res.field_errors(),
        vec![
            ("fields".to_string(), "unknown".to_string()),
            ("x".to_string(), "unknown".to_string())
        ]
    );
    // Routes that take parameters still list unknown and bad ones together.
    let res = app
        .get_as(&worker, "/api/v1/participants?page=0&colour=red")
        .await;
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(errors.len(), 2, "{errors:?}");
}

/// The staff directory searches names for everyone, and e-mail addresses only for admins (who
/// see them): a manager must not learn an address prefix by prefix from which names come back.
#[actix_web::test]
async fn only_admins_find_staff_by_email_prefix() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let manager = app.user(&[Role::Manager]).await;
    let res = app
        .call_as(
            &admin,
            TestRequest::post().uri("/api/v1/staff").set_json(json!({
                "email": "hidden.address@club.test", "full_name": "Anna Nowak",
                "roles": ["counsellor"], "initial_password": "a long first password"
            })),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    for (user, q, expected) in [
        (&admin, "hidden", 1),
        (&manager, "hidden", 0),
        (&manager, "nowak", 1),
    ] {
        let res = app.get_as(user, &format!("/api/v1/staff?q={q}")).await;
        assert_eq!(res.json()["total"], expected, "{q}");
    }
}
