//! The annual report and the ESF+ indicators (api.md §10, §13.6) against a hand-built unit:
//! every figure exact, the CSV parses and agrees with the JSON, a clinician's figures cover
//! only their caseload, admins are refused, bad parameters are 400 naming the parameter.

use std::collections::BTreeMap;

use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{participant_body, TestApp, TestUser};
use crate::consents::{consent_body, record_consent};
use crate::outcomes::{outcome_body, post_outcome};
use crate::sessions::{plan, put_attendance, session_body};

const LTU: &str = "long_term_unemployed";
const HOMELESS: &str = "homeless_exit_programme";
const ALCOHOL: &str = "alcohol_after_therapy";
const DISABILITY: &str = "disability";

/// One participant of the unit: `n` fixes birth date and sex (`pesel_for`).
struct Person {
    n: u32,
    groups: &'static [&'static str],
    labour: &'static str,
    education: &'static str,
    disability: Value,
    /// `(referred_on, evidence_date, decided_on, start_date)`.
    dates: (&'static str, &'static str, &'static str, &'static str),
}

const Y2026: (&str, &str, &str, &str) = ("2026-02-20", "2026-02-10", "2026-02-25", "2026-03-02");

/// A unit seen on 2026-10-01 (birth dates from `pesel_for`; ages on 31 Dec 2026 / at start):
///
/// | | n | sex | born | groups | labour | ISCED | disab. | programme | outcomes |
/// |---|---|---|---|---|---|---|---|---|---|
/// | A | 40 | F | 1970-05-13 | homeless | unemployed | 0–2 | yes | 2026-03-02 → 03-20 completed | qualification 03-15, education 04-10; 6-month: employed |
/// | B | 29 | M | 1999-06-02 | LTU | LTU | 3–4 | no | 2026-03-02 → 03-20 employed | job 04-30 (41 days after exit); 6-month: employed |
/// | C | 10 | F | 1980-11-11 | LTU, homeless | LTU | 5–8 | null | 2026-03-02 → 03-20 dropped_out | self-employed 04-17 (day 28), training 03-12 retracted; 6-month unreachable |
/// | D | 13 | M | 1983-02-14 | alcohol | inactive | 0–2 | yes | 2026-03-02, open | job 03-25 |
/// | E | 39 | M | 2009-04-12 | homeless | inactive | 0–2 | no | 2026-03-02, open | — |
/// | F (other team) | 22 | F | 1992-11-23 | LTU | LTU | 3–4 | no | 2026-03-02 → 03-20 completed | job 03-25 |
/// | G | 15 | M | 1985-04-16 | LTU | unemployed | 3–4 | no | 2025-02-03 → 2025-12-15 completed | job 2026-01-15 |
/// | H | 16 | F | 1986-05-17 | disability | employed | 5–8 | yes | 2025-06-02, open | housing 2025-11-01 |
///
/// Sessions: 2025-12-10 job search workshop 60' (G, H present); 2026-03-10 support group 90'
/// (A, D, F present, B late 60', C absent); 2026-03-12 computer course 120' (A, D, H present,
/// E excused). Staff: a manager, two social workers, an auditor, an admin.
const PEOPLE: [Person; 8] = [
    Person {
        n: 40,
        groups: &[HOMELESS],
        labour: "unemployed",
        education: "isced_0_2",
        disability: Value::Bool(true),
        dates: Y2026,
    },
    Person {
        n: 29,
        groups: &[LTU],
        labour: "long_term_unemployed",
        education: "isced_3_4",
        disability: Value::Bool(false),
        dates: Y2026,
    },
    Person {
        n: 10,
        groups: &[LTU, HOMELESS],
        labour: "long_term_unemployed",
        education: "isced_5_8",
        disability: Value::Null,
        dates: Y2026,
    },
    Person {
        n: 13,
        groups: &[ALCOHOL],
        labour: "inactive",
        education: "isced_0_2",
        disability: Value::Bool(true),
        dates: Y2026,
    },
    Person {
        n: 39,
        groups: &[HOMELESS],
        labour: "inactive",
        education: "isced_0_2",
        disability: Value::Bool(false),
        dates: Y2026,
    },
    Person {
        n: 22,
        groups: &[LTU],
        labour: "long_term_unemployed",
        education: "isced_3_4",
        disability: Value::Bool(false),
        dates: Y2026,
    },
    Person {
        n: 15,
        groups: &[LTU],
        labour: "unemployed",
        education: "isced_3_4",
        disability: Value::Bool(false),
        dates: ("2025-01-10", "2025-01-05", "2025-01-15", "2025-02-03"),
    },
    Person {
        n: 16,
        groups: &[DISABILITY],
        labour: "employed",
        education: "isced_5_8",
        disability: Value::Bool(true),
        dates: ("2025-05-05", "2025-05-01", "2025-05-10", "2025-06-02"),
    },
];
const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
const D: usize = 3;
const E: usize = 4;
const F: usize = 5;
const G: usize = 6;
const H: usize = 7;

struct Unit {
    manager: TestUser,
    lead: TestUser,
    auditor: TestUser,
    admin: TestUser,
}

fn body(p: &Person) -> Value {
    let (referred_on, evidence_date, _, _) = p.dates;
    let mut body = participant_body(p.n);
    body["labour_status_at_entry"] = json!(p.labour);
    body["education_level"] = json!(p.education);
    body["disability"] = p.disability.clone();
    body["referral"]["referred_on"] = json!(referred_on);
    body["risk_groups"] = p
        .groups
        .iter()
        .map(|g| json!({"code": g, "evidence": "Certificate 1/2025", "evidence_date": evidence_date}))
        .collect();
    body
}

async fn post_ok(app: &TestApp, user: &TestUser, path: &str, body: Value) -> Value {
    let res = app
        .call_as(user, TestRequest::post().uri(path).set_json(body))
        .await;
    assert!(
        res.status.is_success(),
        "POST {path}: {} {}",
        res.status,
        res.text()
    );
    res.json()
}

async fn exit(app: &TestApp, user: &TestUser, programme: &str, on: &str, reason: &str) {
    post_ok(
        app,
        user,
        &format!("/api/v1/programmes/{programme}/exit"),
        json!({"exit_date": on, "exit_reason": reason}),
    )
    .await;
}

async fn outcome(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    kind: &str,
    on: &str,
) -> String {
    let res = post_outcome(app, user, participant, outcome_body(kind, on)).await;
    assert_eq!(res.status, 201, "outcome: {}", res.text());
    res.json()["id"].as_str().unwrap().to_owned()
}

/// Plans a session as the manager (facilitated by `facilitator`) and records `rows`.
async fn session_with(
    app: &TestApp,
    manager: &TestUser,
    facilitator: &TestUser,
    activity: &str,
    starts_at: &str,
    minutes: i64,
    rows: Value,
) {
    let session = plan(
        app,
        manager,
        session_body(activity, starts_at, minutes, &[&facilitator.id], &[]),
    )
    .await;
    let res = put_attendance(
        app,
        manager,
        session["id"].as_str().unwrap(),
        session["version"].as_i64().unwrap(),
        rows,
    )
    .await;
    assert_eq!(res.status, 200, "attendance: {}", res.text());
}

async fn six_month_follow_up(app: &TestApp, user: &TestUser, participant: &str, result: &str) {
    let list = app
        .get_as(
            user,
            &format!("/api/v1/participants/{participant}/follow-ups"),
        )
        .await
        .json();
    let six = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["months_after_exit"] == 6)
        .unwrap_or_else(|| panic!("no 6-month follow-up: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .call_as(
            user,
            TestRequest::patch()
                .uri(&format!("/api/v1/follow-ups/{six}"))
                .insert_header(("if-match", "\"1\""))
                .set_json(json!({"contacted_on": "2026-09-25", "result": result})),
        )
        .await;
    assert_eq!(res.status, 200, "follow-up: {}", res.text());
}

async fn unit(app: &TestApp) -> Unit {
    let mut manager = app.user(&[Role::Manager]).await;
    let mut lead = app.user(&[Role::SocialWorker]).await;
    let mut other = app.user(&[Role::SocialWorker]).await;
    let mut auditor = app.user(&[Role::Auditor]).await;
    let mut admin = app.user(&[Role::Admin]).await;

    let mut p = Vec::new();
    let mut programmes = Vec::new();
    for (i, person) in PEOPLE.iter().enumerate() {
        let who = if i == F { &other } else { &lead };
        let id = app.register_participant(who, body(person)).await;
        let (_, _, decided_on, start_date) = person.dates;
        post_ok(
            app,
            who,
            &format!("/api/v1/participants/{id}/qualification"),
            json!({"decision": "qualified", "decided_on": decided_on}),
        )
        .await;
        let programme = post_ok(
            app,
            who,
            &format!("/api/v1/participants/{id}/programmes"),
            json!({"start_date": start_date, "basis": "kontrakt_socjalny"}),
        )
        .await;
        p.push(id);
        programmes.push(programme["id"].as_str().unwrap().to_owned());
    }
    // 2025: G's programme ends, a workshop, H's outcome; G's job comes after the year.
    session_with(
        app,
        &manager,
        &lead,
        "job_search_workshop",
        "2025-12-10T10:00:00+01:00",
        60,
        json!([{"participant_id": p[G], "status": "present"},
               {"participant_id": p[H], "status": "present"}]),
    )
    .await;
    exit(app, &lead, &programmes[G], "2025-12-15", "completed").await;
    outcome(app, &lead, &p[H], "housing_secured", "2025-11-01").await;
    outcome(app, &lead, &p[G], "employment_contract", "2026-01-15").await;
    for i in [A, B] {
        record_consent(
            app,
            &lead,
            &p[i],
            consent_body("contact_after_exit", "2026-03-02"),
        )
        .await;
    }

    app.travel_to(
        Utc.with_ymd_and_hms(2026, 4, 1, 9, 0, 0).unwrap(),
        &mut [
            &mut manager,
            &mut lead,
            &mut other,
            &mut auditor,
            &mut admin,
        ],
    )
    .await;
    session_with(
        app,
        &manager,
        &lead,
        "support_group",
        "2026-03-10T10:00:00+01:00",
        90,
        json!([{"participant_id": p[A], "status": "present"},
               {"participant_id": p[B], "status": "late", "minutes": 60},
               {"participant_id": p[C], "status": "absent"},
               {"participant_id": p[D], "status": "present"},
               {"participant_id": p[F], "status": "present"}]),
    )
    .await;
    session_with(
        app,
        &manager,
        &lead,
        "computer_course",
        "2026-03-12T10:00:00+01:00",
        120,
        json!([{"participant_id": p[A], "status": "present"},
               {"participant_id": p[D], "status": "present"},
               {"participant_id": p[E], "status": "excused"},
               {"participant_id": p[H], "status": "present"}]),
    )
    .await;
    for (i, reason) in [(A, "completed"), (B, "employed"), (C, "dropped_out")] {
        exit(app, &lead, &programmes[i], "2026-03-20", reason).await;
    }
    exit(app, &other, &programmes[F], "2026-03-20", "completed").await;
    outcome(app, &lead, &p[A], "qualification", "2026-03-15").await;
    outcome(app, &lead, &p[D], "employment_contract", "2026-03-25").await;
    outcome(app, &other, &p[F], "employment_contract", "2026-03-25").await;
    let wrong = outcome(app, &lead, &p[C], "training_completed", "2026-03-12").await;
    post_ok(
        app,
        &lead,
        &format!("/api/v1/outcomes/{wrong}/retract"),
        json!({"reason": "Another person's certificate"}),
    )
    .await;

    app.travel_to(
        Utc.with_ymd_and_hms(2026, 5, 5, 9, 0, 0).unwrap(),
        &mut [&mut lead],
    )
    .await;
    outcome(app, &lead, &p[A], "education", "2026-04-10").await;
    outcome(app, &lead, &p[B], "employment_contract", "2026-04-30").await;
    outcome(app, &lead, &p[C], "self_employment", "2026-04-17").await;

    app.travel_to(
        Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap(),
        &mut [&mut manager, &mut lead, &mut auditor, &mut admin],
    )
    .await;
    six_month_follow_up(app, &lead, &p[A], "employed").await;
    six_month_follow_up(app, &lead, &p[B], "employed").await;
    six_month_follow_up(app, &lead, &p[C], "unreachable").await;
    Unit {
        manager,
        lead,
        auditor,
        admin,
    }
}

const ANNUAL: &str = "/api/v1/reports/annual?year=2026";
const ESF: &str = "/api/v1/reports/esf?from=2026-01-01&to=2026-12-31";

fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

/// A block's non-zero figures.
fn nonzero(block: &Value) -> BTreeMap<String, i64> {
    block
        .as_object()
        .unwrap_or_else(|| panic!("not a block: {block}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().unwrap()))
        .filter(|(_, n)| *n != 0)
        .collect()
}

fn keys(block: &Value) -> Vec<String> {
    block.as_object().unwrap().keys().cloned().collect()
}

fn risk_groups(report: &Value) -> BTreeMap<String, i64> {
    report["participants_by_risk_group"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["code"].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The figures of an annual report that depend on the caller.
#[derive(Debug, PartialEq)]
struct Annual {
    total: i64,
    groups: BTreeMap<String, i64>,
    sex: BTreeMap<String, i64>,
    age: BTreeMap<String, i64>,
    entries: i64,
    exits: BTreeMap<String, i64>,
    completed: i64,
    outcomes: BTreeMap<String, i64>,
    by_area: BTreeMap<String, i64>,
    by_category: BTreeMap<String, i64>,
}

fn annual(report: &Value) -> Annual {
    Annual {
        total: report["total_participants"].as_i64().unwrap(),
        groups: risk_groups(report),
        sex: nonzero(&report["participants_by_sex"]),
        age: nonzero(&report["participants_by_age_band"]),
        entries: report["entries"].as_i64().unwrap(),
        exits: nonzero(&report["exits_by_reason"]),
        completed: report["completed"].as_i64().unwrap(),
        outcomes: nonzero(&report["outcomes_by_kind"]),
        by_area: nonzero(&report["activity_minutes_by_area"]),
        by_category: nonzero(&report["activity_minutes_by_category"]),
    }
}

#[actix_web::test]
async fn every_figure_of_the_annual_report_is_exact() {
    let app = TestApp::spawn().await;
    let u = unit(&app).await;
    let res = app.get_as(&u.manager, ANNUAL).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let report = res.json();
    assert_eq!(report["year"], 2026);
    assert_eq!(report["from"], "2026-01-01");
    assert_eq!(report["to"], "2026-12-31");
    assert_eq!(report["unit_kind"], "kis");
    // G left in 2025 (and their 2026 job does not count); H, started in 2025, is still in.
    assert_eq!(
        annual(&report),
        Annual {
            total: 7,
            groups: map(&[(ALCOHOL, 1), (DISABILITY, 1), (HOMELESS, 3), (LTU, 3)]),
            sex: map(&[("female", 4), ("male", 3)]),
            age: map(&[("under_18", 1), ("18_29", 1), ("30_54", 4), ("55_plus", 1)]),
            entries: 6,
            exits: map(&[("completed", 2), ("dropped_out", 1), ("employed", 1)]),
            completed: 2,
            outcomes: map(&[
                ("education", 1),
                ("employment_contract", 3),
                ("qualification", 1),
                ("self_employment", 1),
            ]),
            by_area: map(&[("social", 330), ("vocational", 360)]),
            by_category: map(&[("course", 360), ("support_group", 330)]),
        }
    );
    assert_eq!(
        report["staff_by_role"],
        json!({"admin": 1, "auditor": 1, "counsellor": 0, "manager": 1, "psychologist": 0,
               "social_worker": 2})
    );
    // Closed sets list every key.
    assert_eq!(keys(&report["exits_by_reason"]).len(), 8);
    assert_eq!(keys(&report["outcomes_by_kind"]).len(), 14);
    assert_eq!(keys(&report["activity_minutes_by_category"]).len(), 10);
    assert_eq!(
        keys(&report["participants_by_sex"]),
        vec!["female".to_owned(), "male".to_owned()]
    );
    let homeless = report["participants_by_risk_group"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == HOMELESS)
        .unwrap();
    assert_eq!(
        homeless["label"],
        "Homeless people in a homelessness exit programme"
    );
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("counts in each")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("active today")),
        "{notes:?}"
    );

    // The year before: G and H only.
    let before = app
        .get_as(&u.auditor, "/api/v1/reports/annual?year=2025")
        .await
        .json();
    assert_eq!(
        annual(&before),
        Annual {
            total: 2,
            groups: map(&[(DISABILITY, 1), (LTU, 1)]),
            sex: map(&[("female", 1), ("male", 1)]),
            age: map(&[("30_54", 2)]),
            entries: 2,
            exits: map(&[("completed", 1)]),
            completed: 1,
            outcomes: map(&[("housing_secured", 1)]),
            by_area: map(&[("vocational", 120)]),
            by_category: map(&[("proactive_workshop", 120)]),
        }
    );
    // A year without anyone.
    let empty = app
        .get_as(&u.manager, "/api/v1/reports/annual?year=2024")
        .await
        .json();
    assert_eq!(empty["total_participants"], 0);
    assert_eq!(empty["participants_by_risk_group"], json!([]));
    assert_eq!(nonzero(&empty["participants_by_age_band"]), map(&[]));
}

/// `code → (count, female, male, unknown)` of the non-zero indicators; checks the shape of all.
fn indicators(report: &Value) -> BTreeMap<String, (i64, i64, i64, i64)> {
    let list = report["indicators"].as_array().unwrap();
    let codes: Vec<&str> = list.iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        vec![
            "EECO01", "EECO02", "EECO03", "EECO04", "EECO05", "EECO06", "EECO07", "EECO08",
            "EECO09", "EECO10", "EECO11", "EECO12", "EECO16", "EECR02", "EECR03", "EECR04",
            "EECR05"
        ]
    );
    list.iter()
        .inspect(|i| {
            let confirmed = i["code"] == "EECO02" || i["code"] == "EECO12";
            assert_eq!(i["code_confirmed"], confirmed, "{i}");
            assert!(!i["label"].as_str().unwrap().is_empty());
            let sex = i["by_sex"].as_object().unwrap();
            assert_eq!(sex.len(), 3, "{i}");
        })
        .map(|i| {
            let n = |v: &Value| v.as_i64().unwrap();
            (
                i["code"].as_str().unwrap().to_owned(),
                (
                    n(&i["count"]),
                    n(&i["by_sex"]["female"]),
                    n(&i["by_sex"]["male"]),
                    n(&i["by_sex"]["unknown"]),
                ),
            )
        })
        .filter(|(_, (count, ..))| *count != 0)
        .collect()
}

#[actix_web::test]
async fn every_esf_indicator_is_exact() {
    let app = TestApp::spawn().await;
    let u = unit(&app).await;
    let res = app.get_as(&u.manager, ESF).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let report = res.json();
    assert_eq!(report["from"], "2026-01-01");
    let expected: BTreeMap<String, (i64, i64, i64, i64)> = [
        ("EECO01", (6, 3, 3, 0)), // A–F
        ("EECO02", (4, 3, 1, 0)), // A, B, C, F
        ("EECO03", (3, 2, 1, 0)), // B, C, F
        ("EECO04", (2, 0, 2, 0)), // D, E (nobody employed at entry: H started in 2025)
        ("EECO06", (1, 0, 1, 0)), // E, 16
        ("EECO07", (1, 0, 1, 0)), // B, 26
        ("EECO08", (1, 1, 0, 0)), // A, 55
        ("EECO09", (3, 1, 2, 0)), // A, D, E
        ("EECO10", (2, 1, 1, 0)), // B, F
        ("EECO11", (1, 1, 0, 0)), // C
        ("EECO12", (2, 1, 1, 0)), // A, D (C's disability unknown)
        ("EECO16", (3, 2, 1, 0)), // A, C, E
        ("EECR02", (1, 1, 0, 0)), // A's education 21 days after exit
        ("EECR03", (1, 1, 0, 0)), // A's qualification; C's training was retracted
        ("EECR04", (2, 2, 0, 0)), // C on day 28, F; B's job on day 41 and D (open) do not count
        ("EECR05", (2, 1, 1, 0)), // A, B
    ]
    .into_iter()
    .map(|(c, f)| (c.to_owned(), f))
    .collect();
    assert_eq!(indicators(&report), expected);
    assert!(report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("not verified")));

    // The 2025 cohort: G and H; G's job came 31 days after the exit.
    let before = app
        .get_as(
            &u.auditor,
            "/api/v1/reports/esf?from=2025-01-01&to=2025-12-31",
        )
        .await
        .json();
    let expected: BTreeMap<String, (i64, i64, i64, i64)> = [
        ("EECO01", (2, 1, 1, 0)),
        ("EECO02", (1, 0, 1, 0)),
        ("EECO05", (1, 1, 0, 0)),
        ("EECO10", (1, 0, 1, 0)),
        ("EECO11", (1, 1, 0, 0)),
        ("EECO12", (1, 1, 0, 0)),
    ]
    .into_iter()
    .map(|(c, f)| (c.to_owned(), f))
    .collect();
    assert_eq!(indicators(&before), expected);
    // A window of one day: only its starts.
    let one_day = app
        .get_as(
            &u.manager,
            "/api/v1/reports/esf?from=2025-06-02&to=2025-06-02",
        )
        .await
        .json();
    assert_eq!(indicators(&one_day)["EECO01"], (1, 1, 0, 0));
}

async fn csv_of(app: &TestApp, user: &TestUser, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let res = app
        .call_as(
            user,
            TestRequest::get()
                .uri(path)
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.header("content-type").unwrap().starts_with("text/csv"));
    assert!(res.body.starts_with("\u{feff}".as_bytes()), "a BOM first");
    let mut reader = ::csv::Reader::from_reader(res.body.as_slice());
    let headers = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (headers, rows)
}

#[actix_web::test]
async fn the_csv_answers_parse_and_agree_with_the_json() {
    let app = TestApp::spawn().await;
    let u = unit(&app).await;

    let report = app.get_as(&u.auditor, ANNUAL).await.json();
    let (headers, rows) = csv_of(&app, &u.auditor, ANNUAL).await;
    assert_eq!(headers, ["year", "unit_kind", "block", "key", "count"]);
    // 3 single figures, 4 risk groups, 2 sexes, 4 age bands, 8 exit reasons, 14 outcome kinds,
    // 2 areas, 10 categories, 6 roles.
    assert_eq!(rows.len(), 3 + 4 + 2 + 4 + 8 + 14 + 2 + 10 + 6);
    for row in &rows {
        assert_eq!((row[0].as_str(), row[1].as_str()), ("2026", "kis"));
        let (block, key, count) = (&row[2], &row[3], &row[4]);
        let json = match block.as_str() {
            "total_participants" | "entries" | "completed" => {
                assert_eq!(key, "total");
                report[block.as_str()].clone()
            }
            "participants_by_risk_group" => json!(risk_groups(&report)[key.as_str()]),
            _ => report[block.as_str()][key.as_str()].clone(),
        };
        assert_eq!(count, &json.to_string(), "{block}.{key}");
    }
    assert!(rows
        .iter()
        .any(|r| r[2] == "activity_minutes_by_area" && r[3] == "social" && r[4] == "330"));

    let report = app.get_as(&u.auditor, ESF).await.json();
    let (headers, rows) = csv_of(&app, &u.auditor, ESF).await;
    assert_eq!(
        headers,
        [
            "code",
            "code_confirmed",
            "label",
            "count",
            "by_sex.female",
            "by_sex.male",
            "by_sex.unknown"
        ]
    );
    let list = report["indicators"].as_array().unwrap();
    assert_eq!(rows.len(), list.len());
    for (row, i) in rows.iter().zip(list) {
        assert_eq!(row[0], i["code"].as_str().unwrap());
        assert_eq!(row[1], i["code_confirmed"].to_string());
        assert_eq!(row[2], i["label"].as_str().unwrap());
        assert_eq!(row[3], i["count"].to_string());
        assert_eq!(row[4], i["by_sex"]["female"].to_string());
        assert_eq!(row[5], i["by_sex"]["male"].to_string());
        assert_eq!(row[6], i["by_sex"]["unknown"].to_string());
    }
}

#[actix_web::test]
async fn a_clinician_counts_their_caseload_admins_are_refused_and_bad_parameters_named() {
    let app = TestApp::spawn().await;
    let u = unit(&app).await;
    // The lead's caseload is everyone but F.
    let own = app.get_as(&u.lead, ANNUAL).await.json();
    assert_eq!(
        annual(&own),
        Annual {
            total: 6,
            groups: map(&[(ALCOHOL, 1), (DISABILITY, 1), (HOMELESS, 3), (LTU, 2)]),
            sex: map(&[("female", 3), ("male", 3)]),
            age: map(&[("under_18", 1), ("18_29", 1), ("30_54", 3), ("55_plus", 1)]),
            entries: 5,
            exits: map(&[("completed", 1), ("dropped_out", 1), ("employed", 1)]),
            completed: 1,
            outcomes: map(&[
                ("education", 1),
                ("employment_contract", 2),
                ("qualification", 1),
                ("self_employment", 1),
            ]),
            by_area: map(&[("social", 240), ("vocational", 360)]),
            by_category: map(&[("course", 360), ("support_group", 240)]),
        }
    );
    // Staff are the unit's, whoever asks.
    assert_eq!(own["staff_by_role"]["social_worker"], 2);
    let esf = indicators(&app.get_as(&u.lead, ESF).await.json());
    assert_eq!(esf["EECO01"], (5, 2, 3, 0));
    assert_eq!(esf["EECO02"], (3, 2, 1, 0));
    assert_eq!(esf["EECO03"], (2, 1, 1, 0));
    assert_eq!(esf["EECR04"], (1, 1, 0, 0));
    assert_eq!(esf["EECR05"], (2, 1, 1, 0));

    app.get_as(&u.admin, ANNUAL).await.problem(403, "forbidden");
    app.get_as(&u.admin, ESF).await.problem(403, "forbidden");

    let bad = |path: &'static str| {
        let app = &app;
        let manager = &u.manager;
        async move {
            let res = app.get_as(manager, path).await;
            res.problem(400, "malformed-request");
            res.field_errors()
        }
    };
    let pair = |f: &str, c: &str| (f.to_owned(), c.to_owned());
    assert_eq!(
        bad("/api/v1/reports/annual").await,
        vec![pair("year", "required")]
    );
    assert_eq!(
        bad("/api/v1/reports/annual?year=twenty").await,
        vec![pair("year", "invalid")]
    );
    assert_eq!(
        bad("/api/v1/reports/annual?year=99").await,
        vec![pair("year", "invalid")]
    );
    assert_eq!(
        bad("/api/v1/reports/annual?year=2026&group_by=sex").await,
        vec![pair("group_by", "unknown")]
    );
    assert_eq!(
        bad("/api/v1/reports/esf").await,
        vec![pair("from", "required"), pair("to", "required")]
    );
    assert_eq!(
        bad("/api/v1/reports/esf?from=2026-12-31&to=2026-01-01").await,
        vec![pair("to", "before_from")]
    );
    assert_eq!(
        bad("/api/v1/reports/esf?from=2026-02-30&to=2026-12-31").await,
        vec![pair("from", "invalid")]
    );

    let trail = app.audit_trail();
    assert!(trail.contains(&("report.read".into(), "allowed".into())));
    assert!(trail.contains(&("report.read".into(), "denied".into())));
    let details: Vec<Value> = crate::consents::audit_rows(&app, "report.read")
        .into_iter()
        .filter_map(|(_, _, _, d)| d)
        .collect();
    assert!(
        details.contains(&json!({"report": "annual", "year": 2026})),
        "{details:?}"
    );
    assert!(
        details.contains(&json!({"report": "esf", "from": "2026-01-01", "to": "2026-12-31"})),
        "{details:?}"
    );
}
