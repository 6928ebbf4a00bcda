//! Staff rules: unique e-mails, the last active admin, sessions ending with access changes.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::model::{NewStaff, StaffMember, StaffPatch, StaffRow};
use super::repo;
use crate::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent};
use crate::auth::password::check_new_password;
use crate::db::schema::staff;
use crate::db::AnyConnection;
use crate::http::body::Patch;
use crate::http::{cas_outcome, stored_now, AppError, RequestContext};
use crate::policy::Role;
use crate::state::AppState;
use crate::text::fold;

fn email_taken() -> AppError {
    AppError::conflict(
        "email_taken",
        "Another staff account uses this e-mail address.",
    )
}

fn last_admin() -> AppError {
    AppError::conflict(
        "last_admin",
        "This change would leave the unit without an active admin; make someone else admin first.",
    )
}

/// A unique-index race (two requests creating the same e-mail at once) is the same 409.
fn unique_as_email_taken(e: DieselError) -> AppError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => email_taken(),
        other => AppError::from(other),
    }
}

pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    actor: Option<Actor>,
    new: NewStaff,
) -> Result<StaffMember, AppError> {
    let hash = state.passwords.hash(new.initial_password.0.clone()).await?;
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            if repo::email_taken(conn, new.email.as_str(), None)? {
                return Err(email_taken());
            }
            let row = StaffRow {
                id: uuid::Uuid::new_v4().to_string(),
                email: new.email.as_str().to_owned(),
                full_name: new.full_name.as_str().to_owned(),
                full_name_key: fold(new.full_name.as_str()),
                password_hash: hash,
                active: true,
                active_until: new.active_until,
                must_change_password: true,
                token_version: 1,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            repo::insert(conn, &row, &new.roles.0).map_err(unique_as_email_taken)?;
            let event = NewEvent::new(AuditAction::StaffCreate, AuditOutcome::Allowed, actor)
                .entity("staff", row.id.clone())
                .changed([
                    "email",
                    "full_name",
                    "roles",
                    "active_until",
                    "password_hash",
                ]);
            audit::record(conn, instant, &ctx, event)?;
            Ok(StaffMember {
                row,
                roles: new.roles.0,
            })
        })
        .await
}

/// Applies an admin's PATCH as a compare-and-swap on `version`.
pub async fn update(
    state: &AppState,
    ctx: &RequestContext,
    actor: Actor,
    id: String,
    expected_version: i64,
    patch: StaffPatch,
) -> Result<StaffMember, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let today = state.clock.today();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let touches_admins =
                patch.roles.is_some() || patch.active.is_some() || !patch.active_until.is_absent();
            if touches_admins {
                repo::lock_admins(conn)?;
            }
            let current = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if current.row.version != expected_version {
                return Err(AppError::PreconditionFailed {
                    current_version: current.row.version,
                });
            }
            let mut changed: Vec<&str> = Vec::new();
            let mut row = current.row.clone();
            if let Some(email) = &patch.email {
                if email.as_str() != row.email {
                    if repo::email_taken(conn, email.as_str(), Some(&id))? {
                        return Err(email_taken());
                    }
                    row.email = email.as_str().to_owned();
                    changed.push("email");
                }
            }
            if let Some(name) = &patch.full_name {
                if name.as_str() != row.full_name {
                    row.full_name = name.as_str().to_owned();
                    row.full_name_key = fold(name.as_str());
                    changed.push("full_name");
                }
            }
            if let Some(active) = patch.active {
                if active != row.active {
                    row.active = active;
                    changed.push("active");
                }
            }
            match patch.active_until {
                Patch::Absent => {}
                Patch::Null if row.active_until.is_some() => {
                    row.active_until = None;
                    changed.push("active_until");
                }
                Patch::Value(d) if row.active_until != Some(d) => {
                    row.active_until = Some(d);
                    changed.push("active_until");
                }
                _ => {}
            }
            let roles_changed = patch.roles.as_ref().is_some_and(|r| r.0 != current.roles);
            if roles_changed {
                changed.push("roles");
            }
            if changed.is_empty() {
                return Ok(current);
            }
            // Access changes end every session at once: the token check compares versions.
            let access_changed =
                roles_changed || changed.contains(&"active") || changed.contains(&"active_until");
            let updated = diesel::update(
                staff::table
                    .filter(staff::id.eq(&id))
                    .filter(staff::version.eq(expected_version)),
            )
            .set((
                staff::email.eq(&row.email),
                staff::full_name.eq(&row.full_name),
                staff::full_name_key.eq(&row.full_name_key),
                staff::active.eq(row.active),
                staff::active_until.eq(row.active_until),
                staff::version.eq(staff::version + 1),
                staff::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(unique_as_email_taken)?;
            if updated == 0 {
                // Another writer won between our read and our update: report its version.
                let now_version = repo::find(conn, &id)?.map(|m| m.row.version);
                cas_outcome(updated, now_version)?;
            }
            if let Some(roles) = &patch.roles {
                if roles_changed {
                    repo::set_roles(conn, &id, &roles.0)?;
                }
            }
            if access_changed {
                repo::revoke_all_sessions(conn, &id, now)?;
            }
            if touches_admins && repo::count_active_admins(conn, today)? == 0 {
                return Err(last_admin());
            }
            let event = NewEvent::new(AuditAction::StaffUpdate, AuditOutcome::Allowed, Some(actor))
                .entity("staff", id.clone())
                .changed(changed.iter().copied());
            audit::record(conn, instant, &ctx, event)?;
            repo::find(conn, &id)?.ok_or(AppError::NotFound)
        })
        .await
}

fn set_password(
    conn: &mut AnyConnection,
    member: &StaffMember,
    hash: String,
    must_change: bool,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    repo::revoke_all_sessions(conn, &member.row.id, now)?;
    repo::clear_login_failures(conn, &member.row.email)?;
    diesel::update(staff::table.find(&member.row.id))
        .set((
            staff::password_hash.eq(hash),
            staff::must_change_password.eq(must_change),
            staff::version.eq(staff::version + 1),
            staff::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An admin sets a new initial password: the account must change it at next sign-in, its
/// throttling is cleared and every session ends.
pub async fn reset_password(
    state: &AppState,
    ctx: &RequestContext,
    actor: Actor,
    id: String,
    expected_version: Option<i64>,
    password: String,
) -> Result<StaffMember, AppError> {
    let lookup = id.clone();
    let member = state
        .db
        .read(move |conn| repo::find(conn, &lookup)?.ok_or(AppError::NotFound))
        .await?;
    if let Err(p) = check_new_password(&password, &member.row.email, None) {
        return Err(AppError::Validation(vec![crate::http::rules::field_error(
            "/initial_password",
            &p,
        )]));
    }
    let hash = state.passwords.hash(password).await?;
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let current = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if let Some(expected) = expected_version {
                if expected != current.row.version {
                    return Err(AppError::PreconditionFailed {
                        current_version: current.row.version,
                    });
                }
            }
            set_password(conn, &current, hash, true, now)?;
            let event = NewEvent::new(
                AuditAction::StaffResetPassword,
                AuditOutcome::Allowed,
                Some(actor),
            )
            .entity("staff", id.clone())
            .changed(["password_hash", "must_change_password"]);
            audit::record(conn, instant, &ctx, event)?;
            repo::find(conn, &id)?.ok_or(AppError::NotFound)
        })
        .await
}

/// What `reintegra create-admin` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    Created(String),
    Reset(String),
}

/// `reintegra create-admin`: creates an admin, or for an existing e-mail resets the password,
/// clears throttling and `must_change_password`, reactivates the account and makes it admin.
pub fn create_admin(
    state: &AppState,
    email: &str,
    full_name: &str,
    password: &str,
) -> Result<Bootstrap, String> {
    use crate::http::rules::{message_of, Name, Rule};
    let email =
        super::model::Email::parse(email).map_err(|p| format!("--email: {}", message_of(&p)))?;
    let name: Name = serde_json::from_value(serde_json::Value::from(full_name))
        .map_err(|e| format!("--full-name: {e}"))?;
    name.check()
        .map_err(|p| format!("--full-name: {}", message_of(&p)))?;
    check_new_password(password, email.as_str(), None)
        .map_err(|p| format!("password: {}", message_of(&p)))?;
    let hash = crate::auth::password::hash_with(&state.passwords.params(), password)?;
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = RequestContext {
        request_id: format!("cli-{}", uuid::Uuid::new_v4()),
        ip: None,
    };
    state
        .db
        .write_blocking(|conn| -> Result<Bootstrap, AppError> {
            match repo::find_by_email(conn, email.as_str())? {
                Some(member) => {
                    set_password(conn, &member, hash, false, now)?;
                    diesel::update(staff::table.find(&member.row.id))
                        .set((
                            staff::active.eq(true),
                            staff::active_until.eq(None::<chrono::NaiveDate>),
                        ))
                        .execute(conn)?;
                    let mut roles = member.roles.clone();
                    if !roles.contains(&Role::Admin) {
                        roles.push(Role::Admin);
                        roles.sort();
                        repo::set_roles(conn, &member.row.id, &roles)?;
                    }
                    let event =
                        NewEvent::new(AuditAction::StaffResetPassword, AuditOutcome::Allowed, None)
                            .entity("staff", member.row.id.clone())
                            .changed([
                                "password_hash",
                                "must_change_password",
                                "active",
                                "active_until",
                                "roles",
                            ])
                            .details(serde_json::json!({"via": "create-admin"}));
                    audit::record(conn, instant, &ctx, event)?;
                    Ok(Bootstrap::Reset(member.row.id))
                }
                None => {
                    let row = StaffRow {
                        id: uuid::Uuid::new_v4().to_string(),
                        email: email.as_str().to_owned(),
                        full_name: name.as_str().to_owned(),
                        full_name_key: fold(name.as_str()),
                        password_hash: hash,
                        active: true,
                        active_until: None,
                        must_change_password: false,
                        token_version: 1,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    };
                    repo::insert(conn, &row, &[Role::Admin])?;
                    let event =
                        NewEvent::new(AuditAction::StaffCreate, AuditOutcome::Allowed, None)
                            .entity("staff", row.id.clone())
                            .changed(["email", "full_name", "roles", "password_hash"])
                            .details(serde_json::json!({"via": "create-admin"}));
                    audit::record(conn, instant, &ctx, event)?;
                    Ok(Bootstrap::Created(row.id))
                }
            }
        })
        .map_err(|e| e.to_string())
}
