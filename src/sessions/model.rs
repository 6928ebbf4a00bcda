//! Sessions and attendance: the stored rows, the API shapes and the request bodies.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::{attendance, sessions};
use crate::http::rules::{instant, rule_at, valid, FreeText, Label, List, Obj, Patch, RequestBody};
use crate::participants::model::closed_enum;

/// At most this many attendance rows in one `PUT` (api.md §8).
pub const MAX_ATTENDANCE_ROWS: usize = 200;
/// At most this many facilitators and invited participants.
pub const MAX_FACILITATORS: u64 = 20;
pub const MAX_INVITED: u64 = 200;

closed_enum!(
    /// A session is planned (`scheduled`) until it is `cancelled`; a cancelled session takes no
    /// attendance and no edits.
    SessionStatus { Scheduled => "scheduled", Cancelled => "cancelled" }
);
closed_enum!(
    /// How a participant took part: `present` and `late` count as attendance (with minutes);
    /// `excused` and `absent` carry no minutes.
    AttendanceStatus {
        Present => "present",
        Late => "late",
        Excused => "excused",
        Absent => "absent",
    }
);

impl AttendanceStatus {
    pub fn attended(self) -> bool {
        matches!(self, AttendanceStatus::Present | AttendanceStatus::Late)
    }
}

// ------------------------------------------------------------------------------------------
// Stored rows

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sessions, treat_none_as_null = true)]
pub struct SessionRow {
    pub id: String,
    pub activity_type_code: String,
    pub area: String,
    pub category: String,
    pub title: String,
    pub starts_at: NaiveDateTime,
    pub starts_on: NaiveDate,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub status: String,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The sum of the attendance rows' minutes (kept by every attendance PUT).
    pub attended_minutes: i64,
}

impl SessionRow {
    pub fn is_cancelled(&self) -> bool {
        self.status == SessionStatus::Cancelled.as_str()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
// `None` is NULL (no column has a default), which lets SQLite take many rows in one INSERT;
// rows that may use DEFAULT are inserted one statement each.
#[diesel(table_name = attendance, treat_none_as_default_value = false)]
pub struct AttendanceRow {
    pub session_id: String,
    pub participant_id: String,
    pub programme_id: String,
    pub status: String,
    pub minutes: i32,
    pub note: Option<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

// ------------------------------------------------------------------------------------------
// API shapes

/// One participant's attendance at a session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attendance {
    pub participant_id: String,
    pub status: AttendanceStatus,
    /// Minutes attended: up to the session's duration for `present`/`late`, 0 otherwise.
    pub minutes: i32,
    /// Free text; `null` for auditors.
    pub note: Option<String>,
    pub recorded_by: String,
    #[serde(serialize_with = "crate::http::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: NaiveDateTime,
}

impl Attendance {
    pub fn from_row(row: AttendanceRow, with_notes: bool) -> Attendance {
        Attendance {
            participant_id: row.participant_id,
            status: AttendanceStatus::parse(&row.status).unwrap_or(AttendanceStatus::Absent),
            minutes: row.minutes,
            note: row.note.filter(|_| with_notes),
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
        }
    }
}

/// A group or individual session. `participant_ids` and `attendance` name only participants
/// the caller may see; `hidden_attendees` counts the others (invited or recorded).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    pub id: String,
    pub activity_type_code: String,
    /// From the activity type when the session was planned.
    pub area: String,
    pub category: String,
    pub title: String,
    #[serde(serialize_with = "crate::http::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: NaiveDateTime,
    /// The session's day in Europe/Warsaw (what `from`/`to` filter on).
    pub starts_on: NaiveDate,
    pub duration_minutes: i32,
    pub location: Option<String>,
    pub status: SessionStatus,
    pub cancel_reason: Option<String>,
    #[serde(serialize_with = "crate::http::serialize_opt_instant")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub cancelled_at: Option<NaiveDateTime>,
    pub facilitator_ids: Vec<String>,
    pub participant_ids: Vec<String>,
    /// Present in the answers of `GET /sessions/{id}`; lists leave it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attendance: Option<Vec<Attendance>>,
    pub hidden_attendees: i64,
    pub created_by: String,
    pub version: i64,
    #[serde(serialize_with = "crate::http::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::http::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

/// The answer of `PUT /sessions/{id}/attendance`: the session's attendance in the pagination
/// envelope (all on one page) with `hidden_attendees`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendancePage {
    pub items: Vec<Attendance>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    pub hidden_attendees: i64,
}

// ------------------------------------------------------------------------------------------
// Request bodies

fn duration_rule(minutes: i64) -> Result<(), ValidationError> {
    if (1..=600).contains(&minutes) {
        Ok(())
    } else {
        Err(crate::http::rules::rule(
            "range",
            "must be between 1 and 600 minutes",
        ))
    }
}

/// `POST /sessions`.
#[derive(Deserialize, Validate)]
pub struct NewSessionWire {
    #[validate(required, length(min = 1, max = 50, code = "too_long"))]
    activity_type_code: Option<String>,
    #[validate(required, custom(function = "valid"))]
    title: Option<Label>,
    #[serde(default, deserialize_with = "instant::opt")]
    #[validate(required)]
    starts_at: Option<DateTime<Utc>>,
    #[validate(required, custom(function = "duration_rule"))]
    duration_minutes: Option<i64>,
    #[validate(custom(function = "valid"))]
    location: Option<Label>,
    #[validate(required, length(min = 1, max = "MAX_FACILITATORS", code = "count"))]
    facilitator_ids: Option<Vec<uuid::Uuid>>,
    #[validate(length(max = "MAX_INVITED", code = "count"))]
    participant_ids: Option<Vec<uuid::Uuid>>,
}

pub struct NewSession {
    pub activity_type_code: String,
    pub title: Label,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub location: Option<Label>,
    pub facilitator_ids: Vec<String>,
    pub participant_ids: Vec<String>,
}

fn ids(list: Vec<uuid::Uuid>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for id in list.into_iter().map(|u| u.to_string()) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

impl RequestBody for NewSession {
    type Wire = NewSessionWire;
    fn from_wire(w: NewSessionWire) -> Option<Self> {
        Some(NewSession {
            activity_type_code: w.activity_type_code?,
            title: w.title?,
            starts_at: w.starts_at?,
            duration_minutes: i32::try_from(w.duration_minutes?).ok()?,
            location: w.location,
            facilitator_ids: ids(w.facilitator_ids?),
            participant_ids: ids(w.participant_ids.unwrap_or_default()),
        })
    }
}

/// `PATCH /sessions/{id}`: any field of the plan; lists replace the stored ones.
#[derive(Deserialize, Validate)]
pub struct SessionPatchWire {
    #[serde(default, deserialize_with = "crate::http::rules::forbid_null")]
    #[validate(length(min = 1, max = 50, code = "too_long"))]
    activity_type_code: Option<String>,
    #[serde(default, deserialize_with = "crate::http::rules::forbid_null")]
    #[validate(custom(function = "valid"))]
    title: Option<Label>,
    #[serde(default, deserialize_with = "instant::kept")]
    starts_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::http::rules::forbid_null")]
    #[validate(custom(function = "duration_rule"))]
    duration_minutes: Option<i64>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    location: Patch<Label>,
    #[serde(default, deserialize_with = "crate::http::rules::forbid_null")]
    #[validate(length(min = 1, max = "MAX_FACILITATORS", code = "count"))]
    facilitator_ids: Option<Vec<uuid::Uuid>>,
    #[serde(default, deserialize_with = "crate::http::rules::forbid_null")]
    #[validate(length(max = "MAX_INVITED", code = "count"))]
    participant_ids: Option<Vec<uuid::Uuid>>,
}

pub struct SessionPatch {
    pub activity_type_code: Option<String>,
    pub title: Option<Label>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub location: Patch<Label>,
    pub facilitator_ids: Option<Vec<String>>,
    pub participant_ids: Option<Vec<String>>,
}

impl RequestBody for SessionPatch {
    type Wire = SessionPatchWire;
    fn from_wire(w: SessionPatchWire) -> Option<Self> {
        Some(SessionPatch {
            activity_type_code: w.activity_type_code,
            title: w.title,
            starts_at: w.starts_at,
            duration_minutes: match w.duration_minutes {
                Some(d) => Some(i32::try_from(d).ok()?),
                None => None,
            },
            location: w.location,
            facilitator_ids: w.facilitator_ids.map(ids),
            participant_ids: w.participant_ids.map(ids),
        })
    }
}

/// `POST /sessions/{id}/cancel`.
#[derive(Deserialize, Validate)]
pub struct CancellationWire {
    #[validate(required, custom(function = "valid"))]
    reason: Option<FreeText>,
}

pub struct Cancellation {
    pub reason: FreeText,
}

impl RequestBody for Cancellation {
    type Wire = CancellationWire;
    fn from_wire(w: CancellationWire) -> Option<Self> {
        Some(Cancellation { reason: w.reason? })
    }
}

/// One row of `PUT /sessions/{id}/attendance`.
#[derive(Deserialize, Validate)]
#[validate(schema(function = "attendance_row_rules", skip_on_field_errors = false))]
pub struct AttendanceWire {
    #[validate(required)]
    participant_id: Option<uuid::Uuid>,
    #[validate(required)]
    status: Option<AttendanceStatus>,
    #[validate(range(min = 0, max = 600, code = "range"))]
    minutes: Option<i64>,
    #[validate(custom(function = "valid"))]
    note: Option<FreeText>,
}

/// Minutes belong to attendance: `excused` and `absent` rows carry none (0 is accepted).
fn attendance_row_rules(w: &AttendanceWire) -> Result<(), ValidationError> {
    match (w.status, w.minutes) {
        (Some(s), Some(m)) if !s.attended() && m != 0 => Err(rule_at(
            "minutes",
            "not_allowed",
            "only present and late rows carry minutes",
        )),
        (Some(AttendanceStatus::Late), None) => Err(rule_at(
            "minutes",
            "required",
            "say how many minutes a late participant attended",
        )),
        _ => Ok(()),
    }
}

pub struct AttendanceInput {
    pub participant_id: String,
    pub status: AttendanceStatus,
    pub minutes: Option<i32>,
    pub note: Option<FreeText>,
}

impl RequestBody for AttendanceInput {
    type Wire = AttendanceWire;
    fn from_wire(w: AttendanceWire) -> Option<Self> {
        Some(AttendanceInput {
            participant_id: w.participant_id?.to_string(),
            status: w.status?,
            minutes: match w.minutes {
                Some(m) => Some(i32::try_from(m).ok()?),
                None => None,
            },
            note: w.note,
        })
    }
}

/// The whole body of `PUT /sessions/{id}/attendance`.
pub struct AttendanceBody(pub Vec<AttendanceInput>);

impl RequestBody for AttendanceBody {
    type Wire = List<Obj<AttendanceWire>, MAX_ATTENDANCE_ROWS>;
    const ARRAY: bool = true;
    fn from_wire(w: Self::Wire) -> Option<Self> {
        w.0.into_iter()
            .map(|o| AttendanceInput::from_wire(o.0))
            .collect::<Option<Vec<_>>>()
            .map(AttendanceBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::rules::field_codes;
    use serde_json::json;

    #[test]
    fn attendance_rows_are_checked_one_by_one_at_their_index() {
        let pid = "0b9a3f1e-8f0e-4c7a-9d59-3f4b3e0c6a11";
        let body = json!([
            {"participant_id": pid, "status": "present"},
            {"participant_id": pid, "status": "absent", "minutes": 30},
            {"participant_id": pid, "status": "late"},
            {"participant_id": "x", "status": "gone", "minutes": 601},
        ]);
        let mut codes = field_codes::<AttendanceBody>(&body);
        codes.sort();
        assert_eq!(
            codes,
            vec![
                ("/1/minutes".into(), "not_allowed".into()),
                ("/2/minutes".into(), "required".into()),
                ("/3/minutes".into(), "range".into()),
                ("/3/participant_id".into(), "type".into()),
                ("/3/status".into(), "enum".into()),
            ]
        );
    }

    #[test]
    fn more_than_two_hundred_rows_are_refused_as_a_whole() {
        let row =
            json!({"participant_id": "0b9a3f1e-8f0e-4c7a-9d59-3f4b3e0c6a11", "status": "absent"});
        let body = serde_json::Value::Array(vec![row; MAX_ATTENDANCE_ROWS + 1]);
        assert_eq!(
            field_codes::<AttendanceBody>(&body),
            vec![("/".into(), "count".into())]
        );
    }

    #[test]
    fn a_session_needs_its_time_with_an_offset_and_a_duration_in_range() {
        let body = json!({
            "activity_type_code": "support_group", "title": "Group",
            "starts_at": "2026-03-02T10:00:00", "duration_minutes": 0,
            "facilitator_ids": [],
        });
        let mut codes = field_codes::<NewSession>(&body);
        codes.sort();
        assert_eq!(
            codes,
            vec![
                ("/duration_minutes".into(), "range".into()),
                ("/facilitator_ids".into(), "count".into()),
                ("/starts_at".into(), "format".into()),
            ]
        );
    }
}
