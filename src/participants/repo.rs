//! Participant queries. No HTTP, no policy.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::access::Caseload;
use super::model::{
    CareTeamEntry, ParticipantListRow, ParticipantRow, ProgrammeSummary, RiskGroupEntry, Sex,
    Status,
};
use crate::db::schema::{care_team_members, participant_risk_groups, participants, programmes};
use crate::db::{AnyConnection, DbBackend};
use crate::http::PageRequest;

pub fn insert(conn: &mut AnyConnection, row: &ParticipantRow) -> QueryResult<()> {
    diesel::insert_into(participants::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ParticipantRow>> {
    participants::table
        .find(id)
        .select(ParticipantRow::as_select())
        .first(conn)
        .optional()
}

/// A participant's row with what its record shows beside it.
#[derive(Debug)]
pub struct WholeRecord {
    pub row: ParticipantRow,
    pub risk_groups: Vec<RiskGroupEntry>,
    /// Lead first, then by staff id.
    pub care_team: Vec<CareTeamEntry>,
    pub current_programme: Option<ProgrammeSummary>,
}

type WholeRecordRow = (
    ParticipantRow,
    Option<(String, NaiveDate, NaiveDate)>,
    Option<(String, String, Option<NaiveDate>)>,
    Option<(String, bool)>,
);

/// The participant, its open programme, risk groups and whole care team in one statement (every
/// participant record the service answers, the hot read and each write's answer: one round trip
/// instead of four). The joins multiply into risk groups
/// × team members rows, a handful, folded back here (risk groups in the order of the rows).
pub fn find_whole(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<WholeRecord>> {
    let rows: Vec<WholeRecordRow> = participants::table
        .left_join(
            programmes::table.on(programmes::participant_id
                .eq(participants::id)
                .and(programmes::exit_date.is_null())),
        )
        .left_join(
            participant_risk_groups::table
                .on(participant_risk_groups::participant_id.eq(participants::id)),
        )
        .left_join(
            care_team_members::table.on(care_team_members::participant_id.eq(participants::id)),
        )
        .filter(participants::id.eq(id))
        // Risk groups in the database's order, as `risk_groups_of` and the lists give them.
        .order(participant_risk_groups::risk_group_code.asc())
        .select((
            ParticipantRow::as_select(),
            (
                programmes::id,
                programmes::start_date,
                programmes::planned_end_date,
            )
                .nullable(),
            (
                participant_risk_groups::risk_group_code,
                participant_risk_groups::evidence,
                participant_risk_groups::evidence_date,
            )
                .nullable(),
            (care_team_members::staff_id, care_team_members::lead).nullable(),
        ))
        .load(conn)?;
    let mut risk_groups: Vec<RiskGroupEntry> = Vec::new();
    let mut care_team: Vec<CareTeamEntry> = Vec::new();
    let mut current_programme = None;
    let mut participant = None;
    for (row, programme, group, member) in rows {
        if let Some((code, evidence, evidence_date)) = group {
            if !risk_groups.iter().any(|g| g.code == code) {
                risk_groups.push(RiskGroupEntry {
                    code,
                    evidence,
                    evidence_date,
                });
            }
        }
        if let Some((staff_id, lead)) = member {
            if !care_team.iter().any(|m| m.staff_id == staff_id) {
                care_team.push(CareTeamEntry { staff_id, lead });
            }
        }
        current_programme = programme.map(|(id, start_date, planned_end_date)| ProgrammeSummary {
            id,
            start_date,
            planned_end_date,
        });
        participant.get_or_insert(row);
    }
    care_team.sort_by(|a, b| {
        b.lead
            .cmp(&a.lead)
            .then_with(|| a.staff_id.cmp(&b.staff_id))
    });
    Ok(participant.map(|row| WholeRecord {
        row,
        risk_groups,
        care_team,
        current_programme,
    }))
}

/// The participant holding `pesel`, other than `except`.
pub fn pesel_owner(
    conn: &mut AnyConnection,
    pesel: &str,
    except: Option<&str>,
) -> QueryResult<Option<String>> {
    let mut q = participants::table
        .filter(participants::pesel.eq(pesel))
        .select(participants::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(participants::id.ne(id));
    }
    q.first(conn).optional()
}

pub fn risk_groups_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Vec<RiskGroupEntry>> {
    let rows: Vec<(String, String, Option<NaiveDate>)> = participant_risk_groups::table
        .filter(participant_risk_groups::participant_id.eq(id))
        .order(participant_risk_groups::risk_group_code.asc())
        .select((
            participant_risk_groups::risk_group_code,
            participant_risk_groups::evidence,
            participant_risk_groups::evidence_date,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(code, evidence, evidence_date)| RiskGroupEntry {
            code,
            evidence,
            evidence_date,
        })
        .collect())
}

pub fn replace_risk_groups(
    conn: &mut AnyConnection,
    id: &str,
    entries: &[RiskGroupEntry],
) -> QueryResult<()> {
    diesel::delete(
        participant_risk_groups::table.filter(participant_risk_groups::participant_id.eq(id)),
    )
    .execute(conn)?;
    for e in entries {
        diesel::insert_into(participant_risk_groups::table)
            .values((
                participant_risk_groups::participant_id.eq(id),
                participant_risk_groups::risk_group_code.eq(&e.code),
                participant_risk_groups::evidence.eq(&e.evidence),
                participant_risk_groups::evidence_date.eq(e.evidence_date),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn care_team_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Vec<CareTeamEntry>> {
    let rows: Vec<(String, bool)> = care_team_members::table
        .filter(care_team_members::participant_id.eq(id))
        .order((
            care_team_members::lead.desc(),
            care_team_members::staff_id.asc(),
        ))
        .select((care_team_members::staff_id, care_team_members::lead))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(staff_id, lead)| CareTeamEntry { staff_id, lead })
        .collect())
}

/// Replaces the team: members removed first, so the one-lead index never sees two leads.
pub fn replace_care_team(
    conn: &mut AnyConnection,
    id: &str,
    team: &[CareTeamEntry],
) -> QueryResult<()> {
    diesel::delete(care_team_members::table.filter(care_team_members::participant_id.eq(id)))
        .execute(conn)?;
    for m in team {
        add_member(conn, id, &m.staff_id, m.lead)?;
    }
    Ok(())
}

/// Puts a staff member on the participant's team, copying the participant's sort keys from
/// their row in the same statement (the caseload order, see [`caseload_order`]).
pub fn add_member(
    conn: &mut AnyConnection,
    participant_id: &str,
    staff_id: &str,
    lead: bool,
) -> QueryResult<()> {
    let added = diesel::insert_into(care_team_members::table)
        .values(
            participants::table
                .filter(participants::id.eq(participant_id))
                .select((
                    participants::id,
                    staff_id.into_sql::<diesel::sql_types::Text>(),
                    lead.into_sql::<diesel::sql_types::Bool>(),
                    participants::last_name_key,
                    participants::first_name_key,
                    participants::last_name,
                    participants::first_name,
                )),
        )
        .into_columns((
            care_team_members::participant_id,
            care_team_members::staff_id,
            care_team_members::lead,
            care_team_members::last_name_key,
            care_team_members::first_name_key,
            care_team_members::last_name,
            care_team_members::first_name,
        ))
        .execute(conn)?;
    if added == 1 {
        Ok(())
    } else {
        Err(diesel::result::Error::NotFound)
    }
}

/// Copies the participant's names and sort keys to the rows of their team. Every change of a
/// participant's names calls it in the same transaction (an anonymisation too, so no copy of a
/// name outlives it).
pub fn caseload_order(conn: &mut AnyConnection, row: &ParticipantRow) -> QueryResult<usize> {
    diesel::update(care_team_members::table.filter(care_team_members::participant_id.eq(&row.id)))
        .set((
            care_team_members::last_name_key.eq(&row.last_name_key),
            care_team_members::first_name_key.eq(&row.first_name_key),
            care_team_members::last_name.eq(&row.last_name),
            care_team_members::first_name.eq(&row.first_name),
        ))
        .execute(conn)
}

/// Bumps the version (sub-collections changed under the participant's ETag) as a
/// compare-and-swap; answers the rows changed.
pub fn bump_version(
    conn: &mut AnyConnection,
    id: &str,
    expected: i64,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        participants::table
            .filter(participants::id.eq(id))
            .filter(participants::version.eq(expected)),
    )
    .set((
        participants::version.eq(participants::version + 1),
        participants::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Bumps the version whatever it is (a change made without the client's ETag, such as a caseload
/// reassignment): the increment happens in the database, so concurrent writers cannot lose one.
pub fn increment_version(
    conn: &mut AnyConnection,
    id: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(participants::table.filter(participants::id.eq(id)))
        .set((
            participants::version.eq(participants::version + 1),
            participants::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Moves the participant from one of `from` to `to` (bumping its version) as one conditional
/// update, so two concurrent transitions cannot both pass a status check made earlier; answers
/// whether it moved.
pub fn transition(
    conn: &mut AnyConnection,
    id: &str,
    from: &[Status],
    to: Status,
    now: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let n = diesel::update(
        participants::table
            .filter(participants::id.eq(id))
            .filter(participants::status.eq_any(from)),
    )
    .set((
        participants::status.eq(to.as_str()),
        participants::version.eq(participants::version + 1),
        participants::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn version_of(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i64>> {
    participants::table
        .find(id)
        .select(participants::version)
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    NewestFirst,
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Folded text: a prefix of first or last name, "first last" or "last first".
    pub name_prefix: Option<String>,
    /// Digits: a PESEL prefix.
    pub pesel_prefix: Option<String>,
    pub status: Option<Status>,
    pub risk_group: Option<String>,
    pub staff_id: Option<String>,
    pub programme_active: Option<bool>,
    pub referred_from: Option<NaiveDate>,
    pub referred_to: Option<NaiveDate>,
}

impl ListFilter {
    /// Whether any filter beyond the caseload applies.
    fn narrows(&self) -> bool {
        let ListFilter {
            name_prefix,
            pesel_prefix,
            status,
            risk_group,
            staff_id,
            programme_active,
            referred_from,
            referred_to,
        } = self;
        name_prefix.is_some()
            || pesel_prefix.is_some()
            || status.is_some()
            || risk_group.is_some()
            || staff_id.is_some()
            || programme_active.is_some()
            || referred_from.is_some()
            || referred_to.is_some()
    }
}

fn filtered(caseload: &Caseload, f: &ListFilter) -> participants::BoxedQuery<'static, DbBackend> {
    let mut q = participants::table.into_boxed();
    if let Caseload::TeamOf(staff_id) = caseload {
        q = q.filter(
            participants::id.eq_any(
                care_team_members::table
                    .filter(care_team_members::staff_id.eq(staff_id.clone()))
                    .select(care_team_members::participant_id),
            ),
        );
    }
    if let Some(prefix) = &f.name_prefix {
        let pattern = crate::text::like_prefix(prefix);
        q = q.filter(
            participants::first_name_key
                .like(pattern.clone())
                .escape('\\')
                .or(participants::last_name_key
                    .like(pattern.clone())
                    .escape('\\'))
                .or(participants::first_last_key
                    .like(pattern.clone())
                    .escape('\\'))
                .or(participants::last_first_key.like(pattern).escape('\\')),
        );
    }
    if let Some(digits) = &f.pesel_prefix {
        q = q.filter(participants::pesel.like(format!("{digits}%")));
    }
    if let Some(status) = f.status {
        q = q.filter(participants::status.eq(status.as_str()));
    }
    if let Some(code) = &f.risk_group {
        q = q.filter(
            participants::id.eq_any(
                participant_risk_groups::table
                    .filter(participant_risk_groups::risk_group_code.eq(code.clone()))
                    .select(participant_risk_groups::participant_id),
            ),
        );
    }
    if let Some(staff_id) = &f.staff_id {
        q = q.filter(
            participants::id.eq_any(
                care_team_members::table
                    .filter(care_team_members::staff_id.eq(staff_id.clone()))
                    .select(care_team_members::participant_id),
            ),
        );
    }
    if let Some(active) = f.programme_active {
        let open = programmes::table
            .filter(programmes::exit_date.is_null())
            .select(programmes::participant_id);
        q = if active {
            q.filter(participants::id.eq_any(open))
        } else {
            q.filter(diesel::dsl::not(participants::id.eq_any(open)))
        };
    }
    if let Some(from) = f.referred_from {
        q = q.filter(participants::referred_on.ge(from));
    }
    if let Some(to) = f.referred_to {
        q = q.filter(participants::referred_on.le(to));
    }
    q
}

/// How many participants a list holds. A caseload without other filters is counted on the
/// care-team index alone (one row per participant and member, each naming an existing
/// participant), without touching the participants: on 10,000 participants the joined count
/// ran at ~700 statements a second on PostgreSQL, the index-only one at ~8,400.
fn count(conn: &mut AnyConnection, caseload: &Caseload, filter: &ListFilter) -> QueryResult<i64> {
    match caseload {
        Caseload::TeamOf(staff_id) if !filter.narrows() => care_team_members::table
            .filter(care_team_members::staff_id.eq(staff_id))
            .count()
            .get_result(conn),
        _ => filtered(caseload, filter).count().get_result(conn),
    }
}

/// The columns a list shows of each participant.
#[derive(Queryable, Selectable)]
#[diesel(table_name = participants)]
struct ListRow {
    id: String,
    first_name: String,
    last_name: String,
    birth_date: NaiveDate,
    sex: String,
    status: String,
    version: i64,
}

/// Ids bound per `IN (…)` when loading the rows' relations: a page is one chunk, a CSV of the
/// whole unit a few, and no statement comes near SQLite's limit on bound parameters.
const RELATION_CHUNK: usize = 500;

/// A caseload page's row: the participant's columns, the lead, the open programme.
type CaseloadPageRow = (
    ListRow,
    Option<String>,
    Option<(String, NaiveDate, NaiveDate)>,
);

/// A page of a caseload by name, walked in order on the care-team index that carries the sort
/// keys: the page's rows are read, not the whole caseload (on 10,000 participants, 500 on the
/// caseload, PostgreSQL ran the page at ~8,500 statements a second this way against ~900 for
/// sorting the caseload). The order is the one [`filtered_page`] gives by name.
///
/// The lead and the open programme (one each at most, by the one-lead and one-open-programme
/// indexes) come with the page, through lookups the index walk drives: two statements fewer
/// than loading them by the page's ids.
fn caseload_page(
    conn: &mut AnyConnection,
    staff_id: &str,
    page: Option<PageRequest>,
) -> QueryResult<Vec<CaseloadPageRow>> {
    let lead = diesel::alias!(care_team_members as lead_member);
    // Not boxed: diesel caches the prepared statement of a query whose SQL is fixed, and this is
    // the list asked most often (on SQLite, preparing was 4 % of a list's time).
    let q = care_team_members::table
        .inner_join(participants::table)
        .left_join(
            lead.on(lead
                .field(care_team_members::participant_id)
                .eq(participants::id)
                .and(lead.field(care_team_members::lead).eq(true))),
        )
        .left_join(
            programmes::table.on(programmes::participant_id
                .eq(participants::id)
                .and(programmes::exit_date.is_null())),
        )
        .filter(care_team_members::staff_id.eq(staff_id))
        .order((
            care_team_members::last_name_key.asc(),
            care_team_members::first_name_key.asc(),
            care_team_members::last_name.asc(),
            care_team_members::first_name.asc(),
            care_team_members::participant_id.asc(),
        ))
        .select((
            ListRow::as_select(),
            lead.field(care_team_members::staff_id).nullable(),
            (
                programmes::id,
                programmes::start_date,
                programmes::planned_end_date,
            )
                .nullable(),
        ));
    match page {
        Some(page) => q.offset(page.offset()).limit(page.limit()).load(conn),
        None => q.load(conn),
    }
}

fn filtered_page(
    conn: &mut AnyConnection,
    caseload: &Caseload,
    filter: &ListFilter,
    sort: Sort,
    page: Option<PageRequest>,
) -> QueryResult<Vec<ListRow>> {
    let mut q = filtered(caseload, filter);
    q = match sort {
        // Folded keys first so Ł sorts beside L on both backends, then the originals and the id.
        Sort::Name => q.order((
            participants::last_name_key.asc(),
            participants::first_name_key.asc(),
            participants::last_name.asc(),
            participants::first_name.asc(),
            participants::id.asc(),
        )),
        Sort::NewestFirst => q.order((participants::created_at.desc(), participants::id.asc())),
    };
    if let Some(page) = page {
        q = q.offset(page.offset()).limit(page.limit());
    }
    q.select(ListRow::as_select()).load(conn)
}

/// One page (or, with `page = None`, every row) of the caller's participants, with the total:
/// one count query, one page query, and one query each for the rows' risk groups, leads and
/// open programmes (a caseload page brings the last two along) per [`RELATION_CHUNK`] rows — never one per row — joined to the rows through
/// hash maps, so the work grows linearly with the rows (a CSV of the whole unit included).
pub fn list(
    conn: &mut AnyConnection,
    caseload: &Caseload,
    filter: &ListFilter,
    sort: Sort,
    page: Option<PageRequest>,
) -> QueryResult<(Vec<ParticipantListRow>, i64)> {
    let total = count(conn, caseload, filter)?;
    let mut lead_of: HashMap<String, String> = HashMap::new();
    let mut open_of: HashMap<String, ProgrammeSummary> = HashMap::new();
    // Whether the page brought each row's lead and open programme along.
    let (rows, one_to_one_read) = match (caseload, sort) {
        (Caseload::TeamOf(staff_id), Sort::Name) if !filter.narrows() => {
            let page = caseload_page(conn, staff_id, page)?;
            let mut rows = Vec::with_capacity(page.len());
            for (row, lead, programme) in page {
                if let Some(staff) = lead {
                    lead_of.insert(row.id.clone(), staff);
                }
                if let Some((id, start_date, planned_end_date)) = programme {
                    open_of.insert(
                        row.id.clone(),
                        ProgrammeSummary {
                            id,
                            start_date,
                            planned_end_date,
                        },
                    );
                }
                rows.push(row);
            }
            (rows, true)
        }
        _ => (filtered_page(conn, caseload, filter, sort, page)?, false),
    };
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut groups: Vec<(String, String)> = Vec::new();
    let mut leads: Vec<(String, String)> = Vec::new();
    let mut open: Vec<(String, String, NaiveDate, NaiveDate)> = Vec::new();
    for chunk in ids.chunks(RELATION_CHUNK) {
        groups.extend(
            participant_risk_groups::table
                .filter(participant_risk_groups::participant_id.eq_any(chunk))
                .order((
                    participant_risk_groups::participant_id.asc(),
                    participant_risk_groups::risk_group_code.asc(),
                ))
                .select((
                    participant_risk_groups::participant_id,
                    participant_risk_groups::risk_group_code,
                ))
                .load::<(String, String)>(conn)?,
        );
        if one_to_one_read {
            continue;
        }
        leads.extend(
            care_team_members::table
                .filter(care_team_members::participant_id.eq_any(chunk))
                .filter(care_team_members::lead.eq(true))
                .select((
                    care_team_members::participant_id,
                    care_team_members::staff_id,
                ))
                .load::<(String, String)>(conn)?,
        );
        open.extend(
            programmes::table
                .filter(programmes::participant_id.eq_any(chunk))
                .filter(programmes::exit_date.is_null())
                .select((
                    programmes::participant_id,
                    programmes::id,
                    programmes::start_date,
                    programmes::planned_end_date,
                ))
                .load::<(String, String, NaiveDate, NaiveDate)>(conn)?,
        );
    }

    // Codes arrive ordered within each participant; the one-lead and one-open-programme indexes
    // make the other two maps one entry per participant (the first is kept, as before).
    let mut groups_of: HashMap<String, Vec<String>> = HashMap::with_capacity(rows.len());
    for (p, code) in groups {
        groups_of.entry(p).or_default().push(code);
    }
    for (p, staff) in leads {
        lead_of.entry(p).or_insert(staff);
    }
    for (p, id, start_date, planned_end_date) in open {
        open_of.entry(p).or_insert(ProgrammeSummary {
            id,
            start_date,
            planned_end_date,
        });
    }
    let items = rows
        .into_iter()
        .map(
            |ListRow {
                 id,
                 first_name,
                 last_name,
                 birth_date,
                 sex,
                 status,
                 version,
             }| ParticipantListRow {
                risk_groups: groups_of.remove(&id).unwrap_or_default(),
                lead_staff_id: lead_of.remove(&id),
                current_programme: open_of.remove(&id),
                id,
                first_name,
                last_name,
                birth_date,
                sex: Sex::parse(&sex).unwrap_or(Sex::Female),
                status: Status::parse(&status).unwrap_or(Status::Referred),
                version,
            },
        )
        .collect();
    Ok((items, total))
}
