//! The worklist's queries: one per kind, each a single SQL statement scoped to the caller in
//! the database (care-team membership or facilitation), never filtered row by row. No HTTP, no
//! policy.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::Horizon;
use crate::db::schema::{
    attendance, care_team_members, consents, follow_ups, participants, plan_actions, plans,
    programmes, session_facilitators, sessions,
};
use crate::db::AnyConnection;

const ANONYMISED: &str = "anonymised";

/// `(action id, plan id, participant id, due date, title)`
pub type ActionRow = (String, String, String, NaiveDate, String);
/// `(plan id, participant id, next review)`
pub type ReviewRow = (String, String, NaiveDate);
/// `(follow-up id, participant id, due on, months after exit)`
pub type FollowUpRow = (String, String, NaiveDate, i32);
/// `(consent id, participant id, expires on, purpose)`
pub type ConsentRow = (String, String, NaiveDate, String);
/// `(programme id, participant id, planned end)`
pub type ProgrammeRow = (String, String, NaiveDate);
/// `(session id, day, title)`
pub type SessionRow = (String, NaiveDate, String);

/// Open actions of active plans (of open programmes) that `staff_id` is responsible for, due by
/// the end of the week window, on participants whose care team includes them.
pub fn actions_due(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
) -> QueryResult<Vec<ActionRow>> {
    plan_actions::table
        .inner_join(plans::table.on(plans::id.eq(plan_actions::plan_id)))
        .inner_join(programmes::table.on(programmes::id.eq(plans::programme_id)))
        .inner_join(participants::table.on(participants::id.eq(plans::participant_id)))
        .inner_join(
            care_team_members::table.on(care_team_members::participant_id
                .eq(plans::participant_id)
                .and(care_team_members::staff_id.eq(staff_id.to_owned()))),
        )
        .filter(plan_actions::responsible_staff_id.eq(staff_id.to_owned()))
        .filter(plan_actions::status.eq("open"))
        .filter(plan_actions::due_date.le(h.week))
        .filter(plans::status.eq("active"))
        .filter(programmes::exit_date.is_null())
        .filter(participants::status.ne(ANONYMISED))
        .select((
            plan_actions::id,
            plan_actions::plan_id,
            plans::participant_id,
            plan_actions::due_date,
            plan_actions::title,
        ))
        .load(conn)
}

/// Active plans (of open programmes) on the caller's care teams whose next review falls by the
/// end of the week window.
pub fn reviews_due(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
) -> QueryResult<Vec<ReviewRow>> {
    plans::table
        .inner_join(programmes::table.on(programmes::id.eq(plans::programme_id)))
        .inner_join(participants::table.on(participants::id.eq(plans::participant_id)))
        .inner_join(
            care_team_members::table.on(care_team_members::participant_id
                .eq(plans::participant_id)
                .and(care_team_members::staff_id.eq(staff_id.to_owned()))),
        )
        .filter(plans::status.eq("active"))
        .filter(plans::next_review_on.le(h.week))
        .filter(programmes::exit_date.is_null())
        .filter(participants::status.ne(ANONYMISED))
        .select((
            plans::id,
            plans::participant_id,
            plans::next_review_on.assume_not_null(),
        ))
        .load(conn)
}

/// Follow-ups still `due` by the end of the week window, on the caller's care teams.
pub fn follow_ups_due(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
) -> QueryResult<Vec<FollowUpRow>> {
    follow_ups::table
        .inner_join(participants::table.on(participants::id.eq(follow_ups::participant_id)))
        .inner_join(
            care_team_members::table.on(care_team_members::participant_id
                .eq(follow_ups::participant_id)
                .and(care_team_members::staff_id.eq(staff_id.to_owned()))),
        )
        .filter(follow_ups::status.eq("due"))
        .filter(follow_ups::due_on.le(h.week))
        .filter(participants::status.ne(ANONYMISED))
        .select((
            follow_ups::id,
            follow_ups::participant_id,
            follow_ups::due_on,
            follow_ups::months_after_exit,
        ))
        .load(conn)
}

/// Consents not withdrawn that expire from today to the end of the month window, on the
/// caller's care teams.
pub fn consents_expiring(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
) -> QueryResult<Vec<ConsentRow>> {
    consents::table
        .inner_join(participants::table.on(participants::id.eq(consents::participant_id)))
        .inner_join(
            care_team_members::table.on(care_team_members::participant_id
                .eq(consents::participant_id)
                .and(care_team_members::staff_id.eq(staff_id.to_owned()))),
        )
        .filter(consents::withdrawn_on.is_null())
        .filter(consents::expires_on.ge(h.today))
        .filter(consents::expires_on.le(h.month))
        .filter(participants::status.ne(ANONYMISED))
        .select((
            consents::id,
            consents::participant_id,
            consents::expires_on.assume_not_null(),
            consents::purpose,
        ))
        .load(conn)
}

/// Open programmes whose planned end falls from today to the end of the month window, on the
/// caller's care teams.
pub fn programmes_ending(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
) -> QueryResult<Vec<ProgrammeRow>> {
    programmes::table
        .inner_join(participants::table.on(participants::id.eq(programmes::participant_id)))
        .inner_join(
            care_team_members::table.on(care_team_members::participant_id
                .eq(programmes::participant_id)
                .and(care_team_members::staff_id.eq(staff_id.to_owned()))),
        )
        .filter(programmes::exit_date.is_null())
        .filter(programmes::planned_end_date.ge(h.today))
        .filter(programmes::planned_end_date.le(h.month))
        .filter(participants::status.ne(ANONYMISED))
        .select((
            programmes::id,
            programmes::participant_id,
            programmes::planned_end_date,
        ))
        .load(conn)
}

/// Scheduled sessions `staff_id` facilitates, held from the start of the session window up to
/// today, with no attendance row at all (an anti-join).
pub fn sessions_without_attendance(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .inner_join(
            session_facilitators::table.on(session_facilitators::session_id
                .eq(sessions::id)
                .and(session_facilitators::staff_id.eq(staff_id.to_owned()))),
        )
        .left_join(attendance::table.on(attendance::session_id.eq(sessions::id)))
        .filter(attendance::session_id.nullable().is_null())
        .filter(sessions::status.eq("scheduled"))
        .filter(sessions::starts_on.ge(h.sessions_from))
        .filter(sessions::starts_on.le(h.today))
        .select((sessions::id, sessions::starts_on, sessions::title))
        .load(conn)
}
