//! The append-only audit log and its SHA-256 hash chain (api.md §11, §13.7).
//!
//! [`record`] runs inside the caller's transaction, so a change and its audit row commit together
//! or not at all. It takes the chain head under a lock (the row lock of an `UPDATE` on PostgreSQL,
//! the single write lock on SQLite), which makes `seq` gapless and the chain linear; call it last
//! in a transaction so transactions never wait on each other in different orders.

pub mod appender;
mod chain;
pub mod model;
pub mod routes;

pub use chain::{canonical_json, chain_hash, GENESIS_HASH};
pub use model::{Actor, Anchor, AuditAction, AuditOutcome, NewEvent, StoredEvent, Verification};

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;

use crate::db::schema::{audit_chain_head, audit_events};
use crate::db::AnyConnection;
use crate::http::{AppError, RequestContext};
use crate::state::AppState;

/// What a change to case data carries into its transaction: the instant (exact, and as stored),
/// the caller and the request, so that the change's audit event commits with it.
pub struct Change {
    /// The instant as stored in rows (microseconds, naive UTC).
    pub now: chrono::NaiveDateTime,
    pub at: DateTime<Utc>,
    pub caller: crate::auth::CurrentStaff,
    pub ctx: RequestContext,
}

impl Change {
    /// An allowed event by the caller.
    pub fn event(&self, action: AuditAction) -> NewEvent {
        NewEvent::new(action, AuditOutcome::Allowed, Some(self.caller.actor()))
    }

    /// Appends `event` in the change's transaction.
    pub fn record(&self, conn: &mut AnyConnection, event: NewEvent) -> Result<(), AppError> {
        record(conn, self.at, &self.ctx, event)?;
        Ok(())
    }

    /// Appends `events` in order in the change's transaction, taking the chain's head once.
    pub fn record_all(
        &self,
        conn: &mut AnyConnection,
        events: Vec<NewEvent>,
    ) -> Result<(), AppError> {
        record_many(
            conn,
            events
                .into_iter()
                .map(|e| (self.at, self.ctx.clone(), e))
                .collect(),
        )?;
        Ok(())
    }
}

/// Runs `f` as one write transaction with the change's context: the rows it writes and the
/// events it records commit together or not at all.
pub async fn change<T, F>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &crate::auth::CurrentStaff,
    f: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut AnyConnection, &Change) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let change = Change {
        now: crate::http::stored_now(state.clock.as_ref()),
        at: state.clock.now(),
        caller: caller.clone(),
        ctx: ctx.clone(),
    };
    state.db.write(move |conn| f(conn, &change)).await
}

/// Appends one event to the chain inside the caller's transaction; answers the stored event.
pub fn record(
    conn: &mut AnyConnection,
    at: DateTime<Utc>,
    ctx: &RequestContext,
    event: NewEvent,
) -> QueryResult<StoredEvent> {
    let mut stored = record_many(conn, vec![(at, ctx.clone(), event)])?;
    stored.pop().ok_or(diesel::result::Error::NotFound)
}

/// Appends events in order inside the caller's transaction, taking the head once: one `UPDATE …
/// RETURNING` that locks it (the row lock on PostgreSQL; SQLite's writer is already alone) and
/// reads it, multi-row inserts, one `UPDATE` of the hash. A group commit of 16 reads is three
/// statements, not nineteen.
pub fn record_many(
    conn: &mut AnyConnection,
    events: Vec<(DateTime<Utc>, RequestContext, NewEvent)>,
) -> QueryResult<Vec<StoredEvent>> {
    /// 50 rows of 15 columns: 750 bind parameters, under SQLite's historic limit of 999.
    const ROWS_PER_INSERT: usize = 50;
    let n = events.len() as i64;
    if n == 0 {
        return Ok(Vec::new());
    }
    // Taking the head row's lock first makes every other appender wait here until we commit.
    let (last_seq, mut prev_hash): (i64, String) = crate::on_backend!(conn, |c| diesel::update(
        audit_chain_head::table.filter(audit_chain_head::id.eq(1))
    )
    .set(audit_chain_head::seq.eq(audit_chain_head::seq + n))
    .returning((audit_chain_head::seq, audit_chain_head::hash))
    .get_result(c)?);
    let mut stored_events = Vec::with_capacity(events.len());
    for (offset, (at, ctx, event)) in (0..n).rev().zip(events) {
        let mut stored = StoredEvent {
            seq: last_seq - offset,
            // Instants are hashed with microseconds, the precision both databases keep.
            at: at.trunc_subsecs(6).naive_utc(),
            actor_id: event.actor.as_ref().map(|a| a.id.clone()),
            actor_roles: event.actor.map(|a| a.roles).unwrap_or_default(),
            action: event.action.to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            entity_type: event.entity_type.map(str::to_owned),
            entity_id: event.entity_id,
            participant_id: event.participant_id,
            request_id: Some(ctx.request_id.clone()),
            ip: ctx.ip.map(|ip| ip.to_string()),
            changed_fields: event.changed_fields,
            details: event.details,
            prev_hash,
            hash: String::new(),
        };
        stored.hash = chain_hash(&stored.prev_hash, &canonical_json(&stored));
        prev_hash = stored.hash.clone();
        stored_events.push(stored);
    }
    let rows: Vec<_> = stored_events.iter().map(StoredEvent::to_row).collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        crate::on_backend!(conn, |c| diesel::insert_into(audit_events::table)
            .values(chunk)
            .execute(c)?);
    }
    diesel::update(audit_chain_head::table.filter(audit_chain_head::id.eq(1)))
        .set(audit_chain_head::hash.eq(&prev_hash))
        .execute(conn)?;
    Ok(stored_events)
}

/// Records one event that has no change to travel with (reads of confidential data, denied
/// attempts, sign-ins): it joins the next group commit of the audit appender, and this returns
/// once that batch is durable.
pub async fn record_alone(
    state: &AppState,
    ctx: &RequestContext,
    event: NewEvent,
) -> Result<(), AppError> {
    state.audit.append(state.clock.now(), ctx, event).await
}

/// [`record_alone`] for several events of one request (a list that discloses several
/// confidential records): appended together, answered once all are durable.
pub async fn record_all_alone(
    state: &AppState,
    ctx: &RequestContext,
    events: Vec<NewEvent>,
) -> Result<(), AppError> {
    state.audit.append_all(state.clock.now(), ctx, events).await
}

/// The chain's head: the last event's `seq` and hash (`0` and the genesis hash when empty).
pub fn head(conn: &mut AnyConnection) -> QueryResult<Anchor> {
    let (seq, hash): (i64, String) = audit_chain_head::table
        .filter(audit_chain_head::id.eq(1))
        .select((audit_chain_head::seq, audit_chain_head::hash))
        .first(conn)?;
    Ok(Anchor { seq, hash })
}

/// Recomputes the chain up to the head as read first: every `seq` in order from 1, every
/// `prev_hash` equal to the previous event's hash, every hash equal to the hash of the stored
/// content, and the head's hash equal to its event's (so cutting events off the end is caught).
/// Events are appended in the same transaction that moves the head, so every event up to a head
/// that was read is committed and immutable: appends running meanwhile cannot make the answer
/// `false`. `anchor`, a head recorded outside the database earlier (`reintegra audit-head`), must
/// still be in the chain with the same hash: a chain rewritten wholesale, or rolled back past the
/// anchor, fails there.
pub fn verify(conn: &mut AnyConnection, anchor: Option<&Anchor>) -> QueryResult<Verification> {
    const BATCH: i64 = 1000;
    let head = head(conn)?;
    let mut checked: i64 = 0;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut last_seq: i64 = 0;
    let mut anchor_found = false;
    loop {
        let rows: Vec<model::EventRow> = audit_events::table
            .filter(audit_events::seq.gt(last_seq))
            .filter(audit_events::seq.le(head.seq))
            .order(audit_events::seq.asc())
            .limit(BATCH)
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq = row.seq;
            let intact = match StoredEvent::from_row(row) {
                Ok(event) => {
                    let linked = event.seq == last_seq + 1
                        && event.prev_hash == prev_hash
                        && event.hash == chain_hash(&event.prev_hash, &canonical_json(&event));
                    prev_hash = event.hash;
                    linked && anchor.is_none_or(|a| a.seq != seq || a.hash == prev_hash)
                }
                Err(_) => false,
            };
            if !intact {
                return Ok(Verification::broken_at(
                    checked,
                    (last_seq + 1).min(seq),
                    &head,
                ));
            }
            anchor_found |= anchor.is_some_and(|a| a.seq == seq);
            last_seq = seq;
            checked += 1;
        }
    }
    if head.seq != last_seq || head.hash != prev_hash {
        return Ok(Verification::broken_at(checked, last_seq + 1, &head));
    }
    if let Some(a) = anchor {
        // The empty chain's genesis anchor (seq 0) holds trivially.
        let held = anchor_found || (a.seq == 0 && a.hash == GENESIS_HASH);
        if !held {
            return Ok(Verification::broken_at(
                checked,
                a.seq.min(last_seq + 1),
                &head,
            ));
        }
    }
    Ok(Verification {
        ok: true,
        checked,
        first_broken_seq: None,
        head_seq: head.seq,
        head_hash: head.hash,
    })
}
