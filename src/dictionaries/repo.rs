//! Dictionary queries. Functions take a connection; no HTTP, no policy.
//!
//! [`Stored`] is how the shared service steps reach each kind's table; the free functions at the
//! end are what other features use (is this risk group offered? which activity type is this?).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ActivityType, ActivityTypeRow, Entry, RiskGroup, RiskGroupRow};
use crate::db::schema::{activity_types, risk_groups};
use crate::db::AnyConnection;
use crate::http::PageRequest;

/// The table behind one kind of entry.
pub trait Stored: Entry {
    fn find(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<Self>>;
    /// One page sorted by code, with the total; `active` filters when given.
    fn list(
        conn: &mut AnyConnection,
        active: Option<bool>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)>;
    fn insert(conn: &mut AnyConnection, entry: &Self, now: NaiveDateTime) -> QueryResult<()>;
    /// Writes every field but the code as a compare-and-swap on `version`, bumping it; answers
    /// the number of rows changed (0 when the entry is gone or its version has moved on).
    fn store(
        conn: &mut AnyConnection,
        entry: &Self,
        expected_version: i64,
        now: NaiveDateTime,
    ) -> QueryResult<usize>;
}

fn corrupt(message: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(message.into())
}

impl Stored for RiskGroup {
    fn find(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<Self>> {
        risk_group(conn, code)
    }

    fn list(
        conn: &mut AnyConnection,
        active: Option<bool>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let build = || {
            let mut q = risk_groups::table.into_boxed();
            if let Some(active) = active {
                q = q.filter(risk_groups::active.eq(active));
            }
            q
        };
        let total: i64 = build().count().get_result(conn)?;
        let rows: Vec<RiskGroupRow> = build()
            .order(risk_groups::code.asc())
            .offset(page.offset())
            .limit(page.limit())
            .select(RiskGroupRow::as_select())
            .load(conn)?;
        Ok((rows.into_iter().map(RiskGroup::from).collect(), total))
    }

    fn insert(conn: &mut AnyConnection, entry: &Self, now: NaiveDateTime) -> QueryResult<()> {
        diesel::insert_into(risk_groups::table)
            .values(RiskGroupRow::new(entry, now))
            .execute(conn)
            .map(|_| ())
    }

    fn store(
        conn: &mut AnyConnection,
        entry: &Self,
        expected_version: i64,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            risk_groups::table
                .filter(risk_groups::code.eq(&entry.code))
                .filter(risk_groups::version.eq(expected_version)),
        )
        .set((
            risk_groups::label_en.eq(&entry.label_en),
            risk_groups::label_pl.eq(&entry.label_pl),
            risk_groups::legal_basis.eq(&entry.legal_basis),
            risk_groups::evidence_hint.eq(&entry.evidence_hint),
            risk_groups::statutory.eq(entry.statutory),
            risk_groups::active.eq(entry.active),
            risk_groups::version.eq(risk_groups::version + 1),
            risk_groups::updated_at.eq(now),
        ))
        .execute(conn)
    }
}

impl Stored for ActivityType {
    fn find(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<Self>> {
        activity_type(conn, code)
    }

    fn list(
        conn: &mut AnyConnection,
        active: Option<bool>,
        page: PageRequest,
    ) -> QueryResult<(Vec<Self>, i64)> {
        let build = || {
            let mut q = activity_types::table.into_boxed();
            if let Some(active) = active {
                q = q.filter(activity_types::active.eq(active));
            }
            q
        };
        let total: i64 = build().count().get_result(conn)?;
        let rows: Vec<ActivityTypeRow> = build()
            .order(activity_types::code.asc())
            .offset(page.offset())
            .limit(page.limit())
            .select(ActivityTypeRow::as_select())
            .load(conn)?;
        let items = rows
            .into_iter()
            .map(ActivityType::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        Ok((items, total))
    }

    fn insert(conn: &mut AnyConnection, entry: &Self, now: NaiveDateTime) -> QueryResult<()> {
        diesel::insert_into(activity_types::table)
            .values(ActivityTypeRow::new(entry, now))
            .execute(conn)
            .map(|_| ())
    }

    fn store(
        conn: &mut AnyConnection,
        entry: &Self,
        expected_version: i64,
        now: NaiveDateTime,
    ) -> QueryResult<usize> {
        diesel::update(
            activity_types::table
                .filter(activity_types::code.eq(&entry.code))
                .filter(activity_types::version.eq(expected_version)),
        )
        .set((
            activity_types::label_en.eq(&entry.label_en),
            activity_types::label_pl.eq(&entry.label_pl),
            activity_types::area.eq(entry.area.as_str()),
            activity_types::category.eq(entry.category.as_str()),
            activity_types::active.eq(entry.active),
            activity_types::version.eq(activity_types::version + 1),
            activity_types::updated_at.eq(now),
        ))
        .execute(conn)
    }
}

/// The risk group with this code, active or retired.
pub fn risk_group(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<RiskGroup>> {
    let row: Option<RiskGroupRow> = risk_groups::table
        .find(code)
        .select(RiskGroupRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(RiskGroup::from))
}

/// Whether a participant may be qualified under this code: it names an active risk group.
pub fn active_risk_group_exists(conn: &mut AnyConnection, code: &str) -> QueryResult<bool> {
    let n: i64 = risk_groups::table
        .filter(risk_groups::code.eq(code))
        .filter(risk_groups::active.eq(true))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The activity type with this code, active or retired.
pub fn activity_type(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<ActivityType>> {
    let row: Option<ActivityTypeRow> = activity_types::table
        .find(code)
        .select(ActivityTypeRow::as_select())
        .first(conn)
        .optional()?;
    row.map(ActivityType::try_from).transpose().map_err(corrupt)
}
