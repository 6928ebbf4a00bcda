//! Outcomes: the stored row, the API shape and the request bodies (api.md §9, §13.5).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::outcomes;
use crate::http::rules::{
    date, not_future, rule_at, rules_at, valid, FreeText, Label, Obj, RequestBody,
};
use crate::participants::model::closed_enum;
use crate::policy::View;

closed_enum!(
    /// What a participant achieved (domain brief §5): eight vocational kinds, six social ones.
    OutcomeKind {
        EmploymentContract => "employment_contract",
        CivilLawContract => "civil_law_contract",
        SelfEmployment => "self_employment",
        SocialCooperative => "social_cooperative",
        SupportedEmployment => "supported_employment",
        Education => "education",
        TrainingCompleted => "training_completed",
        Qualification => "qualification",
        HousingSecured => "housing_secured",
        AbstinenceMaintained => "abstinence_maintained",
        FamilyRolesRestored => "family_roles_restored",
        DebtSettled => "debt_settled",
        HealthCareStarted => "health_care_started",
        OtherSocial => "other_social",
    }
);
closed_enum!(
    /// Computed from the kind.
    OutcomeCategory { Vocational => "vocational", Social => "social" }
);
closed_enum!(
    /// `recorded`, then `verified` by a manager; `retracted` (with a reason) when it was wrong.
    /// Outcomes are never deleted.
    OutcomeStatus { Recorded => "recorded", Verified => "verified", Retracted => "retracted" }
);

/// The detail fields, each one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Employer,
    HoursPerWeek,
    ContractEnd,
    Name,
    Institution,
    Description,
}

impl Detail {
    pub const ALL: [Detail; 6] = [
        Detail::Employer,
        Detail::HoursPerWeek,
        Detail::ContractEnd,
        Detail::Name,
        Detail::Institution,
        Detail::Description,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Detail::Employer => "employer",
            Detail::HoursPerWeek => "hours_per_week",
            Detail::ContractEnd => "contract_end",
            Detail::Name => "name",
            Detail::Institution => "institution",
            Detail::Description => "description",
        }
    }
}

impl OutcomeKind {
    pub fn category(self) -> OutcomeCategory {
        use OutcomeKind::*;
        match self {
            EmploymentContract | CivilLawContract | SelfEmployment | SocialCooperative
            | SupportedEmployment | Education | TrainingCompleted | Qualification => {
                OutcomeCategory::Vocational
            }
            _ => OutcomeCategory::Social,
        }
    }

    /// Whether this kind is a job (employment kinds count as employment in reports).
    pub fn is_employment(self) -> bool {
        use OutcomeKind::*;
        matches!(
            self,
            EmploymentContract | CivilLawContract | SupportedEmployment
        )
    }

    /// `(required, optional)` details of the kind (api.md §13.5); any other detail is refused.
    pub fn details(self) -> (&'static [Detail], &'static [Detail]) {
        use Detail as D;
        use OutcomeKind::*;
        match self {
            EmploymentContract => (&[D::Employer, D::HoursPerWeek], &[D::ContractEnd]),
            CivilLawContract | SupportedEmployment => (&[D::Employer], &[D::ContractEnd]),
            SelfEmployment | SocialCooperative => (&[D::Name], &[D::Description]),
            Education | TrainingCompleted | Qualification => (&[D::Institution, D::Name], &[]),
            _ => (&[], &[D::Description]),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Stored row

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = outcomes)]
pub struct OutcomeRow {
    pub id: String,
    pub participant_id: String,
    pub kind: String,
    pub category: String,
    pub achieved_on: NaiveDate,
    pub employer: Option<String>,
    pub hours_per_week: Option<i32>,
    pub contract_end: Option<NaiveDate>,
    pub name: Option<String>,
    pub institution: Option<String>,
    pub description: Option<String>,
    pub evidence_document_type: String,
    pub evidence_reference: String,
    pub note: Option<String>,
    pub status: String,
    pub recorded_by: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<NaiveDateTime>,
    pub retracted_by: Option<String>,
    pub retracted_at: Option<NaiveDateTime>,
    pub retraction_reason: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl OutcomeRow {
    pub fn status(&self) -> OutcomeStatus {
        OutcomeStatus::parse(&self.status).unwrap_or(OutcomeStatus::Recorded)
    }
}

// ------------------------------------------------------------------------------------------
// API shape

/// Kind-specific details; fields a kind does not take are `null`.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct OutcomeDetails {
    pub employer: Option<String>,
    pub hours_per_week: Option<i32>,
    pub contract_end: Option<NaiveDate>,
    pub name: Option<String>,
    pub institution: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Evidence {
    #[schema(example = "employment_contract_copy")]
    pub document_type: String,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outcome {
    pub id: String,
    pub participant_id: String,
    pub kind: OutcomeKind,
    pub category: OutcomeCategory,
    pub achieved_on: NaiveDate,
    /// `achieved_on` lies within one of the participant's programmes (`start_date`…`exit_date`,
    /// or …today while open), both ends included; computed on every read.
    pub during_programme: bool,
    pub details: OutcomeDetails,
    pub evidence: Evidence,
    /// Free text; `null` for auditors.
    pub note: Option<String>,
    pub status: OutcomeStatus,
    pub recorded_by: String,
    pub verified_by: Option<String>,
    #[serde(serialize_with = "crate::http::serialize_opt_instant")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<NaiveDateTime>,
    pub retracted_by: Option<String>,
    #[serde(serialize_with = "crate::http::serialize_opt_instant")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub retracted_at: Option<NaiveDateTime>,
    pub retraction_reason: Option<String>,
    pub version: i64,
    #[serde(serialize_with = "crate::http::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

impl Outcome {
    pub fn from_row(row: OutcomeRow, during_programme: bool, view: View) -> Outcome {
        let status = row.status();
        Outcome {
            kind: OutcomeKind::parse(&row.kind).unwrap_or(OutcomeKind::OtherSocial),
            category: OutcomeCategory::parse(&row.category).unwrap_or(OutcomeCategory::Social),
            during_programme,
            details: OutcomeDetails {
                employer: row.employer,
                hours_per_week: row.hours_per_week,
                contract_end: row.contract_end,
                name: row.name,
                institution: row.institution,
                // A social outcome's description is about the person: not for auditors.
                description: row.description.filter(|_| view == View::Full),
            },
            evidence: Evidence {
                document_type: row.evidence_document_type,
                reference: row.evidence_reference,
            },
            note: row.note.filter(|_| view == View::Full),
            status,
            id: row.id,
            participant_id: row.participant_id,
            achieved_on: row.achieved_on,
            recorded_by: row.recorded_by,
            verified_by: row.verified_by,
            verified_at: row.verified_at,
            retracted_by: row.retracted_by,
            retracted_at: row.retracted_at,
            retraction_reason: row.retraction_reason,
            version: row.version,
            created_at: row.created_at,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Request bodies

#[derive(Deserialize, Serialize, Validate)]
pub struct DetailsWire {
    #[validate(custom(function = "valid"))]
    employer: Option<Label>,
    #[validate(range(min = 1, max = 60, code = "range"))]
    hours_per_week: Option<i64>,
    #[serde(default, deserialize_with = "date::opt")]
    contract_end: Option<NaiveDate>,
    #[validate(custom(function = "valid"))]
    name: Option<Label>,
    #[validate(custom(function = "valid"))]
    institution: Option<Label>,
    #[validate(custom(function = "valid"))]
    description: Option<FreeText>,
}

impl DetailsWire {
    fn has(&self, d: Detail) -> bool {
        match d {
            Detail::Employer => self.employer.is_some(),
            Detail::HoursPerWeek => self.hours_per_week.is_some(),
            Detail::ContractEnd => self.contract_end.is_some(),
            Detail::Name => self.name.is_some(),
            Detail::Institution => self.institution.is_some(),
            Detail::Description => self.description.is_some(),
        }
    }
}

#[derive(Deserialize, Serialize, Validate)]
pub struct EvidenceWire {
    #[validate(required, custom(function = "valid"))]
    document_type: Option<Label>,
    #[validate(required, custom(function = "valid"))]
    reference: Option<Label>,
}

/// `POST /participants/{id}/outcomes`.
#[derive(Deserialize, Validate)]
#[validate(schema(function = "new_outcome_rules", skip_on_field_errors = false))]
pub struct NewOutcomeWire {
    #[validate(required)]
    kind: Option<OutcomeKind>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    achieved_on: Option<NaiveDate>,
    #[validate(nested)]
    details: Option<Obj<DetailsWire>>,
    #[validate(required, nested)]
    evidence: Option<Obj<EvidenceWire>>,
    #[validate(custom(function = "valid"))]
    note: Option<FreeText>,
}

/// The kind's details: each required one present, nothing it does not take, and a contract
/// that ends after it starts.
fn new_outcome_rules(w: &NewOutcomeWire) -> Result<(), ValidationError> {
    let Some(kind) = w.kind else {
        return Ok(());
    };
    let (required, optional) = kind.details();
    let empty = DetailsWire {
        employer: None,
        hours_per_week: None,
        contract_end: None,
        name: None,
        institution: None,
        description: None,
    };
    let details = w.details.as_ref().map_or(&empty, |d| &d.0);
    let mut failures = Vec::new();
    for d in Detail::ALL {
        let at = format!("details/{}", d.as_str());
        if required.contains(&d) && !details.has(d) {
            failures.push(rule_at(
                &at,
                "required",
                format!("is required for {}", kind.as_str()),
            ));
        } else if details.has(d) && !required.contains(&d) && !optional.contains(&d) {
            failures.push(rule_at(
                &at,
                "not_allowed",
                format!("does not apply to {}", kind.as_str()),
            ));
        }
    }
    if let (Some(end), Some(start)) = (details.contract_end, w.achieved_on) {
        if end <= start {
            failures.push(rule_at(
                "details/contract_end",
                "not_after_start",
                "must be after achieved_on",
            ));
        }
    }
    rules_at(failures)
}

pub struct NewOutcome {
    pub kind: OutcomeKind,
    pub achieved_on: NaiveDate,
    pub employer: Option<String>,
    pub hours_per_week: Option<i32>,
    pub contract_end: Option<NaiveDate>,
    pub name: Option<String>,
    pub institution: Option<String>,
    pub description: Option<String>,
    pub evidence_document_type: String,
    pub evidence_reference: String,
    pub note: Option<String>,
}

impl RequestBody for NewOutcome {
    type Wire = NewOutcomeWire;
    fn from_wire(w: NewOutcomeWire) -> Option<Self> {
        let details = w.details.map(|d| d.0);
        let evidence = w.evidence?.0;
        let d = |f: fn(DetailsWire) -> Option<String>| details.clone().and_then(f);
        Some(NewOutcome {
            kind: w.kind?,
            achieved_on: w.achieved_on?,
            employer: d(|x| x.employer.map(Label::into_inner)),
            hours_per_week: match details.as_ref().and_then(|x| x.hours_per_week) {
                Some(h) => Some(i32::try_from(h).ok()?),
                None => None,
            },
            contract_end: details.as_ref().and_then(|x| x.contract_end),
            name: d(|x| x.name.map(Label::into_inner)),
            institution: d(|x| x.institution.map(Label::into_inner)),
            description: d(|x| x.description.map(FreeText::into_inner)),
            evidence_document_type: evidence.document_type?.into_inner(),
            evidence_reference: evidence.reference?.into_inner(),
            note: w.note.map(FreeText::into_inner),
        })
    }
}

impl Clone for DetailsWire {
    fn clone(&self) -> Self {
        DetailsWire {
            employer: self.employer.clone(),
            hours_per_week: self.hours_per_week,
            contract_end: self.contract_end,
            name: self.name.clone(),
            institution: self.institution.clone(),
            description: self.description.clone(),
        }
    }
}

/// `POST /outcomes/{id}/retract`.
#[derive(Deserialize, Validate)]
pub struct RetractionWire {
    #[validate(required, custom(function = "valid"))]
    reason: Option<FreeText>,
}

pub struct Retraction {
    pub reason: FreeText,
}

impl RequestBody for Retraction {
    type Wire = RetractionWire;
    fn from_wire(w: RetractionWire) -> Option<Self> {
        Some(Retraction { reason: w.reason? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::rules::field_codes;
    use serde_json::json;

    fn body(kind: &str, details: serde_json::Value) -> serde_json::Value {
        json!({"kind": kind, "achieved_on": "2026-05-04", "details": details,
               "evidence": {"document_type": "contract_copy", "reference": "UP/1/2026"}})
    }

    #[test]
    fn each_kind_takes_its_own_details() {
        assert!(field_codes::<NewOutcome>(&body(
            "employment_contract",
            json!({"employer": "Hurtownia Sp. z o.o.", "hours_per_week": 40, "contract_end": "2027-05-03"})
        ))
        .is_empty());
        assert_eq!(
            field_codes::<NewOutcome>(&body("employment_contract", json!({"hours_per_week": 61}))),
            vec![
                ("/details/employer".into(), "required".into()),
                ("/details/hours_per_week".into(), "range".into()),
            ]
        );
        assert_eq!(
            field_codes::<NewOutcome>(&body(
                "qualification",
                json!({"institution": "ZDZ", "employer": "X"})
            )),
            vec![
                ("/details/employer".into(), "not_allowed".into()),
                ("/details/name".into(), "required".into()),
            ]
        );
        assert!(field_codes::<NewOutcome>(&body("housing_secured", json!({}))).is_empty());
        assert_eq!(
            field_codes::<NewOutcome>(&body(
                "civil_law_contract",
                json!({"employer": "X", "contract_end": "2026-05-04"})
            )),
            vec![("/details/contract_end".into(), "not_after_start".into())]
        );
    }

    #[test]
    fn evidence_is_required_for_every_kind() {
        let res = field_codes::<NewOutcome>(
            &json!({"kind": "debt_settled", "achieved_on": "2026-06-16"}),
        );
        assert_eq!(
            res,
            vec![
                ("/achieved_on".into(), "future".into()),
                ("/evidence".into(), "required".into()),
            ]
        );
        let vocational = OutcomeKind::ALL
            .iter()
            .filter(|k| k.category() == OutcomeCategory::Vocational)
            .count();
        assert_eq!((vocational, OutcomeKind::ALL.len() - vocational), (8, 6));
    }
}
