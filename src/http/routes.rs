//! The table of routes and what each answers, read from the generated OpenAPI document — the
//! same registrations that mount the handlers produce it, so it cannot drift from them.
//!
//! It answers two questions actix-web's router does not: which methods a known path allows
//! (actix answers 404 for a wrong method on macro-registered handlers, actix-web issue #2735), and
//! which media types an operation can produce (for 406).

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::OpenApi;

pub struct RouteEntry {
    pub template: String,
    def: ResourceDef,
    /// Each method with the media types its success response offers (empty: no body).
    pub operations: Vec<(Method, Vec<String>)>,
    /// The methods whose operation documents no query parameter at all.
    without_query: Vec<Method>,
}

impl RouteEntry {
    pub fn allowed_methods(&self) -> Vec<String> {
        let mut allow: Vec<String> = self.operations.iter().map(|(m, _)| m.to_string()).collect();
        if self.operations.iter().any(|(m, _)| m == Method::GET) {
            allow.push("HEAD".into());
        }
        allow
    }

    /// True when the operation takes no query parameter (so any is unknown).
    pub fn takes_no_query(&self, method: &Method) -> bool {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.without_query.contains(method)
    }

    pub fn offered(&self, method: &Method) -> Option<&[String]> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.operations
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, types)| types.as_slice())
    }
}

pub struct RouteTable {
    entries: Vec<RouteEntry>,
}

impl RouteTable {
    pub fn from_openapi(doc: &OpenApi) -> RouteTable {
        let mut entries: Vec<RouteEntry> = doc
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let ops = [
                    (HttpMethod::Get, Method::GET, &item.get),
                    (HttpMethod::Post, Method::POST, &item.post),
                    (HttpMethod::Put, Method::PUT, &item.put),
                    (HttpMethod::Patch, Method::PATCH, &item.patch),
                    (HttpMethod::Delete, Method::DELETE, &item.delete),
                ];
                let present: Vec<_> = ops
                    .into_iter()
                    .filter_map(|(_, method, op)| op.as_ref().map(|op| (method, op)))
                    .collect();
                let without_query = present
                    .iter()
                    .filter(|(_, op)| {
                        !op.parameters.iter().flatten().any(|p| {
                            matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                        })
                    })
                    .map(|(method, _)| method.clone())
                    .collect();
                let operations = present
                    .into_iter()
                    .map(|(method, op)| {
                        let offered = op
                            .responses
                            .responses
                            .iter()
                            .filter(|(code, _)| code.starts_with('2'))
                            .flat_map(|(_, resp)| match resp {
                                utoipa::openapi::RefOr::T(r) => {
                                    r.content.keys().cloned().collect::<Vec<_>>()
                                }
                                utoipa::openapi::RefOr::Ref(_) => {
                                    vec!["application/json".to_owned()]
                                }
                            })
                            .collect();
                        (method, offered)
                    })
                    .collect();
                RouteEntry {
                    template: template.clone(),
                    def: ResourceDef::new(template.as_str()),
                    operations,
                    without_query,
                }
            })
            .collect();
        // Fixed paths win over templated ones (`/staff/me` before `/staff/{id}`).
        entries.sort_by_key(|e| e.template.matches('{').count());
        RouteTable { entries }
    }

    pub fn find(&self, path: &str) -> Option<&RouteEntry> {
        self.entries.iter().find(|e| e.def.is_match(path))
    }

    pub fn global() -> &'static RouteTable {
        static TABLE: OnceLock<RouteTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let table = RouteTable::from_openapi(&crate::openapi::document());
            crate::memory::release_free_memory();
            table
        })
    }
}

/// Does an `Accept` header admit one of `offered`? Absent or empty admits anything.
pub fn accepts(accept: Option<&str>, offered: &[String]) -> bool {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return true;
    };
    if offered.is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            return false;
        }
        offered.iter().any(|o| media_matches(&media, o))
    })
}

fn media_matches(range: &str, offered: &str) -> bool {
    let offered = offered
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if range == "*/*" || range == offered {
        return true;
    }
    match (range.strip_suffix("/*"), offered.split_once('/')) {
        (Some(kind), Some((offered_kind, _))) => kind == offered_kind,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_matching() {
        let json = vec!["application/json".to_owned()];
        let both = vec!["application/json".to_owned(), "text/csv".to_owned()];
        assert!(accepts(None, &json));
        assert!(accepts(Some("*/*"), &json));
        assert!(accepts(Some("application/*"), &json));
        assert!(accepts(Some("text/html, application/json;q=0.9"), &json));
        assert!(!accepts(Some("text/csv"), &json));
        assert!(accepts(Some("text/csv"), &both));
        assert!(!accepts(Some("application/json;q=0"), &json));
        assert!(!accepts(Some("application/xml"), &both));
    }
}
