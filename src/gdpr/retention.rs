//! Retention (api.md §13.4): when a participant's record may be anonymised.
//!
//! `retention_until` is 31 December of the year of the participant's last case event — the last
//! programme exit, qualification decision or referral — plus the unit's `retention_years`, and
//! never earlier than the unit's `project_retention_until`. A participant with an open programme
//! has none yet (`null`).

use chrono::{Datelike, NaiveDate};
use diesel::dsl::{exists, max, not};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{participants, programmes, qualifications, referrals};
use crate::db::AnyConnection;
use crate::http::PageRequest;
use crate::participants::model::Status;

/// The unit's retention settings.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub years: i32,
    pub project_until: Option<NaiveDate>,
}

impl Rule {
    pub fn load(conn: &mut AnyConnection) -> QueryResult<Rule> {
        let s = crate::settings::repo::load(conn)?;
        Ok(Rule {
            years: s.retention_years,
            project_until: s.project_retention_until,
        })
    }

    /// The end of retention for a last case event on `last`.
    pub fn until(&self, last: NaiveDate) -> NaiveDate {
        let year_end =
            NaiveDate::from_ymd_opt(last.year() + self.years, 12, 31).unwrap_or(NaiveDate::MAX);
        match self.project_until {
            Some(p) if p > year_end => p,
            _ => year_end,
        }
    }

    /// Records whose last case event is before this day have a retention end before `today`
    /// (as far as `retention_years` goes; `project_until` is judged on its own).
    fn cutoff(&self, today: NaiveDate) -> NaiveDate {
        NaiveDate::from_ymd_opt(today.year() - self.years, 1, 1).unwrap_or(NaiveDate::MIN)
    }
}

/// The participant's last case event (the latest programme exit, qualification decision or
/// referral), `None` while a programme is open. One statement: participant reads run it.
pub fn last_case_event(
    conn: &mut AnyConnection,
    participant_id: &str,
) -> QueryResult<Option<NaiveDate>> {
    let of_participant = programmes::participant_id.eq(participant_id);
    let (open, exit, decided, referred, first_referral): (
        bool,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<NaiveDate>,
    ) = diesel::select((
        exists(
            programmes::table
                .filter(of_participant)
                .filter(programmes::exit_date.is_null()),
        ),
        programmes::table
            .filter(of_participant)
            .select(max(programmes::exit_date))
            .single_value(),
        qualifications::table
            .filter(qualifications::participant_id.eq(participant_id))
            .select(max(qualifications::decided_on))
            .single_value(),
        referrals::table
            .filter(referrals::participant_id.eq(participant_id))
            .select(max(referrals::referred_on))
            .single_value(),
        participants::table
            .find(participant_id)
            .select(participants::referred_on)
            .single_value(),
    ))
    .get_result(conn)?;
    if open {
        return Ok(None);
    }
    Ok([exit, decided, referred, first_referral]
        .into_iter()
        .flatten()
        .max())
}

/// The participant's `retention_until` (`None` while a programme is open).
pub fn retention_until(
    conn: &mut AnyConnection,
    participant_id: &str,
) -> QueryResult<Option<NaiveDate>> {
    let rule = Rule::load(conn)?;
    Ok(last_case_event(conn, participant_id)?.map(|last| rule.until(last)))
}

/// A row of `GET /retention/due`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DueRow {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub status: Status,
    pub retention_until: NaiveDate,
}

/// Participants not anonymised, without an open programme, whose `retention_until` is before
/// `today`: decided in SQL (no case event on or after the cut-off day), by last name, first
/// name and id; answers the page and the total.
pub fn due(
    conn: &mut AnyConnection,
    today: NaiveDate,
    page: Option<PageRequest>,
) -> QueryResult<(Vec<DueRow>, i64)> {
    let rule = Rule::load(conn)?;
    if rule.project_until.is_some_and(|p| p >= today) {
        return Ok((Vec::new(), 0));
    }
    let cutoff = rule.cutoff(today);
    let query = || {
        participants::table
            .filter(participants::status.ne(Status::Anonymised.as_str()))
            .filter(participants::status.ne(Status::InProgramme.as_str()))
            .filter(participants::referred_on.lt(cutoff))
            .filter(not(exists(
                programmes::table
                    .filter(programmes::participant_id.eq(participants::id))
                    .filter(
                        programmes::exit_date
                            .is_null()
                            .or(programmes::exit_date.ge(cutoff)),
                    ),
            )))
            .filter(not(exists(
                referrals::table
                    .filter(referrals::participant_id.eq(participants::id))
                    .filter(referrals::referred_on.ge(cutoff)),
            )))
            .filter(not(exists(
                qualifications::table
                    .filter(qualifications::participant_id.eq(participants::id))
                    .filter(qualifications::decided_on.ge(cutoff)),
            )))
            .into_boxed()
    };
    let total: i64 = query().count().get_result(conn)?;
    let mut q = query()
        .order((
            participants::last_name.asc(),
            participants::first_name.asc(),
            participants::id.asc(),
        ))
        .select((
            participants::id,
            participants::first_name,
            participants::last_name,
            participants::status,
        ));
    if let Some(page) = page {
        q = q.offset(page.offset()).limit(page.limit());
    }
    let rows: Vec<(String, String, String, String)> = q.load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, first_name, last_name, status) in rows {
        let Some(last) = last_case_event(conn, &id)? else {
            continue;
        };
        out.push(DueRow {
            retention_until: rule.until(last),
            status: Status::parse(&status).unwrap_or(Status::Referred),
            id,
            first_name,
            last_name,
        });
    }
    Ok((out, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn year_end_plus_years_or_the_project_end_whichever_is_later() {
        let rule = Rule {
            years: 5,
            project_until: None,
        };
        assert_eq!(rule.until(d("2026-03-02")), d("2031-12-31"));
        let rule = Rule {
            years: 5,
            project_until: Some(d("2033-06-30")),
        };
        assert_eq!(rule.until(d("2026-03-02")), d("2033-06-30"));
        let rule = Rule {
            years: 5,
            project_until: Some(d("2030-06-30")),
        };
        assert_eq!(rule.until(d("2026-03-02")), d("2031-12-31"));
    }

    #[test]
    fn the_cutoff_agrees_with_until() {
        let rule = Rule {
            years: 5,
            project_until: None,
        };
        let today = d("2032-01-01");
        // Until 2031-12-31 < today exactly when the last event is before 2027-01-01.
        assert_eq!(rule.cutoff(today), d("2027-01-01"));
        assert!(rule.until(d("2026-12-31")) < today);
        assert!(rule.until(d("2027-01-01")) >= today);
    }

    mod properties {
        use super::super::Rule;
        use chrono::{Datelike, NaiveDate};
        use proptest::prelude::*;

        fn day() -> impl Strategy<Value = NaiveDate> {
            (1990i32..2060, 1u32..=12, 1u32..=28)
                .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
        }

        proptest! {
            /// Retention always ends on a 31 December at least `years` after the last event,
            /// never before the project's end, and only moves later as the event does.
            #[test]
            fn retention_ends_late_enough_and_moves_only_forward(
                last in day(), later in day(), years in 1i32..=50,
                project in proptest::option::of(day()),
            ) {
                let rule = Rule { years, project_until: project };
                let until = rule.until(last);
                prop_assert!(until.year() >= last.year() + years);
                prop_assert!(project.is_none_or(|p| until >= p));
                if project.is_none_or(|p| until > p) {
                    prop_assert_eq!((until.month(), until.day()), (12, 31));
                }
                if later >= last {
                    prop_assert!(rule.until(later) >= until);
                }
            }

            /// The SQL-side cutoff and the per-record date agree: a record's retention has
            /// ended (ignoring the project date) exactly when its last event precedes the cutoff.
            #[test]
            fn the_cutoff_decides_like_until(last in day(), today in day(), years in 1i32..=50) {
                let rule = Rule { years, project_until: None };
                prop_assert_eq!(rule.until(last) < today, last < rule.cutoff(today));
            }
        }
    }
}
