//! ETags and `If-Match`: every mutable resource has an integer `version`, its strong ETag is
//! `"<version>"`, and updates are compare-and-swap (`… WHERE id = ? AND version = ?`), so two
//! clients holding the same ETag can never both win.

use std::future::{ready, Ready};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest};

use super::problem::AppError;

/// The strong ETag of a version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

pub fn etag_header(version: i64) -> (header::HeaderName, HeaderValue) {
    let value =
        HeaderValue::from_str(&etag(version)).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    (header::ETAG, value)
}

/// The request's `If-Match`, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    Absent,
    Version(i64),
    /// Present but not one of our ETags (`*`, weak or malformed): it can match nothing.
    Unmatchable,
}

/// A version no row ever has: an unmatchable `If-Match` compares against it and fails with 412.
const NO_VERSION: i64 = -1;

impl IfMatch {
    pub fn from_request_headers(req: &HttpRequest) -> IfMatch {
        match req.headers().get(header::IF_MATCH) {
            None => IfMatch::Absent,
            Some(v) => v
                .to_str()
                .ok()
                .and_then(parse_strong_etag)
                .map_or(IfMatch::Unmatchable, IfMatch::Version),
        }
    }

    /// For PATCH and PUT: the expected version, or 428 when the header is missing.
    pub fn required(self) -> Result<i64, AppError> {
        match self {
            IfMatch::Absent => Err(AppError::PreconditionRequired),
            IfMatch::Version(v) => Ok(v),
            IfMatch::Unmatchable => Ok(NO_VERSION),
        }
    }

    /// For state-change POSTs, where `If-Match` is optional and checked only when sent.
    pub fn optional(self) -> Option<i64> {
        match self {
            IfMatch::Absent => None,
            IfMatch::Version(v) => Some(v),
            IfMatch::Unmatchable => Some(NO_VERSION),
        }
    }
}

fn parse_strong_etag(raw: &str) -> Option<i64> {
    let inner = raw.trim().strip_prefix('"')?.strip_suffix('"')?;
    inner.parse::<i64>().ok().filter(|v| *v >= 0)
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(IfMatch::from_request_headers(req)))
    }
}

/// Turns the outcome of a compare-and-swap update into the contract's answer: one row changed is
/// success; none means the row is gone (404) or has moved on (412 with its current version).
pub fn cas_outcome(rows_changed: usize, current_version: Option<i64>) -> Result<(), AppError> {
    match (rows_changed, current_version) {
        (1, _) => Ok(()),
        (0, None) => Err(AppError::NotFound),
        (0, Some(current_version)) => Err(AppError::PreconditionFailed { current_version }),
        (n, _) => Err(AppError::Internal(format!(
            "compare-and-swap changed {n} rows"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_strong_etags_parse() {
        assert_eq!(parse_strong_etag("\"3\""), Some(3));
        assert_eq!(parse_strong_etag(" \"12\" "), Some(12));
        assert_eq!(parse_strong_etag("W/\"3\""), None);
        assert_eq!(parse_strong_etag("3"), None);
        assert_eq!(parse_strong_etag("*"), None);
        assert_eq!(parse_strong_etag("\"-1\""), None);
    }

    #[test]
    fn missing_if_match_is_428_and_unmatchable_never_matches() {
        assert!(matches!(
            IfMatch::Absent.required(),
            Err(AppError::PreconditionRequired)
        ));
        assert_eq!(IfMatch::Unmatchable.required().unwrap(), NO_VERSION);
        assert!(matches!(
            cas_outcome(0, Some(4)),
            Err(AppError::PreconditionFailed { current_version: 4 })
        ));
        assert!(matches!(cas_outcome(0, None), Err(AppError::NotFound)));
        assert!(cas_outcome(1, Some(5)).is_ok());
    }
}
