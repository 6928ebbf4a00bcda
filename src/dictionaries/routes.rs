//! `/api/v1/risk-groups` and `/api/v1/activity-types`. Each handler documents its operation and
//! hands over to one of the shared steps below, written once for every kind of entry.

use actix_web::{get, patch, post, web, HttpResponse};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{ActivityType, Area, Category, EntryPatch, NewEntry, RiskGroup};
use super::repo::Stored;
use super::service;
use crate::auth::CurrentStaff;
use crate::http::body::RawJson;
use crate::http::{
    created, ok_with_etag, AppError, IfMatch, Paginated, Problem, QueryParams, RequestContext,
};
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_risk_groups)
        .service(create_risk_group)
        .service(read_risk_group)
        .service(update_risk_group)
        .service(list_activity_types)
        .service(create_activity_type)
        .service(read_activity_type)
        .service(update_activity_type);
}

// ---------------------------------------------------------------------------------------------
// The shared steps

fn location<K: Stored>(entry: &K) -> String {
    format!("{}/{}", K::COLLECTION, entry.code())
}

/// Fields such as `statutory` need a further permission: a caller without it who sends the field
/// (whatever its value) gets 403, recorded as denied, before the body is judged.
async fn require_guarded_fields<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    body: &RawJson,
) -> Result<(), AppError> {
    for (field, action) in K::GUARDED_FIELDS {
        if body.0.get(*field).is_some() {
            caller.require(state, ctx, *action).await?;
        }
    }
    Ok(())
}

async fn list_entries<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    mut query: QueryParams,
) -> Result<HttpResponse, AppError> {
    caller.require(state, ctx, Action::DictionaryRead).await?;
    let page = query.page();
    let active = query.get("active", "true or false");
    query.finish()?;
    let (items, total) = service::list::<K>(state, active, page).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(items, page, total)))
}

async fn read_entry<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    code: String,
) -> Result<HttpResponse, AppError> {
    caller.require(state, ctx, Action::DictionaryRead).await?;
    let entry = service::read::<K>(state, code).await?;
    Ok(ok_with_etag(entry.version(), &entry))
}

async fn create_entry<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    caller.require(state, ctx, Action::DictionaryEdit).await?;
    require_guarded_fields::<K>(state, ctx, caller, &body).await?;
    let new: NewEntry<K::New> = body.parse()?;
    let entry = service::create::<K>(state, ctx, caller.actor(), new).await?;
    Ok(created(location(&entry), entry.version(), &entry))
}

async fn update_entry<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    code: String,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    caller.require(state, ctx, Action::DictionaryEdit).await?;
    require_guarded_fields::<K>(state, ctx, caller, &body).await?;
    let patch: EntryPatch<K::Changes> = body.parse()?;
    let expected = if_match.required()?;
    let entry = service::update::<K>(state, ctx, caller.actor(), code, expected, patch).await?;
    Ok(ok_with_etag(entry.version(), &entry))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct DictionaryQuery {
    /// Only active (`true`) or retired (`false`) entries.
    active: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Risk groups

/// Risk groups sorted by code. Every staff member may read them.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    params(DictionaryQuery, crate::http::PageParams),
    responses(
        (status = 200, description = "One page of risk groups", body = Paginated<RiskGroup>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/risk-groups")]
async fn list_risk_groups(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    query: QueryParams,
) -> Result<HttpResponse, AppError> {
    list_entries::<RiskGroup>(&state, &ctx, &caller, query).await
}

/// Create a risk group (admins and managers). `statutory` defaults to `false`; only admins may
/// send it (a manager who sends it gets 403). `code` matches `^[a-z][a-z0-9_]{1,49}$` and never
/// changes. There is no delete: retire a group with `active: false`.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    request_body(content = inline(NewRiskGroupDoc)),
    responses(
        (status = 201, description = "Created", body = RiskGroup, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and managers edit dictionaries; only admins set `statutory`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_code`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/risk-groups")]
async fn create_risk_group(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    create_entry::<RiskGroup>(&state, &ctx, &caller, body).await
}

/// One risk group, active or retired.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    responses(
        (status = 200, description = "The risk group", body = RiskGroup, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such risk group", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/risk-groups/{code}")]
async fn read_risk_group(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    read_entry::<RiskGroup>(&state, &ctx, &caller, code.into_inner()).await
}

/// Change a risk group (admins and managers; `If-Match`); `active: false` retires it. `code`
/// cannot change (422 on `/code` when a different one is sent); only admins may send
/// `statutory`; `null` clears `legal_basis` and `evidence_hint`.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    params(("code" = String, Path), ("If-Match" = String, Header, description = "The risk group's ETag")),
    request_body(content = inline(RiskGroupPatchDoc)),
    responses(
        (status = 200, description = "Updated", body = RiskGroup, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and managers edit dictionaries; only admins set `statutory`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such risk group", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag; the body carries `current_version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/risk-groups/{code}")]
async fn update_risk_group(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    code: web::Path<String>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    update_entry::<RiskGroup>(&state, &ctx, &caller, code.into_inner(), if_match, body).await
}

// ---------------------------------------------------------------------------------------------
// Activity types

/// Activity types sorted by code. Every staff member may read them.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    params(DictionaryQuery, crate::http::PageParams),
    responses(
        (status = 200, description = "One page of activity types", body = Paginated<ActivityType>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/activity-types")]
async fn list_activity_types(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    query: QueryParams,
) -> Result<HttpResponse, AppError> {
    list_entries::<ActivityType>(&state, &ctx, &caller, query).await
}

/// Create an activity type (admins and managers). `code` matches `^[a-z][a-z0-9_]{1,49}$` and
/// never changes. There is no delete: retire a type with `active: false`.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    request_body(content = inline(NewActivityTypeDoc)),
    responses(
        (status = 201, description = "Created", body = ActivityType, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and managers edit dictionaries", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_code`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/activity-types")]
async fn create_activity_type(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    create_entry::<ActivityType>(&state, &ctx, &caller, body).await
}

/// One activity type, active or retired.
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    responses(
        (status = 200, description = "The activity type", body = ActivityType, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity type", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/activity-types/{code}")]
async fn read_activity_type(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    read_entry::<ActivityType>(&state, &ctx, &caller, code.into_inner()).await
}

/// Change an activity type (admins and managers; `If-Match`); `active: false` retires it.
/// `code` cannot change (422 on `/code` when a different one is sent).
#[utoipa::path(
    tag = "dictionaries",
    security(("bearer" = [])),
    params(("code" = String, Path), ("If-Match" = String, Header, description = "The activity type's ETag")),
    request_body(content = inline(ActivityTypePatchDoc)),
    responses(
        (status = 200, description = "Updated", body = ActivityType, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and managers edit dictionaries", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such activity type", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag; the body carries `current_version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/activity-types/{code}")]
async fn update_activity_type(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    code: web::Path<String>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    update_entry::<ActivityType>(&state, &ctx, &caller, code.into_inner(), if_match, body).await
}

// ---------------------------------------------------------------------------------------------
// Documentation shapes of the request bodies (they are read field by field, see `model.rs`).

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewRiskGroupDoc {
    /// `^[a-z][a-z0-9_]{1,49}$`; never changes.
    #[schema(example = "local_debt_support", pattern = "^[a-z][a-z0-9_]{1,49}$")]
    code: String,
    label_en: String,
    label_pl: String,
    legal_basis: Option<String>,
    evidence_hint: Option<String>,
    /// Admins only; defaults to `false`.
    statutory: Option<bool>,
    /// Defaults to `true`.
    active: Option<bool>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct RiskGroupPatchDoc {
    /// If sent, must be the group's own code.
    code: Option<String>,
    label_en: Option<String>,
    label_pl: Option<String>,
    /// `null` clears it.
    legal_basis: Option<String>,
    /// `null` clears it.
    evidence_hint: Option<String>,
    /// Admins only.
    statutory: Option<bool>,
    /// `false` retires the group.
    active: Option<bool>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewActivityTypeDoc {
    /// `^[a-z][a-z0-9_]{1,49}$`; never changes.
    #[schema(example = "art_therapy", pattern = "^[a-z][a-z0-9_]{1,49}$")]
    code: String,
    label_en: String,
    label_pl: String,
    area: Area,
    category: Category,
    /// Defaults to `true`.
    active: Option<bool>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ActivityTypePatchDoc {
    /// If sent, must be the type's own code.
    code: Option<String>,
    label_en: Option<String>,
    label_pl: Option<String>,
    area: Option<Area>,
    category: Option<Category>,
    /// `false` retires the type.
    active: Option<bool>,
}
