//! Outcome rules (api.md §9, §13.5): recorded by the care team and managers with evidence;
//! verified by a manager; retracted with a reason by the care team or a manager; never edited
//! or deleted. Events carry the kind, never the free text.

use chrono::NaiveDate;
use serde_json::json;

use super::model::*;
use super::repo;
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::http::{cas_outcome, AppError, PageRequest, Paginated, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::policy::{Action, View};
use crate::state::AppState;

const ENTITY: &str = "outcome";

/// [`access::authorize_owned`] for an outcome found by its own id.
pub async fn authorize_owned(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    id: &str,
) -> Result<CaseAccess, AppError> {
    let key = id.to_owned();
    access::authorize_owned(
        state,
        ctx,
        caller,
        action,
        (ENTITY, id.to_owned()),
        move |conn| repo::participant_of(conn, &key),
    )
    .await
}

/// Whether `day` lies within one of the programmes (`start…exit`, or `start…today` while open).
pub fn within_a_programme(
    spans: &[(NaiveDate, Option<NaiveDate>)],
    day: NaiveDate,
    today: NaiveDate,
) -> bool {
    spans
        .iter()
        .any(|(start, exit)| *start <= day && day <= exit.unwrap_or(today))
}

pub(crate) fn shown(
    conn: &mut AnyConnection,
    rows: Vec<OutcomeRow>,
    view: View,
    today: NaiveDate,
) -> Result<Vec<Outcome>, AppError> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let spans = repo::programme_spans(conn, &first.participant_id)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let during = within_a_programme(&spans, r.achieved_on, today);
            Outcome::from_row(r, during, view)
        })
        .collect())
}

fn one(
    conn: &mut AnyConnection,
    row: OutcomeRow,
    view: View,
    today: NaiveDate,
) -> Result<Outcome, AppError> {
    shown(conn, vec![row], view, today)?
        .pop()
        .ok_or(AppError::NotFound)
}

fn retracted() -> AppError {
    AppError::conflict(
        "outcome_retracted",
        "This outcome was retracted; record a new one instead.",
    )
}

pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: String,
    new: NewOutcome,
) -> Result<Outcome, AppError> {
    let today = state.clock.today();
    audit::change(state, ctx, caller, move |conn, c| {
        let access = access::check(conn, &c.caller, Action::OutcomeWrite, &participant_id)?;
        access.writable()?;
        crate::participants::lifecycle::not_before_first_referral(
            conn,
            &participant_id,
            "/achieved_on",
            new.achieved_on,
        )?;
        let row = OutcomeRow {
            id: uuid::Uuid::new_v4().to_string(),
            participant_id: participant_id.clone(),
            kind: new.kind.as_str().to_owned(),
            category: new.kind.category().as_str().to_owned(),
            achieved_on: new.achieved_on,
            employer: new.employer,
            hours_per_week: new.hours_per_week,
            contract_end: new.contract_end,
            name: new.name,
            institution: new.institution,
            description: new.description,
            evidence_document_type: new.evidence_document_type,
            evidence_reference: new.evidence_reference,
            note: new.note,
            status: OutcomeStatus::Recorded.as_str().to_owned(),
            recorded_by: c.caller.id.clone(),
            verified_by: None,
            verified_at: None,
            retracted_by: None,
            retracted_at: None,
            retraction_reason: None,
            version: 1,
            created_at: c.now,
            updated_at: c.now,
        };
        repo::insert(conn, &row)?;
        let event = c
            .event(AuditAction::OutcomeCreate)
            .entity(ENTITY, row.id.clone())
            .participant(participant_id)
            .details(json!({"kind": row.kind, "achieved_on": row.achieved_on}));
        // Read the answer first: the event holds the audit chain's head until commit.
        let outcome = one(conn, row, access.view, today)?;
        c.record(conn, event)?;
        Ok(outcome)
    })
    .await
}

/// Verify (`verify: true`, managers) or retract (`verify: false` with a reason; the care team
/// and managers) one outcome. Both refuse a retracted outcome; verifying twice is refused.
async fn change_status(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
    retraction: Option<Retraction>,
) -> Result<Outcome, AppError> {
    let today = state.clock.today();
    audit::change(state, ctx, caller, move |conn, c| {
        let mut row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let action = if retraction.is_some() {
            Action::OutcomeWrite
        } else {
            Action::OutcomeVerify
        };
        let access = access::check(conn, &c.caller, action, &row.participant_id)?;
        access.writable()?;
        let expected = expected.unwrap_or(row.version);
        if expected != row.version {
            return Err(AppError::PreconditionFailed {
                current_version: row.version,
            });
        }
        match (row.status(), &retraction) {
            (OutcomeStatus::Retracted, _) => return Err(retracted()),
            (OutcomeStatus::Verified, None) => {
                return Err(AppError::conflict(
                    "outcome_verified",
                    "This outcome is already verified.",
                ))
            }
            _ => {}
        }
        let (event, changed) = match retraction {
            Some(r) => {
                row.status = OutcomeStatus::Retracted.as_str().to_owned();
                row.retracted_by = Some(c.caller.id.clone());
                row.retracted_at = Some(c.now);
                row.retraction_reason = Some(r.reason.into_inner());
                (AuditAction::OutcomeRetract, ["status", "retraction_reason"])
            }
            None => {
                row.status = OutcomeStatus::Verified.as_str().to_owned();
                row.verified_by = Some(c.caller.id.clone());
                row.verified_at = Some(c.now);
                (AuditAction::OutcomeVerify, ["status", "verified_by"])
            }
        };
        row.updated_at = c.now;
        cas_outcome(
            repo::update_status(conn, &row, expected)?,
            repo::version_of(conn, &id)?,
        )?;
        row.version = expected + 1;
        let event = c
            .event(event)
            .entity(ENTITY, id.clone())
            .participant(row.participant_id.clone())
            .changed(changed)
            .details(json!({"kind": row.kind}));
        let outcome = one(conn, row, access.view, today)?;
        c.record(conn, event)?;
        Ok(outcome)
    })
    .await
}

pub async fn verify(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
) -> Result<Outcome, AppError> {
    change_status(state, ctx, caller, id, expected, None).await
}

pub async fn retract(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
    retraction: Retraction,
) -> Result<Outcome, AppError> {
    change_status(state, ctx, caller, id, expected, Some(retraction)).await
}

fn read_event(caller: &CurrentStaff, action: AuditAction, participant_id: &str) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .participant(participant_id.to_owned())
}

pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    id: String,
) -> Result<Outcome, AppError> {
    let today = state.clock.today();
    let view = access.view;
    let outcome = state
        .db
        .read(move |conn| {
            let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            one(conn, row, view, today)
        })
        .await?;
    audit::record_alone(
        state,
        ctx,
        read_event(caller, AuditAction::OutcomeRead, &outcome.participant_id)
            .entity(ENTITY, outcome.id.clone()),
    )
    .await?;
    Ok(outcome)
}

pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    filter: repo::Filter,
    page: PageRequest,
) -> Result<Paginated<Outcome>, AppError> {
    let today = state.clock.today();
    let (pid, view) = (access.participant_id.clone(), access.view);
    let (items, total) = state
        .db
        .read(move |conn| {
            let (rows, total) = repo::list(conn, &pid, &filter, page)?;
            Ok((shown(conn, rows, view, today)?, total))
        })
        .await?;
    audit::record_alone(
        state,
        ctx,
        read_event(caller, AuditAction::OutcomeList, &access.participant_id)
            .entity("participant", access.participant_id.clone())
            .details(json!({"count": items.len()})),
    )
    .await?;
    Ok(Paginated::new(items, page, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn during_a_programme_includes_both_ends_and_runs_to_today_while_open() {
        let spans = [
            (d("2025-01-10"), Some(d("2025-06-30"))),
            (d("2026-03-02"), None),
        ];
        let today = d("2026-05-01");
        for (day, expected) in [
            ("2025-01-09", false),
            ("2025-01-10", true),
            ("2025-06-30", true),
            ("2025-07-01", false),
            ("2026-03-02", true),
            ("2026-05-01", true),
            ("2026-05-02", false),
        ] {
            assert_eq!(within_a_programme(&spans, d(day), today), expected, "{day}");
        }
    }
}
