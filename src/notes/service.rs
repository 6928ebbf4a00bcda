//! Case-note rules: append-only notes, psychologist notes withheld from everyone but the
//! psychologists on the care team, corrections as new notes. Audit events never carry a body.

use serde_json::json;

use super::model::{Confidentiality, NewNote, Note, NotePage, NoteRow};
use super::repo;
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::http::{stored_now, AppError, PageRequest, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::participants::service::field_error;
use crate::policy::Action;
use crate::state::AppState;

fn event(action: AuditAction, caller: &CurrentStaff, participant_id: &str) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .participant(participant_id.to_owned())
}

/// May the caller see the participant's psychologist notes (a psychologist on the care team)?
fn sees_psychologist_notes(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    participant_id: &str,
) -> Result<bool, AppError> {
    match access::check(conn, caller, Action::PsychologistNoteRead, participant_id) {
        Ok(_) => Ok(true),
        Err(AppError::Forbidden(_) | AppError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Each row with the note that corrects it, if any (one query for the whole page).
pub(crate) fn with_corrections(
    conn: &mut AnyConnection,
    rows: Vec<NoteRow>,
) -> Result<Vec<Note>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let corrections = repo::corrections_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let by = corrections
                .iter()
                .find(|(corrected, _)| *corrected == row.id)
                .map(|(_, by)| by.clone());
            Note::from_row(row, by)
        })
        .collect())
}

/// One page of the notes the caller may see, newest first, with the number withheld. The read
/// is audited as one `note.list` event with the count returned and the count withheld.
pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    page: PageRequest,
) -> Result<NotePage, AppError> {
    let who = caller.clone();
    let pid = access.participant_id.clone();
    let (items, total, withheld) = state
        .db
        .read(move |conn| {
            let sees = sees_psychologist_notes(conn, &who, &pid)?;
            let (rows, total, withheld) = repo::list(conn, &pid, sees, page)?;
            Ok((with_corrections(conn, rows)?, total, withheld))
        })
        .await?;
    audit::record_alone(
        state,
        ctx,
        event(AuditAction::NoteList, caller, &access.participant_id)
            .entity("participant", access.participant_id.clone())
            .details(json!({"count": items.len(), "withheld": withheld})),
    )
    .await?;
    Ok(NotePage {
        items,
        page: page.page,
        per_page: page.per_page,
        total,
        withheld,
    })
}

/// One note. A psychologist note the caller may not see is 404 (audited as a denied
/// `note.read_psychologist`); a read is audited as `note.list` naming the note.
pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    id: String,
) -> Result<Note, AppError> {
    let who = caller.clone();
    let pid = access.participant_id.clone();
    let nid = id.clone();
    let found = state
        .db
        .read(move |conn| {
            let row = repo::find(conn, &nid)?
                .filter(|n| n.participant_id == pid)
                .ok_or(AppError::NotFound)?;
            if row.is_psychologist() && !sees_psychologist_notes(conn, &who, &pid)? {
                return Ok(None);
            }
            Ok(with_corrections(conn, vec![row])?.pop())
        })
        .await?;
    let Some(note) = found else {
        caller
            .record_denial(state, ctx, Action::PsychologistNoteRead, Some(("note", id)))
            .await;
        return Err(AppError::NotFound);
    };
    audit::record_alone(
        state,
        ctx,
        event(AuditAction::NoteList, caller, &note.participant_id)
            .entity("note", note.id.clone())
            .details(json!({"count": 1, "withheld": 0})),
    )
    .await?;
    Ok(note)
}

fn already_corrected() -> AppError {
    AppError::conflict(
        "note_already_corrected",
        "This note has already been corrected; correct the correction instead.",
    )
}

/// The confidentiality a new note gets: its own, or for a correction the corrected note's
/// (which must be a note of the same participant the caller may see, not yet corrected).
fn confidentiality_of(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    participant_id: &str,
    new: &NewNote,
) -> Result<Confidentiality, AppError> {
    let Some(target_id) = &new.corrects_note_id else {
        return new
            .confidentiality
            .ok_or_else(|| field_error("/confidentiality", "required", "is required"));
    };
    let sees = sees_psychologist_notes(conn, caller, participant_id)?;
    let target = repo::find(conn, target_id)?
        .filter(|n| n.participant_id == participant_id && (sees || !n.is_psychologist()))
        .ok_or_else(|| {
            field_error(
                "/corrects_note_id",
                "unknown",
                "names no note of this participant that you may see",
            )
        })?;
    if repo::correction_of(conn, &target.id)?.is_some() {
        return Err(already_corrected());
    }
    let kept =
        Confidentiality::parse(&target.confidentiality).unwrap_or(Confidentiality::Psychologist);
    if new.confidentiality.is_some_and(|c| c != kept) {
        return Err(field_error(
            "/confidentiality",
            "correction_mismatch",
            &format!(
                "a correction keeps the corrected note's confidentiality (`{}`); omit this field or send that value",
                kept.as_str()
            ),
        ));
    }
    Ok(kept)
}

/// Appends a note (or a correction). Psychologist notes need a psychologist on the care team:
/// asking for one without being one is 403, audited.
pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: String,
    new: NewNote,
) -> Result<Note, AppError> {
    if new.confidentiality == Some(Confidentiality::Psychologist) {
        access::authorize(
            state,
            ctx,
            caller,
            Action::PsychologistNoteWrite,
            &participant_id,
        )
        .await?;
    }
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let caller = caller.clone();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            access::check(conn, &caller, Action::NoteWrite, &participant_id)?.writable()?;
            let confidentiality = confidentiality_of(conn, &caller, &participant_id, &new)?;
            if confidentiality == Confidentiality::Psychologist {
                access::check(
                    conn,
                    &caller,
                    Action::PsychologistNoteWrite,
                    &participant_id,
                )?;
            }
            let row = NoteRow {
                id: uuid::Uuid::new_v4().to_string(),
                participant_id: participant_id.clone(),
                body: new.body.into_inner(),
                confidentiality: confidentiality.as_str().to_owned(),
                corrects_note_id: new.corrects_note_id,
                author_id: caller.id.clone(),
                created_at: now,
            };
            repo::insert(conn, &row).map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => already_corrected(),
                other => AppError::from(other),
            })?;
            let mut changed = vec!["body", "confidentiality"];
            if row.corrects_note_id.is_some() {
                changed.push("corrects_note_id");
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::NoteCreate, &caller, &participant_id)
                    .entity("note", row.id.clone())
                    .changed(changed)
                    .details(json!({"confidentiality": confidentiality.as_str()})),
            )?;
            Ok(Note::from_row(row, None))
        })
        .await
}
