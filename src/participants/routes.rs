//! `/api/v1/participants`: register, list and search, read, update personal data.

use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access;
use super::lifecycle;
use super::model::{
    NewParticipant, Participant, ParticipantListRow, ParticipantPatch, RiskGroupEntry, Status,
};
use super::repo::{ListFilter, Sort};
use super::service;
use crate::auth::CurrentStaff;
use crate::http::{
    created, csv, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams,
    RawJson, RequestContext,
};
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(register)
        .service(list)
        .service(read)
        .service(update)
        .service(put_risk_groups)
        .service(qualify)
        .service(refer)
        .service(get_care_team)
        .service(put_care_team)
        .service(reassign)
        .service(timeline);
}

/// Register a referred participant. The registering clinician joins the care team (as lead when
/// no lead is named); a manager without a clinical role names a team with a lead. Duplicate
/// PESEL → 409 `duplicate_pesel` (`existing_participant_id` only if the caller may see it).
#[utoipa::path(
    operation_id = "create_participant",
    tag = "participants",
    security(("bearer" = [])),
    request_body(content = Object, description = "See api.md §5: names, `pesel` or `id_document` + `birth_date` (not in the future) + `sex`, contact, `referral` (required; `referred_on` not in the future), `risk_groups` (at most 20; `evidence_date` not in the future), `care_team` (at most 30). One 422 names every field the body alone shows to be wrong; rules that need stored data (active risk-group codes, clinicians) follow in a second 422."),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h")),
    responses(
        (status = 201, description = "Registered with status `referred`", body = Participant, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not register participants", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_pesel`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field, with JSON Pointers", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants")]
async fn register(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    caller
        .require(&state, &ctx, Action::ParticipantCreate)
        .await?;
    let new: NewParticipant = body.parse()?;
    let p = service::register(&state, &ctx, &caller, new).await?;
    Ok(created(
        format!("/api/v1/participants/{}", p.id),
        p.version,
        &p,
    ))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListQuery {
    /// All digits: a PESEL prefix. Otherwise a prefix of the first name, the last name,
    /// "first last" or "last first", case- and diacritic-insensitive.
    q: Option<String>,
    status: Option<Status>,
    /// A risk-group code.
    risk_group: Option<String>,
    /// Participants on this staff member's care teams.
    staff_id: Option<String>,
    programme_active: Option<bool>,
    /// Referred on or after this date.
    referred_from: Option<NaiveDate>,
    /// Referred on or before this date.
    referred_to: Option<NaiveDate>,
    /// `last_name,first_name` (default) or `-created_at`.
    sort: Option<String>,
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "status",
    "risk_groups",
    "lead_staff_id",
    "current_programme.id",
    "current_programme.start_date",
    "current_programme.planned_end_date",
    "version",
];

/// Participants the caller may see (managers and auditors: all; clinicians: their caseload),
/// as summaries without contact details. Each read of the list (or its CSV) is audited as one
/// `participant.list` event.
#[utoipa::path(
    operation_id = "list_participants",
    tag = "participants",
    security(("bearer" = [])),
    params(ListQuery, PageParams),
    responses(
        (status = 200, description = "One page, or every row as CSV", content(
            (Paginated<ParticipantListRow> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no participants", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants")]
async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let caseload = match access::caseload(&caller, Action::ParticipantList) {
        Ok(c) => c,
        Err(e) => {
            caller
                .record_denial(&state, &ctx, Action::ParticipantList, None)
                .await;
            return Err(e);
        }
    };
    let as_csv = csv::wants_csv(&req);
    let page = params.page();
    let mut filter = ListFilter::default();
    let mut used: Vec<&'static str> = Vec::new();
    if let Some(q) = params.get_with("q", |s| {
        let s = s.trim();
        if s.is_empty() || s.chars().count() > 100 {
            Err("expected 1–100 characters".into())
        } else {
            Ok(s.to_owned())
        }
    }) {
        if q.bytes().all(|b| b.is_ascii_digit()) {
            filter.pesel_prefix = Some(q);
        } else {
            filter.name_prefix = Some(crate::text::fold(&q));
        }
        used.push("q");
    }
    filter.status = params.get("status", "a participant status");
    filter.risk_group = params.get("risk_group", "a risk-group code");
    filter.staff_id = params.get_with("staff_id", |s| {
        uuid::Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| "expected a staff id".into())
    });
    filter.programme_active = params.get("programme_active", "true or false");
    filter.referred_from = params.get("referred_from", "a date YYYY-MM-DD");
    filter.referred_to = params.get("referred_to", "a date YYYY-MM-DD");
    let sort = params
        .get_with("sort", |s| match s {
            "last_name,first_name" => Ok(Sort::Name),
            "-created_at" => Ok(Sort::NewestFirst),
            _ => Err("expected last_name,first_name or -created_at".into()),
        })
        .unwrap_or(Sort::Name);
    params.finish()?;
    for (set, name) in [
        (filter.status.is_some(), "status"),
        (filter.risk_group.is_some(), "risk_group"),
        (filter.staff_id.is_some(), "staff_id"),
        (filter.programme_active.is_some(), "programme_active"),
        (filter.referred_from.is_some(), "referred_from"),
        (filter.referred_to.is_some(), "referred_to"),
    ] {
        if set {
            used.push(name);
        }
    }
    let request = service::ListRequest {
        caseload,
        filter,
        filters_used: used,
        sort,
        page: (!as_csv).then_some(page),
    };
    let (rows, total) = service::list(&state, &ctx, &caller, request).await?;
    if as_csv {
        // Every row of the unit: rendered on the blocking pool, never on an async worker.
        let body = csv::render_off_worker(CSV_COLUMNS, rows).await?;
        return Ok(csv::response(body, "participants.csv"));
    }
    Ok(HttpResponse::Ok().json(Paginated::new(rows, page, total)))
}

/// A participant's full record (auditors: without contact details). Every read is audited.
#[utoipa::path(
    operation_id = "get_participant",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The record", body = Participant, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no participants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let p = service::read(&state, &ctx, &caller, &id.to_string()).await?;
    Ok(ok_with_etag(p.version, &p))
}

/// Change personal fields (JSON merge semantics; `null` clears). `If-Match` required. A new PESEL
/// is checked for duplicates and sets `birth_date` and `sex`.
#[utoipa::path(
    operation_id = "update_participant",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body(content = Object, description = "Any personal field of the participant"),
    responses(
        (status = 200, description = "Updated", body = Participant, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change participants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`duplicate_pesel`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/participants/{id}")]
async fn update(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    access::authorize(&state, &ctx, &caller, Action::ParticipantUpdate, &id).await?;
    let patch: ParticipantPatch = body.parse()?;
    let expected = if_match.required()?;
    let p = service::update(&state, &ctx, &caller, id, expected, patch).await?;
    Ok(ok_with_etag(p.version, &p))
}

/// Answers a sub-collection as the pagination envelope, with the participant's new ETag.
fn collection<T: serde::Serialize>(items: Vec<T>, version: i64) -> HttpResponse {
    let total = items.len() as i64;
    let page = crate::http::PageRequest {
        page: 1,
        per_page: (total.max(1)) as u32,
    };
    ok_with_etag(version, &Paginated::new(items, page, total))
}

/// Replace the participant's risk groups (every entry needs evidence; new entries must be active
/// groups, entries already held may stay after their group was retired). `If-Match` takes the
/// participant's ETag and the answer carries its new one.
#[utoipa::path(
    operation_id = "replace_participant_risk_groups",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The participant's ETag")),
    request_body(content = Vec<Object>, description = "`[{code, evidence, evidence_date?}]`, at most 20 entries; `evidence_date` not in the future"),
    responses(
        (status = 200, description = "The new list", body = Paginated<RiskGroupEntry>, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change participants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid entries", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/participants/{id}/risk-groups")]
async fn put_risk_groups(
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
        Action::ParticipantUpdate,
        &id.to_string(),
    )
    .await?;
    let body: lifecycle::RiskGroupsBody = body.parse()?;
    let expected = if_match.required()?;
    let (items, version) =
        lifecycle::replace_risk_groups(&state, &ctx, &caller, access, expected, body).await?;
    Ok(collection(items, version))
}

/// Decide on a referred participant: `qualified` (needs an active risk group with evidence,
/// else 409 `risk_group_missing`) or `rejected` (needs `reason`). Only from `referred`
/// (409 `participant_not_referred`). `If-Match` optional.
#[utoipa::path(
    operation_id = "qualify_participant",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = Object, description = "`{decision: qualified|rejected, decided_on, reason}`"),
    responses(
        (status = 200, description = "The participant after the decision", body = Participant, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the team's lead or a manager decides", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_not_referred`, `risk_group_missing`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/qualification")]
async fn qualify(
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
        Action::ParticipantQualify,
        &id.to_string(),
    )
    .await?;
    let body: lifecycle::QualificationBody = body.parse()?;
    let p = lifecycle::qualify(&state, &ctx, &caller, access, if_match.optional(), body).await?;
    Ok(ok_with_etag(p.version, &p))
}

/// Refer an exited or rejected participant again (`{source, reference, referred_on}`): the
/// status returns to `referred` and the earlier referral stays in the history.
#[utoipa::path(
    operation_id = "refer_participant_again",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content = Object, description = "`{source, reference?, referred_on}`"),
    responses(
        (status = 201, description = "Referred again", body = Participant, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change participants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`participant_not_closed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/referrals")]
async fn refer(
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
        Action::ParticipantUpdate,
        &id.to_string(),
    )
    .await?;
    let body: lifecycle::ReferralBody = body.parse()?;
    let p = lifecycle::refer_again(&state, &ctx, &caller, access, body).await?;
    Ok(created(
        format!("/api/v1/participants/{}", p.id),
        p.version,
        &p,
    ))
}

/// The care team, lead first.
#[utoipa::path(
    operation_id = "get_care_team",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The team", body = Paginated<lifecycle::CareTeamMember>, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no care teams", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/care-team")]
async fn get_care_team(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let access =
        access::authorize(&state, &ctx, &caller, Action::CareTeamRead, &id.to_string()).await?;
    let pid = access.participant_id.clone();
    let team = state
        .db
        .read(move |conn| Ok(lifecycle::team_with_names(conn, &pid)?))
        .await?;
    Ok(collection(team, access.version))
}

/// Replace the care team: exactly one lead; new members active staff with a clinical role
/// (members already on the team may stay). A lead leaves only by naming another lead here.
#[utoipa::path(
    operation_id = "replace_care_team",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The participant's ETag")),
    request_body(content = Vec<Object>, description = "`[{staff_id, lead}]`, at most 30 entries"),
    responses(
        (status = 200, description = "The new team", body = Paginated<lifecycle::CareTeamMember>, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only the team's lead or a manager assigns the team", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid members or not exactly one lead", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/participants/{id}/care-team")]
async fn put_care_team(
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
        Action::CareTeamAssign,
        &id.to_string(),
    )
    .await?;
    let body: lifecycle::CareTeamBody = body.parse()?;
    let expected = if_match.required()?;
    let (team, version) =
        lifecycle::replace_care_team(&state, &ctx, &caller, access, expected, body).await?;
    Ok(collection(team, version))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Reassigned {
    /// Participants whose care team changed.
    pub moved: i64,
}

struct ReassignBody {
    to_staff_id: String,
}

#[derive(serde::Deserialize, validator::Validate)]
struct ReassignWire {
    #[validate(required)]
    to_staff_id: Option<uuid::Uuid>,
}

impl crate::http::rules::RequestBody for ReassignBody {
    type Wire = ReassignWire;
    fn from_wire(w: ReassignWire) -> Option<Self> {
        Some(ReassignBody {
            to_staff_id: w.to_staff_id?.to_string(),
        })
    }
}

/// Move every care-team membership of a leaving staff member to `to_staff_id` (managers), in
/// one transaction: memberships merge where the target is already on a team, the lead role
/// passes to the target where the source held it, one audit event per participant.
#[utoipa::path(
    operation_id = "reassign_caseload",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The staff member whose caseload moves")),
    request_body(content = Object, description = "`{to_staff_id}`"),
    responses(
        (status = 200, description = "Moved", body = Reassigned),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only managers reassign caseloads", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such staff member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The target is not an active clinician", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/{id}/reassign-caseload")]
async fn reassign(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    caller
        .require(&state, &ctx, Action::StaffReassignCaseload)
        .await?;
    let body: ReassignBody = body.parse()?;
    let moved =
        lifecycle::reassign_caseload(&state, &ctx, &caller, id.to_string(), body.to_staff_id)
            .await?;
    Ok(HttpResponse::Ok().json(Reassigned { moved }))
}

/// Everything that happened to the participant, newest first, merged across resources and
/// derived from the audit log. Entries about notes appear only to those who may read such notes
/// (psychologist-only notes: the team's psychologists). The read is audited.
#[utoipa::path(
    operation_id = "get_participant_timeline",
    tag = "participants",
    security(("bearer" = [])),
    params(("id" = String, Path), PageParams),
    responses(
        (status = 200, description = "One page of entries", body = Paginated<super::timeline::TimelineEntry>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no participants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/timeline")]
async fn timeline(
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
        Action::ParticipantRead,
        &id.to_string(),
    )
    .await?;
    let page = params.page();
    params.finish()?;
    let allowed = super::timeline::Confidential {
        team_notes: access::may(&caller, Action::NoteRead, &access),
        psychologist_notes: access::may(&caller, Action::PsychologistNoteRead, &access),
        diagnoses: access::may(&caller, Action::DiagnosisRead, &access),
        plans: access::may(&caller, Action::PlanRead, &access),
    };
    let pid = access.participant_id.clone();
    let (entries, total) = state
        .db
        .read(move |conn| Ok(super::timeline::page(conn, &pid, allowed, page)?))
        .await?;
    let event = crate::audit::NewEvent::new(
        crate::audit::AuditAction::ParticipantTimelineRead,
        crate::audit::AuditOutcome::Allowed,
        Some(caller.actor()),
    )
    .entity("participant", access.participant_id.clone())
    .participant(access.participant_id.clone());
    crate::audit::record_alone(&state, &ctx, event).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(entries, page, total)))
}
