//! One participant's attendance (`GET /participants/{id}/attendance`): the per-session rows, the
//! totals by area, category and status, and the monthly day counts a CIS needs to compute the
//! integration benefit (domain brief: the benefit is reduced for unexcused absence).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::AttendanceStatus;
use super::repo::ParticipantAttendanceRow;

/// One session the participant has a record for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceEntry {
    pub session_id: String,
    #[serde(serialize_with = "crate::http::serialize_instant")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: NaiveDateTime,
    pub starts_on: NaiveDate,
    pub activity_type_code: String,
    pub area: String,
    pub category: String,
    pub status: AttendanceStatus,
    pub minutes: i32,
}

impl From<ParticipantAttendanceRow> for AttendanceEntry {
    fn from(r: ParticipantAttendanceRow) -> Self {
        let (session_id, starts_at, starts_on, activity_type_code, area, category, status, minutes) =
            r;
        AttendanceEntry {
            session_id,
            starts_at,
            starts_on,
            activity_type_code,
            area,
            category,
            status: AttendanceStatus::parse(&status).unwrap_or(AttendanceStatus::Absent),
            minutes,
        }
    }
}

/// Totals over every row in the requested range (not only the page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttendanceTotals {
    /// `social` and `vocational`, both always present.
    pub minutes_by_area: BTreeMap<String, i64>,
    pub minutes_by_category: BTreeMap<String, i64>,
    /// `present`, `late`, `excused`, `absent`, all always present.
    pub sessions_by_status: BTreeMap<String, i64>,
}

/// One calendar month (of the sessions' Warsaw days). Each day with any record counts once:
/// as present when the participant attended (present or late) any session that day, otherwise
/// as an unexcused absence when any record that day is `absent`, otherwise as excused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttendanceMonth {
    /// `YYYY-MM`.
    #[schema(example = "2026-03")]
    pub month: String,
    pub days_present: i64,
    pub days_excused: i64,
    pub days_absent_unexcused: i64,
    pub minutes: i64,
}

/// The answer: the pagination envelope over the rows, with `totals` and `months` over all rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantAttendance {
    pub items: Vec<AttendanceEntry>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    pub totals: AttendanceTotals,
    pub months: Vec<AttendanceMonth>,
}

pub fn totals(entries: &[AttendanceEntry]) -> AttendanceTotals {
    let mut t = AttendanceTotals::default();
    for area in ["social", "vocational"] {
        t.minutes_by_area.insert(area.into(), 0);
    }
    for s in AttendanceStatus::ALL {
        t.sessions_by_status.insert(s.as_str().into(), 0);
    }
    for e in entries {
        *t.minutes_by_area.entry(e.area.clone()).or_default() += i64::from(e.minutes);
        *t.minutes_by_category.entry(e.category.clone()).or_default() += i64::from(e.minutes);
        *t.sessions_by_status
            .entry(e.status.as_str().into())
            .or_default() += 1;
    }
    t
}

pub fn months(entries: &[AttendanceEntry]) -> Vec<AttendanceMonth> {
    #[derive(Default)]
    struct Day {
        attended: bool,
        absent: bool,
    }
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let mut minutes: BTreeMap<(i32, u32), i64> = BTreeMap::new();
    for e in entries {
        let day = days.entry(e.starts_on).or_default();
        day.attended |= e.status.attended();
        day.absent |= e.status == AttendanceStatus::Absent;
        *minutes
            .entry((e.starts_on.year(), e.starts_on.month()))
            .or_default() += i64::from(e.minutes);
    }
    let keys: BTreeSet<(i32, u32)> = days.keys().map(|d| (d.year(), d.month())).collect();
    keys.into_iter()
        .map(|(y, m)| {
            let of_month = days
                .iter()
                .filter(|(d, _)| d.year() == y && d.month() == m)
                .map(|(_, day)| day);
            let (mut present, mut excused, mut absent) = (0, 0, 0);
            for day in of_month {
                if day.attended {
                    present += 1;
                } else if day.absent {
                    absent += 1;
                } else {
                    excused += 1;
                }
            }
            AttendanceMonth {
                month: format!("{y:04}-{m:02}"),
                days_present: present,
                days_excused: excused,
                days_absent_unexcused: absent,
                minutes: minutes.get(&(y, m)).copied().unwrap_or(0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(day: &str, area: &str, status: AttendanceStatus, minutes: i32) -> AttendanceEntry {
        let on = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
        AttendanceEntry {
            session_id: format!("s-{day}-{minutes}"),
            starts_at: on.and_hms_opt(9, 0, 0).unwrap(),
            starts_on: on,
            activity_type_code: "x".into(),
            area: area.into(),
            category: "group".into(),
            status,
            minutes,
        }
    }

    #[test]
    fn each_day_counts_once_attendance_first_then_unexcused_absence() {
        use AttendanceStatus::*;
        let rows = vec![
            // 2 March: absent in the morning, present in the afternoon → present.
            entry("2026-03-02", "social", Absent, 0),
            entry("2026-03-02", "social", Present, 90),
            // 3 March: excused and absent → unexcused.
            entry("2026-03-03", "social", Excused, 0),
            entry("2026-03-03", "vocational", Absent, 0),
            // 4 March: excused only.
            entry("2026-03-04", "vocational", Excused, 0),
            // 31 March late; 1 April absent.
            entry("2026-03-31", "vocational", Late, 60),
            entry("2026-04-01", "social", Absent, 0),
        ];
        assert_eq!(
            months(&rows),
            vec![
                AttendanceMonth {
                    month: "2026-03".into(),
                    days_present: 2,
                    days_excused: 1,
                    days_absent_unexcused: 1,
                    minutes: 150,
                },
                AttendanceMonth {
                    month: "2026-04".into(),
                    days_present: 0,
                    days_excused: 0,
                    days_absent_unexcused: 1,
                    minutes: 0,
                },
            ]
        );
        let t = totals(&rows);
        assert_eq!(t.minutes_by_area["social"], 90);
        assert_eq!(t.minutes_by_area["vocational"], 60);
        assert_eq!(t.sessions_by_status["absent"], 3);
        assert_eq!(t.sessions_by_status["excused"], 2);
    }
}
