//! Reintegra: participant case management for Polish social integration clubs (KIS) and
//! centres (CIS). `app` is the one place the HTTP application is put together.

pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod consents;
pub mod db;
pub mod demo;
pub mod diagnoses;
pub mod dictionaries;
pub mod gdpr;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod notes;
pub mod openapi;
pub mod ops;
pub mod outcomes;
pub mod participants;
pub mod plans;
pub mod policy;
pub mod programmes;
pub mod reports;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod state;
pub mod text;
pub mod transfer;
pub mod worklist;

use actix_cors::Cors;
use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::from_fn;
use actix_web::{web, App};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

use crate::config::Config;
use crate::http::AppError;
use crate::state::AppState;

pub use crate::state::AppState as State;

/// Every route of the service. Handlers are registered with `.service(...)` so each reaches the
/// OpenAPI document, which in turn feeds the 405 and 406 answers (`http::routes`).
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.configure(ops::routes);
    cfg.service(
        scope::scope("/api/v1")
            .service(ops::openapi_json)
            .configure(auth::routes::routes)
            .configure(staff::routes::routes)
            .configure(audit::routes::routes)
            .configure(settings::routes::routes)
            .configure(dictionaries::routes::routes)
            .configure(participants::routes::routes)
            .configure(programmes::routes::routes)
            .configure(consents::routes::routes)
            .configure(notes::routes::routes)
            .configure(diagnoses::routes::routes)
            .configure(sessions::routes::routes)
            .configure(outcomes::routes::routes)
            .configure(plans::routes::routes)
            .configure(reports::routes::routes)
            .configure(worklist::routes::routes)
            .configure(gdpr::routes::routes),
    );
}

/// The application: routes, the envelope middleware, CORS and the fallback for unknown routes.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    app_with(state, routes)
}

/// The application with the given route set; `app` passes [`routes`]. Tests mount fixtures
/// beside the real routes through this, under the same middleware.
pub fn app_with(
    state: AppState,
    routes: fn(&mut ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.config);
    let (app, _) = App::new()
        .into_utoipa_app()
        .configure(routes)
        .split_for_parts();
    app.app_data(web::Data::new(state))
        // A path segment that cannot be what the route expects (not a UUID, say) names nothing.
        .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .default_service(web::to(http::middleware::fallback))
        .wrap(from_fn(http::idempotency::idempotency))
        .wrap(from_fn(http::middleware::negotiate))
        .wrap(cors)
        .wrap(from_fn(http::middleware::envelope))
}

/// Browsers on the origins of `REINTEGRA_CORS_ORIGINS` may call the API; every other origin is
/// refused (the default allows none).
fn cors(config: &Config) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    for origin in &config.cors_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}
