//! The outcome report (api.md §10, §13.6): a cohort of programmes started in `[from, to]`,
//! grouped, with counts and rates computed by SQL aggregation on either backend, and the
//! participants behind every cell.
//!
//! The unit counted is a programme (one participation); a participant in two risk groups counts
//! in both groups and once in the total. Every figure is computed over the participants the
//! caller may see (all for managers and auditors, the caseload for clinicians), so a cell and its
//! drill-down always agree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::{AnyConnection, Backend, DbBackend};
use crate::http::AppError;
use crate::participants::access::Caseload;
use crate::participants::model::closed_enum;

closed_enum!(
    /// How the cohort is split.
    GroupBy {
        RiskGroup => "risk_group",
        ExitReason => "exit_reason",
        Sex => "sex",
        AgeBand => "age_band",
        Year => "year",
    }
);

/// The cells a drill-down can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    Started,
    Exited,
    Completed,
    LeftForJob,
    VocationalOutcomeDuringProgramme,
    SocialOutcomeDuringProgramme,
    /// Employed at the follow-up `months` after exit.
    EmployedAtFollowUp,
}

/// What a drill-down link stands for; carried hex-encoded in `cell=` (opaque to clients, checked
/// and recomputed under the caller's own scope on use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellRef {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    /// `None`: the total.
    pub key: Option<String>,
    pub cell: Cell,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<i32>,
}

impl CellRef {
    pub fn token(&self) -> String {
        hex::encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn parse(token: &str) -> Option<CellRef> {
        serde_json::from_slice(&hex::decode(token).ok()?).ok()
    }

    fn link(&self) -> String {
        format!(
            "/api/v1/reports/outcomes/participants?cell={}",
            self.token()
        )
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountCell {
    pub count: i64,
    pub drill_down: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RateCell {
    pub numerator: i64,
    pub denominator: i64,
    /// `numerator / denominator`, `null` when the denominator is 0.
    pub fraction: Option<f64>,
    /// The numerator's participants.
    pub drill_down: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cells {
    pub started: CountCell,
    pub exited: CountCell,
    /// Over the exited: `exit_reason` = `completed`.
    pub completed: RateCell,
    /// Over the exited: `exit_reason` = `employed`.
    pub left_for_job: RateCell,
    /// Over the exited: a vocational outcome (not retracted) achieved within the programme.
    pub vocational_outcome_during_programme: RateCell,
    pub social_outcome_during_programme: RateCell,
    /// Per follow-up month of the unit's settings: over that month's follow-ups due by today,
    /// result `employed`.
    pub employed_at_follow_up: BTreeMap<String, RateCell>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub cells: Cells,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    /// Only groups with at least one started programme, by key.
    pub groups: Vec<Group>,
    pub total: Cells,
    pub notes: Vec<String>,
}

/// One participant behind a cell.
#[derive(Debug, Clone, Serialize, ToSchema, QueryableByName)]
pub struct CellParticipant {
    #[diesel(sql_type = Text)]
    pub participant_id: String,
    #[diesel(sql_type = Text)]
    pub first_name: String,
    #[diesel(sql_type = Text)]
    pub last_name: String,
    #[diesel(sql_type = Text)]
    pub programme_id: String,
    #[diesel(sql_type = Date)]
    pub start_date: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    pub exit_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    pub exit_reason: Option<String>,
}

// ------------------------------------------------------------------------------------------
// SQL

/// The scope and cohort every statement shares. Placeholders are written `?` and numbered for
/// PostgreSQL by [`numbered`].
struct Query {
    backend: Backend,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    caseload: Caseload,
    group_by: GroupBy,
}

/// `?` → `$1, $2, …` for PostgreSQL.
pub(super) fn numbered(sql: &str, backend: Backend) -> String {
    if backend == Backend::Sqlite {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

/// `column - n years` (a date) in the backend's dialect.
pub(super) fn years_before(backend: Backend, column: &str, years: i32) -> String {
    match backend {
        Backend::Sqlite => format!("date({column}, '-{years} years')"),
        Backend::Postgres => format!("CAST({column} - INTERVAL '{years} years' AS date)"),
    }
}

/// `column + n days` (a date) in the backend's dialect.
pub(super) fn days_after(backend: Backend, column: &str, days: i32) -> String {
    match backend {
        Backend::Sqlite => format!("date({column}, '+{days} days')"),
        Backend::Postgres => format!("CAST({column} + {days} AS date)"),
    }
}

/// The caller's scope on the participant id `column`: nothing for the whole unit, otherwise a
/// care-team condition with one `?` (bind [`scope_bind`] there).
pub(super) fn scope_clause(caseload: &Caseload, column: &str) -> String {
    match caseload {
        Caseload::All => String::new(),
        Caseload::TeamOf(_) => format!(
            " AND EXISTS (SELECT 1 FROM care_team_members c \
             WHERE c.participant_id = {column} AND c.staff_id = ?)"
        ),
    }
}

/// The value [`scope_clause`]'s placeholder takes, if it has one.
pub(super) fn scope_bind(caseload: &Caseload) -> Option<Bind> {
    match caseload {
        Caseload::All => None,
        Caseload::TeamOf(staff) => Some(Bind::Text(staff.clone())),
    }
}

/// A value for a `?`, in the order the placeholders appear in the text.
#[derive(Debug, Clone)]
pub(super) enum Bind {
    Date(NaiveDate),
    Text(String),
}

/// Runs `sql` (with `?` placeholders) with `binds` in order and loads `T`.
pub(super) fn load<T>(conn: &mut AnyConnection, sql: &str, binds: Vec<Bind>) -> QueryResult<Vec<T>>
where
    T: QueryableByName<DbBackend> + 'static,
{
    let mut query = diesel::sql_query(numbered(sql, conn.backend())).into_boxed::<DbBackend>();
    for bind in binds {
        query = match bind {
            Bind::Date(d) => query.bind::<Date, _>(d),
            Bind::Text(t) => query.bind::<Text, _>(t),
        };
    }
    query.load(conn)
}

impl Query {
    fn years_before(&self, column: &str, years: i32) -> String {
        years_before(self.backend, column, years)
    }

    /// The group key expression; the join it needs.
    fn key(&self) -> (String, &'static str) {
        match self.group_by {
            GroupBy::RiskGroup => (
                "rg.risk_group_code".into(),
                "JOIN participant_risk_groups rg ON rg.participant_id = p.participant_id",
            ),
            GroupBy::ExitReason => ("COALESCE(p.exit_reason, 'not_exited')".into(), ""),
            GroupBy::Sex => ("pa.sex".into(), ""),
            GroupBy::Year => (
                match self.backend {
                    Backend::Sqlite => "strftime('%Y', p.start_date)".into(),
                    Backend::Postgres => "to_char(p.start_date, 'YYYY')".into(),
                },
                "",
            ),
            GroupBy::AgeBand => (
                format!(
                    "CASE WHEN pa.birth_date > {} THEN 'under_18' WHEN pa.birth_date > {} THEN '18_29' \
                     WHEN pa.birth_date > {} THEN '30_54' ELSE '55_plus' END",
                    self.years_before("p.start_date", 18),
                    self.years_before("p.start_date", 30),
                    self.years_before("p.start_date", 55),
                ),
                "",
            ),
        }
    }

    /// `FROM … WHERE …` of the cohort, with the group's join; binds: from, to, [staff].
    fn cohort(&self, join: &str) -> String {
        let scope = scope_clause(&self.caseload, "p.participant_id");
        format!(
            "FROM programmes p JOIN participants pa ON pa.id = p.participant_id {join} \
             WHERE p.start_date >= ? AND p.start_date <= ?{scope}"
        )
    }

    fn outcome_during(category: &str) -> String {
        format!(
            "p.exit_date IS NOT NULL AND EXISTS (SELECT 1 FROM outcomes o \
             WHERE o.participant_id = p.participant_id AND o.category = '{category}' \
             AND o.status <> 'retracted' AND o.achieved_on >= p.start_date \
             AND o.achieved_on <= p.exit_date)"
        )
    }

    /// The condition that puts a programme in `cell` (numerator side for rates).
    fn condition(cell: Cell) -> String {
        match cell {
            Cell::Started => "1 = 1".into(),
            Cell::Exited => "p.exit_date IS NOT NULL".into(),
            Cell::Completed => "p.exit_reason = 'completed'".into(),
            Cell::LeftForJob => "p.exit_reason = 'employed'".into(),
            Cell::VocationalOutcomeDuringProgramme => Self::outcome_during("vocational"),
            Cell::SocialOutcomeDuringProgramme => Self::outcome_during("social"),
            Cell::EmployedAtFollowUp => "EXISTS (SELECT 1 FROM follow_ups f \
                 WHERE f.programme_id = p.id AND f.months_after_exit = ? AND f.due_on <= ? \
                 AND f.result = 'employed')"
                .into(),
        }
    }
}

#[derive(QueryableByName)]
struct MainRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    started: i64,
    #[diesel(sql_type = BigInt)]
    exited: i64,
    #[diesel(sql_type = BigInt)]
    completed: i64,
    #[diesel(sql_type = BigInt)]
    left_for_job: i64,
    #[diesel(sql_type = BigInt)]
    vocational: i64,
    #[diesel(sql_type = BigInt)]
    social: i64,
}

#[derive(QueryableByName)]
struct FollowUpRow {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    employed: i64,
}

/// Binds the cohort's parameters (and any before them) in order and loads `T`.
macro_rules! load_with_cohort {
    ($conn:expr, $sql:expr, $q:expr, [$(($ty:ty, $val:expr)),*]) => {{
        let query = diesel::sql_query(numbered(&$sql, $q.backend)).into_boxed();
        $(let query = query.bind::<$ty, _>($val);)*
        let query = query.bind::<Date, _>($q.from).bind::<Date, _>($q.to);
        match &$q.caseload {
            Caseload::All => query.load($conn),
            Caseload::TeamOf(staff) => query.bind::<Text, _>(staff.clone()).load($conn),
        }
    }};
}

/// The main cells by group key, and the follow-up cells by month and group key.
type Figures = (Vec<MainRow>, Vec<(i32, FollowUpRow)>);

/// The report's figures by group key (or one `total` row when not `grouped`).
fn figures(conn: &mut AnyConnection, q: &Query, grouped: bool) -> QueryResult<Figures> {
    let (key, join) = if grouped {
        q.key()
    } else {
        ("'total'".to_owned(), "")
    };
    let count_if = |cond: &str| format!("COUNT(DISTINCT CASE WHEN {cond} THEN p.id END)");
    let sql = format!(
        "SELECT {key} AS key, COUNT(DISTINCT p.id) AS started, {exited} AS exited, \
         {completed} AS completed, {job} AS left_for_job, {voc} AS vocational, {soc} AS social \
         {cohort}{group}",
        group = if grouped {
            format!(" GROUP BY {key}")
        } else {
            String::new()
        },
        exited = count_if(&Query::condition(Cell::Exited)),
        completed = count_if(&Query::condition(Cell::Completed)),
        job = count_if(&Query::condition(Cell::LeftForJob)),
        voc = count_if(&Query::condition(Cell::VocationalOutcomeDuringProgramme)),
        soc = count_if(&Query::condition(Cell::SocialOutcomeDuringProgramme)),
        cohort = q.cohort(join),
    );
    let main: Vec<MainRow> = load_with_cohort!(conn, sql, q, [])?;
    // Follow-ups due by today per month, and how many of them found the person employed.
    let fsql = format!(
        "SELECT {key} AS key, COUNT(DISTINCT f.id) AS due, \
         COUNT(DISTINCT CASE WHEN f.result = 'employed' THEN f.id END) AS employed \
         {cohort_with_f}{group}",
        group = if grouped {
            format!(" GROUP BY {key}")
        } else {
            String::new()
        },
        cohort_with_f = q.cohort(&format!(
            "{join} JOIN follow_ups f ON f.programme_id = p.id AND f.months_after_exit = ? \
                 AND f.due_on <= ?"
        )),
    );
    let mut follow_ups = Vec::new();
    for months in crate::settings::service::current(conn)?.follow_up_months {
        let rows: Vec<FollowUpRow> = load_with_cohort!(
            conn,
            fsql,
            q,
            [(diesel::sql_types::Integer, months), (Date, q.today)]
        )?;
        follow_ups.extend(rows.into_iter().map(|r| (months, r)));
    }
    Ok((main, follow_ups))
}

fn fraction(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn cells(
    base: &CellRef,
    row: Option<&MainRow>,
    follow_ups: &[(i32, &FollowUpRow)],
    months: &[i32],
) -> Cells {
    let at = |cell: Cell, months: Option<i32>| {
        CellRef {
            cell,
            months,
            ..base.clone()
        }
        .link()
    };
    let get = |f: fn(&MainRow) -> i64| row.map_or(0, f);
    let exited = get(|r| r.exited);
    let rate = |cell: Cell, numerator: i64| RateCell {
        numerator,
        denominator: exited,
        fraction: fraction(numerator, exited),
        drill_down: at(cell, None),
    };
    Cells {
        started: CountCell {
            count: get(|r| r.started),
            drill_down: at(Cell::Started, None),
        },
        exited: CountCell {
            count: exited,
            drill_down: at(Cell::Exited, None),
        },
        completed: rate(Cell::Completed, get(|r| r.completed)),
        left_for_job: rate(Cell::LeftForJob, get(|r| r.left_for_job)),
        vocational_outcome_during_programme: rate(
            Cell::VocationalOutcomeDuringProgramme,
            get(|r| r.vocational),
        ),
        social_outcome_during_programme: rate(
            Cell::SocialOutcomeDuringProgramme,
            get(|r| r.social),
        ),
        employed_at_follow_up: months
            .iter()
            .map(|m| {
                let (due, employed) = follow_ups
                    .iter()
                    .find(|(fm, _)| fm == m)
                    .map_or((0, 0), |(_, r)| (r.due, r.employed));
                (
                    m.to_string(),
                    RateCell {
                        numerator: employed,
                        denominator: due,
                        fraction: fraction(employed, due),
                        drill_down: at(Cell::EmployedAtFollowUp, Some(*m)),
                    },
                )
            })
            .collect(),
    }
}

fn label(conn: &mut AnyConnection, group_by: GroupBy, key: &str) -> QueryResult<String> {
    Ok(match group_by {
        GroupBy::RiskGroup => crate::dictionaries::repo::risk_group(conn, key)?
            .map_or_else(|| key.to_owned(), |g| g.label_en),
        GroupBy::AgeBand => match key {
            "under_18" => "under 18",
            "18_29" => "18–29",
            "30_54" => "30–54",
            _ => "55 and over",
        }
        .to_owned(),
        GroupBy::ExitReason if key == "not_exited" => "not exited yet".to_owned(),
        _ => key.replace('_', " "),
    })
}

pub struct Params {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
}

pub fn report(
    conn: &mut AnyConnection,
    caseload: Caseload,
    today: NaiveDate,
    params: Params,
) -> Result<OutcomeReport, AppError> {
    let q = Query {
        backend: conn.backend(),
        from: params.from,
        to: params.to,
        today,
        caseload,
        group_by: params.group_by,
    };
    let months = crate::settings::service::current(conn)?.follow_up_months;
    let (groups, group_follow_ups) = figures(conn, &q, true)?;
    let (total, total_follow_ups) = figures(conn, &q, false)?;
    let base = CellRef {
        from: q.from,
        to: q.to,
        group_by: q.group_by,
        key: None,
        cell: Cell::Started,
        months: None,
    };
    let mut out = Vec::with_capacity(groups.len());
    for row in groups.iter().filter(|r| r.started > 0) {
        let fu: Vec<(i32, &FollowUpRow)> = group_follow_ups
            .iter()
            .filter(|(_, f)| f.key == row.key)
            .map(|(m, f)| (*m, f))
            .collect();
        let group_ref = CellRef {
            key: Some(row.key.clone()),
            ..base.clone()
        };
        out.push(Group {
            label: label(conn, q.group_by, &row.key)?,
            key: row.key.clone(),
            cells: cells(&group_ref, Some(row), &fu, &months),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    let total_fu: Vec<(i32, &FollowUpRow)> =
        total_follow_ups.iter().map(|(m, f)| (*m, f)).collect();
    let mut notes = vec![
        "The unit counted is a programme (one participation); completed, left_for_job and the \
         outcome rates are over the exited programmes."
            .to_owned(),
        "Figures cover only the participants you may see (all for managers and auditors, your \
         caseload otherwise); drill-downs list the same participants."
            .to_owned(),
        "Retracted outcomes are not counted.".to_owned(),
    ];
    if q.group_by == GroupBy::RiskGroup {
        notes.push(
            "A participant in several risk groups counts in each of their groups and once in \
             the total, so the groups may add up to more than the total."
                .to_owned(),
        );
    }
    Ok(OutcomeReport {
        from: q.from,
        to: q.to,
        group_by: q.group_by,
        total: cells(&base, total.first(), &total_fu, &months),
        groups: out,
        notes,
    })
}

/// The participants behind one cell (the numerator for rates), by last and first name.
pub fn participants(
    conn: &mut AnyConnection,
    caseload: Caseload,
    today: NaiveDate,
    cell: &CellRef,
) -> Result<Vec<CellParticipant>, AppError> {
    let q = Query {
        backend: conn.backend(),
        from: cell.from,
        to: cell.to,
        today,
        caseload,
        group_by: cell.group_by,
    };
    let (key, join) = match &cell.key {
        Some(_) => q.key(),
        None => ("'total'".to_owned(), ""),
    };
    let sql = format!(
        "SELECT DISTINCT pa.id AS participant_id, pa.first_name, pa.last_name, \
         p.id AS programme_id, p.start_date, p.exit_date, p.exit_reason \
         {cohort} AND {condition} AND {key} = ? \
         ORDER BY pa.last_name, pa.first_name, pa.id, p.id",
        cohort = q.cohort(join),
        condition = Query::condition(cell.cell),
    );
    // The cohort's binds come first in the text, then the cell's, then the key.
    let mut query = diesel::sql_query(numbered(&sql, q.backend))
        .into_boxed()
        .bind::<Date, _>(q.from)
        .bind::<Date, _>(q.to);
    if let Caseload::TeamOf(staff) = &q.caseload {
        query = query.bind::<Text, _>(staff.clone());
    }
    if cell.cell == Cell::EmployedAtFollowUp {
        query = query
            .bind::<diesel::sql_types::Integer, _>(cell.months.unwrap_or(0))
            .bind::<Date, _>(q.today);
    }
    let key_value = cell.key.clone().unwrap_or_else(|| "total".to_owned());
    Ok(query.bind::<Text, _>(key_value).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let sql = "a = ? AND b = ? OR c = ?";
        assert_eq!(numbered(sql, Backend::Sqlite), sql);
        assert_eq!(
            numbered(sql, Backend::Postgres),
            "a = $1 AND b = $2 OR c = $3"
        );
    }

    #[test]
    fn a_cell_reference_survives_its_token_and_junk_does_not_parse() {
        let cell = CellRef {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            group_by: GroupBy::RiskGroup,
            key: Some("homeless".into()),
            cell: Cell::EmployedAtFollowUp,
            months: Some(6),
        };
        assert_eq!(CellRef::parse(&cell.token()), Some(cell));
        assert_eq!(CellRef::parse("zz"), None);
        assert_eq!(CellRef::parse(&hex::encode(b"{\"from\":1}")), None);
    }
}
