//! Worklist items and the day they are computed for.

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::participants::model::closed_enum;

closed_enum!(
    /// What needs doing: an IPD action, a plan review, a follow-up contact, a consent about to
    /// expire, a programme about to end, attendance not yet recorded.
    Kind {
        ActionDue => "action_due",
        ReviewDue => "review_due",
        FollowUpDue => "follow_up_due",
        ConsentExpiring => "consent_expiring",
        ProgrammeEnding => "programme_ending",
        AttendanceMissing => "attendance_missing",
    }
);

/// One thing on the caller's worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WorklistItem {
    pub kind: Kind,
    /// The day it falls due (the action's `due_date`, the plan's `next_review_on`, the
    /// follow-up's `due_on`, the consent's `expires_on`, the programme's `planned_end_date`,
    /// the session's day in Europe/Warsaw); earlier than today when overdue.
    pub due_on: NaiveDate,
    /// The participant it concerns; `null` for a session.
    pub participant_id: Option<String>,
    /// Where to read it: `/api/v1/plans/{id}#{action_id}` (action), `/api/v1/plans/{id}`
    /// (review), `/api/v1/participants/{id}/follow-ups#{follow_up_id}`, `/api/v1/consents/{id}`,
    /// `/api/v1/programmes/{id}`, `/api/v1/sessions/{id}`.
    pub resource_path: String,
    /// A short English description (action and session titles, consent purpose; no names).
    pub summary: String,
}

impl WorklistItem {
    /// The list order: `due_on`, then `kind` (by name), then `resource_path`.
    pub fn sort_key(&self) -> (NaiveDate, &'static str, &str) {
        (self.due_on, self.kind.as_str(), self.resource_path.as_str())
    }
}

/// The windows of api.md §8 around one Warsaw day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    pub today: NaiveDate,
    /// Actions, reviews and follow-ups due up to this day (today + 7), overdue ones included.
    pub week: NaiveDate,
    /// Consents expiring and programmes ending from today up to this day (today + 30).
    pub month: NaiveDate,
    /// Sessions without attendance from this day (today − 30) up to today.
    pub sessions_from: NaiveDate,
}

impl Horizon {
    pub const DUE_DAYS: i64 = 7;
    pub const ENDING_DAYS: i64 = 30;
    pub const SESSION_DAYS: i64 = 30;

    pub fn of(today: NaiveDate) -> Horizon {
        let shift = |days: i64| {
            today
                .checked_add_signed(Duration::days(days))
                .unwrap_or(today)
        };
        Horizon {
            today,
            week: shift(Self::DUE_DAYS),
            month: shift(Self::ENDING_DAYS),
            sessions_from: shift(-Self::SESSION_DAYS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_around_a_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let h = Horizon::of(d("2026-05-28"));
        assert_eq!(h.week, d("2026-06-04"));
        assert_eq!(h.month, d("2026-06-27"));
        assert_eq!(h.sessions_from, d("2026-04-28"));
    }
}
