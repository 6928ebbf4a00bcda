//! Session rules (api.md §8, §13.3, §13.5): sessions are read by managers, auditors and every
//! clinical role, and edited, cancelled and given attendance by their facilitators and managers;
//! they name only participants the caller may see. Attendance is replaced all-or-nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Warsaw;
use serde_json::json;

use super::model::*;
use super::repo;
use crate::audit::{self, AuditAction, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::dictionaries::repo as dictionaries;
use crate::http::body::FieldErrors;
use crate::http::{cas_outcome, AppError, PageRequest, Paginated, RequestContext};
use crate::participants::access::{self, Caseload};
use crate::policy::{self, Action, Role, Scope, View};
use crate::state::AppState;

const ENTITY: &str = "session";

fn session_cancelled() -> AppError {
    AppError::conflict(
        "session_cancelled",
        "The session is cancelled: it takes no edits and no attendance.",
    )
}

fn attendance_recorded() -> AppError {
    AppError::conflict(
        "attendance_recorded",
        "Attendance is recorded for this session: its type, time and length stay as they were, \
         and it cannot be cancelled.",
    )
}

/// The Warsaw calendar day of an instant: the day a session "is on".
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Warsaw).date_naive()
}

/// Participants the caller may see in a session (the caseload of `participant.read`).
fn caseload(caller: &CurrentStaff) -> Caseload {
    access::caseload(caller, Action::ParticipantRead)
        .unwrap_or_else(|_| Caseload::TeamOf(caller.id.clone()))
}

/// Whether attendance notes (free text) are shown: not to auditors.
fn with_notes(caller: &CurrentStaff) -> bool {
    policy::widest_view(&policy::grants(&caller.roles, Action::AttendanceRead)) == View::Full
}

/// The decision on one session for `action`, without audit: 404 when there is no such session;
/// for edits, 403 unless the caller facilitates it or acts on every session.
fn decide(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    action: Action,
    id: &str,
) -> Result<SessionRow, AppError> {
    let grants = policy::require(&caller.roles, action)?;
    let session = repo::find(conn, id)?.ok_or(AppError::NotFound)?;
    if grants.iter().any(|g| g.scope == Scope::All) {
        return Ok(session);
    }
    let facilitates = grants.iter().any(|g| g.scope == Scope::Facilitator)
        && repo::is_facilitator(conn, id, &caller.id)?;
    // Every role that may edit some session may read all of them: 403, never 404.
    policy::decide(true, facilitates)?;
    Ok(session)
}

/// [`decide`] before the work starts, writing a refusal to the audit log: a role that may never
/// do `action` is 403 whatever the id (before any lookup).
pub async fn authorize(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    id: &str,
) -> Result<(), AppError> {
    let decision = match policy::require(&caller.roles, action) {
        Err(e) => Err(e),
        Ok(_) => {
            let (who, key) = (caller.clone(), id.to_owned());
            state
                .db
                .read(move |conn| decide(conn, &who, action, &key).map(|_| ()))
                .await
        }
    };
    if let Err(AppError::NotFound | AppError::Forbidden(_)) = &decision {
        caller
            .record_denial(state, ctx, action, Some((ENTITY, id.to_owned())))
            .await;
    }
    decision
}

/// A role check alone (create, list): 403 audited.
pub async fn require(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
) -> Result<(), AppError> {
    if let Err(e) = policy::require(&caller.roles, action) {
        caller.record_denial(state, ctx, action, None).await;
        return Err(e);
    }
    Ok(())
}

fn event(c: &audit::Change, action: AuditAction, id: &str) -> NewEvent {
    c.event(action).entity(ENTITY, id.to_owned())
}

// ------------------------------------------------------------------------------------------
// Shapes

/// The sessions of `rows` as the caller sees them; `attendance` only for a single session.
fn shown(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    rows: Vec<SessionRow>,
    with_attendance: bool,
) -> Result<Vec<Session>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut facilitators = repo::facilitators_of(conn, &ids)?;
    let mut invited = repo::invitees_of(conn, &ids)?;
    let mut records: HashMap<String, Vec<AttendanceRow>> = HashMap::new();
    let mut attendees = if with_attendance {
        for id in &ids {
            records.insert(id.clone(), repo::attendance_of(conn, id)?);
        }
        records
            .iter()
            .map(|(s, rows)| {
                (
                    s.clone(),
                    rows.iter().map(|r| r.participant_id.clone()).collect(),
                )
            })
            .collect()
    } else {
        repo::attendees_of(conn, &ids)?
    };
    let named: Vec<String> = invited
        .values()
        .chain(attendees.values())
        .flatten()
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let visible = repo::visible(conn, &caseload(caller), &named)?;
    let notes = with_notes(caller);
    Ok(rows
        .into_iter()
        .map(|row| {
            let invitees = invited.remove(&row.id).unwrap_or_default();
            let present = attendees.remove(&row.id).unwrap_or_default();
            let hidden = invitees
                .iter()
                .chain(present.iter())
                .filter(|p| !visible.contains(*p))
                .collect::<HashSet<_>>()
                .len() as i64;
            let attendance = with_attendance.then(|| {
                records
                    .remove(&row.id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| visible.contains(&r.participant_id))
                    .map(|r| Attendance::from_row(r, notes))
                    .collect()
            });
            Session {
                facilitator_ids: facilitators.remove(&row.id).unwrap_or_default(),
                participant_ids: invitees
                    .into_iter()
                    .filter(|p| visible.contains(p))
                    .collect(),
                attendance,
                hidden_attendees: hidden,
                status: if row.is_cancelled() {
                    SessionStatus::Cancelled
                } else {
                    SessionStatus::Scheduled
                },
                id: row.id,
                activity_type_code: row.activity_type_code,
                area: row.area,
                category: row.category,
                title: row.title,
                starts_at: row.starts_at,
                starts_on: row.starts_on,
                duration_minutes: row.duration_minutes,
                location: row.location,
                cancel_reason: row.cancel_reason,
                cancelled_at: row.cancelled_at,
                created_by: row.created_by,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

fn one(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    row: SessionRow,
) -> Result<Session, AppError> {
    shown(conn, caller, vec![row], true)?
        .pop()
        .ok_or(AppError::NotFound)
}

// ------------------------------------------------------------------------------------------
// Checks shared by create and edit

/// The activity type's area and category; 422 `unknown` for a missing or retired type.
fn activity_type(
    conn: &mut AnyConnection,
    code: &str,
    errors: &mut FieldErrors,
) -> Result<Option<(String, String)>, AppError> {
    match dictionaries::activity_type(conn, code)? {
        Some(t) if t.active => Ok(Some((
            t.area.as_str().to_owned(),
            t.category.as_str().to_owned(),
        ))),
        _ => {
            errors.push(
                "/activity_type_code",
                "unknown",
                "names no active activity type",
            );
            Ok(None)
        }
    }
}

/// Facilitators are active staff who run activities: a clinical role or manager.
fn check_facilitators(
    conn: &mut AnyConnection,
    ids: &[String],
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    for (i, id) in ids.iter().enumerate() {
        let ok = crate::staff::repo::find(conn, id)?.is_some_and(|s| {
            s.can_sign_in(today)
                && s.roles
                    .iter()
                    .any(|r| r.is_clinical() || *r == Role::Manager)
        });
        if !ok {
            errors.push(
                format!("/facilitator_ids/{i}"),
                "not_facilitator",
                "must be active staff with a clinical or manager role",
            );
        }
    }
    Ok(())
}

/// Invited participants must be visible to the caller (422 `unknown` otherwise: a hidden one is
/// not revealed) and not anonymised.
fn check_invitees(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    ids: &[String],
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    let statuses = repo::visible_statuses(conn, &caseload(caller), ids)?;
    let anonymised = crate::participants::model::Status::Anonymised.as_str();
    for (i, id) in ids.iter().enumerate() {
        if !statuses.contains_key(id) {
            errors.push(
                format!("/participant_ids/{i}"),
                "unknown",
                "names no participant you may see",
            );
        } else if statuses.get(id).is_some_and(|s| s == anonymised) {
            errors.push(
                format!("/participant_ids/{i}"),
                "anonymised",
                "an anonymised participant takes part in nothing new",
            );
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Writes

pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    body: NewSession,
) -> Result<Session, AppError> {
    let today = state.clock.today();
    audit::change(state, ctx, caller, move |conn, c| {
        let mut errors = FieldErrors::new();
        let kind = activity_type(conn, &body.activity_type_code, &mut errors)?;
        check_facilitators(conn, &body.facilitator_ids, today, &mut errors)?;
        check_invitees(conn, &c.caller, &body.participant_ids, &mut errors)?;
        errors.fail_on()?;
        let (area, category) = kind.ok_or(AppError::NotFound)?;
        let row = SessionRow {
            id: uuid::Uuid::new_v4().to_string(),
            activity_type_code: body.activity_type_code,
            area,
            category,
            title: body.title.into_inner(),
            starts_at: body.starts_at.naive_utc(),
            starts_on: day_of(body.starts_at),
            duration_minutes: body.duration_minutes,
            location: body.location.map(|l| l.into_inner()),
            status: SessionStatus::Scheduled.as_str().to_owned(),
            cancel_reason: None,
            cancelled_at: None,
            created_by: c.caller.id.clone(),
            version: 1,
            created_at: c.now,
            updated_at: c.now,
            attended_minutes: 0,
        };
        repo::insert(conn, &row, &body.facilitator_ids, &body.participant_ids)?;
        let event = event(c, AuditAction::SessionCreate, &row.id).details(json!({
            "activity_type_code": row.activity_type_code,
            "starts_on": row.starts_on,
            "invited": body.participant_ids.len(),
        }));
        // The answer is read before the event takes the audit chain's head: the head is held
        // until commit, so nothing else should run after it.
        let session = one(conn, &c.caller, row)?;
        c.record(conn, event)?;
        Ok(session)
    })
    .await
}

pub async fn update(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    patch: SessionPatch,
) -> Result<Session, AppError> {
    let today = state.clock.today();
    audit::change(state, ctx, caller, move |conn, c| {
        let mut row = decide(conn, &c.caller, Action::SessionEdit, &id)?;
        if row.is_cancelled() {
            return Err(session_cancelled());
        }
        let mut changed: Vec<&str> = Vec::new();
        let mut errors = FieldErrors::new();
        let mut timing_changed = false;
        if let Some(code) = patch
            .activity_type_code
            .filter(|c| *c != row.activity_type_code)
        {
            if let Some((area, category)) = activity_type(conn, &code, &mut errors)? {
                (row.area, row.category) = (area, category);
            }
            row.activity_type_code = code;
            changed.push("activity_type_code");
            timing_changed = true;
        }
        if let Some(at) = patch.starts_at.filter(|at| at.naive_utc() != row.starts_at) {
            row.starts_at = at.naive_utc();
            row.starts_on = day_of(at);
            changed.push("starts_at");
            timing_changed = true;
        }
        if let Some(d) = patch
            .duration_minutes
            .filter(|d| *d != row.duration_minutes)
        {
            row.duration_minutes = d;
            changed.push("duration_minutes");
            timing_changed = true;
        }
        if let Some(title) = patch.title {
            row.title = title.into_inner();
            changed.push("title");
        }
        if !patch.location.is_absent() {
            patch
                .location
                .merge_into(&mut row.location, |l| l.into_inner());
            changed.push("location");
        }
        if let Some(ids) = &patch.facilitator_ids {
            check_facilitators(conn, ids, today, &mut errors)?;
            changed.push("facilitator_ids");
        }
        if let Some(ids) = &patch.participant_ids {
            check_invitees(conn, &c.caller, ids, &mut errors)?;
            changed.push("participant_ids");
        }
        errors.fail_on()?;
        if timing_changed && repo::has_attendance(conn, &id)? {
            return Err(attendance_recorded());
        }
        row.version = expected + 1;
        row.updated_at = c.now;
        cas_outcome(
            repo::update(conn, &row, expected)?,
            repo::version_of(conn, &id)?,
        )?;
        if let Some(ids) = &patch.facilitator_ids {
            repo::replace_facilitators(conn, &id, ids)?;
        }
        if let Some(ids) = patch.participant_ids {
            // Invitees the caller cannot see stay invited: nobody removes what they cannot see.
            let current = repo::invitees_of(conn, std::slice::from_ref(&id))?
                .remove(&id)
                .unwrap_or_default();
            let visible = repo::visible(conn, &caseload(&c.caller), &current)?;
            let mut invited = ids;
            invited.extend(current.into_iter().filter(|p| !visible.contains(p)));
            repo::replace_invitees(conn, &id, &invited)?;
        }
        c.record(
            conn,
            event(c, AuditAction::SessionUpdate, &id).changed(changed),
        )?;
        one(conn, &c.caller, row)
    })
    .await
}

pub async fn cancel(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
    body: Cancellation,
) -> Result<Session, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let mut row = decide(conn, &c.caller, Action::SessionEdit, &id)?;
        if row.is_cancelled() {
            return Err(session_cancelled());
        }
        if repo::has_attendance(conn, &id)? {
            return Err(attendance_recorded());
        }
        let expected = expected.unwrap_or(row.version);
        row.status = SessionStatus::Cancelled.as_str().to_owned();
        row.cancel_reason = Some(body.reason.into_inner());
        row.cancelled_at = Some(c.now);
        row.version = expected + 1;
        row.updated_at = c.now;
        cas_outcome(
            repo::update(conn, &row, expected)?,
            repo::version_of(conn, &id)?,
        )?;
        let session = one(conn, &c.caller, row)?;
        c.record(
            conn,
            event(c, AuditAction::SessionCancel, &id).changed(["status", "cancel_reason"]),
        )?;
        Ok(session)
    })
    .await
}

/// The answer of an attendance `PUT`: the rows the caller sees, the hidden count, the version.
pub struct Recorded {
    pub page: AttendancePage,
    pub version: i64,
}

/// Checks every row of an attendance body against the session; answers the rows to store
/// (keyed by participant) or every failure at its index.
fn attendance_rows(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    session: &SessionRow,
    body: Vec<AttendanceInput>,
    now: chrono::NaiveDateTime,
) -> Result<Vec<AttendanceRow>, AppError> {
    let ids: Vec<String> = body.iter().map(|r| r.participant_id.clone()).collect();
    let statuses = repo::visible_statuses(conn, &caseload(caller), &ids)?;
    let anonymised = crate::participants::model::Status::Anonymised.as_str();
    let programmes = repo::programmes_open_on(conn, &ids, session.starts_on)?;
    let mut errors = FieldErrors::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut rows = Vec::with_capacity(body.len());
    for (i, input) in body.iter().enumerate() {
        let pid = input.participant_id.as_str();
        let at = |field: &str| format!("/{i}/{field}");
        if !seen.insert(pid) {
            errors.push(
                at("participant_id"),
                "duplicate",
                "appears earlier in this body",
            );
        } else if !statuses.contains_key(pid) {
            errors.push(
                at("participant_id"),
                "unknown",
                "names no participant you may see",
            );
        } else if statuses.get(pid).is_some_and(|s| s == anonymised) {
            errors.push(
                at("participant_id"),
                "anonymised",
                "the participant is anonymised",
            );
        } else if !programmes.contains_key(pid) {
            errors.push(
                at("participant_id"),
                "no_programme",
                format!("has no programme open on {}", session.starts_on),
            );
        }
        let minutes = match (input.status.attended(), input.minutes) {
            (true, Some(m)) => m,
            (true, None) => session.duration_minutes,
            (false, _) => 0,
        };
        if minutes > session.duration_minutes {
            errors.push(
                at("minutes"),
                "above_duration",
                format!("at most the session's {} minutes", session.duration_minutes),
            );
        }
        rows.push(AttendanceRow {
            session_id: session.id.clone(),
            participant_id: input.participant_id.clone(),
            programme_id: programmes.get(pid).cloned().unwrap_or_default(),
            status: input.status.as_str().to_owned(),
            minutes,
            note: input.note.as_ref().map(|n| n.as_str().to_owned()),
            recorded_by: caller.id.clone(),
            recorded_at: now,
        });
    }
    errors.fail_on()?;
    Ok(rows)
}

/// `PUT /sessions/{id}/attendance`: replaces the rows the caller sees (rows of participants the
/// caller cannot see stay as they are), all or nothing. The same body twice leaves the same
/// state and the same version: only a change bumps the version and writes one
/// `attendance.record` event per participant whose row was added, changed or removed.
pub async fn record_attendance(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    body: AttendanceBody,
) -> Result<Recorded, AppError> {
    let today = state.clock.today();
    audit::change(state, ctx, caller, move |conn, c| {
        let session = decide(conn, &c.caller, Action::AttendanceRecord, &id)?;
        if session.is_cancelled() {
            return Err(session_cancelled());
        }
        if session.starts_on > today {
            return Err(AppError::conflict(
                "session_not_started",
                "Attendance is recorded on or after the session's day.",
            ));
        }
        let new_rows = attendance_rows(conn, &c.caller, &session, body.0, c.now)?;
        if session.version != expected {
            return Err(AppError::PreconditionFailed {
                current_version: session.version,
            });
        }
        let stored = repo::attendance_of(conn, &id)?;
        let invited = repo::invitees_of(conn, std::slice::from_ref(&id))?
            .remove(&id)
            .unwrap_or_default();
        let named: Vec<String> = stored
            .iter()
            .map(|r| r.participant_id.clone())
            .chain(invited.iter().cloned())
            .collect();
        let visible = repo::visible(conn, &caseload(&c.caller), &named)?;
        let (mine, kept): (Vec<AttendanceRow>, Vec<AttendanceRow>) = stored
            .into_iter()
            .partition(|r| visible.contains(&r.participant_id));
        let before: HashMap<&str, &AttendanceRow> = mine
            .iter()
            .map(|r| (r.participant_id.as_str(), r))
            .collect();
        let after: HashMap<&str, &AttendanceRow> = new_rows
            .iter()
            .map(|r| (r.participant_id.as_str(), r))
            .collect();
        let same = |a: &AttendanceRow, b: &AttendanceRow| {
            (&a.status, a.minutes, &a.note) == (&b.status, b.minutes, &b.note)
        };
        let mut events = Vec::new();
        for row in &new_rows {
            let previous = before.get(row.participant_id.as_str());
            if previous.is_some_and(|p| same(p, row)) {
                continue;
            }
            events.push(
                event(c, AuditAction::AttendanceRecord, &id)
                    .participant(row.participant_id.clone())
                    .details(json!({
                        "status": row.status,
                        "minutes": row.minutes,
                        "previous_status": previous.map(|p| p.status.clone()),
                    })),
            );
        }
        for row in mine
            .iter()
            .filter(|r| !after.contains_key(r.participant_id.as_str()))
        {
            events.push(
                event(c, AuditAction::AttendanceRecord, &id)
                    .participant(row.participant_id.clone())
                    .details(json!({"status": null, "previous_status": row.status})),
            );
        }
        // Unchanged rows keep who recorded them and when.
        let mut mine_after: Vec<AttendanceRow> = new_rows
            .iter()
            .map(|r| match before.get(r.participant_id.as_str()) {
                Some(p) if same(p, r) => (*p).clone(),
                _ => r.clone(),
            })
            .collect();
        // Hidden: invited or recorded participants the caller cannot see (they stay as they are).
        let hidden = kept
            .iter()
            .map(|r| &r.participant_id)
            .chain(invited.iter().filter(|p| !visible.contains(*p)))
            .collect::<HashSet<_>>()
            .len() as i64;
        let mut version = session.version;
        if !events.is_empty() {
            let mut bumped = session.clone();
            bumped.version = expected + 1;
            bumped.updated_at = c.now;
            bumped.attended_minutes = kept
                .iter()
                .chain(mine_after.iter())
                .map(|r| i64::from(r.minutes))
                .sum();
            cas_outcome(
                repo::update(conn, &bumped, expected)?,
                repo::version_of(conn, &id)?,
            )?;
            // Only the caller's rows that changed, appeared or went are written.
            let changed: Vec<AttendanceRow> = new_rows
                .iter()
                .filter(|r| {
                    !before
                        .get(r.participant_id.as_str())
                        .is_some_and(|p| same(p, r))
                })
                .cloned()
                .collect();
            let gone: Vec<&str> = mine
                .iter()
                .map(|r| r.participant_id.as_str())
                .filter(|p| !after.contains_key(p))
                .chain(changed.iter().map(|r| r.participant_id.as_str()))
                .collect();
            repo::change_attendance(conn, &id, &gone, &changed)?;
            version = expected + 1;
        }
        // Last: appending takes the audit chain's head until commit.
        c.record_all(conn, events)?;
        mine_after.sort_by(|a, b| a.participant_id.cmp(&b.participant_id));
        let notes = with_notes(&c.caller);
        let items: Vec<Attendance> = mine_after
            .into_iter()
            .map(|r| Attendance::from_row(r, notes))
            .collect();
        let total = items.len() as i64;
        Ok(Recorded {
            page: AttendancePage {
                items,
                page: 1,
                per_page: MAX_ATTENDANCE_ROWS as u32,
                total,
                hidden_attendees: hidden,
            },
            version,
        })
    })
    .await
}

// ------------------------------------------------------------------------------------------
// Reads

pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
) -> Result<Session, AppError> {
    let who = caller.clone();
    let session = state
        .db
        .read(move |conn| {
            let row = decide(conn, &who, Action::SessionList, &id)?;
            one(conn, &who, row)
        })
        .await?;
    let shown = session.participant_ids.len() + session.attendance.as_ref().map_or(0, Vec::len);
    audit::record_alone(
        state,
        ctx,
        NewEvent::new(
            AuditAction::SessionRead,
            audit::AuditOutcome::Allowed,
            Some(caller.actor()),
        )
        .entity(ENTITY, session.id.clone())
        .details(json!({"participants_named": shown})),
    )
    .await?;
    Ok(session)
}

pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    mut filter: repo::Filter,
    page: PageRequest,
) -> Result<Paginated<Session>, AppError> {
    let who = caller.clone();
    let filters = json!({
        "from": filter.from, "to": filter.to, "activity_type": filter.activity_type,
        "facilitator_id": filter.facilitator_id, "participant_id": filter.participant_id,
    });
    let result = state
        .db
        .read(move |conn| {
            // A participant the caller cannot see filters to nothing: which sessions a hidden
            // person attends is theirs to keep.
            if let Some(pid) = filter.participant_id.take() {
                let ids = [pid.clone()];
                if repo::visible(conn, &caseload(&who), &ids)?.is_empty() {
                    return Ok(Paginated::new(Vec::new(), page, 0));
                }
                filter.participant_id = Some(pid);
            }
            let (rows, total) = repo::list(conn, &filter, page)?;
            Ok(Paginated::new(shown(conn, &who, rows, false)?, page, total))
        })
        .await?;
    audit::record_alone(
        state,
        ctx,
        NewEvent::new(
            AuditAction::SessionList,
            audit::AuditOutcome::Allowed,
            Some(caller.actor()),
        )
        .details(json!({"filters": filters, "returned": result.items.len()})),
    )
    .await?;
    Ok(result)
}
