//! HTTP conventions shared by every route (api.md §1, §13.1).

pub mod body;
pub mod context;
pub mod csv;
pub mod etag;
pub mod idempotency;
pub mod middleware;
pub mod problem;
pub mod query;
pub mod routes;
pub mod rules;

pub use body::{FieldErrors, JsonBody, Patch, RawJson};
pub use context::RequestContext;
pub use etag::{cas_outcome, etag_header, IfMatch};
pub use problem::{AppError, AppResult, FieldError, Problem};
pub use query::{PageParams, PageRequest, Paginated, QueryParams};

/// Instants go out as RFC 3339 UTC with microseconds and `Z` (they are stored as naive UTC).
pub fn serialize_instant<S: serde::Serializer>(
    at: &chrono::NaiveDateTime,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_instant(at))
}

/// [`serialize_instant`] for an instant that may be absent (`null`).
pub fn serialize_opt_instant<S: serde::Serializer>(
    at: &Option<chrono::NaiveDateTime>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize_instant(at, s),
        None => s.serialize_none(),
    }
}

pub fn format_instant(at: &chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The current instant as stored: naive UTC, truncated to the microseconds both databases keep.
pub fn stored_now(clock: &dyn crate::clock::Clock) -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    clock.now().trunc_subsecs(6).naive_utc()
}

/// `201 Created` with `Location`, the strong `ETag` of `version`, and the resource.
pub fn created<T: serde::Serialize>(
    location: String,
    version: i64,
    body: &T,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, location))
        .insert_header(etag_header(version))
        .json(body)
}

/// `200 OK` with the strong `ETag` of `version`.
pub fn ok_with_etag<T: serde::Serialize>(version: i64, body: &T) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .insert_header(etag_header(version))
        .json(body)
}
