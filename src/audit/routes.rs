//! `/api/v1/audit-events`: the log (admins: events naming no participant; managers: events
//! about participants; auditors: all) and the chain verification.

use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Warsaw;
use diesel::prelude::*;
use futures_util::{future, stream, StreamExt};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{EventRow, StoredEvent, Verification};
use crate::auth::CurrentStaff;
use crate::db::schema::audit_events;
use crate::db::AnyConnection;
use crate::http::{
    csv, AppError, FieldError, PageParams, PageRequest, Paginated, Problem, QueryParams,
    RequestContext,
};
use crate::policy::{Action, Scope};
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list).service(verify);
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuditQuery {
    participant_id: Option<String>,
    actor_id: Option<String>,
    /// An action name such as `participant.read` (for denied attempts, the permission lacked).
    action: Option<String>,
    outcome: Option<super::AuditOutcome>,
    /// First calendar day (Europe/Warsaw), inclusive.
    from: Option<NaiveDate>,
    /// Last calendar day (Europe/Warsaw), inclusive.
    to: Option<NaiveDate>,
}

/// Which events a caller's grants reveal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visible {
    All,
    WithoutParticipant,
    AboutParticipants,
}

#[derive(Debug, Clone, Default)]
struct Filter {
    participant_id: Option<String>,
    actor_id: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
}

/// Midnight in Warsaw of `day`, as naive UTC.
fn warsaw_midnight(day: NaiveDate) -> NaiveDateTime {
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Warsaw
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(local)
}

fn query(visible: Visible, f: &Filter) -> audit_events::BoxedQuery<'static, crate::db::DbBackend> {
    let mut q = audit_events::table.into_boxed();
    q = match visible {
        Visible::All => q,
        Visible::WithoutParticipant => q.filter(audit_events::participant_id.is_null()),
        Visible::AboutParticipants => q.filter(audit_events::participant_id.is_not_null()),
    };
    if let Some(v) = &f.participant_id {
        q = q.filter(audit_events::participant_id.eq(v.clone()));
    }
    if let Some(v) = &f.actor_id {
        q = q.filter(audit_events::actor_id.eq(v.clone()));
    }
    if let Some(v) = &f.action {
        q = q.filter(audit_events::action.eq(v.clone()));
    }
    if let Some(v) = &f.outcome {
        q = q.filter(audit_events::outcome.eq(v.clone()));
    }
    if let Some(v) = f.from {
        q = q.filter(audit_events::at.ge(v));
    }
    if let Some(v) = f.to {
        q = q.filter(audit_events::at.lt(v));
    }
    q
}

fn load(
    conn: &mut AnyConnection,
    visible: Visible,
    f: &Filter,
    page: PageRequest,
) -> Result<(Vec<StoredEvent>, i64), AppError> {
    let total: i64 = query(visible, f).count().get_result(conn)?;
    let rows: Vec<EventRow> = query(visible, f)
        .order(audit_events::seq.asc())
        .offset(page.offset())
        .limit(page.limit())
        .select(EventRow::as_select())
        .load(conn)?;
    let events = rows
        .into_iter()
        .map(StoredEvent::from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    Ok((events, total))
}

const CSV_COLUMNS: &[&str] = &[
    "seq",
    "at",
    "actor_id",
    "actor_roles",
    "action",
    "outcome",
    "entity_type",
    "entity_id",
    "participant_id",
    "request_id",
    "ip",
    "changed_fields",
    "prev_hash",
    "hash",
];

/// Events read (and rendered) per query of a CSV export: the answer holds one batch in memory
/// whatever the size of the log.
const CSV_BATCH: i64 = 1000;

/// One batch of a CSV export: its lines and where the next batch starts.
struct CsvBatch {
    lines: Bytes,
    /// The last `seq` rendered, when a full batch suggests more may follow.
    next_after: Option<i64>,
}

/// The matching events with `after < seq <= upto` (at most [`CSV_BATCH`], by `seq`), rendered
/// as CSV lines, after the header row when `header` is set. Runs on the blocking pool.
fn csv_batch(
    conn: &mut AnyConnection,
    visible: Visible,
    f: &Filter,
    after: i64,
    upto: i64,
    header: bool,
) -> Result<CsvBatch, AppError> {
    let rows: Vec<EventRow> = query(visible, f)
        .filter(audit_events::seq.gt(after))
        .filter(audit_events::seq.le(upto))
        .order(audit_events::seq.asc())
        .limit(CSV_BATCH)
        .select(EventRow::as_select())
        .load(conn)?;
    let full = rows.len() as i64 == CSV_BATCH;
    let last = rows.last().map(|r| r.seq);
    let events = rows
        .into_iter()
        .map(StoredEvent::from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(AppError::internal)?;
    Ok(CsvBatch {
        lines: Bytes::from(csv::render_bytes(CSV_COLUMNS, &events, header)?),
        next_after: last.filter(|_| full),
    })
}

/// Every matching event as CSV, streamed in batches of [`CSV_BATCH`] read by `seq` (keyset, not
/// offset) on the blocking pool, each read only when the client has taken the previous one
/// (actix polls the body while its write buffer has room). The chain head read first bounds the
/// export: every event up to it is committed (the head moves in the appending transaction) and
/// the log is append-only, so the answer is the log as it stood then, without the events
/// appended while it is sent. The header and first batch are read before answering, so a
/// database that is unavailable still gets its problem answer; a later failure aborts the
/// transfer (logged).
async fn csv_export(
    state: &AppState,
    ctx: &RequestContext,
    visible: Visible,
    filter: Filter,
) -> Result<HttpResponse, AppError> {
    let filter = Arc::new(filter);
    let (upto, first) = {
        let filter = filter.clone();
        state
            .db
            .read(move |conn| {
                let upto = super::head(conn)?.seq;
                Ok((upto, csv_batch(conn, visible, &filter, 0, upto, true)?))
            })
            .await?
    };
    let db = state.db.clone();
    let request_id = ctx.request_id.clone();
    let rest = stream::try_unfold(first.next_after, move |cursor| {
        let db = db.clone();
        let filter = filter.clone();
        let request_id = request_id.clone();
        async move {
            let Some(after) = cursor else {
                return Ok(None);
            };
            let batch = db
                .read(move |conn| csv_batch(conn, visible, &filter, after, upto, false))
                .await
                .inspect_err(|e| {
                    tracing::error!(
                        request_id = %request_id,
                        error = %e,
                        after,
                        "audit CSV export aborted"
                    );
                })?;
            // An empty chunk would end the chunked body; an empty batch ends the stream instead.
            if batch.lines.is_empty() {
                return Ok(None);
            }
            Ok(Some((batch.lines, batch.next_after)))
        }
    });
    let chunks = stream::once(future::ready(Ok(first.lines))).chain(rest);
    Ok(csv::streaming_response(chunks, "audit-events.csv"))
}

/// The audit log, oldest first. Values of sensitive fields are never in it, only field names.
/// `Accept: text/csv` answers every matching event (no pagination), streamed (chunked) in `seq`
/// order: the log as it stood when the export began.
#[utoipa::path(
    operation_id = "list_audit_events",
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery, PageParams),
    responses(
        (status = 200, description = "Events", content(
            (Paginated<StoredEvent> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read the audit log", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-events")]
async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let grants = caller.require(&state, &ctx, Action::AuditList).await?;
    let scopes: Vec<Scope> = grants.iter().map(|g| g.scope).collect();
    let visible = if scopes.contains(&Scope::All)
        || (scopes.contains(&Scope::EventsWithoutParticipant)
            && scopes.contains(&Scope::EventsAboutParticipants))
    {
        Visible::All
    } else if scopes.contains(&Scope::EventsAboutParticipants) {
        Visible::AboutParticipants
    } else {
        Visible::WithoutParticipant
    };
    let as_csv = csv::wants_csv(&req);
    let page = params.page();
    let filter = Filter {
        participant_id: params.get("participant_id", "an id"),
        actor_id: params.get("actor_id", "an id"),
        action: params.get("action", "an action name"),
        outcome: params.get_with("outcome", |s| match s {
            "allowed" | "denied" => Ok(s.to_owned()),
            _ => Err("expected allowed or denied".into()),
        }),
        from: params
            .get::<NaiveDate>("from", "a date YYYY-MM-DD")
            .map(warsaw_midnight),
        to: params
            .get_with("to", |raw| {
                raw.parse::<NaiveDate>()
                    .ok()
                    .and_then(|d| d.checked_add_days(chrono::Days::new(1)))
                    .ok_or_else(|| "expected a date YYYY-MM-DD".to_owned())
            })
            .map(warsaw_midnight),
    };
    params.finish()?;
    if as_csv {
        return csv_export(&state, &ctx, visible, filter).await;
    }
    let (events, total) = state
        .db
        .read(move |conn| load(conn, visible, &filter, page))
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(events, page, total)))
}

/// Recomputes the SHA-256 chain up to its current head. With `expected_seq` and
/// `expected_hash` (a head recorded earlier outside the database, e.g. by `reintegra audit-head`),
/// that event must still be in the chain with that hash.
#[utoipa::path(
    operation_id = "verify_audit_chain",
    tag = "audit",
    security(("bearer" = [])),
    params(
        ("expected_seq" = Option<i64>, Query, description = "An anchored head's `seq` (with `expected_hash`)"),
        ("expected_hash" = Option<String>, Query, description = "An anchored head's hash (64 hex digits)"),
    ),
    responses(
        (status = 200, description = "The verification", body = Verification),
        (status = 400, description = "An unknown parameter, or only one half of the anchor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins and auditors verify the chain", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-events/verify")]
async fn verify(
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    caller.require(&state, &ctx, Action::AuditVerify).await?;
    let seq = params.get_with("expected_seq", |raw| match raw.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err("expected a whole number ≥ 0".into()),
    });
    let hash = params.get_with("expected_hash", |raw| {
        let hex = raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            Ok(raw.to_ascii_lowercase())
        } else {
            Err("expected 64 hexadecimal digits".to_owned())
        }
    });
    params.finish()?;
    let anchor = match (seq, hash) {
        (Some(seq), Some(hash)) => Some(super::Anchor { seq, hash }),
        (None, None) => None,
        _ => {
            return Err(AppError::BadQuery(vec![FieldError::new(
                "expected_hash",
                "required",
                "expected_seq and expected_hash go together",
            )]))
        }
    };
    let verification = state
        .db
        .read(move |conn| Ok(super::verify(conn, anchor.as_ref())?))
        .await?;
    Ok(HttpResponse::Ok().json(verification))
}
