//! Who may see and act on one participant: the policy's grants applied to the care team.
//!
//! Every participant route and sub-resource (consents, notes, programmes, …) goes through
//! [`authorize`]: a role that may never do the action gets 403 whatever the participant; a
//! participant the caller cannot see is 404 (its existence is not revealed); one the caller sees
//! but may not act on is 403. Denials are audited. Lists scope in SQL with [`caseload_filter`].

use diesel::prelude::*;

use crate::auth::CurrentStaff;
use crate::db::schema::{care_team_members, participants};
use crate::db::AnyConnection;
use crate::http::{AppError, RequestContext};
use crate::policy::{self, Action, Grant, Role, Scope, View};
use crate::state::AppState;

/// What the caller is to one participant.
#[derive(Debug, Clone)]
pub struct CaseAccess {
    pub participant_id: String,
    pub status: String,
    pub version: i64,
    pub on_team: bool,
    pub is_lead: bool,
    /// The view the caller's read grants give (auditors: no contact details).
    pub view: View,
    /// True when some grant for the action lets the caller act on every participant.
    pub acts_on_all: bool,
}

impl CaseAccess {
    /// New case data (consents, notes, …) may not be added to an anonymised participant:
    /// 409 `participant_anonymised`.
    pub fn writable(&self) -> Result<(), AppError> {
        if self.status == super::model::Status::Anonymised.as_str() {
            Err(AppError::conflict(
                "participant_anonymised",
                "An anonymised participant cannot be changed.",
            ))
        } else {
            Ok(())
        }
    }
}

/// Does `grant` let the caller act, given their place on the participant's team?
fn satisfies(grant: &Grant, roles: &[Role], on_team: bool, is_lead: bool) -> bool {
    match grant.scope {
        Scope::All => true,
        Scope::OwnCaseload | Scope::Team => on_team,
        Scope::TeamLead => is_lead,
        Scope::TeamPsychologist => on_team && roles.contains(&Role::Psychologist),
        Scope::Facilitator
        | Scope::Own
        | Scope::EventsWithoutParticipant
        | Scope::EventsAboutParticipants => false,
    }
}

/// May the caller, already placed by [`check`], also do `action` on this participant?
/// (E.g. whether a timeline reader may see note entries.)
pub fn may(caller: &CurrentStaff, action: Action, access: &CaseAccess) -> bool {
    policy::grants(&caller.roles, action)
        .iter()
        .any(|g| satisfies(g, &caller.roles, access.on_team, access.is_lead))
}

/// The widest view the caller's grants for `action` give on this participant, `None` when no
/// grant reaches them (e.g. the diagnosis view of an auditor: metadata).
pub fn view_for(caller: &CurrentStaff, action: Action, access: &CaseAccess) -> Option<View> {
    let reaching: Vec<Grant> = policy::grants(&caller.roles, action)
        .into_iter()
        .filter(|g| satisfies(g, &caller.roles, access.on_team, access.is_lead))
        .collect();
    (!reaching.is_empty()).then(|| policy::widest_view(&reaching))
}

/// The caller's membership of the participant's team: `Some(lead)` when on it.
pub fn membership(
    conn: &mut AnyConnection,
    participant_id: &str,
    staff_id: &str,
) -> QueryResult<Option<bool>> {
    care_team_members::table
        .find((participant_id, staff_id))
        .select(care_team_members::lead)
        .first(conn)
        .optional()
}

/// What the database says about the caller and one participant: all a decision needs.
#[derive(Debug, Clone)]
pub struct Standing {
    pub status: String,
    pub version: i64,
    /// The caller's place on the participant's team: `Some(lead)` when on it.
    pub lead: Option<bool>,
}

/// The decision for `action` on a participant, without audit (for code already in a transaction).
pub fn check(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    action: Action,
    participant_id: &str,
) -> Result<CaseAccess, AppError> {
    policy::require(&caller.roles, action)?;
    // The participant and the caller's place on its team in one round trip: every case route
    // starts here.
    let row: Option<(String, i64, Option<bool>)> = participants::table
        .left_join(
            care_team_members::table.on(care_team_members::participant_id
                .eq(participants::id)
                .and(care_team_members::staff_id.eq(&caller.id))),
        )
        .filter(participants::id.eq(participant_id))
        .select((
            participants::status,
            participants::version,
            care_team_members::lead.nullable(),
        ))
        .first(conn)
        .optional()?;
    let (status, version, lead) = row.ok_or(AppError::NotFound)?;
    decide(
        caller,
        action,
        participant_id,
        Standing {
            status,
            version,
            lead,
        },
    )
}

/// The policy's decision on what the database said, with no statement of its own: 404 when the
/// caller may not see the participant, 403 when they see it but may not act.
pub fn decide(
    caller: &CurrentStaff,
    action: Action,
    participant_id: &str,
    standing: Standing,
) -> Result<CaseAccess, AppError> {
    let grants = policy::require(&caller.roles, action)?;
    let (on_team, is_lead) = (standing.lead.is_some(), standing.lead == Some(true));
    let read_grants = policy::grants(&caller.roles, Action::ParticipantRead);
    let can_see = read_grants.iter().any(|g| {
        g.scope == Scope::All || (on_team && matches!(g.scope, Scope::OwnCaseload | Scope::Team))
    });
    let may_act = grants
        .iter()
        .any(|g| satisfies(g, &caller.roles, on_team, is_lead));
    policy::decide(can_see, may_act)?;
    Ok(CaseAccess {
        participant_id: participant_id.to_owned(),
        status: standing.status,
        version: standing.version,
        on_team,
        is_lead,
        // Only the grants that reach this participant decide the view: an auditor who is also a
        // clinician sees contact details of their own caseload only.
        view: policy::widest_view(
            &read_grants
                .iter()
                .filter(|g| satisfies(g, &caller.roles, on_team, is_lead))
                .copied()
                .collect::<Vec<_>>(),
        ),
        acts_on_all: grants.iter().any(|g| g.scope == Scope::All),
    })
}

/// A denial of the policy (404, 403), as opposed to a failure to answer at all.
fn is_denial(e: &AppError) -> bool {
    matches!(e, AppError::NotFound | AppError::Forbidden(_))
}

/// [`check`] on the blocking pool, writing a denied attempt to the audit log.
pub async fn authorize(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    participant_id: &str,
) -> Result<CaseAccess, AppError> {
    authorize_then(state, ctx, caller, action, participant_id, |_, _| Ok(()))
        .await
        .map(|(access, ())| access)
}

/// [`authorize`], then `f` with the decision, in one trip to the blocking pool on one pooled
/// connection: a case read pays one checkout and one thread hand-off, not two. Only the
/// decision's own 404/403 are audited as denied attempts; an error of `f` is answered as it is.
pub async fn authorize_then<T, F>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    participant_id: &str,
    f: F,
) -> Result<(CaseAccess, T), AppError>
where
    F: FnOnce(&mut AnyConnection, &CaseAccess) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let who = caller.clone();
    let pid = participant_id.to_owned();
    on_pool_audit_denial(
        state,
        ctx,
        caller,
        action,
        participant_id,
        move |conn| match check(conn, &who, action, &pid) {
            Ok(access) => {
                let value = f(conn, &access)?;
                Ok(Ok((access, value)))
            }
            Err(denied) if is_denial(&denied) => Ok(Err(denied)),
            Err(e) => Err(e),
        },
    )
    .await
}

/// [`authorize_then`] for a read whose own statement also answers the caller's [`Standing`]
/// (the participant's record joined with its whole care team): the decision is made on what
/// `load` read, so policy and data cost one round trip. `load` answers `None` when there is no
/// such participant; nothing it read leaves this function when the decision is a denial. `then`
/// runs only once access is granted, on the same connection, for whatever else the answer needs
/// (so a denied caller never causes more than the one read, and its failures cannot turn a 404
/// into a 500).
pub async fn authorize_loaded<T, U, L, F>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    participant_id: &str,
    load: L,
    then: F,
) -> Result<(CaseAccess, U), AppError>
where
    L: FnOnce(&mut AnyConnection) -> Result<Option<(Standing, T)>, AppError> + Send + 'static,
    F: FnOnce(&mut AnyConnection, &CaseAccess, T) -> Result<U, AppError> + Send + 'static,
    T: Send + 'static,
    U: Send + 'static,
{
    let who = caller.clone();
    let pid = participant_id.to_owned();
    on_pool_audit_denial(state, ctx, caller, action, participant_id, move |conn| {
        // A role that may never do the action reads nothing.
        if let Err(denied) = policy::require(&who.roles, action) {
            return Ok(Err(denied));
        }
        let Some((standing, loaded)) = load(conn)? else {
            return Ok(Err(AppError::NotFound));
        };
        match decide(&who, action, &pid, standing) {
            Ok(access) => {
                let value = then(conn, &access, loaded)?;
                Ok(Ok((access, value)))
            }
            Err(denied) => Ok(Err(denied)),
        }
    })
    .await
}

/// Runs `work` on the blocking pool; its inner error is the policy's denial, recorded in the
/// audit log before it is answered, its outer error a failure answered as it is.
async fn on_pool_audit_denial<T, W>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    participant_id: &str,
    work: W,
) -> Result<(CaseAccess, T), AppError>
where
    W: FnOnce(&mut AnyConnection) -> Result<Result<(CaseAccess, T), AppError>, AppError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let decided = state.db.read(work).await?;
    if decided.is_err() {
        caller
            .record_denial(
                state,
                ctx,
                action,
                Some(("participant", participant_id.to_owned())),
            )
            .await;
    }
    decided
}

/// Which participants a list may show the caller: all, or those whose team includes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caseload {
    All,
    TeamOf(String),
}

/// The caseload a list action covers for the caller (403 when the role may not list at all).
pub fn caseload(caller: &CurrentStaff, action: Action) -> Result<Caseload, AppError> {
    let grants = policy::require(&caller.roles, action)?;
    if grants.iter().any(|g| g.scope == Scope::All) {
        Ok(Caseload::All)
    } else {
        Ok(Caseload::TeamOf(caller.id.clone()))
    }
}

/// [`authorize`] for routes addressed by a participant's sub-resource (`/consents/{id}`,
/// `/notes/{id}`, …): a role that may never do `action` is 403 whatever the id; an id that names
/// nothing is 404; otherwise the decision is the one for the participant `owner` finds. Denials
/// are audited, naming the sub-resource until its participant is known, then the participant.
pub async fn authorize_owned<F>(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    action: Action,
    entity: (&'static str, String),
    owner: F,
) -> Result<CaseAccess, AppError>
where
    F: FnOnce(&mut AnyConnection) -> QueryResult<Option<String>> + Send + 'static,
{
    if let Err(e) = policy::require(&caller.roles, action) {
        caller.record_denial(state, ctx, action, Some(entity)).await;
        return Err(e);
    }
    let participant = state.db.read(move |conn| Ok(owner(conn)?)).await?;
    match participant {
        Some(participant_id) => authorize(state, ctx, caller, action, &participant_id).await,
        None => {
            caller.record_denial(state, ctx, action, Some(entity)).await;
            Err(AppError::NotFound)
        }
    }
}
