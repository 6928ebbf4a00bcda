//! `/api/v1/participants/{id}/notes` and `/api/v1/notes/{id}`: append and read case notes.
//! Notes are append-only: there is no PATCH and no DELETE.

use actix_web::{get, post, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{Confidentiality, NewNote, Note, NotePage};
use super::{repo, service};
use crate::auth::CurrentStaff;
use crate::http::{AppError, PageParams, Problem, QueryParams, RawJson, RequestContext};
use crate::participants::access;
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list).service(create).service(read);
}

/// A participant's notes, newest first (`-created_at`, then `id`): care team and managers;
/// auditors and admins never read notes (403). Psychologist notes are returned only to
/// psychologists on the care team; for everyone else they are omitted and counted in
/// `withheld` (`total` counts only what the caller may see). Every read is audited as one
/// `note.list` event with the number returned and withheld.
#[utoipa::path(
    operation_id = "list_notes",
    tag = "notes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Participant id"), PageParams),
    responses(
        (status = 200, description = "One page of the notes the caller may see", body = NotePage),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no notes (admins, auditors)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/participants/{id}/notes")]
async fn list(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let access =
        access::authorize(&state, &ctx, &caller, Action::NoteRead, &id.to_string()).await?;
    let page = params.page();
    params.finish()?;
    let notes = service::list(&state, &ctx, &caller, access, page).await?;
    Ok(HttpResponse::Ok().json(notes))
}

/// The body of `POST /participants/{id}/notes`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct NewNoteDoc {
    /// Free text, 1–20,000 characters; newline and tab allowed.
    body: String,
    /// Required for a new note. A correction keeps the corrected note's confidentiality: omit
    /// it, or send that same value (another value → 422 `correction_mismatch`).
    confidentiality: Option<Confidentiality>,
    /// Makes this note a correction of that one: a note of the same participant that the caller
    /// may see and that has not been corrected yet (422 `unknown` on `/corrects_note_id`
    /// otherwise; already corrected → 409 `note_already_corrected`).
    corrects_note_id: Option<uuid::Uuid>,
}

/// Append a note (care team and managers). `psychologist` notes are written only by
/// psychologists on the care team (403 for anyone else). Audited as `note.create` with the
/// confidentiality, never the body. Notes carry no version, so the answer has no `ETag`.
#[utoipa::path(
    operation_id = "create_note",
    tag = "notes",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Participant id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for 24 h"),
    ),
    request_body(content = inline(NewNoteDoc)),
    responses(
        (status = 201, description = "Appended", body = Note, headers(("Location" = String, description = "`/api/v1/notes/{id}`"))),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role writes no notes, or no psychologist notes for this participant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such participant, or not on your caseload", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`note_already_corrected`, `participant_anonymised`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every invalid field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/participants/{id}/notes")]
async fn create(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
    body: RawJson,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    access::authorize(&state, &ctx, &caller, Action::NoteWrite, &id).await?;
    let new: NewNote = body.parse()?;
    let note = service::create(&state, &ctx, &caller, id, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/notes/{}", note.id),
        ))
        .json(note))
}

/// One note, for those who may read the participant's notes; a psychologist note is 404 for
/// anyone but the psychologists on the care team. Audited as `note.list` naming the note.
#[utoipa::path(
    operation_id = "get_note",
    tag = "notes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Note id")),
    responses(
        (status = 200, description = "The note", body = Note),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no notes (admins, auditors)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such note, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notes/{id}")]
async fn read(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.to_string();
    let nid = id.clone();
    let access = access::authorize_owned(
        &state,
        &ctx,
        &caller,
        Action::NoteRead,
        ("note", id.clone()),
        move |conn| repo::participant_of(conn, &nid),
    )
    .await?;
    let note = service::read(&state, &ctx, &caller, access, id).await?;
    Ok(HttpResponse::Ok().json(note))
}
