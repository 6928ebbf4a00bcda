//! Staff queries. Functions take a connection; no HTTP, no policy.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::model::{StaffMember, StaffRow};
use crate::db::schema::{login_failures, refresh_tokens, service_locks, staff, staff_roles};
use crate::db::AnyConnection;
use crate::http::PageRequest;
use crate::policy::Role;

pub fn insert(conn: &mut AnyConnection, row: &StaffRow, roles: &[Role]) -> QueryResult<()> {
    diesel::insert_into(staff::table)
        .values(row)
        .execute(conn)?;
    set_roles(conn, &row.id, roles)
}

/// Replaces the roles (row by row: multi-row inserts do not work for SQLite through MultiConnection).
pub fn set_roles(conn: &mut AnyConnection, staff_id: &str, roles: &[Role]) -> QueryResult<()> {
    diesel::delete(staff_roles::table.filter(staff_roles::staff_id.eq(staff_id))).execute(conn)?;
    for role in roles {
        diesel::insert_into(staff_roles::table)
            .values((
                staff_roles::staff_id.eq(staff_id),
                staff_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn parse_roles(names: Vec<String>) -> Vec<Role> {
    let mut roles: Vec<Role> = names.iter().filter_map(|n| Role::parse(n)).collect();
    roles.sort();
    roles
}

/// The staff member with their roles, in one statement (a left join: a member without roles is
/// one row with a null role). Every authenticated request runs it, so it is one round trip.
pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<StaffMember>> {
    let rows: Vec<(StaffRow, Option<String>)> = staff::table
        .left_join(staff_roles::table)
        .filter(staff::id.eq(id))
        .select((StaffRow::as_select(), staff_roles::role.nullable()))
        .load(conn)?;
    let mut rows = rows.into_iter();
    let Some((row, first)) = rows.next() else {
        return Ok(None);
    };
    let names = first
        .into_iter()
        .chain(rows.filter_map(|(_, r)| r))
        .collect();
    Ok(Some(StaffMember {
        row,
        roles: parse_roles(names),
    }))
}

pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<StaffMember>> {
    let id: Option<String> = staff::table
        .filter(staff::email.eq(email))
        .select(staff::id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => find(conn, &id),
        None => Ok(None),
    }
}

pub fn email_taken(
    conn: &mut AnyConnection,
    email: &str,
    except_id: Option<&str>,
) -> QueryResult<bool> {
    let mut q = staff::table.filter(staff::email.eq(email)).into_boxed();
    if let Some(id) = except_id {
        q = q.filter(staff::id.ne(id));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    /// A folded prefix of the full name or of any word in it, or (with `match_email`) of the
    /// e-mail.
    pub q: Option<String>,
    /// Only for callers who see e-mail addresses (admins): others would learn them prefix by
    /// prefix from which names a search returns.
    pub match_email: bool,
}

/// One page of staff sorted by name, with the total, in two queries plus one for the roles.
pub fn list(
    conn: &mut AnyConnection,
    filter: &StaffFilter,
    page: PageRequest,
) -> QueryResult<(Vec<StaffMember>, i64)> {
    let build = |filter: &StaffFilter| {
        let mut q = staff::table.into_boxed();
        if let Some(role) = filter.role {
            q = q.filter(
                staff::id.eq_any(
                    staff_roles::table
                        .filter(staff_roles::role.eq(role.as_str()))
                        .select(staff_roles::staff_id),
                ),
            );
        }
        if let Some(active) = filter.active {
            q = q.filter(staff::active.eq(active));
        }
        if let Some(prefix) = &filter.q {
            let starts = crate::text::like_prefix(prefix);
            let word = format!("% {starts}");
            let by_name = staff::full_name_key
                .like(starts.clone())
                .escape('\\')
                .or(staff::full_name_key.like(word).escape('\\'));
            q = if filter.match_email {
                q.filter(by_name.or(staff::email.like(starts).escape('\\')))
            } else {
                q.filter(by_name)
            };
        }
        q
    };
    let total: i64 = build(filter).count().get_result(conn)?;
    let rows: Vec<StaffRow> = build(filter)
        .order((
            staff::full_name_key.asc(),
            staff::full_name.asc(),
            staff::id.asc(),
        ))
        .offset(page.offset())
        .limit(page.limit())
        .select(StaffRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let pairs: Vec<(String, String)> = staff_roles::table
        .filter(staff_roles::staff_id.eq_any(&ids))
        .select((staff_roles::staff_id, staff_roles::role))
        .load(conn)?;
    let members = rows
        .into_iter()
        .map(|row| {
            let names = pairs
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, r)| r.clone())
                .collect();
            StaffMember {
                roles: parse_roles(names),
                row,
            }
        })
        .collect();
    Ok((members, total))
}

/// Serialises every change that could remove an admin: the two concurrent demotions of the last
/// two admins must see each other's result.
pub fn lock_admins(conn: &mut AnyConnection) -> QueryResult<()> {
    diesel::update(service_locks::table.filter(service_locks::name.eq("admins")))
        .set(service_locks::counter.eq(service_locks::counter + 1))
        .execute(conn)
        .map(|_| ())
}

/// Admins who can sign in on `today`.
pub fn count_active_admins(conn: &mut AnyConnection, today: NaiveDate) -> QueryResult<i64> {
    staff::table
        .filter(staff::active.eq(true))
        .filter(
            staff::active_until
                .is_null()
                .or(staff::active_until.ge(today)),
        )
        .filter(
            staff::id.eq_any(
                staff_roles::table
                    .filter(staff_roles::role.eq(Role::Admin.as_str()))
                    .select(staff_roles::staff_id),
            ),
        )
        .count()
        .get_result(conn)
}

/// Ends every session of a staff member: refresh tokens revoked, access tokens outdated.
pub fn revoke_all_sessions(
    conn: &mut AnyConnection,
    staff_id: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::staff_id.eq(staff_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(staff::table.find(staff_id))
        .set(staff::token_version.eq(staff::token_version + 1))
        .execute(conn)?;
    Ok(())
}

pub fn clear_login_failures(conn: &mut AnyConnection, email: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::email_key.eq(email)))
        .execute(conn)
        .map(|_| ())
}
