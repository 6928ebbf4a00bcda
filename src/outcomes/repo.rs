//! Outcome queries. No HTTP, no policy.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::*;
use crate::db::schema::{outcomes, programmes};
use crate::db::{AnyConnection, DbBackend};
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &OutcomeRow) -> QueryResult<()> {
    diesel::insert_into(outcomes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<OutcomeRow>> {
    outcomes::table
        .find(id)
        .select(OutcomeRow::as_select())
        .first(conn)
        .optional()
}

pub fn participant_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    outcomes::table
        .find(id)
        .select(outcomes::participant_id)
        .first(conn)
        .optional()
}

/// Writes the status fields of `row` if the stored version is still `expected`.
pub fn update_status(
    conn: &mut AnyConnection,
    row: &OutcomeRow,
    expected: i64,
) -> QueryResult<usize> {
    diesel::update(
        outcomes::table
            .filter(outcomes::id.eq(&row.id))
            .filter(outcomes::version.eq(expected)),
    )
    .set((
        outcomes::status.eq(&row.status),
        outcomes::verified_by.eq(&row.verified_by),
        outcomes::verified_at.eq(row.verified_at),
        outcomes::retracted_by.eq(&row.retracted_by),
        outcomes::retracted_at.eq(row.retracted_at),
        outcomes::retraction_reason.eq(&row.retraction_reason),
        outcomes::version.eq(expected + 1),
        outcomes::updated_at.eq(row.updated_at),
    ))
    .execute(conn)
}

pub fn version_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    outcomes::table
        .find(id)
        .select(outcomes::version)
        .first(conn)
        .optional()
}

/// The participant's programmes as `(start_date, exit_date)`: what `during_programme` is
/// judged against.
pub fn programme_spans(
    conn: &mut AnyConnection,
    participant_id: &str,
) -> QueryResult<Vec<(NaiveDate, Option<NaiveDate>)>> {
    programmes::table
        .filter(programmes::participant_id.eq(participant_id))
        .select((programmes::start_date, programmes::exit_date))
        .load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub kind: Option<OutcomeKind>,
    pub category: Option<OutcomeCategory>,
    pub status: Option<OutcomeStatus>,
}

fn filtered(participant_id: &str, f: &Filter) -> outcomes::BoxedQuery<'static, DbBackend> {
    let mut q = outcomes::table
        .filter(outcomes::participant_id.eq(participant_id.to_owned()))
        .into_boxed();
    if let Some(kind) = f.kind {
        q = q.filter(outcomes::kind.eq(kind.as_str()));
    }
    if let Some(category) = f.category {
        q = q.filter(outcomes::category.eq(category.as_str()));
    }
    if let Some(status) = f.status {
        q = q.filter(outcomes::status.eq(status.as_str()));
    }
    q
}

/// One page of the participant's outcomes, newest first (`-created_at`, then `id`).
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    filter: &Filter,
    page: PageRequest,
) -> QueryResult<(Vec<OutcomeRow>, i64)> {
    let total: i64 = filtered(participant_id, filter).count().get_result(conn)?;
    let rows = filtered(participant_id, filter)
        .order((outcomes::created_at.desc(), outcomes::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(OutcomeRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
