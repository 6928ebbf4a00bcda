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
            };
            reintegra::sessions::repo::insert(conn, &row, &[facilitator.to_owned()], &invited)?;
            out.push((row.id, invited));
        }
        Ok(())
    })
    .expect("seed sessions");
    out
}
