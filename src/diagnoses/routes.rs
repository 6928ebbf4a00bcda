//! `/api/v1/participants/{id}/diagnoses` and `/api/v1/diagnoses/{id}`: record, edit, finalize,
//! amend and read diagnoses (api.md §6, §13.5).

use actix_web::{get, patch, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{
    Diagnosis, DiagnosisKind, DiagnosisPatch, DiagnosisStatus, NewAmendment, NewDiagnosis,
};
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
        .service(update)
        .service(finalize)
        .service(amend);
}

/// The body of `POST /participants/{id}/diagnoses`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewDiagnosisDoc {
    kind: DiagnosisKind,
    /// Not in the future (422 `future`) nor before the participant's first referral (422
    /// `before_referral`).
    performed_on: chrono::NaiveDate,
    /// Instrument and version, up to 200 characters.
    #[schema(example = "Holland SDS (PL)")]
    instrument: Option<String>,
    /// Free text, 1–20,000 characters.
    summary: String,
    findings: Option<String>,
    recommendations: Option<String>,
    /// Required for `holland` (each of R, I, A, S, E, C an integer 0–100; 422 names each
    /// letter); any other kind → 422 `not_allowed`.
    scores: Option<super::model::HollandScores>,
}

/// The participant's diagnoses, newest first (`-created_at`, then `id`); filters `kind` and
/// `status`. Each item is shown at the caller's disclosure (`restricted: true` with restricted
/// fields `null`). Managers, auditors (metadata only) and the care team read them; admins get
/// 403. Audited as one `diagnosis.list` event plus one `diagnosis.read_findings` event per
/// psychological or psychometric diagnosis whose findings the page discloses.
#[utoipa::path(
    operation_id = "list_diagnoses",
    tag = "diagnoses",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("kind" = Option<DiagnosisKind>, Query, description = "Only this kind"),
        ("status" = Option<DiagnosisStatus>, Query, description = "Only drafts or only final diagnoses"),
        PageParams,
    ),
    responses(
        (status = 200, description = "One page", body = Paginated<Diagnosis>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no diagnoses (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/diagnoses")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let access = access::authorize(
        &state,
        &ctx,
        &caller,
        Action::DiagnosisRead,
        &id.to_string(),
    )
    .await?;
    let filter = repo::Filter {
        kind: params
            .get::<DiagnosisKind>("kind", "a diagnosis kind")
            .map(|k| k.as_str().to_owned()),
        status: params
            .get::<DiagnosisStatus>("status", "draft or final")
            .map(|s| s.as_str().to_owned()),
    };
    let page = params.page();
    params.finish()?;
    let items = service::list(&state, &ctx, &caller, access, filter, page).await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Record a diagnosis as a `draft`. The caller must be on the care team and hold a role that
/// writes this kind (api.md §6: `general_survey` psychologist, social worker, counsellor;
/// `interests_questionnaire` and `holland` counsellor, psychologist; `psychometric` and
/// `psychological` psychologist; `social` social worker; `vocational` counsellor) — 403
/// otherwise, and always for managers, auditors and admins. The server computes the Holland
/// code, tie and alternatives. Audited as `diagnosis.create` with the kind, never the text.
#[utoipa::path(
    operation_id = "create_diagnosis",
    tag = "diagnoses",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(NewDiagnosisDoc)),
    responses(
        (status = 201, description = "Recorded as a draft", body = Diagnosis, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the care team, or the role does not write this kind", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/diagnoses")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    access::authorize(&state, &ctx, &caller, Action::DiagnosisWrite, &id).await?;
    let new: NewDiagnosis = body.parse()?;
    service::require_writer(&state, &ctx, &caller, new.kind, ("participant", id.clone())).await?;
    let d = service::create(&state, &ctx, &caller, id, new).await?;
    Ok(created(
        format!("/api/v1/diagnoses/{}", d.id),
        d.version,
        &d,
    ))
}

/// One diagnosis with its amendments, at the caller's disclosure. Audited as
/// `diagnosis.read_findings` when it discloses psychological or psychometric findings (a
/// psychologist on the care team), else as `diagnosis.read`.
#[utoipa::path(
    operation_id = "get_diagnosis",
    tag = "diagnoses",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The diagnosis's id")),
    responses(
        (status = 200, description = "The diagnosis", body = Diagnosis, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no diagnoses (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such diagnosis, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/diagnoses/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    let access =
        service::authorize_owned(&state, &ctx, &caller, Action::DiagnosisRead, &id).await?;
    let d = service::read(&state, &ctx, &caller, access, id).await?;
    Ok(ok_with_etag(d.version, &d))
}

/// The three steps every write to an existing diagnosis takes before its own work: the policy
/// (403 for a role that never writes diagnoses, whatever the id; 404 when the participant is
/// not visible; 403 when not on the care team), then the kind (403 when the caller's roles do
/// not write it). Denials are audited.
async fn authorize_write(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: &str,
) -> Result<(), AppError> {
    service::authorize_owned(state, ctx, caller, Action::DiagnosisWrite, id).await?;
    let kind = service::kind_of(state, id.to_owned()).await?;
    service::require_writer(state, ctx, caller, kind, ("diagnosis", id.to_owned())).await
}

/// Edit a draft: merge semantics over `performed_on`, `instrument`, `summary`, `findings`,
/// `recommendations`, `scores` (Holland: all six). `kind` cannot change (422 `immutable`).
/// `If-Match` required. A final diagnosis → 409 `diagnosis_final`.
#[utoipa::path(
    operation_id = "update_diagnosis",
    tag = "diagnoses",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The diagnosis's id"), ("If-Match" = String, Header)),
    request_body(content = Object, description = "Any of `{performed_on, instrument, summary, findings, recommendations, scores}`"),
    responses(
        (status = 200, description = "The edited draft", body = Diagnosis, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the care team, or the role does not write this kind", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such diagnosis, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`diagnosis_final`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/diagnoses/{id}")]
async fn update(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    authorize_write(&state, &ctx, &caller, &id).await?;
    let patch: DiagnosisPatch = body.parse()?;
    let expected = if_match.required()?;
    let d = service::update(&state, &ctx, &caller, id, expected, patch).await?;
    Ok(ok_with_etag(d.version, &d))
}

/// Finalize a draft: from now on it is immutable and only amended. A team member who writes
/// this kind; `If-Match` optional. Already final → 409 `diagnosis_final`.
#[utoipa::path(
    operation_id = "finalize_diagnosis",
    tag = "diagnoses",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The diagnosis's id"),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    responses(
        (status = 200, description = "The final diagnosis", body = Diagnosis, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the care team, or the role does not write this kind (auditors: always)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such diagnosis, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`diagnosis_final`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/diagnoses/{id}/finalize")]
async fn finalize(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    authorize_write(&state, &ctx, &caller, &id).await?;
    let d = service::finalize(&state, &ctx, &caller, id, if_match.optional()).await?;
    Ok(ok_with_etag(d.version, &d))
}

/// The body of `POST /diagnoses/{id}/amendments`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewAmendmentDoc {
    /// Why the final diagnosis is amended, up to 200 characters.
    reason: String,
    /// The amendment, 1–20,000 characters.
    text: String,
}

/// Amend a final diagnosis (a team member who writes this kind). Answers `201` with the
/// diagnosis, its amendments nested, and its new `ETag`; `Location` is the diagnosis. A draft
/// → 409 `diagnosis_draft`. Audited as `diagnosis.amend`.
#[utoipa::path(
    operation_id = "amend_diagnosis",
    tag = "diagnoses",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The diagnosis's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(NewAmendmentDoc)),
    responses(
        (status = 201, description = "Amended", body = Diagnosis, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the care team, or the role does not write this kind (auditors: always)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such diagnosis, or its participant is not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`diagnosis_draft`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/diagnoses/{id}/amendments")]
async fn amend(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    authorize_write(&state, &ctx, &caller, &id).await?;
    let new: NewAmendment = body.parse()?;
    let d = service::amend(&state, &ctx, &caller, id, new).await?;
    Ok(created(
        format!("/api/v1/diagnoses/{}", d.id),
        d.version,
        &d,
    ))
}
