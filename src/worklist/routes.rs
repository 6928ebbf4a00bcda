//! `GET /api/v1/worklist` (api.md §8, §13.5).

use actix_web::{get, web, HttpResponse};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{Kind, WorklistItem};
use super::service;
use crate::auth::CurrentStaff;
use crate::http::{AppError, PageParams, Paginated, Problem, QueryParams, RequestContext};
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(read);
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct WorklistQuery {
    /// Only items of this kind.
    kind: Option<Kind>,
}

/// The caller's worklist, computed for today (Europe/Warsaw):
/// - `action_due`: open actions of an active IPD (of an open programme) whose responsible staff
///   member is the caller, due within 7 days or overdue;
/// - `review_due`: active IPDs (of open programmes) whose `next_review_on` lies within 7 days or
///   has passed;
/// - `follow_up_due`: follow-ups with status `due` whose `due_on` lies within 7 days or has
///   passed;
/// - `consent_expiring`: consents not withdrawn whose `expires_on` lies from today to today + 30
///   days;
/// - `programme_ending`: open programmes whose `planned_end_date` lies from today to today + 30
///   days;
/// - `attendance_missing`: scheduled sessions the caller facilitates, held from today − 30 days
///   up to today, with no attendance recorded (`participant_id` is `null`).
///
/// Every item about a participant concerns one whose care team includes the caller (so a
/// manager without a clinical role, who sits on no care team, sees only sessions they
/// facilitate); anonymised participants never appear. Sorted by `due_on`, then `kind` (by name),
/// then `resource_path`. Admins and auditors have no worklist (403). Each read is audited as one
/// `worklist.read` event with the filter and the number of items.
#[utoipa::path(
    operation_id = "get_worklist",
    tag = "worklist",
    security(("bearer" = [])),
    params(WorklistQuery, PageParams),
    responses(
        (status = 200, description = "One page of the caller's items", body = Paginated<WorklistItem>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role has no worklist (admins, auditors)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/worklist")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::WorklistRead).await?;
    let kind = params.get_with("kind", |raw| {
        Kind::parse(raw).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("expected one of {}", names.join(", "))
        })
    });
    let page = params.page();
    params.finish()?;
    let list = service::read(&state, &ctx, &caller, kind, page).await?;
    Ok(HttpResponse::Ok().json(list))
}
