//! `Idempotency-Key` for every POST under `/api/v1` except `/auth/*` (api.md §1, §13.1).
//!
//! The first request with a key claims it (a row in `idempotency_keys`), runs, and — when it
//! succeeds — stores its status, `Location`, `ETag` and body. The same key from the same staff
//! member with the same method, path and semantically equal JSON body within 24 hours gets that
//! reply again with `Idempotency-Replayed: true`; a different request with a used key gets 422;
//! a duplicate that arrives while the first is still running gets 409. Failed requests (4xx, 5xx)
//! release the key so a corrected retry can use it.
//!
//! The reply is stored after the handler's transaction committed, so two things keep a retry
//! from ever writing a second record: the handler's own write marks the claim `committed_at` in
//! its transaction (through [`mark_committed`], which `Db::write` calls while a claim is active
//! on the task), and the handler and the storing of its reply run as a task of their own, which
//! a client that hangs up does not cancel. A claim that committed but whose reply could not be
//! stored answers 409 `idempotency_reply_lost` instead of running again.

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::body::{read_limited, BODY_LIMIT};
use super::problem::{AppError, FieldError};
use super::stored_now;
use crate::auth::token::verify_access;
use crate::db::schema::idempotency_keys as keys;
use crate::db::AnyConnection;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotency-replayed";
const MAX_KEY_CHARS: usize = 64;

fn retention() -> Duration {
    Duration::hours(24)
}

/// A claim left by a request that never finished (the process stopped) is taken over after this.
fn abandoned_after() -> Duration {
    Duration::minutes(5)
}

/// The claim a request runs under, as the handler's writes see it.
#[derive(Debug, Clone)]
pub struct ActiveClaim {
    staff_id: String,
    key: String,
}

tokio::task_local! {
    static ACTIVE: ActiveClaim;
}

/// The claim of the request running on this task, if it carries an `Idempotency-Key`.
pub fn active_claim() -> Option<ActiveClaim> {
    ACTIVE.try_with(Clone::clone).ok()
}

/// Marks the claim's work as committed, inside the transaction of that work.
pub fn mark_committed(
    conn: &mut AnyConnection,
    claim: &ActiveClaim,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(keys::table.find((&claim.staff_id, &claim.key)))
        .set(keys::committed_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// Deletes every stored key and reply that names one of `ids` in its path, `Location` or body
/// (a participant's routes and the replies that carry their data), except `keep` — the claim of
/// the request doing the purge, whose reply is stored once it commits. Part of anonymisation
/// (api.md §13.1): the replies hold the personal data the request sent or received.
pub fn purge_mentioning(
    conn: &mut AnyConnection,
    ids: &[String],
    keep: Option<&ActiveClaim>,
) -> QueryResult<usize> {
    let mut purged = 0;
    for id in ids {
        let pattern = format!("%{}%", id.replace(['%', '_', '\\'], ""));
        let mut q = diesel::delete(keys::table)
            .filter(
                keys::path
                    .like(pattern.clone())
                    .or(keys::location.like(pattern.clone()))
                    .or(keys::response_body.like(pattern)),
            )
            .into_boxed();
        if let Some(claim) = keep {
            q = q.filter(
                keys::staff_id
                    .ne(claim.staff_id.clone())
                    .or(keys::idem_key.ne(claim.key.clone())),
            );
        }
        purged += q.execute(conn)?;
    }
    Ok(purged)
}

fn applies(req: &ServiceRequest) -> bool {
    req.method() == Method::POST
        && req.path().starts_with("/api/v1/")
        && !req.path().starts_with("/api/v1/auth/")
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = match req.headers().get(HEADER) {
        Some(value) if applies(&req) => value.to_str().map(str::to_owned).unwrap_or_default(),
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(|c| c.is_control())
    {
        let error = AppError::Validation(vec![FieldError::new(
            "Idempotency-Key",
            "invalid",
            format!("1–{MAX_KEY_CHARS} printable characters"),
        )]);
        return Ok(req.error_response(error));
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // Keys belong to a staff member; without a valid token the route answers 401 itself.
    let staff_id = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 7235), as in the route's own token check.
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .and_then(|t| verify_access(&state.jwt_secret, t.trim(), state.clock.now()).ok())
        .map(|claims| (claims.sub, claims.ver));
    let Some((staff_id, token_version)) = staff_id else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };

    let mut payload = req.take_payload();
    let body = match read_limited(&mut payload, BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let request = Claim {
        staff_id,
        key,
        method: req.method().to_string(),
        path: req.path().to_owned(),
        hash: request_hash(&body),
    };
    req.set_payload(payload_of(body));

    let now = stored_now(state.clock.as_ref());
    let today = state.clock.today();
    let claim = request.clone();
    let begun = state
        .db
        .write(move |conn| {
            // The same check as the route's token check: a stored reply is never handed to an
            // account that was deactivated, signed out or must change its password since.
            let current = crate::staff::repo::find(conn, &claim.staff_id)?.is_some_and(|m| {
                m.row.token_version == token_version
                    && m.can_sign_in(today)
                    && !m.row.must_change_password
            });
            if !current {
                return Ok(Begin::Unchecked);
            }
            begin(conn, &claim, now)
        })
        .await;
    match begun {
        Ok(Begin::Unchecked) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(e) => Ok(req.error_response(e)),
        Ok(Begin::Replay(stored)) => Ok(req.into_response(stored.into_response())),
        Ok(Begin::InProgress) => Ok(req.error_response(AppError::conflict(
            "idempotency_in_progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        ))),
        Ok(Begin::ReplyLost) => Ok(req.error_response(AppError::conflict(
            "idempotency_reply_lost",
            "The request with this Idempotency-Key was carried out, but its reply could not be \
             stored; read the resource rather than repeating the request.",
        ))),
        Ok(Begin::Mismatch) => Ok(
            req.error_response(AppError::Validation(vec![FieldError::new(
                "Idempotency-Key",
                "reused",
                "this key was already used for a different request",
            )])),
        ),
        Ok(Begin::Proceed) => {
            let active = ActiveClaim {
                staff_id: request.staff_id.clone(),
                key: request.key.clone(),
            };
            // A task of its own: a client that hangs up must not stop the reply being stored.
            let run = ACTIVE.scope(active, async move {
                let res = next.call(req).await?.map_into_boxed_body();
                Ok::<_, actix_web::Error>(finish(&state, request, res).await)
            });
            actix_web::rt::spawn(run)
                .await
                .map_err(|_| AppError::Internal("the request's task failed".into()))?
        }
    }
}

#[derive(Debug, Clone)]
struct Claim {
    staff_id: String,
    key: String,
    method: String,
    path: String,
    hash: String,
}

/// Semantically equal JSON bodies (key order, white space) hash alike; other bodies by bytes.
fn request_hash(body: &[u8]) -> String {
    let canonical = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => value.to_string().into_bytes(),
        Err(_) => body.to_vec(),
    };
    hex::encode(Sha256::digest(&canonical))
}

fn payload_of(body: Vec<u8>) -> Payload {
    let (_, mut inner) = actix_http::h1::Payload::create(true);
    inner.unread_data(body.into());
    Payload::from(inner)
}

struct StoredReply {
    status: i32,
    body: String,
    location: Option<String>,
    etag: Option<String>,
}

impl StoredReply {
    fn into_response(self) -> HttpResponse {
        let status = u16::try_from(self.status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, "application/json"));
        res.insert_header((
            HeaderName::from_static(REPLAYED_HEADER),
            HeaderValue::from_static("true"),
        ));
        if let Some(location) = self.location {
            res.insert_header((header::LOCATION, location));
        }
        if let Some(etag) = self.etag {
            res.insert_header((header::ETAG, etag));
        }
        res.body(self.body)
    }
}

enum Begin {
    /// The caller is not (or no longer) a valid session: the route answers as it would anyway.
    Unchecked,
    Proceed,
    Replay(StoredReply),
    InProgress,
    /// The work committed; its reply was never stored.
    ReplyLost,
    Mismatch,
}

type StoredRow = (
    String,
    String,
    String,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn begin(conn: &mut AnyConnection, claim: &Claim, now: NaiveDateTime) -> Result<Begin, AppError> {
    diesel::delete(keys::table.filter(keys::created_at.lt(now - retention()))).execute(conn)?;
    let existing: Option<StoredRow> = keys::table
        .find((&claim.staff_id, &claim.key))
        .select((
            keys::method,
            keys::path,
            keys::request_hash,
            keys::status,
            keys::response_body,
            keys::location,
            keys::etag,
            keys::created_at,
            keys::committed_at,
        ))
        .first(conn)
        .optional()?;
    if let Some((method, path, hash, status, body, location, etag, created_at, committed)) =
        existing
    {
        if method != claim.method || path != claim.path || hash != claim.hash {
            return Ok(Begin::Mismatch);
        }
        match (status, body) {
            (Some(status), Some(body)) => {
                return Ok(Begin::Replay(StoredReply {
                    status,
                    body,
                    location,
                    etag,
                }));
            }
            _ if created_at > now - abandoned_after() => return Ok(Begin::InProgress),
            _ if committed.is_some() => return Ok(Begin::ReplyLost),
            _ => {
                release(conn, claim)?;
            }
        }
    }
    diesel::insert_into(keys::table)
        .values((
            keys::staff_id.eq(&claim.staff_id),
            keys::idem_key.eq(&claim.key),
            keys::method.eq(&claim.method),
            keys::path.eq(&claim.path),
            keys::request_hash.eq(&claim.hash),
            keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Begin::Proceed)
}

fn release(conn: &mut AnyConnection, claim: &Claim) -> QueryResult<()> {
    diesel::delete(keys::table.find((&claim.staff_id, &claim.key)))
        .execute(conn)
        .map(|_| ())
}

/// Stores a successful reply under the key, or releases the key after a failure. The client gets
/// the handler's answer either way: a reply that cannot be stored is logged, and the claim's
/// `committed_at` then keeps a retry from running the request again.
async fn finish(
    state: &AppState,
    claim: Claim,
    res: ServiceResponse<BoxBody>,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !status.is_success() {
        let released = state.db.write(move |conn| Ok(release(conn, &claim)?)).await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return res;
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = match to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let error = AppError::Internal("could not read the response body".into());
            return ServiceResponse::new(req, HttpResponse::from_error(error));
        }
    };
    let header_text = |name: header::HeaderName| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let location = header_text(header::LOCATION);
    let etag = header_text(header::ETAG);
    let stored_body = String::from_utf8_lossy(&bytes).into_owned();
    let stored = state
        .db
        .write(move |conn| {
            diesel::update(keys::table.find((&claim.staff_id, &claim.key)))
                .set((
                    keys::status.eq(i32::from(status.as_u16())),
                    keys::response_body.eq(stored_body),
                    keys::location.eq(location),
                    keys::etag.eq(etag),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not store an idempotent reply; a retry will get 409");
    }
    ServiceResponse::new(req, head.set_body(BoxBody::new(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantically_equal_json_hashes_alike() {
        assert_eq!(
            request_hash(br#"{"a":1,"b":[1,2]}"#),
            request_hash(b"{ \"b\": [1, 2], \"a\": 1 }")
        );
        assert_ne!(request_hash(br#"{"a":1}"#), request_hash(br#"{"a":2}"#));
        assert_ne!(request_hash(b"not json"), request_hash(b"not json!"));
    }
}
