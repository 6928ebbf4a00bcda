//! Case notes: the stored row, the API shape, and the request body (api.md §5 "Case notes",
//! §13.4).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::case_notes;
use crate::http::rules::{rule_at, taken_out, valid, FreeText, RequestBody};
use crate::participants::model::closed_enum;

closed_enum!(
    /// `team`: the care team and managers read it. `psychologist`: only psychologists on the
    /// care team write and read it; everyone else has it withheld.
    Confidentiality {
        Team => "team",
        Psychologist => "psychologist",
    }
);

/// The stored row. Notes are append-only: never updated, never deleted.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_notes)]
pub struct NoteRow {
    pub id: String,
    pub participant_id: String,
    pub body: String,
    pub confidentiality: String,
    pub corrects_note_id: Option<String>,
    pub author_id: String,
    pub created_at: NaiveDateTime,
}

impl NoteRow {
    pub fn is_psychologist(&self) -> bool {
        self.confidentiality == Confidentiality::Psychologist.as_str()
    }
}

/// A case note. Notes never change, so they carry no `version` and no `ETag`; a correction is
/// a new note naming the corrected one in `corrects_note_id`, and the corrected note then names
/// it in `corrected_by_note_id`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Note {
    pub id: String,
    pub participant_id: String,
    pub body: String,
    pub confidentiality: Confidentiality,
    pub author_id: String,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub created_at: NaiveDateTime,
    pub corrects_note_id: Option<String>,
    pub corrected_by_note_id: Option<String>,
}

impl Note {
    pub fn from_row(row: NoteRow, corrected_by_note_id: Option<String>) -> Note {
        Note {
            confidentiality: Confidentiality::parse(&row.confidentiality)
                .unwrap_or(Confidentiality::Psychologist),
            id: row.id,
            participant_id: row.participant_id,
            body: row.body,
            author_id: row.author_id,
            created_at: row.created_at,
            corrects_note_id: row.corrects_note_id,
            corrected_by_note_id,
        }
    }
}

/// The notes envelope: the pagination fields over the notes the caller may see, and
/// `withheld`, the number of psychologist notes the caller may not see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotePage {
    pub items: Vec<Note>,
    pub page: u32,
    pub per_page: u32,
    /// Notes the caller may see, across all pages.
    pub total: i64,
    /// Psychologist notes of this participant withheld from the caller (0 for psychologists on
    /// the care team).
    pub withheld: i64,
}

/// `POST /participants/{id}/notes`. `confidentiality` is required for a new note; for a
/// correction it may be omitted (the correction keeps the corrected note's confidentiality)
/// and, when sent, must equal it.
pub struct NewNote {
    pub body: FreeText,
    pub confidentiality: Option<Confidentiality>,
    pub corrects_note_id: Option<String>,
}

/// Wire shape of [`NewNote`].
#[derive(Deserialize, Validate)]
#[validate(schema(
    function = "confidentiality_unless_correction",
    skip_on_field_errors = false
))]
pub struct NewNoteWire {
    #[validate(required, custom(function = "valid"))]
    body: Option<FreeText>,
    confidentiality: Option<Confidentiality>,
    corrects_note_id: Option<uuid::Uuid>,
}

fn confidentiality_unless_correction(w: &NewNoteWire) -> Result<(), ValidationError> {
    let correction = w.corrects_note_id.is_some() || taken_out("/corrects_note_id");
    if w.confidentiality.is_none() && !correction {
        return Err(rule_at(
            "confidentiality",
            "required",
            "is required (a correction may omit it)",
        ));
    }
    Ok(())
}

impl RequestBody for NewNote {
    type Wire = NewNoteWire;
    fn from_wire(w: NewNoteWire) -> Option<Self> {
        Some(NewNote {
            body: w.body?,
            confidentiality: w.confidentiality,
            corrects_note_id: w.corrects_note_id.map(|u| u.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(body: serde_json::Value) -> Vec<(String, String)> {
        crate::http::rules::field_codes::<NewNote>(&body)
    }

    #[test]
    fn confidentiality_is_required_except_for_corrections() {
        assert_eq!(
            fields(json!({"body": "x"})),
            vec![("/confidentiality".into(), "required".into())]
        );
        assert!(fields(
            json!({"body": "x", "corrects_note_id": "6f1c1b8e-8f0e-4c38-9a43-3a3f2d0f5a11"})
        )
        .is_empty());
        assert_eq!(
            fields(json!({"body": "", "confidentiality": "secret", "corrects_note_id": 3})),
            vec![
                ("/body".into(), "blank".into()),
                ("/confidentiality".into(), "enum".into()),
                ("/corrects_note_id".into(), "type".into()),
            ]
        );
    }
}
