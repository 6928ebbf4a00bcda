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
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes)
        .split_for_parts();
    doc
}

pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(build)
}

/// The document as committed in `openapi/openapi.json`: pretty-printed, ending in a newline.
pub fn document_json() -> String {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = serde_json::to_string_pretty(document()).unwrap_or_default();
        text.push('\n');
        text
    })
    .clone()
}
