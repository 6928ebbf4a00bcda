//! `/api/v1/retention/due`, `/api/v1/participants/{id}/access-log`, `…/export`, `…/anonymise`.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{AccessLogEntry, Anonymisation, AnonymisationDoc, ParticipantExport};
use super::retention::DueRow;
use super::service;
use crate::auth::CurrentStaff;
use crate::http::{
    csv, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams, RawJson,
    RequestContext,
};
use crate::participants::access;
use crate::participants::model::Participant;
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(retention_due)
        .service(access_log)
        .service(export)
        .service(anonymise);
}

/// Participants whose `retention_until` has passed and who are not anonymised (none has an
/// open programme), by last name, first name and id (managers). The read is audited as
/// `retention.list`.
#[utoipa::path(
    operation_id = "list_retention_due",
    tag = "data_protection",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page", body = Paginated<DueRow>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only managers read retention", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/retention/due")]
async fn retention_due(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::RetentionRead).await?;
    let page = params.page();
    params.finish()?;
    let (rows, total) = service::due(&state, &ctx, &caller, page).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(rows, page, total)))
}

const ACCESS_LOG_COLUMNS: &[&str] = &[
    "seq",
    "at",
    "actor_id",
    "actor_roles",
    "action",
    "outcome",
    "entity_type",
    "entity_id",
    "request_id",
    "ip",
];

/// Who read this participant's record and confidential data, when and through which request:
/// the audit events naming the participant whose action is a read (`participant.read`,
/// `participant.timeline_read`, `participant.export`, `participant.access_log`,
/// `consent.list`, `note.list`, `diagnosis.read`, `diagnosis.list`, `diagnosis.read_findings`,
/// `plan.read`, `plan.list`, `attendance.read`, `outcome.read`, `outcome.list`) and every
/// denied attempt naming them, newest first (managers, auditors). `Accept: text/csv` answers
/// every entry. The read is audited as `participant.access_log`.
#[utoipa::path(
    operation_id = "get_participant_access_log",
    tag = "data_protection",
    security(("bearer" = [])),
    params(("id" = String, Path), PageParams),
    responses(
        (status = 200, description = "One page, or every entry as CSV", content(
            (Paginated<AccessLogEntry> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no access logs (clinicians, admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/access-log")]
async fn access_log(
    req: HttpRequest,
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
        Action::ParticipantAccessLog,
        &id.to_string(),
    )
    .await?;
    let as_csv = csv::wants_csv(&req);
    let page = params.page();
    params.finish()?;
    let (entries, total) =
        service::read_access_log(&state, &ctx, &caller, access, (!as_csv).then_some(page)).await?;
    if as_csv {
        let body = csv::render_off_worker(ACCESS_LOG_COLUMNS, entries).await?;
        return Ok(csv::response(body, "access-log.csv"));
    }
    Ok(HttpResponse::Ok().json(Paginated::new(entries, page, total)))
}

/// Everything stored about the participant as one JSON document (GDPR art. 15 and 20;
/// managers): the record with every personal field, referrals, qualifications, consents, team
/// notes, programmes and follow-ups, diagnoses with amendments, plans, attendance, outcomes and
/// the access log. Psychologist notes and psychological/psychometric findings are left out and
/// listed under `withheld`, to be released by the psychologist. Audited as
/// `participant.export`.
#[utoipa::path(
    operation_id = "export_participant",
    tag = "data_protection",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The export", body = ParticipantExport),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only managers export", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/export")]
async fn export(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let access = access::authorize(
        &state,
        &ctx,
        &caller,
        Action::ParticipantExport,
        &id.to_string(),
    )
    .await?;
    let export = service::export(&state, &ctx, &caller, access).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"participant-{id}.json\""),
        ))
        .json(export))
}

/// Anonymise the participant irreversibly, in one transaction (managers): names become
/// `"anonymised"`; PESEL, identity document, contacts, address, legal representative and every
/// free text of the case become `null` (or `"anonymised"` where a text is required);
/// `birth_date` becomes 1 January of its year; sex, risk-group codes, dates, statuses,
/// attendance and outcome kinds stay. Stored idempotent replies of the participant's requests
/// are purged. 409 `participant_in_programme` while a programme is open; 409
/// `retention_not_ended` (with `retention_until`) before the retention period has ended unless
/// `override: true`; 409 `participant_anonymised` the second time. `If-Match` optional.
/// Audited as `participant.anonymise` (whether a reason was given and the override flag, never
/// the reason).
#[utoipa::path(
    operation_id = "anonymise_participant",
    tag = "data_protection",
    security(("bearer" = [])),
    params(
        ("id" = String, Path),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = AnonymisationDoc, description = "`{reason, override?}`"),
    responses(
        (status = 200, description = "The anonymised participant", body = Participant, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only managers anonymise", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_in_programme`, `retention_not_ended`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/anonymise")]
async fn anonymise(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let access = access::authorize(
        &state,
        &ctx,
        &caller,
        Action::ParticipantAnonymise,
        &id.to_string(),
    )
    .await?;
    let body: Anonymisation = body.parse()?;
    let p = service::anonymise(
        &state,
        &ctx,
        &caller,
        access.participant_id,
        if_match.optional(),
        body,
    )
    .await?;
    Ok(ok_with_etag(p.version, &p))
}
