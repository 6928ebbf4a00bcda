//! Health, readiness, metrics and the OpenAPI document.

use crate::common::TestApp;
use reintegra::db::migrations;

#[actix_web::test]
async fn liveness_answers_while_the_process_runs() {
    let app = TestApp::spawn().await;
    let res = app.get("/health/live").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "ok");
}

#[actix_web::test]
async fn readiness_reports_the_backend_when_the_database_is_current() {
    let app = TestApp::spawn().await;
    let res = app.get("/health/ready").await;
    assert_eq!(res.status, 200, "{}", res.text());
    let expected = match crate::common::backend() {
        crate::common::Backend::Sqlite => "sqlite",
        crate::common::Backend::Postgres => "postgres",
    };
    assert_eq!(
        res.json(),
        serde_json::json!({"status": "ready", "database": expected})
    );
}

#[actix_web::test]
async fn readiness_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/health/ready").await.status, 200);
    app.db.destroy();
    let res = app.get("/health/ready").await;
    let p = res.problem(503, "unavailable");
    assert_eq!(p["detail"], "the database is not reachable");
    // Liveness does not depend on the database.
    assert_eq!(app.get("/health/live").await.status, 200);
}

#[actix_web::test]
async fn readiness_is_503_while_migrations_are_pending() {
    let app = TestApp::spawn().await;
    migrations::revert_last(&mut app.conn()).unwrap();
    let p = app.get("/health/ready").await.problem(503, "unavailable");
    assert_eq!(p["detail"], "database migrations are pending");
    migrations::run_pending(&mut app.conn()).unwrap();
    assert_eq!(app.get("/health/ready").await.status, 200);
}

#[actix_web::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/health/live").await;
    }
    app.get("/api/v1/nothing/here/123").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status, 200);
    assert!(res
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text();
    assert!(
        text.contains(
            r#"reintegra_http_requests_total{method="GET",route="/health/live",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"reintegra_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ),
        "raw paths never become labels: {text}"
    );
    assert!(!text.contains("/nothing/here/123"));
    assert!(text.contains("reintegra_http_request_duration_seconds_bucket"));
    assert!(text.contains("reintegra_db_pool_max_connections 8"));
}

#[actix_web::test]
async fn metrics_can_be_turned_off() {
    let app = TestApp::spawn_with(&[("REINTEGRA_METRICS", "off")]).await;
    app.get("/metrics").await.problem(404, "not-found");
}

fn committed_openapi() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .expect("openapi/openapi.json exists")
}

#[test]
fn committed_openapi_document_is_up_to_date() {
    let generated = reintegra::openapi::document_json();
    assert!(
        committed_openapi() == generated,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[actix_web::test]
async fn the_served_document_is_the_committed_one() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), committed_openapi());
}

#[test]
fn every_operation_documents_its_errors_with_the_shared_problem_schema() {
    let doc: serde_json::Value =
        serde_json::from_str(&reintegra::openapi::document_json()).unwrap();
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let paths = doc["paths"].as_object().unwrap();
    for required in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/api/v1/openapi.json",
    ] {
        assert!(paths.contains_key(required), "{required} is documented");
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/Problem",
                        "{method} {path} {status} uses the Problem schema"
                    );
                }
            }
        }
    }
}

#[test]
fn operation_ids_are_unique() {
    let doc: serde_json::Value =
        serde_json::from_str(&reintegra::openapi::document_json()).unwrap();
    let mut seen = std::collections::HashMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap().to_owned();
            if let Some(first) = seen.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {first} and {method} {path}");
            }
        }
    }
}
