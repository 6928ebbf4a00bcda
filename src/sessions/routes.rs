//! `/api/v1/sessions` and `/api/v1/participants/{id}/attendance` (api.md §8, §13.5).

use actix_web::{get, patch, post, put, web, HttpRequest, HttpResponse};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use super::attendance::{self, AttendanceEntry, ParticipantAttendance};
use super::model::{
    AttendanceBody, AttendancePage, Cancellation, NewSession, Session, SessionPatch, SessionStatus,
};
use super::{repo, service};
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::http::{
    created, csv, ok_with_etag, AppError, IfMatch, PageParams, Paginated, Problem, QueryParams,
    RawJson, RequestContext,
};
use crate::participants::access;
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(read)
        .service(update)
        .service(cancel)
        .service(record_attendance)
        .service(participant_attendance);
}

/// The body of `POST /sessions`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewSessionDoc {
    /// An active activity type; the session's `area` and `category` come from it.
    #[schema(example = "support_group")]
    activity_type_code: String,
    /// 1–200 characters.
    title: String,
    /// RFC 3339 with an offset.
    #[schema(example = "2026-03-02T10:00:00+01:00")]
    starts_at: String,
    /// 1–600.
    duration_minutes: i32,
    location: Option<String>,
    /// 1–20 active staff with a clinical or manager role.
    facilitator_ids: Vec<String>,
    /// Up to 200 participants the caller may see.
    participant_ids: Option<Vec<String>>,
}

/// One attendance row of `PUT /sessions/{id}/attendance`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct AttendanceRowDoc {
    participant_id: String,
    status: super::model::AttendanceStatus,
    /// `present`: defaults to the session's duration; `late`: required; both at most the
    /// duration. `excused`/`absent`: none (or 0).
    minutes: Option<i32>,
    note: Option<String>,
}

/// Plan a group or individual session. Managers and every clinical role; the creator need not
/// facilitate it. Audited as `session.create`.
#[utoipa::path(
    operation_id = "create_session",
    tag = "sessions",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h")),
    request_body(content = inline(NewSessionDoc)),
    responses(
        (status = 201, description = "The session", body = Session, headers(("Location" = String), ("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role plans no sessions (admins, auditors)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field (`unknown` activity type or participant, `not_facilitator`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sessions")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    service::require(&state, &ctx, &caller, Action::SessionCreate).await?;
    let new: NewSession = body.parse()?;
    let s = service::create(&state, &ctx, &caller, new).await?;
    Ok(created(format!("/api/v1/sessions/{}", s.id), s.version, &s))
}

fn id_param(params: &mut QueryParams, name: &str, what: &str) -> Option<String> {
    params.get_with(name, |s| {
        uuid::Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| format!("expected {what}"))
    })
}

/// Sessions by `starts_at` (then `id`). `from`/`to` are dates, inclusive, compared with the
/// session's day in Europe/Warsaw. Managers, auditors and every clinical role; participants the
/// caller may not see are left out of `participant_ids` and counted in `hidden_attendees`; a
/// `participant_id` the caller may not see filters to nothing. Audited as `session.list`.
#[utoipa::path(
    operation_id = "list_sessions",
    tag = "sessions",
    security(("bearer" = [])),
    params(
        ("from" = Option<NaiveDate>, Query, description = "First day, inclusive"),
        ("to" = Option<NaiveDate>, Query, description = "Last day, inclusive"),
        ("activity_type" = Option<String>, Query, description = "An activity type code"),
        ("facilitator_id" = Option<String>, Query, description = "Sessions this staff member facilitates"),
        ("participant_id" = Option<String>, Query, description = "Sessions this participant is invited to or has attendance at"),
        ("status" = Option<SessionStatus>, Query, description = "Only scheduled or only cancelled sessions"),
        PageParams,
    ),
    responses(
        (status = 200, description = "One page", body = Paginated<Session>),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no sessions (admins)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sessions")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    service::require(&state, &ctx, &caller, Action::SessionList).await?;
    let filter = repo::Filter {
        from: params.date("from"),
        to: params.date("to"),
        activity_type: params.get_with("activity_type", |s| {
            if s.is_empty() || s.len() > 50 {
                Err("expected an activity type code".into())
            } else {
                Ok(s.to_owned())
            }
        }),
        facilitator_id: id_param(&mut params, "facilitator_id", "a staff id"),
        participant_id: id_param(&mut params, "participant_id", "a participant id"),
        status: params.get("status", "scheduled or cancelled"),
    };
    let page = params.page();
    params.finish()?;
    let sessions = service::list(&state, &ctx, &caller, filter, page).await?;
    Ok(HttpResponse::Ok().json(sessions))
}

/// One session with its attendance (rows of participants the caller may see; the others
/// counted in `hidden_attendees`). Audited as `session.read`.
#[utoipa::path(
    operation_id = "get_session",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session", body = Session, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role sees no sessions (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/sessions/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize(&state, &ctx, &caller, Action::SessionList, &id).await?;
    let s = service::read(&state, &ctx, &caller, id).await?;
    Ok(ok_with_etag(s.version, &s))
}

/// Edit a session (its facilitators and managers): any of `activity_type_code`, `title`,
/// `starts_at`, `duration_minutes`, `location`, `facilitator_ids`, `participant_ids` (lists
/// replace; invitees the caller cannot see stay invited). Once attendance is recorded the type,
/// time and length stay (409 `attendance_recorded`); a cancelled session → 409
/// `session_cancelled`. `If-Match` required. Audited as `session.update`.
#[utoipa::path(
    operation_id = "update_session",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id"), ("If-Match" = String, Header)),
    request_body(content = Object, description = "Any of the fields of `POST /sessions`"),
    responses(
        (status = 200, description = "The session", body = Session, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a facilitator of this session (auditors, admins: always)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`session_cancelled`, `attendance_recorded`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/sessions/{id}")]
async fn update(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize(&state, &ctx, &caller, Action::SessionEdit, &id).await?;
    let patch: SessionPatch = body.parse()?;
    let expected = if_match.required()?;
    let s = service::update(&state, &ctx, &caller, id, expected, patch).await?;
    Ok(ok_with_etag(s.version, &s))
}

/// Cancel a session `{reason}` (its facilitators and managers). Cancelled sessions refuse
/// attendance; a session with attendance recorded cannot be cancelled (409
/// `attendance_recorded`). `If-Match` optional. Audited as `session.cancel`.
#[utoipa::path(
    operation_id = "cancel_session",
    tag = "sessions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The session's id"),
        ("If-Match" = Option<String>, Header),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = Object, description = "`{reason}`, 1–20,000 characters"),
    responses(
        (status = 200, description = "The cancelled session", body = Session, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a facilitator of this session (auditors, admins: always)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`session_cancelled`, `attendance_recorded`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/sessions/{id}/cancel")]
async fn cancel(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize(&state, &ctx, &caller, Action::SessionEdit, &id).await?;
    let reason: Cancellation = body.parse()?;
    let s = service::cancel(&state, &ctx, &caller, id, if_match.optional(), reason).await?;
    Ok(ok_with_etag(s.version, &s))
}

/// Replace the session's attendance (its facilitators and managers), all or nothing: up to 200
/// rows; every participant visible to the caller, not anonymised, with a programme open on the
/// session's day, at most once; `minutes` ≤ the duration (default: the duration for `present`;
/// required for `late`). One 422 lists every bad row by index (`/3/minutes`). Rows of
/// participants the caller cannot see stay as they are. The same body again changes nothing
/// (same version). A cancelled session → 409 `session_cancelled`; a session on a later day →
/// 409 `session_not_started`. `If-Match` (the session's ETag) required. Each added, changed or
/// removed row is audited as `attendance.record` naming its participant.
#[utoipa::path(
    operation_id = "record_attendance",
    tag = "sessions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id"), ("If-Match" = String, Header, description = "The session's ETag")),
    request_body(content = Vec<AttendanceRowDoc>),
    responses(
        (status = 200, description = "The session's attendance", body = AttendancePage, headers(("ETag" = String))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a facilitator of this session (auditors, admins: always)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`session_cancelled`, `session_not_started`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every bad row by index", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/sessions/{id}/attendance")]
async fn record_attendance(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    if_match: IfMatch,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    service::authorize(&state, &ctx, &caller, Action::AttendanceRecord, &id).await?;
    let rows: AttendanceBody = body.parse()?;
    let expected = if_match.required()?;
    let recorded = service::record_attendance(&state, &ctx, &caller, id, expected, rows).await?;
    Ok(ok_with_etag(recorded.version, &recorded.page))
}

const ATTENDANCE_COLUMNS: &[&str] = &[
    "session_id",
    "starts_at",
    "starts_on",
    "activity_type_code",
    "area",
    "category",
    "status",
    "minutes",
];

/// The participant's attendance, session by session (by `starts_at`), with `totals` (minutes
/// by area and category, sessions by status) and `months` (per calendar month: days present,
/// excused and unexcused-absent, each day counted once: attended beats absent beats excused;
/// the basis of a CIS integration benefit) over every row in `from`…`to` (session days,
/// inclusive). The care team, managers and auditors. CSV (`Accept: text/csv`): every row,
/// unpaginated. Audited as `attendance.read`.
#[utoipa::path(
    operation_id = "participant_attendance",
    tag = "sessions",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "The participant's id"),
        ("from" = Option<NaiveDate>, Query, description = "First day, inclusive"),
        ("to" = Option<NaiveDate>, Query, description = "Last day, inclusive"),
        PageParams,
    ),
    responses(
        (status = 200, description = "One page with totals, or every row as CSV", content(
            (ParticipantAttendance = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no attendance (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/attendance")]
async fn participant_attendance(
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
        Action::AttendanceRead,
        &id.to_string(),
    )
    .await?;
    let (from, to) = (params.date("from"), params.date("to"));
    let page = params.page();
    params.finish()?;
    let pid = access.participant_id.clone();
    let entries: Vec<AttendanceEntry> = state
        .db
        .read(move |conn| {
            Ok(repo::attendance_of_participant(conn, &pid, from, to)?
                .into_iter()
                .map(AttendanceEntry::from)
                .collect())
        })
        .await?;
    audit::record_alone(
        &state,
        &ctx,
        NewEvent::new(
            AuditAction::AttendanceRead,
            AuditOutcome::Allowed,
            Some(caller.actor()),
        )
        .participant(access.participant_id.clone())
        .entity("participant", access.participant_id.clone())
        .details(json!({"from": from, "to": to, "rows": entries.len()})),
    )
    .await?;
    if csv::wants_csv(&req) {
        let body = csv::render_off_worker(ATTENDANCE_COLUMNS, entries).await?;
        return Ok(csv::response(body, "attendance.csv"));
    }
    let totals = attendance::totals(&entries);
    let months = attendance::months(&entries);
    let Paginated {
        items,
        page,
        per_page,
        total,
    } = Paginated::cut(entries, page);
    Ok(HttpResponse::Ok().json(ParticipantAttendance {
        items,
        page,
        per_page,
        total,
        totals,
        months,
    }))
}
