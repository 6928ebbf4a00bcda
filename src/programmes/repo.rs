//! Programme and follow-up queries. No HTTP, no policy.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{FollowUpRow, FollowUpStatus, ProgrammeRow};
use crate::db::schema::{follow_ups, programmes, qualifications};
use crate::db::AnyConnection;
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &ProgrammeRow) -> QueryResult<()> {
    diesel::insert_into(programmes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ProgrammeRow>> {
    programmes::table
        .find(id)
        .select(ProgrammeRow::as_select())
        .first(conn)
        .optional()
}

/// The participant a programme belongs to.
pub fn participant_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    programmes::table
        .find(id)
        .select(programmes::participant_id)
        .first(conn)
        .optional()
}

/// Does the participant have a programme without an exit?
pub fn has_open(conn: &mut AnyConnection, participant_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        programmes::table
            .filter(programmes::participant_id.eq(participant_id))
            .filter(programmes::exit_date.is_null()),
    ))
    .get_result(conn)
}

/// One page of a participant's programmes, newest start first, with the total.
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: PageRequest,
) -> QueryResult<(Vec<ProgrammeRow>, i64)> {
    let total: i64 = programmes::table
        .filter(programmes::participant_id.eq(participant_id))
        .count()
        .get_result(conn)?;
    let rows = programmes::table
        .filter(programmes::participant_id.eq(participant_id))
        .order((
            programmes::start_date.desc(),
            programmes::created_at.desc(),
            programmes::id.asc(),
        ))
        .offset(page.offset())
        .limit(page.limit())
        .select(ProgrammeRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The date of the participant's latest decision to qualify them.
pub fn latest_qualification(
    conn: &mut AnyConnection,
    participant_id: &str,
) -> QueryResult<Option<NaiveDate>> {
    qualifications::table
        .filter(qualifications::participant_id.eq(participant_id))
        .filter(qualifications::decision.eq("qualified"))
        .order((
            qualifications::decided_on.desc(),
            qualifications::created_at.desc(),
        ))
        .select(qualifications::decided_on)
        .first(conn)
        .optional()
}

/// Moves the planned end of an open programme, as a compare-and-swap on `version`; answers
/// the rows changed.
pub fn extend(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    planned_end_date: NaiveDate,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        programmes::table
            .filter(programmes::id.eq(id))
            .filter(programmes::version.eq(expected))
            .filter(programmes::exit_date.is_null()),
    )
    .set((
        programmes::planned_end_date.eq(planned_end_date),
        programmes::extension_reason.eq(reason),
        programmes::version.eq(programmes::version + 1),
        programmes::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Closes an open programme, as a compare-and-swap on `version`; answers the rows changed.
pub fn close(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    exit_date: NaiveDate,
    exit_reason: &str,
    exit_note: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        programmes::table
            .filter(programmes::id.eq(id))
            .filter(programmes::version.eq(expected))
            .filter(programmes::exit_date.is_null()),
    )
    .set((
        programmes::exit_date.eq(exit_date),
        programmes::exit_reason.eq(exit_reason),
        programmes::exit_note.eq(exit_note),
        programmes::version.eq(programmes::version + 1),
        programmes::updated_at.eq(now),
    ))
    .execute(conn)
}

// ------------------------------------------------------------------------------------------
// Follow-ups

pub fn insert_follow_ups(conn: &mut AnyConnection, rows: &[FollowUpRow]) -> QueryResult<()> {
    for row in rows {
        diesel::insert_into(follow_ups::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn find_follow_up(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<FollowUpRow>> {
    follow_ups::table
        .find(id)
        .select(FollowUpRow::as_select())
        .first(conn)
        .optional()
}

/// The participant a follow-up concerns.
pub fn participant_of_follow_up(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    follow_ups::table
        .find(id)
        .select(follow_ups::participant_id)
        .first(conn)
        .optional()
}

/// One page of a participant's follow-ups by due date, with the total.
pub fn list_follow_ups(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: PageRequest,
) -> QueryResult<(Vec<FollowUpRow>, i64)> {
    let total: i64 = follow_ups::table
        .filter(follow_ups::participant_id.eq(participant_id))
        .count()
        .get_result(conn)?;
    let rows = follow_ups::table
        .filter(follow_ups::participant_id.eq(participant_id))
        .order((
            follow_ups::due_on.asc(),
            follow_ups::months_after_exit.asc(),
            follow_ups::id.asc(),
        ))
        .offset(page.offset())
        .limit(page.limit())
        .select(FollowUpRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The fields a contact sets on a follow-up.
pub struct ContactUpdate<'a> {
    pub contacted_on: NaiveDate,
    pub result: &'a str,
    pub status: FollowUpStatus,
    pub note: Option<&'a str>,
}

/// Records a contact as a compare-and-swap on `version`; answers the rows changed.
pub fn record_contact(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    contact: &ContactUpdate<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        follow_ups::table
            .filter(follow_ups::id.eq(id))
            .filter(follow_ups::version.eq(expected)),
    )
    .set((
        follow_ups::contacted_on.eq(contact.contacted_on),
        follow_ups::result.eq(contact.result),
        follow_ups::status.eq(contact.status.as_str()),
        follow_ups::note.eq(contact.note),
        follow_ups::version.eq(follow_ups::version + 1),
        follow_ups::updated_at.eq(now),
    ))
    .execute(conn)
}

pub fn follow_up_version(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    follow_ups::table
        .find(id)
        .select(follow_ups::version)
        .first(conn)
        .optional()
}

pub fn programme_version(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    programmes::table
        .find(id)
        .select(programmes::version)
        .first(conn)
        .optional()
}

/// Minutes of the programme's attendance by the session's `(area, category)`: `(area, category,
/// minutes)`. One aggregate query.
pub fn attended_minutes(
    conn: &mut AnyConnection,
    programme_id: &str,
) -> QueryResult<Vec<(String, String, Option<i64>)>> {
    use crate::db::schema::{attendance, sessions};
    attendance::table
        .inner_join(sessions::table)
        .filter(attendance::programme_id.eq(programme_id))
        .group_by((sessions::area, sessions::category))
        .select((
            sessions::area,
            sessions::category,
            diesel::dsl::sum(attendance::minutes),
        ))
        .load(conn)
}

/// The programme's attendance rows by status: `(status, rows)`.
pub fn attendance_by_status(
    conn: &mut AnyConnection,
    programme_id: &str,
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::attendance;
    attendance::table
        .filter(attendance::programme_id.eq(programme_id))
        .group_by(attendance::status)
        .select((attendance::status, diesel::dsl::count_star()))
        .load(conn)
}

/// The goals of the programme's active plan by status: `(status, count)`.
pub fn active_plan_goals(
    conn: &mut AnyConnection,
    programme_id: &str,
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::{plan_goals, plans};
    plan_goals::table
        .inner_join(plans::table)
        .filter(plans::programme_id.eq(programme_id))
        .filter(plans::status.eq("active"))
        .group_by(plan_goals::status)
        .select((plan_goals::status, diesel::dsl::count_star()))
        .load(conn)
}

/// Open actions of the programme's active plan due before `day`.
pub fn overdue_actions(
    conn: &mut AnyConnection,
    programme_id: &str,
    day: NaiveDate,
) -> QueryResult<i64> {
    use crate::db::schema::{plan_actions, plans};
    plan_actions::table
        .inner_join(plans::table.on(plans::id.eq(plan_actions::plan_id)))
        .filter(plans::programme_id.eq(programme_id))
        .filter(plans::status.eq("active"))
        .filter(plan_actions::status.eq("open"))
        .filter(plan_actions::due_date.lt(day))
        .count()
        .get_result(conn)
}

/// Active plans of the programme (at most one) whose next review is before `day`.
pub fn overdue_reviews(
    conn: &mut AnyConnection,
    programme_id: &str,
    day: NaiveDate,
) -> QueryResult<i64> {
    use crate::db::schema::plans;
    plans::table
        .filter(plans::programme_id.eq(programme_id))
        .filter(plans::status.eq("active"))
        .filter(plans::next_review_on.lt(day))
        .count()
        .get_result(conn)
}
