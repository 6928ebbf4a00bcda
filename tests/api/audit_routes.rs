//! `GET /audit-events` and `/audit-events/verify`: who sees which events, filters, CSV.

use actix_web::test::TestRequest;
use serde_json::Value;

use reintegra::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent};
use reintegra::clock::Clock;
use reintegra::http::{AppError, RequestContext};
use reintegra::policy::Role;

use crate::common::TestApp;

/// Two events about participants, written as feature code will write them.
fn record_participant_reads(app: &TestApp) {
    let now = app.clock.now();
    for p in ["p-1", "p-2"] {
        let event = NewEvent::new(
            AuditAction::ParticipantRead,
            AuditOutcome::Allowed,
            Some(Actor {
                id: "staff-x".into(),
                roles: vec!["psychologist".into()],
            }),
        )
        .entity("participant", p)
        .participant(p);
        let ctx = RequestContext {
            request_id: format!("r-{p}"),
            ip: None,
        };
        app.state
            .db
            .write_blocking(|conn| audit::record(conn, now, &ctx, event).map_err(AppError::from))
            .unwrap();
    }
}

fn participant_ids(res: &Value) -> Vec<Option<String>> {
    res["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["participant_id"].as_str().map(str::to_owned))
        .collect()
}

#[actix_web::test]
async fn each_role_sees_its_share_of_the_log() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    record_participant_reads(&app);

    let admin_view = app
        .get_as(&admin, "/api/v1/audit-events?per_page=200")
        .await
        .json();
    assert!(
        participant_ids(&admin_view).iter().all(Option::is_none),
        "{admin_view}"
    );
    assert!(
        admin_view["total"].as_i64().unwrap() >= 3,
        "the three logins"
    );

    let manager_view = app.get_as(&manager, "/api/v1/audit-events").await.json();
    assert_eq!(
        participant_ids(&manager_view),
        vec![Some("p-1".into()), Some("p-2".into())]
    );

    let auditor_view = app
        .get_as(&auditor, "/api/v1/audit-events?per_page=200")
        .await
        .json();
    assert_eq!(
        auditor_view["total"].as_i64().unwrap(),
        admin_view["total"].as_i64().unwrap() + 2,
        "all events: the admin's share and the two participant reads (reading the log is not itself an event)"
    );

    for role in [Role::Psychologist, Role::SocialWorker, Role::Counsellor] {
        let user = app.user(&[role]).await;
        app.get_as(&user, "/api/v1/audit-events")
            .await
            .problem(403, "forbidden");
    }
    let denied = app
        .get_as(
            &auditor,
            "/api/v1/audit-events?action=audit.list&outcome=denied",
        )
        .await
        .json();
    assert_eq!(
        denied["total"], 3,
        "each refused read of the log is itself audited"
    );
}

#[actix_web::test]
async fn events_filter_by_participant_actor_action_outcome_and_dates() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    record_participant_reads(&app);
    app.login("nobody@club.test", "wrong password!").await;

    let by_participant = app
        .get_as(&auditor, "/api/v1/audit-events?participant_id=p-2")
        .await
        .json();
    assert_eq!(by_participant["total"], 1);
    assert_eq!(by_participant["items"][0]["request_id"], "r-p-2");
    let by_actor = app
        .get_as(
            &auditor,
            &format!("/api/v1/audit-events?actor_id={}", auditor.id),
        )
        .await
        .json();
    assert_eq!(by_actor["items"][0]["action"], "auth.login");
    let failures = app
        .get_as(
            &auditor,
            "/api/v1/audit-events?action=auth.login_failed&outcome=denied",
        )
        .await
        .json();
    assert_eq!(failures["total"], 1);
    let event = &failures["items"][0];
    for field in [
        "seq",
        "at",
        "actor_roles",
        "changed_fields",
        "prev_hash",
        "hash",
        "request_id",
    ] {
        assert!(!event[field].is_null(), "{field} in {event}");
    }
    assert!(event["at"].as_str().unwrap().ends_with('Z'));

    let today = app.clock.today();
    let in_range = app
        .get_as(
            &auditor,
            &format!("/api/v1/audit-events?from={today}&to={today}"),
        )
        .await
        .json();
    assert_eq!(in_range["total"].as_i64(), Some(4));
    let tomorrow = today.succ_opt().unwrap();
    let none = app
        .get_as(&auditor, &format!("/api/v1/audit-events?from={tomorrow}"))
        .await
        .json();
    assert_eq!(none["total"], 0);

    for bad in ["outcome=maybe", "from=2026-13-01", "colour=red"] {
        app.get_as(&auditor, &format!("/api/v1/audit-events?{bad}"))
            .await
            .problem(400, "malformed-request");
    }
}

#[actix_web::test]
async fn the_log_is_available_as_csv() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    record_participant_reads(&app);
    let res = app
        .call_as(
            &auditor,
            TestRequest::get()
                .uri("/api/v1/audit-events?per_page=1")
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    let text = res.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("\u{feff}seq,at,actor_id,actor_roles,action,outcome"));
    assert_eq!(
        lines.len(),
        1 + 3,
        "header, the login, two reads: not paginated"
    );
    assert!(lines[2].contains("participant.read") && lines[2].contains("psychologist"));
    let xml = app
        .call_as(
            &auditor,
            TestRequest::get()
                .uri("/api/v1/audit-events")
                .insert_header(("accept", "application/xml")),
        )
        .await;
    xml.problem(406, "not-acceptable");
}

#[actix_web::test]
async fn verification_reports_an_intact_or_broken_chain() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    let manager = app.user(&[Role::Manager]).await;
    record_participant_reads(&app);
    let ok = app.get_as(&auditor, "/api/v1/audit-events/verify").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["ok"], true);
    assert_eq!(ok.json()["first_broken_seq"], Value::Null);
    assert_eq!(
        app.get_as(&admin, "/api/v1/audit-events/verify")
            .await
            .json()["ok"],
        true
    );
    app.get_as(&manager, "/api/v1/audit-events/verify")
        .await
        .problem(403, "forbidden");

    {
        use diesel::connection::SimpleConnection;
        let mut conn = app.conn();
        let sql = match conn.backend() {
            reintegra::db::Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update; UPDATE audit_events SET ip = '10.0.0.1' WHERE seq = 2",
            reintegra::db::Backend::Sqlite => "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET ip = '10.0.0.1' WHERE seq = 2",
        };
        conn.batch_execute(sql).unwrap();
    }
    let broken = app
        .get_as(&auditor, "/api/v1/audit-events/verify")
        .await
        .json();
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["first_broken_seq"], 2);
    assert_eq!(broken["checked"], 1);
}

#[actix_web::test]
async fn an_absurd_date_range_is_a_400_not_a_crash() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    app.get_as(&auditor, "/api/v1/audit-events?to=%2B262142-12-31")
        .await
        .problem(400, "malformed-request");
    assert_eq!(
        app.get_as(&auditor, "/api/v1/audit-events?to=2026-12-31")
            .await
            .status,
        200
    );
}
