//! Diagnosis rules: who writes which kind, the draft → final lifecycle, amendments, and what
//! each reader is shown (api.md §6, §13.3, §13.5). Every read is audited; a read that discloses
//! psychological or psychometric findings is audited as `diagnosis.read_findings`.

use serde_json::json;

use super::model::*;
use super::repo::{self, Filter};
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::http::body::FieldErrors;
use crate::http::rules::{FreeText, Label, Patch};
use crate::http::{cas_outcome, AppError, PageRequest, Paginated, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::policy::{self, Action, Disclosure, Role, View};
use crate::state::AppState;

/// [`access::authorize_owned`] for a diagnosis named by its own id.
pub async fn authorize_owned(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    id: &str,
) -> Result<CaseAccess, AppError> {
    let key = id.to_owned();
    access::authorize_owned(
        state,
        ctx,
        caller,
        action,
        ("diagnosis", id.to_owned()),
        move |conn| repo::participant_of(conn, &key),
    )
    .await
}

/// What the caller is shown of a diagnosis of `kind` on the participant of `access`.
fn disclosure(caller: &CurrentStaff, access: &CaseAccess, kind: DiagnosisKind) -> Disclosure {
    let view = access::view_for(caller, Action::DiagnosisRead, access).unwrap_or(View::Metadata);
    let reads_findings = access::may(caller, Action::DiagnosisReadFindings, access);
    policy::diagnosis_disclosure(view, kind, reads_findings)
}

/// Whether showing this diagnosis discloses findings under professional secrecy.
fn discloses_secret(kind: DiagnosisKind, shown: Disclosure) -> bool {
    kind.findings_restricted() && shown == Disclosure::Full
}

/// The role in which the caller writes a diagnosis of `kind` (recorded as its author role), or
/// 403 when none of their roles writes that kind.
fn writer_role(caller: &CurrentStaff, kind: DiagnosisKind) -> Result<Role, AppError> {
    Role::ALL
        .into_iter()
        .find(|r| caller.has_role(*r) && policy::writes_diagnosis(*r, kind))
        .ok_or_else(|| {
            AppError::Forbidden(format!(
                "Your role does not write {} diagnoses.",
                kind.as_str()
            ))
        })
}

/// [`writer_role`] before any work, with the refusal written to the audit log.
pub async fn require_writer(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    kind: DiagnosisKind,
    entity: (&'static str, String),
) -> Result<(), AppError> {
    if let Err(e) = writer_role(caller, kind) {
        caller
            .record_denial(state, ctx, Action::DiagnosisWrite, Some(entity))
            .await;
        return Err(e);
    }
    Ok(())
}

/// The kind of an existing diagnosis (its writers are decided by it).
pub async fn kind_of(state: &AppState, id: String) -> Result<DiagnosisKind, AppError> {
    state
        .db
        .read(move |conn| {
            repo::find(conn, &id)?
                .map(|r| r.kind())
                .ok_or(AppError::NotFound)
        })
        .await
}

fn event(action: AuditAction, caller: &CurrentStaff, row: &DiagnosisRow) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .entity("diagnosis", row.id.clone())
        .participant(row.participant_id.clone())
}

fn diagnosis_final() -> AppError {
    AppError::conflict(
        "diagnosis_final",
        "A final diagnosis cannot change; add an amendment instead.",
    )
}

/// The diagnosis as the caller sees it, with its amendments.
fn shown(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    access: &CaseAccess,
    row: DiagnosisRow,
) -> Result<(Diagnosis, Disclosure), AppError> {
    let amendments = repo::amendments_of(conn, std::slice::from_ref(&row.id))?;
    let level = disclosure(caller, access, row.kind());
    Ok((Diagnosis::shown(row, amendments, level), level))
}

// ------------------------------------------------------------------------------------------
// Writes

/// Records a draft diagnosis of a kind the caller writes, for a participant whose care team
/// they are on.
pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: String,
    new: NewDiagnosis,
) -> Result<Diagnosis, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let access = access::check(conn, caller, Action::DiagnosisWrite, &participant_id)?;
        access.writable()?;
        let role = writer_role(caller, new.kind)?;
        crate::participants::lifecycle::not_before_first_referral(
            conn,
            &participant_id,
            "/performed_on",
            new.performed_on,
        )?;
        let mut row = DiagnosisRow {
            id: uuid::Uuid::new_v4().to_string(),
            participant_id: participant_id.clone(),
            kind: new.kind.as_str().to_owned(),
            status: DiagnosisStatus::Draft.as_str().to_owned(),
            performed_on: new.performed_on,
            instrument: new.instrument.map(|v| v.into_inner()),
            summary: Some(new.summary.into_inner()),
            findings: new.findings.map(|v| v.into_inner()),
            recommendations: new.recommendations.map(|v| v.into_inner()),
            score_r: None,
            score_i: None,
            score_a: None,
            score_s: None,
            score_e: None,
            score_c: None,
            author_id: caller.id.clone(),
            author_role: role.as_str().to_owned(),
            finalized_at: None,
            finalized_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        row.set_scores(new.scores);
        repo::insert(conn, &row)?;
        let mut changed = vec!["kind", "performed_on", "summary"];
        for (name, present) in [
            ("instrument", row.instrument.is_some()),
            ("findings", row.findings.is_some()),
            ("recommendations", row.recommendations.is_some()),
            ("scores", row.score_r.is_some()),
        ] {
            if present {
                changed.push(name);
            }
        }
        c.record(
            conn,
            event(AuditAction::DiagnosisCreate, caller, &row)
                .changed(changed)
                .details(json!({"kind": new.kind.as_str()})),
        )?;
        Ok(shown(conn, caller, &access, row)?.0)
    })
    .await
}

/// Applies a merge patch to a draft's fields, naming every field that may not take its value.
fn apply(row: &mut DiagnosisRow, patch: DiagnosisPatch) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let kind = row.kind();
    if patch.kind.is_some_and(|k| k != kind) {
        errors.push(
            "/kind",
            "immutable",
            "a diagnosis keeps its kind; record a new diagnosis instead",
        );
    }
    let cannot_clear = |errors: &mut FieldErrors, field: &str| {
        errors.push(format!("/{field}"), "required", "cannot be cleared");
    };
    match patch.performed_on {
        Patch::Value(d) => row.performed_on = d,
        Patch::Null => cannot_clear(&mut errors, "performed_on"),
        Patch::Absent => {}
    }
    match patch.summary {
        Patch::Value(v) => row.summary = Some(v.into_inner()),
        Patch::Null => cannot_clear(&mut errors, "summary"),
        Patch::Absent => {}
    }
    patch
        .instrument
        .merge_into(&mut row.instrument, Label::into_inner);
    patch
        .findings
        .merge_into(&mut row.findings, FreeText::into_inner);
    patch
        .recommendations
        .merge_into(&mut row.recommendations, FreeText::into_inner);
    match (patch.scores, kind == DiagnosisKind::Holland) {
        (Patch::Value(s), true) => row.set_scores(Some(s)),
        (Patch::Null, true) => cannot_clear(&mut errors, "scores"),
        (Patch::Value(_), false) => errors.push(
            "/scores",
            "not_allowed",
            "only a Holland diagnosis carries scores",
        ),
        (Patch::Null | Patch::Absent, _) => {}
    }
    errors.fail_on()
}

/// Edits a draft (`If-Match` required); a final diagnosis is 409 `diagnosis_final`.
pub async fn update(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    patch: DiagnosisPatch,
) -> Result<Diagnosis, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let mut row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::DiagnosisWrite, &row.participant_id)?;
        access.writable()?;
        writer_role(caller, row.kind())?;
        if row.is_final() {
            return Err(diagnosis_final());
        }
        let changed = patch.sent();
        apply(&mut row, patch)?;
        crate::participants::lifecycle::not_before_first_referral(
            conn,
            &row.participant_id,
            "/performed_on",
            row.performed_on,
        )?;
        row.updated_at = now;
        let n = repo::update_draft(conn, &row, expected)?;
        cas_outcome(n, repo::version_of(conn, &id)?)?;
        c.record(
            conn,
            event(AuditAction::DiagnosisUpdate, caller, &row)
                .changed(changed)
                .details(json!({"kind": row.kind})),
        )?;
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        Ok(shown(conn, caller, &access, row)?.0)
    })
    .await
}

/// Draft → final (`If-Match` optional). Finalizing a final diagnosis is 409 `diagnosis_final`.
pub async fn finalize(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
) -> Result<Diagnosis, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::DiagnosisWrite, &row.participant_id)?;
        access.writable()?;
        writer_role(caller, row.kind())?;
        if row.is_final() {
            return Err(diagnosis_final());
        }
        let n = repo::finalize(conn, &id, row.version, expected, &caller.id, now)?;
        cas_outcome(n, repo::version_of(conn, &id)?)?;
        c.record(
            conn,
            event(AuditAction::DiagnosisFinalize, caller, &row)
                .changed(["status"])
                .details(json!({"kind": row.kind})),
        )?;
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        Ok(shown(conn, caller, &access, row)?.0)
    })
    .await
}

/// Adds an amendment to a final diagnosis; a draft is 409 `diagnosis_draft` (edit it instead).
pub async fn amend(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    new: NewAmendment,
) -> Result<Diagnosis, AppError> {
    audit::change(state, ctx, caller, move |conn, c| {
        let (caller, now) = (&c.caller, c.now);
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        let access = access::check(conn, caller, Action::DiagnosisWrite, &row.participant_id)?;
        access.writable()?;
        writer_role(caller, row.kind())?;
        if !row.is_final() {
            return Err(AppError::conflict(
                "diagnosis_draft",
                "A draft is edited, not amended; amend it once it is final.",
            ));
        }
        let amendment = AmendmentRow {
            id: uuid::Uuid::new_v4().to_string(),
            diagnosis_id: id.clone(),
            reason: new.reason.into_inner(),
            body: new.text.into_inner(),
            author_id: caller.id.clone(),
            created_at: now,
        };
        repo::amend(conn, &amendment)?;
        c.record(
            conn,
            event(AuditAction::DiagnosisAmend, caller, &row)
                .changed(["amendments"])
                .details(json!({"kind": row.kind, "amendment_id": amendment.id})),
        )?;
        let row = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
        Ok(shown(conn, caller, &access, row)?.0)
    })
    .await
}

// ------------------------------------------------------------------------------------------
// Reads

/// One diagnosis at the caller's disclosure, audited as `diagnosis.read_findings` when it
/// discloses psychological or psychometric findings, else as `diagnosis.read`.
pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    id: String,
) -> Result<Diagnosis, AppError> {
    let who = caller.clone();
    let (diagnosis, level) = state
        .db
        .read(move |conn| {
            let row = repo::find(conn, &id)?
                .filter(|r| r.participant_id == access.participant_id)
                .ok_or(AppError::NotFound)?;
            shown(conn, &who, &access, row)
        })
        .await?;
    let action = if discloses_secret(diagnosis.kind, level) {
        AuditAction::DiagnosisReadFindings
    } else {
        AuditAction::DiagnosisRead
    };
    audit::record_alone(
        state,
        ctx,
        NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
            .entity("diagnosis", diagnosis.id.clone())
            .participant(diagnosis.participant_id.clone())
            .details(json!({"kind": diagnosis.kind.as_str(), "restricted": diagnosis.restricted})),
    )
    .await?;
    Ok(diagnosis)
}

/// One page of the participant's diagnoses, newest first, each at the caller's disclosure.
/// Audited as one `diagnosis.list` event, plus one `diagnosis.read_findings` event for each
/// diagnosis on the page whose psychological or psychometric findings it discloses.
pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    filter: Filter,
    page: PageRequest,
) -> Result<Paginated<Diagnosis>, AppError> {
    let who = caller.clone();
    let pid = access.participant_id.clone();
    let participant_id = access.participant_id.clone();
    let details = json!({"kind": filter.kind, "status": filter.status});
    let (items, total) = state
        .db
        .read(move |conn| {
            let (rows, total) = repo::list(conn, &pid, &filter, page)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut amendments = repo::amendments_of(conn, &ids)?;
            let items = rows
                .into_iter()
                .map(|row| {
                    let (mine, rest) = amendments
                        .drain(..)
                        .partition(|a: &AmendmentRow| a.diagnosis_id == row.id);
                    amendments = rest;
                    let level = disclosure(&who, &access, row.kind());
                    (Diagnosis::shown(row, mine, level), level)
                })
                .collect::<Vec<_>>();
            Ok((items, total))
        })
        .await?;
    let mut events = vec![NewEvent::new(
        AuditAction::DiagnosisList,
        AuditOutcome::Allowed,
        Some(caller.actor()),
    )
    .entity("participant", participant_id.clone())
    .participant(participant_id)
    .details(json!({"count": items.len(), "filters": details}))];
    events.extend(
        items
            .iter()
            .filter(|(d, level)| discloses_secret(d.kind, *level))
            .map(|(d, _)| {
                NewEvent::new(
                    AuditAction::DiagnosisReadFindings,
                    AuditOutcome::Allowed,
                    Some(caller.actor()),
                )
                .entity("diagnosis", d.id.clone())
                .participant(d.participant_id.clone())
                .details(json!({"kind": d.kind.as_str(), "restricted": false}))
            }),
    );
    audit::record_all_alone(state, ctx, events).await?;
    Ok(Paginated::new(
        items.into_iter().map(|(d, _)| d).collect(),
        page,
        total,
    ))
}
