//! `/api/v1/staff`: accounts (admins) and the staff directory (everyone).

use actix_web::{get, patch, post, web, HttpResponse};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{
    NewStaff, ResetPassword, Staff, StaffDirectoryEntry, StaffListItem, StaffPatch,
};
use super::{repo, service};
use crate::auth::CurrentStaff;
use crate::http::{
    created, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams,
    RequestContext,
};
use crate::policy::{self, Action, Role, View};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(reset_password);
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct StaffQuery {
    /// Only staff holding this role.
    role: Option<Role>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    active: Option<bool>,
    /// Prefix of the name (any word, case- and diacritic-insensitive) or of the e-mail.
    q: Option<String>,
}

/// Staff sorted by name. Admins get full records; everyone else the directory
/// (`id, full_name, roles, active`) to pick care teams and facilitators.
#[utoipa::path(
    operation_id = "list_staff",
    tag = "staff",
    security(("bearer" = [])),
    params(StaffQuery, PageParams),
    responses(
        (status = 200, description = "One page of staff", body = Paginated<StaffListItem>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut query: QueryParams,
) -> Result<HttpResponse, AppError> {
    let grants = caller.require(&state, &ctx, Action::StaffList).await?;
    let page = query.page();
    let full = policy::widest_view(&grants) == View::Full;
    let filter = repo::StaffFilter {
        role: query.get_with("role", |s| {
            Role::parse(s).ok_or_else(|| "expected a role name".to_owned())
        }),
        active: query.get("active", "true or false"),
        q: query.get_with("q", |s| Ok(crate::text::fold(s))),
        match_email: full,
    };
    query.finish()?;
    let (members, total) = state
        .db
        .read(move |conn| Ok(repo::list(conn, &filter, page)?))
        .await?;
    let items = members
        .iter()
        .map(|m| {
            if full {
                StaffListItem::Full(Staff::from(m))
            } else {
                StaffListItem::Directory(StaffDirectoryEntry::from(m))
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(Paginated::new(items, page, total)))
}

/// Create a staff account. It must change the initial password at first sign-in.
#[utoipa::path(
    operation_id = "create_staff",
    tag = "staff",
    security(("bearer" = [])),
    request_body(content = inline(NewStaffDoc), description = "`{email, full_name, roles[], initial_password, active_until?}`"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h")),
    responses(
        (status = 201, description = "Created", body = Staff, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins manage staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    body: crate::http::body::RawJson,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::StaffCreate).await?;
    let new: NewStaff = body.parse()?;
    let member = service::create(&state, &ctx, Some(caller.actor()), new).await?;
    Ok(created(
        format!("/api/v1/staff/{}", member.row.id),
        member.row.version,
        &Staff::from(&member),
    ))
}

/// One staff member: the full record for admins, the directory entry for everyone else.
#[utoipa::path(
    operation_id = "get_staff",
    tag = "staff",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The staff member", body = StaffListItem, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/staff/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let grants = caller.require(&state, &ctx, Action::StaffRead).await?;
    let id = id.into_inner();
    let member = state
        .db
        .read(move |conn| repo::find(conn, &id)?.ok_or(AppError::NotFound))
        .await?;
    if policy::widest_view(&grants) == View::Full {
        Ok(ok_with_etag(member.row.version, &Staff::from(&member)))
    } else {
        Ok(ok_with_etag(
            member.row.version,
            &StaffDirectoryEntry::from(&member),
        ))
    }
}

/// Change `email`, `full_name`, `roles`, `active`, `active_until` (admins; `If-Match`). Role
/// changes and deactivation end the member's sessions. The last active admin cannot be
/// deactivated or demoted (409 `last_admin`).
#[utoipa::path(
    operation_id = "update_staff",
    tag = "staff",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The staff member's ETag")),
    request_body(content = inline(StaffPatchDoc)),
    responses(
        (status = 200, description = "Updated", body = Staff, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins manage staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken` or `last_admin`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/staff/{id}")]
async fn update(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<String>,
    if_match: IfMatch,
    body: crate::http::body::RawJson,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::StaffUpdate).await?;
    let patch: StaffPatch = body.parse()?;
    let expected = if_match.required()?;
    let member = service::update(
        &state,
        &ctx,
        caller.actor(),
        id.into_inner(),
        expected,
        patch,
    )
    .await?;
    Ok(ok_with_etag(member.row.version, &Staff::from(&member)))
}

/// Set a new initial password (admins): the member must change it at next sign-in, login
/// throttling is cleared and every session ends. `If-Match` is optional.
#[utoipa::path(
    operation_id = "reset_staff_password",
    tag = "staff",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = inline(ResetPasswordDoc)),
    responses(
        (status = 200, description = "Password reset", body = Staff, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins manage staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The password breaks the rules", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/{id}/reset-password")]
async fn reset_password(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<String>,
    if_match: IfMatch,
    body: crate::http::body::RawJson,
) -> Result<HttpResponse, AppError> {
    caller
        .require(&state, &ctx, Action::StaffResetPassword)
        .await?;
    let ResetPassword { initial_password } = body.parse()?;
    let member = service::reset_password(
        &state,
        &ctx,
        caller.actor(),
        id.into_inner(),
        if_match.optional(),
        initial_password.0,
    )
    .await?;
    Ok(ok_with_etag(member.row.version, &Staff::from(&member)))
}

/// Documentation shapes of the request bodies (they are read field by field, see `model.rs`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewStaffDoc {
    email: String,
    full_name: String,
    roles: Vec<Role>,
    /// At least 12 characters, not containing the e-mail's local part.
    initial_password: String,
    active_until: Option<chrono::NaiveDate>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct StaffPatchDoc {
    email: Option<String>,
    full_name: Option<String>,
    roles: Option<Vec<Role>>,
    active: Option<bool>,
    /// `null` removes the limit.
    active_until: Option<chrono::NaiveDate>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ResetPasswordDoc {
    initial_password: String,
}
