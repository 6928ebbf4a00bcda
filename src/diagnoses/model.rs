//! Diagnoses: the stored rows, the API shape by disclosure, and the request bodies.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::holland::{self, HollandProfile, Rank, Scores};
use crate::db::schema::{diagnoses, diagnosis_amendments};
use crate::http::rules::{
    date, not_future, rule_at, valid, FreeText, Label, Obj, Patch, RequestBody,
};
use crate::participants::model::closed_enum;
use crate::policy::Disclosure;

closed_enum!(
    /// The parts of the diagnosis phase (domain brief §4.1). Who writes each kind is in the
    /// policy table (`policy::writes_diagnosis`).
    DiagnosisKind {
        GeneralSurvey => "general_survey",
        InterestsQuestionnaire => "interests_questionnaire",
        Psychometric => "psychometric",
        Psychological => "psychological",
        Social => "social",
        Vocational => "vocational",
        Holland => "holland",
    }
);

impl DiagnosisKind {
    /// Kinds whose findings stay with the team's psychologists (professional secrecy).
    pub fn findings_restricted(self) -> bool {
        matches!(
            self,
            DiagnosisKind::Psychometric | DiagnosisKind::Psychological
        )
    }
}

closed_enum!(
    /// `draft` until finalized; a `final` diagnosis never changes, it is amended.
    DiagnosisStatus { Draft => "draft", Final => "final" }
);

/// The stored diagnosis.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = diagnoses)]
pub struct DiagnosisRow {
    pub id: String,
    pub participant_id: String,
    pub kind: String,
    pub status: String,
    pub performed_on: NaiveDate,
    pub instrument: Option<String>,
    pub summary: Option<String>,
    pub findings: Option<String>,
    pub recommendations: Option<String>,
    pub score_r: Option<i32>,
    pub score_i: Option<i32>,
    pub score_a: Option<i32>,
    pub score_s: Option<i32>,
    pub score_e: Option<i32>,
    pub score_c: Option<i32>,
    pub author_id: String,
    pub author_role: String,
    pub finalized_at: Option<NaiveDateTime>,
    pub finalized_by: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DiagnosisRow {
    pub fn kind(&self) -> DiagnosisKind {
        // The column's CHECK constraint admits only known kinds; the most restricted is the safe
        // reading of anything else.
        DiagnosisKind::parse(&self.kind).unwrap_or(DiagnosisKind::Psychological)
    }

    pub fn is_final(&self) -> bool {
        self.status == DiagnosisStatus::Final.as_str()
    }

    pub fn scores(&self) -> Option<Scores> {
        let byte = |v: Option<i32>| v.and_then(|v| u8::try_from(v).ok());
        Scores::new([
            byte(self.score_r)?,
            byte(self.score_i)?,
            byte(self.score_a)?,
            byte(self.score_s)?,
            byte(self.score_e)?,
            byte(self.score_c)?,
        ])
    }

    pub fn set_scores(&mut self, scores: Option<Scores>) {
        let v = scores.map(|s| s.values().map(i32::from));
        let at = |i: usize| v.map(|v| v[i]);
        (
            self.score_r,
            self.score_i,
            self.score_a,
            self.score_s,
            self.score_e,
            self.score_c,
        ) = (at(0), at(1), at(2), at(3), at(4), at(5));
    }
}

/// The stored amendment.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = diagnosis_amendments)]
pub struct AmendmentRow {
    pub id: String,
    pub diagnosis_id: String,
    pub reason: String,
    pub body: String,
    pub author_id: String,
    pub created_at: NaiveDateTime,
}

/// Six RIASEC scale scores, 0–100 each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Validate, ToSchema)]
#[allow(non_snake_case)]
pub struct HollandScores {
    pub R: u8,
    pub I: u8,
    pub A: u8,
    pub S: u8,
    pub E: u8,
    pub C: u8,
}

impl From<Scores> for HollandScores {
    fn from(s: Scores) -> Self {
        let [r, i, a, s_, e, c] = s.values();
        HollandScores {
            R: r,
            I: i,
            A: a,
            S: s_,
            E: e,
            C: c,
        }
    }
}

/// An amendment of a final diagnosis. `reason` and `text` follow the diagnosis's disclosure:
/// `null` for a caller who may not read its findings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Amendment {
    pub id: String,
    pub reason: Option<String>,
    pub text: Option<String>,
    /// `null` for auditors, who see roles rather than people.
    pub author_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
}

/// A diagnosis as the caller may see it. Restricted fields are `null` and `restricted` is
/// `true` (api.md §13.5): psychological and psychometric findings reach only the psychologists on
/// the care team (others see a psychometric diagnosis's `summary` and instrument, and only kind,
/// date, author and status of a psychological one); auditors see kind, date, author role and
/// status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diagnosis {
    pub id: String,
    pub participant_id: String,
    pub kind: DiagnosisKind,
    pub status: DiagnosisStatus,
    pub performed_on: NaiveDate,
    pub restricted: bool,
    pub instrument: Option<String>,
    pub summary: Option<String>,
    pub findings: Option<String>,
    pub recommendations: Option<String>,
    /// Holland diagnoses only.
    pub scores: Option<HollandScores>,
    /// Top three letters by score, ties broken by the order R, I, A, S, E, C.
    #[schema(example = "RSE")]
    pub holland_code: Option<String>,
    /// True when equal scores make other codes equally valid (`holland_alternatives`).
    pub holland_tie: Option<bool>,
    /// Every other code obtainable by reordering tied letters, in R, I, A, S, E, C order.
    pub holland_alternatives: Option<Vec<String>>,
    /// All six letters from the highest score down, with their scores and ranks.
    pub holland_ranking: Option<Vec<Rank>>,
    /// `null` for auditors.
    pub author_id: Option<String>,
    #[schema(example = "psychologist")]
    pub author_role: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_opt_instant")]
    pub finalized_at: Option<NaiveDateTime>,
    pub amendments: Vec<Amendment>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub updated_at: NaiveDateTime,
}

impl Diagnosis {
    /// The diagnosis shown at `disclosure`, with its amendments.
    pub fn shown(row: DiagnosisRow, amendments: Vec<AmendmentRow>, disclosure: Disclosure) -> Self {
        let full = disclosure == Disclosure::Full;
        let with_summary = matches!(disclosure, Disclosure::Full | Disclosure::Summary);
        let with_author = disclosure != Disclosure::Audit;
        let scores = row.scores().filter(|_| full);
        let profile: Option<HollandProfile> = scores.map(holland::profile);
        let kind = row.kind();
        Diagnosis {
            status: DiagnosisStatus::parse(&row.status).unwrap_or(DiagnosisStatus::Draft),
            restricted: disclosure.restricted(),
            instrument: row.instrument.filter(|_| with_summary),
            summary: row.summary.filter(|_| with_summary),
            findings: row.findings.filter(|_| full),
            recommendations: row.recommendations.filter(|_| full),
            scores: scores.map(HollandScores::from),
            holland_code: profile.as_ref().map(|p| p.code.clone()),
            holland_tie: profile.as_ref().map(|p| p.tie),
            holland_alternatives: profile.as_ref().map(|p| p.alternatives.clone()),
            holland_ranking: profile.map(|p| p.ranking),
            author_id: Some(row.author_id).filter(|_| with_author),
            amendments: amendments
                .into_iter()
                .map(|a| Amendment {
                    id: a.id,
                    reason: Some(a.reason).filter(|_| full),
                    text: Some(a.body).filter(|_| full),
                    author_id: Some(a.author_id).filter(|_| with_author),
                    created_at: a.created_at,
                })
                .collect(),
            id: row.id,
            participant_id: row.participant_id,
            kind,
            performed_on: row.performed_on,
            author_role: row.author_role,
            finalized_at: row.finalized_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Request bodies

pub use scores_wire::ScoresWire;

// The JSON names are the capital letters and `validator` names its errors after the Rust fields,
// so the fields are capitals too; the lint is silenced for the code the derive generates.
#[allow(non_snake_case)]
mod scores_wire {
    use serde::{Deserialize, Serialize};
    use validator::Validate;

    /// Holland scores as sent: each letter required, an integer 0–100 (`i64` so that -1 and 101
    /// are range errors rather than type errors).
    #[derive(Deserialize, Serialize, Validate)]
    pub struct ScoresWire {
        #[validate(required, range(min = 0, max = 100))]
        pub(super) R: Option<i64>,
        #[validate(required, range(min = 0, max = 100))]
        pub(super) I: Option<i64>,
        #[validate(required, range(min = 0, max = 100))]
        pub(super) A: Option<i64>,
        #[validate(required, range(min = 0, max = 100))]
        pub(super) S: Option<i64>,
        #[validate(required, range(min = 0, max = 100))]
        pub(super) E: Option<i64>,
        #[validate(required, range(min = 0, max = 100))]
        pub(super) C: Option<i64>,
    }
}

impl ScoresWire {
    fn scores(&self) -> Option<Scores> {
        let byte = |v: Option<i64>| v.and_then(|v| u8::try_from(v).ok());
        Scores::new([
            byte(self.R)?,
            byte(self.I)?,
            byte(self.A)?,
            byte(self.S)?,
            byte(self.E)?,
            byte(self.C)?,
        ])
    }
}

/// `scores` belong to Holland diagnoses, which need all six.
fn scores_rule(kind: Option<DiagnosisKind>, scores_sent: bool) -> Option<ValidationError> {
    let holland = kind == Some(DiagnosisKind::Holland);
    if holland && !scores_sent && !crate::http::rules::taken_out("/scores") {
        Some(rule_at(
            "scores",
            "required",
            "a Holland diagnosis needs all six scores R, I, A, S, E, C",
        ))
    } else if kind.is_some() && !holland && scores_sent {
        Some(rule_at(
            "scores",
            "not_allowed",
            "only a Holland diagnosis carries scores",
        ))
    } else {
        None
    }
}

/// `POST /participants/{id}/diagnoses`.
#[derive(Deserialize, Validate)]
#[validate(schema(function = "new_diagnosis_rules", skip_on_field_errors = false))]
pub struct NewDiagnosisWire {
    #[validate(required)]
    kind: Option<DiagnosisKind>,
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    performed_on: Option<NaiveDate>,
    #[validate(custom(function = "valid"))]
    instrument: Option<Label>,
    #[validate(required, custom(function = "valid"))]
    summary: Option<FreeText>,
    #[validate(custom(function = "valid"))]
    findings: Option<FreeText>,
    #[validate(custom(function = "valid"))]
    recommendations: Option<FreeText>,
    #[validate(nested)]
    scores: Option<Obj<ScoresWire>>,
}

fn new_diagnosis_rules(w: &NewDiagnosisWire) -> Result<(), ValidationError> {
    match scores_rule(w.kind, w.scores.is_some()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub struct NewDiagnosis {
    pub kind: DiagnosisKind,
    pub performed_on: NaiveDate,
    pub instrument: Option<Label>,
    pub summary: FreeText,
    pub findings: Option<FreeText>,
    pub recommendations: Option<FreeText>,
    pub scores: Option<Scores>,
}

impl RequestBody for NewDiagnosis {
    type Wire = NewDiagnosisWire;
    fn from_wire(w: NewDiagnosisWire) -> Option<Self> {
        Some(NewDiagnosis {
            scores: match &w.scores {
                Some(s) => Some(s.0.scores()?),
                None => None,
            },
            kind: w.kind?,
            performed_on: w.performed_on?,
            instrument: w.instrument,
            summary: w.summary?,
            findings: w.findings,
            recommendations: w.recommendations,
        })
    }
}

/// `PATCH /diagnoses/{id}` (drafts): merge semantics. `kind` cannot change; `summary` and
/// `performed_on` cannot be cleared; `scores`, when sent, replace all six.
#[derive(Deserialize, Validate)]
pub struct DiagnosisPatchWire {
    kind: Option<DiagnosisKind>,
    #[serde(default, deserialize_with = "date::patch")]
    #[validate(custom(function = "crate::http::rules::not_future_patch"))]
    performed_on: Patch<NaiveDate>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    instrument: Patch<Label>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    summary: Patch<FreeText>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    findings: Patch<FreeText>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    recommendations: Patch<FreeText>,
    #[serde(default)]
    #[validate(nested)]
    scores: Patch<Obj<ScoresWire>>,
}

pub struct DiagnosisPatch {
    pub kind: Option<DiagnosisKind>,
    pub performed_on: Patch<NaiveDate>,
    pub instrument: Patch<Label>,
    pub summary: Patch<FreeText>,
    pub findings: Patch<FreeText>,
    pub recommendations: Patch<FreeText>,
    pub scores: Patch<Scores>,
}

impl DiagnosisPatch {
    /// Names of the fields the patch sends, for the audit event.
    pub fn sent(&self) -> Vec<&'static str> {
        [
            ("performed_on", self.performed_on.is_absent()),
            ("instrument", self.instrument.is_absent()),
            ("summary", self.summary.is_absent()),
            ("findings", self.findings.is_absent()),
            ("recommendations", self.recommendations.is_absent()),
            ("scores", self.scores.is_absent()),
        ]
        .into_iter()
        .filter(|(_, absent)| !absent)
        .map(|(name, _)| name)
        .collect()
    }
}

impl RequestBody for DiagnosisPatch {
    type Wire = DiagnosisPatchWire;
    fn from_wire(w: DiagnosisPatchWire) -> Option<Self> {
        Some(DiagnosisPatch {
            kind: w.kind,
            performed_on: w.performed_on,
            instrument: w.instrument,
            summary: w.summary,
            findings: w.findings,
            recommendations: w.recommendations,
            scores: w.scores.try_map(|s| s.0.scores())?,
        })
    }
}

/// `POST /diagnoses/{id}/amendments`.
#[derive(Deserialize, Validate)]
pub struct NewAmendmentWire {
    #[validate(required, custom(function = "valid"))]
    reason: Option<Label>,
    #[validate(required, custom(function = "valid"))]
    text: Option<FreeText>,
}

pub struct NewAmendment {
    pub reason: Label,
    pub text: FreeText,
}

impl RequestBody for NewAmendment {
    type Wire = NewAmendmentWire;
    fn from_wire(w: NewAmendmentWire) -> Option<Self> {
        Some(NewAmendment {
            reason: w.reason?,
            text: w.text?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields<T: RequestBody>(body: serde_json::Value) -> Vec<(String, String)> {
        crate::http::rules::field_codes::<T>(&body)
    }

    #[test]
    fn holland_scores_are_named_letter_by_letter() {
        let errors = fields::<NewDiagnosis>(json!({
            "kind": "holland", "performed_on": "2026-02-03", "summary": "s",
            "scores": {"R": 12, "I": 101, "A": 3.5, "S": -1, "E": "9"}
        }));
        assert_eq!(
            errors,
            vec![
                ("/scores/A".into(), "type".into()),
                ("/scores/C".into(), "required".into()),
                ("/scores/E".into(), "type".into()),
                ("/scores/I".into(), "range".into()),
                ("/scores/S".into(), "range".into()),
            ]
        );
    }

    #[test]
    fn scores_belong_to_holland_diagnoses_only() {
        let base = |kind: &str, scores: Option<serde_json::Value>| {
            let mut body = json!({"kind": kind, "performed_on": "2026-02-03", "summary": "s"});
            if let Some(s) = scores {
                body["scores"] = s;
            }
            fields::<NewDiagnosis>(body)
        };
        assert_eq!(
            base("holland", None),
            vec![("/scores".into(), "required".into())]
        );
        let six = json!({"R": 1, "I": 2, "A": 3, "S": 4, "E": 5, "C": 6});
        assert_eq!(
            base("social", Some(six.clone())),
            vec![("/scores".into(), "not_allowed".into())]
        );
        assert!(base("holland", Some(six)).is_empty());
    }
}
