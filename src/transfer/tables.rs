//! Every table of `db::schema`, declared once for copying: a typed row struct per table
//! (`Queryable` over `all_columns`, `Insertable`, `Serialize`), its primary key for keyset
//! batches, whether the migrations seed it, and the self-reference (if any) that must be set
//! after the whole table is in.
//!
//! Typed rows rather than text casts: the two backends store timestamps, dates and booleans
//! differently, and going through the Rust types diesel maps them to is what the service itself
//! reads, so a row that round-trips here reads the same to the service on either side.
//!
//! The order of the list is the insertion order: every foreign key points to a table earlier in
//! the list or, for the declared self-references, to its own table (checked against both
//! migrated catalogues by the `transfer` tests). A table added to `schema.rs` and not here fails
//! the unit test below; a column added to a table and not here fails to compile (the column
//! tuple must equal the table's `AllColumns`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::{Copier, Normalise, TableKind};
use crate::db::schema;
use crate::db::AnyConnection;

/// Keyset condition "after `$last`" in primary-key order (every key here has one or two columns).
macro_rules! after {
    ($t:ident, $last:expr, ($a:ident)) => {
        schema::$t::$a.gt($last.$a.clone())
    };
    // `a >= x AND (a > x OR b > y)`: the same rows as `a > x OR (a = x AND b > y)`, but the
    // leading `a >= x` lets PostgreSQL start its index scan at the key instead of filtering
    // every earlier row on each batch (quadratic in the table otherwise: 200,000 attendance rows
    // from SQLite to PostgreSQL took 64 s instead of 43 s in a debug build).
    ($t:ident, $last:expr, ($a:ident, $b:ident)) => {
        schema::$t::$a.ge($last.$a.clone()).and(
            schema::$t::$a
                .gt($last.$a.clone())
                .or(schema::$t::$b.gt($last.$b.clone())),
        )
    };
}

macro_rules! tables {
    ($(
        $t:ident: $kind:ident, key($($pk:ident),+), detach($($self_ref:ident)?) {
            $($col:ident: $ty:ty,)+
        }
    )+) => {
        /// One row struct per table, named after the table.
        #[allow(non_camel_case_types)]
        pub mod rows {
            use super::*;
            $(
                #[derive(Debug, Clone, Queryable, Insertable, serde::Serialize)]
                #[diesel(table_name = schema::$t)]
                // A `None` is NULL, never the column's DEFAULT: the copy must be exact.
                #[diesel(treat_none_as_null = true)]
                pub struct $t {
                    $(pub $col: $ty,)+
                }

                // Compiles only while the fields are exactly the table's columns in schema order,
                // so `Queryable` (by position) and `Insertable` (by name) agree and no column is
                // left behind.
                const _: fn() = || {
                    let _: <schema::$t::table as diesel::Table>::AllColumns =
                        ($(schema::$t::$col,)+);
                };

                impl Copier for $t {
                    const NAME: &'static str = stringify!($t);
                    const KIND: TableKind = TableKind::$kind;
                    const COLUMNS: usize = [$(stringify!($col)),+].len();

                    fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
                        schema::$t::table.count().get_result(conn)
                    }

                    fn batch(
                        conn: &mut AnyConnection,
                        last: Option<&Self>,
                        limit: i64,
                    ) -> QueryResult<Vec<Self>> {
                        let mut query = schema::$t::table
                            .select(schema::$t::all_columns)
                            .into_boxed::<crate::db::DbBackend>();
                        if let Some(last) = last {
                            query = query.filter(after!($t, last, ($($pk),+)));
                        }
                        $(query = query.then_order_by(schema::$t::$pk.asc());)+
                        query.limit(limit).load(conn)
                    }

                    fn insert(conn: &mut AnyConnection, rows: &[Self]) -> QueryResult<usize> {
                        // The multi-backend connection has no multi-row INSERT: each backend's
                        // own connection runs it.
                        let mut n = 0;
                        match conn {
                            AnyConnection::Postgresql(c) => {
                                for chunk in rows.chunks(crate::transfer::rows_per_insert(true, Self::COLUMNS)) {
                                    n += diesel::insert_into(schema::$t::table).values(chunk).execute(c)?;
                                }
                            }
                            AnyConnection::Sqlite(c) => {
                                for chunk in rows.chunks(crate::transfer::rows_per_insert(false, Self::COLUMNS)) {
                                    n += diesel::insert_into(schema::$t::table).values(chunk).execute(c)?;
                                }
                            }
                        }
                        Ok(n)
                    }

                    fn normalise(&mut self) -> u64 {
                        0 $(+ Normalise::normalise(&mut self.$col))+
                    }

                    fn delete_all(conn: &mut AnyConnection) -> QueryResult<usize> {
                        diesel::delete(schema::$t::table).execute(conn)
                    }

                    #[allow(unreachable_code)]
                    fn detach(&mut self) -> Option<(String, String)> {
                        $(return self.$self_ref.take().map(|target| (self.id.clone(), target));)?
                        None
                    }

                    #[allow(unused_variables)]
                    fn reattach(conn: &mut AnyConnection, id: &str, target: &str) -> QueryResult<usize> {
                        $(return diesel::update(schema::$t::table.filter(schema::$t::id.eq(id)))
                            .set(schema::$t::$self_ref.eq(Some(target)))
                            .execute(conn);)?
                        #[allow(unreachable_code)]
                        Ok(0)
                    }
                }
            )+
        }

        /// Every table, in insertion (foreign-key) order.
        pub static TABLES: &[super::Table] = &[$(super::Table::of::<rows::$t>(),)+];
    };
}

tables! {
    audit_events: Data, key(seq), detach() {
        seq: i64,
        at: NaiveDateTime,
        actor_id: Option<String>,
        actor_roles: String,
        action: String,
        outcome: String,
        entity_type: Option<String>,
        entity_id: Option<String>,
        participant_id: Option<String>,
        request_id: Option<String>,
        ip: Option<String>,
        changed_fields: String,
        details: Option<String>,
        prev_hash: String,
        hash: String,
    }
    audit_chain_head: Seeded, key(id), detach() {
        id: i32,
        seq: i64,
        hash: String,
    }
    staff: Data, key(id), detach() {
        id: String,
        email: String,
        full_name: String,
        full_name_key: String,
        password_hash: String,
        active: bool,
        active_until: Option<NaiveDate>,
        must_change_password: bool,
        token_version: i64,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    staff_roles: Data, key(staff_id, role), detach() {
        staff_id: String,
        role: String,
    }
    refresh_tokens: Data, key(id), detach() {
        id: String,
        family_id: String,
        staff_id: String,
        token_hash: String,
        family_started_at: NaiveDateTime,
        issued_at: NaiveDateTime,
        expires_at: NaiveDateTime,
        used_at: Option<NaiveDateTime>,
        revoked_at: Option<NaiveDateTime>,
    }
    login_failures: Data, key(id), detach() {
        id: String,
        email_key: String,
        failed_at: NaiveDateTime,
    }
    settings: Seeded, key(id), detach() {
        id: i32,
        unit_name: String,
        unit_kind: String,
        programme_months: i32,
        follow_up_months: String,
        retention_years: i32,
        project_retention_until: Option<NaiveDate>,
        review_interval_days: i32,
        version: i64,
        updated_at: NaiveDateTime,
    }
    risk_groups: Seeded, key(code), detach() {
        code: String,
        label_en: String,
        label_pl: String,
        legal_basis: Option<String>,
        evidence_hint: Option<String>,
        statutory: bool,
        active: bool,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    activity_types: Seeded, key(code), detach() {
        code: String,
        label_en: String,
        label_pl: String,
        area: String,
        category: String,
        active: bool,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    idempotency_keys: Data, key(staff_id, idem_key), detach() {
        staff_id: String,
        idem_key: String,
        method: String,
        path: String,
        request_hash: String,
        status: Option<i32>,
        response_body: Option<String>,
        location: Option<String>,
        etag: Option<String>,
        created_at: NaiveDateTime,
        committed_at: Option<NaiveDateTime>,
    }
    service_locks: Seeded, key(name), detach() {
        name: String,
        counter: i64,
    }
    participants: Data, key(id), detach() {
        id: String,
        status: String,
        first_name: String,
        last_name: String,
        first_name_key: String,
        last_name_key: String,
        first_last_key: String,
        last_first_key: String,
        pesel: Option<String>,
        id_document_kind: Option<String>,
        id_document_number: Option<String>,
        id_document_country: Option<String>,
        birth_date: NaiveDate,
        sex: String,
        phone: Option<String>,
        email: Option<String>,
        address_street: Option<String>,
        address_postal_code: Option<String>,
        address_city: Option<String>,
        education_level: Option<String>,
        labour_status_at_entry: Option<String>,
        disability: Option<bool>,
        legal_rep_full_name: Option<String>,
        legal_rep_relation: Option<String>,
        legal_rep_phone: Option<String>,
        referral_source: String,
        referral_reference: Option<String>,
        referred_on: NaiveDate,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    referrals: Data, key(id), detach() {
        id: String,
        participant_id: String,
        source: String,
        reference: Option<String>,
        referred_on: NaiveDate,
        created_at: NaiveDateTime,
        created_by: String,
    }
    qualifications: Data, key(id), detach() {
        id: String,
        participant_id: String,
        decision: String,
        decided_on: NaiveDate,
        reason: Option<String>,
        decided_by: String,
        created_at: NaiveDateTime,
    }
    participant_risk_groups: Data, key(participant_id, risk_group_code), detach() {
        participant_id: String,
        risk_group_code: String,
        evidence: String,
        evidence_date: Option<NaiveDate>,
    }
    care_team_members: Data, key(participant_id, staff_id), detach() {
        participant_id: String,
        staff_id: String,
        lead: bool,
        last_name_key: String,
        first_name_key: String,
        last_name: String,
        first_name: String,
    }
    consents: Data, key(id), detach() {
        id: String,
        participant_id: String,
        purpose: String,
        description: Option<String>,
        granted_on: NaiveDate,
        expires_on: Option<NaiveDate>,
        document_reference: String,
        withdrawn_on: Option<NaiveDate>,
        withdrawal_note: Option<String>,
        version: i64,
        created_at: NaiveDateTime,
        created_by: String,
    }
    case_notes: Data, key(id), detach(corrects_note_id) {
        id: String,
        participant_id: String,
        body: String,
        confidentiality: String,
        corrects_note_id: Option<String>,
        author_id: String,
        created_at: NaiveDateTime,
    }
    programmes: Data, key(id), detach() {
        id: String,
        participant_id: String,
        start_date: NaiveDate,
        planned_months: i32,
        planned_end_date: NaiveDate,
        basis: String,
        basis_reference: Option<String>,
        extension_reason: Option<String>,
        exit_date: Option<NaiveDate>,
        exit_reason: Option<String>,
        exit_note: Option<String>,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    follow_ups: Data, key(id), detach() {
        id: String,
        programme_id: String,
        participant_id: String,
        months_after_exit: i32,
        due_on: NaiveDate,
        status: String,
        contacted_on: Option<NaiveDate>,
        result: Option<String>,
        note: Option<String>,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    diagnoses: Data, key(id), detach() {
        id: String,
        participant_id: String,
        kind: String,
        status: String,
        performed_on: NaiveDate,
        instrument: Option<String>,
        summary: Option<String>,
        findings: Option<String>,
        recommendations: Option<String>,
        score_r: Option<i32>,
        score_i: Option<i32>,
        score_a: Option<i32>,
        score_s: Option<i32>,
        score_e: Option<i32>,
        score_c: Option<i32>,
        author_id: String,
        author_role: String,
        finalized_at: Option<NaiveDateTime>,
        finalized_by: Option<String>,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    diagnosis_amendments: Data, key(id), detach() {
        id: String,
        diagnosis_id: String,
        reason: String,
        body: String,
        author_id: String,
        created_at: NaiveDateTime,
    }
    plans: Data, key(id), detach(revises_plan_id) {
        id: String,
        participant_id: String,
        programme_id: String,
        version_no: i32,
        status: String,
        revises_plan_id: Option<String>,
        accepted_on: Option<NaiveDate>,
        accepted_by_participant: Option<bool>,
        activated_at: Option<NaiveDateTime>,
        activated_by: Option<String>,
        next_review_on: Option<NaiveDate>,
        created_by: String,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    plan_goals: Data, key(id), detach() {
        id: String,
        plan_id: String,
        position: i32,
        area: String,
        title: String,
        description: Option<String>,
        indicator: String,
        target_date: NaiveDate,
        status: String,
        achieved_on: Option<NaiveDate>,
        progress_note: Option<String>,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    plan_goal_history: Data, key(id), detach() {
        id: String,
        goal_id: String,
        status: String,
        achieved_on: Option<NaiveDate>,
        changed_by: String,
        changed_at: NaiveDateTime,
    }
    plan_actions: Data, key(id), detach() {
        id: String,
        plan_id: String,
        goal_id: String,
        position: i32,
        title: String,
        responsible_staff_id: String,
        due_date: NaiveDate,
        activity_type_code: Option<String>,
        status: String,
        done_on: Option<NaiveDate>,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
    plan_reviews: Data, key(id), detach() {
        id: String,
        plan_id: String,
        reviewed_on: NaiveDate,
        summary: String,
        next_review_on: NaiveDate,
        reviewer_id: String,
        created_at: NaiveDateTime,
    }
    sessions: Data, key(id), detach() {
        id: String,
        activity_type_code: String,
        area: String,
        category: String,
        title: String,
        starts_at: NaiveDateTime,
        starts_on: NaiveDate,
        duration_minutes: i32,
        location: Option<String>,
        status: String,
        cancel_reason: Option<String>,
        cancelled_at: Option<NaiveDateTime>,
        created_by: String,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        attended_minutes: i64,
    }
    session_facilitators: Data, key(session_id, staff_id), detach() {
        session_id: String,
        staff_id: String,
    }
    session_invitees: Data, key(session_id, participant_id), detach() {
        session_id: String,
        participant_id: String,
    }
    attendance: Data, key(session_id, participant_id), detach() {
        session_id: String,
        participant_id: String,
        programme_id: String,
        status: String,
        minutes: i32,
        note: Option<String>,
        recorded_by: String,
        recorded_at: NaiveDateTime,
    }
    outcomes: Data, key(id), detach() {
        id: String,
        participant_id: String,
        kind: String,
        category: String,
        achieved_on: NaiveDate,
        employer: Option<String>,
        hours_per_week: Option<i32>,
        contract_end: Option<NaiveDate>,
        name: Option<String>,
        institution: Option<String>,
        description: Option<String>,
        evidence_document_type: String,
        evidence_reference: String,
        note: Option<String>,
        status: String,
        recorded_by: String,
        verified_by: Option<String>,
        verified_at: Option<NaiveDateTime>,
        retracted_by: Option<String>,
        retracted_at: Option<NaiveDateTime>,
        retraction_reason: Option<String>,
        version: i64,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
    }
}

#[cfg(test)]
mod tests {
    /// Table names declared in `src/db/schema.rs`, read from its text so that a table added there
    /// and forgotten here fails this test.
    #[test]
    fn every_table_in_the_schema_is_copied() {
        let schema = include_str!("../db/schema.rs");
        let mut declared: Vec<&str> = schema
            .split("diesel::table! {")
            .skip(1)
            .filter_map(|block| block.split_whitespace().next())
            .collect();
        declared.sort_unstable();
        let mut copied: Vec<&str> = super::TABLES.iter().map(|t| t.name).collect();
        copied.sort_unstable();
        assert_eq!(declared, copied);
    }
}
