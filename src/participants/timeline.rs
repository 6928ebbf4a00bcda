//! The participant's timeline, derived from the audit events that name them (api.md §5, §13.4):
//! a full-replace PUT cannot erase history, and summaries are built from the action, the entity
//! and non-sensitive details — never from free text.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::audit::AuditAction;
use crate::db::schema::audit_events;
use crate::db::AnyConnection;
use crate::http::PageRequest;

/// One thing that happened to the participant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub at: NaiveDateTime,
    #[schema(example = "programme_started")]
    pub kind: &'static str,
    pub summary: String,
    /// Where the resource behind the entry can be read.
    pub resource_path: String,
}

/// Audit action → timeline kind. Later features add their actions here.
const KINDS: &[(AuditAction, &str)] = &[
    (AuditAction::ParticipantCreate, "referral"),
    (AuditAction::ParticipantRefer, "referral"),
    (AuditAction::ParticipantQualify, "qualification"),
    (
        AuditAction::ParticipantRiskGroupsUpdate,
        "risk_groups_changed",
    ),
    (AuditAction::CareTeamUpdate, "care_team_changed"),
    (AuditAction::StaffReassignCaseload, "care_team_changed"),
    (AuditAction::ConsentCreate, "consent_granted"),
    (AuditAction::ConsentWithdraw, "consent_withdrawn"),
    (AuditAction::NoteCreate, "note"),
    (AuditAction::ProgrammeStart, "programme_started"),
    (AuditAction::ProgrammeExtend, "programme_extended"),
    (AuditAction::ProgrammeExit, "programme_exited"),
    (AuditAction::FollowUpUpdate, "follow_up_recorded"),
    (AuditAction::DiagnosisCreate, "diagnosis_recorded"),
    (AuditAction::DiagnosisFinalize, "diagnosis_finalized"),
    (AuditAction::DiagnosisAmend, "diagnosis_amended"),
    (AuditAction::PlanActivate, "plan_activated"),
    (AuditAction::PlanRevise, "plan_revised"),
    (AuditAction::PlanGoalAchieve, "goal_achieved"),
    (AuditAction::PlanReview, "plan_reviewed"),
    (AuditAction::OutcomeCreate, "outcome_recorded"),
];

/// Entries that tell of diagnoses: their kind and dates are metadata, which every reader of
/// diagnoses may see (auditors included); findings never reach the timeline.
const DIAGNOSIS_ACTIONS: &[AuditAction] = &[
    AuditAction::DiagnosisCreate,
    AuditAction::DiagnosisFinalize,
    AuditAction::DiagnosisAmend,
];

const PLAN_ACTIONS: &[AuditAction] = &[
    AuditAction::PlanActivate,
    AuditAction::PlanRevise,
    AuditAction::PlanGoalAchieve,
    AuditAction::PlanReview,
];

/// What confidential entries the caller may see.
#[derive(Debug, Clone, Copy)]
pub struct Confidential {
    pub team_notes: bool,
    pub psychologist_notes: bool,
    pub diagnoses: bool,
    pub plans: bool,
}

impl Confidential {
    fn shows(&self, action: AuditAction) -> bool {
        if action == AuditAction::NoteCreate {
            self.team_notes
        } else if DIAGNOSIS_ACTIONS.contains(&action) {
            self.diagnoses
        } else if PLAN_ACTIONS.contains(&action) {
            self.plans
        } else {
            true
        }
    }
}

fn kind_of(action: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(a, _)| a.as_str() == action)
        .map(|(_, k)| *k)
}

fn detail(details: &Option<Value>, key: &str) -> Option<String> {
    details.as_ref()?.get(key)?.as_str().map(str::to_owned)
}

fn summary(kind: &str, action: &str, details: &Option<Value>) -> String {
    let with = |base: &str, key: &str| match detail(details, key) {
        Some(v) => format!("{base} ({v})"),
        None => base.to_owned(),
    };
    match (kind, action) {
        ("referral", "participant.create") => with("Registered on referral", "source"),
        ("referral", _) => with("Referred again", "source"),
        ("qualification", _) => with("Qualification decision", "decision"),
        ("risk_groups_changed", _) => "Risk groups changed".into(),
        ("care_team_changed", "staff.reassign_caseload") => {
            "Care team changed: caseload reassigned".into()
        }
        ("care_team_changed", _) => "Care team changed".into(),
        ("consent_granted", _) => with("Consent granted", "purpose"),
        ("consent_withdrawn", _) => with("Consent withdrawn", "purpose"),
        ("note", _) => with("Case note added", "confidentiality"),
        ("programme_started", _) => "Programme started".into(),
        ("programme_extended", _) => "Programme extended".into(),
        ("programme_exited", _) => with("Programme ended", "exit_reason"),
        ("follow_up_recorded", _) => with("Follow-up recorded", "result"),
        ("diagnosis_recorded", _) => with("Diagnosis recorded", "kind"),
        ("diagnosis_finalized", _) => with("Diagnosis finalized", "kind"),
        ("diagnosis_amended", _) => with("Diagnosis amended", "kind"),
        ("plan_activated", _) => "Individual Action Plan activated".into(),
        ("plan_revised", _) => "Individual Action Plan revised into a new draft".into(),
        ("goal_achieved", _) => "Plan goal achieved".into(),
        ("plan_reviewed", _) => "Individual Action Plan reviewed".into(),
        ("outcome_recorded", _) => with("Outcome recorded", "kind"),
        _ => kind.replace('_', " "),
    }
}

fn resource_path(
    participant_id: &str,
    entity_type: Option<&str>,
    entity_id: Option<&str>,
    details: &Option<Value>,
) -> String {
    match (entity_type, entity_id) {
        (Some("diagnosis"), Some(id)) => format!("/api/v1/diagnoses/{id}"),
        (Some("plan"), Some(id)) => format!("/api/v1/plans/{id}"),
        (Some("outcome"), Some(id)) => format!("/api/v1/outcomes/{id}"),
        // Goals are read inside their plan.
        (Some("plan_goal"), Some(_)) => match detail(details, "plan_id") {
            Some(plan) => format!("/api/v1/plans/{plan}"),
            None => format!("/api/v1/participants/{participant_id}/plans"),
        },
        (Some("consent"), Some(id)) => format!("/api/v1/consents/{id}"),
        (Some("note"), Some(id)) => format!("/api/v1/notes/{id}"),
        (Some("programme"), Some(id)) => format!("/api/v1/programmes/{id}"),
        (Some("follow_up"), Some(id)) => {
            format!("/api/v1/participants/{participant_id}/follow-ups#{id}")
        }
        _ => format!("/api/v1/participants/{participant_id}"),
    }
}

fn filtered(
    participant_id: &str,
    allowed: &Confidential,
) -> audit_events::BoxedQuery<'static, crate::db::DbBackend> {
    let actions: Vec<&'static str> = KINDS
        .iter()
        .filter(|(a, _)| allowed.shows(*a))
        .map(|(a, _)| a.as_str())
        .collect();
    let mut q = audit_events::table
        .filter(audit_events::participant_id.eq(participant_id.to_owned()))
        .filter(audit_events::outcome.eq("allowed"))
        .filter(audit_events::action.eq_any(actions))
        .into_boxed();
    if !allowed.psychologist_notes {
        // Entries for psychologist-only notes carry their confidentiality in the details.
        q = q.filter(
            audit_events::action
                .ne(AuditAction::NoteCreate.as_str())
                .or(audit_events::details.is_null())
                .or(audit_events::details.not_like("%\"confidentiality\":\"psychologist\"%")),
        );
    }
    q
}

/// One page of the participant's timeline, newest first, with the total.
pub fn page(
    conn: &mut AnyConnection,
    participant_id: &str,
    allowed: Confidential,
    page: PageRequest,
) -> QueryResult<(Vec<TimelineEntry>, i64)> {
    let total: i64 = filtered(participant_id, &allowed)
        .count()
        .get_result(conn)?;
    type Row = (
        NaiveDateTime,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = filtered(participant_id, &allowed)
        .order(audit_events::seq.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select((
            audit_events::at,
            audit_events::action,
            audit_events::entity_type,
            audit_events::entity_id,
            audit_events::details,
        ))
        .load(conn)?;
    let entries = rows
        .into_iter()
        .filter_map(|(at, action, entity_type, entity_id, details)| {
            let kind = kind_of(&action)?;
            let details: Option<Value> = details.and_then(|d| serde_json::from_str(&d).ok());
            Some(TimelineEntry {
                at,
                kind,
                summary: summary(kind, &action, &details),
                resource_path: resource_path(
                    participant_id,
                    entity_type.as_deref(),
                    entity_id.as_deref(),
                    &details,
                ),
            })
        })
        .collect();
    Ok((entries, total))
}
