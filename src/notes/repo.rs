//! Case-note queries. No HTTP, no policy.

use diesel::prelude::*;

use super::model::{Confidentiality, NoteRow};
use crate::db::schema::case_notes;
use crate::db::AnyConnection;
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &NoteRow) -> QueryResult<()> {
    diesel::insert_into(case_notes::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<NoteRow>> {
    case_notes::table
        .find(id)
        .select(NoteRow::as_select())
        .first(conn)
        .optional()
}

/// The participant a note belongs to.
pub fn participant_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    case_notes::table
        .find(id)
        .select(case_notes::participant_id)
        .first(conn)
        .optional()
}

/// The note that corrects `id`, if any (at most one: a unique index).
pub fn correction_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    case_notes::table
        .filter(case_notes::corrects_note_id.eq(id))
        .select(case_notes::id)
        .first(conn)
        .optional()
}

/// `(corrected note, correcting note)` for each of `ids` that has been corrected.
pub fn corrections_of(
    conn: &mut AnyConnection,
    ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<(Option<String>, String)> = case_notes::table
        .filter(case_notes::corrects_note_id.eq_any(ids))
        .select((case_notes::corrects_note_id, case_notes::id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(corrected, by)| corrected.map(|c| (c, by)))
        .collect())
}

/// A page of a participant's notes, newest first (`-created_at`, then `id`): psychologist
/// notes only when `with_psychologist`. Answers the page, the total the caller may see, and the
/// number of psychologist notes withheld.
pub fn list(
    conn: &mut AnyConnection,
    participant_id: &str,
    with_psychologist: bool,
    page: PageRequest,
) -> QueryResult<(Vec<NoteRow>, i64, i64)> {
    let psychologist = Confidentiality::Psychologist.as_str();
    let visible = || {
        let q = case_notes::table
            .filter(case_notes::participant_id.eq(participant_id.to_owned()))
            .into_boxed();
        if with_psychologist {
            q
        } else {
            q.filter(case_notes::confidentiality.ne(psychologist))
        }
    };
    let total: i64 = visible().count().get_result(conn)?;
    let withheld: i64 = if with_psychologist {
        0
    } else {
        case_notes::table
            .filter(case_notes::participant_id.eq(participant_id))
            .filter(case_notes::confidentiality.eq(psychologist))
            .count()
            .get_result(conn)?
    };
    let rows = visible()
        .order((case_notes::created_at.desc(), case_notes::id.asc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(NoteRow::as_select())
        .load(conn)?;
    Ok((rows, total, withheld))
}
