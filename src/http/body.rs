//! Request bodies on the wire: content type (415), size (413), JSON syntax (400). What the JSON
//! must hold is the request type's business ([`super::rules`]); rules that need stored data
//! collect their failures in a [`FieldErrors`] for a second 422.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use chrono::NaiveDate;
use futures_util::StreamExt;
use serde_json::Value;

use super::problem::{AppError, FieldError};
use super::rules::{read_body, RequestBody};

pub use super::rules::{FreeText, Label, Name, Patch};

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Failures of the rules that need stored data (the second 422), each with its JSON Pointer.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        FieldErrors(Vec::new())
    }

    pub fn push(&mut self, pointer: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(pointer, code, message));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok` when nothing failed, else one 422 listing every failure.
    pub fn fail_on(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// Extracts a validated `T` from a JSON body: 415 for a wrong content type, 413 over
/// [`BODY_LIMIT`], 400 for malformed JSON, 422 with every field error.
pub struct JsonBody<T>(pub T);

impl<T: RequestBody + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = RawJson::from_request(req, payload);
        Box::pin(async move { raw.await?.parse().map(JsonBody) })
    }
}

/// A syntactically valid JSON body not yet read into a request type: handlers that must check
/// the caller's permission before judging the fields (so a forbidden caller gets 403, not 422)
/// take this and call [`RawJson::parse`] after the policy.
pub struct RawJson(pub Value, pub NaiveDate);

impl RawJson {
    pub fn parse<T: RequestBody>(&self) -> Result<T, AppError> {
        read_body(&self.0, self.1)
    }
}

impl FromRequest for RawJson {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_content_type(req).and_then(|_| check_declared_length(req));
        // "Not in the future" rules judge by the unit's calendar (the service's clock).
        let today = req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map(|state| state.clock.today())
            .ok_or_else(|| AppError::Internal("no application state".into()));
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let bytes = read_limited(&mut payload, BODY_LIMIT).await?;
            let today = today?;
            parse_json(&bytes).map(|value| RawJson(value, today))
        })
    }
}

fn check_content_type(req: &HttpRequest) -> Result<(), AppError> {
    let expected = "application/json";
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let merge_patch_ok = req.method() == actix_web::http::Method::PATCH;
    if essence == expected || (merge_patch_ok && essence == "application/merge-patch+json") {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType { expected })
    }
}

fn check_declared_length(req: &HttpRequest) -> Result<(), AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > BODY_LIMIT as u64 => Err(AppError::PayloadTooLarge { limit: BODY_LIMIT }),
        _ => Ok(()),
    }
}

/// Reads the body, stopping as soon as it passes `limit` (a chunked body declares no length).
pub async fn read_limited(payload: &mut Payload, limit: usize) -> Result<Vec<u8>, AppError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::Malformed(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Step one: any syntactically valid JSON, else 400.
pub fn parse_json(bytes: &[u8]) -> Result<Value, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::Malformed(
            "the request body is empty; expected JSON".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        AppError::Malformed(format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}
