//! Per-request facts the envelope middleware establishes before any handler runs.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::problem::AppError;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id: the client's own when it is 1–128 characters of `[A-Za-z0-9._-]`,
/// otherwise a new UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn from_headers(headers: &HeaderMap) -> RequestId {
        headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_sane_request_id(v))
            .map(|v| RequestId(v.to_owned()))
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()))
    }
}

pub fn is_sane_request_id(v: &str) -> bool {
    (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// The client's address: the TCP peer, or the last `X-Forwarded-For` hop when the peer is one of
/// `REINTEGRA_TRUSTED_PROXIES` (anyone else could write any address into that header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> ClientIp {
        let Some(peer) = peer else {
            return ClientIp(None);
        };
        if !trusted.contains(&peer) {
            return ClientIp(Some(peer));
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
            .and_then(|s| s.parse::<IpAddr>().ok());
        ClientIp(Some(forwarded.unwrap_or(peer)))
    }
}

/// What the audit log and error bodies need to know about the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: String,
    pub ip: Option<IpAddr>,
}

impl RequestContext {
    pub fn of(req: &HttpRequest) -> RequestContext {
        let ext = req.extensions();
        RequestContext {
            request_id: ext
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_else(|| RequestId::from_headers(req.headers()).0),
            ip: ext
                .get::<ClientIp>()
                .and_then(|c| c.0)
                .or_else(|| req.peer_addr().map(|a| a.ip())),
        }
    }
}

impl FromRequest for RequestContext {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(RequestContext::of(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn request_ids_from_clients_are_kept_only_when_sane() {
        let ok = RequestId::from_headers(&headers(&[("x-request-id", "abc-123_X.y")]));
        assert_eq!(ok.0, "abc-123_X.y");
        let bad = RequestId::from_headers(&headers(&[("x-request-id", "has space")]));
        assert_ne!(bad.0, "has space");
        assert!(uuid::Uuid::parse_str(&bad.0).is_ok());
        assert!(!is_sane_request_id(&"a".repeat(129)));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8")]);
        assert_eq!(ClientIp::resolve(Some(proxy), &h, &[]).0, Some(proxy));
        assert_eq!(
            ClientIp::resolve(Some(proxy), &h, &[proxy]).0,
            Some("5.6.7.8".parse().unwrap())
        );
    }
}
