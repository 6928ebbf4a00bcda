//! Programmes and follow-ups: `/api/v1/participants/{id}/programmes`, `/api/v1/programmes/{id}`,
//! `/api/v1/participants/{id}/follow-ups`, `/api/v1/follow-ups/{id}`.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::Serialize;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{Contact, Exit, Extension, FollowUp, NewProgramme, Programme, ProgrammeSummary};
use super::service::{self, Owned};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::http::{
    created, ok_with_etag, AppError, IfMatch, PageParams, PageRequest, Paginated, Problem,
    QueryParams, RawJson, RequestContext,
};
use crate::participants::access;
use crate::policy::{Action, View};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(start)
        .service(list)
        .service(read)
        .service(summary)
        .service(extend)
        .service(exit)
        .service(list_follow_ups)
        .service(record_follow_up);
}

/// A page loader for one participant's sub-collection.
type Loader<T> = fn(&mut AnyConnection, &str, PageRequest, View) -> Result<(Vec<T>, i64), AppError>;

/// The steps every participant sub-collection list shares: authorization on the participant,
/// the page parameters (nothing else), one page in the envelope.
async fn page_of<T: Serialize + Send + 'static>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: uuid::Uuid,
    mut params: QueryParams,
    load: Loader<T>,
) -> Result<HttpResponse, AppError> {
    let access = access::authorize(
        state,
        ctx,
        caller,
        Action::ProgrammeRead,
        &participant_id.to_string(),
    )
    .await?;
    let page = params.page();
    params.finish()?;
    let (id, view) = (access.participant_id, access.view);
    let (items, total) = state
        .db
        .read(move |conn| load(conn, &id, page, view))
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(items, page, total)))
}

/// Start a programme for a qualified participant (api.md §5, §13.4): `start_date` not in the
/// future nor before the qualification decision (422 `future`, `before_qualification`);
/// `planned_months` 1–36 (default: the unit's `programme_months`; 422 `range`), at most 24 in a
/// CIS (422 `cis_cap`); `planned_end_date = start_date + planned_months − 1 day`, adding months
/// clamped to the month's last day. The participant becomes `in_programme`. 409
/// `participant_not_qualified` unless the participant is `qualified`; 409
/// `programme_already_open` while another programme is open.
#[utoipa::path(
    operation_id = "start_programme",
    tag = "programmes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = Object, description = "`{start_date, planned_months?, basis: kontrakt_socjalny|ipzs|other, basis_reference?}`"),
    responses(
        (status = 201, description = "Started", body = Programme, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the team's lead or a manager starts a programme", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_not_qualified`, `programme_already_open`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/programmes")]
async fn start(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let access = access::authorize(
        &state,
        &ctx,
        &caller,
        Action::ProgrammeManage,
        &id.to_string(),
    )
    .await?;
    let body: NewProgramme = body.parse()?;
    let p = service::start(&state, &ctx, &caller, access, body).await?;
    Ok(created(
        format!("/api/v1/programmes/{}", p.id),
        p.version,
        &p,
    ))
}

/// The participant's programmes, newest start first.
#[utoipa::path(
    operation_id = "list_programmes",
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The participant's id"), PageParams),
    responses(
        (status = 200, description = "One page", body = Paginated<Programme>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no programmes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/programmes")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    params: QueryParams,
) -> Result<HttpResponse, AppError> {
    page_of(&state, &ctx, &caller, *id, params, service::list).await
}

/// One programme; visible to whoever may see its participant's programmes.
#[utoipa::path(
    operation_id = "get_programme",
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The programme's id")),
    responses(
        (status = 200, description = "The programme", body = Programme, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no programmes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    let access = service::authorize_owned(
        &state,
        &ctx,
        &caller,
        Action::ProgrammeRead,
        Owned::Programme,
        &id,
    )
    .await?;
    let p = service::read(&state, id, access.view).await?;
    Ok(ok_with_etag(p.version, &p))
}

/// Where the programme stands, computed on each request (no ETag): `months_elapsed` and
/// `months_planned` are whole months from `start_date` through the reference day (today in
/// Europe/Warsaw, or `exit_date` once exited) and through `planned_end_date`, both days included:
/// the largest `m` with `start_date + m months ≤ day + 1 day`, months added clamping to the
/// month's last day (a programme of 12 months counts 12 on its planned end date, 11 the day
/// before). `attended_minutes` sums the minutes of the attendance rows recorded for this
/// programme, by the session's area and activity category (every category listed, 0 when
/// none); `attendance_rate` is `present` and `late` rows over all of them (`fraction` null
/// without rows). `goals`, `overdue_actions` (open actions due before the reference day) and
/// `overdue_reviews` (1 when `next_review_on` is before the reference day) concern the
/// programme's active IPD, 0 without one. Visible to whoever may read the programme.
#[utoipa::path(
    operation_id = "get_programme_summary",
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The programme's id")),
    responses(
        (status = 200, description = "The summary", body = ProgrammeSummary),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no programmes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes/{id}/summary")]
async fn summary(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize_owned(
        &state,
        &ctx,
        &caller,
        Action::ProgrammeRead,
        Owned::Programme,
        &id,
    )
    .await?;
    let s = service::summary(&state, id).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Extend an open programme: `{planned_end_date, extension_reason}`, both required. The new end
/// must be later than the current one (422 `not_later`) and never past 24 months from the start
/// in a CIS (422 `cis_cap`) or 36 months in a KIS (422 `max_length`). `planned_months` keeps the
/// length planned at the start. `If-Match` required. 409 `programme_closed` after the exit.
#[utoipa::path(
    operation_id = "extend_programme",
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The programme's id"), ("If-Match" = String, Header)),
    request_body(content = Object, description = "`{planned_end_date, extension_reason}`"),
    responses(
        (status = 200, description = "Extended", body = Programme, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the team's lead or a manager extends a programme", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`programme_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/programmes/{id}")]
async fn extend(
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
        Action::ProgrammeManage,
        Owned::Programme,
        &id,
    )
    .await?;
    let body: Extension = body.parse()?;
    let expected = if_match.required()?;
    let p = service::extend(&state, &ctx, &caller, id, expected, body).await?;
    Ok(ok_with_etag(p.version, &p))
}

/// Exit the programme: `{exit_date, exit_reason, exit_note}` (`exit_note` required for `other`;
/// `exit_date` not before the start, 422 `before_start`, nor in the future, 422 `future`). The
/// participant becomes `exited`, and follow-ups fall due at `exit_date` + each of the unit's
/// `follow_up_months` (clamped to the month's last day), none after `death`. `If-Match`
/// optional. 409 `programme_closed` when already exited.
#[utoipa::path(
    operation_id = "exit_programme",
    tag = "programmes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The programme's id"),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = Object, description = "`{exit_date, exit_reason: completed|employed|dropped_out|expelled|moved|health|death|other, exit_note}`"),
    responses(
        (status = 200, description = "The programme after the exit", body = Programme, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the team's lead or a manager exits a programme", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such programme, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`programme_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/programmes/{id}/exit")]
async fn exit(
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
        Action::ProgrammeManage,
        Owned::Programme,
        &id,
    )
    .await?;
    let body: Exit = body.parse()?;
    let p = service::exit(&state, &ctx, &caller, id, if_match.optional(), body).await?;
    Ok(ok_with_etag(p.version, &p))
}

/// The participant's follow-ups across their programmes, by due date.
#[utoipa::path(
    operation_id = "list_follow_ups",
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The participant's id"), PageParams),
    responses(
        (status = 200, description = "One page", body = Paginated<FollowUp>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no follow-ups", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/follow-ups")]
async fn list_follow_ups(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    params: QueryParams,
) -> Result<HttpResponse, AppError> {
    page_of(&state, &ctx, &caller, *id, params, service::list_follow_ups).await
}

/// Record a follow-up contact: `{contacted_on, result: employed|not_employed|education|
/// unreachable|declined, note?}`. `contacted_on` not before the exit (422 `before_exit`) nor in
/// the future (422 `future`). `unreachable` sets `status: unreachable` and needs no consent;
/// any other result needs a `contact_after_exit` consent valid on `contacted_on` (409
/// `consent_missing`) and sets `status: done`. A follow-up may be recorded again (a later
/// attempt, a correction). `note` follows merge semantics. `If-Match` required.
#[utoipa::path(
    operation_id = "record_follow_up",
    tag = "programmes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The follow-up's id"), ("If-Match" = String, Header)),
    request_body(content = Object, description = "`{contacted_on, result, note?}`"),
    responses(
        (status = 200, description = "Recorded", body = FollowUp, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not record follow-ups", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such follow-up, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`consent_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/follow-ups/{id}")]
async fn record_follow_up(
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
        Action::FollowUpWrite,
        Owned::FollowUp,
        &id,
    )
    .await?;
    let body: Contact = body.parse()?;
    let expected = if_match.required()?;
    let f = service::record_contact(&state, &ctx, &caller, id, expected, body).await?;
    Ok(ok_with_etag(f.version, &f))
}
