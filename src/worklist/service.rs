//! Assembling the worklist: each kind from its one query, merged and sorted, one page answered.

use serde_json::json;

use super::model::{Horizon, Kind, WorklistItem};
use super::repo;
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::AnyConnection;
use crate::http::{AppError, PageRequest, Paginated, RequestContext};
use crate::state::AppState;

fn due_or_overdue(due_on: chrono::NaiveDate, h: Horizon) -> &'static str {
    if due_on < h.today {
        "overdue"
    } else {
        "due"
    }
}

/// Every item of `kinds` for `staff_id` around `h`, unsorted.
pub fn items(
    conn: &mut AnyConnection,
    staff_id: &str,
    h: Horizon,
    kinds: &[Kind],
) -> Result<Vec<WorklistItem>, AppError> {
    let mut out = Vec::new();
    for kind in kinds {
        match kind {
            Kind::ActionDue => out.extend(repo::actions_due(conn, staff_id, h)?.into_iter().map(
                |(id, plan, participant, due_on, title)| WorklistItem {
                    kind: Kind::ActionDue,
                    due_on,
                    participant_id: Some(participant),
                    resource_path: format!("/api/v1/plans/{plan}#{id}"),
                    summary: format!("IPD action {}: {title}", due_or_overdue(due_on, h)),
                },
            )),
            Kind::ReviewDue => out.extend(repo::reviews_due(conn, staff_id, h)?.into_iter().map(
                |(plan, participant, due_on)| WorklistItem {
                    kind: Kind::ReviewDue,
                    due_on,
                    participant_id: Some(participant),
                    resource_path: format!("/api/v1/plans/{plan}"),
                    summary: format!("IPD review {}", due_or_overdue(due_on, h)),
                },
            )),
            Kind::FollowUpDue => {
                out.extend(repo::follow_ups_due(conn, staff_id, h)?.into_iter().map(
                    |(id, participant, due_on, months)| WorklistItem {
                        kind: Kind::FollowUpDue,
                        due_on,
                        resource_path: format!(
                            "/api/v1/participants/{participant}/follow-ups#{id}"
                        ),
                        participant_id: Some(participant),
                        summary: format!(
                            "Follow-up {months} months after exit {}",
                            due_or_overdue(due_on, h)
                        ),
                    },
                ))
            }
            Kind::ConsentExpiring => {
                out.extend(repo::consents_expiring(conn, staff_id, h)?.into_iter().map(
                    |(id, participant, due_on, purpose)| WorklistItem {
                        kind: Kind::ConsentExpiring,
                        due_on,
                        participant_id: Some(participant),
                        resource_path: format!("/api/v1/consents/{id}"),
                        summary: format!("Consent ({purpose}) expires"),
                    },
                ))
            }
            Kind::ProgrammeEnding => {
                out.extend(repo::programmes_ending(conn, staff_id, h)?.into_iter().map(
                    |(id, participant, due_on)| WorklistItem {
                        kind: Kind::ProgrammeEnding,
                        due_on,
                        participant_id: Some(participant),
                        resource_path: format!("/api/v1/programmes/{id}"),
                        summary: "Programme reaches its planned end".to_owned(),
                    },
                ))
            }
            Kind::AttendanceMissing => out.extend(
                repo::sessions_without_attendance(conn, staff_id, h)?
                    .into_iter()
                    .map(|(id, due_on, title)| WorklistItem {
                        kind: Kind::AttendanceMissing,
                        due_on,
                        participant_id: None,
                        resource_path: format!("/api/v1/sessions/{id}"),
                        summary: format!("Attendance not recorded: {title}"),
                    }),
            ),
        }
    }
    Ok(out)
}

/// One page of the caller's worklist (all kinds, or `kind` only), sorted by `due_on`, `kind`,
/// `resource_path`. Each read is audited as one `worklist.read` event with the filter and the
/// number of items, like the participant list.
pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    kind: Option<Kind>,
    page: PageRequest,
) -> Result<Paginated<WorklistItem>, AppError> {
    let h = Horizon::of(state.clock.today());
    let staff_id = caller.id.clone();
    let kinds: Vec<Kind> = match kind {
        Some(k) => vec![k],
        None => Kind::ALL.to_vec(),
    };
    let mut all = state
        .db
        .read(move |conn| items(conn, &staff_id, h, &kinds))
        .await?;
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let listed = Paginated::cut(all, page);
    let event = NewEvent::new(
        AuditAction::WorklistRead,
        AuditOutcome::Allowed,
        Some(caller.actor()),
    )
    .details(
        json!({"kind": kind.map(Kind::as_str), "rows": listed.items.len(), "total": listed.total}),
    );
    audit::record_alone(state, ctx, event).await?;
    Ok(listed)
}
