//! `/api/v1/participants/{id}/outcomes` and `/api/v1/outcomes/{id}` (api.md §9, §13.5).

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{NewOutcome, Outcome, OutcomeCategory, OutcomeKind, OutcomeStatus, Retraction};
use super::{repo, service};
use crate::auth::CurrentStaff;
use crate::http::{
    created, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams, RawJson,
    RequestContext,
};
use crate::participants::access;
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(verify)
        .service(retract);
}

/// The body of `POST /participants/{id}/outcomes`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewOutcomeDoc {
    kind: OutcomeKind,
    /// Not in the future, not before the participant's first referral.
    achieved_on: NaiveDate,
    /// By kind: `employment_contract` needs `employer` and `hours_per_week` (1–60);
    /// `civil_law_contract` and `supported_employment` need `employer` (all three may carry
    /// `contract_end`, after `achieved_on`); `self_employment` and `social_cooperative` need
    /// `name`; `education`, `training_completed`, `qualification` need `institution` and `name`;
    /// social kinds take an optional `description`. A detail the kind does not take → 422
    /// `not_allowed`.
    #[schema(value_type = Option<Object>)]
    details: Option<serde_json::Value>,
    /// `{document_type, reference}`, both required.
    #[schema(value_type = Object)]
    evidence: serde_json::Value,
    note: Option<String>,
}

/// The participant's outcomes, newest first (`-created_at`, then `id`), retracted ones
/// included (auditors see them too); filters `kind`, `category`, `status`. Care team, managers,
/// auditors (without `note` and social `description`). Audited as `outcome.list`.
#[utoipa::path(
    operation_id = "list_outcomes",
    tag = "outcomes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("kind" = Option<OutcomeKind>, Query),
        ("category" = Option<OutcomeCategory>, Query),
        ("status" = Option<OutcomeStatus>, Query),
        PageParams,
    ),
    responses(
        (status = 200, description = "One page", body = Paginated<Outcome>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no outcomes (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/outcomes")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let access =
        access::authorize(&state, &ctx, &caller, Action::OutcomeRead, &id.to_string()).await?;
    let filter = repo::Filter {
        kind: params.get("kind", "an outcome kind"),
        category: params.get("category", "vocational or social"),
        status: params.get("status", "recorded, verified or retracted"),
    };
    let page = params.page();
    params.finish()?;
    let page = service::list(&state, &ctx, &caller, access, filter, page).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Record an outcome with its evidence (care team, managers). The server computes `category`
/// and `during_programme`. Audited as `outcome.create` with the kind.
#[utoipa::path(
    operation_id = "create_outcome",
    tag = "outcomes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(NewOutcomeDoc)),
    responses(
        (status = 201, description = "Recorded", body = Outcome, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role records no outcomes (admins, auditors), or not on the team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/outcomes")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    access::authorize(&state, &ctx, &caller, Action::OutcomeWrite, &id).await?;
    let new: NewOutcome = body.parse()?;
    let o = service::create(&state, &ctx, &caller, id, new).await?;
    Ok(created(format!("/api/v1/outcomes/{}", o.id), o.version, &o))
}

/// One outcome. Audited as `outcome.read`.
#[utoipa::path(
    operation_id = "get_outcome",
    tag = "outcomes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The outcome's id")),
    responses(
        (status = 200, description = "The outcome", body = Outcome, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no outcomes (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/outcomes/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    let access = service::authorize_owned(&state, &ctx, &caller, Action::OutcomeRead, &id).await?;
    let o = service::read(&state, &ctx, &caller, access, id).await?;
    Ok(ok_with_etag(o.version, &o))
}

/// Verify an outcome against its evidence (managers only). Verifying twice → 409
/// `outcome_verified`; a retracted outcome → 409 `outcome_retracted`. `If-Match` optional.
/// Audited as `outcome.verify`.
#[utoipa::path(
    operation_id = "verify_outcome",
    tag = "outcomes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The outcome's id"),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    responses(
        (status = 200, description = "Verified", body = Outcome, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only managers verify", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`outcome_verified`, `outcome_retracted`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/outcomes/{id}/verify")]
async fn verify(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::OutcomeVerify, &id).await?;
    let o = service::verify(&state, &ctx, &caller, id, if_match.optional()).await?;
    Ok(ok_with_etag(o.version, &o))
}

/// Retract a wrong outcome `{reason}` (the care team, managers). It stays on record, visible
/// to auditors, and reports stop counting it. Retracting twice → 409 `outcome_retracted`.
/// `If-Match` optional. Audited as `outcome.retract`.
#[utoipa::path(
    operation_id = "retract_outcome",
    tag = "outcomes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The outcome's id"),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = Object, description = "`{reason}`, 1–20,000 characters"),
    responses(
        (status = 200, description = "Retracted", body = Outcome, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the team (auditors, admins: always)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such outcome, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`outcome_retracted`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/outcomes/{id}/retract")]
async fn retract(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(&state, &ctx, &caller, Action::OutcomeWrite, &id).await?;
    let r: Retraction = body.parse()?;
    let o = service::retract(&state, &ctx, &caller, id, if_match.optional(), r).await?;
    Ok(ok_with_etag(o.version, &o))
}
