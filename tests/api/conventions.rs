//! HTTP conventions of api.md §1 and §13.1: problem+json for every error, request bodies, query
//! parameters and pagination, If-Match, request ids, security headers, CORS.

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{TestApp, TestResponse};
use crate::fixtures;

fn post_json(path: &str, body: serde_json::Value) -> TestRequest {
    TestRequest::post().uri(path).set_json(body)
}

#[actix_web::test]
async fn every_problem_kind_renders_as_problem_json_with_its_status() {
    let app = fixtures::spawn().await;
    let kinds = [
        ("malformed-request", 400),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("password-change-required", 403),
        ("not-found", 404),
        ("method-not-allowed", 405),
        ("not-acceptable", 406),
        ("conflict", 409),
        ("precondition-failed", 412),
        ("payload-too-large", 413),
        ("unsupported-media-type", 415),
        ("validation", 422),
        ("precondition-required", 428),
        ("rate-limited", 429),
        ("internal", 500),
        ("unavailable", 503),
    ];
    for (kind, status) in kinds {
        let path = format!("/fixture/problems/{kind}");
        let res = app.get(&path).await;
        let p = res.problem(status, kind);
        assert_eq!(p["instance"], path);
        match kind {
            "conflict" => {
                assert_eq!(p["code"], "programme_already_open");
                assert_eq!(p["existing_participant_id"], "p-1");
            }
            "precondition-failed" => assert_eq!(p["current_version"], 3),
            "rate-limited" => assert_eq!(res.header("retry-after"), Some("42")),
            "validation" => assert_eq!(res.field_errors(), vec![("/x".into(), "required".into())]),
            "internal" => {
                let text = res.text();
                assert!(
                    !text.contains("10.1.2.3") && !text.contains("reintegra\""),
                    "{text}"
                );
            }
            _ => {}
        }
    }
}

#[actix_web::test]
async fn unknown_route_is_404_problem() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/v1/no-such-thing").await;
    let p = res.problem(404, "not-found");
    assert_eq!(p["instance"], "/api/v1/no-such-thing");
}

#[actix_web::test]
async fn wrong_method_on_a_known_path_is_405_with_allow() {
    let app = TestApp::spawn().await;
    for req in [
        TestRequest::post().uri("/health/live"),
        TestRequest::delete().uri("/api/v1/openapi.json"),
        TestRequest::put().uri("/health/ready"),
    ] {
        let res = app.call(req).await;
        res.problem(405, "method-not-allowed");
        assert_eq!(res.header("allow"), Some("GET, HEAD"));
    }
}

#[actix_web::test]
async fn accept_that_the_endpoint_cannot_satisfy_is_406() {
    let app = TestApp::spawn().await;
    for accept in ["text/csv", "application/xml", "application/json;q=0"] {
        let res = app
            .call(
                TestRequest::get()
                    .uri("/api/v1/openapi.json")
                    .insert_header((header::ACCEPT, accept)),
            )
            .await;
        res.problem(406, "not-acceptable");
    }
    for accept in [
        "application/json",
        "*/*",
        "application/*",
        "text/html, application/json;q=0.5",
    ] {
        let res = app
            .call(
                TestRequest::get()
                    .uri("/api/v1/openapi.json")
                    .insert_header((header::ACCEPT, accept)),
            )
            .await;
        assert_eq!(res.status, 200, "Accept: {accept}");
    }
}

#[actix_web::test]
async fn malformed_json_is_400_and_names_the_position() {
    let app = fixtures::spawn().await;
    let res = app
        .call(
            TestRequest::post()
                .uri("/fixture/people")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{\"name\": \"Anna\",,}"),
        )
        .await;
    let p = res.problem(400, "malformed-request");
    assert!(p["detail"].as_str().unwrap().contains("line 1"), "{p}");

    let empty = app
        .call(
            TestRequest::post()
                .uri("/fixture/people")
                .insert_header((header::CONTENT_TYPE, "application/json")),
        )
        .await;
    empty.problem(400, "malformed-request");
}

#[actix_web::test]
async fn body_that_is_not_json_is_415() {
    let app = fixtures::spawn().await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = TestRequest::post()
            .uri("/fixture/people")
            .set_payload("name=Anna");
        if let Some(ct) = content_type {
            req = req.insert_header((header::CONTENT_TYPE, ct));
        }
        app.call(req).await.problem(415, "unsupported-media-type");
    }
    // charset parameters are fine
    let res = app
        .call(
            TestRequest::post()
                .uri("/fixture/people")
                .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
                .set_payload(r#"{"name":"Anna","born_on":"2000-01-01","kind":"group"}"#),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
}

#[actix_web::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = fixtures::spawn().await;
    let big = format!("{{\"note\": \"{}\"}}", "x".repeat(1024 * 1024));
    let res = app
        .call(
            TestRequest::post()
                .uri("/fixture/people")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(big),
        )
        .await;
    res.problem(413, "payload-too-large");
}

#[actix_web::test]
async fn every_field_error_is_listed_in_one_422_with_json_pointers() {
    let app = fixtures::spawn().await;
    let res = app
        .call(post_json(
            "/fixture/people",
            json!({
                "name": "x".repeat(10_000),
                "born_on": "2026-02-30",
                "kind": "committee",
                "visits": "three",
                "tags": ["ok", 7, "a\u{0007}b"],
                "address": {"postal_code": "00000", "city": null},
                "note": "line\u{0000}break"
            }),
        ))
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    let mut expected: Vec<(String, String)> = [
        ("/name", "too_long"),
        ("/born_on", "date"),
        ("/kind", "enum"),
        ("/visits", "type"),
        ("/tags/1", "type"),
        ("/tags/2", "control_character"),
        ("/address/postal_code", "format"),
        ("/address/city", "required"),
        ("/note", "control_character"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    expected.sort();
    assert_eq!(errors, expected);
}

#[actix_web::test]
async fn missing_fields_and_wrong_shapes_are_422_not_400() {
    let app = fixtures::spawn().await;
    let res = app.call(post_json("/fixture/people", json!({}))).await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("/born_on".to_string(), "required".to_string()),
            ("/kind".to_string(), "required".to_string()),
            ("/name".to_string(), "required".to_string()),
        ]
    );
    let res = app.call(post_json("/fixture/people", json!([1, 2]))).await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/".to_string(), "type".to_string())]
    );
}

#[actix_web::test]
async fn valid_body_passes_with_unknown_fields_ignored() {
    let app = fixtures::spawn().await;
    let res = app
        .call(post_json(
            "/fixture/people",
            json!({"name": "  Łucja ", "born_on": "2004-02-29", "kind": "individual",
                   "tags": ["a"], "address": {"postal_code": "00-950", "city": "Łódź"},
                   "favourite_colour": "green"}),
        ))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body = res.json();
    assert_eq!(body["name"], "Łucja");
    assert_eq!(body["address"]["city"], "Łódź");
    assert!(body.get("favourite_colour").is_none());
}

async fn seed_notes(app: &TestApp, n: usize) {
    for i in 0..n {
        let res = app
            .call(post_json(
                "/fixture/notes",
                json!({"id": format!("n{i:03}"), "body": "text"}),
            ))
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
    }
}

#[actix_web::test]
async fn lists_answer_the_pagination_envelope() {
    let app = fixtures::spawn().await;
    seed_notes(&app, 7).await;
    let res = app.get("/fixture/notes?page=2&per_page=3").await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["page"], 2);
    assert_eq!(body["per_page"], 3);
    assert_eq!(body["total"], 7);
    let ids: Vec<_> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("n003"), json!("n004"), json!("n005")]);

    let defaults = app.get("/fixture/notes").await.json();
    assert_eq!(
        (defaults["page"].clone(), defaults["per_page"].clone()),
        (json!(1), json!(50))
    );

    let past_end = app.get("/fixture/notes?page=9").await;
    assert_eq!(past_end.status, 200);
    assert_eq!(past_end.json()["items"], json!([]));
    assert_eq!(past_end.json()["total"], 7);
}

#[actix_web::test]
async fn bad_query_parameters_are_400_naming_each() {
    let app = fixtures::spawn().await;
    for (query, expected) in [
        ("page=0", vec!["page"]),
        ("per_page=201", vec!["per_page"]),
        ("per_page=0&page=x", vec!["page", "per_page"]),
        ("colour=red", vec!["colour"]),
        ("starts_with=a&starts_with=b", vec!["starts_with"]),
    ] {
        let res = app.get(&format!("/fixture/notes?{query}")).await;
        res.problem(400, "malformed-request");
        let mut fields: Vec<String> = res.field_errors().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(fields, expected, "?{query}");
    }
}

#[actix_web::test]
async fn duplicate_key_is_409_with_a_code() {
    let app = fixtures::spawn().await;
    seed_notes(&app, 1).await;
    let res = app
        .call(post_json(
            "/fixture/notes",
            json!({"id": "n000", "body": "again"}),
        ))
        .await;
    let p = res.problem(409, "conflict");
    assert_eq!(p["code"], "duplicate");
}

fn patch_note(id: &str, if_match: Option<&str>, body: &str) -> TestRequest {
    let mut req = TestRequest::patch()
        .uri(&format!("/fixture/notes/{id}"))
        .set_json(json!({ "body": body }));
    if let Some(tag) = if_match {
        req = req.insert_header((header::IF_MATCH, tag));
    }
    req
}

#[actix_web::test]
async fn updates_require_if_match_and_refuse_stale_versions() {
    let app = fixtures::spawn().await;
    seed_notes(&app, 1).await;

    app.call(patch_note("n000", None, "x"))
        .await
        .problem(428, "precondition-required");

    let ok = app.call(patch_note("n000", Some("\"1\""), "second")).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.header("etag"), Some("\"2\""));
    assert_eq!(ok.json()["version"], 2);

    let stale = app.call(patch_note("n000", Some("\"1\""), "lost")).await;
    let p = stale.problem(412, "precondition-failed");
    assert_eq!(p["current_version"], 2);

    for odd in ["*", "W/\"2\"", "2"] {
        let res = app.call(patch_note("n000", Some(odd), "odd")).await;
        res.problem(412, "precondition-failed");
    }

    app.call(patch_note("missing", Some("\"1\""), "x"))
        .await
        .problem(404, "not-found");

    // The PATCH also accepts JSON merge patch bodies.
    let merge = app
        .call(
            TestRequest::patch()
                .uri("/fixture/notes/n000")
                .insert_header((header::IF_MATCH, "\"2\""))
                .insert_header((header::CONTENT_TYPE, "application/merge-patch+json"))
                .set_payload(r#"{"body":"third"}"#),
        )
        .await;
    assert_eq!(merge.status, 200, "{}", merge.text());
}

#[actix_web::test]
async fn two_concurrent_writers_with_the_same_etag_one_wins_one_gets_412() {
    let app = fixtures::spawn().await;
    seed_notes(&app, 1).await;
    for round in 1..=5_i64 {
        let tag = format!("\"{round}\"");
        let (a, b) = futures::join!(
            app.call(patch_note("n000", Some(&tag), "from a")),
            app.call(patch_note("n000", Some(&tag), "from b")),
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 412],
            "round {round}: {} / {}",
            a.text(),
            b.text()
        );
        let loser: &TestResponse = if a.status == 412 { &a } else { &b };
        assert_eq!(loser.json()["current_version"], round + 1);
    }
    let note = app.get("/fixture/notes").await.json();
    assert_eq!(note["items"][0]["version"], 6);
}

#[actix_web::test]
async fn request_ids_are_echoed_when_sane_and_generated_otherwise() {
    let app = TestApp::spawn().await;
    let res = app
        .call(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("x-request-id", "abc.DEF-123_x")),
        )
        .await;
    assert_eq!(res.header("x-request-id"), Some("abc.DEF-123_x"));

    let res = app
        .call(
            TestRequest::get()
                .uri("/nope")
                .insert_header(("x-request-id", "bad id with spaces")),
        )
        .await;
    let generated = res.header("x-request-id").unwrap().to_owned();
    assert_ne!(generated, "bad id with spaces");
    assert!(uuid::Uuid::parse_str(&generated).is_ok());
    assert_eq!(res.json()["request_id"], generated);

    let long = "a".repeat(129);
    let res = app
        .call(
            TestRequest::get()
                .uri("/health/live")
                .insert_header(("x-request-id", long.as_str())),
        )
        .await;
    assert_ne!(res.header("x-request-id"), Some(long.as_str()));
}

#[actix_web::test]
async fn security_headers_are_on_every_response() {
    let app = TestApp::spawn().await;
    for path in ["/health/live", "/api/v1/openapi.json", "/nope"] {
        let res = app.get(path).await;
        assert_eq!(
            res.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(res.header("cache-control"), Some("no-store"), "{path}");
        assert!(res.header("x-request-id").is_some(), "{path}");
    }
}

#[actix_web::test]
async fn cors_allows_listed_origins_and_refuses_others() {
    let app = TestApp::spawn_with(&[("REINTEGRA_CORS_ORIGINS", "https://app.example.org")]).await;
    let preflight = |origin: &str| {
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/api/v1/openapi.json")
            .insert_header((header::ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "GET"))
            .insert_header((
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization, if-match",
            ))
    };
    let allowed = app.call(preflight("https://app.example.org")).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    let allowed_headers = allowed
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(allowed_headers.contains("if-match") && allowed_headers.contains("authorization"));

    let refused = app.call(preflight("https://evil.example.com")).await;
    assert!(refused.header("access-control-allow-origin").is_none());
    assert!(refused.status.is_client_error());

    let simple = app
        .call(
            TestRequest::get()
                .uri("/health/live")
                .insert_header((header::ORIGIN, "https://app.example.org")),
        )
        .await;
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    let exposed = simple
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for h in ["etag", "location", "x-request-id", "retry-after"] {
        assert!(exposed.contains(h), "{h} exposed: {exposed}");
    }
}

#[actix_web::test]
async fn without_configured_origins_every_browser_origin_is_refused() {
    let app = TestApp::spawn().await;
    let res = app
        .call(
            TestRequest::get()
                .uri("/health/live")
                .insert_header((header::ORIGIN, "https://app.example.org")),
        )
        .await;
    assert!(res.header("access-control-allow-origin").is_none());
}
