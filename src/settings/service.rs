//! Settings rules: a full replace as a compare-and-swap on `version`, audited with the names of
//! the fields that changed.

use super::model::{NewSettings, Settings};
use super::repo;
use crate::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent};
use crate::http::{cas_outcome, stored_now, AppError, RequestContext};
use crate::state::AppState;

pub async fn read(state: &AppState) -> Result<Settings, AppError> {
    state.db.read(|conn| Ok(repo::load(conn)?)).await
}

/// Replaces the settings if `expected_version` is current. A body equal to what is stored
/// changes nothing: the version stays and no event is recorded.
pub async fn replace(
    state: &AppState,
    ctx: &RequestContext,
    actor: Actor,
    expected_version: i64,
    new: NewSettings,
) -> Result<Settings, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let current = repo::load(conn)?;
            if current.version != expected_version {
                return Err(AppError::PreconditionFailed {
                    current_version: current.version,
                });
            }
            let changed = new.changed_fields(&current);
            if changed.is_empty() {
                return Ok(current);
            }
            let updated = repo::replace(conn, &new, expected_version, now)?;
            // No row changed: another replace committed after our read (PostgreSQL, READ
            // COMMITTED), so report the version it left rather than the one we read.
            let current_version = if updated == 0 {
                repo::version(conn)?
            } else {
                current.version
            };
            cas_outcome(updated, Some(current_version))?;
            let event = NewEvent::new(
                AuditAction::SettingsUpdate,
                AuditOutcome::Allowed,
                Some(actor),
            )
            .entity("settings", "1")
            .changed(changed);
            audit::record(conn, instant, &ctx, event)?;
            Ok(repo::load(conn)?)
        })
        .await
}

/// The unit's settings inside another feature's transaction (programme lengths, follow-up
/// months, the CIS cap).
pub fn current(conn: &mut crate::db::AnyConnection) -> diesel::QueryResult<Settings> {
    repo::load(conn)
}
