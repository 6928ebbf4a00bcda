//! Who is calling: the bearer token checked, the staff member loaded, fail-closed.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use chrono::NaiveDate;
use serde_json::json;

use super::throttle::RejectionVerdict;
use super::token::verify_access;
use crate::audit::{self, Actor, AuditAction, AuditOutcome, NewEvent};
use crate::http::{AppError, RequestContext};
use crate::policy::{self, Action, Grant, Role};
use crate::staff::repo;
use crate::state::AppState;

/// The authenticated staff member, checked on every request against the database: deactivation,
/// expiry, role changes and logout-all take effect on the next request.
#[derive(Debug, Clone)]
pub struct CurrentStaff {
    pub id: String,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub active_until: Option<NaiveDate>,
    pub must_change_password: bool,
}

impl From<&crate::staff::model::StaffMember> for CurrentStaff {
    fn from(member: &crate::staff::model::StaffMember) -> CurrentStaff {
        CurrentStaff {
            id: member.row.id.clone(),
            email: member.row.email.clone(),
            full_name: member.row.full_name.clone(),
            roles: member.roles.clone(),
            active_until: member.row.active_until,
            must_change_password: member.row.must_change_password,
        }
    }
}

impl CurrentStaff {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id.clone(),
            roles: self.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The grants the caller's roles hold for `action`; a role that may never do it is 403,
    /// recorded in the audit log as a denied attempt.
    pub async fn require(
        &self,
        state: &AppState,
        ctx: &RequestContext,
        action: Action,
    ) -> Result<Vec<Grant>, AppError> {
        match policy::require(&self.roles, action) {
            Ok(grants) => Ok(grants),
            Err(e) => {
                self.record_denial(state, ctx, action, None).await;
                Err(e)
            }
        }
    }

    /// Writes a denied attempt (403/404 decided by the policy) in its own transaction.
    pub async fn record_denial(
        &self,
        state: &AppState,
        ctx: &RequestContext,
        action: Action,
        entity: Option<(&'static str, String)>,
    ) {
        let mut event = NewEvent::new(action, AuditOutcome::Denied, Some(self.actor()));
        if let Some((kind, id)) = entity {
            // An attempt on a participant names them, so managers see it beside the other
            // events about that participant (api.md §13.7).
            if kind == "participant" {
                event = event.participant(id.clone());
            }
            event = event.entity(kind, id);
        }
        if let Err(e) = audit::record_alone(state, ctx, event).await {
            tracing::error!(error = %e, "could not record a denied attempt");
        }
    }
}

/// Like [`CurrentStaff`], but also for a staff member who must still change their password:
/// only `/auth/me` and `/auth/password` take it.
#[derive(Debug, Clone)]
pub struct Authenticated(pub CurrentStaff);

impl FromRequest for CurrentStaff {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req, true).await })
    }
}

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req, false).await.map(Authenticated) })
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn authenticate(req: &HttpRequest, gated: bool) -> Result<CurrentStaff, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?
        .clone();
    let ctx = RequestContext::of(req);
    let route = req.match_pattern().unwrap_or_default();

    let reject = |reason: &'static str, staff_id: Option<String>| {
        let state = state.clone();
        let ctx = ctx.clone();
        let route = route.clone();
        async move {
            let unrecorded_before = match state.rejections.note(ctx.ip, state.clock.now()) {
                RejectionVerdict::Throttle(wait) => {
                    return AppError::RateLimited {
                        retry_after_secs: wait,
                    }
                }
                RejectionVerdict::Count => {
                    return AppError::Unauthorized("A valid access token is required.".into())
                }
                RejectionVerdict::Record { unrecorded_before } => unrecorded_before,
            };
            let mut details = json!({"reason": reason, "route": route});
            if unrecorded_before > 0 {
                // Rejections from this address since the last recorded one, counted only.
                details["unrecorded_before"] = json!(unrecorded_before);
            }
            let mut event =
                NewEvent::new(AuditAction::AuthTokenRejected, AuditOutcome::Denied, None)
                    .details(details);
            if let Some(id) = staff_id {
                event = event.entity("staff", id);
            }
            if let Err(e) = audit::record_alone(&state, &ctx, event).await {
                tracing::error!(error = %e, "could not record a rejected token");
            }
            AppError::Unauthorized("A valid access token is required.".into())
        }
    };

    let Some(token) = bearer(req) else {
        return Err(reject("missing", None).await);
    };
    let claims = match verify_access(&state.jwt_secret, &token, state.clock.now()) {
        Ok(c) => c,
        Err(r) => {
            return Err(reject(r.as_str(), None).await);
        }
    };
    let id = claims.sub.clone();
    let member = state
        .db
        .read(move |conn| Ok(repo::find(conn, &id)?))
        .await?;
    let today = state.clock.today();
    let member = match member {
        Some(m) if m.row.token_version != claims.ver => {
            return Err(reject("revoked", Some(m.row.id)).await);
        }
        Some(m) if !m.can_sign_in(today) => return Err(reject("inactive", Some(m.row.id)).await),
        Some(m) => m,
        None => return Err(reject("unknown_staff", Some(claims.sub)).await),
    };
    let staff = CurrentStaff::from(&member);
    if gated && staff.must_change_password {
        let event = NewEvent::new(
            AuditAction::AuthPasswordChangeRequired,
            AuditOutcome::Denied,
            Some(staff.actor()),
        )
        .details(json!({"route": route}));
        if let Err(e) = audit::record_alone(&state, &ctx, event).await {
            tracing::error!(error = %e, "could not record a denied attempt");
        }
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(staff)
}
