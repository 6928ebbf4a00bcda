//! The OpenAPI document, generated from the same route registrations that mount the handlers.

use std::sync::OnceLock;

use actix_web::App;
use utoipa::openapi::OpenApi as Document;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::audit::{AuditAction, AuditOutcome};
use crate::http::{FieldError, Problem};
use crate::policy::{Action, Role};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Reintegra API",
        version = "1",
        description = "Participant case management for social integration clubs (KIS) and centres (CIS). \
Errors are RFC 9457 `application/problem+json` documents (schema `Problem`); their `type` is \
`https://reintegra.example/problems/<name>` with the names malformed-request (400), unauthorized (401), \
forbidden (403), password-change-required (403), not-found (404), method-not-allowed (405), \
not-acceptable (406), conflict (409), precondition-failed (412), payload-too-large (413), \
unsupported-media-type (415), validation (422), precondition-required (428), rate-limited (429), \
internal (500) and unavailable (503). Every response carries `X-Request-Id`. \
Every POST under /api/v1 except /auth/* takes an `Idempotency-Key` header (1–64 printable \
characters, kept 24 hours per staff member): the same request again gets the stored reply with \
`Idempotency-Replayed: true`; a different request with a used key gets 422; a retry while the \
first is still running gets 409 `idempotency_in_progress`; a retry of a request that was carried \
out but whose reply could not be stored gets 409 `idempotency_reply_lost` (read the resource \
instead) — a retry never creates a second record. \
A client address that sends more requests without a valid access token than the unit allows per \
minute gets 429 with `Retry-After` on any route instead of 401.",
        license(name = "AGPL-3.0-or-later")
    ),
    components(schemas(Problem, FieldError, AuditAction, AuditOutcome, Action, Role)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health, metrics and this document"),
        (name = "auth", description = "Sign-in, tokens, the caller's profile"),
        (name = "staff", description = "Staff accounts and the staff directory"),
        (name = "audit", description = "The audit log and its hash chain"),
        (name = "settings", description = "The unit's settings"),
        (name = "dictionaries", description = "Risk groups and activity types"),
        (name = "participants", description = "Participants, their referral, qualification, risk groups and care team"),
        (name = "programmes", description = "Programmes (start, extension, exit) and the follow-ups after exit"),
        (name = "consents", description = "Consents for the optional purposes: recorded, read with a computed state, withdrawn, never edited"),
        (name = "notes", description = "Append-only case notes; psychologist notes only for the care team's psychologists"),
        (name = "diagnoses", description = "Diagnoses of every kind with the Holland RIASEC profile; draft, final, amended; psychological and psychometric findings only for the care team's psychologists"),
        (name = "plans", description = "Individual Action Plans (IPD): drafts, activation with the participant's acceptance, revisions, goal progress, actions and reviews"),
        (name = "sessions", description = "Group and individual sessions, bulk attendance (all or nothing) and each participant's attendance with monthly day counts"),
        (name = "worklist", description = "The caller's worklist: IPD actions and reviews due, follow-ups due, consents expiring, programmes ending, sessions without attendance"),
        (name = "reports", description = "Outcome report with drill-down to the participants behind every cell, annual report, ESF+ indicators; computed in SQL over the participants the caller may see"),
        (name = "data_protection", description = "Retention, the access log of a participant's record, the GDPR export and anonymisation (managers; auditors read access logs)"),
        (name = "outcomes", description = "Outcomes with evidence: recorded by the care team, verified by a manager, retracted (never deleted) when wrong"),
    )
)]
struct ApiDoc;

/// Access tokens are sent as `Authorization: Bearer <JWT>`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Builds the document by registering every route on a throw-away `App`.
fn build() -> Document {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes)
        .split_for_parts();
    add_shared_responses(&mut doc);
    doc
}

/// The answers the shared middleware and extractors give on any route, added to every operation
/// that does not document them itself (found by schema fuzzing: a client must be able to
/// expect every status it can get).
fn add_shared_responses(doc: &mut Document) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let public = [
            "/health/live",
            "/health/ready",
            "/metrics",
            "/api/v1/openapi.json",
        ]
        .contains(&path.as_str());
        let ops = [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            let mut shared: Vec<(&str, &str)> = vec![
                (
                    "406",
                    "The `Accept` header admits nothing this operation answers",
                ),
                (
                    "429",
                    "Too many requests from this address without a valid token",
                ),
            ];
            if op.request_body.is_some() {
                shared.push(("400", "The body is not valid JSON"));
                shared.push(("413", "The body is larger than 1 MiB"));
                shared.push(("415", "The body is not `application/json`"));
                shared.push(("422", "Every invalid field"));
            }
            // Every POST but sign-in takes an `Idempotency-Key` (checked: 1–64 printable
            // characters), and a key still in use by a running request is a conflict.
            if method == "POST" && !path.starts_with("/api/v1/auth/") {
                shared.push((
                    "409",
                    "The `Idempotency-Key` is in use by a request still running",
                ));
                shared.push((
                    "422",
                    "Every invalid field (the `Idempotency-Key` included)",
                ));
            }
            if public {
                shared.retain(|(code, _)| *code == "406");
            }
            for (code, description) in shared {
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| problem(description));
            }
        }
    }
}

/// The document, built afresh: megabytes of structures the caller drops when done, so nothing
/// holds them while the service runs (the route table keeps what it needs, the served JSON is
/// the text alone).
pub fn document() -> Document {
    build()
}

/// The document as committed in `openapi/openapi.json`: pretty-printed, ending in a newline.
pub fn document_json() -> String {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = serde_json::to_string_pretty(&build()).unwrap_or_default();
        text.push('\n');
        crate::memory::release_free_memory();
        text
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn enum_of(doc: &Value, schema: &str) -> Vec<String> {
        doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has no enum"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Clients read the closed sets from the document: it must list the strings on the wire,
    /// not the Rust variant names (schema fuzzing found `RiskGroup` where `risk_group` is sent).
    #[test]
    fn enum_schemas_list_the_values_on_the_wire() {
        use crate::diagnoses::model::DiagnosisKind;
        use crate::outcomes::model::OutcomeKind;
        use crate::reports::outcomes::GroupBy;
        use crate::sessions::model::AttendanceStatus;
        let doc: Value = serde_json::from_str(&super::document_json()).unwrap();
        let wire = |all: Vec<&str>| all.into_iter().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            enum_of(&doc, "DiagnosisKind"),
            wire(DiagnosisKind::ALL.iter().map(|k| k.as_str()).collect())
        );
        assert_eq!(
            enum_of(&doc, "OutcomeKind"),
            wire(OutcomeKind::ALL.iter().map(|k| k.as_str()).collect())
        );
        assert_eq!(
            enum_of(&doc, "GroupBy"),
            wire(GroupBy::ALL.iter().map(|k| k.as_str()).collect())
        );
        assert_eq!(
            enum_of(&doc, "AttendanceStatus"),
            wire(AttendanceStatus::ALL.iter().map(|k| k.as_str()).collect())
        );
        // Every other closed set too: wire values are snake_case (Holland letters aside).
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            for value in schema["enum"].as_array().into_iter().flatten() {
                let value = value.as_str().unwrap_or_default();
                assert!(
                    name == "Letter" || !value.chars().any(|c| c.is_ascii_uppercase()),
                    "{name}: {value}"
                );
            }
        }
    }

    /// What the shared middleware can answer is documented on every operation.
    #[test]
    fn every_operation_documents_the_shared_answers() {
        let doc: Value = serde_json::from_str(&super::document_json()).unwrap();
        let post = &doc["paths"]["/api/v1/sessions"]["post"]["responses"];
        for code in ["400", "406", "409", "413", "415", "422", "429"] {
            assert!(post.get(code).is_some(), "POST /sessions lacks {code}");
        }
        let finalize = &doc["paths"]["/api/v1/diagnoses/{id}/finalize"]["post"]["responses"];
        assert!(
            finalize.get("422").is_some(),
            "a bad Idempotency-Key is a 422"
        );
        assert!(finalize.get("415").is_none(), "no body, no 415");
    }
}
