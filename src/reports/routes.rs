//! `/api/v1/reports/…` (api.md §10, §13.6).

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde_json::{json, Value};
use utoipa_actix_web::service_config::ServiceConfig;

use super::annual::{self, AnnualReport};
use super::esf::{self, EsfReport};
use super::outcomes::{self, CellParticipant, CellRef, GroupBy, OutcomeReport};
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::http::{csv, AppError, PageParams, Paginated, Problem, QueryParams, RequestContext};
use crate::participants::access::{self, Caseload};
use crate::policy::Action;
use crate::state::AppState;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(outcome_report)
        .service(cell_participants)
        .service(annual_report)
        .service(esf_report);
}

/// The caller's scope for reports: 403 (audited) for roles that read none (admins).
async fn scope(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
) -> Result<Caseload, AppError> {
    match access::caseload(caller, Action::ReportRead) {
        Ok(caseload) => Ok(caseload),
        Err(e) => {
            caller
                .record_denial(state, ctx, Action::ReportRead, None)
                .await;
            Err(e)
        }
    }
}

async fn record_read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    details: Value,
) -> Result<(), AppError> {
    audit::record_alone(
        state,
        ctx,
        NewEvent::new(
            AuditAction::ReportRead,
            AuditOutcome::Allowed,
            Some(caller.actor()),
        )
        .details(details),
    )
    .await
}

/// `from` and `to`, both required dates, `to` not before `from` (400 on `to`).
fn period(params: &mut QueryParams) -> Option<(NaiveDate, NaiveDate)> {
    let (from, to) = (params.required_date("from"), params.required_date("to"));
    let (from, to) = from.zip(to)?;
    if from > to {
        params.reject("to", "before_from", "must not be before from");
    }
    Some((from, to))
}

/// The CSV of a report: one line per group, then the total (`key` = `total`).
fn report_csv(report: &OutcomeReport) -> Result<String, AppError> {
    let months: Vec<String> = report.total.employed_at_follow_up.keys().cloned().collect();
    let mut columns: Vec<String> = ["key", "label", "started.count", "exited.count"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for rate in [
        "completed",
        "left_for_job",
        "vocational_outcome_during_programme",
        "social_outcome_during_programme",
    ]
    .iter()
    .map(|r| r.to_string())
    .chain(months.iter().map(|m| format!("employed_at_follow_up.{m}")))
    {
        for part in ["numerator", "denominator", "fraction"] {
            columns.push(format!("{rate}.{part}"));
        }
    }
    let mut rows: Vec<Value> = report
        .groups
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let mut total = serde_json::to_value(&report.total)?;
    total["key"] = json!("total");
    total["label"] = json!("total");
    rows.push(total);
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    csv::render(&columns, &rows)
}

/// The outcome report: programmes whose `start_date` lies in `from`…`to` (both required),
/// grouped by `group_by` (default `risk_group`): `started` and `exited` counts and the rates
/// `completed`, `left_for_job`, `vocational_outcome_during_programme`,
/// `social_outcome_during_programme` over the exited, `employed_at_follow_up` per follow-up
/// month over the follow-ups due by today. Every cell links to its participants. Managers and
/// auditors: the whole unit; clinicians: their caseload. CSV: one line per group and the total.
/// Audited as `report.read`.
#[utoipa::path(
    operation_id = "outcome_report",
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("from" = NaiveDate, Query, description = "First start date of the cohort"),
        ("to" = NaiveDate, Query, description = "Last start date of the cohort"),
        ("group_by" = Option<GroupBy>, Query, description = "Default `risk_group`"),
    ),
    responses(
        (status = 200, description = "The report, or its CSV", content(
            (OutcomeReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad or missing query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no reports (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/outcomes")]
async fn outcome_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let caseload = scope(&state, &ctx, &caller).await?;
    let group_by = params
        .get::<GroupBy>("group_by", "risk_group, exit_reason, sex, age_band or year")
        .unwrap_or(GroupBy::RiskGroup);
    let period = period(&mut params);
    params.finish()?;
    let (from, to) = period.ok_or(AppError::Internal("checked above".into()))?;
    let today = state.clock.today();
    let report = state
        .db
        .read(move |conn| {
            outcomes::report(
                conn,
                caseload,
                today,
                outcomes::Params { from, to, group_by },
            )
        })
        .await?;
    record_read(
        &state,
        &ctx,
        &caller,
        json!({"report": "outcomes", "from": from, "to": to, "group_by": group_by.as_str()}),
    )
    .await?;
    if csv::wants_csv(&req) {
        return Ok(csv::response(report_csv(&report)?, "outcomes-report.csv"));
    }
    Ok(HttpResponse::Ok().json(report))
}

const PARTICIPANT_COLUMNS: &[&str] = &[
    "participant_id",
    "last_name",
    "first_name",
    "programme_id",
    "start_date",
    "exit_date",
    "exit_reason",
];

/// The participants behind one cell of the outcome report (`cell` is the opaque token of a
/// `drill_down` link; for a rate, its numerator's participants), by name, recomputed over the
/// participants the caller may see, so it always agrees with the report the caller gets.
/// CSV: every row. Audited as `report.read` with the number of participants listed.
#[utoipa::path(
    operation_id = "outcome_report_participants",
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("cell" = String, Query, description = "The token of a `drill_down` link"),
        PageParams,
    ),
    responses(
        (status = 200, description = "One page, or every row as CSV", content(
            (Paginated<CellParticipant> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad or missing `cell`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no reports (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/outcomes/participants")]
async fn cell_participants(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let caseload = scope(&state, &ctx, &caller).await?;
    let cell = params.require_with("cell", |s| {
        CellRef::parse(s).ok_or_else(|| "expected the token of a drill_down link".to_owned())
    });
    let page = params.page();
    params.finish()?;
    let cell = cell.ok_or(AppError::Internal("checked above".into()))?;
    let today = state.clock.today();
    let described = json!({"report": "outcomes", "cell": &cell});
    let rows = state
        .db
        .read(move |conn| outcomes::participants(conn, caseload, today, &cell))
        .await?;
    let mut details = described;
    details["participants"] = json!(rows.len());
    record_read(&state, &ctx, &caller, details).await?;
    if csv::wants_csv(&req) {
        let body = csv::render_off_worker(PARTICIPANT_COLUMNS, rows).await?;
        return Ok(csv::response(body, "outcomes-report-participants.csv"));
    }
    Ok(HttpResponse::Ok().json(Paginated::cut(rows, page)))
}

const ANNUAL_COLUMNS: &[&str] = &["year", "unit_kind", "block", "key", "count"];

/// The CSV of the annual report: one line per figure (`block`, `key`, `count`), the single
/// figures under the key `total`; risk groups by code.
fn annual_csv(report: &AnnualReport) -> Result<String, AppError> {
    let mut rows: Vec<(&str, String, i64)> = vec![
        (
            "total_participants",
            "total".into(),
            report.total_participants,
        ),
        ("entries", "total".into(), report.entries),
        ("completed", "total".into(), report.completed),
    ];
    rows.extend(
        report
            .participants_by_risk_group
            .iter()
            .map(|g| ("participants_by_risk_group", g.code.clone(), g.count)),
    );
    for (block, map) in [
        ("participants_by_sex", &report.participants_by_sex),
        ("participants_by_age_band", &report.participants_by_age_band),
        ("exits_by_reason", &report.exits_by_reason),
        ("outcomes_by_kind", &report.outcomes_by_kind),
        ("activity_minutes_by_area", &report.activity_minutes_by_area),
        (
            "activity_minutes_by_category",
            &report.activity_minutes_by_category,
        ),
        ("staff_by_role", &report.staff_by_role),
    ] {
        rows.extend(map.iter().map(|(k, n)| (block, k.clone(), *n)));
    }
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|(block, key, count)| {
            json!({"year": report.year, "unit_kind": report.unit_kind, "block": block,
                   "key": key, "count": count})
        })
        .collect();
    csv::render(ANNUAL_COLUMNS, &rows)
}

/// The unit's annual report for the calendar `year` (required): the participants with a
/// programme overlapping the year by risk group (a participant in several groups counts in
/// each), sex and age band on 31 December; programmes entered, exited by reason and completed
/// in the year; outcomes (not retracted) achieved in the year by kind; attendance minutes of
/// the year's sessions by area and category; active staff by role. Every closed set lists all
/// its keys (0 when none). Managers and auditors: the whole unit; clinicians: their caseload.
/// CSV: one line per figure (`year, unit_kind, block, key, count`). Audited as `report.read`.
#[utoipa::path(
    operation_id = "annual_report",
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("year" = i32, Query, description = "The calendar year (1900–9999)", example = 2026),
    ),
    responses(
        (status = 200, description = "The report, or its CSV", content(
            (AnnualReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad or missing `year`, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no reports (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/annual")]
async fn annual_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let caseload = scope(&state, &ctx, &caller).await?;
    let year = params.require_with("year", |s| match s.parse::<i32>() {
        Ok(y) if (1900..=9999).contains(&y) => Ok(y),
        _ => Err("expected a calendar year (1900–9999)".to_owned()),
    });
    params.finish()?;
    let year = year.ok_or(AppError::Internal("checked above".into()))?;
    let today = state.clock.today();
    let report = state
        .db
        .read(move |conn| annual::report(conn, caseload, today, year))
        .await?;
    record_read(
        &state,
        &ctx,
        &caller,
        json!({"report": "annual", "year": year}),
    )
    .await?;
    if csv::wants_csv(&req) {
        return Ok(csv::response(
            annual_csv(&report)?,
            &format!("annual-report-{year}.csv"),
        ));
    }
    Ok(HttpResponse::Ok().json(report))
}

const ESF_COLUMNS: &[&str] = &[
    "code",
    "code_confirmed",
    "label",
    "count",
    "by_sex.female",
    "by_sex.male",
    "by_sex.unknown",
];

/// ESF+ participant indicators (Reg. (EU) 2021/1057 Annex I) over the participants whose
/// programme started in `from`…`to` (both required): all participants, labour status,
/// age at the start, education, disability, homelessness (EECO…), and the result indicators
/// in education, qualification gained and employed within 4 weeks of exit, employed 6 months
/// after (EECR…). Each `{code, code_confirmed, label, count, by_sex: {female, male, unknown}}`,
/// counted per participant; `code_confirmed` is false for codes not verified against Poland's
/// list. Managers and auditors: the whole unit; clinicians: their caseload. CSV: one line per
/// indicator. Audited as `report.read`.
#[utoipa::path(
    operation_id = "esf_report",
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("from" = NaiveDate, Query, description = "First start date of the cohort"),
        ("to" = NaiveDate, Query, description = "Last start date of the cohort (not before `from`)"),
    ),
    responses(
        (status = 200, description = "The indicators, or their CSV", content(
            (EsfReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad or missing `from`/`to`, `to` before `from`, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role reads no reports (admins)", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "Neither JSON nor CSV accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/esf")]
async fn esf_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    ctx: RequestContext,
    caller: CurrentStaff,
    mut params: QueryParams,
) -> Result<HttpResponse, AppError> {
    let caseload = scope(&state, &ctx, &caller).await?;
    let period = period(&mut params);
    params.finish()?;
    let (from, to) = period.ok_or(AppError::Internal("checked above".into()))?;
    let report = state
        .db
        .read(move |conn| esf::report(conn, caseload, from, to))
        .await?;
    record_read(
        &state,
        &ctx,
        &caller,
        json!({"report": "esf", "from": from, "to": to}),
    )
    .await?;
    if csv::wants_csv(&req) {
        return Ok(csv::response(
            csv::render(ESF_COLUMNS, &report.indicators)?,
            "esf-report.csv",
        ));
    }
    Ok(HttpResponse::Ok().json(report))
}
