//! Plan rules (api.md §7, §13.5): a plan needs an open programme and a final diagnosis; drafts
//! are edited wholesale; activation needs the participant's acceptance and keeps one active plan
//! per programme (a revision supersedes its base in the same transaction; a draft that does not
//! revise the active plan is refused); goals and actions progress only on the active plan.

use chrono::{Days, NaiveDate, NaiveDateTime};
use serde_json::json;

use super::model::*;
use super::repo::{self, Activated, Contents};
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::diagnoses::repo as diagnoses;
use crate::dictionaries::repo as dictionaries;
use crate::http::body::FieldErrors;
use crate::http::rules::{FreeText, Patch};
use crate::http::{cas_outcome, AppError, PageRequest, Paginated, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::policy::{Action, View};
use crate::programmes::model::ProgrammeRow;
use crate::programmes::repo as programmes;
use crate::settings::service as settings;
use crate::state::AppState;

/// A plan part that a route names by its own id.
#[derive(Debug, Clone, Copy)]
pub enum Owned {
    Plan,
    Goal,
    Action,
}

impl Owned {
    fn entity(self) -> &'static str {
        match self {
            Owned::Plan => "plan",
            Owned::Goal => "plan_goal",
            Owned::Action => "plan_action",
        }
    }
}

/// [`access::authorize_owned`] for a plan, goal or action found by its own id.
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
            Owned::Plan => repo::participant_of(conn, &key),
            Owned::Goal => repo::participant_of_goal(conn, &key),
            Owned::Action => repo::participant_of_action(conn, &key),
        },
    )
    .await
}

fn event(
    action: AuditAction,
    caller: &CurrentStaff,
    owned: Owned,
    id: &str,
    pid: &str,
) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .entity(owned.entity(), id.to_owned())
        .participant(pid.to_owned())
}

fn conflict(code: &'static str, detail: &str) -> AppError {
    AppError::conflict(code, detail.to_owned())
}

fn plan_not_draft() -> AppError {
    conflict(
        "plan_not_draft",
        "Only a draft plan can change; revise the active plan instead.",
    )
}

fn plan_not_active() -> AppError {
    conflict(
        "plan_not_active",
        "Only the active plan is revised, reviewed or progressed.",
    )
}

fn plan_already_active() -> AppError {
    conflict(
        "plan_already_active",
        "The programme already has an active plan; revise it and activate the revision.",
    )
}

fn programme_closed() -> AppError {
    conflict(
        "programme_closed",
        "The programme has been exited; its plans no longer change.",
    )
}

/// The unique index on active plans refuses a second one: the same answer as the check.
fn unique_as(e: diesel::result::Error, conflict: fn() -> AppError) -> AppError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => conflict(),
        other => AppError::from(other),
    }
}

fn add_days(date: NaiveDate, days: i32) -> Result<NaiveDate, AppError> {
    u64::try_from(days)
        .ok()
        .and_then(|d| date.checked_add_days(Days::new(d)))
        .ok_or_else(|| AppError::Internal(format!("{date} + {days} days")))
}

// ------------------------------------------------------------------------------------------
// Assembling plans

/// The plans of `rows` with everything nested, as `view` shows it.
pub(crate) fn assemble(
    conn: &mut AnyConnection,
    rows: Vec<PlanRow>,
    view: View,
) -> Result<Vec<Plan>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let Contents {
        goals,
        history,
        actions,
        reviews,
    } = repo::contents(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let position_of = |goal_id: &str| {
                goals
                    .iter()
                    .find(|g| g.id == goal_id)
                    .map_or(-1, |g| g.position)
            };
            let plan_actions = actions
                .iter()
                .filter(|a| a.plan_id == row.id)
                .map(|a| PlanAction::from_row(a.clone(), position_of(&a.goal_id)))
                .collect();
            let plan_goals = goals
                .iter()
                .filter(|g| g.plan_id == row.id)
                .map(|g| {
                    let changes = history
                        .iter()
                        .filter(|h| h.goal_id == g.id)
                        .cloned()
                        .collect();
                    Goal::from_row(g.clone(), changes, view)
                })
                .collect();
            let plan_reviews = reviews
                .iter()
                .filter(|r| r.plan_id == row.id)
                .map(|r| Review::from_row(r.clone(), view))
                .collect();
            Plan {
                status: row.status(),
                goals: plan_goals,
                actions: plan_actions,
                reviews: plan_reviews,
                id: row.id,
                participant_id: row.participant_id,
                programme_id: row.programme_id,
                version_no: row.version_no,
                revises_plan_id: row.revises_plan_id,
                accepted_on: row.accepted_on,
                accepted_by_participant: row.accepted_by_participant,
                activated_at: row.activated_at,
                next_review_on: row.next_review_on,
                created_by: row.created_by,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

fn load(conn: &mut AnyConnection, id: &str, view: View) -> Result<Plan, AppError> {
    let row = repo::find(conn, id)?.ok_or(AppError::NotFound)?;
    assemble(conn, vec![row], view)?
        .pop()
        .ok_or(AppError::NotFound)
}

fn view_of(caller: &CurrentStaff, access: &CaseAccess) -> View {
    access::view_for(caller, Action::PlanRead, access).unwrap_or(View::NoContact)
}

// ------------------------------------------------------------------------------------------
// Goals and actions of a draft

/// New goal rows for `plan_id`, in order.
fn goal_rows(plan_id: &str, goals: Vec<GoalInput>, now: NaiveDateTime) -> Vec<GoalRow> {
    goals
        .into_iter()
        .zip(0..)
        .map(|(g, position)| GoalRow {
            id: uuid::Uuid::new_v4().to_string(),
            plan_id: plan_id.to_owned(),
            position,
            area: g.area.as_str().to_owned(),
            title: g.title.into_inner(),
            description: g.description.map(|d| d.into_inner()),
            indicator: g.indicator.into_inner(),
            target_date: g.target_date,
            status: GoalStatus::Planned.as_str().to_owned(),
            achieved_on: None,
            progress_note: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .collect()
}

/// New action rows for `plan_id`, each linked to the goal its `goal_index` names; names every
/// action whose goal is unknown, responsible staff member is not on the care team, or activity
/// type is unknown or retired.
fn action_rows(
    conn: &mut AnyConnection,
    participant_id: &str,
    plan_id: &str,
    goals: &[GoalRow],
    actions: Vec<ActionInput>,
    now: NaiveDateTime,
) -> Result<Vec<ActionRow>, AppError> {
    let mut errors = FieldErrors::new();
    let mut rows = Vec::with_capacity(actions.len());
    for (i, a) in actions.into_iter().enumerate() {
        let goal = goals.get(a.goal_index);
        if goal.is_none() {
            errors.push(
                format!("/actions/{i}/goal_index"),
                "unknown_goal",
                format!("names no goal of this plan (it has {})", goals.len()),
            );
        }
        if access::membership(conn, participant_id, &a.responsible_staff_id)?.is_none() {
            errors.push(
                format!("/actions/{i}/responsible_staff_id"),
                "not_on_team",
                "the responsible staff member must be on the participant's care team",
            );
        }
        if let Some(code) = &a.activity_type_code {
            if !dictionaries::activity_type(conn, code)?.is_some_and(|t| t.active) {
                errors.push(
                    format!("/actions/{i}/activity_type_code"),
                    "unknown",
                    "names no active activity type",
                );
            }
        }
        if let Some(goal) = goal {
            rows.push(ActionRow {
                id: uuid::Uuid::new_v4().to_string(),
                plan_id: plan_id.to_owned(),
                goal_id: goal.id.clone(),
                position: i32::try_from(i).map_err(AppError::internal)?,
                title: a.title.into_inner(),
                responsible_staff_id: a.responsible_staff_id,
                due_date: a.due_date,
                activity_type_code: a.activity_type_code,
                status: ActionStatus::Open.as_str().to_owned(),
                done_on: None,
                version: 1,
                created_at: now,
                updated_at: now,
            });
        }
    }
    errors.fail_on()?;
    Ok(rows)
}

/// The participant's programme `id`, open (409 `programme_closed` after the exit).
fn open_programme(
    conn: &mut AnyConnection,
    participant_id: &str,
    id: &str,
) -> Result<Option<ProgrammeRow>, AppError> {
    let Some(programme) =
        programmes::find(conn, id)?.filter(|p| p.participant_id == participant_id)
    else {
        return Ok(None);
    };
    if programme.exit_date.is_some() {
        return Err(programme_closed());
    }
    Ok(Some(programme))
}

// ------------------------------------------------------------------------------------------
// Writes

/// Creates a draft (`version_no` 1) for an open programme of a participant with a final
/// diagnosis. A programme with an active plan takes revisions, not new plans.
pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: String,
    new: NewPlan,
) -> Result<Plan, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let access = access::check(conn, caller, Action::PlanWrite, &participant_id)?;
        access.writable()?;
        if open_programme(conn, &participant_id, &new.programme_id)?.is_none() {
            return Err(AppError::validation(
                "/programme_id",
                "unknown",
                "names no programme of this participant",
            ));
        }
        if !diagnoses::has_final(conn, &participant_id)? {
            return Err(conflict(
                "diagnosis_required",
                "A plan is built on the diagnosis: finalize at least one diagnosis first.",
            ));
        }
        if repo::active_of(conn, &new.programme_id)?.is_some() {
            return Err(plan_already_active());
        }
        let row = PlanRow {
            id: uuid::Uuid::new_v4().to_string(),
            participant_id: participant_id.clone(),
            programme_id: new.programme_id,
            version_no: 1,
            status: PlanStatus::Draft.as_str().to_owned(),
            revises_plan_id: None,
            accepted_on: None,
            accepted_by_participant: None,
            activated_at: None,
            activated_by: None,
            next_review_on: None,
            created_by: caller.id.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let goals = goal_rows(&row.id, new.goals, now);
        let actions = action_rows(conn, &participant_id, &row.id, &goals, new.actions, now)?;
        repo::insert(conn, &row)?;
        repo::insert_contents(conn, &goals, &[], &actions)?;
        c.record(
            conn,
            event(
                AuditAction::PlanCreate,
                caller,
                Owned::Plan,
                &row.id,
                &participant_id,
            )
            .changed(["programme_id", "goals", "actions"])
            .details(json!({"version_no": 1, "goals": goals.len(), "actions": actions.len()})),
        )?;
        load(conn, &row.id, view_of(caller, &access))
    })
    .await
}

/// Replaces a draft's goals and actions, or its actions alone (`If-Match` required).
pub async fn update(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    patch: PlanPatch,
) -> Result<Plan, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::PlanWrite, &row.participant_id)?;
        access.writable()?;
        if row.status() != PlanStatus::Draft {
            return Err(plan_not_draft());
        }
        if patch
            .programme_id
            .as_ref()
            .is_some_and(|p| *p != row.programme_id)
        {
            return Err(AppError::validation(
                "/programme_id",
                "immutable",
                "a plan stays with its programme",
            ));
        }
        cas_outcome(
            repo::touch_draft(conn, &id, expected, now)?,
            repo::version_of(conn, &id)?,
        )?;
        let mut changed = Vec::new();
        let goals = match patch.goals {
            Some(goals) => {
                repo::clear_draft(conn, &id, true)?;
                let rows = goal_rows(&id, goals, now);
                repo::insert_contents(conn, &rows, &[], &[])?;
                changed.push("goals");
                rows
            }
            None => repo::contents(conn, std::slice::from_ref(&id))?.goals,
        };
        if let Some(actions) = patch.actions {
            let rows = action_rows(conn, &row.participant_id, &id, &goals, actions, now)?;
            repo::clear_draft(conn, &id, false)?;
            repo::insert_contents(conn, &[], &[], &rows)?;
            changed.push("actions");
        }
        c.record(
            conn,
            event(
                AuditAction::PlanUpdate,
                caller,
                Owned::Plan,
                &id,
                &row.participant_id,
            )
            .changed(changed),
        )?;
        load(conn, &id, view_of(caller, &access))
    })
    .await
}

/// Draft → active with the participant's acceptance; a revision supersedes its base in the
/// same transaction. Any other draft, while the programme has an active plan, is 409
/// `plan_already_active` (of two drafts activated at once, exactly one wins).
pub async fn activate(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
    body: Activation,
) -> Result<Plan, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::PlanActivate, &row.participant_id)?;
        access.writable()?;
        if row.status() != PlanStatus::Draft {
            return Err(plan_not_draft());
        }
        let programme = open_programme(conn, &row.participant_id, &row.programme_id)?
            .ok_or(AppError::NotFound)?;
        if body.accepted_on < programme.start_date {
            return Err(AppError::validation(
                "/accepted_on",
                "before_start",
                format!(
                    "must not be before the programme's start on {}",
                    programme.start_date
                ),
            ));
        }
        let superseded = match repo::active_of(conn, &row.programme_id)? {
            Some(active) if row.revises_plan_id.as_deref() == Some(active.id.as_str()) => {
                if repo::supersede(conn, &active.id, now)? != 1 {
                    return Err(plan_already_active());
                }
                Some(active.id)
            }
            Some(_) => return Err(plan_already_active()),
            None => None,
        };
        let interval = settings::current(conn)?.review_interval_days;
        let activated = Activated {
            accepted_on: body.accepted_on,
            next_review_on: add_days(body.accepted_on, interval)?,
            by: &caller.id,
            at: now,
        };
        let n = repo::activate(conn, &id, expected.unwrap_or(row.version), activated)
            .map_err(|e| unique_as(e, plan_already_active))?;
        cas_outcome(n, repo::version_of(conn, &id)?)?;
        c.record(
            conn,
            event(
                AuditAction::PlanActivate,
                caller,
                Owned::Plan,
                &id,
                &row.participant_id,
            )
            .changed(["status", "accepted_on", "accepted_by_participant"])
            .details(json!({"version_no": row.version_no, "superseded_plan_id": superseded})),
        )?;
        load(conn, &id, view_of(caller, &access))
    })
    .await
}

/// Copies the active plan into a new draft (`version_no + 1`), goals with their status and
/// history, actions with theirs.
pub async fn revise(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
) -> Result<Plan, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let base = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::PlanWrite, &base.participant_id)?;
        access.writable()?;
        if base.status() != PlanStatus::Active {
            return Err(plan_not_active());
        }
        open_programme(conn, &base.participant_id, &base.programme_id)?;
        let draft = PlanRow {
            id: uuid::Uuid::new_v4().to_string(),
            version_no: base.version_no + 1,
            status: PlanStatus::Draft.as_str().to_owned(),
            revises_plan_id: Some(base.id.clone()),
            accepted_on: None,
            accepted_by_participant: None,
            activated_at: None,
            activated_by: None,
            next_review_on: None,
            created_by: caller.id.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
            ..base.clone()
        };
        let contents = repo::contents(conn, std::slice::from_ref(&base.id))?;
        let (goals, history, actions) = copy_contents(&draft.id, contents, now);
        repo::insert(conn, &draft)?;
        repo::insert_contents(conn, &goals, &history, &actions)?;
        c.record(
            conn,
            event(
                AuditAction::PlanRevise,
                caller,
                Owned::Plan,
                &draft.id,
                &draft.participant_id,
            )
            .changed(["goals", "actions"])
            .details(json!({"revises_plan_id": base.id, "version_no": draft.version_no})),
        )?;
        load(conn, &draft.id, view_of(caller, &access))
    })
    .await
}

/// The base plan's goals (with history) and actions under new ids for the draft `plan_id`.
fn copy_contents(
    plan_id: &str,
    base: Contents,
    now: NaiveDateTime,
) -> (Vec<GoalRow>, Vec<GoalHistoryRow>, Vec<ActionRow>) {
    let new_id = || uuid::Uuid::new_v4().to_string();
    let renamed: Vec<(String, String)> = base
        .goals
        .iter()
        .map(|g| (g.id.clone(), new_id()))
        .collect();
    let renamed_goal = |old: &str| {
        renamed
            .iter()
            .find(|(o, _)| o == old)
            .map_or_else(String::new, |(_, n)| n.clone())
    };
    let goals = base
        .goals
        .into_iter()
        .map(|g| GoalRow {
            id: renamed_goal(&g.id),
            plan_id: plan_id.to_owned(),
            version: 1,
            created_at: now,
            updated_at: now,
            ..g
        })
        .collect();
    let history = base
        .history
        .into_iter()
        .map(|h| GoalHistoryRow {
            id: new_id(),
            goal_id: renamed_goal(&h.goal_id),
            ..h
        })
        .collect();
    let actions = base
        .actions
        .into_iter()
        .map(|a| ActionRow {
            id: new_id(),
            plan_id: plan_id.to_owned(),
            goal_id: renamed_goal(&a.goal_id),
            version: 1,
            created_at: now,
            updated_at: now,
            ..a
        })
        .collect();
    (goals, history, actions)
}

/// Records a review of the active plan; the next review defaults to `reviewed_on` + the unit's
/// `review_interval_days`.
pub async fn review(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    body: NewReview,
) -> Result<Plan, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::PlanWrite, &row.participant_id)?;
        access.writable()?;
        if row.status() != PlanStatus::Active {
            return Err(plan_not_active());
        }
        if row.accepted_on.is_some_and(|a| body.reviewed_on < a) {
            return Err(AppError::validation(
                "/reviewed_on",
                "before_acceptance",
                "must not be before the plan was accepted",
            ));
        }
        let next_review_on = match body.next_review_on {
            Some(d) => d,
            None => add_days(
                body.reviewed_on,
                settings::current(conn)?.review_interval_days,
            )?,
        };
        let review = ReviewRow {
            id: uuid::Uuid::new_v4().to_string(),
            plan_id: id.clone(),
            reviewed_on: body.reviewed_on,
            summary: body.summary.into_inner(),
            next_review_on,
            reviewer_id: caller.id.clone(),
            created_at: now,
        };
        repo::review(conn, &review)?;
        c.record(
            conn,
            event(
                AuditAction::PlanReview,
                caller,
                Owned::Plan,
                &id,
                &row.participant_id,
            )
            .changed(["reviews", "next_review_on"])
            .details(json!({
                "review_id": review.id,
                "reviewed_on": review.reviewed_on,
                "next_review_on": next_review_on,
            })),
        )?;
        load(conn, &id, view_of(caller, &access))
    })
    .await
}

/// The plan of a goal or action, which must be active; with the caller's access to it.
fn active_plan(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    plan_id: &str,
) -> Result<(PlanRow, CaseAccess), AppError> {
    let plan = repo::find(conn, plan_id)?.ok_or(AppError::NotFound)?;
    let access = access::check(conn, caller, Action::PlanWrite, &plan.participant_id)?;
    access.writable()?;
    if plan.status() != PlanStatus::Active {
        return Err(plan_not_active());
    }
    Ok((plan, access))
}

/// A status with its date: the date is required for the one status that has it and refused
/// for the others. Answers the new date.
fn dated_status(
    errors: &mut FieldErrors,
    field: &str,
    has_date: bool,
    current: Option<NaiveDate>,
    sent: Patch<NaiveDate>,
) -> Option<NaiveDate> {
    let pointer = format!("/{field}");
    match (has_date, sent) {
        (true, Patch::Value(d)) => Some(d),
        (true, Patch::Absent) if current.is_some() => current,
        (true, _) => {
            errors.push(pointer, "required", "is required for this status");
            None
        }
        (false, Patch::Value(_)) => {
            errors.push(
                pointer,
                "not_allowed",
                "belongs only to the status it dates",
            );
            None
        }
        (false, _) => None,
    }
}

/// Records a goal's progress on the active plan (`If-Match` of the goal required); a change of
/// status is kept in the goal's history; reaching `achieved` is audited as
/// `plan_goal.achieve`.
pub async fn update_goal(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    patch: GoalPatch,
) -> Result<Goal, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let mut goal = repo::find_goal(conn, &id)?.ok_or(AppError::NotFound)?;
        let (plan, access) = active_plan(conn, caller, &goal.plan_id)?;
        let before = GoalStatus::parse(&goal.status).unwrap_or(GoalStatus::Planned);
        let status = patch.status.unwrap_or(before);
        let mut errors = FieldErrors::new();
        goal.achieved_on = dated_status(
            &mut errors,
            "achieved_on",
            status == GoalStatus::Achieved,
            goal.achieved_on,
            patch.achieved_on,
        );
        errors.fail_on()?;
        patch
            .progress_note
            .merge_into(&mut goal.progress_note, FreeText::into_inner);
        goal.status = status.as_str().to_owned();
        goal.updated_at = now;
        cas_outcome(
            repo::update_goal(conn, &goal, expected)?,
            repo::goal_version(conn, &id)?,
        )?;
        if status != before {
            repo::insert_history(
                conn,
                &GoalHistoryRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    goal_id: id.clone(),
                    status: goal.status.clone(),
                    achieved_on: goal.achieved_on,
                    changed_by: caller.id.clone(),
                    changed_at: now,
                },
            )?;
        }
        let action = if status == GoalStatus::Achieved && before != GoalStatus::Achieved {
            AuditAction::PlanGoalAchieve
        } else {
            AuditAction::PlanGoalUpdate
        };
        c.record(
            conn,
            event(action, caller, Owned::Goal, &id, &plan.participant_id)
                .changed(["status", "achieved_on", "progress_note"])
                .details(json!({"plan_id": plan.id, "status": status.as_str()})),
        )?;
        let plan = load(conn, &plan.id, view_of(caller, &access))?;
        plan.goals
            .into_iter()
            .find(|g| g.id == id)
            .ok_or(AppError::NotFound)
    })
    .await
}

/// Records an action's status on the active plan (`If-Match` of the action required).
pub async fn update_action(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    patch: ActionPatch,
) -> Result<PlanAction, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let mut action = repo::find_action(conn, &id)?.ok_or(AppError::NotFound)?;
        let (plan, access) = active_plan(conn, caller, &action.plan_id)?;
        let status = patch
            .status
            .unwrap_or(ActionStatus::parse(&action.status).unwrap_or(ActionStatus::Open));
        let mut errors = FieldErrors::new();
        action.done_on = dated_status(
            &mut errors,
            "done_on",
            status == ActionStatus::Done,
            action.done_on,
            patch.done_on,
        );
        errors.fail_on()?;
        action.status = status.as_str().to_owned();
        action.updated_at = now;
        cas_outcome(
            repo::update_action(conn, &action, expected)?,
            repo::action_version(conn, &id)?,
        )?;
        c.record(
            conn,
            event(
                AuditAction::PlanActionUpdate,
                caller,
                Owned::Action,
                &id,
                &plan.participant_id,
            )
            .changed(["status", "done_on"])
            .details(json!({"plan_id": plan.id, "status": status.as_str()})),
        )?;
        let plan = load(conn, &plan.id, view_of(caller, &access))?;
        plan.actions
            .into_iter()
            .find(|a| a.id == id)
            .ok_or(AppError::NotFound)
    })
    .await
}

// ------------------------------------------------------------------------------------------
// Reads

/// One plan with everything nested; audited as `plan.read`.
pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    id: String,
) -> Result<Plan, AppError> {
    let view = view_of(caller, &access);
    let pid = access.participant_id.clone();
    let plan = state
        .db
        .read(move |conn| {
            let plan = load(conn, &id, view)?;
            if plan.participant_id != pid {
                return Err(AppError::NotFound);
            }
            Ok(plan)
        })
        .await?;
    audit::record_alone(
        state,
        ctx,
        event(
            AuditAction::PlanRead,
            caller,
            Owned::Plan,
            &plan.id,
            &plan.participant_id,
        ),
    )
    .await?;
    Ok(plan)
}

/// One page of the participant's plans, newest first; audited as one `plan.list` event.
pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    page: PageRequest,
) -> Result<Paginated<Plan>, AppError> {
    let view = view_of(caller, &access);
    let pid = access.participant_id.clone();
    let (items, total) = state
        .db
        .read(move |conn| {
            let (rows, total) = repo::list(conn, &pid, page)?;
            Ok((assemble(conn, rows, view)?, total))
        })
        .await?;
    audit::record_alone(
        state,
        ctx,
        NewEvent::new(
            AuditAction::PlanList,
            AuditOutcome::Allowed,
            Some(caller.actor()),
        )
        .entity("participant", access.participant_id.clone())
        .participant(access.participant_id.clone())
        .details(json!({"count": items.len()})),
    )
    .await?;
    Ok(Paginated::new(items, page, total))
}
