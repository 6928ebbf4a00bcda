//! Plan queries. No HTTP, no policy.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::*;
use crate::db::schema::{plan_actions, plan_goal_history, plan_goals, plan_reviews, plans};
use crate::db::AnyConnection;
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &PlanRow) -> QueryResult<()> {
    diesel::insert_into(plans::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<PlanRow>> {
    plans::table
        .find(id)
        .select(PlanRow::as_select())
        .first(conn)
        .optional()
}

pub fn version_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    plans::table
        .find(id)
        .select(plans::version)
        .first(conn)
        .optional()
}

/// The participant a plan belongs to.
pub fn participant_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    plans::table
        .find(id)
        .select(plans::participant_id)
        .first(conn)
        .optional()
}

/// The participant of the plan a goal belongs to.
pub fn participant_of_goal(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    plan_goals::table
        .inner_join(plans::table)
        .filter(plan_goals::id.eq(id))
        .select(plans::participant_id)
        .first(conn)
        .optional()
}

/// The participant of the plan an action belongs to.
pub fn participant_of_action(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    plan_actions::table
        .inner_join(plans::table.on(plans::id.eq(plan_actions::plan_id)))
        .filter(plan_actions::id.eq(id))
        .select(plans::participant_id)
        .first(conn)
        .optional()
}

/// The programme's active plan, if any.
pub fn active_of(conn: &mut AnyConnection, programme_id: &str) -> QueryResult<Option<PlanRow>> {
    plans::table
        .filter(plans::programme_id.eq(programme_id))
        .filter(plans::status.eq(PlanStatus::Active.as_str()))
        .select(PlanRow::as_select())
        .first(conn)
        .optional()
}

/// A page of the participant's plans, newest first (`-created_at`, then `-version_no`, then
/// `id`), with the total.
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: PageRequest,
) -> QueryResult<(Vec<PlanRow>, i64)> {
    let total = plans::table
        .filter(plans::participant_id.eq(participant_id))
        .count()
        .get_result(conn)?;
    let rows = plans::table
        .filter(plans::participant_id.eq(participant_id))
        .order((
            plans::created_at.desc(),
            plans::version_no.desc(),
            plans::id.asc(),
        ))
        .offset(page.offset())
        .limit(page.limit())
        .select(PlanRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Everything nested in the plans of `plan_ids`, each list in plan order.
pub struct Contents {
    pub goals: Vec<GoalRow>,
    pub history: Vec<GoalHistoryRow>,
    pub actions: Vec<ActionRow>,
    pub reviews: Vec<ReviewRow>,
}

pub fn contents(conn: &mut AnyConnection, plan_ids: &[String]) -> QueryResult<Contents> {
    let goals: Vec<GoalRow> = plan_goals::table
        .filter(plan_goals::plan_id.eq_any(plan_ids))
        .order((plan_goals::plan_id.asc(), plan_goals::position.asc()))
        .select(GoalRow::as_select())
        .load(conn)?;
    let goal_ids: Vec<&String> = goals.iter().map(|g| &g.id).collect();
    let history = plan_goal_history::table
        .filter(plan_goal_history::goal_id.eq_any(goal_ids))
        .order((
            plan_goal_history::changed_at.asc(),
            plan_goal_history::id.asc(),
        ))
        .select(GoalHistoryRow::as_select())
        .load(conn)?;
    let actions = plan_actions::table
        .filter(plan_actions::plan_id.eq_any(plan_ids))
        .order((plan_actions::plan_id.asc(), plan_actions::position.asc()))
        .select(ActionRow::as_select())
        .load(conn)?;
    let reviews = plan_reviews::table
        .filter(plan_reviews::plan_id.eq_any(plan_ids))
        .order((plan_reviews::reviewed_on.asc(), plan_reviews::id.asc()))
        .select(ReviewRow::as_select())
        .load(conn)?;
    Ok(Contents {
        goals,
        history,
        actions,
        reviews,
    })
}

/// Inserts goals (with their history) and actions of a plan, row by row (the multi-backend
/// connection has no batch insert; plans hold tens of rows).
pub fn insert_contents(
    conn: &mut AnyConnection,
    goals: &[GoalRow],
    history: &[GoalHistoryRow],
    actions: &[ActionRow],
) -> QueryResult<()> {
    for goal in goals {
        diesel::insert_into(plan_goals::table)
            .values(goal)
            .execute(conn)?;
    }
    for change in history {
        insert_history(conn, change)?;
    }
    for action in actions {
        diesel::insert_into(plan_actions::table)
            .values(action)
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a draft's actions, and when `with_goals` its goals and their history too (a draft's
/// lists are replaced wholesale; active and superseded plans never lose anything).
pub fn clear_draft(conn: &mut AnyConnection, plan_id: &str, with_goals: bool) -> QueryResult<()> {
    diesel::delete(plan_actions::table.filter(plan_actions::plan_id.eq(plan_id))).execute(conn)?;
    if with_goals {
        let goal_ids = plan_goals::table
            .filter(plan_goals::plan_id.eq(plan_id))
            .select(plan_goals::id);
        diesel::delete(
            plan_goal_history::table.filter(plan_goal_history::goal_id.eq_any(goal_ids)),
        )
        .execute(conn)?;
        diesel::delete(plan_goals::table.filter(plan_goals::plan_id.eq(plan_id))).execute(conn)?;
    }
    Ok(())
}

/// Bumps a draft's version when it is still `expected`; answers the rows changed.
pub fn touch_draft(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        plans::table
            .filter(plans::id.eq(id))
            .filter(plans::version.eq(expected))
            .filter(plans::status.eq(PlanStatus::Draft.as_str())),
    )
    .set((plans::version.eq(expected + 1), plans::updated_at.eq(at)))
    .execute(conn)
}

/// Active → superseded, only if still active (a concurrent activation finds nothing to change).
pub fn supersede(conn: &mut AnyConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        plans::table
            .filter(plans::id.eq(id))
            .filter(plans::status.eq(PlanStatus::Active.as_str())),
    )
    .set((
        plans::status.eq(PlanStatus::Superseded.as_str()),
        plans::version.eq(plans::version + 1),
        plans::updated_at.eq(at),
    ))
    .execute(conn)
}

/// What activation writes.
pub struct Activated<'a> {
    pub accepted_on: NaiveDate,
    pub next_review_on: NaiveDate,
    pub by: &'a str,
    pub at: NaiveDateTime,
}

/// Draft → active when the version is `expected`; the unique index refuses a second active plan
/// of the programme.
pub fn activate(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    a: Activated<'_>,
) -> QueryResult<usize> {
    diesel::update(
        plans::table
            .filter(plans::id.eq(id))
            .filter(plans::version.eq(expected))
            .filter(plans::status.eq(PlanStatus::Draft.as_str())),
    )
    .set((
        plans::status.eq(PlanStatus::Active.as_str()),
        plans::accepted_on.eq(a.accepted_on),
        plans::accepted_by_participant.eq(true),
        plans::activated_at.eq(a.at),
        plans::activated_by.eq(a.by),
        plans::next_review_on.eq(a.next_review_on),
        plans::version.eq(expected + 1),
        plans::updated_at.eq(a.at),
    ))
    .execute(conn)
}

/// Records a review and moves the plan's next review date.
pub fn review(conn: &mut AnyConnection, row: &ReviewRow) -> QueryResult<usize> {
    diesel::insert_into(plan_reviews::table)
        .values(row)
        .execute(conn)?;
    diesel::update(plans::table.find(&row.plan_id))
        .set((
            plans::next_review_on.eq(row.next_review_on),
            plans::version.eq(plans::version + 1),
            plans::updated_at.eq(row.created_at),
        ))
        .execute(conn)
}

pub fn find_goal(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<GoalRow>> {
    plan_goals::table
        .find(id)
        .select(GoalRow::as_select())
        .first(conn)
        .optional()
}

pub fn goal_version(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    plan_goals::table
        .find(id)
        .select(plan_goals::version)
        .first(conn)
        .optional()
}

/// Writes a goal's progress when its version is `expected`.
pub fn update_goal(conn: &mut AnyConnection, row: &GoalRow, expected: i64) -> QueryResult<usize> {
    diesel::update(
        plan_goals::table
            .filter(plan_goals::id.eq(&row.id))
            .filter(plan_goals::version.eq(expected)),
    )
    .set((
        plan_goals::status.eq(&row.status),
        plan_goals::achieved_on.eq(row.achieved_on),
        plan_goals::progress_note.eq(&row.progress_note),
        plan_goals::version.eq(expected + 1),
        plan_goals::updated_at.eq(row.updated_at),
    ))
    .execute(conn)
}

pub fn insert_history(conn: &mut AnyConnection, row: &GoalHistoryRow) -> QueryResult<()> {
    diesel::insert_into(plan_goal_history::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_action(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ActionRow>> {
    plan_actions::table
        .find(id)
        .select(ActionRow::as_select())
        .first(conn)
        .optional()
}

pub fn action_version(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    plan_actions::table
        .find(id)
        .select(plan_actions::version)
        .first(conn)
        .optional()
}

/// Writes an action's status when its version is `expected`.
pub fn update_action(
    conn: &mut AnyConnection,
    row: &ActionRow,
    expected: i64,
) -> QueryResult<usize> {
    diesel::update(
        plan_actions::table
            .filter(plan_actions::id.eq(&row.id))
            .filter(plan_actions::version.eq(expected)),
    )
    .set((
        plan_actions::status.eq(&row.status),
        plan_actions::done_on.eq(row.done_on),
        plan_actions::version.eq(expected + 1),
        plan_actions::updated_at.eq(row.updated_at),
    ))
    .execute(conn)
}
