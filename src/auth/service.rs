//! Sign-in, token rotation, sign-out and password changes (api.md §2, §13.2).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::password::check_new_password;
use super::throttle::{self, Attempt};
use super::token::{hash_refresh_token, issue_access, new_refresh_token};
use crate::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent};
use crate::db::schema::{refresh_tokens, staff};
use crate::db::AnyConnection;
use crate::http::{stored_now, AppError, FieldError, RequestContext};
use crate::policy::Role;
use crate::staff::model::StaffMember;
use crate::staff::repo;
use crate::state::AppState;

/// Refresh tokens expire after this long unused…
pub fn refresh_idle() -> Duration {
    Duration::hours(8)
}
/// …and this long after the sign-in that started their family, whatever their use.
pub fn refresh_absolute() -> Duration {
    Duration::days(7)
}

/// The caller as `/auth/me` and sign-in answers show them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub active_until: Option<chrono::NaiveDate>,
    pub must_change_password: bool,
}

impl From<&StaffMember> for Me {
    fn from(m: &StaffMember) -> Self {
        Me {
            id: m.row.id.clone(),
            email: m.row.email.clone(),
            full_name: m.row.full_name.clone(),
            roles: m.roles.clone(),
            active_until: m.row.active_until,
            must_change_password: m.row.must_change_password,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u32,
    /// Opaque; send it to `/auth/refresh` for a new pair. Used once.
    pub refresh_token: String,
    pub staff: Me,
}

fn actor_of(m: &StaffMember) -> Actor {
    Actor {
        id: m.row.id.clone(),
        roles: m.roles.iter().map(|r| r.as_str().to_owned()).collect(),
    }
}

/// Stores a new refresh token, in a new family or continuing one (keeping its sign-in time).
fn store_refresh_token(
    conn: &mut AnyConnection,
    staff_id: &str,
    family: Option<(String, NaiveDateTime)>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let token = new_refresh_token();
    let (family_id, started) = family.unwrap_or_else(|| (uuid::Uuid::new_v4().to_string(), now));
    let expires = (now + refresh_idle()).min(started + refresh_absolute());
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
            refresh_tokens::family_id.eq(family_id),
            refresh_tokens::staff_id.eq(staff_id),
            refresh_tokens::token_hash.eq(hash_refresh_token(&token)),
            refresh_tokens::family_started_at.eq(started),
            refresh_tokens::issued_at.eq(now),
            refresh_tokens::expires_at.eq(expires),
        ))
        .execute(conn)?;
    Ok(token)
}

fn token_pair(
    state: &AppState,
    member: &StaffMember,
    refresh_token: String,
) -> Result<TokenPair, AppError> {
    let ttl = state.config.access_token_ttl_secs;
    let roles = member.roles.iter().map(|r| r.as_str().to_owned()).collect();
    let access_token = issue_access(
        &state.jwt_secret,
        state.clock.now(),
        ttl,
        &member.row.id,
        roles,
        member.row.token_version,
    )
    .map_err(AppError::internal)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        staff: Me::from(member),
    })
}

fn wrong_credentials() -> AppError {
    AppError::Unauthorized("The e-mail or password is wrong, or the account cannot sign in.".into())
}

pub async fn login(
    state: &AppState,
    ctx: &RequestContext,
    email: String,
    password: String,
) -> Result<TokenPair, AppError> {
    let email = email.trim().to_lowercase();
    let now = stored_now(state.clock.as_ref());

    if let Err(wait) = state.login_limiter.attempt(ctx.ip, state.clock.now()) {
        let event = NewEvent::new(AuditAction::AuthLoginThrottled, AuditOutcome::Denied, None)
            .details(json!({"by": "address"}));
        audit::record_alone(state, ctx, event).await?;
        return Err(AppError::RateLimited {
            retry_after_secs: wait,
        });
    }

    let lookup = email.clone();
    let (attempt, member) = state
        .db
        .write(move |conn| {
            let attempt = throttle::claim_attempt(conn, &lookup, now)?;
            let member = repo::find_by_email(conn, &lookup)?;
            Ok((attempt, member))
        })
        .await?;
    if let Attempt::Blocked(wait) = attempt {
        let mut event = NewEvent::new(AuditAction::AuthLoginThrottled, AuditOutcome::Denied, None)
            .details(json!({"by": "email"}));
        if let Some(m) = &member {
            event = event.entity("staff", m.row.id.clone());
        }
        audit::record_alone(state, ctx, event).await?;
        return Err(AppError::RateLimited {
            retry_after_secs: wait,
        });
    }

    let stored_hash = member.as_ref().map(|m| m.row.password_hash.clone());
    let verified = state
        .passwords
        .verify(password.clone(), stored_hash)
        .await?;
    let today = state.clock.today();
    let member = match member {
        Some(m) if verified.matches && m.can_sign_in(today) => m,
        other => {
            // The attempt is already recorded as a failure; only the audit event remains.
            let reason = match &other {
                None => "unknown_email",
                Some(_) if !verified.matches => "wrong_password",
                Some(_) => "inactive",
            };
            let mut event = NewEvent::new(AuditAction::AuthLoginFailed, AuditOutcome::Denied, None)
                .details(json!({"reason": reason}));
            if let Some(m) = other {
                event = event.entity("staff", m.row.id);
            }
            audit::record_alone(state, ctx, event).await?;
            return Err(wrong_credentials());
        }
    };

    let new_hash = if verified.needs_rehash {
        Some(state.passwords.hash(password).await?)
    } else {
        None
    };
    let ctx2 = ctx.clone();
    let instant = state.clock.now();
    let (member, refresh) = state
        .db
        .write(move |conn| {
            repo::clear_login_failures(conn, &member.row.email)?;
            if let Some(hash) = new_hash {
                diesel::update(staff::table.find(&member.row.id))
                    .set(staff::password_hash.eq(hash))
                    .execute(conn)?;
            }
            let refresh = store_refresh_token(conn, &member.row.id, None, now)?;
            let event = NewEvent::new(
                AuditAction::AuthLogin,
                AuditOutcome::Allowed,
                Some(actor_of(&member)),
            )
            .entity("staff", member.row.id.clone());
            audit::record(conn, instant, &ctx2, event)?;
            Ok((member, refresh))
        })
        .await?;
    token_pair(state, &member, refresh)
}

enum RefreshOutcome {
    Rotated(Box<StaffMember>, String),
    Refused(&'static str),
}

#[derive(Queryable)]
struct RefreshRow {
    id: String,
    family_id: String,
    staff_id: String,
    family_started_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

fn find_refresh(conn: &mut AnyConnection, token: &str) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash_refresh_token(token)))
        .select((
            refresh_tokens::id,
            refresh_tokens::family_id,
            refresh_tokens::staff_id,
            refresh_tokens::family_started_at,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            refresh_tokens::revoked_at,
        ))
        .first(conn)
        .optional()
}

fn revoke_family(conn: &mut AnyConnection, family_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|_| ())
}

/// Rotates a refresh token. A token presented a second time means it was copied: the whole
/// family is revoked (the thief's and the owner's sessions end) and the reuse is audited.
pub async fn refresh(
    state: &AppState,
    ctx: &RequestContext,
    token: String,
) -> Result<TokenPair, AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let today = state.clock.today();
    let ctx2 = ctx.clone();
    let outcome = state
        .db
        .write(move |conn| {
            let Some(row) = find_refresh(conn, &token)? else {
                return Ok(RefreshOutcome::Refused("unknown"));
            };
            if row.revoked_at.is_some() {
                return Ok(RefreshOutcome::Refused("revoked"));
            }
            // Compare-and-swap: of two concurrent uses of one token, only one rotates it.
            let claimed = diesel::update(
                refresh_tokens::table
                    .filter(refresh_tokens::id.eq(&row.id))
                    .filter(refresh_tokens::used_at.is_null())
                    .filter(refresh_tokens::revoked_at.is_null()),
            )
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?;
            if row.used_at.is_some() || claimed == 0 {
                revoke_family(conn, &row.family_id, now)?;
                let event =
                    NewEvent::new(AuditAction::AuthRefreshReuse, AuditOutcome::Denied, None)
                        .entity("staff", row.staff_id.clone())
                        .details(json!({"family_id": row.family_id}));
                audit::record(conn, instant, &ctx2, event)?;
                return Ok(RefreshOutcome::Refused("reused"));
            }
            if row.expires_at <= now {
                return Ok(RefreshOutcome::Refused("expired"));
            }
            let member = match repo::find(conn, &row.staff_id)? {
                Some(m) if m.can_sign_in(today) => m,
                _ => {
                    revoke_family(conn, &row.family_id, now)?;
                    return Ok(RefreshOutcome::Refused("inactive"));
                }
            };
            let next = store_refresh_token(
                conn,
                &member.row.id,
                Some((row.family_id, row.family_started_at)),
                now,
            )?;
            let event = NewEvent::new(
                AuditAction::AuthRefresh,
                AuditOutcome::Allowed,
                Some(actor_of(&member)),
            )
            .entity("staff", member.row.id.clone());
            audit::record(conn, instant, &ctx2, event)?;
            Ok(RefreshOutcome::Rotated(Box::new(member), next))
        })
        .await?;
    match outcome {
        RefreshOutcome::Rotated(member, next) => token_pair(state, &member, next),
        RefreshOutcome::Refused(reason) => {
            tracing::info!(reason, "refresh refused");
            Err(AppError::Unauthorized(
                "The refresh token is not valid; sign in again.".into(),
            ))
        }
    }
}

/// Ends the session the refresh token belongs to (its family), if it is the caller's.
pub async fn logout(
    state: &AppState,
    ctx: &RequestContext,
    caller: Actor,
    token: String,
) -> Result<(), AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            if let Some(row) = find_refresh(conn, &token)? {
                if row.staff_id == caller.id {
                    revoke_family(conn, &row.family_id, now)?;
                    let event = NewEvent::new(
                        AuditAction::AuthLogout,
                        AuditOutcome::Allowed,
                        Some(caller.clone()),
                    )
                    .entity("staff", caller.id.clone());
                    audit::record(conn, instant, &ctx, event)?;
                }
            }
            Ok(())
        })
        .await
}

/// Ends every session of the caller: all refresh tokens revoked, all access tokens outdated.
pub async fn logout_all(
    state: &AppState,
    ctx: &RequestContext,
    caller: Actor,
) -> Result<(), AppError> {
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            repo::revoke_all_sessions(conn, &caller.id, now)?;
            let event = NewEvent::new(
                AuditAction::AuthLogoutAll,
                AuditOutcome::Allowed,
                Some(caller.clone()),
            )
            .entity("staff", caller.id.clone());
            audit::record(conn, instant, &ctx, event)?;
            Ok(())
        })
        .await
}

/// Changes the caller's password; every other session ends and a new pair is answered.
pub async fn change_password(
    state: &AppState,
    ctx: &RequestContext,
    caller_id: String,
    current: String,
    new: String,
) -> Result<TokenPair, AppError> {
    let id = caller_id.clone();
    let now = stored_now(state.clock.as_ref());
    // Guessing the current password through this route is throttled like a sign-in: the same
    // five failures per e-mail in 15 minutes, counted before the check runs.
    let (member, attempt) = state
        .db
        .write(move |conn| {
            let member = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            let attempt = throttle::claim_attempt(conn, &member.row.email, now)?;
            Ok((member, attempt))
        })
        .await?;
    let staff_event = |action, details| {
        NewEvent::new(action, AuditOutcome::Denied, Some(actor_of(&member)))
            .entity("staff", member.row.id.clone())
            .details(details)
    };
    if let Attempt::Blocked(wait) = attempt {
        let event = staff_event(
            AuditAction::AuthLoginThrottled,
            json!({"by": "email", "during": "password_change"}),
        );
        audit::record_alone(state, ctx, event).await?;
        return Err(AppError::RateLimited {
            retry_after_secs: wait,
        });
    }
    let verified = state
        .passwords
        .verify(current.clone(), Some(member.row.password_hash.clone()))
        .await?;
    let mut errors = Vec::new();
    if verified.matches {
        let email = member.row.email.clone();
        state
            .db
            .write(move |conn| Ok(repo::clear_login_failures(conn, &email)?))
            .await?;
    } else {
        let event = staff_event(
            AuditAction::AuthLoginFailed,
            json!({"reason": "wrong_current_password"}),
        );
        audit::record_alone(state, ctx, event).await?;
        errors.push(FieldError::new(
            "/current_password",
            "wrong",
            "the current password is wrong",
        ));
    }
    if let Err(p) = check_new_password(&new, &member.row.email, Some(&current)) {
        errors.push(crate::http::rules::field_error("/new_password", &p));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = state.passwords.hash(new).await?;
    let instant = state.clock.now();
    let ctx = ctx.clone();
    let (member, refresh) = state
        .db
        .write(move |conn| {
            repo::revoke_all_sessions(conn, &caller_id, now)?;
            diesel::update(staff::table.find(&caller_id))
                .set((
                    staff::password_hash.eq(hash),
                    staff::must_change_password.eq(false),
                    staff::version.eq(staff::version + 1),
                    staff::updated_at.eq(now),
                ))
                .execute(conn)?;
            let member = repo::find(conn, &caller_id)?.ok_or(AppError::NotFound)?;
            let refresh = store_refresh_token(conn, &caller_id, None, now)?;
            let event = NewEvent::new(
                AuditAction::AuthPasswordChange,
                AuditOutcome::Allowed,
                Some(actor_of(&member)),
            )
            .entity("staff", caller_id.clone())
            .changed(["password_hash", "must_change_password"]);
            audit::record(conn, instant, &ctx, event)?;
            Ok((member, refresh))
        })
        .await?;
    token_pair(state, &member, refresh)
}
