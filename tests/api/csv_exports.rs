//! CSV exports at size (issue "Hardening", item 8): the audit log streamed in batches by `seq`,
//! the participant list joined to its relations in linear time. Rows are written straight into
//! the database, not through the API, so the tests stay quick.

use std::collections::{HashMap, HashSet};

use actix_web::test::{call_service, init_service, read_body, TestRequest};
use chrono::{Duration, Months, NaiveDate, NaiveDateTime, TimeZone};
use diesel::prelude::*;

use reintegra::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent, StoredEvent};
use reintegra::clock::Clock;
use reintegra::db::schema::audit_events;
use reintegra::http::{AppError, RequestContext};
use reintegra::participants::model::{CareTeamEntry, ParticipantRow, RiskGroupEntry};
use reintegra::policy::Role;
use reintegra::programmes::model::ProgrammeRow;

use crate::common::{TestApp, TestResponse, TestUser};

/// The audit CSV's columns, as the contract names them.
const AUDIT_COLUMNS: &[&str] = &[
    "seq",
    "at",
    "actor_id",
    "actor_roles",
    "action",
    "outcome",
    "entity_type",
    "entity_id",
    "participant_id",
    "request_id",
    "ip",
    "changed_fields",
    "prev_hash",
    "hash",
];

/// More than two export batches (1,000 events each).
const BULK_EVENTS: usize = 2_500;

/// Appends `n` varied events in one transaction: participant reads (about seven participants),
/// staff updates (some naming an entity id a spreadsheet would run as a formula) and lists;
/// every fourth denied; the first 900 three days before the clock's today.
fn record_bulk(app: &TestApp, n: usize) {
    let now = app.clock.now();
    app.state
        .db
        .write_blocking(|conn| -> Result<(), AppError> {
            for i in 0..n {
                let outcome = if i % 4 == 0 {
                    AuditOutcome::Denied
                } else {
                    AuditOutcome::Allowed
                };
                let actor = Some(Actor {
                    id: format!("staff-{}", i % 11),
                    roles: vec!["manager".into(), "psychologist".into()],
                });
                let event = match i % 3 {
                    0 => {
                        let p = format!("p-{}", i % 7);
                        NewEvent::new(AuditAction::ParticipantRead, outcome, actor)
                            .entity("participant", p.clone())
                            .participant(p)
                    }
                    1 => NewEvent::new(AuditAction::StaffUpdate, outcome, actor)
                        .entity("staff", format!("=HYPERLINK(\"x\",{i})"))
                        .changed(["full_name", "-roles"]),
                    _ => NewEvent::new(AuditAction::ParticipantList, outcome, actor),
                };
                let at = if i < 900 {
                    now - Duration::days(3)
                } else {
                    now
                };
                let ctx = RequestContext {
                    request_id: format!("bulk-{i}"),
                    ip: None,
                };
                audit::record(conn, at, &ctx, event)?;
            }
            Ok(())
        })
        .expect("record the bulk events");
}

/// Every stored event, by `seq`.
fn stored_events(app: &TestApp) -> Vec<StoredEvent> {
    audit_events::table
        .order(audit_events::seq.asc())
        .select(audit::model::EventRow::as_select())
        .load(&mut app.conn())
        .expect("read the log")
        .into_iter()
        .map(|r| StoredEvent::from_row(r).expect("stored event"))
        .collect()
}

async fn audit_csv(app: &TestApp, user: &TestUser, query: &str) -> TestResponse {
    let res = app
        .call_as(
            user,
            TestRequest::get()
                .uri(&format!("/api/v1/audit-events{query}"))
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res
}

/// The `seq` column of a CSV answer, after checking its header row.
fn seqs(res: &TestResponse) -> Vec<i64> {
    let mut reader = ::csv::Reader::from_reader(res.body.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, AUDIT_COLUMNS);
    reader
        .records()
        .map(|r| r.expect("CSV record")[0].parse().expect("seq"))
        .collect()
}

fn seqs_where(events: &[StoredEvent], keep: impl Fn(&StoredEvent) -> bool) -> Vec<i64> {
    events.iter().filter(|e| keep(e)).map(|e| e.seq).collect()
}

/// Midnight of `day` in Warsaw (winter: UTC+1), as stored.
fn warsaw_midnight(day: NaiveDate) -> NaiveDateTime {
    chrono_tz::Europe::Warsaw
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .naive_utc()
}

/// A log of 2,500+ events (three batches) comes out whole, in `seq` order, each event once,
/// byte for byte the document the in-memory rendering gave (same header, cells, formula
/// escaping, CRLF lines), with the CSV content type and file name; filters and each role's share
/// of the log apply to every batch.
#[actix_web::test]
async fn the_audit_csv_of_a_log_larger_than_a_batch_has_every_matching_event_once_in_order() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    let manager = app.user(&[Role::Manager]).await;
    let admin = app.user(&[Role::Admin]).await;
    record_bulk(&app, BULK_EVENTS);
    let events = stored_events(&app);
    assert!(events.len() > BULK_EVENTS);

    let res = audit_csv(&app, &auditor, "").await;
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename=\"audit-events.csv\"")
    );
    let all: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seqs(&res), all, "every event once, by seq");
    let expected = reintegra::http::csv::render(AUDIT_COLUMNS, &events).unwrap();
    assert!(
        res.text() == format!("{}{expected}", reintegra::http::csv::BOM),
        "the streamed document differs from the whole-log rendering (after the BOM)"
    );
    // Formula escaping holds in every batch, the last included.
    let last_staff_update = events.iter().rfind(|e| e.action == "staff.update").unwrap();
    assert!(last_staff_update.seq > 2_000);
    let line = res
        .text()
        .lines()
        .find(|l| l.starts_with(&format!("{},", last_staff_update.seq)))
        .unwrap()
        .to_owned();
    assert!(line.contains(",\"'=HYPERLINK(\"\"x\"\","), "{line}");
    assert!(line.contains(",full_name|'-roles,"), "{line}");

    let today = app.clock.today();
    let from = warsaw_midnight(today);
    let res = audit_csv(
        &app,
        &auditor,
        &format!("?action=participant.read&outcome=allowed&from={today}"),
    )
    .await;
    let expected = seqs_where(&events, |e| {
        e.action == "participant.read" && e.outcome == "allowed" && e.at >= from
    });
    assert!(expected.len() > 300, "{}", expected.len());
    assert_eq!(seqs(&res), expected);

    let before = today - chrono::Days::new(1);
    let res = audit_csv(
        &app,
        &auditor,
        &format!("?participant_id=p-3&to={before}&outcome=denied"),
    )
    .await;
    let expected = seqs_where(&events, |e| {
        e.participant_id.as_deref() == Some("p-3") && e.outcome == "denied" && e.at < from
    });
    assert!(!expected.is_empty());
    assert_eq!(seqs(&res), expected);

    // Managers see the events about participants, admins the others.
    let res = audit_csv(&app, &manager, "").await;
    let about_participants = seqs_where(&events, |e| e.participant_id.is_some());
    assert!(about_participants.len() > 800);
    assert_eq!(seqs(&res), about_participants);

    let res = audit_csv(&app, &admin, "?action=staff.update").await;
    let expected = seqs_where(&events, |e| {
        e.participant_id.is_none() && e.action == "staff.update"
    });
    assert!(expected.len() > 800);
    assert_eq!(seqs(&res), expected);
}

/// The export is the log as it stood when it began: events appended while later batches are
/// still to be read are left out, and nothing is lost or repeated.
#[actix_web::test]
async fn events_appended_during_an_audit_csv_export_are_not_in_it() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    record_bulk(&app, 1_100);
    let head = stored_events(&app).len() as i64;

    let service = init_service(reintegra::app(app.state.clone())).await;
    let req = TestRequest::get()
        .uri("/api/v1/audit-events")
        .insert_header(("accept", "text/csv"))
        .insert_header(("authorization", format!("Bearer {}", auditor.token)))
        .to_request();
    let res = call_service(&service, req).await;
    assert_eq!(res.status(), 200);
    // The header and the first batch are read; the rest is read as the body is consumed.
    record_bulk(&app, 50);
    let body = read_body(res).await;
    let res = TestResponse {
        status: actix_web::http::StatusCode::OK,
        headers: Default::default(),
        body: body.to_vec(),
    };
    assert_eq!(seqs(&res), (1..=head).collect::<Vec<_>>());
    assert_eq!(stored_events(&app).len() as i64, head + 50);
}

// ------------------------------------------------------------------------------------------

const PARTICIPANTS: usize = 600;
const CODES: [&str; 3] = ["disability", "long_term_unemployed", "released_prisoner"];

/// What participant `i` was given: its lead, its risk-group codes (sorted), its open programme.
struct Seeded {
    lead: String,
    codes: Vec<&'static str>,
    programme: Option<String>,
    team: Vec<String>,
}

/// `PARTICIPANTS` participants in one transaction, led in turn by the three clinicians (every
/// fifth with the next clinician as a second member); zero to three risk groups; every third in
/// an open programme, every fourth with a closed one. Participant 7 has a formula for a name.
fn seed_participants(app: &TestApp, clinicians: &[String]) -> HashMap<String, Seeded> {
    let now = reintegra::http::stored_now(&app.clock);
    let referred_on = NaiveDate::from_ymd_opt(2026, 1, 12).unwrap();
    let mut seeded = HashMap::new();
    app.state
        .db
        .write_blocking(|conn| -> Result<(), AppError> {
            for i in 0..PARTICIPANTS {
                let id = uuid::Uuid::new_v4().to_string();
                let birth = NaiveDate::from_ymd_opt(1970 + (i % 40) as i32, 1 + (i % 12) as u32, 1)
                    .unwrap();
                let mut row = ParticipantRow {
                    id: id.clone(),
                    status: "qualified".into(),
                    first_name: String::new(),
                    last_name: String::new(),
                    first_name_key: String::new(),
                    last_name_key: String::new(),
                    first_last_key: String::new(),
                    last_first_key: String::new(),
                    pesel: None,
                    id_document_kind: Some("passport".into()),
                    id_document_number: Some(format!("XA{i:07}")),
                    id_document_country: Some("UA".into()),
                    birth_date: birth,
                    sex: if i % 2 == 0 { "female" } else { "male" }.into(),
                    phone: None,
                    email: None,
                    address_street: None,
                    address_postal_code: None,
                    address_city: None,
                    education_level: None,
                    labour_status_at_entry: None,
                    disability: None,
                    legal_rep_full_name: None,
                    legal_rep_relation: None,
                    legal_rep_phone: None,
                    referral_source: "ops".into(),
                    referral_reference: None,
                    referred_on,
                    version: 1 + (i % 3) as i64,
                    created_at: now,
                    updated_at: now,
                };
                let first = if i == 7 { "=cmd|' /C calc'!A0" } else { "Anna" };
                row.set_names(first, &format!("Kowalska{i:04}"));
                reintegra::participants::repo::insert(conn, &row)?;

                let codes: Vec<&'static str> = CODES
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| (i >> k) & 1 == 1)
                    .map(|(_, c)| *c)
                    .collect();
                let entries: Vec<RiskGroupEntry> = codes
                    .iter()
                    .rev()
                    .map(|c| RiskGroupEntry {
                        code: (*c).to_owned(),
                        evidence: "certificate".into(),
                        evidence_date: Some(referred_on),
                    })
                    .collect();
                reintegra::participants::repo::replace_risk_groups(conn, &id, &entries)?;

                let lead = clinicians[i % clinicians.len()].clone();
                let mut team = vec![CareTeamEntry {
                    staff_id: lead.clone(),
                    lead: true,
                }];
                if i % 5 == 0 {
                    team.insert(
                        0,
                        CareTeamEntry {
                            staff_id: clinicians[(i + 1) % clinicians.len()].clone(),
                            lead: false,
                        },
                    );
                }
                reintegra::participants::repo::replace_care_team(conn, &id, &team)?;

                let programme = |exit: Option<NaiveDate>| {
                    let start = NaiveDate::from_ymd_opt(2025, 2, 3).unwrap();
                    ProgrammeRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        participant_id: id.clone(),
                        start_date: start,
                        planned_months: 12,
                        planned_end_date: start.checked_add_months(Months::new(12)).unwrap(),
                        basis: "ipzs".into(),
                        basis_reference: None,
                        extension_reason: None,
                        exit_date: exit,
                        exit_reason: exit.map(|_| "completed".into()),
                        exit_note: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    }
                };
                if i % 4 == 0 {
                    let closed = programme(NaiveDate::from_ymd_opt(2025, 12, 1));
                    reintegra::programmes::repo::insert(conn, &closed)?;
                }
                let open = (i % 3 == 0).then(|| programme(None));
                if let Some(open) = &open {
                    reintegra::programmes::repo::insert(conn, open)?;
                }
                seeded.insert(
                    id,
                    Seeded {
                        lead,
                        codes,
                        programme: open.map(|p| p.id),
                        team: team.into_iter().map(|m| m.staff_id).collect(),
                    },
                );
            }
            Ok(())
        })
        .expect("seed participants");
    seeded
}

async fn participants_csv(
    app: &TestApp,
    user: &TestUser,
    query: &str,
) -> Vec<HashMap<String, String>> {
    let res = app
        .call_as(
            user,
            TestRequest::get()
                .uri(&format!("/api/v1/participants{query}"))
                .insert_header(("accept", "text/csv")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename=\"participants.csv\"")
    );
    let text = res.text();
    // A UTF-8 byte order mark first, so spreadsheets read Polish names right.
    assert!(text.starts_with(
        "\u{feff}id,first_name,last_name,birth_date,sex,status,risk_groups,lead_staff_id,\
         current_programme.id,current_programme.start_date,current_programme.planned_end_date,\
         version\r\n"
    ));
    let mut reader = ::csv::Reader::from_reader(res.body.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.expect("CSV record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// Checks each line against what its participant was given; answers the ids, once each.
fn check_lines(
    lines: &[HashMap<String, String>],
    seeded: &HashMap<String, Seeded>,
) -> HashSet<String> {
    let mut ids = HashSet::new();
    for line in lines {
        let id = &line["id"];
        assert!(ids.insert(id.clone()), "{id} listed twice");
        let s = &seeded[id];
        assert_eq!(line["lead_staff_id"], s.lead, "{id}");
        assert_eq!(line["risk_groups"], s.codes.join("|"), "{id}");
        assert_eq!(
            line["current_programme.id"],
            s.programme.clone().unwrap_or_default(),
            "{id}"
        );
        if s.programme.is_some() {
            assert_eq!(line["current_programme.start_date"], "2025-02-03");
            assert_eq!(line["current_programme.planned_end_date"], "2026-02-03");
        }
    }
    ids
}

/// A CSV of 600 participants (more than one chunk of relations) has one line per participant,
/// each with its own lead, risk groups (sorted, `|`-joined) and open programme only; the
/// caseload and filters scope it as they scope the JSON list.
#[actix_web::test]
async fn the_participant_csv_has_one_line_per_participant_with_its_lead_and_risk_groups() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let mut clinicians = Vec::new();
    for role in [Role::SocialWorker, Role::Psychologist, Role::Counsellor] {
        clinicians.push(app.user(&[role]).await);
    }
    let ids: Vec<String> = clinicians.iter().map(|c| c.id.clone()).collect();
    let seeded = seed_participants(&app, &ids);

    let lines = participants_csv(&app, &manager, "").await;
    assert_eq!(lines.len(), PARTICIPANTS);
    let listed = check_lines(&lines, &seeded);
    assert_eq!(listed.len(), PARTICIPANTS);
    let formula = lines
        .iter()
        .find(|l| l["last_name"] == "Kowalska0007")
        .unwrap();
    assert_eq!(formula["first_name"], "'=cmd|' /C calc'!A0");
    let names: Vec<&str> = lines.iter().map(|l| l["last_name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "sorted by name");

    // The list read is audited once, with the number of rows.
    let details: String = audit_events::table
        .filter(audit_events::action.eq("participant.list"))
        .order(audit_events::seq.desc())
        .select(audit_events::details.assume_not_null())
        .first(&mut app.conn())
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["rows"], PARTICIPANTS);
    assert_eq!(details["csv"], true);

    // A clinician's caseload: the teams they are on, as lead or not.
    let second = &clinicians[1];
    let lines = participants_csv(&app, second, "").await;
    let expected: HashSet<String> = seeded
        .iter()
        .filter(|(_, s)| s.team.contains(&second.id))
        .map(|(id, _)| id.clone())
        .collect();
    assert!(expected.len() > PARTICIPANTS / 3);
    assert_eq!(check_lines(&lines, &seeded), expected);

    let lines = participants_csv(&app, &manager, "?risk_group=released_prisoner").await;
    let expected: HashSet<String> = seeded
        .iter()
        .filter(|(_, s)| s.codes.contains(&"released_prisoner"))
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(expected.len(), PARTICIPANTS / 2);
    assert_eq!(check_lines(&lines, &seeded), expected);
}
