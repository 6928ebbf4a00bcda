//! The outcome report (api.md §10, §13.6) against a hand-built cohort: every cell exact, the
//! drill-downs list exactly the participants behind each cell, the CSV parses and agrees with
//! the JSON, and each caller's figures cover only the participants they may see.

use std::collections::BTreeSet;

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{participant_body, TestApp, TestUser};
use crate::outcomes::{outcome_body, post_outcome};

const LTU: &str = "long_term_unemployed";
const HOMELESS: &str = "homeless_exit_programme";

fn with_groups(n: u32, groups: &[&str]) -> Value {
    let mut body = participant_body(n);
    body["risk_groups"] = groups
        .iter()
        .map(
            |g| json!({"code": g, "evidence": "Certificate 1/2026", "evidence_date": "2026-02-10"}),
        )
        .collect();
    body
}

async fn start(app: &TestApp, lead: &TestUser, body: Value) -> (String, String) {
    let p = app.register_participant(lead, body).await;
    app.qualify(lead, &p).await;
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{p}/programmes"))
                .set_json(json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"})),
        )
        .await;
    assert_eq!(res.status, 201, "start: {}", res.text());
    (p, res.json()["id"].as_str().unwrap().to_owned())
}

async fn exit(app: &TestApp, lead: &TestUser, programme: &str, reason: &str) {
    let res = app
        .call_as(
            lead,
            TestRequest::post()
                .uri(&format!("/api/v1/programmes/{programme}/exit"))
                .set_json(json!({"exit_date": "2026-03-20", "exit_reason": reason})),
        )
        .await;
    assert_eq!(res.status, 200, "exit: {}", res.text());
}

async fn record_follow_up(app: &TestApp, lead: &TestUser, participant: &str, result: &str) {
    let list = app
        .get_as(
            lead,
            &format!("/api/v1/participants/{participant}/follow-ups"),
        )
        .await
        .json();
    let three = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["months_after_exit"] == 3)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .call_as(
            lead,
            TestRequest::patch()
                .uri(&format!("/api/v1/follow-ups/{three}"))
                .insert_header(("if-match", "\"1\""))
                .set_json(json!({"contacted_on": "2026-06-25", "result": result})),
        )
        .await;
    assert_eq!(res.status, 200, "follow-up: {}", res.text());
}

struct Cohort {
    manager: TestUser,
    lead: TestUser,
    auditor: TestUser,
    admin: TestUser,
    /// p[0..5] led by `lead`, p[5] by another social worker.
    p: Vec<String>,
}

/// Six programmes started on 2026-03-02, five exited on 2026-03-20, seen on 2026-07-01:
///
/// | | groups | exit | outcomes | 3-month follow-up |
/// |---|---|---|---|---|
/// | p0 | LTU | completed | job on 03-15 (during) | employed |
/// | p1 | LTU, homeless | employed | job on 03-21 (after), housing on 03-10 (during) | unreachable |
/// | p2 | homeless | dropped_out | — | due, not recorded |
/// | p3 | homeless | — (still in) | — | — |
/// | p4 | LTU | completed | housing on 03-05, retracted | due |
/// | p5 (other team) | LTU | completed | — | due |
async fn cohort(app: &TestApp) -> Cohort {
    let mut manager = app.user(&[Role::Manager]).await;
    let mut lead = app.user(&[Role::SocialWorker]).await;
    let mut other = app.user(&[Role::SocialWorker]).await;
    let mut auditor = app.user(&[Role::Auditor]).await;
    let mut admin = app.user(&[Role::Admin]).await;
    let groups: [&[&str]; 6] = [
        &[LTU],
        &[LTU, HOMELESS],
        &[HOMELESS],
        &[HOMELESS],
        &[LTU],
        &[LTU],
    ];
    let mut p = Vec::new();
    let mut programmes = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let who = if i == 5 { &other } else { &lead };
        let (pid, prog) = start(app, who, with_groups(100 + i as u32, g)).await;
        p.push(pid);
        programmes.push(prog);
    }
    crate::consents::record_consent(
        app,
        &lead,
        &p[0],
        crate::consents::consent_body("contact_after_exit", "2026-03-02"),
    )
    .await;

    app.travel_to(
        Utc.with_ymd_and_hms(2026, 3, 25, 9, 0, 0).unwrap(),
        &mut [
            &mut manager,
            &mut lead,
            &mut other,
            &mut auditor,
            &mut admin,
        ],
    )
    .await;
    for (i, reason) in [
        (0, "completed"),
        (1, "employed"),
        (2, "dropped_out"),
        (4, "completed"),
    ] {
        exit(app, &lead, &programmes[i], reason).await;
    }
    exit(app, &other, &programmes[5], "completed").await;
    for (i, kind, on) in [
        (0, "employment_contract", "2026-03-15"),
        (1, "employment_contract", "2026-03-21"),
        (1, "housing_secured", "2026-03-10"),
    ] {
        let res = post_outcome(app, &lead, &p[i], outcome_body(kind, on)).await;
        assert_eq!(res.status, 201, "{}", res.text());
    }
    let wrong = post_outcome(
        app,
        &lead,
        &p[4],
        outcome_body("housing_secured", "2026-03-05"),
    )
    .await;
    let res = app
        .call_as(
            &lead,
            TestRequest::post()
                .uri(&format!(
                    "/api/v1/outcomes/{}/retract",
                    wrong.json()["id"].as_str().unwrap()
                ))
                .set_json(json!({"reason": "Another person's flat"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());

    app.travel_to(
        Utc.with_ymd_and_hms(2026, 7, 1, 9, 0, 0).unwrap(),
        &mut [&mut manager, &mut lead, &mut auditor, &mut admin],
    )
    .await;
    record_follow_up(app, &lead, &p[0], "employed").await;
    record_follow_up(app, &lead, &p[1], "unreachable").await;
    Cohort {
        manager,
        lead,
        auditor,
        admin,
        p,
    }
}

const PATH: &str = "/api/v1/reports/outcomes?from=2026-01-01&to=2026-12-31";

fn count(cell: &Value) -> i64 {
    cell["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("no count: {cell}"))
}

fn rate(cell: &Value) -> (i64, i64) {
    (
        cell["numerator"].as_i64().unwrap(),
        cell["denominator"].as_i64().unwrap(),
    )
}

/// `(started, exited, completed, left_for_job, vocational, social, employed at 3 months)`.
type Figures = (
    i64,
    i64,
    (i64, i64),
    (i64, i64),
    (i64, i64),
    (i64, i64),
    (i64, i64),
);

fn figures(cells: &Value) -> Figures {
    (
        count(&cells["started"]),
        count(&cells["exited"]),
        rate(&cells["completed"]),
        rate(&cells["left_for_job"]),
        rate(&cells["vocational_outcome_during_programme"]),
        rate(&cells["social_outcome_during_programme"]),
        rate(&cells["employed_at_follow_up"]["3"]),
    )
}

fn group<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key}: {report}"))
}

async fn drill(app: &TestApp, user: &TestUser, link: &Value) -> BTreeSet<String> {
    let res = app.get_as(user, link.as_str().unwrap()).await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["participant_id"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(c: &Cohort, which: &[usize]) -> BTreeSet<String> {
    which.iter().map(|i| c.p[*i].clone()).collect()
}

#[actix_web::test]
async fn every_cell_of_the_outcome_report_is_exact_and_drills_down_to_its_people() {
    let app = TestApp::spawn().await;
    let c = cohort(&app).await;
    let res = app.get_as(&c.manager, PATH).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let report = res.json();
    assert_eq!(report["group_by"], "risk_group");
    // A participant in two groups counts in each and once in the total.
    assert_eq!(
        figures(&report["total"]),
        (6, 5, (3, 5), (1, 5), (1, 5), (1, 5), (1, 5))
    );
    assert_eq!(
        figures(group(&report, LTU)),
        (4, 4, (3, 4), (1, 4), (1, 4), (1, 4), (1, 4))
    );
    assert_eq!(
        figures(group(&report, HOMELESS)),
        (3, 2, (0, 2), (1, 2), (0, 2), (1, 2), (0, 2))
    );
    assert_eq!(report["groups"].as_array().unwrap().len(), 2);
    assert_eq!(report["total"]["completed"]["fraction"], 0.6);
    // No 6-month follow-up is due yet: no denominator, no fraction.
    assert_eq!(rate(&report["total"]["employed_at_follow_up"]["6"]), (0, 0));
    assert!(report["total"]["employed_at_follow_up"]["6"]["fraction"].is_null());
    assert!(report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("once in the total")));
    assert_eq!(group(&report, LTU)["label"], "Long-term unemployed people");

    let m = &c.manager;
    assert_eq!(
        drill(&app, m, &report["total"]["started"]["drill_down"]).await,
        ids(&c, &[0, 1, 2, 3, 4, 5])
    );
    assert_eq!(
        drill(&app, m, &report["total"]["completed"]["drill_down"]).await,
        ids(&c, &[0, 4, 5])
    );
    assert_eq!(
        drill(&app, m, &report["total"]["left_for_job"]["drill_down"]).await,
        ids(&c, &[1])
    );
    assert_eq!(
        drill(
            &app,
            m,
            &report["total"]["vocational_outcome_during_programme"]["drill_down"]
        )
        .await,
        ids(&c, &[0])
    );
    assert_eq!(
        drill(
            &app,
            m,
            &group(&report, HOMELESS)["social_outcome_during_programme"]["drill_down"]
        )
        .await,
        ids(&c, &[1])
    );
    assert_eq!(
        drill(
            &app,
            m,
            &group(&report, LTU)["employed_at_follow_up"]["3"]["drill_down"]
        )
        .await,
        ids(&c, &[0])
    );
    assert_eq!(
        drill(&app, m, &group(&report, HOMELESS)["exited"]["drill_down"]).await,
        ids(&c, &[1, 2])
    );

    // Other groupings of the same cohort.
    let by_exit = app
        .get_as(m, &format!("{PATH}&group_by=exit_reason"))
        .await
        .json();
    let started = |key: &str| count(&group(&by_exit, key)["started"]);
    assert_eq!(
        (
            started("completed"),
            started("employed"),
            started("dropped_out"),
            started("not_exited")
        ),
        (3, 1, 1, 1)
    );
    let by_year = app.get_as(m, &format!("{PATH}&group_by=year")).await.json();
    assert_eq!(figures(group(&by_year, "2026")), figures(&by_year["total"]));
    let by_age = app
        .get_as(m, &format!("{PATH}&group_by=age_band"))
        .await
        .json();
    let by_sex = app.get_as(m, &format!("{PATH}&group_by=sex")).await.json();
    for grouped in [&by_age, &by_sex] {
        let sum: i64 = grouped["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| count(&g["started"]))
            .sum();
        assert_eq!(sum, 6, "{grouped}");
    }
    // participant_body(100..105): birth years 1990..1995 → 30–54 on 2026-03-02 for those born
    // by 1996-03-02, i.e. everyone here.
    assert_eq!(count(&group(&by_age, "30_54")["started"]), 6);

    // A cohort window that misses every start.
    let empty = app
        .get_as(m, "/api/v1/reports/outcomes?from=2025-01-01&to=2025-12-31")
        .await
        .json();
    assert_eq!(empty["groups"], json!([]));
    assert_eq!(count(&empty["total"]["started"]), 0);
}

#[actix_web::test]
async fn the_csv_parses_and_agrees_with_the_json() {
    let app = TestApp::spawn().await;
    let c = cohort(&app).await;
    let report = app.get_as(&c.auditor, PATH).await.json();
    let res = app
        .call_as(
            &c.auditor,
            TestRequest::get()
                .uri(PATH)
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let mut reader = ::csv::Reader::from_reader(res.body.as_slice());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 3, "two groups and the total");
    for row in &rows {
        let key = &row[col("key")];
        let cells = if key == "total" {
            &report["total"]
        } else {
            group(&report, key)
        };
        assert_eq!(
            row[col("started.count")],
            cells["started"]["count"].to_string()
        );
        assert_eq!(
            row[col("completed.numerator")],
            cells["completed"]["numerator"].to_string()
        );
        assert_eq!(
            row[col("completed.denominator")],
            cells["completed"]["denominator"].to_string()
        );
        assert_eq!(
            row[col("employed_at_follow_up.3.numerator")],
            cells["employed_at_follow_up"]["3"]["numerator"].to_string()
        );
    }
    let drill = report["total"]["completed"]["drill_down"].as_str().unwrap();
    let res = app
        .call_as(
            &c.auditor,
            TestRequest::get()
                .uri(drill)
                .insert_header(("accept", "text/csv")),
        )
        .await;
    let mut reader = ::csv::Reader::from_reader(res.body.as_slice());
    assert_eq!(reader.records().count(), 3);
}

#[actix_web::test]
async fn each_caller_counts_only_whom_they_may_see() {
    let app = TestApp::spawn().await;
    let c = cohort(&app).await;
    let own = app.get_as(&c.lead, PATH).await.json();
    // p5 belongs to another team.
    assert_eq!(
        figures(&own["total"]),
        (5, 4, (2, 4), (1, 4), (1, 4), (1, 4), (1, 4))
    );
    assert_eq!(
        drill(&app, &c.lead, &own["total"]["completed"]["drill_down"]).await,
        ids(&c, &[0, 4])
    );
    // A manager's link followed by the clinician is recomputed over the clinician's caseload.
    let all = app.get_as(&c.manager, PATH).await.json();
    assert_eq!(
        drill(&app, &c.lead, &all["total"]["completed"]["drill_down"]).await,
        ids(&c, &[0, 4])
    );
    app.get_as(&c.admin, PATH).await.problem(403, "forbidden");
    let res = app
        .get_as(
            &c.manager,
            "/api/v1/reports/outcomes?to=2026-01-01&from=2026-12-31&group_by=colour",
        )
        .await;
    res.problem(400, "malformed-request");
    let fields: Vec<String> = res.field_errors().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, vec!["group_by".to_owned(), "to".to_owned()]);
    let res = app.get_as(&c.manager, "/api/v1/reports/outcomes").await;
    assert_eq!(
        res.field_errors(),
        vec![
            ("from".into(), "required".into()),
            ("to".into(), "required".into())
        ]
    );
    app.get_as(
        &c.manager,
        "/api/v1/reports/outcomes/participants?cell=nonsense",
    )
    .await
    .problem(400, "malformed-request");
    let trail = app.audit_trail();
    assert!(trail.contains(&("report.read".into(), "allowed".into())));
    assert!(trail.contains(&("report.read".into(), "denied".into())));
}

#[actix_web::test]
async fn anonymising_a_participant_changes_no_figure() {
    let app = TestApp::spawn().await;
    let c = cohort(&app).await;
    let before = app.get_as(&c.manager, PATH).await.json();
    let by_age = app
        .get_as(&c.manager, &format!("{PATH}&group_by=age_band"))
        .await
        .json();
    // p1: in two risk groups, left for a job, with outcomes and a follow-up.
    let res = app
        .call_as(
            &c.manager,
            TestRequest::post()
                .uri(&format!("/api/v1/participants/{}/anonymise", c.p[1]))
                .set_json(json!({"reason": "Asked to be forgotten", "override": true})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(app.get_as(&c.manager, PATH).await.json(), before);
    assert_eq!(
        app.get_as(&c.manager, &format!("{PATH}&group_by=age_band"))
            .await
            .json(),
        by_age,
        "birth dates keep their year"
    );
    let names: Vec<String> = app
        .get_as(
            &c.manager,
            before["total"]["left_for_job"]["drill_down"]
                .as_str()
                .unwrap(),
        )
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["last_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["anonymised".to_owned()]);
}
