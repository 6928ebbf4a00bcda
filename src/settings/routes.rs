//! `/api/v1/settings`: the unit's settings (read by everyone, replaced by admins).

use actix_web::{get, put, web, HttpResponse};
use chrono::NaiveDate;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{NewSettings, Settings, UnitKind};
use super::service;
use crate::auth::CurrentStaff;
use crate::http::body::RawJson;
use crate::http::{ok_with_etag, AppError, IfMatch, Problem, RequestContext};
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(read_settings).service(replace_settings);
}

/// The unit's settings, with their ETag. Every staff member may read them.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings", body = Settings, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/settings")]
async fn read_settings(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::SettingsRead).await?;
    let settings = service::read(&state).await?;
    Ok(ok_with_etag(settings.version, &settings))
}

/// Replace the settings (admins; `If-Match`). Every field is required except
/// `project_retention_until`; `version` in the body is ignored. Ranges: `unit_name` 1–200
/// characters, `programme_months` 1–36, `follow_up_months` 1–5 strictly ascending values each
/// 1–36, `retention_years` 1–50, `review_interval_days` 7–365; every failing field is listed in
/// one 422 (`/follow_up_months/<i>` for one value). A body equal to the stored settings changes
/// nothing and keeps the version.
#[utoipa::path(
    tag = "settings",
    security(("bearer" = [])),
    params(("If-Match" = String, Header, description = "The settings' ETag")),
    request_body(content = inline(NewSettingsDoc)),
    responses(
        (status = 200, description = "Replaced", body = Settings, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins change the settings", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag; the body carries `current_version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/settings")]
async fn replace_settings(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::SettingsUpdate).await?;
    let new: NewSettings = body.parse()?;
    let expected = if_match.required()?;
    let settings = service::replace(&state, &ctx, caller.actor(), expected, new).await?;
    Ok(ok_with_etag(settings.version, &settings))
}

/// Documentation shape of the request body (it is read field by field, see `model.rs`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewSettingsDoc {
    #[schema(example = "Klub Integracji Społecznej")]
    unit_name: String,
    unit_kind: UnitKind,
    #[schema(example = 12, minimum = 1, maximum = 36)]
    programme_months: i32,
    #[schema(example = json!([3, 6, 12]))]
    follow_up_months: Vec<i32>,
    #[schema(example = 5, minimum = 1, maximum = 50)]
    retention_years: i32,
    /// `null` when the unit knows no funder's retention period.
    project_retention_until: Option<NaiveDate>,
    #[schema(example = 90, minimum = 7, maximum = 365)]
    review_interval_days: i32,
}
