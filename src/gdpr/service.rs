//! Data protection (api.md §11, §13.7): the access log, the export, anonymisation.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde_json::json;

use super::model::*;
use super::retention;
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::schema::{
    attendance, audit_events, case_notes, consents, diagnoses, diagnosis_amendments, follow_ups,
    outcomes, participant_risk_groups, participants, plan_actions, plan_goals, plan_reviews, plans,
    programmes, qualifications, referrals, sessions,
};
use crate::db::AnyConnection;
use crate::http::{AppError, PageRequest, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::participants::model::{Participant, Status};
use crate::policy::{self, Action, Disclosure, View};
use crate::state::AppState;

/// What anonymisation writes where a column takes no `null`.
pub const PLACEHOLDER: &str = "anonymised";

/// Every row at once (exports; a participant's own records are bounded).
const ALL: PageRequest = PageRequest {
    page: 1,
    per_page: u32::MAX,
};

/// The audit actions that read the participant's record or confidential data (api.md §11):
/// the access log lists these and every denied attempt naming the participant.
pub const READ_ACTIONS: &[AuditAction] = &[
    AuditAction::ParticipantRead,
    AuditAction::ParticipantTimelineRead,
    AuditAction::ParticipantExport,
    AuditAction::ParticipantAccessLog,
    AuditAction::ConsentList,
    AuditAction::NoteList,
    AuditAction::DiagnosisRead,
    AuditAction::DiagnosisList,
    AuditAction::DiagnosisReadFindings,
    AuditAction::PlanRead,
    AuditAction::PlanList,
    AuditAction::AttendanceRead,
    AuditAction::OutcomeRead,
    AuditAction::OutcomeList,
];

fn access_log_query(
    participant_id: &str,
) -> audit_events::BoxedQuery<'static, crate::db::DbBackend> {
    let reads: Vec<&'static str> = READ_ACTIONS.iter().map(|a| a.as_str()).collect();
    audit_events::table
        .filter(audit_events::participant_id.eq(participant_id.to_owned()))
        .filter(
            audit_events::action
                .eq_any(reads)
                .or(audit_events::outcome.eq(AuditOutcome::Denied.as_str())),
        )
        .into_boxed()
}

type LogRow = (
    i64,
    chrono::NaiveDateTime,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The participant's access log, newest first (`page`: `None` for every entry).
pub fn access_log(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: Option<PageRequest>,
) -> Result<(Vec<AccessLogEntry>, i64), AppError> {
    let total: i64 = access_log_query(participant_id).count().get_result(conn)?;
    let mut q = access_log_query(participant_id)
        .order(audit_events::seq.desc())
        .select((
            audit_events::seq,
            audit_events::at,
            audit_events::actor_id,
            audit_events::actor_roles,
            audit_events::action,
            audit_events::outcome,
            audit_events::entity_type,
            audit_events::entity_id,
            audit_events::request_id,
            audit_events::ip,
        ));
    if let Some(page) = page {
        q = q.offset(page.offset()).limit(page.limit());
    }
    let rows: Vec<LogRow> = q.load(conn)?;
    let entries = rows
        .into_iter()
        .map(|r| {
            Ok(AccessLogEntry {
                seq: r.0,
                at: r.1,
                actor_id: r.2,
                actor_roles: serde_json::from_str(&r.3).map_err(AppError::internal)?,
                action: r.4,
                outcome: r.5,
                entity_type: r.6,
                entity_id: r.7,
                request_id: r.8,
                ip: r.9,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok((entries, total))
}

fn read_event(action: AuditAction, caller: &CurrentStaff, participant_id: &str) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .entity("participant", participant_id.to_owned())
        .participant(participant_id.to_owned())
}

/// The access log read by an authorized caller; the read is audited as
/// `participant.access_log`.
pub async fn read_access_log(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    page: Option<PageRequest>,
) -> Result<(Vec<AccessLogEntry>, i64), AppError> {
    let pid = access.participant_id.clone();
    let (entries, total) = state
        .db
        .read(move |conn| access_log(conn, &pid, page))
        .await?;
    audit::record_alone(
        state,
        ctx,
        read_event(
            AuditAction::ParticipantAccessLog,
            caller,
            &access.participant_id,
        )
        .details(json!({"rows": entries.len(), "csv": page.is_none()})),
    )
    .await?;
    Ok((entries, total))
}

/// Participants whose retention has ended; the read is audited as `retention.list`.
pub async fn due(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    page: PageRequest,
) -> Result<(Vec<retention::DueRow>, i64), AppError> {
    let today = state.clock.today();
    let (rows, total) = state
        .db
        .read(move |conn| Ok(retention::due(conn, today, Some(page))?))
        .await?;
    audit::record_alone(
        state,
        ctx,
        NewEvent::new(
            AuditAction::RetentionList,
            AuditOutcome::Allowed,
            Some(caller.actor()),
        )
        .details(json!({"rows": rows.len()})),
    )
    .await?;
    Ok((rows, total))
}

// ------------------------------------------------------------------------------------------
// Export

/// What a manager's export leaves out of a diagnosis of this disclosure.
fn withheld_fields(level: Disclosure) -> Vec<&'static str> {
    match level {
        Disclosure::Full => Vec::new(),
        Disclosure::Summary => vec!["findings", "recommendations", "amendments"],
        Disclosure::Metadata | Disclosure::Audit => vec![
            "instrument",
            "summary",
            "findings",
            "recommendations",
            "amendments",
        ],
    }
}

fn build_export(
    conn: &mut AnyConnection,
    participant_id: &str,
    today: NaiveDate,
    now: chrono::NaiveDateTime,
) -> Result<ParticipantExport, AppError> {
    let participant =
        crate::participants::service::record(conn, participant_id, View::Full, today)?;

    let referrals: Vec<ReferralRecord> = referrals::table
        .filter(referrals::participant_id.eq(participant_id))
        .order((referrals::referred_on.asc(), referrals::created_at.asc()))
        .select((
            referrals::id,
            referrals::source,
            referrals::reference,
            referrals::referred_on,
            referrals::created_by,
            referrals::created_at,
        ))
        .load::<(
            String,
            String,
            Option<String>,
            NaiveDate,
            String,
            chrono::NaiveDateTime,
        )>(conn)?
        .into_iter()
        .map(|r| ReferralRecord {
            id: r.0,
            source: r.1,
            reference: r.2,
            referred_on: r.3,
            created_by: r.4,
            created_at: r.5,
        })
        .collect();
    let qualifications: Vec<QualificationRecord> = qualifications::table
        .filter(qualifications::participant_id.eq(participant_id))
        .order((
            qualifications::decided_on.asc(),
            qualifications::created_at.asc(),
        ))
        .select((
            qualifications::id,
            qualifications::decision,
            qualifications::decided_on,
            qualifications::reason,
            qualifications::decided_by,
            qualifications::created_at,
        ))
        .load::<(
            String,
            String,
            NaiveDate,
            Option<String>,
            String,
            chrono::NaiveDateTime,
        )>(conn)?
        .into_iter()
        .map(|r| QualificationRecord {
            id: r.0,
            decision: r.1,
            decided_on: r.2,
            reason: r.3,
            decided_by: r.4,
            created_at: r.5,
        })
        .collect();

    let (consent_rows, _) = crate::consents::repo::list(conn, participant_id, ALL)?;
    let consents = consent_rows
        .into_iter()
        .map(|r| crate::consents::model::Consent::from_row(r, View::Full, today))
        .collect();

    // Team notes; psychologist notes are listed, never shown (the export is a manager's).
    let (note_rows, _, _) = crate::notes::repo::list(conn, participant_id, false, ALL)?;
    let notes = crate::notes::service::with_corrections(conn, note_rows)?;
    let withheld_notes: Vec<WithheldNote> = case_notes::table
        .filter(case_notes::participant_id.eq(participant_id))
        .filter(
            case_notes::confidentiality
                .eq(crate::notes::model::Confidentiality::Psychologist.as_str()),
        )
        .order((case_notes::created_at.asc(), case_notes::id.asc()))
        .select((
            case_notes::id,
            case_notes::author_id,
            case_notes::created_at,
        ))
        .load::<(String, String, chrono::NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, author_id, created_at)| WithheldNote {
            id,
            author_id,
            created_at,
        })
        .collect();

    let (programmes, _) = crate::programmes::service::list(conn, participant_id, ALL, View::Full)?;
    let (follow_ups, _) =
        crate::programmes::service::list_follow_ups(conn, participant_id, ALL, View::Full)?;

    let (diagnosis_rows, _) = crate::diagnoses::repo::list(
        conn,
        participant_id,
        &crate::diagnoses::repo::Filter::default(),
        ALL,
    )?;
    let ids: Vec<String> = diagnosis_rows.iter().map(|r| r.id.clone()).collect();
    let amendments = crate::diagnoses::repo::amendments_of(conn, &ids)?;
    let mut diagnoses = Vec::with_capacity(diagnosis_rows.len());
    let mut withheld_diagnoses = Vec::new();
    for row in diagnosis_rows {
        // A manager's disclosure: never the findings a psychologist keeps (api.md §13.7).
        let level = policy::diagnosis_disclosure(View::Full, row.kind(), false);
        if level.restricted() {
            withheld_diagnoses.push(WithheldDiagnosis {
                id: row.id.clone(),
                kind: row.kind(),
                performed_on: row.performed_on,
                author_id: row.author_id.clone(),
                fields: withheld_fields(level),
            });
        }
        let mine = amendments
            .iter()
            .filter(|a| a.diagnosis_id == row.id)
            .cloned()
            .collect();
        diagnoses.push(crate::diagnoses::model::Diagnosis::shown(row, mine, level));
    }

    let (plan_rows, _) = crate::plans::repo::list(conn, participant_id, ALL)?;
    let plans = crate::plans::service::assemble(conn, plan_rows, View::Full)?;

    let (outcome_rows, _) = crate::outcomes::repo::list(
        conn,
        participant_id,
        &crate::outcomes::repo::Filter::default(),
        ALL,
    )?;
    let outcomes = crate::outcomes::service::shown(conn, outcome_rows, View::Full, today)?;

    type AttendanceTuple = (
        String,
        String,
        chrono::NaiveDateTime,
        NaiveDate,
        String,
        String,
        String,
        String,
        String,
        i32,
        Option<String>,
        String,
        chrono::NaiveDateTime,
    );
    let attendance: Vec<AttendanceRecord> = attendance::table
        .inner_join(sessions::table)
        .filter(attendance::participant_id.eq(participant_id))
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((
            sessions::id,
            sessions::title,
            sessions::starts_at,
            sessions::starts_on,
            sessions::activity_type_code,
            sessions::area,
            sessions::category,
            attendance::programme_id,
            attendance::status,
            attendance::minutes,
            attendance::note,
            attendance::recorded_by,
            attendance::recorded_at,
        ))
        .load::<AttendanceTuple>(conn)?
        .into_iter()
        .map(|r| AttendanceRecord {
            session_id: r.0,
            session_title: r.1,
            starts_at: r.2,
            starts_on: r.3,
            activity_type_code: r.4,
            area: r.5,
            category: r.6,
            programme_id: r.7,
            status: r.8,
            minutes: r.9,
            note: r.10,
            recorded_by: r.11,
            recorded_at: r.12,
        })
        .collect();

    let (access_log, _) = access_log(conn, participant_id, None)?;
    Ok(ParticipantExport {
        exported_at: now,
        participant,
        referrals,
        qualifications,
        consents,
        notes,
        programmes,
        follow_ups,
        diagnoses,
        plans,
        attendance,
        outcomes,
        access_log,
        withheld: Withheld {
            notes: withheld_notes,
            diagnoses: withheld_diagnoses,
        },
    })
}

/// The export, audited as `participant.export` (with the number of withheld items).
pub async fn export(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
) -> Result<ParticipantExport, AppError> {
    let today = state.clock.today();
    let now = crate::http::stored_now(state.clock.as_ref());
    let pid = access.participant_id.clone();
    let export = state
        .db
        .read(move |conn| build_export(conn, &pid, today, now))
        .await?;
    audit::record_alone(
        state,
        ctx,
        read_event(
            AuditAction::ParticipantExport,
            caller,
            &access.participant_id,
        )
        .details(json!({
            "withheld_notes": export.withheld.notes.len(),
            "withheld_diagnoses": export.withheld.diagnoses.len(),
        })),
    )
    .await?;
    Ok(export)
}

// ------------------------------------------------------------------------------------------
// Anonymisation

/// The ids of everything the participant's routes name (for purging idempotency replies).
fn owned_ids(conn: &mut AnyConnection, pid: &str) -> QueryResult<Vec<String>> {
    let mut ids = vec![pid.to_owned()];
    ids.extend(
        consents::table
            .filter(consents::participant_id.eq(pid))
            .select(consents::id)
            .load::<String>(conn)?,
    );
    ids.extend(
        case_notes::table
            .filter(case_notes::participant_id.eq(pid))
            .select(case_notes::id)
            .load::<String>(conn)?,
    );
    ids.extend(
        programmes::table
            .filter(programmes::participant_id.eq(pid))
            .select(programmes::id)
            .load::<String>(conn)?,
    );
    ids.extend(
        follow_ups::table
            .filter(follow_ups::participant_id.eq(pid))
            .select(follow_ups::id)
            .load::<String>(conn)?,
    );
    ids.extend(
        diagnoses::table
            .filter(diagnoses::participant_id.eq(pid))
            .select(diagnoses::id)
            .load::<String>(conn)?,
    );
    let plan_ids: Vec<String> = plans::table
        .filter(plans::participant_id.eq(pid))
        .select(plans::id)
        .load(conn)?;
    ids.extend(
        plan_goals::table
            .filter(plan_goals::plan_id.eq_any(&plan_ids))
            .select(plan_goals::id)
            .load::<String>(conn)?,
    );
    ids.extend(
        plan_actions::table
            .filter(plan_actions::plan_id.eq_any(&plan_ids))
            .select(plan_actions::id)
            .load::<String>(conn)?,
    );
    ids.extend(plan_ids);
    ids.extend(
        outcomes::table
            .filter(outcomes::participant_id.eq(pid))
            .select(outcomes::id)
            .load::<String>(conn)?,
    );
    Ok(ids)
}

/// Removes identity, contact data and every free text of the participant's case (api.md
/// §13.7); dates, codes, statuses, minutes and outcome kinds stay.
fn scrub_case(conn: &mut AnyConnection, pid: &str) -> QueryResult<()> {
    let none: Option<String> = None;
    diesel::update(referrals::table.filter(referrals::participant_id.eq(pid)))
        .set(referrals::reference.eq(none.clone()))
        .execute(conn)?;
    diesel::update(qualifications::table.filter(qualifications::participant_id.eq(pid)))
        .set(qualifications::reason.eq(none.clone()))
        .execute(conn)?;
    diesel::update(
        participant_risk_groups::table.filter(participant_risk_groups::participant_id.eq(pid)),
    )
    .set(participant_risk_groups::evidence.eq(PLACEHOLDER))
    .execute(conn)?;
    diesel::update(consents::table.filter(consents::participant_id.eq(pid)))
        .set((
            consents::description.eq(none.clone()),
            consents::withdrawal_note.eq(none.clone()),
            consents::document_reference.eq(PLACEHOLDER),
        ))
        .execute(conn)?;
    diesel::update(case_notes::table.filter(case_notes::participant_id.eq(pid)))
        .set(case_notes::body.eq(PLACEHOLDER))
        .execute(conn)?;
    diesel::update(programmes::table.filter(programmes::participant_id.eq(pid)))
        .set((
            programmes::basis_reference.eq(none.clone()),
            programmes::extension_reason.eq(none.clone()),
            programmes::exit_note.eq(none.clone()),
        ))
        .execute(conn)?;
    diesel::update(follow_ups::table.filter(follow_ups::participant_id.eq(pid)))
        .set(follow_ups::note.eq(none.clone()))
        .execute(conn)?;
    let diagnosis_ids = diagnoses::table
        .filter(diagnoses::participant_id.eq(pid))
        .select(diagnoses::id);
    diesel::update(
        diagnosis_amendments::table
            .filter(diagnosis_amendments::diagnosis_id.eq_any(diagnosis_ids)),
    )
    .set((
        diagnosis_amendments::reason.eq(PLACEHOLDER),
        diagnosis_amendments::body.eq(PLACEHOLDER),
    ))
    .execute(conn)?;
    diesel::update(diagnoses::table.filter(diagnoses::participant_id.eq(pid)))
        .set((
            diagnoses::instrument.eq(none.clone()),
            diagnoses::summary.eq(none.clone()),
            diagnoses::findings.eq(none.clone()),
            diagnoses::recommendations.eq(none.clone()),
        ))
        .execute(conn)?;
    let plan_ids = || {
        plans::table
            .filter(plans::participant_id.eq(pid))
            .select(plans::id)
    };
    diesel::update(plan_goals::table.filter(plan_goals::plan_id.eq_any(plan_ids())))
        .set((
            plan_goals::title.eq(PLACEHOLDER),
            plan_goals::description.eq(none.clone()),
            plan_goals::indicator.eq(PLACEHOLDER),
            plan_goals::progress_note.eq(none.clone()),
        ))
        .execute(conn)?;
    diesel::update(plan_actions::table.filter(plan_actions::plan_id.eq_any(plan_ids())))
        .set(plan_actions::title.eq(PLACEHOLDER))
        .execute(conn)?;
    diesel::update(plan_reviews::table.filter(plan_reviews::plan_id.eq_any(plan_ids())))
        .set(plan_reviews::summary.eq(PLACEHOLDER))
        .execute(conn)?;
    diesel::update(attendance::table.filter(attendance::participant_id.eq(pid)))
        .set(attendance::note.eq(none.clone()))
        .execute(conn)?;
    diesel::update(outcomes::table.filter(outcomes::participant_id.eq(pid)))
        .set((
            outcomes::employer.eq(none.clone()),
            outcomes::name.eq(none.clone()),
            outcomes::institution.eq(none.clone()),
            outcomes::description.eq(none.clone()),
            outcomes::note.eq(none.clone()),
            outcomes::retraction_reason.eq(none.clone()),
            outcomes::evidence_reference.eq(PLACEHOLDER),
        ))
        .execute(conn)?;
    Ok(())
}

/// Anonymises the participant in one transaction: refused while a programme is open (409
/// `participant_in_programme`), before `retention_until` without `override` (409
/// `retention_not_ended`), and for an anonymised participant (409 `participant_anonymised`).
/// Audited as `participant.anonymise` with whether a reason was given and the override flag,
/// never the reason's text.
pub async fn anonymise(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: String,
    expected: Option<i64>,
    body: Anonymisation,
) -> Result<Participant, AppError> {
    let today = state.clock.today();
    let claim = crate::http::idempotency::active_claim();
    audit::change(state, ctx, caller, move |conn, change| {
        // Decided again inside the transaction.
        access::check(
            conn,
            &change.caller,
            Action::ParticipantAnonymise,
            &participant_id,
        )?;
        let mut row = crate::participants::repo::find(conn, &participant_id)?
            .ok_or(AppError::NotFound)?;
        if let Some(v) = expected {
            if v != row.version {
                return Err(AppError::PreconditionFailed {
                    current_version: row.version,
                });
            }
        }
        if row.status == Status::Anonymised.as_str() {
            return Err(AppError::conflict(
                "participant_anonymised",
                "This participant is already anonymised.",
            ));
        }
        let until = retention::retention_until(conn, &participant_id)?;
        let Some(until) = until.filter(|_| row.status != Status::InProgramme.as_str()) else {
            return Err(AppError::conflict(
                "participant_in_programme",
                "A participant in a programme cannot be anonymised; exit the programme first.",
            ));
        };
        let ended = until < today;
        if !ended && !body.override_retention {
            let mut extra = serde_json::Map::new();
            extra.insert("retention_until".into(), json!(until));
            return Err(AppError::Conflict {
                code: "retention_not_ended",
                detail: format!(
                    "The retention period ends on {until}; anonymising earlier needs override: true and the reason."
                ),
                extra,
            });
        }

        let version = row.version;
        row.set_names(PLACEHOLDER, PLACEHOLDER);
        row.status = Status::Anonymised.as_str().to_owned();
        row.pesel = None;
        row.id_document_kind = None;
        row.id_document_number = None;
        row.id_document_country = None;
        row.birth_date = NaiveDate::from_ymd_opt(row.birth_date.year(), 1, 1)
            .unwrap_or(row.birth_date);
        row.phone = None;
        row.email = None;
        row.address_street = None;
        row.address_postal_code = None;
        row.address_city = None;
        row.legal_rep_full_name = None;
        row.legal_rep_relation = None;
        row.legal_rep_phone = None;
        row.referral_reference = None;
        row.version = version + 1;
        row.updated_at = change.now;
        let n = diesel::update(
            participants::table
                .filter(participants::id.eq(&participant_id))
                .filter(participants::version.eq(version)),
        )
        .set(&row)
        .execute(conn)?;
        crate::http::cas_outcome(n, Some(version))?;
        crate::participants::repo::caseload_order(conn, &row)?;
        scrub_case(conn, &participant_id)?;
        let ids = owned_ids(conn, &participant_id)?;
        let purged = crate::http::idempotency::purge_mentioning(conn, &ids, claim.as_ref())?;
        change.record(
            conn,
            change
                .event(AuditAction::ParticipantAnonymise)
                .entity("participant", participant_id.clone())
                .participant(participant_id.clone())
                .changed([
                    "first_name",
                    "last_name",
                    "pesel",
                    "id_document",
                    "birth_date",
                    "phone",
                    "email",
                    "address",
                    "legal_representative",
                    "referral",
                    "status",
                    "free_text",
                ])
                .details(json!({
                    "reason_given": true,
                    "override": body.override_retention,
                    "retention_ended": ended,
                    "retention_until": until,
                    "idempotency_replies_purged": purged,
                })),
        )?;
        crate::participants::service::record(conn, &participant_id, View::Full, today)
    })
    .await
}
