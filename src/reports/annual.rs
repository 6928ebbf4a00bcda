//! The annual report (api.md §10, §13.6; domain brief §5): the blocks a KIS or CIS reports to
//! the voivode for one calendar year, each figure one SQL aggregate (`GROUP BY`) over the
//! participants the caller may see.
//!
//! Participants counted are those with a programme overlapping the year. Entries and exits count
//! programmes; outcomes count outcome records; attendance counts minutes of sessions held in the
//! year; staff are the unit's, not the caller's.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::outcomes::{load, scope_bind, scope_clause, Bind};
use crate::db::AnyConnection;
use crate::dictionaries::model::{Area, Category};
use crate::http::AppError;
use crate::outcomes::model::OutcomeKind;
use crate::participants::access::Caseload;
use crate::policy::Role;
use crate::programmes::model::ExitReason;
use crate::settings::model::UnitKind;

/// Participants of one risk group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskGroupCount {
    pub code: String,
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnualReport {
    pub year: i32,
    /// 1 January of the year.
    pub from: NaiveDate,
    /// 31 December of the year.
    pub to: NaiveDate,
    pub unit_kind: UnitKind,
    /// Participants with a programme overlapping the year.
    pub total_participants: i64,
    /// Risk groups with at least one counted participant, by code; a participant in several
    /// groups counts in each.
    pub participants_by_risk_group: Vec<RiskGroupCount>,
    /// `female`, `male`.
    pub participants_by_sex: BTreeMap<String, i64>,
    /// Age on 31 December: `under_18`, `18_29`, `30_54`, `55_plus`.
    pub participants_by_age_band: BTreeMap<String, i64>,
    /// Programmes started in the year.
    pub entries: i64,
    /// Programmes exited in the year, by every exit reason.
    pub exits_by_reason: BTreeMap<String, i64>,
    /// Programmes exited in the year with reason `completed`.
    pub completed: i64,
    /// Outcomes (not retracted) of the counted participants achieved in the year, by every kind.
    pub outcomes_by_kind: BTreeMap<String, i64>,
    /// Attendance minutes of sessions held in the year: `social`, `vocational`.
    pub activity_minutes_by_area: BTreeMap<String, i64>,
    /// Attendance minutes of sessions held in the year, by every activity category.
    pub activity_minutes_by_category: BTreeMap<String, i64>,
    /// Active staff accounts today, by every role (a person with two roles counts in each).
    pub staff_by_role: BTreeMap<String, i64>,
    pub notes: Vec<String>,
}

#[derive(QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every key of a closed set, 0 unless a row says otherwise (rows with other keys are kept).
fn keyed<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    rows: Vec<KeyCount>,
) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = keys.into_iter().map(|k| (k.to_owned(), 0)).collect();
    for row in rows {
        *out.entry(row.key).or_insert(0) += row.n;
    }
    out
}

fn total(rows: &[KeyCount]) -> i64 {
    rows.iter().map(|r| r.n).sum()
}

/// The report's statements share the year and the caller's scope.
struct Year {
    from: NaiveDate,
    to: NaiveDate,
    caseload: Caseload,
}

impl Year {
    /// Programmes overlapping the year, of participants in scope: `FROM … WHERE …` over `p`
    /// (programmes) and `pa` (participants), after `join`; binds: [`Year::binds`].
    fn counted(&self, join: &str) -> String {
        format!(
            "FROM programmes p JOIN participants pa ON pa.id = p.participant_id {join} \
             WHERE p.start_date <= ? AND (p.exit_date IS NULL OR p.exit_date >= ?){scope}",
            scope = scope_clause(&self.caseload, "p.participant_id"),
        )
    }

    fn binds(&self, before: Vec<Bind>) -> Vec<Bind> {
        let mut binds = before;
        binds.push(Bind::Date(self.to));
        binds.push(Bind::Date(self.from));
        binds.extend(scope_bind(&self.caseload));
        binds
    }

    /// `COUNT(DISTINCT participant)` of the counted participants by `key` (an expression over
    /// `p`, `pa` and `join`'s tables, whose placeholders take `key_binds`).
    fn participants_by(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        join: &str,
        key_binds: Vec<Bind>,
    ) -> QueryResult<Vec<KeyCount>> {
        // The key is computed in a subquery, so PostgreSQL need not match a parameterised
        // expression between SELECT and GROUP BY.
        let sql = format!(
            "SELECT t.key AS key, COUNT(DISTINCT t.participant_id) AS n \
             FROM (SELECT {key} AS key, pa.id AS participant_id {counted}) t GROUP BY t.key",
            counted = self.counted(join),
        );
        load(conn, &sql, self.binds(key_binds))
    }

    /// Programmes whose `column` (a date) lies in the year, by `key` (`None`: one row).
    fn programmes_by(
        &self,
        conn: &mut AnyConnection,
        column: &str,
        key: Option<&str>,
    ) -> QueryResult<Vec<KeyCount>> {
        let sql = format!(
            "SELECT {select} AS key, COUNT(*) AS n FROM programmes p \
             WHERE p.{column} >= ? AND p.{column} <= ?{scope}{group}",
            select = key.unwrap_or("'all'"),
            scope = scope_clause(&self.caseload, "p.participant_id"),
            group = key.map(|k| format!(" GROUP BY {k}")).unwrap_or_default(),
        );
        let mut binds = vec![Bind::Date(self.from), Bind::Date(self.to)];
        binds.extend(scope_bind(&self.caseload));
        load(conn, &sql, binds)
    }

    /// Non-retracted outcomes achieved in the year by participants counted, by kind.
    fn outcomes_by_kind(&self, conn: &mut AnyConnection) -> QueryResult<Vec<KeyCount>> {
        let sql = format!(
            "SELECT o.kind AS key, COUNT(*) AS n FROM outcomes o \
             WHERE o.status <> 'retracted' AND o.achieved_on >= ? AND o.achieved_on <= ? \
             AND EXISTS (SELECT 1 FROM programmes p WHERE p.participant_id = o.participant_id \
             AND p.start_date <= ? AND (p.exit_date IS NULL OR p.exit_date >= ?)){scope} \
             GROUP BY o.kind",
            scope = scope_clause(&self.caseload, "o.participant_id"),
        );
        let mut binds = vec![
            Bind::Date(self.from),
            Bind::Date(self.to),
            Bind::Date(self.to),
            Bind::Date(self.from),
        ];
        binds.extend(scope_bind(&self.caseload));
        load(conn, &sql, binds)
    }

    /// Attendance minutes of sessions held in the year by the session's area and category, in
    /// one pass over the year's sessions and their attendance: `(by area, by category)`.
    fn minutes(&self, conn: &mut AnyConnection) -> QueryResult<(Vec<KeyCount>, Vec<KeyCount>)> {
        // The whole unit adds up each session's kept total; a caseload adds up its own rows.
        let sql = match self.caseload {
            Caseload::All => "SELECT s.area || '|' || s.category AS key, \
                 CAST(SUM(s.attended_minutes) AS BIGINT) AS n FROM sessions s \
                 WHERE s.starts_on >= ? AND s.starts_on <= ? GROUP BY s.area, s.category"
                .to_owned(),
            Caseload::TeamOf(_) => format!(
                "SELECT s.area || '|' || s.category AS key, CAST(SUM(a.minutes) AS BIGINT) AS n \
                 FROM sessions s JOIN attendance a ON a.session_id = s.id \
                 WHERE s.starts_on >= ? AND s.starts_on <= ?{scope} GROUP BY s.area, s.category",
                scope = scope_clause(&self.caseload, "a.participant_id"),
            ),
        };
        let mut binds = vec![Bind::Date(self.from), Bind::Date(self.to)];
        binds.extend(scope_bind(&self.caseload));
        let rows: Vec<KeyCount> = load(conn, &sql, binds)?;
        let split = |part: usize| {
            rows.iter()
                .map(|r| KeyCount {
                    key: r.key.split('|').nth(part).unwrap_or_default().to_owned(),
                    n: r.n,
                })
                .collect()
        };
        Ok((split(0), split(1)))
    }
}

/// Staff accounts active today (`active` and `active_until` not past), by role.
fn staff_by_role(conn: &mut AnyConnection, today: NaiveDate) -> QueryResult<Vec<KeyCount>> {
    load(
        conn,
        "SELECT r.role AS key, COUNT(DISTINCT s.id) AS n FROM staff s \
         JOIN staff_roles r ON r.staff_id = s.id \
         WHERE s.active = TRUE AND (s.active_until IS NULL OR s.active_until >= ?) \
         GROUP BY r.role",
        vec![Bind::Date(today)],
    )
}

/// The first day after which a person is younger than `years` on `on`.
fn born_after(on: NaiveDate, years: u32) -> Result<NaiveDate, AppError> {
    on.checked_sub_months(chrono::Months::new(years * 12))
        .ok_or_else(|| AppError::Internal(format!("no date {years} years before {on}")))
}

pub fn report(
    conn: &mut AnyConnection,
    caseload: Caseload,
    today: NaiveDate,
    year: i32,
) -> Result<AnnualReport, AppError> {
    let (from, to) = NaiveDate::from_ymd_opt(year, 1, 1)
        .zip(NaiveDate::from_ymd_opt(year, 12, 31))
        .ok_or_else(|| AppError::Internal(format!("year {year} out of range")))?;
    let y = Year { from, to, caseload };
    let settings = crate::settings::service::current(conn)?;

    let by_sex = y.participants_by(
        conn,
        "CASE WHEN pa.sex IN ('female', 'male') THEN pa.sex ELSE 'unknown' END",
        "",
        vec![],
    )?;
    // Age on 31 December: under 18 when born after `to` − 18 years, and so on.
    let age = "CASE WHEN pa.birth_date > ? THEN 'under_18' WHEN pa.birth_date > ? THEN '18_29' \
               WHEN pa.birth_date > ? THEN '30_54' ELSE '55_plus' END";
    let age_binds = vec![
        Bind::Date(born_after(to, 18)?),
        Bind::Date(born_after(to, 30)?),
        Bind::Date(born_after(to, 55)?),
    ];
    let by_age = y.participants_by(conn, age, "", age_binds)?;
    let by_group = y.participants_by(
        conn,
        "rg.risk_group_code",
        "JOIN participant_risk_groups rg ON rg.participant_id = p.participant_id",
        vec![],
    )?;
    let mut participants_by_risk_group = Vec::with_capacity(by_group.len());
    for row in by_group {
        let label = crate::dictionaries::repo::risk_group(conn, &row.key)?
            .map_or_else(|| row.key.clone(), |g| g.label_en);
        participants_by_risk_group.push(RiskGroupCount {
            code: row.key,
            label,
            count: row.n,
        });
    }
    participants_by_risk_group.sort_by(|a, b| a.code.cmp(&b.code));

    let entries = y.programmes_by(conn, "start_date", None)?;
    let exits = y.programmes_by(
        conn,
        "exit_date",
        Some("COALESCE(p.exit_reason, 'unknown')"),
    )?;
    let exits_by_reason = keyed(ExitReason::ALL.iter().map(|r| r.as_str()), exits);
    let completed = exits_by_reason
        .get(ExitReason::Completed.as_str())
        .copied()
        .unwrap_or(0);

    let outcomes = y.outcomes_by_kind(conn)?;
    let (by_area, by_category) = y.minutes(conn)?;
    let staff = staff_by_role(conn, today)?;

    Ok(AnnualReport {
        year,
        from,
        to,
        unit_kind: settings.unit_kind,
        total_participants: total(&by_sex),
        participants_by_risk_group,
        participants_by_sex: keyed(["female", "male"], by_sex),
        participants_by_age_band: keyed(["under_18", "18_29", "30_54", "55_plus"], by_age),
        entries: total(&entries),
        exits_by_reason,
        completed,
        outcomes_by_kind: keyed(OutcomeKind::ALL.iter().map(|k| k.as_str()), outcomes),
        activity_minutes_by_area: keyed(Area::ALL.iter().map(|a| a.as_str()), by_area),
        activity_minutes_by_category: keyed(Category::ALL.iter().map(|c| c.as_str()), by_category),
        staff_by_role: keyed(Role::ALL.iter().map(|r| r.as_str()), staff),
        notes: notes(),
    })
}

fn notes() -> Vec<String> {
    [
        "Participants counted are those with a programme overlapping the year (started by \
         31 December, not exited before 1 January); each counts once in the total.",
        "A participant in several risk groups counts in each of their groups and once in the \
         total, so participants_by_risk_group may add up to more than total_participants.",
        "Ages are on 31 December of the year.",
        "entries, exits_by_reason and completed count programmes (a participant who started \
         twice in the year counts twice); outcomes_by_kind counts outcomes (not retracted) \
         achieved in the year by the participants counted.",
        "Activity is attendance minutes of sessions held in the year (by the session's day).",
        "staff_by_role counts the staff accounts active today, not everyone active at some point \
         of the year; a person with several roles counts in each.",
        "Figures cover only the participants you may see (all for managers and auditors, your \
         caseload otherwise); staff_by_role is the unit's.",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}
