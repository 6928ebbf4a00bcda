//! Test-only routes that use the shared HTTP pieces (two-step body parsing, query parameters,
//! pagination, If-Match compare-and-swap, problem rendering) the way feature routes do, mounted
//! beside the real routes under the real middleware. They run against a `fixture_notes` table the
//! tests create in their own fresh database.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa_actix_web::service_config::ServiceConfig;

use reintegra::http::rules::{date, valid, Each, FreeText, Label, Name, Obj, RequestBody};
use reintegra::http::{
    cas_outcome, etag_header, AppError, IfMatch, JsonBody, Paginated, QueryParams,
};
use reintegra::participants::model::PostalCode;
use reintegra::state::AppState;
use validator::Validate;

use crate::common::TestApp;

diesel::table! {
    fixture_notes (id) {
        id -> Text,
        body -> Text,
        version -> BigInt,
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(&[]).await
}

pub async fn spawn_with(overrides: &[(&str, &str)]) -> TestApp {
    let app = TestApp::build(overrides, routes).await;
    app.conn()
        .batch_execute(
            "CREATE TABLE fixture_notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL)",
        )
        .expect("create fixture table");
    app
}

fn routes(cfg: &mut ServiceConfig) {
    reintegra::routes(cfg);
    cfg.route("/fixture/people", web::post().to(create_person))
        .route("/fixture/notes", web::get().to(list_notes))
        .route("/fixture/notes", web::post().to(create_note))
        .route("/fixture/notes/{id}", web::patch().to(edit_note))
        .route("/fixture/problems/{kind}", web::get().to(problem));
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Group,
    Individual,
}

#[derive(Serialize, Deserialize, Validate)]
struct Address {
    #[validate(required, custom(function = "valid"))]
    postal_code: Option<PostalCode>,
    #[validate(required, custom(function = "valid"))]
    city: Option<Name>,
}

/// The wire and the value are one type here: the fixture echoes what it read.
#[derive(Serialize, Deserialize, Validate)]
struct Person {
    #[validate(required, custom(function = "valid"))]
    name: Option<Name>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required)]
    born_on: Option<NaiveDate>,
    #[validate(required)]
    kind: Option<Kind>,
    visits: Option<u32>,
    #[serde(default)]
    #[validate(nested)]
    tags: Each<Label>,
    #[validate(nested)]
    address: Option<Obj<Address>>,
    #[validate(custom(function = "valid"))]
    note: Option<FreeText>,
}

/// The fixtures' bodies are their own wire shapes.
macro_rules! own_wire {
    ($($t:ty),+) => {$(
        impl RequestBody for $t {
            type Wire = $t;
            fn from_wire(wire: $t) -> Option<$t> {
                Some(wire)
            }
        }
    )+};
}

own_wire!(Person);

async fn create_person(JsonBody(person): JsonBody<Person>) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, "/fixture/people/1"))
        .json(person)
}

#[derive(Serialize, Queryable)]
struct Note {
    id: String,
    body: String,
    version: i64,
}

#[derive(Deserialize, Validate)]
struct NewNote {
    #[validate(custom(function = "valid"))]
    id: Label,
    #[validate(custom(function = "valid"))]
    body: FreeText,
}

own_wire!(NewNote, NoteEdit);

async fn create_note(
    state: web::Data<AppState>,
    JsonBody(note): JsonBody<NewNote>,
) -> Result<HttpResponse, AppError> {
    state
        .db
        .write(move |conn| {
            diesel::insert_into(fixture_notes::table)
                .values((
                    fixture_notes::id.eq(note.id.as_str()),
                    fixture_notes::body.eq(note.body.as_str()),
                    fixture_notes::version.eq(1_i64),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag_header(1))
        .finish())
}

async fn list_notes(
    state: web::Data<AppState>,
    mut query: QueryParams,
) -> Result<HttpResponse, AppError> {
    let page = query.page();
    let prefix: Option<String> = query.get("starts_with", "text");
    query.finish()?;
    let result = state
        .db
        .read(move |conn| {
            let filter = |q: fixture_notes::BoxedQuery<'static, _>| match &prefix {
                Some(p) => q.filter(fixture_notes::id.like(format!("{p}%"))),
                None => q,
            };
            let total: i64 = filter(fixture_notes::table.into_boxed())
                .count()
                .get_result(conn)?;
            let items: Vec<Note> = filter(fixture_notes::table.into_boxed())
                .order(fixture_notes::id.asc())
                .offset(page.offset())
                .limit(page.limit())
                .load(conn)?;
            Ok(Paginated::new(items, page, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Deserialize, Validate)]
struct NoteEdit {
    #[validate(custom(function = "valid"))]
    body: FreeText,
}

async fn edit_note(
    state: web::Data<AppState>,
    path: web::Path<String>,
    if_match: IfMatch,
    JsonBody(edit): JsonBody<NoteEdit>,
) -> Result<HttpResponse, AppError> {
    let expected = if_match.required()?;
    let id = path.into_inner();
    let note = state
        .db
        .write(move |conn| {
            let changed = diesel::update(
                fixture_notes::table
                    .filter(fixture_notes::id.eq(&id))
                    .filter(fixture_notes::version.eq(expected)),
            )
            .set((
                fixture_notes::body.eq(edit.body.as_str()),
                fixture_notes::version.eq(fixture_notes::version + 1),
            ))
            .execute(conn)?;
            let current: Option<i64> = fixture_notes::table
                .filter(fixture_notes::id.eq(&id))
                .select(fixture_notes::version)
                .first(conn)
                .optional()?;
            cas_outcome(changed, current)?;
            Ok(fixture_notes::table.find(&id).first::<Note>(conn)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag_header(note.version))
        .json(note))
}

async fn problem(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    Err(match path.as_str() {
        "malformed-request" => AppError::Malformed("bad".into()),
        "unauthorized" => AppError::Unauthorized("no token".into()),
        "forbidden" => AppError::Forbidden("role".into()),
        "password-change-required" => AppError::PasswordChangeRequired,
        "not-found" => AppError::NotFound,
        "method-not-allowed" => AppError::MethodNotAllowed {
            allow: vec!["GET".into()],
        },
        "not-acceptable" => AppError::NotAcceptable {
            offered: vec!["application/json".into()],
        },
        "conflict" => AppError::Conflict {
            code: "programme_already_open",
            detail: "open".into(),
            extra: json!({"existing_participant_id": "p-1"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        },
        "precondition-failed" => AppError::PreconditionFailed { current_version: 3 },
        "payload-too-large" => AppError::PayloadTooLarge { limit: 1 },
        "unsupported-media-type" => AppError::UnsupportedMediaType {
            expected: "application/json",
        },
        "validation" => AppError::validation("/x", "required", "is required"),
        "precondition-required" => AppError::PreconditionRequired,
        "rate-limited" => AppError::RateLimited {
            retry_after_secs: 42,
        },
        "internal" => {
            AppError::Internal("connection to 10.1.2.3 refused for user reintegra".into())
        }
        "unavailable" => AppError::Unavailable("database down".into()),
        _ => AppError::NotFound,
    })
}
