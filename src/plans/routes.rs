//! `/api/v1/participants/{id}/plans`, `/api/v1/plans/{id}` (and its `activate`, `revise`,
//! `reviews`), `/api/v1/goals/{id}`, `/api/v1/actions/{id}` (api.md §7, §13.5).

use actix_web::{get, patch, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{
    ActionPatch, Activation, Goal, GoalArea, GoalPatch, NewPlan, NewReview, Plan, PlanAction,
    PlanPatch,
};
use super::service::{self, Owned};
use crate::auth::CurrentStaff;
use crate::http::{
    created, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams, RawJson,
    RequestContext,
};
use crate::participants::access;
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(read)
        .service(update)
        .service(activate)
        .service(revise)
        .service(review)
        .service(update_goal)
        .service(update_action);
}

/// A goal of a new plan.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct GoalDoc {
    area: GoalArea,
    /// Up to 200 characters.
    title: String,
    description: Option<String>,
    /// How achievement is measured, up to 200 characters.
    indicator: String,
    target_date: chrono::NaiveDate,
}

/// An action of a new plan.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ActionDoc {
    /// The goal it serves: its 0-based place in `goals` (422 `unknown_goal` otherwise).
    goal_index: i32,
    title: String,
    /// A member of the participant's care team (422 `not_on_team` otherwise).
    responsible_staff_id: uuid::Uuid,
    due_date: chrono::NaiveDate,
    /// An active activity type (422 `unknown` otherwise).
    activity_type_code: Option<String>,
}

/// The body of `POST /participants/{id}/plans`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewPlanDoc {
    /// An open programme of this participant (422 `unknown` when it names none).
    programme_id: uuid::Uuid,
    /// 1–50 goals.
    goals: Vec<GoalDoc>,
    /// Up to 200 actions.
    actions: Option<Vec<ActionDoc>>,
}

/// The body of `PATCH /plans/{id}`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct PlanPatchDoc {
    /// Replaces the goals; requires `actions` in the same request.
    goals: Option<Vec<GoalDoc>>,
    /// Replaces the actions (alone: naming the draft's current goals by index).
    actions: Option<Vec<ActionDoc>>,
}

/// Draft a plan for an open programme (care team and managers). Needs at least one **final**
/// diagnosis of the participant (409 `diagnosis_required`) and no active plan in the programme
/// (409 `plan_already_active`: revise it instead); a closed programme → 409
/// `programme_closed`. Created as `draft`, `version_no` 1.
#[utoipa::path(
    operation_id = "create_plan",
    tag = "plans",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(NewPlanDoc)),
    responses(
        (status = 201, description = "The draft", body = Plan, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no plans (admins, auditors), or not on the care team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`diagnosis_required`, `plan_already_active`, `programme_closed`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/plans")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    access::authorize(&state, &ctx, &caller, Action::PlanWrite, &id).await?;
    let new: NewPlan = body.parse()?;
    let plan = service::create(&state, &ctx, &caller, id, new).await?;
    Ok(created(
        format!("/api/v1/plans/{}", plan.id),
        plan.version,
        &plan,
    ))
}

/// The participant's plans, every version, newest first (`-created_at`, `-version_no`, `id`), goals,
/// actions and reviews nested. Auditors read plans without progress notes and review
/// summaries. Audited as one `plan.list` event.
#[utoipa::path(
    operation_id = "list_plans",
    tag = "plans",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The participant's id"), PageParams),
    responses(
        (status = 200, description = "One page", body = Paginated<Plan>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no plans (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/plans")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let access =
        access::authorize(&state, &ctx, &caller, Action::PlanRead, &id.to_string()).await?;
    let page = params.page();
    params.finish()?;
    let plans = service::list(&state, &ctx, &caller, access, page).await?;
    Ok(HttpResponse::Ok().json(plans))
}

/// One plan with its goals (each with its status history), actions and reviews. Audited as
/// `plan.read`.
#[utoipa::path(
    operation_id = "get_plan",
    tag = "plans",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The plan's id")),
    responses(
        (status = 200, description = "The plan", body = Plan, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no plans (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/plans/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    let access =
        service::authorize_owned(&state, &ctx, &caller, Action::PlanRead, Owned::Plan, &id).await?;
    let plan = service::read(&state, &ctx, &caller, access, id).await?;
    Ok(ok_with_etag(plan.version, &plan))
}

/// Edit a draft: `goals` and `actions`, when present, replace the draft's lists wholesale (new
/// goals need their actions in the same request, 422 `required` on `/actions`). `If-Match`
/// required. An active or superseded plan → 409 `plan_not_draft`.
#[utoipa::path(
    operation_id = "update_plan",
    tag = "plans",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The plan's id"), ("If-Match" = String, Header)),
    request_body(content = inline(PlanPatchDoc)),
    responses(
        (status = 200, description = "The edited draft", body = Plan, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no plans, or not on the care team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_draft`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/plans/{id}")]
async fn update(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::PlanWrite, Owned::Plan, &id).await?;
    let patch: PlanPatch = body.parse()?;
    let expected = if_match.required()?;
    let plan = service::update(&state, &ctx, &caller, id, expected, patch).await?;
    Ok(ok_with_etag(plan.version, &plan))
}

/// The body of `POST /plans/{id}/activate`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ActivationDoc {
    /// Not in the future, not before the programme's start (422 `before_start`).
    accepted_on: chrono::NaiveDate,
    /// Must be `true` (422 `must_be_true`).
    accepted_by_participant: bool,
}

/// Activate a draft once the participant accepted it (a manager or the team's lead). One active
/// plan per programme: activating a revision supersedes its base in the same transaction; any
/// other draft while a plan is active → 409 `plan_already_active`. The first review falls due
/// `review_interval_days` after `accepted_on`. `If-Match` optional.
#[utoipa::path(
    operation_id = "activate_plan",
    tag = "plans",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The plan's id"),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(ActivationDoc)),
    responses(
        (status = 200, description = "The active plan", body = Plan, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only a manager or the team's lead activates a plan", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_draft`, `plan_already_active`, `programme_closed`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/plans/{id}/activate")]
async fn activate(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(
        &state,
        &ctx,
        &caller,
        Action::PlanActivate,
        Owned::Plan,
        &id,
    )
    .await?;
    let body: Activation = body.parse()?;
    let plan = service::activate(&state, &ctx, &caller, id, if_match.optional(), body).await?;
    Ok(ok_with_etag(plan.version, &plan))
}

/// Copy the active plan into a new draft with `version_no + 1` (goals with their status and
/// history, actions with theirs). Anything but the active plan → 409 `plan_not_active`.
#[utoipa::path(
    operation_id = "revise_plan",
    tag = "plans",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The active plan's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    responses(
        (status = 201, description = "The new draft", body = Plan, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no plans, or not on the care team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_active`, `programme_closed`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/plans/{id}/revise")]
async fn revise(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::PlanWrite, Owned::Plan, &id).await?;
    let plan = service::revise(&state, &ctx, &caller, id).await?;
    Ok(created(
        format!("/api/v1/plans/{}", plan.id),
        plan.version,
        &plan,
    ))
}

/// The body of `POST /plans/{id}/reviews`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ReviewDoc {
    /// Not in the future, not before the plan's acceptance (422 `before_acceptance`).
    reviewed_on: chrono::NaiveDate,
    /// 1–20,000 characters.
    summary: String,
    /// Later than `reviewed_on` (422 `not_after_review`); default `reviewed_on` + the unit's
    /// `review_interval_days`.
    next_review_on: Option<chrono::NaiveDate>,
}

/// Review the active plan. Answers `201` with the plan (the review nested, `next_review_on`
/// moved) and its new `ETag`; `Location` is the plan. Anything but the active plan → 409
/// `plan_not_active`.
#[utoipa::path(
    operation_id = "review_plan",
    tag = "plans",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The active plan's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(ReviewDoc)),
    responses(
        (status = 201, description = "Reviewed", body = Plan, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no plans, or not on the care team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such plan, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_active`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/plans/{id}/reviews")]
async fn review(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::PlanWrite, Owned::Plan, &id).await?;
    let body: NewReview = body.parse()?;
    let plan = service::review(&state, &ctx, &caller, id, body).await?;
    Ok(created(
        format!("/api/v1/plans/{}", plan.id),
        plan.version,
        &plan,
    ))
}

/// Record a goal's progress on the active plan: `{status, achieved_on, progress_note}` (merge
/// semantics; `achieved_on` required for `achieved` and refused for any other status).
/// `If-Match: "<version>"` of the goal. A goal of a draft or superseded plan → 409
/// `plan_not_active`.
#[utoipa::path(
    operation_id = "update_goal",
    tag = "plans",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The goal's id"), ("If-Match" = String, Header)),
    request_body(content = Object, description = "`{status: planned|in_progress|achieved|abandoned, achieved_on, progress_note}`"),
    responses(
        (status = 200, description = "The goal", body = Goal, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no plans, or not on the care team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such goal, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_active`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/goals/{id}")]
async fn update_goal(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::PlanWrite, Owned::Goal, &id).await?;
    let patch: GoalPatch = body.parse()?;
    let expected = if_match.required()?;
    let goal = service::update_goal(&state, &ctx, &caller, id, expected, patch).await?;
    Ok(ok_with_etag(goal.version, &goal))
}

/// Record an action's status on the active plan: `{status: open|done|cancelled, done_on}`
/// (`done_on` required for `done` and refused otherwise). `If-Match: "<version>"` of the
/// action. An action of a draft or superseded plan → 409 `plan_not_active`.
#[utoipa::path(
    operation_id = "update_action",
    tag = "plans",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The action's id"), ("If-Match" = String, Header)),
    request_body(content = Object, description = "`{status: open|done|cancelled, done_on}`"),
    responses(
        (status = 200, description = "The action", body = PlanAction, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no plans, or not on the care team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such action, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`plan_not_active`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/actions/{id}")]
async fn update_action(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::PlanWrite, Owned::Action, &id).await?;
    let patch: ActionPatch = body.parse()?;
    let expected = if_match.required()?;
    let action = service::update_action(&state, &ctx, &caller, id, expected, patch).await?;
    Ok(ok_with_etag(action.version, &action))
}
