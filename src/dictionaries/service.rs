//! Dictionary rules, written once for every kind of entry: codes are unique and never change,
//! edits are compare-and-swap on `version`, and each change is audited with the fields it touched.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::model::{EntryPatch, NewEntry};
use super::repo::Stored;
use crate::audit::{self, Actor, AuditOutcome, NewEvent};
use crate::http::{cas_outcome, stored_now, AppError, PageRequest, RequestContext};
use crate::state::AppState;

fn duplicate_code<K: Stored>() -> AppError {
    AppError::conflict(
        "duplicate_code",
        format!("A {} with this code already exists.", K::NOUN),
    )
}

pub async fn list<K: Stored>(
    state: &AppState,
    active: Option<bool>,
    page: PageRequest,
) -> Result<(Vec<K>, i64), AppError> {
    state
        .db
        .read(move |conn| Ok(K::list(conn, active, page)?))
        .await
}

pub async fn read<K: Stored>(state: &AppState, code: String) -> Result<K, AppError> {
    state
        .db
        .read(move |conn| K::find(conn, &code)?.ok_or(AppError::NotFound))
        .await
}

pub async fn create<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    actor: Actor,
    new: NewEntry<K::New>,
) -> Result<K, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            if K::find(conn, new.code.as_str())?.is_some() {
                return Err(duplicate_code::<K>());
            }
            let entry = K::from_new(new.code, new.fields);
            // Two creates racing for one code: the primary key refuses the second.
            K::insert(conn, &entry, now).map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                    duplicate_code::<K>()
                }
                other => AppError::from(other),
            })?;
            let event = NewEvent::new(K::CREATE_ACTION, AuditOutcome::Allowed, Some(actor))
                .entity(K::ENTITY, entry.code().to_owned())
                .changed(K::FIELDS.iter().copied());
            audit::record(conn, instant, &ctx, event)?;
            Ok(entry)
        })
        .await
}

/// Applies a PATCH as a compare-and-swap on `version`. A `code` in the body must be the entry's
/// own (422 on `/code` otherwise). A PATCH that changes nothing keeps the version and records
/// no event.
pub async fn update<K: Stored>(
    state: &AppState,
    ctx: &RequestContext,
    actor: Actor,
    code: String,
    expected_version: i64,
    patch: EntryPatch<K::Changes>,
) -> Result<K, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let mut entry = K::find(conn, &code)?.ok_or(AppError::NotFound)?;
            if patch.code.as_ref().is_some_and(|c| c.as_str() != code) {
                return Err(AppError::validation(
                    "/code",
                    "immutable",
                    "the code of an entry never changes",
                ));
            }
            if entry.version() != expected_version {
                return Err(AppError::PreconditionFailed {
                    current_version: entry.version(),
                });
            }
            let changed = entry.apply(patch.changes);
            if changed.is_empty() {
                return Ok(entry);
            }
            let updated = K::store(conn, &entry, expected_version, now)?;
            // No row changed: another edit committed after our read (PostgreSQL, READ
            // COMMITTED), so report the version it left rather than the one we read.
            let current_version = if updated == 0 {
                K::find(conn, &code)?.map(|e| e.version())
            } else {
                Some(expected_version)
            };
            cas_outcome(updated, current_version)?;
            let event = NewEvent::new(K::UPDATE_ACTION, AuditOutcome::Allowed, Some(actor))
                .entity(K::ENTITY, code.clone())
                .changed(changed);
            audit::record(conn, instant, &ctx, event)?;
            K::find(conn, &code)?.ok_or(AppError::NotFound)
        })
        .await
}
