//! `/api/v1/settings` (api.md §4, §13.7): every staff member reads them, admins replace them
//! with `If-Match`, the ranges are checked all at once, and each change is audited.

use actix_web::http::header;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{TestApp, TestUser};

const PATH: &str = "/api/v1/settings";

fn seeded() -> Value {
    json!({
        "unit_name": "Klub Integracji Społecznej",
        "unit_kind": "kis",
        "programme_months": 12,
        "follow_up_months": [3, 6, 12],
        "retention_years": 5,
        "project_retention_until": null,
        "review_interval_days": 90,
        "version": 1
    })
}

fn replacement() -> Value {
    json!({
        "unit_name": "Centrum Integracji Społecznej w Łodzi",
        "unit_kind": "cis",
        "programme_months": 11,
        "follow_up_months": [3, 6, 12],
        "retention_years": 10,
        "project_retention_until": "2034-12-31",
        "review_interval_days": 60
    })
}

fn put(body: &Value, if_match: Option<&str>) -> TestRequest {
    let mut req = TestRequest::put().uri(PATH).set_json(body);
    if let Some(tag) = if_match {
        req = req.insert_header((header::IF_MATCH, tag));
    }
    req
}

/// `changed_fields` of the last event recorded under `action`.
pub fn last_changed_fields(app: &TestApp, name: &str) -> Vec<String> {
    use reintegra::db::schema::audit_events::dsl::*;
    let text: String = audit_events
        .filter(action.eq(name))
        .order(seq.desc())
        .select(changed_fields)
        .first(&mut app.conn())
        .expect("an event");
    serde_json::from_str(&text).expect("a JSON list")
}

async fn every_role(app: &TestApp) -> Vec<(Role, TestUser)> {
    let mut users = Vec::new();
    for role in Role::ALL {
        users.push((role, app.user(&[role]).await));
    }
    users
}

#[actix_web::test]
async fn every_staff_member_reads_the_seeded_settings_and_anonymous_callers_cannot() {
    let app = TestApp::spawn().await;
    app.get(PATH).await.problem(401, "unauthorized");
    for (role, user) in every_role(&app).await {
        let res = app.get_as(&user, PATH).await;
        assert_eq!(res.status, 200, "{role:?}: {}", res.text());
        assert_eq!(res.header("etag"), Some("\"1\""));
        assert_eq!(res.json(), seeded(), "{role:?}");
    }
}

#[actix_web::test]
async fn only_admins_replace_the_settings_and_refusals_are_audited() {
    let app = TestApp::spawn().await;
    app.call(put(&replacement(), Some("\"1\"")))
        .await
        .problem(401, "unauthorized");
    for (role, user) in every_role(&app).await {
        if role == Role::Admin {
            continue;
        }
        // 403 whatever the body: the policy is decided before the fields are judged.
        for body in [replacement(), json!({"programme_months": 99})] {
            app.call_as(&user, put(&body, Some("\"1\"")))
                .await
                .problem(403, "forbidden");
        }
        app.call_as(&user, put(&replacement(), None))
            .await
            .problem(403, "forbidden");
    }
    let denied = app
        .audit_trail()
        .iter()
        .filter(|e| *e == &("settings.update".to_owned(), "denied".to_owned()))
        .count();
    assert_eq!(denied, 15, "five roles, three attempts each");

    let admin = app.user(&[Role::Admin]).await;
    let res = app
        .call_as(&admin, put(&replacement(), Some("\"1\"")))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(app
        .audit_trail()
        .contains(&("settings.update".into(), "allowed".into())));
    // The refused attempts changed nothing: the admin's ETag "1" was still current.
    assert_eq!(res.json()["version"], 2);
}

#[actix_web::test]
async fn a_replace_bumps_the_version_and_records_the_changed_fields() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = app
        .call_as(&admin, put(&replacement(), Some("\"1\"")))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let mut expected = replacement();
    expected["version"] = json!(2);
    assert_eq!(res.json(), expected);
    assert_eq!(app.get_as(&admin, PATH).await.json(), expected);
    // follow_up_months did not change, so it is not named.
    assert_eq!(
        last_changed_fields(&app, "settings.update"),
        vec![
            "unit_name",
            "unit_kind",
            "programme_months",
            "retention_years",
            "project_retention_until",
            "review_interval_days"
        ]
    );

    // Back to no funder's retention period, new follow-ups.
    let mut next = replacement();
    next["project_retention_until"] = Value::Null;
    next["follow_up_months"] = json!([6, 12, 24]);
    let res = app.call_as(&admin, put(&next, Some("\"2\""))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["project_retention_until"], Value::Null);
    assert_eq!(res.json()["follow_up_months"], json!([6, 12, 24]));
    assert_eq!(
        last_changed_fields(&app, "settings.update"),
        vec!["follow_up_months", "project_retention_until"]
    );
    // The list is stored as JSON text.
    use reintegra::db::schema::settings::dsl::*;
    let stored: String = settings
        .select(follow_up_months)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(stored, "[6,12,24]");

    // project_retention_until may be left out altogether.
    let mut without = next.clone();
    without
        .as_object_mut()
        .unwrap()
        .remove("project_retention_until");
    without["unit_kind"] = json!("kis");
    let res = app.call_as(&admin, put(&without, Some("\"3\""))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["version"], 4);
}

#[actix_web::test]
async fn a_replace_that_changes_nothing_keeps_the_version_and_records_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = app.call_as(&admin, put(&seeded(), Some("\"1\""))).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"1\""));
    assert_eq!(res.json(), seeded());
    assert!(!app
        .audit_trail()
        .contains(&("settings.update".into(), "allowed".into())));
}

#[actix_web::test]
async fn if_match_is_required_and_must_be_current() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    app.call_as(&admin, put(&replacement(), None))
        .await
        .problem(428, "precondition-required");
    for stale in ["\"7\"", "\"0\"", "*", "W/\"1\"", "1"] {
        let p = app
            .call_as(&admin, put(&replacement(), Some(stale)))
            .await
            .problem(412, "precondition-failed");
        assert_eq!(p["current_version"], 1, "If-Match: {stale}");
    }
    let res = app
        .call_as(&admin, put(&replacement(), Some("\"1\"")))
        .await;
    assert_eq!(res.status, 200);
    let p = app
        .call_as(&admin, put(&replacement(), Some("\"1\"")))
        .await
        .problem(412, "precondition-failed");
    assert_eq!(p["current_version"], 2);
    assert_eq!(app.get_as(&admin, PATH).await.json()["version"], 2);
}

#[actix_web::test]
async fn two_replaces_with_the_same_etag_cannot_both_win() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let mut other = replacement();
    other["unit_name"] = json!("Klub Integracji Społecznej w Zgierzu");
    let (a, b) = futures::join!(
        app.call_as(&admin, put(&replacement(), Some("\"1\""))),
        app.call_as(&admin, put(&other, Some("\"1\""))),
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "{} / {}", a.text(), b.text());
    let loser = if a.status == 412 { &a } else { &b };
    assert_eq!(
        loser.problem(412, "precondition-failed")["current_version"],
        2
    );
    let winner = if a.status == 200 { &a } else { &b };
    assert_eq!(app.get_as(&admin, PATH).await.json(), winner.json());
    let allowed = app
        .audit_trail()
        .iter()
        .filter(|e| *e == &("settings.update".to_owned(), "allowed".to_owned()))
        .count();
    assert_eq!(allowed, 1);
}

#[actix_web::test]
async fn every_range_violation_is_listed_in_one_422() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let body = json!({
        "unit_name": "x".repeat(201),
        "unit_kind": "club",
        "programme_months": 37,
        "follow_up_months": [12, 6, 6, 0, 40],
        "retention_years": 0,
        "project_retention_until": "2030-02-30",
        "review_interval_days": 6
    });
    let res = app.call_as(&admin, put(&body, Some("\"1\""))).await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    let mut expected: Vec<(String, String)> = [
        ("/unit_name", "too_long"),
        ("/unit_kind", "enum"),
        ("/programme_months", "range"),
        ("/follow_up_months/1", "order"),
        ("/follow_up_months/2", "order"),
        ("/follow_up_months/3", "range"),
        ("/follow_up_months/4", "range"),
        ("/retention_years", "range"),
        ("/project_retention_until", "date"),
        ("/review_interval_days", "range"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    expected.sort();
    assert_eq!(errors, expected);

    // The other ends of each range, and a list too long or empty.
    let body = json!({
        "unit_name": "   ",
        "unit_kind": "kis",
        "programme_months": 0,
        "follow_up_months": [1, 2, 3, 4, 5, 6],
        "retention_years": 51,
        "review_interval_days": 366
    });
    let res = app.call_as(&admin, put(&body, Some("\"1\""))).await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    let mut expected: Vec<(String, String)> = [
        ("/unit_name", "blank"),
        ("/programme_months", "range"),
        ("/follow_up_months", "count"),
        ("/retention_years", "range"),
        ("/review_interval_days", "range"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    expected.sort();
    assert_eq!(errors, expected);

    let mut empty = replacement();
    empty["follow_up_months"] = json!([]);
    let res = app.call_as(&admin, put(&empty, Some("\"1\""))).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/follow_up_months".to_string(), "count".to_string())]
    );

    // Nothing was stored, nothing audited as allowed.
    assert_eq!(app.get_as(&admin, PATH).await.json(), seeded());
    assert!(!app
        .audit_trail()
        .contains(&("settings.update".into(), "allowed".into())));
}

#[actix_web::test]
async fn a_full_replace_needs_every_field_but_the_retention_date() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = app.call_as(&admin, put(&json!({}), Some("\"1\""))).await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    let mut expected: Vec<(String, String)> = [
        "/follow_up_months",
        "/programme_months",
        "/retention_years",
        "/review_interval_days",
        "/unit_kind",
        "/unit_name",
    ]
    .iter()
    .map(|f| (f.to_string(), "required".to_string()))
    .collect();
    expected.sort();
    assert_eq!(errors, expected);

    let mut wrong_types = replacement();
    wrong_types["programme_months"] = json!("12");
    wrong_types["retention_years"] = json!(5.5);
    let res = app.call_as(&admin, put(&wrong_types, Some("\"1\""))).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![
            ("/programme_months".to_string(), "type".to_string()),
            ("/retention_years".to_string(), "type".to_string()),
        ]
    );
}

#[actix_web::test]
async fn settings_have_no_other_methods() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    for req in [
        TestRequest::delete().uri(PATH),
        TestRequest::post().uri(PATH),
    ] {
        let res = app.call_as(&admin, req).await;
        res.problem(405, "method-not-allowed");
        assert_eq!(res.header("allow"), Some("GET, PUT, HEAD"));
    }
}
