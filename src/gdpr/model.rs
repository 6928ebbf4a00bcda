//! The shapes of the data-protection routes (api.md §11): the access log, the export, the
//! anonymisation request.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::consents::model::Consent;
use crate::diagnoses::model::{Diagnosis, DiagnosisKind};
use crate::http::rules::{valid, FreeText, RequestBody};
use crate::notes::model::Note;
use crate::outcomes::model::Outcome;
use crate::participants::model::Participant;
use crate::plans::model::Plan;
use crate::programmes::model::{FollowUp, Programme};

/// One access to the participant's record or confidential data, or a denied attempt on it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessLogEntry {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_roles: Vec<String>,
    /// The audit action (for a denied attempt, the permission the caller lacked).
    pub action: String,
    #[schema(value_type = crate::audit::AuditOutcome)]
    pub outcome: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

/// A referral (the first one and every re-referral).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReferralRecord {
    pub id: String,
    pub source: String,
    pub reference: Option<String>,
    pub referred_on: NaiveDate,
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
}

/// A qualification decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualificationRecord {
    pub id: String,
    pub decision: String,
    pub decided_on: NaiveDate,
    pub reason: Option<String>,
    pub decided_by: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
}

/// One attendance row of the participant, with its session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceRecord {
    pub session_id: String,
    pub session_title: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub starts_at: NaiveDateTime,
    pub starts_on: NaiveDate,
    pub activity_type_code: String,
    pub area: String,
    pub category: String,
    pub programme_id: String,
    pub status: String,
    pub minutes: i32,
    pub note: Option<String>,
    pub recorded_by: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub recorded_at: NaiveDateTime,
}

/// A psychologist note left out of the export: only the team's psychologists release it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithheldNote {
    pub id: String,
    pub author_id: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
}

/// A diagnosis whose psychological or psychometric content was left out of the export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithheldDiagnosis {
    pub id: String,
    pub kind: DiagnosisKind,
    pub performed_on: NaiveDate,
    pub author_id: String,
    /// The fields left out (`instrument`, `summary`, `findings`, `recommendations`,
    /// `amendments`).
    pub fields: Vec<&'static str>,
}

/// What the export leaves out under professional secrecy, to be released by the psychologist.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Withheld {
    pub notes: Vec<WithheldNote>,
    pub diagnoses: Vec<WithheldDiagnosis>,
}

/// Everything stored about one participant (GDPR art. 15 and 20), as one JSON document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantExport {
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub exported_at: NaiveDateTime,
    /// The record with every personal field, risk groups with evidence and the care team.
    pub participant: Participant,
    pub referrals: Vec<ReferralRecord>,
    pub qualifications: Vec<QualificationRecord>,
    pub consents: Vec<Consent>,
    /// Team notes, newest first (psychologist notes are listed under `withheld`).
    pub notes: Vec<Note>,
    pub programmes: Vec<Programme>,
    pub follow_ups: Vec<FollowUp>,
    /// At a manager's disclosure: psychological findings and summaries, psychometric findings
    /// are `null` (`restricted: true`) and listed under `withheld`.
    pub diagnoses: Vec<Diagnosis>,
    pub plans: Vec<Plan>,
    pub attendance: Vec<AttendanceRecord>,
    pub outcomes: Vec<Outcome>,
    /// Who read the record and its confidential data, newest first.
    pub access_log: Vec<AccessLogEntry>,
    pub withheld: Withheld,
}

/// `POST /participants/{id}/anonymise`.
pub struct Anonymisation {
    pub reason: FreeText,
    pub override_retention: bool,
}

#[derive(Deserialize, Validate)]
pub struct AnonymisationWire {
    #[validate(required, custom(function = "valid"))]
    reason: Option<FreeText>,
    #[serde(rename = "override")]
    override_retention: Option<bool>,
}

impl RequestBody for Anonymisation {
    type Wire = AnonymisationWire;
    fn from_wire(w: AnonymisationWire) -> Option<Self> {
        Some(Anonymisation {
            reason: w.reason?,
            override_retention: w.override_retention.unwrap_or(false),
        })
    }
}

/// The body of `POST /participants/{id}/anonymise`, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AnonymisationDoc {
    /// Why the record is anonymised (1–20,000 characters); never copied into the audit log.
    reason: String,
    /// Anonymise before `retention_until` (a manager's decision; say why in `reason`).
    #[schema(rename = "override")]
    override_retention: Option<bool>,
}
