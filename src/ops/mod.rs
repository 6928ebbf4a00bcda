//! Operations: liveness, readiness, Prometheus metrics and the OpenAPI document.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::config::DatabaseUrl;
use crate::db::migrations;
use crate::http::{AppError, Problem};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready).service(metrics);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the process runs; `ready` when it can serve requests.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `sqlite` or `postgres` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
}

/// Liveness: the process is running.
#[utoipa::path(
    operation_id = "health_live",
    tag = "operations",
    responses((status = 200, description = "The process runs", body = Health))
)]
#[get("/health/live")]
async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        database: None,
    })
}

/// A readiness probe must answer quickly even while the database hangs.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: the database answers and every migration this build knows is applied.
#[utoipa::path(
    operation_id = "health_ready",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable or migrations are pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    // A SQLite file deleted or replaced under a running service would take every later write
    // into an unlinked file, lost at the next restart: not ready.
    if let DatabaseUrl::Sqlite(path) = &state.config.database {
        if !path.is_file() {
            return Err(AppError::Unavailable(
                "the database is not reachable".into(),
            ));
        }
    }
    let db = state.db.clone();
    let backend = db.backend();
    let pending = web::block(move || {
        let mut conn = db
            .pool()
            .get_timeout(READY_TIMEOUT)
            .map_err(|_| AppError::Unavailable("the database is not reachable".into()))?;
        migrations::has_pending(&mut conn).map_err(|e| {
            tracing::warn!(error = %e, "readiness: cannot read migration state");
            AppError::Unavailable("the database is not reachable".into())
        })
    })
    .await??;
    if pending {
        return Err(AppError::Unavailable(
            "database migrations are pending".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(Health {
        status: "ready",
        database: Some(backend.name()),
    }))
}

/// Prometheus metrics: requests by route template and status, latency, pool state.
/// Answers 404 when `REINTEGRA_METRICS=off`.
#[utoipa::path(
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain"),
        (status = 404, description = "Metrics are turned off", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if !state.config.metrics {
        return Err(AppError::NotFound);
    }
    let text = state
        .metrics
        .render(state.db.pool().state(), state.config.db_pool_size);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// The OpenAPI document of this API (the same as `openapi/openapi.json` in the repository).
#[utoipa::path(
    operation_id = "openapi_document",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::document_json())
}
