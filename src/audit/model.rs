//! Audit events: what a caller records, what is stored, and the verification answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::schema::audit_events;

macro_rules! audit_actions {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Audit action names, `<entity>.<verb>` (api.md §13.7).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        pub enum AuditAction {
            $(#[serde(rename = $name)] #[schema(rename = $name)] $variant,)+
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)+
                }
            }

            pub fn parse(name: &str) -> Option<AuditAction> {
                match name {
                    $($name => Some(AuditAction::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

// The actions of the contract's audited operations; features add theirs here as they land.
audit_actions! {
    AuthLogin => "auth.login",
    AuthLoginFailed => "auth.login_failed",
    AuthLoginThrottled => "auth.login_throttled",
    AuthRefresh => "auth.refresh",
    AuthRefreshReuse => "auth.refresh_reuse",
    AuthLogout => "auth.logout",
    AuthLogoutAll => "auth.logout_all",
    AuthPasswordChange => "auth.password_change",
    StaffCreate => "staff.create",
    StaffUpdate => "staff.update",
    StaffResetPassword => "staff.reset_password",
    SettingsUpdate => "settings.update",
    RiskGroupCreate => "risk_group.create",
    RiskGroupUpdate => "risk_group.update",
    ActivityTypeCreate => "activity_type.create",
    ActivityTypeUpdate => "activity_type.update",
    AuthTokenRejected => "auth.token_rejected",
    AuthPasswordChangeRequired => "auth.password_change_required",
    StaffReassignCaseload => "staff.reassign_caseload",
    ParticipantCreate => "participant.create",
    ParticipantRead => "participant.read",
    ParticipantUpdate => "participant.update",
    ParticipantList => "participant.list",
    ParticipantQualify => "participant.qualify",
    ParticipantRefer => "participant.refer",
    ParticipantRiskGroupsUpdate => "participant.risk_groups_update",
    ParticipantTimelineRead => "participant.timeline_read",
    CareTeamUpdate => "care_team.update",
    ConsentCreate => "consent.create",
    ConsentList => "consent.list",
    ConsentWithdraw => "consent.withdraw",
    NoteCreate => "note.create",
    NoteList => "note.list",
    ProgrammeStart => "programme.start",
    ProgrammeExtend => "programme.extend",
    ProgrammeExit => "programme.exit",
    FollowUpUpdate => "follow_up.update",
    DiagnosisCreate => "diagnosis.create",
    DiagnosisUpdate => "diagnosis.update",
    DiagnosisFinalize => "diagnosis.finalize",
    DiagnosisAmend => "diagnosis.amend",
    DiagnosisRead => "diagnosis.read",
    DiagnosisList => "diagnosis.list",
    DiagnosisReadFindings => "diagnosis.read_findings",
    PlanCreate => "plan.create",
    PlanUpdate => "plan.update",
    PlanActivate => "plan.activate",
    PlanRevise => "plan.revise",
    PlanRead => "plan.read",
    PlanList => "plan.list",
    PlanReview => "plan.review",
    PlanGoalUpdate => "plan_goal.update",
    PlanGoalAchieve => "plan_goal.achieve",
    PlanActionUpdate => "plan_action.update",
    SessionCreate => "session.create",
    SessionUpdate => "session.update",
    SessionCancel => "session.cancel",
    SessionRead => "session.read",
    SessionList => "session.list",
    AttendanceRecord => "attendance.record",
    AttendanceRead => "attendance.read",
    OutcomeCreate => "outcome.create",
    OutcomeVerify => "outcome.verify",
    OutcomeRetract => "outcome.retract",
    OutcomeRead => "outcome.read",
    OutcomeList => "outcome.list",
    ReportRead => "report.read",
    ParticipantExport => "participant.export",
    ParticipantAnonymise => "participant.anonymise",
    ParticipantAccessLog => "participant.access_log",
    RetentionList => "retention.list",
    WorklistRead => "worklist.read",
}

impl From<AuditAction> for &'static str {
    fn from(a: AuditAction) -> &'static str {
        a.as_str()
    }
}

impl From<crate::policy::Action> for &'static str {
    /// A denied attempt is recorded under the name of the permission it lacked.
    fn from(a: crate::policy::Action) -> &'static str {
        a.as_str()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Allowed,
    Denied,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Allowed => "allowed",
            AuditOutcome::Denied => "denied",
        }
    }
}

/// Who acted: a staff member's id and the roles they held at the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub roles: Vec<String>,
}

/// An event to record. Values of sensitive fields never go in: only the names of changed fields,
/// and in `details` only non-sensitive facts (filters used, number of rows returned).
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// An [`AuditAction`] name, or for a denied attempt the permission name it lacked.
    pub action: &'static str,
    pub outcome: AuditOutcome,
    pub actor: Option<Actor>,
    pub entity_type: Option<&'static str>,
    pub entity_id: Option<String>,
    pub participant_id: Option<String>,
    pub changed_fields: Vec<String>,
    pub details: Option<Value>,
}

impl NewEvent {
    pub fn new(
        action: impl Into<&'static str>,
        outcome: AuditOutcome,
        actor: Option<Actor>,
    ) -> Self {
        NewEvent {
            action: action.into(),
            outcome,
            actor,
            entity_type: None,
            entity_id: None,
            participant_id: None,
            changed_fields: Vec::new(),
            details: None,
        }
    }

    pub fn entity(mut self, entity_type: &'static str, id: impl Into<String>) -> Self {
        self.entity_type = Some(entity_type);
        self.entity_id = Some(id.into());
        self
    }

    pub fn participant(mut self, id: impl Into<String>) -> Self {
        self.participant_id = Some(id.into());
        self
    }

    pub fn changed(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.changed_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// An event as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StoredEvent {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "crate::http::serialize_instant")]
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_roles: Vec<String>,
    pub action: String,
    #[schema(value_type = AuditOutcome)]
    pub outcome: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub participant_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub changed_fields: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    pub prev_hash: String,
    pub hash: String,
}

/// The row in `audit_events`; lists and documents are stored as JSON text.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// `None` is NULL (no column has a default), which lets SQLite take many rows in one INSERT;
// rows that may use DEFAULT are inserted one statement each.
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_roles: String,
    pub action: String,
    pub outcome: String,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub participant_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub changed_fields: String,
    pub details: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl StoredEvent {
    pub fn to_row(&self) -> EventRow {
        EventRow {
            seq: self.seq,
            at: self.at,
            actor_id: self.actor_id.clone(),
            actor_roles: Value::from(self.actor_roles.clone()).to_string(),
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            entity_type: self.entity_type.clone(),
            entity_id: self.entity_id.clone(),
            participant_id: self.participant_id.clone(),
            request_id: self.request_id.clone(),
            ip: self.ip.clone(),
            changed_fields: Value::from(self.changed_fields.clone()).to_string(),
            details: self.details.as_ref().map(Value::to_string),
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        }
    }

    pub fn from_row(row: EventRow) -> Result<StoredEvent, serde_json::Error> {
        Ok(StoredEvent {
            seq: row.seq,
            at: row.at,
            actor_id: row.actor_id,
            actor_roles: serde_json::from_str(&row.actor_roles)?,
            action: row.action,
            outcome: row.outcome,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            participant_id: row.participant_id,
            request_id: row.request_id,
            ip: row.ip,
            changed_fields: serde_json::from_str(&row.changed_fields)?,
            details: row
                .details
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

/// The answer of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Verification {
    pub ok: bool,
    /// Events checked and found intact before the first broken one.
    pub checked: i64,
    /// The first `seq` whose stored content, link or position does not verify (or the anchor's,
    /// when an expected head no longer matches).
    pub first_broken_seq: Option<i64>,
    /// The head the verification ran up to: record it outside the database and pass it back as
    /// `expected_seq`/`expected_hash` later to anchor the chain.
    pub head_seq: i64,
    pub head_hash: String,
}

impl Verification {
    pub fn broken_at(checked: i64, seq: i64, head: &Anchor) -> Self {
        Verification {
            ok: false,
            checked,
            first_broken_seq: Some(seq),
            head_seq: head.seq,
            head_hash: head.hash.clone(),
        }
    }
}

/// A point of the chain recorded outside the database: an event's `seq` and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}
