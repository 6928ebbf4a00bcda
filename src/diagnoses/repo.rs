//! Diagnosis queries. No HTTP, no policy.

use diesel::prelude::*;

use super::model::{AmendmentRow, DiagnosisRow, DiagnosisStatus};
use crate::db::schema::{diagnoses, diagnosis_amendments, referrals};
use crate::db::AnyConnection;
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &DiagnosisRow) -> QueryResult<()> {
    diesel::insert_into(diagnoses::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<DiagnosisRow>> {
    diagnoses::table
        .find(id)
        .select(DiagnosisRow::as_select())
        .first(conn)
        .optional()
}

/// The participant a diagnosis belongs to.
pub fn participant_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    diagnoses::table
        .find(id)
        .select(diagnoses::participant_id)
        .first(conn)
        .optional()
}

pub fn version_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    diagnoses::table
        .find(id)
        .select(diagnoses::version)
        .first(conn)
        .optional()
}

/// Writes the editable fields of a draft when its version is still `expected`; answers the rows
/// changed (0: gone, moved on, or no longer a draft).
pub fn update_draft(
    conn: &mut AnyConnection,
    row: &DiagnosisRow,
    expected: i64,
) -> QueryResult<usize> {
    diesel::update(
        diagnoses::table
            .filter(diagnoses::id.eq(&row.id))
            .filter(diagnoses::version.eq(expected))
            .filter(diagnoses::status.eq(DiagnosisStatus::Draft.as_str())),
    )
    .set((
        diagnoses::performed_on.eq(row.performed_on),
        diagnoses::instrument.eq(&row.instrument),
        diagnoses::summary.eq(&row.summary),
        diagnoses::findings.eq(&row.findings),
        diagnoses::recommendations.eq(&row.recommendations),
        diagnoses::score_r.eq(row.score_r),
        diagnoses::score_i.eq(row.score_i),
        diagnoses::score_a.eq(row.score_a),
        diagnoses::score_s.eq(row.score_s),
        diagnoses::score_e.eq(row.score_e),
        diagnoses::score_c.eq(row.score_c),
        diagnoses::version.eq(expected + 1),
        diagnoses::updated_at.eq(row.updated_at),
    ))
    .execute(conn)
}

/// Draft → final, when the version is still `expected` (any version when `None`).
pub fn finalize(
    conn: &mut AnyConnection,
    id: &str,
    version: i64,
    expected: Option<i64>,
    by: &str,
    at: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        diagnoses::table
            .filter(diagnoses::id.eq(id))
            .filter(diagnoses::version.eq(expected.unwrap_or(version)))
            .filter(diagnoses::status.eq(DiagnosisStatus::Draft.as_str())),
    )
    .set((
        diagnoses::status.eq(DiagnosisStatus::Final.as_str()),
        diagnoses::finalized_at.eq(at),
        diagnoses::finalized_by.eq(by),
        diagnoses::version.eq(expected.unwrap_or(version) + 1),
        diagnoses::updated_at.eq(at),
    ))
    .execute(conn)
}

/// Appends an amendment and bumps the diagnosis's version (its ETag covers its amendments).
pub fn amend(conn: &mut AnyConnection, row: &AmendmentRow) -> QueryResult<usize> {
    diesel::insert_into(diagnosis_amendments::table)
        .values(row)
        .execute(conn)?;
    diesel::update(diagnoses::table.find(&row.diagnosis_id))
        .set((
            diagnoses::version.eq(diagnoses::version + 1),
            diagnoses::updated_at.eq(row.created_at),
        ))
        .execute(conn)
}

/// The amendments of each of `ids`, oldest first.
pub fn amendments_of(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<AmendmentRow>> {
    diagnosis_amendments::table
        .filter(diagnosis_amendments::diagnosis_id.eq_any(ids))
        .order((
            diagnosis_amendments::created_at.asc(),
            diagnosis_amendments::id.asc(),
        ))
        .select(AmendmentRow::as_select())
        .load(conn)
}

/// Filters of the participant's diagnosis list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub status: Option<String>,
}

/// A page of the participant's diagnoses, newest first (`-created_at`, then `id`), with the total.
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    filter: &Filter,
    page: PageRequest,
) -> QueryResult<(Vec<DiagnosisRow>, i64)> {
    let query = || {
        let mut q = diagnoses::table
            .filter(diagnoses::participant_id.eq(participant_id.to_owned()))
            .into_boxed();
        if let Some(kind) = &filter.kind {
            q = q.filter(diagnoses::kind.eq(kind.clone()));
        }
        if let Some(status) = &filter.status {
            q = q.filter(diagnoses::status.eq(status.clone()));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((diagnoses::created_at.desc(), diagnoses::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(DiagnosisRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Whether the participant has at least one final diagnosis (a plan needs one).
pub fn has_final(conn: &mut AnyConnection, participant_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        diagnoses::table
            .filter(diagnoses::participant_id.eq(participant_id))
            .filter(diagnoses::status.eq(DiagnosisStatus::Final.as_str())),
    ))
    .get_result(conn)
}

/// The participant's first referral date: no diagnosis is performed before it.
pub fn first_referral_on(
    conn: &mut AnyConnection,
    participant_id: &str,
) -> QueryResult<Option<chrono::NaiveDate>> {
    referrals::table
        .filter(referrals::participant_id.eq(participant_id))
        .select(diesel::dsl::min(referrals::referred_on))
        .first(conn)
}
