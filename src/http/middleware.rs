//! The envelope every request passes through, and the answers for routes that do not exist.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use tracing::Instrument;

use super::context::{ClientIp, RequestId, REQUEST_ID_HEADER};
use super::problem::{AppError, FieldError, Problem, PROBLEM_CONTENT_TYPE};
use super::routes::{accepts, RouteTable};
use crate::state::AppState;

/// Outermost middleware: request id and client address, problem+json for every error,
/// security headers, metrics and one log line per request (never bodies, query strings or tokens).
pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let request_id = RequestId::from_headers(req.headers());
    let trusted = state
        .as_ref()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let client_ip = ClientIp::resolve(req.peer_addr().map(|a| a.ip()), req.headers(), trusted);
    req.extensions_mut().insert(request_id.clone());
    req.extensions_mut().insert(client_ip);
    let method = req.method().clone();
    let path = req.path().to_owned();

    let span = tracing::info_span!("request", request_id = %request_id.0);
    let res = next.call(req).instrument(span.clone()).await?;
    let mut res = res.map_into_boxed_body();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());

    if res.status().as_u16() >= 400 {
        res = finish_problem(res, &request_id, &path);
    }
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id.0) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }

    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state
            .metrics
            .observe(method.as_str(), &route, status, elapsed.as_secs_f64());
    }
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            route = %route,
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        )
    });
    Ok(res)
}

/// Sent with every response: the API serves data, never pages, and nothing of it may be cached.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// Writes the final problem body: the one `AppError` left in the response, or the generic problem
/// of the status for errors raised outside our code. `instance` and `request_id` are known here.
fn finish_problem(
    mut res: ServiceResponse<BoxBody>,
    request_id: &RequestId,
    path: &str,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let mut problem = res
        .response_mut()
        .extensions_mut()
        .remove::<Problem>()
        .unwrap_or_else(|| Problem::for_status(status));
    problem.instance = Some(path.to_owned());
    problem.request_id = Some(request_id.0.clone());
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    res.map_body(|_, _| BoxBody::new(body))
}

/// 406 when `Accept` admits none of the media types the matched operation produces.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let entry = RouteTable::global().find(req.path());
    if let Some(offered) = entry.and_then(|entry| entry.offered(req.method())) {
        if !accepts(accept, offered) {
            let offered = offered.to_vec();
            return Ok(req.error_response(AppError::NotAcceptable { offered }));
        }
    }
    // Operations that take query parameters refuse unknown ones themselves (`QueryParams`,
    // together with every bad value); here the ones that take none refuse any.
    if entry.is_some_and(|entry| entry.takes_no_query(req.method()))
        && !req.query_string().is_empty()
    {
        let mut names: Vec<String> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .map(|pairs| pairs.into_iter().map(|(k, _)| k).collect())
                .unwrap_or_else(|_| vec![req.query_string().to_owned()]);
        names.sort();
        names.dedup();
        let errors = names
            .into_iter()
            .map(|name| FieldError::new(name, "unknown", "this endpoint takes no parameters"))
            .collect();
        return Ok(req.error_response(AppError::BadQuery(errors)));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The answer for everything no route matched: 405 with `Allow` when the path exists with other
/// methods, else 404.
pub async fn fallback(req: HttpRequest) -> Result<actix_web::HttpResponse, AppError> {
    Err(match RouteTable::global().find(req.path()) {
        Some(entry) if entry.offered(req.method()).is_none() => AppError::MethodNotAllowed {
            allow: entry.allowed_methods(),
        },
        _ => AppError::NotFound,
    })
}
