//! Plans, goals, actions and reviews: the stored rows, the API shapes and the request bodies.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::{plan_actions, plan_goal_history, plan_goals, plan_reviews, plans};
use crate::http::rules::{
    date, forbid_null, not_future, not_future_patch, rule, rule_at, rules_at, taken_out, valid,
    FreeText, Label, Obj, Patch, RequestBody,
};
use crate::participants::model::closed_enum;
use crate::policy::View;

/// At most this many goals and actions in one plan.
pub const MAX_GOALS: u64 = 50;
pub const MAX_ACTIONS: u64 = 200;

closed_enum!(
    /// `draft` while edited; `active` once the participant accepted it (one per programme);
    /// `superseded` when a revision was activated in its place.
    PlanStatus { Draft => "draft", Active => "active", Superseded => "superseded" }
);
closed_enum!(
    /// The reintegration area a goal serves.
    GoalArea { Social => "social", Vocational => "vocational" }
);
closed_enum!(
    /// A goal's progress; `achieved` carries `achieved_on`.
    GoalStatus {
        Planned => "planned",
        InProgress => "in_progress",
        Achieved => "achieved",
        Abandoned => "abandoned",
    }
);
closed_enum!(
    /// An action's state; `done` carries `done_on`.
    ActionStatus { Open => "open", Done => "done", Cancelled => "cancelled" }
);

// ------------------------------------------------------------------------------------------
// Stored rows

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plans)]
pub struct PlanRow {
    pub id: String,
    pub participant_id: String,
    pub programme_id: String,
    pub version_no: i32,
    pub status: String,
    pub revises_plan_id: Option<String>,
    pub accepted_on: Option<NaiveDate>,
    pub accepted_by_participant: Option<bool>,
    pub activated_at: Option<NaiveDateTime>,
    pub activated_by: Option<String>,
    pub next_review_on: Option<NaiveDate>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PlanRow {
    pub fn status(&self) -> PlanStatus {
        PlanStatus::parse(&self.status).unwrap_or(PlanStatus::Superseded)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_goals)]
pub struct GoalRow {
    pub id: String,
    pub plan_id: String,
    pub position: i32,
    pub area: String,
    pub title: String,
    pub description: Option<String>,
    pub indicator: String,
    pub target_date: NaiveDate,
    pub status: String,
    pub achieved_on: Option<NaiveDate>,
    pub progress_note: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_goal_history)]
pub struct GoalHistoryRow {
    pub id: String,
    pub goal_id: String,
    pub status: String,
    pub achieved_on: Option<NaiveDate>,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_actions)]
pub struct ActionRow {
    pub id: String,
    pub plan_id: String,
    pub goal_id: String,
    pub position: i32,
    pub title: String,
    pub responsible_staff_id: String,
    pub due_date: NaiveDate,
    pub activity_type_code: Option<String>,
    pub status: String,
    pub done_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = plan_reviews)]
pub struct ReviewRow {
    pub id: String,
    pub plan_id: String,
    pub reviewed_on: NaiveDate,
    pub summary: String,
    pub next_review_on: NaiveDate,
    pub reviewer_id: String,
    pub created_at: NaiveDateTime,
}

// ------------------------------------------------------------------------------------------
// API shapes

/// One change of a goal's status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoalChange {
    pub status: GoalStatus,
    pub achieved_on: Option<NaiveDate>,
    pub changed_by: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub changed_at: NaiveDateTime,
}

/// A goal of the plan. `PATCH /goals/{id}` takes `If-Match: "<version>"` of the goal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Goal {
    pub id: String,
    /// The goal's place in the plan (0-based): what actions' `goal_index` names.
    pub index: i32,
    pub area: GoalArea,
    pub title: String,
    pub description: Option<String>,
    pub indicator: String,
    pub target_date: NaiveDate,
    pub status: GoalStatus,
    pub achieved_on: Option<NaiveDate>,
    /// `null` for auditors (free text about the person).
    pub progress_note: Option<String>,
    /// Every status change, oldest first (a revision carries its goals' history along).
    pub history: Vec<GoalChange>,
    pub version: i64,
}

/// An action of the plan. `PATCH /actions/{id}` takes `If-Match: "<version>"` of the action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanAction {
    pub id: String,
    pub goal_id: String,
    pub goal_index: i32,
    pub title: String,
    pub responsible_staff_id: String,
    pub due_date: NaiveDate,
    pub activity_type_code: Option<String>,
    pub status: ActionStatus,
    pub done_on: Option<NaiveDate>,
    pub version: i64,
}

/// A review of the active plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    pub id: String,
    pub reviewed_on: NaiveDate,
    /// `null` for auditors (free text about the person).
    pub summary: Option<String>,
    pub next_review_on: NaiveDate,
    pub reviewer_id: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
}

/// An Individual Action Plan with its goals, actions and reviews nested.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Plan {
    pub id: String,
    pub participant_id: String,
    pub programme_id: String,
    /// 1 for the first plan; a revision is its base's `version_no + 1`.
    pub version_no: i32,
    pub status: PlanStatus,
    /// The active plan this draft revises (activating it supersedes that plan).
    pub revises_plan_id: Option<String>,
    pub accepted_on: Option<NaiveDate>,
    pub accepted_by_participant: Option<bool>,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_opt_instant")]
    pub activated_at: Option<NaiveDateTime>,
    /// When the active plan is next due for review.
    pub next_review_on: Option<NaiveDate>,
    pub goals: Vec<Goal>,
    pub actions: Vec<PlanAction>,
    pub reviews: Vec<Review>,
    pub created_by: String,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub updated_at: NaiveDateTime,
}

/// Whether free text about the person (progress notes, review summaries) is shown.
fn with_text(view: View) -> bool {
    view == View::Full
}

impl Goal {
    pub fn from_row(row: GoalRow, history: Vec<GoalHistoryRow>, view: View) -> Goal {
        Goal {
            area: GoalArea::parse(&row.area).unwrap_or(GoalArea::Social),
            status: GoalStatus::parse(&row.status).unwrap_or(GoalStatus::Planned),
            progress_note: row.progress_note.filter(|_| with_text(view)),
            history: history
                .into_iter()
                .map(|h| GoalChange {
                    status: GoalStatus::parse(&h.status).unwrap_or(GoalStatus::Planned),
                    achieved_on: h.achieved_on,
                    changed_by: h.changed_by,
                    changed_at: h.changed_at,
                })
                .collect(),
            id: row.id,
            index: row.position,
            title: row.title,
            description: row.description,
            indicator: row.indicator,
            target_date: row.target_date,
            achieved_on: row.achieved_on,
            version: row.version,
        }
    }
}

impl PlanAction {
    pub fn from_row(row: ActionRow, goal_index: i32) -> PlanAction {
        PlanAction {
            status: ActionStatus::parse(&row.status).unwrap_or(ActionStatus::Open),
            id: row.id,
            goal_id: row.goal_id,
            goal_index,
            title: row.title,
            responsible_staff_id: row.responsible_staff_id,
            due_date: row.due_date,
            activity_type_code: row.activity_type_code,
            done_on: row.done_on,
            version: row.version,
        }
    }
}

impl Review {
    pub fn from_row(row: ReviewRow, view: View) -> Review {
        Review {
            summary: Some(row.summary).filter(|_| with_text(view)),
            id: row.id,
            reviewed_on: row.reviewed_on,
            next_review_on: row.next_review_on,
            reviewer_id: row.reviewer_id,
            created_at: row.created_at,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Request bodies

#[derive(Deserialize, Serialize, Validate)]
pub struct GoalWire {
    #[validate(required)]
    area: Option<GoalArea>,
    #[validate(required, custom(function = "valid"))]
    title: Option<Label>,
    #[validate(custom(function = "valid"))]
    description: Option<FreeText>,
    #[validate(required, custom(function = "valid"))]
    indicator: Option<Label>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required)]
    target_date: Option<NaiveDate>,
}

pub struct GoalInput {
    pub area: GoalArea,
    pub title: Label,
    pub description: Option<FreeText>,
    pub indicator: Label,
    pub target_date: NaiveDate,
}

impl RequestBody for GoalInput {
    type Wire = GoalWire;
    fn from_wire(w: GoalWire) -> Option<Self> {
        Some(GoalInput {
            area: w.area?,
            title: w.title?,
            description: w.description,
            indicator: w.indicator?,
            target_date: w.target_date?,
        })
    }
}

#[derive(Deserialize, Serialize, Validate)]
pub struct ActionWire {
    #[validate(required)]
    goal_index: Option<i64>,
    #[validate(required, custom(function = "valid"))]
    title: Option<Label>,
    #[validate(required)]
    responsible_staff_id: Option<uuid::Uuid>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required)]
    due_date: Option<NaiveDate>,
    #[validate(length(max = 50, code = "too_long"))]
    activity_type_code: Option<String>,
}

pub struct ActionInput {
    pub goal_index: usize,
    pub title: Label,
    pub responsible_staff_id: String,
    pub due_date: NaiveDate,
    pub activity_type_code: Option<String>,
}

impl RequestBody for ActionInput {
    type Wire = ActionWire;
    fn from_wire(w: ActionWire) -> Option<Self> {
        Some(ActionInput {
            goal_index: usize::try_from(w.goal_index?).ok()?,
            title: w.title?,
            responsible_staff_id: w.responsible_staff_id?.to_string(),
            due_date: w.due_date?,
            activity_type_code: w.activity_type_code,
        })
    }
}

/// Actions whose `goal_index` names no goal of `goal_count`.
pub fn unknown_goals(actions: &[Obj<ActionWire>], goal_count: usize) -> Vec<ValidationError> {
    actions
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.0.goal_index
                .is_some_and(|g| usize::try_from(g).map_or(true, |g| g >= goal_count))
        })
        .map(|(i, _)| {
            rule_at(
                &format!("actions/{i}/goal_index"),
                "unknown_goal",
                format!("names no goal of this plan (it has {goal_count})"),
            )
        })
        .collect()
}

fn inputs<T: RequestBody>(items: Vec<Obj<T::Wire>>) -> Option<Vec<T>> {
    items.into_iter().map(|o| T::from_wire(o.0)).collect()
}

/// `POST /participants/{id}/plans`.
#[derive(Deserialize, Validate)]
#[validate(schema(function = "new_plan_rules", skip_on_field_errors = false))]
pub struct NewPlanWire {
    #[validate(required)]
    programme_id: Option<uuid::Uuid>,
    #[validate(required, nested, length(min = 1, max = "MAX_GOALS", code = "count"))]
    goals: Option<Vec<Obj<GoalWire>>>,
    #[validate(nested, length(max = "MAX_ACTIONS", code = "count"))]
    actions: Option<Vec<Obj<ActionWire>>>,
}

fn new_plan_rules(w: &NewPlanWire) -> Result<(), ValidationError> {
    match (&w.goals, &w.actions) {
        (Some(goals), Some(actions)) => rules_at(unknown_goals(actions, goals.len())),
        _ => Ok(()),
    }
}

pub struct NewPlan {
    pub programme_id: String,
    pub goals: Vec<GoalInput>,
    pub actions: Vec<ActionInput>,
}

impl RequestBody for NewPlan {
    type Wire = NewPlanWire;
    fn from_wire(w: NewPlanWire) -> Option<Self> {
        Some(NewPlan {
            programme_id: w.programme_id?.to_string(),
            goals: inputs(w.goals?)?,
            actions: inputs(w.actions.unwrap_or_default())?,
        })
    }
}

/// `PATCH /plans/{id}` (drafts): `goals` and `actions`, when present, replace the draft's lists
/// wholesale; new goals need their actions in the same request (the old actions named the old
/// goals). `actions` alone name the draft's current goals by index.
#[derive(Deserialize, Validate)]
#[validate(schema(function = "plan_patch_rules", skip_on_field_errors = false))]
pub struct PlanPatchWire {
    programme_id: Option<uuid::Uuid>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(nested, length(min = 1, max = "MAX_GOALS", code = "count"))]
    goals: Option<Vec<Obj<GoalWire>>>,
    #[serde(default, deserialize_with = "forbid_null")]
    #[validate(nested, length(max = "MAX_ACTIONS", code = "count"))]
    actions: Option<Vec<Obj<ActionWire>>>,
}

fn plan_patch_rules(w: &PlanPatchWire) -> Result<(), ValidationError> {
    match (&w.goals, &w.actions) {
        (Some(goals), Some(actions)) => rules_at(unknown_goals(actions, goals.len())),
        (Some(_), None) if !taken_out("/actions") => Err(rule_at(
            "actions",
            "required",
            "goals are replaced together with the actions that name them",
        )),
        _ => Ok(()),
    }
}

pub struct PlanPatch {
    pub programme_id: Option<String>,
    pub goals: Option<Vec<GoalInput>>,
    pub actions: Option<Vec<ActionInput>>,
}

impl RequestBody for PlanPatch {
    type Wire = PlanPatchWire;
    fn from_wire(w: PlanPatchWire) -> Option<Self> {
        Some(PlanPatch {
            programme_id: w.programme_id.map(|u| u.to_string()),
            goals: match w.goals {
                Some(g) => Some(inputs(g)?),
                None => None,
            },
            actions: match w.actions {
                Some(a) => Some(inputs(a)?),
                None => None,
            },
        })
    }
}

fn must_be_true(accepted: &bool) -> Result<(), ValidationError> {
    if *accepted {
        Ok(())
    } else {
        Err(rule(
            "must_be_true",
            "a plan is activated only once the participant has accepted it",
        ))
    }
}

/// `POST /plans/{id}/activate`.
#[derive(Deserialize, Validate)]
pub struct ActivationWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    accepted_on: Option<NaiveDate>,
    #[validate(required, custom(function = "must_be_true"))]
    accepted_by_participant: Option<bool>,
}

pub struct Activation {
    pub accepted_on: NaiveDate,
}

impl RequestBody for Activation {
    type Wire = ActivationWire;
    fn from_wire(w: ActivationWire) -> Option<Self> {
        w.accepted_by_participant.filter(|a| *a)?;
        Some(Activation {
            accepted_on: w.accepted_on?,
        })
    }
}

/// `POST /plans/{id}/reviews`.
#[derive(Deserialize, Validate)]
#[validate(schema(function = "review_rules", skip_on_field_errors = false))]
pub struct NewReviewWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    reviewed_on: Option<NaiveDate>,
    #[validate(required, custom(function = "valid"))]
    summary: Option<FreeText>,
    #[serde(default, deserialize_with = "date::opt")]
    next_review_on: Option<NaiveDate>,
}

fn review_rules(w: &NewReviewWire) -> Result<(), ValidationError> {
    match (w.reviewed_on, w.next_review_on) {
        (Some(reviewed), Some(next)) if next <= reviewed => Err(rule_at(
            "next_review_on",
            "not_after_review",
            "must be later than reviewed_on",
        )),
        _ => Ok(()),
    }
}

pub struct NewReview {
    pub reviewed_on: NaiveDate,
    pub summary: FreeText,
    /// `None`: `reviewed_on` + the unit's `review_interval_days`.
    pub next_review_on: Option<NaiveDate>,
}

impl RequestBody for NewReview {
    type Wire = NewReviewWire;
    fn from_wire(w: NewReviewWire) -> Option<Self> {
        Some(NewReview {
            reviewed_on: w.reviewed_on?,
            summary: w.summary?,
            next_review_on: w.next_review_on,
        })
    }
}

/// `PATCH /goals/{id}`: merge semantics.
#[derive(Deserialize, Validate)]
pub struct GoalPatchWire {
    #[serde(default, deserialize_with = "forbid_null")]
    status: Option<GoalStatus>,
    #[serde(default, deserialize_with = "date::patch")]
    #[validate(custom(function = "not_future_patch"))]
    achieved_on: Patch<NaiveDate>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    progress_note: Patch<FreeText>,
}

pub struct GoalPatch {
    pub status: Option<GoalStatus>,
    pub achieved_on: Patch<NaiveDate>,
    pub progress_note: Patch<FreeText>,
}

impl RequestBody for GoalPatch {
    type Wire = GoalPatchWire;
    fn from_wire(w: GoalPatchWire) -> Option<Self> {
        Some(GoalPatch {
            status: w.status,
            achieved_on: w.achieved_on,
            progress_note: w.progress_note,
        })
    }
}

/// `PATCH /actions/{id}`: merge semantics.
#[derive(Deserialize, Validate)]
pub struct ActionPatchWire {
    #[serde(default, deserialize_with = "forbid_null")]
    status: Option<ActionStatus>,
    #[serde(default, deserialize_with = "date::patch")]
    #[validate(custom(function = "not_future_patch"))]
    done_on: Patch<NaiveDate>,
}

pub struct ActionPatch {
    pub status: Option<ActionStatus>,
    pub done_on: Patch<NaiveDate>,
}

impl RequestBody for ActionPatch {
    type Wire = ActionPatchWire;
    fn from_wire(w: ActionPatchWire) -> Option<Self> {
        Some(ActionPatch {
            status: w.status,
            done_on: w.done_on,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn goal() -> serde_json::Value {
        json!({"area": "social", "title": "Abstinence", "indicator": "6 months sober",
               "target_date": "2026-09-01"})
    }

    fn action(goal_index: i64) -> serde_json::Value {
        json!({"goal_index": goal_index, "title": "Join the support group",
               "responsible_staff_id": "6f1c1b8e-8f0e-4c38-9a43-3a3f2d0f5a11",
               "due_date": "2026-04-01"})
    }

    #[test]
    fn actions_name_existing_goals() {
        let body = json!({"programme_id": "6f1c1b8e-8f0e-4c38-9a43-3a3f2d0f5a11",
                          "goals": [goal(), goal()], "actions": [action(1), action(2), action(-1)]});
        assert_eq!(
            crate::http::rules::field_codes::<NewPlan>(&body),
            vec![
                ("/actions/1/goal_index".into(), "unknown_goal".into()),
                ("/actions/2/goal_index".into(), "unknown_goal".into()),
            ]
        );
    }

    #[test]
    fn a_plan_needs_goals_and_replaced_goals_need_their_actions() {
        let body = json!({"programme_id": "6f1c1b8e-8f0e-4c38-9a43-3a3f2d0f5a11", "goals": []});
        assert_eq!(
            crate::http::rules::field_codes::<NewPlan>(&body),
            vec![("/goals".into(), "count".into())]
        );
        assert_eq!(
            crate::http::rules::field_codes::<PlanPatch>(&json!({"goals": [goal()]})),
            vec![("/actions".into(), "required".into())]
        );
    }

    #[test]
    fn activation_needs_the_participants_acceptance() {
        assert_eq!(
            crate::http::rules::field_codes::<Activation>(
                &json!({"accepted_on": "2026-03-01", "accepted_by_participant": false})
            ),
            vec![("/accepted_by_participant".into(), "must_be_true".into())]
        );
    }
}
