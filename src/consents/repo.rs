//! Consent queries. No HTTP, no policy.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::{ConsentRow, Purpose};
use crate::db::schema::consents;
use crate::db::AnyConnection;
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &ConsentRow) -> QueryResult<()> {
    diesel::insert_into(consents::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ConsentRow>> {
    consents::table
        .find(id)
        .select(ConsentRow::as_select())
        .first(conn)
        .optional()
}

/// The participant a consent belongs to.
pub fn participant_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    consents::table
        .find(id)
        .select(consents::participant_id)
        .first(conn)
        .optional()
}

/// One page of a participant's consents, newest first (`-created_at`, then `id`), with the total.
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    page: PageRequest,
) -> QueryResult<(Vec<ConsentRow>, i64)> {
    let total: i64 = consents::table
        .filter(consents::participant_id.eq(participant_id))
        .count()
        .get_result(conn)?;
    let rows = consents::table
        .filter(consents::participant_id.eq(participant_id))
        .order((consents::created_at.desc(), consents::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(ConsentRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Records a withdrawal as a compare-and-swap on `version` (and on not being withdrawn yet);
/// answers the rows changed.
pub fn withdraw(
    conn: &mut AnyConnection,
    id: &str,
    expected_version: i64,
    withdrawn_on: NaiveDate,
    note: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(
        consents::table
            .filter(consents::id.eq(id))
            .filter(consents::version.eq(expected_version))
            .filter(consents::withdrawn_on.is_null()),
    )
    .set((
        consents::withdrawn_on.eq(withdrawn_on),
        consents::withdrawal_note.eq(note),
        consents::version.eq(consents::version + 1),
    ))
    .execute(conn)
}

/// Does the participant hold a consent for `purpose` valid on `day`? Valid means
/// `granted_on ≤ day`, `expires_on` null or `day ≤ expires_on`, and `withdrawn_on` null or
/// `day < withdrawn_on` (api.md §13.4). Follow-up contacts need `contact_after_exit`.
pub fn valid_on(
    conn: &mut AnyConnection,
    participant_id: &str,
    purpose: Purpose,
    day: NaiveDate,
) -> QueryResult<bool> {
    let n: i64 = consents::table
        .filter(consents::participant_id.eq(participant_id))
        .filter(consents::purpose.eq(purpose.as_str()))
        .filter(consents::granted_on.le(day))
        .filter(
            consents::expires_on
                .is_null()
                .or(consents::expires_on.ge(day)),
        )
        .filter(
            consents::withdrawn_on
                .is_null()
                .or(consents::withdrawn_on.gt(day)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
