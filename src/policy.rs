//! THE authorization table: (role, action) → grant. Nothing else decides access.
//!
//! A grant says on which resources a role may act (its [`Scope`]) and how much of them it sees
//! (its [`View`]). Permissions of several roles are the union. The table mirrors api.md §3 and
//! §13.3, including actions whose routes arrive with later features, so `/auth/me` and the
//! authorization matrix tests see the whole picture from the start.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::diagnoses::model::DiagnosisKind;
use crate::http::AppError;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Psychologist,
    SocialWorker,
    Counsellor,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Manager,
        Role::Psychologist,
        Role::SocialWorker,
        Role::Counsellor,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Psychologist => "psychologist",
            Role::SocialWorker => "social_worker",
            Role::Counsellor => "counsellor",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Clinical roles may sit on care teams and facilitate sessions.
    pub fn is_clinical(self) -> bool {
        matches!(
            self,
            Role::Psychologist | Role::SocialWorker | Role::Counsellor
        )
    }
}

/// On which resources a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every resource of the kind.
    All,
    /// Participants whose care team includes the caller.
    OwnCaseload,
    /// The participant's care team (the caller is a member).
    Team,
    /// The lead of the participant's care team.
    TeamLead,
    /// Psychologists on the participant's care team.
    TeamPsychologist,
    /// Facilitators of the session.
    Facilitator,
    /// Audit events that name no participant (logins, staff, settings).
    EventsWithoutParticipant,
    /// Audit events that name a participant.
    EventsAboutParticipants,
    /// The caller's own items (worklist).
    Own,
}

/// How much of a visible resource the caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Full,
    /// Staff directory entries only: `id, full_name, roles, active`.
    Directory,
    /// Everything but contact details, address, notes and findings (auditors).
    NoContact,
    /// Kind, date, author role, status only.
    Metadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub scope: Scope,
    pub view: View,
}

macro_rules! actions {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// Every capability of the service; the names are the permission names of `/auth/me`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        pub enum Action {
            $(#[serde(rename = $name)] #[schema(rename = $name)] $variant,)+
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    StaffList => "staff.list",
    StaffRead => "staff.read",
    StaffCreate => "staff.create",
    StaffUpdate => "staff.update",
    StaffResetPassword => "staff.reset_password",
    StaffReassignCaseload => "staff.reassign_caseload",
    SettingsRead => "settings.read",
    SettingsUpdate => "settings.update",
    DictionaryRead => "dictionary.read",
    DictionaryEdit => "dictionary.edit",
    DictionarySetStatutory => "dictionary.set_statutory",
    AuditList => "audit.list",
    AuditVerify => "audit.verify",
    ParticipantAccessLog => "participant.access_log",
    ParticipantList => "participant.list",
    ParticipantRead => "participant.read",
    ParticipantCreate => "participant.create",
    ParticipantUpdate => "participant.update",
    ParticipantQualify => "participant.qualify",
    CareTeamRead => "care_team.read",
    CareTeamAssign => "care_team.assign",
    ProgrammeRead => "programme.read",
    ProgrammeManage => "programme.manage",
    ConsentRead => "consent.read",
    ConsentWrite => "consent.write",
    NoteRead => "note.read",
    NoteWrite => "note.write",
    PsychologistNoteRead => "note.read_psychologist",
    PsychologistNoteWrite => "note.write_psychologist",
    DiagnosisRead => "diagnosis.read",
    DiagnosisWrite => "diagnosis.write",
    DiagnosisReadFindings => "diagnosis.read_findings",
    PlanRead => "plan.read",
    PlanWrite => "plan.write",
    PlanActivate => "plan.activate",
    SessionList => "session.list",
    SessionCreate => "session.create",
    SessionEdit => "session.edit",
    AttendanceRecord => "attendance.record",
    AttendanceRead => "attendance.read",
    OutcomeRead => "outcome.read",
    OutcomeWrite => "outcome.write",
    OutcomeVerify => "outcome.verify",
    FollowUpWrite => "follow_up.write",
    ReportRead => "report.read",
    ParticipantExport => "participant.export",
    ParticipantAnonymise => "participant.anonymise",
    RetentionRead => "retention.read",
    WorklistRead => "worklist.read",
}

const fn g(scope: Scope, view: View) -> Option<Grant> {
    Some(Grant { scope, view })
}

/// The table. A `None` is "this role may never do this" (403 whatever the resource).
pub fn grant(role: Role, action: Action) -> Option<Grant> {
    use Action as A;
    use Role::*;
    use Scope as S;
    use View as V;
    let all = g(S::All, V::Full);
    match (role, action) {
        // Everyone signed in: unit settings, dictionaries, the staff directory.
        (_, A::SettingsRead | A::DictionaryRead) => all,
        (Admin, A::StaffList | A::StaffRead) => all,
        (_, A::StaffList | A::StaffRead) => g(S::All, V::Directory),

        // Administration is the admin's; an admin sees no case data.
        (Admin, A::StaffCreate | A::StaffUpdate | A::StaffResetPassword | A::SettingsUpdate) => all,
        (Admin, A::DictionaryEdit | A::DictionarySetStatutory) => all,
        (Admin, A::AuditList) => g(S::EventsWithoutParticipant, V::Full),
        (Admin, A::AuditVerify) => all,
        (Admin, _) => None,

        (Manager, A::DictionaryEdit) => all,
        (Manager, A::AuditList) => g(S::EventsAboutParticipants, V::Full),
        (Manager, A::WorklistRead) => g(S::Own, V::Full),
        // Psychological findings and psychologist notes stay with the team's psychologists;
        // staff accounts and settings are the admin's.
        (
            Manager,
            A::PsychologistNoteRead
            | A::PsychologistNoteWrite
            | A::DiagnosisReadFindings
            | A::DiagnosisWrite
            | A::StaffCreate
            | A::StaffUpdate
            | A::StaffResetPassword
            | A::SettingsUpdate
            | A::DictionarySetStatutory
            | A::AuditVerify,
        ) => None,
        (Manager, _) => all,

        (Auditor, A::AuditList | A::AuditVerify | A::ParticipantAccessLog) => all,
        (Auditor, A::ParticipantList | A::ParticipantRead) => g(S::All, V::NoContact),
        (Auditor, A::DiagnosisRead) => g(S::All, V::Metadata),
        (
            Auditor,
            A::CareTeamRead
            | A::ProgrammeRead
            | A::ConsentRead
            | A::PlanRead
            | A::SessionList
            | A::AttendanceRead
            | A::OutcomeRead
            | A::ReportRead,
        ) => g(S::All, V::NoContact),
        (Auditor, _) => None,

        // Clinical roles: their own caseload and care teams.
        (
            Psychologist,
            A::PsychologistNoteRead | A::PsychologistNoteWrite | A::DiagnosisReadFindings,
        ) => g(S::TeamPsychologist, V::Full),
        (_, A::PsychologistNoteRead | A::PsychologistNoteWrite | A::DiagnosisReadFindings) => None,
        (_, A::ParticipantList | A::ParticipantRead | A::ReportRead) => g(S::OwnCaseload, V::Full),
        (_, A::ParticipantCreate | A::SessionList | A::SessionCreate) => all,
        (_, A::ParticipantQualify | A::CareTeamAssign | A::ProgrammeManage | A::PlanActivate) => {
            g(S::TeamLead, V::Full)
        }
        (
            _,
            A::ParticipantUpdate
            | A::CareTeamRead
            | A::ProgrammeRead
            | A::ConsentRead
            | A::ConsentWrite
            | A::NoteRead
            | A::NoteWrite
            | A::DiagnosisRead
            | A::DiagnosisWrite
            | A::PlanRead
            | A::PlanWrite
            | A::AttendanceRead
            | A::OutcomeRead
            | A::OutcomeWrite
            | A::FollowUpWrite,
        ) => g(S::Team, V::Full),
        (_, A::SessionEdit | A::AttendanceRecord) => g(S::Facilitator, V::Full),
        (_, A::WorklistRead) => g(S::Own, V::Full),
        (
            _,
            A::StaffCreate
            | A::StaffUpdate
            | A::StaffResetPassword
            | A::StaffReassignCaseload
            | A::SettingsUpdate
            | A::DictionaryEdit
            | A::DictionarySetStatutory
            | A::AuditList
            | A::AuditVerify
            | A::ParticipantAccessLog
            | A::OutcomeVerify
            | A::ParticipantExport
            | A::ParticipantAnonymise
            | A::RetentionRead,
        ) => None,
    }
}

/// Who may write — create, edit while draft, finalize, amend — a diagnosis of each kind (api.md
/// §6). Administering an instrument is a permission of the role, not of a named person; the
/// writer must also hold `diagnosis.write` on the participant (be on the care team).
pub fn writes_diagnosis(role: Role, kind: DiagnosisKind) -> bool {
    use DiagnosisKind as K;
    matches!(
        (role, kind),
        (
            Role::Psychologist,
            K::GeneralSurvey
                | K::InterestsQuestionnaire
                | K::Psychometric
                | K::Psychological
                | K::Holland
        ) | (Role::SocialWorker, K::GeneralSurvey | K::Social)
            | (
                Role::Counsellor,
                K::GeneralSurvey | K::InterestsQuestionnaire | K::Vocational | K::Holland
            )
    )
}

/// How much of one diagnosis a reader is shown (api.md §6, §13.3, §13.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Everything: summary, findings, recommendations, scores, the Holland profile.
    Full,
    /// Metadata, the instrument and the summary (a psychometric diagnosis for anyone but the
    /// team's psychologists).
    Summary,
    /// Kind, date, author and status (a psychological diagnosis for anyone but the team's
    /// psychologists).
    Metadata,
    /// Kind, date, the author's role and status; not the author (auditors).
    Audit,
}

impl Disclosure {
    /// Whether the caller sees less than the whole diagnosis (`restricted: true`).
    pub fn restricted(self) -> bool {
        self != Disclosure::Full
    }
}

/// The disclosure of a diagnosis of `kind` to a caller whose `diagnosis.read` grants reaching the
/// participant give `view`, and who holds `diagnosis.read_findings` on them (`reads_findings`:
/// a psychologist on the care team) or not.
pub fn diagnosis_disclosure(view: View, kind: DiagnosisKind, reads_findings: bool) -> Disclosure {
    if view == View::Metadata {
        return Disclosure::Audit;
    }
    match (kind.findings_restricted(), reads_findings, kind) {
        (false, _, _) | (true, true, _) => Disclosure::Full,
        (true, false, DiagnosisKind::Psychometric) => Disclosure::Summary,
        (true, false, _) => Disclosure::Metadata,
    }
}

/// The grants a set of roles holds for an action, one per role that has any.
pub fn grants(roles: &[Role], action: Action) -> Vec<Grant> {
    roles.iter().filter_map(|r| grant(*r, action)).collect()
}

/// Could any of these roles perform `action` on *some* resource? If not, the answer is 403
/// whatever the resource (api.md §13.3).
pub fn require(roles: &[Role], action: Action) -> Result<Vec<Grant>, AppError> {
    let held = grants(roles, action);
    if held.is_empty() {
        Err(AppError::Forbidden(format!(
            "Your role does not allow {}.",
            action.as_str()
        )))
    } else {
        Ok(held)
    }
}

/// The broadest of the views granted: what a serializer should show.
pub fn widest_view(grants: &[Grant]) -> View {
    let rank = |v: View| match v {
        View::Full => 3,
        View::NoContact => 2,
        View::Directory => 1,
        View::Metadata => 0,
    };
    grants
        .iter()
        .map(|g| g.view)
        .max_by_key(|v| rank(*v))
        .unwrap_or(View::Metadata)
}

/// The 403-versus-404 rule for one resource, once the role holds some grant for the action:
/// a resource the caller cannot see is 404 (its existence is not revealed); one it sees but may
/// not act on is 403.
pub fn decide(can_see: bool, may_act: bool) -> Result<(), AppError> {
    match (can_see, may_act) {
        (false, _) => Err(AppError::NotFound),
        (true, false) => Err(AppError::Forbidden(
            "You can see this resource but your role does not allow this action on it.".into(),
        )),
        (true, true) => Ok(()),
    }
}

/// Permission names the roles hold, in table order (for `/auth/me`).
pub fn permissions(roles: &[Role]) -> Vec<&'static str> {
    Action::ALL
        .iter()
        .filter(|a| !grants(roles, **a).is_empty())
        .map(|a| a.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;

    fn may(role: Role, action: Action) -> bool {
        grant(role, action).is_some()
    }

    #[test]
    fn admins_manage_the_unit_but_see_no_case_data() {
        for a in [
            A::StaffCreate,
            A::StaffUpdate,
            A::StaffResetPassword,
            A::SettingsUpdate,
            A::AuditVerify,
        ] {
            assert!(may(Role::Admin, a), "{a:?}");
        }
        for a in [
            A::ParticipantList,
            A::ParticipantRead,
            A::ParticipantCreate,
            A::DiagnosisRead,
            A::SessionList,
            A::ReportRead,
            A::OutcomeRead,
        ] {
            assert!(!may(Role::Admin, a), "{a:?}");
        }
        assert_eq!(
            grant(Role::Admin, A::AuditList).unwrap().scope,
            Scope::EventsWithoutParticipant
        );
    }

    #[test]
    fn only_admins_manage_staff_and_settings() {
        for role in Role::ALL {
            assert_eq!(may(role, A::StaffUpdate), role == Role::Admin, "{role:?}");
            assert_eq!(
                may(role, A::StaffResetPassword),
                role == Role::Admin,
                "{role:?}"
            );
            assert_eq!(may(role, A::StaffCreate), role == Role::Admin, "{role:?}");
            assert_eq!(
                may(role, A::SettingsUpdate),
                role == Role::Admin,
                "{role:?}"
            );
            assert!(may(role, A::SettingsRead), "{role:?} reads settings");
            assert!(may(role, A::StaffList), "{role:?} lists staff");
        }
        assert_eq!(
            grant(Role::Manager, A::StaffList).unwrap().view,
            View::Directory
        );
        assert_eq!(grant(Role::Admin, A::StaffList).unwrap().view, View::Full);
    }

    #[test]
    fn dictionaries_are_edited_by_admins_and_managers() {
        for role in Role::ALL {
            assert_eq!(
                may(role, A::DictionaryEdit),
                matches!(role, Role::Admin | Role::Manager),
                "{role:?}"
            );
        }
        assert!(!may(Role::Manager, A::DictionarySetStatutory));
    }

    #[test]
    fn auditors_read_and_never_write() {
        let writes = [
            A::StaffCreate,
            A::ParticipantCreate,
            A::ParticipantUpdate,
            A::ConsentWrite,
            A::NoteWrite,
            A::DiagnosisWrite,
            A::PlanWrite,
            A::SessionCreate,
            A::AttendanceRecord,
            A::OutcomeWrite,
            A::OutcomeVerify,
            A::DictionaryEdit,
            A::ParticipantAnonymise,
        ];
        for a in writes {
            assert!(!may(Role::Auditor, a), "{a:?}");
        }
        assert_eq!(
            grant(Role::Auditor, A::ParticipantRead).unwrap().view,
            View::NoContact
        );
        assert_eq!(
            grant(Role::Auditor, A::DiagnosisRead).unwrap().view,
            View::Metadata
        );
        assert!(!may(Role::Auditor, A::NoteRead));
    }

    #[test]
    fn psychological_findings_stay_with_team_psychologists() {
        for role in Role::ALL {
            let g = grant(role, A::DiagnosisReadFindings);
            assert_eq!(g.is_some(), role == Role::Psychologist, "{role:?}");
        }
        assert_eq!(
            grant(Role::Psychologist, A::PsychologistNoteRead)
                .unwrap()
                .scope,
            Scope::TeamPsychologist
        );
    }

    #[test]
    fn clinicians_work_on_their_caseload_and_leads_decide() {
        for role in [Role::Psychologist, Role::SocialWorker, Role::Counsellor] {
            assert_eq!(
                grant(role, A::ParticipantRead).unwrap().scope,
                Scope::OwnCaseload
            );
            assert_eq!(
                grant(role, A::ParticipantQualify).unwrap().scope,
                Scope::TeamLead
            );
            assert_eq!(
                grant(role, A::ProgrammeManage).unwrap().scope,
                Scope::TeamLead
            );
            assert_eq!(
                grant(role, A::AttendanceRecord).unwrap().scope,
                Scope::Facilitator
            );
            assert!(!may(role, A::ParticipantExport));
            assert!(!may(role, A::AuditList));
        }
    }

    #[test]
    fn permissions_are_the_union_of_roles() {
        let both = permissions(&[Role::Admin, Role::Manager]);
        assert!(both.contains(&"staff.create") && both.contains(&"participant.read"));
        assert!(!permissions(&[Role::Admin]).contains(&"participant.read"));
        let names: std::collections::HashSet<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            names.len(),
            Action::ALL.len(),
            "permission names are unique"
        );
    }

    #[test]
    fn diagnosis_kinds_have_their_writers() {
        use DiagnosisKind as K;
        let writers = |kind| -> Vec<Role> {
            Role::ALL
                .into_iter()
                .filter(|r| writes_diagnosis(*r, kind))
                .collect()
        };
        assert_eq!(
            writers(K::GeneralSurvey),
            [Role::Psychologist, Role::SocialWorker, Role::Counsellor]
        );
        assert_eq!(
            writers(K::InterestsQuestionnaire),
            [Role::Psychologist, Role::Counsellor]
        );
        assert_eq!(writers(K::Psychometric), [Role::Psychologist]);
        assert_eq!(writers(K::Psychological), [Role::Psychologist]);
        assert_eq!(writers(K::Social), [Role::SocialWorker]);
        assert_eq!(writers(K::Vocational), [Role::Counsellor]);
        assert_eq!(writers(K::Holland), [Role::Psychologist, Role::Counsellor]);
    }

    #[test]
    fn restricted_findings_reach_only_team_psychologists_and_auditors_see_metadata() {
        use DiagnosisKind as K;
        assert_eq!(
            diagnosis_disclosure(View::Full, K::Psychological, true),
            Disclosure::Full
        );
        assert_eq!(
            diagnosis_disclosure(View::Full, K::Psychological, false),
            Disclosure::Metadata
        );
        assert_eq!(
            diagnosis_disclosure(View::Full, K::Psychometric, false),
            Disclosure::Summary
        );
        assert_eq!(
            diagnosis_disclosure(View::Full, K::Holland, false),
            Disclosure::Full
        );
        for kind in K::ALL {
            assert_eq!(
                diagnosis_disclosure(View::Metadata, *kind, true),
                Disclosure::Audit,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_404_403_rule() {
        assert!(matches!(decide(false, true), Err(AppError::NotFound)));
        assert!(matches!(decide(true, false), Err(AppError::Forbidden(_))));
        assert!(decide(true, true).is_ok());
        assert!(matches!(
            require(&[Role::Admin], A::ParticipantRead),
            Err(AppError::Forbidden(_))
        ));
    }
}
