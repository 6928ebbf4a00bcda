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
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use reintegra::http::body::{FieldErrors, FreeText, Label, Name, SerdeField};
use reintegra::http::{
    cas_outcome, etag_header, AppError, FromBody, IfMatch, JsonBody, Paginated, QueryParams,
};
use reintegra::state::AppState;

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

impl SerdeField for Kind {
    const EXPECTED: &'static str = "one of `group`, `individual`";
}

#[derive(Serialize)]
struct Address {
    postal_code: Label,
    city: Name,
}

#[derive(Serialize)]
struct Person {
    name: Name,
    born_on: NaiveDate,
    kind: Kind,
    visits: Option<u32>,
    tags: Vec<Label>,
    address: Option<Address>,
    note: Option<FreeText>,
}

impl FromBody for Person {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let name = errors.required(&obj, "name");
        let born_on = errors.required(&obj, "born_on");
        let kind = errors.required(&obj, "kind");
        let visits = errors.optional(&obj, "visits");
        let note = errors.optional(&obj, "note");
        let tags = match obj.get("tags") {
            None | Some(Value::Null) => Some(Vec::new()),
            Some(v) => errors.array(v, &obj.child("tags")).and_then(|items| {
                let parsed: Vec<Option<Label>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| errors.parse(item, &format!("{}/{i}", obj.child("tags"))))
                    .collect();
                parsed.into_iter().collect()
            }),
        };
        let address = match obj.get("address") {
            None | Some(Value::Null) => Some(None),
            Some(v) => errors.object(v, &obj.child("address")).and_then(|a| {
                let postal_code: Option<Label> = errors.required(&a, "postal_code");
                let city = errors.required(&a, "city");
                if let Some(code) = &postal_code {
                    let ok = code.as_str().len() == 6
                        && code.as_str().bytes().enumerate().all(|(i, b)| {
                            if i == 2 {
                                b == b'-'
                            } else {
                                b.is_ascii_digit()
                            }
                        });
                    if !ok {
                        errors.push(a.child("postal_code"), "format", "expected NN-NNN");
                        return None;
                    }
                }
                Some(Some(Address {
                    postal_code: postal_code?,
                    city: city?,
                }))
            }),
        };
        Some(Person {
            name: name?,
            born_on: born_on?,
            kind: kind?,
            visits: visits?,
            tags: tags?,
            address: address?,
            note: note?,
        })
    }
}

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

struct NewNote {
    id: Label,
    body: FreeText,
}

impl FromBody for NewNote {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let id = errors.required(&obj, "id");
        let body = errors.required(&obj, "body");
        Some(NewNote {
            id: id?,
            body: body?,
        })
    }
}

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

struct NoteEdit {
    body: FreeText,
}

impl FromBody for NoteEdit {
    fn from_body(body: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let obj = errors.object(body, "")?;
        let body = errors.required(&obj, "body");
        Some(NoteEdit { body: body? })
    }
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
