//! Programme rules: start, extension, exit with its follow-ups, and recording a follow-up
//! contact (api.md §5, §9, §13.4).

use chrono::NaiveDate;
use serde_json::json;

use super::dates::{self, CIS_MAX_MONTHS, MAX_MONTHS};
use super::model::*;
use super::repo::{self, ContactUpdate};
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::dictionaries::model::{Area, Category};
use crate::http::body::{FieldErrors, Patch};
use crate::http::{cas_outcome, stored_now, AppError, PageRequest, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::participants::model::Status;
use crate::participants::repo as participants;
use crate::plans::model::GoalStatus;
use crate::policy::{Action, View};
use crate::settings::model::UnitKind;
use crate::settings::service as settings;
use crate::state::AppState;

/// A resource under a participant that a route names by its own id.
#[derive(Debug, Clone, Copy)]
pub enum Owned {
    Programme,
    FollowUp,
}

impl Owned {
    fn entity(self) -> &'static str {
        match self {
            Owned::Programme => "programme",
            Owned::FollowUp => "follow_up",
        }
    }
}

/// [`access::authorize_owned`] for a programme or follow-up, found by its own id.
pub async fn authorize_owned(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    owned: Owned,
    id: &str,
) -> Result<CaseAccess, AppError> {
    let key = id.to_owned();
    access::authorize_owned(
        state,
        ctx,
        caller,
        action,
        (owned.entity(), id.to_owned()),
        move |conn| match owned {
            Owned::Programme => repo::participant_of(conn, &key),
            Owned::FollowUp => repo::participant_of_follow_up(conn, &key),
        },
    )
    .await
}

fn event(
    action: AuditAction,
    caller: &CurrentStaff,
    owned: Owned,
    id: &str,
    participant_id: &str,
) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .entity(owned.entity(), id.to_owned())
        .participant(participant_id.to_owned())
}

/// The longest a programme may run in this unit, extensions included: the statutory 24 months
/// in a CIS, the 36 months `planned_months` allows in a KIS.
fn cap_months(kind: UnitKind) -> u32 {
    match kind {
        UnitKind::Cis => CIS_MAX_MONTHS,
        UnitKind::Kis => MAX_MONTHS,
    }
}

fn cap_code(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::Cis => "cis_cap",
        UnitKind::Kis => "max_length",
    }
}

fn programme_already_open() -> AppError {
    AppError::conflict(
        "programme_already_open",
        "The participant already has an open programme; exit it first.",
    )
}

fn programme_closed() -> AppError {
    AppError::conflict(
        "programme_closed",
        "The programme has been exited and can no longer change.",
    )
}

/// A programme-length rule broken on `pointer`.
fn too_long(errors: &mut FieldErrors, pointer: &str, kind: UnitKind) {
    let message = match kind {
        UnitKind::Cis => format!("a CIS programme lasts at most {CIS_MAX_MONTHS} months"),
        UnitKind::Kis => format!("a programme lasts at most {MAX_MONTHS} months"),
    };
    errors.push(pointer, cap_code(kind), message);
}

// ------------------------------------------------------------------------------------------
// Start

/// Starts a programme for a qualified participant without an open one; the participant moves
/// to `in_programme`.
pub async fn start(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    body: NewProgramme,
) -> Result<Programme, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let participant_id = access.participant_id;
            // Decided again inside the transaction: a team change since the first check counts.
            access::check(conn, &caller, Action::ProgrammeManage, &participant_id)?.writable()?;
            let participant =
                participants::find(conn, &participant_id)?.ok_or(AppError::NotFound)?;
            if repo::has_open(conn, &participant_id)? {
                return Err(programme_already_open());
            }
            if participant.status != Status::Qualified.as_str() {
                return Err(AppError::conflict(
                    "participant_not_qualified",
                    format!(
                        "Only a qualified participant can start a programme; this one is {}.",
                        participant.status
                    ),
                ));
            }
            let unit = settings::current(conn)?;
            let mut errors = FieldErrors::new();
            if let Some(decided_on) = repo::latest_qualification(conn, &participant_id)? {
                if body.start_date < decided_on {
                    errors.push(
                        "/start_date",
                        "before_qualification",
                        format!("must not be before the qualification decision ({decided_on})"),
                    );
                }
            }
            // 1–36 is a rule of the body; the unit's own cap needs its settings.
            let months = match body.planned_months {
                Some(m) => m,
                None => u32::try_from(unit.programme_months).map_err(AppError::internal)?,
            };
            if months > cap_months(unit.unit_kind) {
                too_long(&mut errors, "/planned_months", unit.unit_kind);
            }
            errors.fail_on()?;
            let planned_end_date =
                dates::planned_end_date(body.start_date, months).ok_or_else(|| {
                    AppError::Internal(format!("{months} months after {}", body.start_date))
                })?;

            let row = ProgrammeRow {
                id: uuid::Uuid::new_v4().to_string(),
                participant_id: participant_id.clone(),
                start_date: body.start_date,
                planned_months: i32::try_from(months).map_err(AppError::internal)?,
                planned_end_date,
                basis: body.basis.as_str().to_owned(),
                basis_reference: body.basis_reference.map(|r| r.into_inner()),
                extension_reason: None,
                exit_date: None,
                exit_reason: None,
                exit_note: None,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            // The index allows one open programme per participant: a start that raced past the
            // check above lands here.
            repo::insert(conn, &row).map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => programme_already_open(),
                other => AppError::from(other),
            })?;
            if !participants::transition(conn, &participant_id, &[Status::Qualified], Status::InProgramme, now)? {
                return Err(AppError::conflict(
                    "participant_not_qualified",
                    "The participant's status changed meanwhile; only a qualified participant starts a programme.",
                ));
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(
                    AuditAction::ProgrammeStart,
                    &caller,
                    Owned::Programme,
                    &row.id,
                    &participant_id,
                )
                .changed(["start_date", "planned_months", "planned_end_date", "basis"])
                .details(json!({"planned_months": months, "basis": body.basis.as_str()})),
            )?;
            Ok(Programme::from_row(row, View::Full))
        })
        .await
}

// ------------------------------------------------------------------------------------------
// Reads

/// One page of the participant's programmes, newest start first.
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: PageRequest,
    view: View,
) -> Result<(Vec<Programme>, i64), AppError> {
    let (rows, total) = repo::list(conn, participant_id, page)?;
    let items = rows.into_iter().map(|r| Programme::from_row(r, view));
    Ok((items.collect(), total))
}

/// One page of the participant's follow-ups, by due date.
pub fn list_follow_ups(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: PageRequest,
    view: View,
) -> Result<(Vec<FollowUp>, i64), AppError> {
    let (rows, total) = repo::list_follow_ups(conn, participant_id, page)?;
    let items = rows.into_iter().map(|r| FollowUp::from_row(r, view));
    Ok((items.collect(), total))
}

pub async fn read(state: &AppState, id: String, view: View) -> Result<Programme, AppError> {
    state
        .db
        .read(move |conn| {
            repo::find(conn, &id)?
                .map(|r| Programme::from_row(r, view))
                .ok_or(AppError::NotFound)
        })
        .await
}

/// The programme's summary (api.md §13.4) on `today`: months from the row, everything else from
/// aggregate queries (attendance by area, category and status; goals by status; overdue counts).
pub async fn summary(state: &AppState, id: String) -> Result<ProgrammeSummary, AppError> {
    let today = state.clock.today();
    state
        .db
        .read(move |conn| {
            let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let reference = row.exit_date.map_or(today, |exit| exit.min(today));
            let months = |last| i32::try_from(dates::months_covered(row.start_date, last));
            let minutes = repo::attended_minutes(conn, &id)?;
            let statuses = repo::attendance_by_status(conn, &id)?;
            let goals = repo::active_plan_goals(conn, &id)?;
            Ok(ProgrammeSummary {
                months_elapsed: months(reference).unwrap_or(i32::MAX),
                months_planned: months(row.planned_end_date).unwrap_or(i32::MAX),
                attended_minutes: attended_minutes(&minutes),
                attendance_rate: attendance_rate(&statuses),
                goals: GoalCounts {
                    achieved: goals
                        .iter()
                        .filter(|(status, _)| status == GoalStatus::Achieved.as_str())
                        .map(|(_, n)| n)
                        .sum(),
                    total: goals.iter().map(|(_, n)| n).sum(),
                },
                overdue_actions: repo::overdue_actions(conn, &id, reference)?,
                overdue_reviews: repo::overdue_reviews(conn, &id, reference)?,
            })
        })
        .await
}

fn attended_minutes(groups: &[(String, String, Option<i64>)]) -> AttendedMinutes {
    let mut by_category: std::collections::BTreeMap<String, i64> = Category::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), 0))
        .collect();
    let (mut social, mut vocational) = (0, 0);
    for (area, category, minutes) in groups {
        let minutes = minutes.unwrap_or(0);
        *by_category.entry(category.clone()).or_insert(0) += minutes;
        if area == Area::Social.as_str() {
            social += minutes;
        } else if area == Area::Vocational.as_str() {
            vocational += minutes;
        }
    }
    AttendedMinutes {
        total: social + vocational,
        social,
        vocational,
        by_category,
    }
}

fn attendance_rate(by_status: &[(String, i64)]) -> AttendanceRate {
    let attended = |status: &str| status == "present" || status == "late";
    let numerator: i64 = by_status
        .iter()
        .filter(|(status, _)| attended(status))
        .map(|(_, n)| n)
        .sum();
    let denominator: i64 = by_status.iter().map(|(_, n)| n).sum();
    AttendanceRate {
        numerator,
        denominator,
        // Counts far below 2^53: exact as floats.
        fraction: (denominator > 0).then(|| numerator as f64 / denominator as f64),
    }
}

// ------------------------------------------------------------------------------------------
// Extension and exit

/// The programme, when `If-Match` (if given) names its version and it is still open.
fn open_programme(
    conn: &mut AnyConnection,
    id: &str,
    expected: Option<i64>,
) -> Result<ProgrammeRow, AppError> {
    let row = repo::find(conn, id)?.ok_or(AppError::NotFound)?;
    if let Some(v) = expected {
        if v != row.version {
            return Err(AppError::PreconditionFailed {
                current_version: row.version,
            });
        }
    }
    if row.exit_date.is_some() {
        return Err(programme_closed());
    }
    Ok(row)
}

/// Turns zero rows changed by a compare-and-swap on a programme into its 404, 412 or 409.
fn programme_cas(conn: &mut AnyConnection, id: &str, changed: usize) -> Result<(), AppError> {
    if changed == 1 {
        return Ok(());
    }
    if repo::find(conn, id)?.is_some_and(|r| r.exit_date.is_some()) {
        return Err(programme_closed());
    }
    cas_outcome(changed, repo::programme_version(conn, id)?)
}

/// Moves `planned_end_date` later with a reason; never past the unit's cap (24 months from the
/// start in a CIS).
pub async fn extend(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    body: Extension,
) -> Result<Programme, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let row = open_programme(conn, &id, Some(expected))?;
            access::check(conn, &caller, Action::ProgrammeManage, &row.participant_id)?
                .writable()?;
            let unit = settings::current(conn)?;
            let mut errors = FieldErrors::new();
            let latest_end = dates::planned_end_date(row.start_date, cap_months(unit.unit_kind));
            if body.planned_end_date <= row.planned_end_date {
                errors.push(
                    "/planned_end_date",
                    "not_later",
                    format!(
                        "an extension must move the planned end later than {}",
                        row.planned_end_date
                    ),
                );
            } else if latest_end.is_some_and(|cap| body.planned_end_date > cap) {
                too_long(&mut errors, "/planned_end_date", unit.unit_kind);
            }
            errors.fail_on()?;
            let n = repo::extend(
                conn,
                &id,
                expected,
                body.planned_end_date,
                body.extension_reason.as_str(),
                now,
            )?;
            programme_cas(conn, &id, n)?;
            audit::record(
                conn,
                instant,
                &ctx,
                event(
                    AuditAction::ProgrammeExtend,
                    &caller,
                    Owned::Programme,
                    &id,
                    &row.participant_id,
                )
                .changed(["planned_end_date", "extension_reason"])
                .details(json!({
                    "previous_planned_end_date": row.planned_end_date,
                    "planned_end_date": body.planned_end_date,
                })),
            )?;
            repo::find(conn, &id)?
                .map(|r| Programme::from_row(r, View::Full))
                .ok_or(AppError::NotFound)
        })
        .await
}

/// The follow-ups an exit schedules: one at `exit_date + m` months (clamped) for each `m` of
/// the unit's `follow_up_months`; none after a death.
fn schedule_follow_ups(
    programme: &ProgrammeRow,
    exit_date: NaiveDate,
    reason: ExitReason,
    follow_up_months: &[i32],
    now: chrono::NaiveDateTime,
) -> Result<Vec<FollowUpRow>, AppError> {
    if reason == ExitReason::Death {
        return Ok(Vec::new());
    }
    follow_up_months
        .iter()
        .map(|&months| {
            let due_on = u32::try_from(months)
                .ok()
                .and_then(|m| dates::add_months(exit_date, m))
                .ok_or_else(|| {
                    AppError::Internal(format!("follow-up {months} months after {exit_date}"))
                })?;
            Ok(FollowUpRow {
                id: uuid::Uuid::new_v4().to_string(),
                programme_id: programme.id.clone(),
                participant_id: programme.participant_id.clone(),
                months_after_exit: months,
                due_on,
                status: FollowUpStatus::Due.as_str().to_owned(),
                contacted_on: None,
                result: None,
                note: None,
                version: 1,
                created_at: now,
                updated_at: now,
            })
        })
        .collect()
}

/// Closes the programme, moves the participant to `exited` and schedules the follow-ups, in
/// one transaction.
pub async fn exit(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
    body: Exit,
) -> Result<Programme, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let row = open_programme(conn, &id, expected)?;
            access::check(conn, &caller, Action::ProgrammeManage, &row.participant_id)?
                .writable()?;
            let mut errors = FieldErrors::new();
            if body.exit_date < row.start_date {
                errors.push(
                    "/exit_date",
                    "before_start",
                    format!("must not be before the start ({})", row.start_date),
                );
            }
            errors.fail_on()?;
            let unit = settings::current(conn)?;
            let follow_ups = schedule_follow_ups(
                &row,
                body.exit_date,
                body.exit_reason,
                &unit.follow_up_months,
                now,
            )?;
            let n = repo::close(
                conn,
                &id,
                row.version,
                body.exit_date,
                body.exit_reason.as_str(),
                body.exit_note.as_ref().map(|n| n.as_str()),
                now,
            )?;
            programme_cas(conn, &id, n)?;
            if !participants::transition(
                conn,
                &row.participant_id,
                &[Status::InProgramme],
                Status::Exited,
                now,
            )? {
                return Err(AppError::conflict(
                    "programme_closed",
                    "The participant is no longer in this programme.",
                ));
            }
            repo::insert_follow_ups(conn, &follow_ups)?;
            let mut changed = vec!["exit_date", "exit_reason"];
            if body.exit_note.is_some() {
                changed.push("exit_note");
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(
                    AuditAction::ProgrammeExit,
                    &caller,
                    Owned::Programme,
                    &id,
                    &row.participant_id,
                )
                .changed(changed)
                .details(json!({
                    "exit_reason": body.exit_reason.as_str(),
                    "follow_ups": follow_ups.len()
                })),
            )?;
            repo::find(conn, &id)?
                .map(|r| Programme::from_row(r, View::Full))
                .ok_or(AppError::NotFound)
        })
        .await
}

// ------------------------------------------------------------------------------------------
// Follow-up contacts

/// Records a follow-up contact. `unreachable` needs no consent and sets `status: unreachable`;
/// any other result needs a `contact_after_exit` consent valid on `contacted_on` (409
/// `consent_missing`) and sets `status: done`. A follow-up may be recorded again (a later
/// attempt after `unreachable`, a correction).
pub async fn record_contact(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    body: Contact,
) -> Result<FollowUp, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let (caller, ctx) = (caller.clone(), ctx.clone());
    state
        .db
        .write(move |conn| {
            let row = repo::find_follow_up(conn, &id)?.ok_or(AppError::NotFound)?;
            access::check(conn, &caller, Action::FollowUpWrite, &row.participant_id)?.writable()?;
            if row.version != expected {
                return Err(AppError::PreconditionFailed {
                    current_version: row.version,
                });
            }
            let exit_date = repo::find(conn, &row.programme_id)?
                .and_then(|p| p.exit_date)
                .ok_or_else(|| {
                    AppError::Internal(format!("follow-up {id} of an open programme"))
                })?;
            let mut errors = FieldErrors::new();
            if body.contacted_on < exit_date {
                errors.push(
                    "/contacted_on",
                    "before_exit",
                    format!("must not be before the exit ({exit_date})"),
                );
            }
            errors.fail_on()?;
            let status = if body.result == FollowUpResult::Unreachable {
                FollowUpStatus::Unreachable
            } else if crate::consents::service::contact_after_exit_allowed(
                conn,
                &row.participant_id,
                body.contacted_on,
            )? {
                FollowUpStatus::Done
            } else {
                return Err(AppError::conflict(
                    "consent_missing",
                    format!(
                        "Recording this contact needs a contact_after_exit consent valid on {}.",
                        body.contacted_on
                    ),
                ));
            };
            let note = match &body.note {
                Patch::Absent => row.note.clone(),
                Patch::Null => None,
                Patch::Value(text) => Some(text.as_str().to_owned()),
            };
            let n = repo::record_contact(
                conn,
                &id,
                expected,
                &ContactUpdate {
                    contacted_on: body.contacted_on,
                    result: body.result.as_str(),
                    status,
                    note: note.as_deref(),
                },
                now,
            )?;
            if n == 0 {
                cas_outcome(0, repo::follow_up_version(conn, &id)?)?;
            }
            let mut changed = vec!["contacted_on", "result", "status"];
            if note != row.note {
                changed.push("note");
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(
                    AuditAction::FollowUpUpdate,
                    &caller,
                    Owned::FollowUp,
                    &id,
                    &row.participant_id,
                )
                .changed(changed)
                .details(json!({"result": body.result.as_str()})),
            )?;
            repo::find_follow_up(conn, &id)?
                .map(|r| FollowUp::from_row(r, View::Full))
                .ok_or(AppError::NotFound)
        })
        .await
}
