//! Consent rules: recording (never editing), reading with the computed `state`, withdrawal.
//! Audit events carry the purpose, never the free text.

use chrono::NaiveDate;
use serde_json::json;

use super::model::{Consent, ConsentRow, NewConsent, Withdrawal};
use super::repo;
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::http::{stored_now, AppError, FieldErrors, PageRequest, RequestContext};
use crate::participants::access::{self, CaseAccess};
use crate::policy::Action;
use crate::state::AppState;

fn event(action: AuditAction, caller: &CurrentStaff, participant_id: &str) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .participant(participant_id.to_owned())
}

/// One page of the participant's consents, newest first; the read is audited as one
/// `consent.list` event naming the participant.
pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    page: PageRequest,
) -> Result<(Vec<Consent>, i64), AppError> {
    let today = state.clock.today();
    let pid = access.participant_id.clone();
    let (rows, total) = state
        .db
        .read(move |conn| Ok(repo::list(conn, &pid, page)?))
        .await?;
    let items: Vec<Consent> = rows
        .into_iter()
        .map(|r| Consent::from_row(r, access.view, today))
        .collect();
    audit::record_alone(
        state,
        ctx,
        event(AuditAction::ConsentList, caller, &access.participant_id)
            .entity("participant", access.participant_id.clone())
            .details(json!({"count": items.len()})),
    )
    .await?;
    Ok((items, total))
}

/// One consent; audited like a list read (`consent.list`), naming the consent.
pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    access: CaseAccess,
    id: String,
) -> Result<Consent, AppError> {
    let today = state.clock.today();
    let pid = access.participant_id.clone();
    let row = state
        .db
        .read(move |conn| {
            repo::find(conn, &id)?
                .filter(|c| c.participant_id == pid)
                .ok_or(AppError::NotFound)
        })
        .await?;
    let consent = Consent::from_row(row, access.view, today);
    audit::record_alone(
        state,
        ctx,
        event(AuditAction::ConsentList, caller, &consent.participant_id)
            .entity("consent", consent.id.clone())
            .details(json!({"count": 1})),
    )
    .await?;
    Ok(consent)
}

/// Records a consent (version 1). `granted_on` may lie in the future (state `pending`).
pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    participant_id: String,
    new: NewConsent,
) -> Result<Consent, AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let caller = caller.clone();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let access = access::check(conn, &caller, Action::ConsentWrite, &participant_id)?;
            access.writable()?;
            let row = ConsentRow {
                id: uuid::Uuid::new_v4().to_string(),
                participant_id: participant_id.clone(),
                purpose: new.purpose.as_str().to_owned(),
                description: new.description.map(|d| d.into_inner()),
                granted_on: new.granted_on,
                expires_on: new.expires_on,
                document_reference: new.document_reference.into_inner(),
                withdrawn_on: None,
                withdrawal_note: None,
                version: 1,
                created_at: now,
                created_by: caller.id.clone(),
            };
            repo::insert(conn, &row)?;
            let mut changed = vec!["purpose", "granted_on", "document_reference"];
            if row.description.is_some() {
                changed.push("description");
            }
            if row.expires_on.is_some() {
                changed.push("expires_on");
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::ConsentCreate, &caller, &participant_id)
                    .entity("consent", row.id.clone())
                    .changed(changed)
                    .details(json!({"purpose": row.purpose})),
            )?;
            Ok(Consent::from_row(row, access.view, today))
        })
        .await
}

/// `withdrawn_on` must not lie before `granted_on` nor after today, both reported at once (the
/// first needs the stored consent, so both wait for the second step).
fn check_withdrawal_date(
    granted_on: NaiveDate,
    withdrawn_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if withdrawn_on < granted_on {
        errors.push(
            "/withdrawn_on",
            "before_granted_on",
            format!("must not be before granted_on ({granted_on})"),
        );
    }
    if withdrawn_on > today {
        errors.push("/withdrawn_on", "future", "must not be in the future");
    }
    errors.fail_on()
}

/// Withdraws a consent. `expected` is the version of an `If-Match` sent with the request (412
/// when stale); a consent already withdrawn is 409 `consent_already_withdrawn`.
pub async fn withdraw(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: Option<i64>,
    withdrawal: Withdrawal,
) -> Result<Consent, AppError> {
    let today = state.clock.today();
    let instant = state.clock.now();
    let caller = caller.clone();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let current = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let access =
                access::check(conn, &caller, Action::ConsentWrite, &current.participant_id)?;
            access.writable()?;
            if expected.is_some_and(|v| v != current.version) {
                return Err(AppError::PreconditionFailed {
                    current_version: current.version,
                });
            }
            if current.withdrawn_on.is_some() {
                return Err(AppError::conflict(
                    "consent_already_withdrawn",
                    "This consent has already been withdrawn.",
                ));
            }
            check_withdrawal_date(current.granted_on, withdrawal.withdrawn_on, today)?;
            let note = withdrawal.note.map(|n| n.into_inner());
            let n = repo::withdraw(
                conn,
                &id,
                current.version,
                withdrawal.withdrawn_on,
                note.as_deref(),
            )?;
            if n == 0 {
                // Changed between the read and the update (the transaction normally prevents it).
                return Err(AppError::conflict(
                    "consent_already_withdrawn",
                    "This consent has already been withdrawn.",
                ));
            }
            let mut changed = vec!["withdrawn_on"];
            if note.is_some() {
                changed.push("withdrawal_note");
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(
                    AuditAction::ConsentWithdraw,
                    &caller,
                    &current.participant_id,
                )
                .entity("consent", id.clone())
                .changed(changed)
                .details(json!({"purpose": current.purpose})),
            )?;
            let row = ConsentRow {
                withdrawn_on: Some(withdrawal.withdrawn_on),
                withdrawal_note: note,
                version: current.version + 1,
                ..current
            };
            Ok(Consent::from_row(row, access.view, today))
        })
        .await
}

/// May staff contact the participant after exit on `day`? Needs a `contact_after_exit`
/// consent valid that day (the follow-ups feature asks before recording a contact).
pub fn contact_after_exit_allowed(
    conn: &mut crate::db::AnyConnection,
    participant_id: &str,
    day: NaiveDate,
) -> diesel::QueryResult<bool> {
    repo::valid_on(
        conn,
        participant_id,
        super::model::Purpose::ContactAfterExit,
        day,
    )
}
