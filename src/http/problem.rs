//! One error type for the whole service, rendered as RFC 9457 `application/problem+json`.
//!
//! Handlers return [`AppError`]; its `error_response` builds the problem and leaves it in the
//! response's extensions, and the envelope middleware fills in `instance` and `request_id` (which
//! only the request knows) before the body is written. Anything else that answers 4xx/5xx without
//! a problem (actix's own errors, CORS refusals) is given the generic problem of its status there.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_BASE: &str = "https://reintegra.example/problems/";
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// One failing field: a JSON Pointer into the request body, or a query parameter's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) such as `/pesel` or `/risk_groups/0/evidence`; for query
    /// parameters, the parameter name.
    #[schema(example = "/pesel")]
    pub field: String,
    /// Stable machine-readable reason, e.g. `required`, `type`, `too_long`, `checksum`.
    #[schema(example = "checksum")]
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document. Extension members: `request_id`, `errors` (422 and query 400s),
/// `code` (every 409), `current_version` (412).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the problem type, `https://reintegra.example/problems/<name>`.
    #[serde(rename = "type")]
    #[schema(example = "https://reintegra.example/problems/validation")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path the problem occurred on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request's `X-Request-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 409: a stable code such as `programme_already_open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For 412: the resource's current `version`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// Further members a specific problem adds (e.g. `existing_participant_id` on `duplicate_pesel`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: Option<String>) -> Self {
        Problem {
            type_: format!("{PROBLEM_BASE}{}", kind.slug()),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail,
            instance: None,
            request_id: None,
            errors: None,
            code: None,
            current_version: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The problem for a status produced outside [`AppError`] (actix, CORS, the router).
    pub fn for_status(status: StatusCode) -> Self {
        let kind = ProblemKind::for_status(status);
        let mut p = Problem::new(kind, None);
        p.status = status.as_u16();
        p
    }
}

/// The problem types of api.md §13.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    MalformedRequest,
    Unauthorized,
    Forbidden,
    PasswordChangeRequired,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    PreconditionRequired,
    RateLimited,
    Internal,
    Unavailable,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 16] = [
        ProblemKind::MalformedRequest,
        ProblemKind::Unauthorized,
        ProblemKind::Forbidden,
        ProblemKind::PasswordChangeRequired,
        ProblemKind::NotFound,
        ProblemKind::MethodNotAllowed,
        ProblemKind::NotAcceptable,
        ProblemKind::Conflict,
        ProblemKind::PreconditionFailed,
        ProblemKind::PayloadTooLarge,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::Validation,
        ProblemKind::PreconditionRequired,
        ProblemKind::RateLimited,
        ProblemKind::Internal,
        ProblemKind::Unavailable,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::MalformedRequest => "malformed-request",
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::PasswordChangeRequired => "password-change-required",
            ProblemKind::NotFound => "not-found",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::NotAcceptable => "not-acceptable",
            ProblemKind::Conflict => "conflict",
            ProblemKind::PreconditionFailed => "precondition-failed",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::Validation => "validation",
            ProblemKind::PreconditionRequired => "precondition-required",
            ProblemKind::RateLimited => "rate-limited",
            ProblemKind::Internal => "internal",
            ProblemKind::Unavailable => "unavailable",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::MalformedRequest => StatusCode::BAD_REQUEST,
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden | ProblemKind::PasswordChangeRequired => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::MalformedRequest => "Malformed request",
            ProblemKind::Unauthorized => "Authentication required",
            ProblemKind::Forbidden => "Forbidden",
            ProblemKind::PasswordChangeRequired => "Password change required",
            ProblemKind::NotFound => "Not found",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::NotAcceptable => "Not acceptable",
            ProblemKind::Conflict => "Conflict",
            ProblemKind::PreconditionFailed => "Precondition failed",
            ProblemKind::PayloadTooLarge => "Payload too large",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::Validation => "Validation failed",
            ProblemKind::PreconditionRequired => "Precondition required",
            ProblemKind::RateLimited => "Too many requests",
            ProblemKind::Internal => "Internal error",
            ProblemKind::Unavailable => "Service unavailable",
        }
    }

    fn for_status(status: StatusCode) -> ProblemKind {
        match status.as_u16() {
            401 => ProblemKind::Unauthorized,
            403 => ProblemKind::Forbidden,
            404 => ProblemKind::NotFound,
            405 => ProblemKind::MethodNotAllowed,
            406 => ProblemKind::NotAcceptable,
            409 => ProblemKind::Conflict,
            412 => ProblemKind::PreconditionFailed,
            413 => ProblemKind::PayloadTooLarge,
            415 => ProblemKind::UnsupportedMediaType,
            422 => ProblemKind::Validation,
            428 => ProblemKind::PreconditionRequired,
            429 => ProblemKind::RateLimited,
            503 => ProblemKind::Unavailable,
            400..=499 => ProblemKind::MalformedRequest,
            _ => ProblemKind::Internal,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Query-string problems: 400 naming each parameter.
    #[error("bad query parameters")]
    BadQuery(Vec<FieldError>),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("not acceptable")]
    NotAcceptable { offered: Vec<String> },
    #[error("conflict {code}: {detail}")]
    Conflict {
        code: &'static str,
        detail: String,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    #[error("precondition failed (current version {current_version})")]
    PreconditionFailed { current_version: i64 },
    #[error("precondition required")]
    PreconditionRequired,
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType { expected: &'static str },
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The text is logged with the request id, never sent to the client.
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
            extra: serde_json::Map::new(),
        }
    }

    pub fn validation(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    pub fn kind(&self) -> ProblemKind {
        match self {
            AppError::Malformed(_) | AppError::BadQuery(_) => ProblemKind::MalformedRequest,
            AppError::Unauthorized(_) => ProblemKind::Unauthorized,
            AppError::Forbidden(_) => ProblemKind::Forbidden,
            AppError::PasswordChangeRequired => ProblemKind::PasswordChangeRequired,
            AppError::NotFound => ProblemKind::NotFound,
            AppError::MethodNotAllowed { .. } => ProblemKind::MethodNotAllowed,
            AppError::NotAcceptable { .. } => ProblemKind::NotAcceptable,
            AppError::Conflict { .. } => ProblemKind::Conflict,
            AppError::PreconditionFailed { .. } => ProblemKind::PreconditionFailed,
            AppError::PreconditionRequired => ProblemKind::PreconditionRequired,
            AppError::PayloadTooLarge { .. } => ProblemKind::PayloadTooLarge,
            AppError::UnsupportedMediaType { .. } => ProblemKind::UnsupportedMediaType,
            AppError::Validation(_) => ProblemKind::Validation,
            AppError::RateLimited { .. } => ProblemKind::RateLimited,
            AppError::Unavailable(_) => ProblemKind::Unavailable,
            AppError::Internal(_) => ProblemKind::Internal,
        }
    }

    pub fn to_problem(&self) -> Problem {
        let kind = self.kind();
        let detail = match self {
            AppError::Malformed(d)
            | AppError::Unauthorized(d)
            | AppError::Forbidden(d)
            | AppError::Unavailable(d) => Some(d.clone()),
            AppError::BadQuery(_) => Some("One or more query parameters are invalid.".into()),
            AppError::PasswordChangeRequired => {
                Some("Change your password (POST /api/v1/auth/password) before anything else.".into())
            }
            AppError::NotFound => Some("The resource does not exist or is not visible to you.".into()),
            AppError::MethodNotAllowed { allow } => {
                Some(format!("This resource answers {}.", allow.join(", ")))
            }
            AppError::NotAcceptable { offered } => {
                Some(format!("This endpoint offers {}.", offered.join(", ")))
            }
            AppError::Conflict { detail, .. } => Some(detail.clone()),
            AppError::PreconditionFailed { .. } => Some(
                "The resource has changed since you read it; read it again and retry with its new ETag."
                    .into(),
            ),
            AppError::PreconditionRequired => {
                Some("This update requires an If-Match header with the resource's ETag.".into())
            }
            AppError::PayloadTooLarge { limit } => {
                Some(format!("The request body exceeds {limit} bytes."))
            }
            AppError::UnsupportedMediaType { expected } => {
                Some(format!("The request body must be {expected}."))
            }
            AppError::Validation(_) => Some("One or more fields are invalid.".into()),
            AppError::RateLimited { retry_after_secs } => {
                Some(format!("Too many attempts; retry after {retry_after_secs} seconds."))
            }
            AppError::Internal(_) => Some("An unexpected error occurred; quote the request id when reporting it.".into()),
        };
        let mut p = Problem::new(kind, detail);
        match self {
            AppError::BadQuery(errors) | AppError::Validation(errors) => {
                p.errors = Some(errors.clone())
            }
            AppError::Conflict { code, extra, .. } => {
                p.code = Some((*code).to_owned());
                p.extra = extra.clone();
            }
            AppError::PreconditionFailed { current_version } => {
                p.current_version = Some(*current_version)
            }
            _ => {}
        }
        p
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.kind().status()
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(msg) = self {
            // The request id is attached to this line by the envelope's span.
            tracing::error!(error = %msg, "internal error");
        }
        let problem = self.to_problem();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
        match self {
            AppError::RateLimited { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.join(", ")));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = res.body(body);
        res.extensions_mut().insert(problem);
        res
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => AppError::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => {
                tracing::info!(constraint = ?info.constraint_name(), "unique violation");
                AppError::conflict(
                    "duplicate",
                    "A record with the same unique value already exists.",
                )
            }
            E::DatabaseError(K::ForeignKeyViolation, _) => {
                AppError::Validation(vec![FieldError::new(
                    "",
                    "reference",
                    "A referenced record does not exist.",
                )])
            }
            E::DatabaseError(K::CheckViolation | K::NotNullViolation, _) => {
                AppError::Validation(vec![FieldError::new(
                    "",
                    "constraint",
                    "A value breaks a stored rule.",
                )])
            }
            // SQLite reports some CHECK/NOT NULL failures without a specific kind.
            E::DatabaseError(K::Unknown, ref info)
                if info.message().contains("constraint failed") =>
            {
                AppError::Validation(vec![FieldError::new(
                    "",
                    "constraint",
                    "A value breaks a stored rule.",
                )])
            }
            E::DatabaseError(K::SerializationFailure, _) => AppError::conflict(
                "concurrent_update",
                "Another request changed the same data at the same time; retry.",
            ),
            E::DatabaseError(K::ClosedConnection, _) => {
                AppError::Unavailable("the database connection was lost".into())
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking pool: {e}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_slug_and_matching_status() {
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        for kind in ProblemKind::ALL {
            if kind != ProblemKind::PasswordChangeRequired {
                assert_eq!(ProblemKind::for_status(kind.status()), kind, "{kind:?}");
            }
        }
    }

    #[test]
    fn internal_details_never_reach_the_body() {
        let p = AppError::Internal("password authentication failed for user x".into()).to_problem();
        let body = serde_json::to_string(&p).unwrap();
        assert!(!body.contains("password authentication"), "{body}");
        assert_eq!(p.status, 500);
    }

    #[test]
    fn conflict_carries_its_code_and_precondition_its_version() {
        let p = AppError::conflict("programme_already_open", "open").to_problem();
        assert_eq!(p.code.as_deref(), Some("programme_already_open"));
        let p = AppError::PreconditionFailed { current_version: 7 }.to_problem();
        assert_eq!(p.current_version, Some(7));
    }
}
