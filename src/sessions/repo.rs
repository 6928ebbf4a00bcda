//! Session and attendance queries. No HTTP, no policy.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::*;
use crate::db::schema::{
    attendance, care_team_members, participants, programmes, session_facilitators,
    session_invitees, sessions,
};
use crate::db::{AnyConnection, DbBackend};
use crate::http::PageRequest;
use crate::participants::access::Caseload;

/// Ids bound per `IN (…)`; far below SQLite's limit on bound parameters.
const CHUNK: usize = 500;

pub fn insert(
    conn: &mut AnyConnection,
    row: &SessionRow,
    facilitators: &[String],
    invited: &[String],
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)?;
    replace_facilitators(conn, &row.id, facilitators)?;
    replace_invitees(conn, &row.id, invited)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id)
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn version_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    sessions::table
        .find(id)
        .select(sessions::version)
        .first(conn)
        .optional()
}

/// Writes `row` over the stored session if its version is still `expected` (then `row.version`
/// is the new one); answers the rows changed.
pub fn update(conn: &mut AnyConnection, row: &SessionRow, expected: i64) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(&row.id))
            .filter(sessions::version.eq(expected)),
    )
    .set(row)
    .execute(conn)
}

pub fn is_facilitator(
    conn: &mut AnyConnection,
    session_id: &str,
    staff_id: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        session_facilitators::table
            .filter(session_facilitators::session_id.eq(session_id))
            .filter(session_facilitators::staff_id.eq(staff_id)),
    ))
    .get_result(conn)
}

pub fn replace_facilitators(
    conn: &mut AnyConnection,
    session_id: &str,
    staff_ids: &[String],
) -> QueryResult<()> {
    diesel::delete(
        session_facilitators::table.filter(session_facilitators::session_id.eq(session_id)),
    )
    .execute(conn)?;
    for s in staff_ids {
        diesel::insert_into(session_facilitators::table)
            .values((
                session_facilitators::session_id.eq(session_id),
                session_facilitators::staff_id.eq(s),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn replace_invitees(
    conn: &mut AnyConnection,
    session_id: &str,
    participant_ids: &[String],
) -> QueryResult<()> {
    diesel::delete(session_invitees::table.filter(session_invitees::session_id.eq(session_id)))
        .execute(conn)?;
    for p in participant_ids {
        diesel::insert_into(session_invitees::table)
            .values((
                session_invitees::session_id.eq(session_id),
                session_invitees::participant_id.eq(p),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Loads the `(session_id, id)` pairs of one relation for a chunk of sessions.
type PairLoader = fn(&mut AnyConnection, &[String]) -> QueryResult<Vec<(String, String)>>;

/// `(session_id, id)` pairs of one relation for many sessions, in a stable order.
fn pairs_of(
    conn: &mut AnyConnection,
    session_ids: &[String],
    load: PairLoader,
) -> QueryResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in session_ids.chunks(CHUNK) {
        for (session, id) in load(conn, chunk)? {
            out.entry(session).or_default().push(id);
        }
    }
    Ok(out)
}

pub fn facilitators_of(
    conn: &mut AnyConnection,
    session_ids: &[String],
) -> QueryResult<HashMap<String, Vec<String>>> {
    pairs_of(conn, session_ids, |conn, ids| {
        session_facilitators::table
            .filter(session_facilitators::session_id.eq_any(ids))
            .order((
                session_facilitators::session_id,
                session_facilitators::staff_id,
            ))
            .select((
                session_facilitators::session_id,
                session_facilitators::staff_id,
            ))
            .load(conn)
    })
}

pub fn invitees_of(
    conn: &mut AnyConnection,
    session_ids: &[String],
) -> QueryResult<HashMap<String, Vec<String>>> {
    pairs_of(conn, session_ids, |conn, ids| {
        session_invitees::table
            .filter(session_invitees::session_id.eq_any(ids))
            .order((
                session_invitees::session_id,
                session_invitees::participant_id,
            ))
            .select((
                session_invitees::session_id,
                session_invitees::participant_id,
            ))
            .load(conn)
    })
}

/// Participants with an attendance row, per session (for lists: counting the hidden ones).
pub fn attendees_of(
    conn: &mut AnyConnection,
    session_ids: &[String],
) -> QueryResult<HashMap<String, Vec<String>>> {
    pairs_of(conn, session_ids, |conn, ids| {
        attendance::table
            .filter(attendance::session_id.eq_any(ids))
            .order((attendance::session_id, attendance::participant_id))
            .select((attendance::session_id, attendance::participant_id))
            .load(conn)
    })
}

pub fn attendance_of(
    conn: &mut AnyConnection,
    session_id: &str,
) -> QueryResult<Vec<AttendanceRow>> {
    attendance::table
        .filter(attendance::session_id.eq(session_id))
        .order(attendance::participant_id)
        .select(AttendanceRow::as_select())
        .load(conn)
}

pub fn has_attendance(conn: &mut AnyConnection, session_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        attendance::table.filter(attendance::session_id.eq(session_id)),
    ))
    .get_result(conn)
}

/// Replaces a session's attendance with `rows`.
pub fn replace_attendance(
    conn: &mut AnyConnection,
    session_id: &str,
    rows: &[AttendanceRow],
) -> QueryResult<()> {
    diesel::delete(attendance::table.filter(attendance::session_id.eq(session_id)))
        .execute(conn)?;
    insert_attendance(conn, rows)
}

/// Changes only what changed in a session's attendance: the rows of `gone` (participants no
/// longer listed, and those whose row is rewritten) are deleted, `rows` inserted. A PUT that
/// flips one of 20 rows touches one row and its index entries, not 20.
pub fn change_attendance(
    conn: &mut AnyConnection,
    session_id: &str,
    gone: &[&str],
    rows: &[AttendanceRow],
) -> QueryResult<()> {
    for chunk in gone.chunks(500) {
        diesel::delete(
            attendance::table
                .filter(attendance::session_id.eq(session_id))
                .filter(attendance::participant_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    insert_attendance(conn, rows)
}

fn insert_attendance(conn: &mut AnyConnection, rows: &[AttendanceRow]) -> QueryResult<()> {
    // One multi-row INSERT per chunk on each backend (a PUT of 200 rows is a handful of
    // statements, not 200): diesel's multi-backend connection has no batch insert of its own.
    for chunk in rows.chunks(50) {
        crate::on_backend!(conn, |c| diesel::insert_into(attendance::table)
            .values(chunk)
            .execute(c)?);
    }
    Ok(())
}

/// Of `ids`, the participants the caseload shows (anonymised ones included: they stay in
/// lists).
pub fn visible(
    conn: &mut AnyConnection,
    caseload: &Caseload,
    ids: &[String],
) -> QueryResult<HashSet<String>> {
    Ok(visible_statuses(conn, caseload, ids)?.into_keys().collect())
}

/// Of `ids`, the participants the caseload shows, with their status: one query per chunk.
pub fn visible_statuses(
    conn: &mut AnyConnection,
    caseload: &Caseload,
    ids: &[String],
) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<(String, String)> = match caseload {
            Caseload::All => participants::table
                .filter(participants::id.eq_any(chunk))
                .select((participants::id, participants::status))
                .load(conn)?,
            Caseload::TeamOf(staff_id) => care_team_members::table
                .inner_join(participants::table)
                .filter(care_team_members::staff_id.eq(staff_id))
                .filter(care_team_members::participant_id.eq_any(chunk))
                .select((participants::id, participants::status))
                .load(conn)?,
        };
        out.extend(found);
    }
    Ok(out)
}

/// For each of `ids`, the programme open on `day` (`start_date ≤ day ≤ exit_date`, or not yet
/// exited).
pub fn programmes_open_on(
    conn: &mut AnyConnection,
    ids: &[String],
    day: NaiveDate,
) -> QueryResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<(String, String)> = programmes::table
            .filter(programmes::participant_id.eq_any(chunk))
            .filter(programmes::start_date.le(day))
            .filter(
                programmes::exit_date
                    .is_null()
                    .or(programmes::exit_date.ge(day)),
            )
            .select((programmes::participant_id, programmes::id))
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub activity_type: Option<String>,
    pub facilitator_id: Option<String>,
    pub participant_id: Option<String>,
    pub status: Option<SessionStatus>,
}

fn filtered(f: &Filter) -> sessions::BoxedQuery<'static, DbBackend> {
    let mut q = sessions::table.into_boxed();
    if let Some(from) = f.from {
        q = q.filter(sessions::starts_on.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(sessions::starts_on.le(to));
    }
    if let Some(code) = &f.activity_type {
        q = q.filter(sessions::activity_type_code.eq(code.clone()));
    }
    if let Some(status) = f.status {
        q = q.filter(sessions::status.eq(status.as_str()));
    }
    if let Some(staff_id) = &f.facilitator_id {
        q = q.filter(
            sessions::id.eq_any(
                session_facilitators::table
                    .filter(session_facilitators::staff_id.eq(staff_id.clone()))
                    .select(session_facilitators::session_id),
            ),
        );
    }
    if let Some(pid) = &f.participant_id {
        q = q.filter(
            sessions::id
                .eq_any(
                    session_invitees::table
                        .filter(session_invitees::participant_id.eq(pid.clone()))
                        .select(session_invitees::session_id),
                )
                .or(sessions::id.eq_any(
                    attendance::table
                        .filter(attendance::participant_id.eq(pid.clone()))
                        .select(attendance::session_id),
                )),
        );
    }
    q
}

/// One page of sessions by `starts_at`, then `id`, with the total.
pub fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    page: PageRequest,
) -> QueryResult<(Vec<SessionRow>, i64)> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order((sessions::starts_at.asc(), sessions::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(SessionRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// One participant's attendance rows in `[from, to]` (session days), by session start.
pub type ParticipantAttendanceRow = (
    String,
    NaiveDateTime,
    NaiveDate,
    String,
    String,
    String,
    String,
    i32,
);

pub fn attendance_of_participant(
    conn: &mut AnyConnection,
    participant_id: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> QueryResult<Vec<ParticipantAttendanceRow>> {
    let mut q = attendance::table
        .inner_join(sessions::table)
        .filter(attendance::participant_id.eq(participant_id.to_owned()))
        .into_boxed();
    if let Some(from) = from {
        q = q.filter(sessions::starts_on.ge(from));
    }
    if let Some(to) = to {
        q = q.filter(sessions::starts_on.le(to));
    }
    q.order((sessions::starts_at.asc(), sessions::id.asc()))
        .select((
            sessions::id,
            sessions::starts_at,
            sessions::starts_on,
            sessions::activity_type_code,
            sessions::area,
            sessions::category,
            attendance::status,
            attendance::minutes,
        ))
        .load(conn)
}
