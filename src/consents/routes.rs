//! `/api/v1/participants/{id}/consents` and `/api/v1/consents/{id}`: record, list, read,
//! withdraw. Consents are never edited or deleted.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{Consent, NewConsent, Purpose, Withdrawal};
use super::{repo, service};
use crate::auth::CurrentStaff;
use crate::http::{
    created, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams, RawJson,
    RequestContext,
};
use crate::participants::access::{self, CaseAccess};
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(withdraw);
}

/// The decision for `action` on the consent `id`'s participant (403, 404, audited denials).
async fn authorize_consent(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    id: &str,
) -> Result<CaseAccess, AppError> {
    let cid = id.to_owned();
    access::authorize_owned(
        state,
        ctx,
        caller,
        action,
        ("consent", id.to_owned()),
        move |conn| repo::participant_of(conn, &cid),
    )
    .await
}

/// A participant's consents, newest first (`-created_at`, then `id`), each with its computed
/// `state`. Care team, managers and auditors (auditors: `withdrawal_note` is `null`). Every read
/// is audited as one `consent.list` event naming the participant.
#[utoipa::path(
    operation_id = "list_consents",
    tag = "consents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Participant id"), PageParams),
    responses(
        (status = 200, description = "One page of consents", body = Paginated<Consent>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no consents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/consents")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let access =
        access::authorize(&state, &ctx, &caller, Action::ConsentRead, &id.to_string()).await?;
    let page = params.page();
    params.finish()?;
    let (items, total) = service::list(&state, &ctx, &caller, access, page).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(items, page, total)))
}

/// The body of `POST /participants/{id}/consents`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewConsentDoc {
    purpose: Purpose,
    /// Free text, at most 20,000 characters; required for purpose `other`.
    description: Option<String>,
    /// May lie in the future (the consent is then `pending`).
    granted_on: NaiveDate,
    /// On or after `granted_on`; `null` for a consent without end.
    expires_on: Option<NaiveDate>,
    /// The signed form's reference, at most 200 characters.
    document_reference: String,
}

/// Record a consent (care team and managers). Consents are never edited: a changed consent is
/// withdrawn and recorded anew. Audited as `consent.create` with the purpose.
#[utoipa::path(
    operation_id = "create_consent",
    tag = "consents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Participant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(NewConsentDoc)),
    responses(
        (status = 201, description = "Recorded", body = Consent, headers(("Location" = String, description = "`/api/v1/consents/{id}`"), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not record consents, or not for this participant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field: `/description` `required` for `other`, `/expires_on` `before_granted_on`, …", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/consents")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    access::authorize(&state, &ctx, &caller, Action::ConsentWrite, &id).await?;
    let new: NewConsent = body.parse()?;
    let consent = service::create(&state, &ctx, &caller, id, new).await?;
    Ok(created(
        format!("/api/v1/consents/{}", consent.id),
        consent.version,
        &consent,
    ))
}

/// One consent, for those who may read the participant's consents. Audited as `consent.list`
/// naming the consent.
#[utoipa::path(
    operation_id = "get_consent",
    tag = "consents",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Consent id")),
    responses(
        (status = 200, description = "The consent", body = Consent, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no consents", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/consents/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    let access = authorize_consent(&state, &ctx, &caller, Action::ConsentRead, &id).await?;
    let consent = service::read(&state, &ctx, &caller, access, id).await?;
    Ok(ok_with_etag(consent.version, &consent))
}

/// The body of `POST /consents/{id}/withdraw`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct WithdrawalDoc {
    /// On or after `granted_on` and not in the future (Europe/Warsaw). The consent is no longer
    /// valid from this day on.
    withdrawn_on: NaiveDate,
    /// Free text, at most 20,000 characters.
    note: Option<String>,
}

/// Withdraw a consent (care team and managers). `If-Match` is optional and checked when sent.
/// A pending consent cannot be withdrawn before its `granted_on` (that date would lie in the
/// future). Audited as `consent.withdraw` with the purpose.
#[utoipa::path(
    operation_id = "withdraw_consent",
    tag = "consents",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Consent id"),
        ("If-Match" = Option<String>, Header, description = "The consent's ETag; checked when sent"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(WithdrawalDoc)),
    responses(
        (status = 200, description = "Withdrawn; the consent with its new ETag", body = Consent, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not withdraw consents, or not for this participant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consent, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`consent_already_withdrawn`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`/withdrawn_on` `before_granted_on` or `future`, and other invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/consents/{id}/withdraw")]
async fn withdraw(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    authorize_consent(&state, &ctx, &caller, Action::ConsentWrite, &id).await?;
    let withdrawal: Withdrawal = body.parse()?;
    let consent =
        service::withdraw(&state, &ctx, &caller, id, if_match.optional(), withdrawal).await?;
    Ok(ok_with_etag(consent.version, &consent))
}
