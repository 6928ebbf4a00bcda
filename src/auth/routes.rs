//! `/api/v1/auth/*`: sign-in, refresh, sign-out, the caller's profile, password change.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use super::current::{Authenticated, CurrentStaff};
use super::service::{self, Me, TokenPair};
use crate::http::rules::{valid, RequestBody};
use crate::http::{AppError, JsonBody, Problem, RequestContext};
use crate::policy::{self, Action};
use crate::staff::model::Password;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(login)
        .service(refresh)
        .service(logout)
        .service(logout_all)
        .service(me)
        .service(change_password);
}

/// `validator`'s checks on the wire; the bodies below only carry strings to the service.
#[derive(Deserialize, Validate)]
pub struct LoginWire {
    // Longer than any e-mail (RFC 5321): refused before it reaches the throttle table.
    #[validate(required, length(max = 254, code = "too_long"))]
    email: Option<String>,
    #[validate(required, length(max = 1024, code = "too_long"))]
    password: Option<String>,
}

#[derive(ToSchema)]
pub struct LoginRequest {
    #[schema(example = "anna.kowalska@club.example.org", max_length = 254)]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
}

impl RequestBody for LoginRequest {
    type Wire = LoginWire;
    fn from_wire(w: LoginWire) -> Option<Self> {
        Some(LoginRequest {
            email: w.email?,
            password: w.password?,
        })
    }
}

#[derive(Deserialize, Validate)]
pub struct RefreshWire {
    #[validate(required, length(max = 1024, code = "too_long"))]
    refresh_token: Option<String>,
}

#[derive(ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl RequestBody for RefreshRequest {
    type Wire = RefreshWire;
    fn from_wire(w: RefreshWire) -> Option<Self> {
        Some(RefreshRequest {
            refresh_token: w.refresh_token?,
        })
    }
}

#[derive(Deserialize, Validate)]
pub struct PasswordChangeWire {
    #[validate(required, length(max = 1024, code = "too_long"))]
    current_password: Option<String>,
    #[validate(required, custom(function = "valid"))]
    new_password: Option<Password>,
}

#[derive(ToSchema)]
pub struct PasswordChangeRequest {
    pub current_password: String,
    /// At least 12 characters, not containing the e-mail's local part, different from the current one.
    pub new_password: String,
}

impl RequestBody for PasswordChangeRequest {
    type Wire = PasswordChangeWire;
    fn from_wire(w: PasswordChangeWire) -> Option<Self> {
        Some(PasswordChangeRequest {
            current_password: w.current_password?,
            new_password: w.new_password?.0,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub staff: Me,
    /// Permission names the caller's roles grant (the policy's action names).
    #[schema(value_type = Vec<Action>)]
    pub permissions: Vec<&'static str>,
}

/// Sign in with e-mail and password. Unknown e-mail, wrong password, deactivated and expired
/// accounts all get the same 401. Five failures for one e-mail within 15 minutes → 429 for that
/// e-mail until the oldest leaves the window; each client address is also limited per minute.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenPair),
        (status = 401, description = "Wrong credentials or the account cannot sign in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (see Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    ctx: RequestContext,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let pair = service::login(&state, &ctx, body.email, body.password).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Exchange a refresh token for a new pair. The token is used up; presenting it again revokes
/// its whole family (theft detection). Idle expiry 8 h, absolute 7 days after sign-in.
#[utoipa::path(
    operation_id = "refresh_tokens",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new pair", body = TokenPair),
        (status = 401, description = "Unknown, used, revoked or expired refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
async fn refresh(
    state: web::Data<AppState>,
    ctx: RequestContext,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let pair = service::refresh(&state, &ctx, body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// End the session the refresh token belongs to (its whole family).
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body = RefreshRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
async fn logout(
    state: web::Data<AppState>,
    ctx: RequestContext,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    service::logout(&state, &ctx, caller.actor(), body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// End every session of the caller: all refresh tokens are revoked and every access token they
/// hold stops working at once.
#[utoipa::path(
    operation_id = "logout_all",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The password must be changed first", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout-all")]
async fn logout_all(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
) -> Result<HttpResponse, AppError> {
    service::logout_all(&state, &ctx, caller.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's profile, roles and permissions.
#[utoipa::path(
    operation_id = "get_me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/auth/me")]
async fn me(Authenticated(caller): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(MeResponse {
        permissions: policy::permissions(&caller.roles),
        staff: Me {
            id: caller.id,
            email: caller.email,
            full_name: caller.full_name,
            roles: caller.roles,
            active_until: caller.active_until,
            must_change_password: caller.must_change_password,
        },
    })
}

/// Change the caller's password. Every other session ends; the answer is a new pair.
#[utoipa::path(
    operation_id = "change_password",
    tag = "auth",
    request_body = PasswordChangeRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Password changed; a new pair", body = TokenPair),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password or a new password breaking the rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Five wrong passwords (sign-ins and changes together) in 15 minutes", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/password")]
async fn change_password(
    state: web::Data<AppState>,
    ctx: RequestContext,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<PasswordChangeRequest>,
) -> Result<HttpResponse, AppError> {
    let pair = service::change_password(
        &state,
        &ctx,
        caller.id,
        body.current_password,
        body.new_password,
    )
    .await?;
    Ok(HttpResponse::Ok().json(pair))
}
