//! The club the benchmarks and `scripts/bench` measure against, written straight into the
//! database (no API, no audit events): an admin, a manager, `leads` social workers leading the
//! care teams in turn, and participants with one or two risk groups each, every other one in an
//! open programme. Included with `#[path]` by the benches and `examples/bench_seed.rs`.

// Shared by several bench targets through `#[path]`; each uses part of it.
#![allow(dead_code)]

use chrono::{Months, NaiveDate, Utc};

use reintegra::db::{self, write_transaction};
use reintegra::http::AppError;
use reintegra::participants::model::{CareTeamEntry, ParticipantRow, RiskGroupEntry};
use reintegra::participants::pesel::{Pesel, Sex};
use reintegra::policy::Role;
use reintegra::programmes::model::ProgrammeRow;
use reintegra::staff::model::StaffRow;

/// Every seeded account signs in with this password.
pub const PASSWORD: &str = "bench password 123";

const RISK_GROUPS: [&str; 4] = [
    "long_term_unemployed",
    "disability",
    "released_prisoner",
    "mental_illness",
];

pub struct Seeded {
    pub admin_id: String,
    pub manager_id: String,
    /// The leads' ids; lead `n` signs in as `lead{n}@bench.test`.
    pub lead_ids: Vec<String>,
    /// Participant ids in insertion order; participant `i` is led by lead `i % leads`.
    pub participant_ids: Vec<String>,
}

/// An active account that signs in with the password `password_hash` hashes.
pub fn staff_row(id: &str, email: &str, password_hash: &str) -> StaffRow {
    let now = Utc::now().naive_utc();
    StaffRow {
        id: id.to_owned(),
        email: email.to_owned(),
        full_name: email.to_owned(),
        full_name_key: email.to_owned(),
        password_hash: password_hash.to_owned(),
        active: true,
        active_until: None,
        must_change_password: false,
        token_version: 1,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Participant number `i`, referred by the OPS on `referred_on`: a valid PESEL with the birth
/// date and sex it encodes, status `referred`, no contact details; names are the caller's
/// (`set_names`).
pub fn participant_row(i: usize, referred_on: NaiveDate) -> ParticipantRow {
    let birth = NaiveDate::from_ymd_opt(
        1960 + (i % 45) as i32,
        1 + (i % 12) as u32,
        1 + (i % 28) as u32,
    )
    .expect("date");
    let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
    let pesel = Pesel::generate(birth, (i / 45 % 10_000) as u16, sex).expect("pesel");
    let now = Utc::now().naive_utc();
    ParticipantRow {
        id: uuid::Uuid::new_v4().to_string(),
        status: "referred".into(),
        first_name: String::new(),
        last_name: String::new(),
        first_name_key: String::new(),
        last_name_key: String::new(),
        first_last_key: String::new(),
        last_first_key: String::new(),
        pesel: Some(pesel.as_str().to_owned()),
        id_document_kind: None,
        id_document_number: None,
        id_document_country: None,
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
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// Seeds the club in one transaction; `password_hash` is [`PASSWORD`] hashed with the
/// parameters the service will verify with.
pub fn seed_club(
    conn: &mut db::AnyConnection,
    password_hash: &str,
    participants: usize,
    leads: usize,
) -> Seeded {
    let id = || uuid::Uuid::new_v4().to_string();
    let seeded = Seeded {
        admin_id: id(),
        manager_id: id(),
        lead_ids: (0..leads).map(|_| id()).collect(),
        participant_ids: (0..participants).map(|_| id()).collect(),
    };
    write_transaction(conn, |conn| -> Result<(), AppError> {
        let staff = [
            (&seeded.admin_id, "admin@bench.test".to_owned(), Role::Admin),
            (
                &seeded.manager_id,
                "manager@bench.test".to_owned(),
                Role::Manager,
            ),
        ];
        for (sid, email, role) in staff {
            reintegra::staff::repo::insert(conn, &staff_row(sid, &email, password_hash), &[role])?;
        }
        for (n, lead) in seeded.lead_ids.iter().enumerate() {
            reintegra::staff::repo::insert(
                conn,
                &staff_row(lead, &format!("lead{n}@bench.test"), password_hash),
                &[Role::SocialWorker],
            )?;
        }
        let now = Utc::now().naive_utc();
        let referred_on = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
        for (i, pid) in seeded.participant_ids.iter().enumerate() {
            let in_programme = i % 2 == 0;
            let mut row = participant_row(i, referred_on);
            row.id = pid.clone();
            row.status = if in_programme {
                "in_programme"
            } else {
                "qualified"
            }
            .into();
            row.phone = Some("+48600100200".into());
            row.set_names("Anna", &format!("Nowak{i}"));
            reintegra::participants::repo::insert(conn, &row)?;
            let groups: Vec<RiskGroupEntry> = (0..1 + i % 2)
                .map(|k| RiskGroupEntry {
                    code: RISK_GROUPS[(i + k) % RISK_GROUPS.len()].to_owned(),
                    evidence: "certificate".to_owned(),
                    evidence_date: Some(referred_on),
                })
                .collect();
            reintegra::participants::repo::replace_risk_groups(conn, pid, &groups)?;
            reintegra::participants::repo::replace_care_team(
                conn,
                pid,
                &[CareTeamEntry {
                    staff_id: seeded.lead_ids[i % leads].clone(),
                    lead: true,
                }],
            )?;
            if in_programme {
                let start = NaiveDate::from_ymd_opt(2026, 2, 2).expect("date");
                reintegra::programmes::repo::insert(
                    conn,
                    &ProgrammeRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        participant_id: pid.clone(),
                        start_date: start,
                        planned_months: 12,
                        planned_end_date: start.checked_add_months(Months::new(12)).expect("date"),
                        basis: "ipzs".into(),
                        basis_reference: None,
                        extension_reason: None,
                        exit_date: None,
                        exit_reason: None,
                        exit_note: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
            }
        }
        Ok(())
    })
    .expect("seed");
    seeded
}

/// `sessions` scheduled support groups on 2026-02-10 facilitated by `facilitator`, each inviting
/// `per_session` of `participants` (who must be in a programme open that day); answers each
/// session's id with its invitees.
pub fn seed_sessions(
    conn: &mut db::AnyConnection,
    facilitator: &str,
    participants: &[String],
    sessions: usize,
    per_session: usize,
) -> Vec<(String, Vec<String>)> {
    let day = NaiveDate::from_ymd_opt(2026, 2, 10).expect("date");
    let now = Utc::now().naive_utc();
    let mut out = Vec::with_capacity(sessions);
    write_transaction(conn, |conn| -> Result<(), AppError> {
        for n in 0..sessions {
            let invited: Vec<String> = (0..per_session)
                .map(|k| participants[(n * per_session + k) % participants.len()].clone())
                .collect();
            let row = reintegra::sessions::model::SessionRow {
                id: uuid::Uuid::new_v4().to_string(),
                activity_type_code: "support_group".into(),
                area: "social".into(),
                category: "support_group".into(),
                title: format!("Support group {n}"),
                starts_at: day.and_hms_opt(9, 0, 0).expect("time"),
                starts_on: day,
                duration_minutes: 90,
                location: None,
                status: "scheduled".into(),
                cancel_reason: None,
                cancelled_at: None,
                created_by: facilitator.to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
                attended_minutes: 0,
            };
            reintegra::sessions::repo::insert(conn, &row, &[facilitator.to_owned()], &invited)?;
            out.push((row.id, invited));
        }
        Ok(())
    })
    .expect("seed sessions");
    out
}

/// A year of history for the report benchmarks, on top of [`seed_club`]: a quarter of the
/// open programmes exited on 2026-06-30 (completed, employed, dropped out in turn) with their
/// 3-month follow-up recorded, a job outcome for every other exited participant, and about
/// `attendance_rows` attendance rows in sessions of 20 spread over February–November 2026.
/// The programmes of `keep_open` participants stay open (the load benchmark's reads and
/// attendance PUTs rely on them), and the quarter is taken of the others.
pub fn seed_history(
    conn: &mut db::AnyConnection,
    manager_id: &str,
    attendance_rows: usize,
    keep_open: &std::collections::HashSet<String>,
) {
    use diesel::prelude::*;
    use reintegra::db::schema::{outcomes, participants, programmes};
    let programmes: Vec<(String, String)> = programmes::table
        .select((programmes::id, programmes::participant_id))
        .order(programmes::participant_id)
        .load(conn)
        .expect("programmes");
    let mut may_exit = 0;
    let exits: Vec<bool> = programmes
        .iter()
        .map(|(_, participant)| {
            if keep_open.contains(participant) {
                return false;
            }
            may_exit += 1;
            may_exit % 4 == 1
        })
        .collect();
    let exit = NaiveDate::from_ymd_opt(2026, 6, 30).expect("date");
    let now = Utc::now().naive_utc();
    write_transaction(conn, |conn| -> Result<(), AppError> {
        for (n, (programme, participant)) in programmes
            .iter()
            .enumerate()
            .filter(|(n, _)| exits[*n])
            .map(|(_, p)| p)
            .enumerate()
        {
            let reason = ["completed", "employed", "dropped_out"][n % 3];
            diesel::update(programmes::table.find(programme))
                .set((
                    programmes::exit_date.eq(exit),
                    programmes::exit_reason.eq(reason),
                ))
                .execute(conn)?;
            diesel::update(participants::table.find(participant))
                .set(participants::status.eq("exited"))
                .execute(conn)?;
            let follow_up = |months: i32, due: NaiveDate, result: Option<&str>| {
                reintegra::programmes::model::FollowUpRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    programme_id: programme.clone(),
                    participant_id: participant.clone(),
                    months_after_exit: months,
                    due_on: due,
                    status: if result.is_some() { "done" } else { "due" }.into(),
                    contacted_on: result.map(|_| due),
                    result: result.map(str::to_owned),
                    note: None,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                }
            };
            let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).expect("date");
            reintegra::programmes::repo::insert_follow_ups(
                conn,
                &[
                    follow_up(
                        3,
                        d(9, 30),
                        Some(if n % 2 == 0 {
                            "employed"
                        } else {
                            "not_employed"
                        }),
                    ),
                    follow_up(6, d(12, 30), None),
                ],
            )?;
            if n % 2 == 0 {
                diesel::insert_into(outcomes::table)
                    .values(reintegra::outcomes::model::OutcomeRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        participant_id: participant.clone(),
                        kind: "employment_contract".into(),
                        category: "vocational".into(),
                        achieved_on: d(6, 15),
                        employer: Some("Hurtownia".into()),
                        hours_per_week: Some(40),
                        contract_end: None,
                        name: None,
                        institution: None,
                        description: None,
                        evidence_document_type: "contract_copy".into(),
                        evidence_reference: "UP/1".into(),
                        note: None,
                        status: "recorded".into(),
                        recorded_by: manager_id.to_owned(),
                        verified_by: None,
                        verified_at: None,
                        retracted_by: None,
                        retracted_at: None,
                        retraction_reason: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    })
                    .execute(conn)?;
            }
        }
        Ok(())
    })
    .expect("seed exits");

    // Sessions of 20 over 2026-02-02 … 2026-11-30, one day after another; every participant
    // whose programme is open (or exited later) that day may attend.
    let start = NaiveDate::from_ymd_opt(2026, 2, 2).expect("date");
    let days = 300_u64;
    let sessions = attendance_rows.div_ceil(20);
    let types = [
        ("support_group", "social", "support_group"),
        ("psychoeducation_workshop", "social", "psychoeducation"),
        ("job_search_workshop", "vocational", "proactive_workshop"),
        ("cv_workshop", "vocational", "proactive_workshop"),
    ];
    let statuses = ["present", "present", "present", "late", "excused", "absent"];
    let all: Vec<&(String, String)> = programmes.iter().collect();
    let still_open: Vec<&(String, String)> = programmes
        .iter()
        .zip(&exits)
        .filter(|(_, exited)| !**exited)
        .map(|(p, _)| p)
        .collect();
    for chunk in (0..sessions).collect::<Vec<_>>().chunks(500) {
        write_transaction(conn, |conn| -> Result<(), AppError> {
            let mut rows = Vec::with_capacity(chunk.len() * 20);
            for &n in chunk {
                let day = start + chrono::Days::new(n as u64 % days);
                let (code, area, category) = types[n % types.len()];
                let row = reintegra::sessions::model::SessionRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    activity_type_code: code.into(),
                    area: area.into(),
                    category: category.into(),
                    title: format!("{code} {n}"),
                    starts_at: day.and_hms_opt(9, 0, 0).expect("time"),
                    starts_on: day,
                    duration_minutes: 90,
                    location: None,
                    status: "scheduled".into(),
                    cancel_reason: None,
                    cancelled_at: None,
                    created_by: manager_id.to_owned(),
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    attended_minutes: 0,
                };
                reintegra::sessions::repo::insert(conn, &row, &[manager_id.to_owned()], &[])?;
                // Programmes that exited on 2026-06-30 attend only until then.
                let pool = if day > exit { &still_open } else { &all };
                for k in 0..20 {
                    let (programme, participant) = pool[(n * 20 + k) % pool.len()];
                    let status = statuses[(n + k) % statuses.len()];
                    rows.push(reintegra::sessions::model::AttendanceRow {
                        session_id: row.id.clone(),
                        participant_id: participant.clone(),
                        programme_id: programme.clone(),
                        status: status.into(),
                        minutes: match status {
                            "present" => 90,
                            "late" => 60,
                            _ => 0,
                        },
                        note: None,
                        recorded_by: manager_id.to_owned(),
                        recorded_at: now,
                    });
                }
            }
            for per_session in rows.chunk_by(|a, b| a.session_id == b.session_id) {
                let id = &per_session[0].session_id;
                reintegra::sessions::repo::replace_attendance(conn, id, per_session)?;
                let total: i64 = per_session.iter().map(|r| i64::from(r.minutes)).sum();
                diesel::update(reintegra::db::schema::sessions::table.find(id))
                    .set(reintegra::db::schema::sessions::attended_minutes.eq(total))
                    .execute(conn)?;
            }
            Ok(())
        })
        .expect("seed sessions");
    }
}
