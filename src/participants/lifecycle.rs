//! The participant's case around the record: risk groups, qualification, re-referral, the care
//! team and caseload reassignment (api.md §5, §13.4).

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::access::CaseAccess;
use super::model::*;
use super::repo;
use super::service::{check_care_team, check_risk_groups, record, record_referral};
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::schema::{care_team_members, qualifications, staff};
use crate::db::AnyConnection;
use crate::http::body::FieldErrors;
use crate::http::rules::{date, not_future, rule_at, valid, FreeText, List, Obj, RequestBody};
use crate::http::{cas_outcome, stored_now, AppError, RequestContext};
use crate::policy::View;
use crate::state::AppState;

fn event(action: AuditAction, caller: &CurrentStaff, participant_id: &str) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .entity("participant", participant_id.to_owned())
        .participant(participant_id.to_owned())
}

fn conflict_status(code: &'static str, detail: &str) -> AppError {
    AppError::conflict(code, detail.to_owned())
}

/// Checks `If-Match` (when given) and bumps the participant's version: sub-collections change
/// under the participant's ETag.
fn bump(
    conn: &mut AnyConnection,
    id: &str,
    expected: Option<i64>,
    current: i64,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let expected = expected.unwrap_or(current);
    let n = repo::bump_version(conn, id, expected, now)?;
    if n == 0 {
        cas_outcome(0, repo::version_of(conn, id)?)?;
    }
    Ok(())
}

/// A case date (a diagnosis performed, an outcome achieved) lies on or after the participant's
/// first referral: 422 `before_referral` at `pointer` otherwise. The first, not the latest: a
/// re-referred participant's earlier records stay valid.
pub fn not_before_first_referral(
    conn: &mut AnyConnection,
    participant_id: &str,
    pointer: &str,
    day: NaiveDate,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if let Some(referred_on) = crate::diagnoses::repo::first_referral_on(conn, participant_id)? {
        if day < referred_on {
            errors.push(
                pointer,
                "before_referral",
                format!("must not be before the referral on {referred_on}"),
            );
        }
    }
    errors.fail_on()
}

// ------------------------------------------------------------------------------------------
// Risk groups

/// `PUT …/risk-groups`: the full list.
pub struct RiskGroupsBody(pub Vec<RiskGroupInput>);

impl RequestBody for RiskGroupsBody {
    type Wire = List<Obj<RiskGroupWire>, { MAX_RISK_GROUPS as usize }>;
    const ARRAY: bool = true;
    fn from_wire(w: Self::Wire) -> Option<Self> {
        inputs(w.0).map(RiskGroupsBody)
    }
}

pub async fn replace_risk_groups(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    expected: i64,
    body: RiskGroupsBody,
) -> Result<(Vec<RiskGroupEntry>, i64), AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let id = access.participant_id;
            // Decided again inside the transaction: a team change since the first check counts.
            super::access::check(conn, &caller, crate::policy::Action::ParticipantUpdate, &id)?
                .writable()?;
            let held: Vec<String> = repo::risk_groups_of(conn, &id)?
                .into_iter()
                .map(|g| g.code)
                .collect();
            let mut errors = FieldErrors::new();
            check_risk_groups(conn, &body.0, &held, &mut errors, "")?;
            errors.fail_on()?;
            let current = repo::version_of(conn, &id)?.ok_or(AppError::NotFound)?;
            bump(conn, &id, Some(expected), current, now)?;
            let entries: Vec<RiskGroupEntry> = body
                .0
                .iter()
                .map(|g| RiskGroupEntry {
                    code: g.code.clone(),
                    evidence: g.evidence.as_str().to_owned(),
                    evidence_date: g.evidence_date,
                })
                .collect();
            repo::replace_risk_groups(conn, &id, &entries)?;
            let codes: Vec<&str> = entries.iter().map(|e| e.code.as_str()).collect();
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::ParticipantRiskGroupsUpdate, &caller, &id)
                    .changed(["risk_groups"])
                    .details(json!({"codes": codes})),
            )?;
            let version = repo::version_of(conn, &id)?.unwrap_or(expected + 1);
            Ok((repo::risk_groups_of(conn, &id)?, version))
        })
        .await
}

// ------------------------------------------------------------------------------------------
// Qualification and re-referral

closed_enum!(Decision { Qualified => "qualified", Rejected => "rejected" });

pub struct QualificationBody {
    pub decision: Decision,
    pub decided_on: NaiveDate,
    pub reason: Option<FreeText>,
}

#[derive(Deserialize, Validate)]
#[validate(schema(function = "reason_for_rejection", skip_on_field_errors = false))]
pub struct QualificationWire {
    #[validate(required)]
    decision: Option<Decision>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    decided_on: Option<NaiveDate>,
    #[validate(custom(function = "valid"))]
    reason: Option<FreeText>,
}

fn reason_for_rejection(w: &QualificationWire) -> Result<(), ValidationError> {
    if w.decision == Some(Decision::Rejected) && w.reason.is_none() {
        return Err(rule_at("reason", "required", "is required for a rejection"));
    }
    Ok(())
}

impl RequestBody for QualificationBody {
    type Wire = QualificationWire;
    fn from_wire(w: QualificationWire) -> Option<Self> {
        Some(QualificationBody {
            decision: w.decision?,
            decided_on: w.decided_on?,
            reason: w.reason,
        })
    }
}

/// The decision on a referred participant: `qualified` needs at least one active risk group
/// with evidence; `decided_on` lies between the referral and today.
pub async fn qualify(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    expected: Option<i64>,
    body: QualificationBody,
) -> Result<Participant, AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let id = access.participant_id;
            // Decided again inside the transaction: a team change since the first check counts.
            super::access::check(
                conn,
                &caller,
                crate::policy::Action::ParticipantQualify,
                &id,
            )?;
            let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if let Some(v) = expected {
                if v != row.version {
                    return Err(AppError::PreconditionFailed {
                        current_version: row.version,
                    });
                }
            }
            if row.status != Status::Referred.as_str() {
                return Err(conflict_status(
                    "participant_not_referred",
                    &format!(
                        "Only a referred participant can be qualified; this one is {}.",
                        row.status
                    ),
                ));
            }
            let mut errors = FieldErrors::new();
            if body.decided_on < row.referred_on {
                errors.push(
                    "/decided_on",
                    "range",
                    format!("must not be before the referral ({})", row.referred_on),
                );
            }
            errors.fail_on()?;
            if body.decision == Decision::Qualified {
                let mut active = false;
                for g in repo::risk_groups_of(conn, &id)? {
                    if !g.evidence.trim().is_empty()
                        && crate::dictionaries::repo::active_risk_group_exists(conn, &g.code)?
                    {
                        active = true;
                    }
                }
                if !active {
                    return Err(conflict_status(
                        "risk_group_missing",
                        "Qualification needs at least one active risk group with evidence.",
                    ));
                }
            }
            diesel::insert_into(qualifications::table)
                .values((
                    qualifications::id.eq(uuid::Uuid::new_v4().to_string()),
                    qualifications::participant_id.eq(&id),
                    qualifications::decision.eq(body.decision.as_str()),
                    qualifications::decided_on.eq(body.decided_on),
                    qualifications::reason.eq(body.reason.as_ref().map(|r| r.as_str())),
                    qualifications::decided_by.eq(&caller.id),
                    qualifications::created_at.eq(now),
                ))
                .execute(conn)?;
            let status = match body.decision {
                Decision::Qualified => Status::Qualified,
                Decision::Rejected => Status::Rejected,
            };
            if !repo::transition(conn, &id, &[Status::Referred], status, now)? {
                return Err(conflict_status(
                    "participant_not_referred",
                    "The participant was decided on meanwhile.",
                ));
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::ParticipantQualify, &caller, &id)
                    .changed(["status"])
                    .details(json!({"decision": body.decision.as_str()})),
            )?;
            record(conn, &id, View::Full, today)
        })
        .await
}

pub struct ReferralBody(pub ReferralInput);

impl RequestBody for ReferralBody {
    type Wire = ReferralWire;
    fn from_wire(w: ReferralWire) -> Option<Self> {
        ReferralInput::from_wire(w).map(ReferralBody)
    }
}

/// A new referral moves an exited or rejected participant back to `referred`, keeping history.
pub async fn refer_again(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    body: ReferralBody,
) -> Result<Participant, AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let id = access.participant_id;
            // Decided again inside the transaction: a team change since the first check counts.
            super::access::check(conn, &caller, crate::policy::Action::ParticipantUpdate, &id)?;
            let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if row.status != Status::Exited.as_str() && row.status != Status::Rejected.as_str() {
                return Err(conflict_status(
                    "participant_not_closed",
                    &format!("Only an exited or rejected participant can be referred again; this one is {}.", row.status),
                ));
            }
            let r = body.0;
            record_referral(conn, &id, r.source, r.reference.as_ref().map(|x| x.as_str()), r.referred_on, &caller.id, now)?;
            diesel::update(crate::db::schema::participants::table.find(&id))
                .set((
                    crate::db::schema::participants::referral_source.eq(r.source.as_str()),
                    crate::db::schema::participants::referral_reference.eq(r.reference.as_ref().map(|x| x.as_str())),
                    crate::db::schema::participants::referred_on.eq(r.referred_on),
                ))
                .execute(conn)?;
            if !repo::transition(conn, &id, &[Status::Exited, Status::Rejected], Status::Referred, now)? {
                return Err(conflict_status("participant_not_closed", "The participant was referred again meanwhile."));
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::ParticipantRefer, &caller, &id)
                    .changed(["status", "referral"])
                    .details(json!({"source": r.source.as_str()})),
            )?;
            record(conn, &id, View::Full, today)
        })
        .await
}

// ------------------------------------------------------------------------------------------
// Care team

/// A care-team member with their name, for pickers and team views.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CareTeamMember {
    pub staff_id: String,
    pub full_name: String,
    pub lead: bool,
}

pub fn team_with_names(
    conn: &mut AnyConnection,
    participant_id: &str,
) -> QueryResult<Vec<CareTeamMember>> {
    let rows: Vec<(String, String, bool)> = care_team_members::table
        .inner_join(staff::table)
        .filter(care_team_members::participant_id.eq(participant_id))
        .order((
            care_team_members::lead.desc(),
            staff::full_name_key.asc(),
            staff::id.asc(),
        ))
        .select((
            care_team_members::staff_id,
            staff::full_name,
            care_team_members::lead,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(staff_id, full_name, lead)| CareTeamMember {
            staff_id,
            full_name,
            lead,
        })
        .collect())
}

pub struct CareTeamBody(pub Vec<CareTeamInput>);

impl RequestBody for CareTeamBody {
    type Wire = List<Obj<CareTeamWire>, { MAX_CARE_TEAM as usize }>;
    const ARRAY: bool = true;
    fn from_wire(w: Self::Wire) -> Option<Self> {
        inputs(w.0).map(CareTeamBody)
    }
}

/// `PUT …/care-team`: exactly one lead; a lead leaves only by naming another in the same PUT.
pub async fn replace_care_team(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    expected: i64,
    body: CareTeamBody,
) -> Result<(Vec<CareTeamMember>, i64), AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let id = access.participant_id;
            // Decided again inside the transaction: a team change since the first check counts.
            super::access::check(conn, &caller, crate::policy::Action::CareTeamAssign, &id)?
                .writable()?;
            let on: Vec<String> = repo::care_team_of(conn, &id)?
                .into_iter()
                .map(|m| m.staff_id)
                .collect();
            let team: Vec<CareTeamEntry> = body
                .0
                .iter()
                .map(|m| CareTeamEntry {
                    staff_id: m.staff_id.clone(),
                    lead: m.lead,
                })
                .collect();
            let mut errors = FieldErrors::new();
            check_care_team(conn, &team, &on, today, &mut errors, "")?;
            errors.fail_on()?;
            let current = repo::version_of(conn, &id)?.ok_or(AppError::NotFound)?;
            bump(conn, &id, Some(expected), current, now)?;
            repo::replace_care_team(conn, &id, &team)?;
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::CareTeamUpdate, &caller, &id)
                    .changed(["care_team"])
                    .details(json!({"members": team.len()})),
            )?;
            let version = repo::version_of(conn, &id)?.unwrap_or(expected + 1);
            Ok((team_with_names(conn, &id)?, version))
        })
        .await
}

/// Moves every care-team membership of `from` to `to` in one transaction (a staff member
/// leaving): memberships merge where `to` is already on the team, the lead role passes to `to`
/// where `from` held it, each participant's version is bumped and one event per participant is
/// audited. Answers how many participants were affected.
pub async fn reassign_caseload(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    from: String,
    to: String,
) -> Result<i64, AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            if crate::staff::repo::find(conn, &from)?.is_none() {
                return Err(AppError::NotFound);
            }
            let target_ok = match crate::staff::repo::find(conn, &to)? {
                Some(t) => {
                    t.can_sign_in(today)
                        && t.roles.iter().any(|r| r.is_clinical())
                        && t.row.id != from
                }
                None => false,
            };
            if !target_ok {
                return Err(AppError::validation(
                    "/to_staff_id",
                    "not_clinical",
                    "must be another active staff member with a clinical role",
                ));
            }
            let memberships: Vec<(String, bool)> = care_team_members::table
                .filter(care_team_members::staff_id.eq(&from))
                .order(care_team_members::participant_id.asc())
                .select((care_team_members::participant_id, care_team_members::lead))
                .load(conn)?;
            for (pid, was_lead) in &memberships {
                let target_on = super::access::membership(conn, pid, &to)?;
                diesel::delete(care_team_members::table.find((pid, &from))).execute(conn)?;
                match target_on {
                    Some(target_lead) => {
                        diesel::update(care_team_members::table.find((pid, &to)))
                            .set(care_team_members::lead.eq(target_lead || *was_lead))
                            .execute(conn)?;
                    }
                    None => {
                        repo::add_member(conn, pid, &to, *was_lead)?;
                    }
                }
                if repo::increment_version(conn, pid, now)? != 1 {
                    return Err(AppError::Internal(format!(
                        "participant {pid} of a care team has no row"
                    )));
                }
            }
            // Audit rows last: the chain lock is taken after every participant row.
            for (pid, _) in &memberships {
                audit::record(
                    conn,
                    instant,
                    &ctx,
                    event(AuditAction::StaffReassignCaseload, &caller, pid)
                        .changed(["care_team"])
                        .details(json!({"from_staff_id": from, "to_staff_id": to})),
                )?;
            }
            Ok(memberships.len() as i64)
        })
        .await
}
