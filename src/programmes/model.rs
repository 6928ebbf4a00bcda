//! Programmes and follow-ups: the stored rows, the API shapes and the request bodies
//! (api.md §5, §9, §13.4).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::db::schema::{follow_ups, programmes};
use crate::http::rules::{date, not_future, rule_at, valid, FreeText, Label, Patch, RequestBody};
use crate::participants::model::closed_enum;
use crate::policy::View;

closed_enum!(
    /// The per-person basis: a social contract with the OPS (KIS) or an IPZS (CIS).
    Basis {
        KontraktSocjalny => "kontrakt_socjalny",
        Ipzs => "ipzs",
        Other => "other",
    }
);
closed_enum!(
    /// Why a programme ended (domain brief §5); `other` needs `exit_note`.
    ExitReason {
        Completed => "completed",
        Employed => "employed",
        DroppedOut => "dropped_out",
        Expelled => "expelled",
        Moved => "moved",
        Health => "health",
        Death => "death",
        Other => "other",
    }
);
closed_enum!(
    /// `open` until the programme is exited, then `closed`.
    ProgrammeStatus { Open => "open", Closed => "closed" }
);
closed_enum!(
    /// `due` when scheduled; `done` after a contact, `unreachable` when nobody could be reached.
    FollowUpStatus { Due => "due", Done => "done", Unreachable => "unreachable" }
);
closed_enum!(
    /// What a follow-up contact found.
    FollowUpResult {
        Employed => "employed",
        NotEmployed => "not_employed",
        Education => "education",
        Unreachable => "unreachable",
        Declined => "declined",
    }
);

/// The stored programme.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = programmes)]
pub struct ProgrammeRow {
    pub id: String,
    pub participant_id: String,
    pub start_date: NaiveDate,
    pub planned_months: i32,
    pub planned_end_date: NaiveDate,
    pub basis: String,
    pub basis_reference: Option<String>,
    pub extension_reason: Option<String>,
    pub exit_date: Option<NaiveDate>,
    pub exit_reason: Option<String>,
    pub exit_note: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A participant's enrolment in the programme.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Programme {
    pub id: String,
    pub participant_id: String,
    pub start_date: NaiveDate,
    /// The length planned at the start, in months; extensions move `planned_end_date` only.
    #[schema(minimum = 1, maximum = 36)]
    pub planned_months: i32,
    /// `start_date + planned_months − 1 day` (months added clamp to the month's last day), or
    /// later after an extension.
    pub planned_end_date: NaiveDate,
    pub basis: Basis,
    pub basis_reference: Option<String>,
    /// The reason given for the latest extension.
    pub extension_reason: Option<String>,
    pub status: ProgrammeStatus,
    pub exit_date: Option<NaiveDate>,
    pub exit_reason: Option<ExitReason>,
    pub exit_note: Option<String>,
    pub version: i64,
}

impl Programme {
    /// The programme as `view` shows it: auditors (who read programmes as evidence) get the
    /// dates, basis and reasons, not the staff's free-text notes (`extension_reason`,
    /// `exit_note`; api.md §13.3). `basis_reference` (the contract's number) is evidence and
    /// stays.
    pub fn from_row(row: ProgrammeRow, view: View) -> Programme {
        let notes = view == View::Full;
        Programme {
            status: if row.exit_date.is_some() {
                ProgrammeStatus::Closed
            } else {
                ProgrammeStatus::Open
            },
            basis: Basis::parse(&row.basis).unwrap_or(Basis::Other),
            exit_reason: row.exit_reason.as_deref().and_then(ExitReason::parse),
            id: row.id,
            participant_id: row.participant_id,
            start_date: row.start_date,
            planned_months: row.planned_months,
            planned_end_date: row.planned_end_date,
            basis_reference: row.basis_reference,
            extension_reason: row.extension_reason.filter(|_| notes),
            exit_date: row.exit_date,
            exit_note: row.exit_note.filter(|_| notes),
            version: row.version,
        }
    }
}

/// The stored follow-up.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = follow_ups)]
pub struct FollowUpRow {
    pub id: String,
    pub programme_id: String,
    pub participant_id: String,
    pub months_after_exit: i32,
    pub due_on: NaiveDate,
    pub status: String,
    pub contacted_on: Option<NaiveDate>,
    pub result: Option<String>,
    pub note: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A contact after exit, scheduled at `exit_date + months_after_exit` (clamped to the month's
/// last day).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FollowUp {
    pub id: String,
    pub programme_id: String,
    pub participant_id: String,
    pub months_after_exit: i32,
    pub due_on: NaiveDate,
    pub status: FollowUpStatus,
    pub contacted_on: Option<NaiveDate>,
    pub result: Option<FollowUpResult>,
    pub note: Option<String>,
    pub version: i64,
}

impl FollowUp {
    /// The follow-up as `view` shows it: the contact's `note` only in the full view.
    pub fn from_row(row: FollowUpRow, view: View) -> FollowUp {
        FollowUp {
            status: FollowUpStatus::parse(&row.status).unwrap_or(FollowUpStatus::Due),
            result: row.result.as_deref().and_then(FollowUpResult::parse),
            id: row.id,
            programme_id: row.programme_id,
            participant_id: row.participant_id,
            months_after_exit: row.months_after_exit,
            due_on: row.due_on,
            contacted_on: row.contacted_on,
            note: row.note.filter(|_| view == View::Full),
            version: row.version,
        }
    }
}

// ------------------------------------------------------------------------------------------
// Request bodies

/// `POST /participants/{id}/programmes`.
#[derive(Deserialize, Serialize, Validate)]
pub struct NewProgrammeWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    start_date: Option<NaiveDate>,
    // dates::MIN_MONTHS..=MAX_MONTHS (as i64, so that -1 is out of range rather than a type error).
    #[validate(range(min = 1, max = 36))]
    planned_months: Option<i64>,
    #[validate(required)]
    basis: Option<Basis>,
    #[validate(custom(function = "valid"))]
    basis_reference: Option<Label>,
}

pub struct NewProgramme {
    pub start_date: NaiveDate,
    /// 1–36; `None`: the unit's `programme_months`.
    pub planned_months: Option<u32>,
    pub basis: Basis,
    pub basis_reference: Option<Label>,
}

impl RequestBody for NewProgramme {
    type Wire = NewProgrammeWire;
    fn from_wire(w: NewProgrammeWire) -> Option<Self> {
        Some(NewProgramme {
            start_date: w.start_date?,
            planned_months: match w.planned_months {
                Some(m) => Some(u32::try_from(m).ok()?),
                None => None,
            },
            basis: w.basis?,
            basis_reference: w.basis_reference,
        })
    }
}

/// `PATCH /programmes/{id}`: an extension.
#[derive(Deserialize, Serialize, Validate)]
pub struct ExtensionWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required)]
    planned_end_date: Option<NaiveDate>,
    #[validate(required, custom(function = "valid"))]
    extension_reason: Option<FreeText>,
}

pub struct Extension {
    pub planned_end_date: NaiveDate,
    pub extension_reason: FreeText,
}

impl RequestBody for Extension {
    type Wire = ExtensionWire;
    fn from_wire(w: ExtensionWire) -> Option<Self> {
        Some(Extension {
            planned_end_date: w.planned_end_date?,
            extension_reason: w.extension_reason?,
        })
    }
}

/// `POST /programmes/{id}/exit`.
#[derive(Deserialize, Serialize, Validate)]
#[validate(schema(function = "exit_note_for_other", skip_on_field_errors = false))]
pub struct ExitWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    exit_date: Option<NaiveDate>,
    #[validate(required)]
    exit_reason: Option<ExitReason>,
    #[validate(custom(function = "valid"))]
    exit_note: Option<FreeText>,
}

fn exit_note_for_other(w: &ExitWire) -> Result<(), ValidationError> {
    if w.exit_reason == Some(ExitReason::Other) && w.exit_note.is_none() {
        return Err(rule_at(
            "exit_note",
            "required",
            "is required when exit_reason is other",
        ));
    }
    Ok(())
}

pub struct Exit {
    pub exit_date: NaiveDate,
    pub exit_reason: ExitReason,
    pub exit_note: Option<FreeText>,
}

impl RequestBody for Exit {
    type Wire = ExitWire;
    fn from_wire(w: ExitWire) -> Option<Self> {
        Some(Exit {
            exit_date: w.exit_date?,
            exit_reason: w.exit_reason?,
            exit_note: w.exit_note,
        })
    }
}

/// `PATCH /follow-ups/{id}`: the contact. `note` follows merge semantics (absent keeps it,
/// `null` clears it).
#[derive(Deserialize, Validate)]
pub struct ContactWire {
    #[serde(default, deserialize_with = "date::opt")]
    #[validate(required, custom(function = "not_future"))]
    contacted_on: Option<NaiveDate>,
    #[validate(required)]
    result: Option<FollowUpResult>,
    #[serde(default)]
    #[validate(custom(function = "valid"))]
    note: Patch<FreeText>,
}

pub struct Contact {
    pub contacted_on: NaiveDate,
    pub result: FollowUpResult,
    pub note: Patch<FreeText>,
}

impl RequestBody for Contact {
    type Wire = ContactWire;
    fn from_wire(w: ContactWire) -> Option<Self> {
        Some(Contact {
            contacted_on: w.contacted_on?,
            result: w.result?,
            note: w.note,
        })
    }
}

/// Minutes attended in a programme: in total, by area and by activity category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttendedMinutes {
    pub total: i64,
    pub social: i64,
    pub vocational: i64,
    /// Every activity category of api.md §4, with 0 where nothing was attended.
    pub by_category: std::collections::BTreeMap<String, i64>,
}

/// `present` and `late` rows over every attendance row of the programme.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AttendanceRate {
    pub numerator: i64,
    pub denominator: i64,
    /// `numerator / denominator`; `null` when there is no attendance row.
    pub fraction: Option<f64>,
}

/// Goals of the programme's active IPD (0 and 0 without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GoalCounts {
    pub achieved: i64,
    pub total: i64,
}

/// Where a programme stands (api.md §5, §13.4).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProgrammeSummary {
    /// Whole months from `start_date` through the reference day (both included): the largest
    /// `m` with `start_date + m months ≤ reference day + 1 day`, months added clamping to the
    /// month's last day. The reference day is today (Europe/Warsaw), or `exit_date` once exited.
    pub months_elapsed: i32,
    /// Whole months from `start_date` through `planned_end_date` by the same rule: the
    /// `planned_months` of the start, or more after an extension (an extension to a day that is
    /// not a month boundary counts the whole months only).
    pub months_planned: i32,
    pub attended_minutes: AttendedMinutes,
    pub attendance_rate: AttendanceRate,
    pub goals: GoalCounts,
    /// Open actions of the active IPD due before the reference day.
    pub overdue_actions: i64,
    /// 1 when the active IPD's `next_review_on` is before the reference day, else 0.
    pub overdue_reviews: i64,
}
