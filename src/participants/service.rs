//! Participant rules: registration, the record and its views, personal-data updates, lists.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::access::{self, Caseload};
use super::model::*;
use super::repo;
use crate::audit::{self, AuditAction, AuditOutcome, NewEvent};
use crate::auth::CurrentStaff;
use crate::db::schema::referrals;
use crate::db::AnyConnection;
use crate::http::body::{FieldErrors, Patch};
use crate::http::{stored_now, AppError, FieldError, PageRequest, RequestContext};
use crate::policy::{Action, View};
use crate::staff::repo as staff_repo;
use crate::state::AppState;
use diesel::prelude::*;

/// Builds the record a caller sees: auditors get no contact details.
pub fn record(
    conn: &mut AnyConnection,
    id: &str,
    view: View,
    today: NaiveDate,
) -> Result<Participant, AppError> {
    let whole = repo::find_whole(conn, id)?.ok_or(AppError::NotFound)?;
    let retention_until = retention_of(conn, &whole)?;
    Ok(assemble(whole, retention_until, view, today))
}

/// When the participant's data fall due for erasure. An open programme means no retention end
/// yet: nothing more to ask the database.
fn retention_of(
    conn: &mut AnyConnection,
    whole: &repo::WholeRecord,
) -> Result<Option<NaiveDate>, AppError> {
    match whole.current_programme {
        Some(_) => Ok(None),
        None => Ok(crate::gdpr::retention::retention_until(
            conn,
            &whole.row.id,
        )?),
    }
}

/// The record a caller with `view` sees, from what was read.
fn assemble(
    whole: repo::WholeRecord,
    retention_until: Option<NaiveDate>,
    view: View,
    today: NaiveDate,
) -> Participant {
    let repo::WholeRecord {
        row,
        risk_groups,
        care_team,
        current_programme,
    } = whole;
    let contact = view == View::Full;
    Participant {
        status: Status::parse(&row.status).unwrap_or(Status::Referred),
        age: age_on(row.birth_date, today),
        sex: Sex::parse(&row.sex).unwrap_or(Sex::Female),
        id_document: match (
            row.id_document_kind
                .as_deref()
                .and_then(IdDocumentKind::parse),
            row.id_document_number.clone(),
        ) {
            (Some(kind), Some(number)) => Some(IdDocument {
                kind,
                number,
                issuing_country: row.id_document_country.clone().unwrap_or_default(),
            }),
            _ => None,
        },
        phone: row.phone.clone().filter(|_| contact),
        email: row.email.clone().filter(|_| contact),
        address: (contact
            && (row.address_street.is_some()
                || row.address_postal_code.is_some()
                || row.address_city.is_some()))
        .then(|| Address {
            street: row.address_street.clone(),
            postal_code: row.address_postal_code.clone(),
            city: row.address_city.clone(),
        }),
        legal_representative: match (&row.legal_rep_full_name, &row.legal_rep_relation) {
            (Some(full_name), Some(relation)) if contact => Some(LegalRepresentative {
                full_name: full_name.clone(),
                relation: relation.clone(),
                phone: row.legal_rep_phone.clone(),
            }),
            _ => None,
        },
        education_level: row
            .education_level
            .as_deref()
            .and_then(EducationLevel::parse),
        labour_status_at_entry: row
            .labour_status_at_entry
            .as_deref()
            .and_then(LabourStatus::parse),
        disability: row.disability,
        referral: Referral {
            source: ReferralSource::parse(&row.referral_source).unwrap_or(ReferralSource::Other),
            reference: row.referral_reference.clone(),
            referred_on: row.referred_on,
        },
        risk_groups,
        care_team,
        current_programme,
        retention_until,
        id: row.id,
        first_name: row.first_name,
        last_name: row.last_name,
        pesel: row.pesel,
        birth_date: row.birth_date,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// 409 `duplicate_pesel`; the holder's id only for a caller who may see that participant.
fn duplicate_pesel(conn: &mut AnyConnection, caller: &CurrentStaff, existing: String) -> AppError {
    let mut extra = serde_json::Map::new();
    if access::check(conn, caller, Action::ParticipantRead, &existing).is_ok() {
        extra.insert("existing_participant_id".into(), json!(existing));
    }
    AppError::Conflict {
        code: "duplicate_pesel",
        detail: "Another participant has this PESEL.".into(),
        extra,
    }
}

/// Risk-group entries: no repeats, every code an active group (entries already held may stay
/// after a group is retired) — reported together.
pub fn check_risk_groups(
    conn: &mut AnyConnection,
    entries: &[RiskGroupInput],
    already_held: &[String],
    errors: &mut FieldErrors,
    pointer: &str,
) -> Result<(), AppError> {
    let mut seen = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        if !seen.insert(e.code.as_str()) {
            errors.push(format!("{pointer}/{i}/code"), "duplicate", "listed twice");
        }
        let held = already_held.contains(&e.code);
        if !held && !crate::dictionaries::repo::active_risk_group_exists(conn, &e.code)? {
            errors.push(
                format!("{pointer}/{i}/code"),
                "unknown",
                "not an active risk group",
            );
        }
    }
    Ok(())
}

/// Care-team entries: no repeats, exactly one lead, new members active with a clinical role
/// (members already on the team may stay even if since deactivated).
pub fn check_care_team(
    conn: &mut AnyConnection,
    team: &[CareTeamEntry],
    already_on: &[String],
    today: NaiveDate,
    errors: &mut FieldErrors,
    pointer: &str,
) -> Result<(), AppError> {
    let mut seen = std::collections::HashSet::new();
    for (i, m) in team.iter().enumerate() {
        if !seen.insert(m.staff_id.as_str()) {
            errors.push(
                format!("{pointer}/{i}/staff_id"),
                "duplicate",
                "listed twice",
            );
        }
        if already_on.contains(&m.staff_id) {
            continue;
        }
        let ok = match staff_repo::find(conn, &m.staff_id)? {
            Some(s) => s.can_sign_in(today) && s.roles.iter().any(|r| r.is_clinical()),
            None => false,
        };
        if !ok {
            errors.push(
                format!("{pointer}/{i}/staff_id"),
                "not_clinical",
                "must be an active staff member with a clinical role (psychologist, social worker, counsellor)",
            );
        }
    }
    let leads = team.iter().filter(|m| m.lead).count();
    if leads != 1 {
        errors.push(
            pointer,
            "lead",
            format!("exactly one member must be the lead (found {leads})"),
        );
    }
    Ok(())
}

fn event(action: AuditAction, caller: &CurrentStaff, participant_id: &str) -> NewEvent {
    NewEvent::new(action, AuditOutcome::Allowed, Some(caller.actor()))
        .entity("participant", participant_id.to_owned())
        .participant(participant_id.to_owned())
}

pub async fn register(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    new: NewParticipant,
) -> Result<Participant, AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let caller = caller.clone();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            let mut errors = FieldErrors::new();
            check_risk_groups(conn, &new.risk_groups, &[], &mut errors, "/risk_groups")?;

            // The registering clinician joins the team, as lead when nobody else is named lead.
            let mut team: Vec<CareTeamEntry> = new
                .care_team
                .iter()
                .map(|m| CareTeamEntry {
                    staff_id: m.staff_id.clone(),
                    lead: m.lead,
                })
                .collect();
            let clinical = caller.roles.iter().any(|r| r.is_clinical());
            if clinical && !team.iter().any(|m| m.staff_id == caller.id) {
                let lead = !team.iter().any(|m| m.lead);
                team.push(CareTeamEntry {
                    staff_id: caller.id.clone(),
                    lead,
                });
            } else if clinical && !team.iter().any(|m| m.lead) {
                if let Some(me) = team.iter_mut().find(|m| m.staff_id == caller.id) {
                    me.lead = true;
                }
            }
            if team.is_empty() {
                errors.push(
                    "/care_team",
                    "required",
                    "name a care team with a lead (you hold no clinical role)",
                );
            } else {
                check_care_team(conn, &team, &[], today, &mut errors, "/care_team")?;
            }
            errors.fail_on()?;

            if let Some(p) = &new.pesel {
                if let Some(existing) = repo::pesel_owner(conn, p.as_str(), None)? {
                    return Err(duplicate_pesel(conn, &caller, existing));
                }
            }

            let id = uuid::Uuid::new_v4().to_string();
            let mut row = ParticipantRow {
                id: id.clone(),
                status: Status::Referred.as_str().to_owned(),
                first_name: String::new(),
                last_name: String::new(),
                first_name_key: String::new(),
                last_name_key: String::new(),
                first_last_key: String::new(),
                last_first_key: String::new(),
                pesel: new.pesel.as_ref().map(|p| p.as_str().to_owned()),
                id_document_kind: new.id_document.as_ref().map(|d| d.kind.as_str().to_owned()),
                id_document_number: new
                    .id_document
                    .as_ref()
                    .map(|d| d.number.as_str().to_owned()),
                id_document_country: new
                    .id_document
                    .as_ref()
                    .map(|d| d.issuing_country.0.clone()),
                birth_date: new.birth_date,
                sex: new.sex.as_str().to_owned(),
                phone: new.phone.as_ref().map(|p| p.as_str().to_owned()),
                email: new.email.as_ref().map(|e| e.as_str().to_owned()),
                address_street: new
                    .address
                    .as_ref()
                    .and_then(|a| a.street.as_ref())
                    .map(|s| s.as_str().to_owned()),
                address_postal_code: new
                    .address
                    .as_ref()
                    .and_then(|a| a.postal_code.as_ref())
                    .map(|p| p.0.clone()),
                address_city: new
                    .address
                    .as_ref()
                    .and_then(|a| a.city.as_ref())
                    .map(|c| c.as_str().to_owned()),
                education_level: new.education_level.map(|e| e.as_str().to_owned()),
                labour_status_at_entry: new.labour_status_at_entry.map(|l| l.as_str().to_owned()),
                disability: new.disability,
                legal_rep_full_name: new
                    .legal_representative
                    .as_ref()
                    .map(|l| l.full_name.as_str().to_owned()),
                legal_rep_relation: new
                    .legal_representative
                    .as_ref()
                    .map(|l| l.relation.as_str().to_owned()),
                legal_rep_phone: new
                    .legal_representative
                    .as_ref()
                    .and_then(|l| l.phone.as_ref())
                    .map(|p| p.as_str().to_owned()),
                referral_source: new.referral.source.as_str().to_owned(),
                referral_reference: new
                    .referral
                    .reference
                    .as_ref()
                    .map(|r| r.as_str().to_owned()),
                referred_on: new.referral.referred_on,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            row.set_names(new.first_name.as_str(), new.last_name.as_str());
            repo::insert(conn, &row)
                .map_err(|e| unique_pesel(conn, &caller, e, row.pesel.as_deref()))?;
            record_referral(
                conn,
                &id,
                new.referral.source,
                new.referral.reference.as_ref().map(|r| r.as_str()),
                new.referral.referred_on,
                &caller.id,
                now,
            )?;
            let groups: Vec<RiskGroupEntry> = new
                .risk_groups
                .iter()
                .map(|g| RiskGroupEntry {
                    code: g.code.clone(),
                    evidence: g.evidence.as_str().to_owned(),
                    evidence_date: g.evidence_date,
                })
                .collect();
            repo::replace_risk_groups(conn, &id, &groups)?;
            repo::replace_care_team(conn, &id, &team)?;
            let mut changed = vec![
                "first_name",
                "last_name",
                "birth_date",
                "sex",
                "referral",
                "care_team",
            ];
            for (present, name) in [
                (row.pesel.is_some(), "pesel"),
                (row.id_document_kind.is_some(), "id_document"),
                (row.phone.is_some(), "phone"),
                (row.email.is_some(), "email"),
                (new.address.is_some(), "address"),
                (row.education_level.is_some(), "education_level"),
                (
                    row.labour_status_at_entry.is_some(),
                    "labour_status_at_entry",
                ),
                (row.disability.is_some(), "disability"),
                (row.legal_rep_full_name.is_some(), "legal_representative"),
                (!groups.is_empty(), "risk_groups"),
            ] {
                if present {
                    changed.push(name);
                }
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::ParticipantCreate, &caller, &id)
                    .changed(changed)
                    .details(json!({"source": new.referral.source.as_str()})),
            )?;
            record(conn, &id, View::Full, today)
        })
        .await
}

/// A PESEL unique-index race is the same 409 as the check before it.
fn unique_pesel(
    conn: &mut AnyConnection,
    caller: &CurrentStaff,
    e: diesel::result::Error,
    pesel: Option<&str>,
) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match (e, pesel) {
        (Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _), Some(p)) => {
            match repo::pesel_owner(conn, p, None) {
                Ok(Some(existing)) => duplicate_pesel(conn, caller, existing),
                _ => AppError::conflict("duplicate_pesel", "Another participant has this PESEL."),
            }
        }
        (other, _) => AppError::from(other),
    }
}

pub fn record_referral(
    conn: &mut AnyConnection,
    participant_id: &str,
    source: ReferralSource,
    reference: Option<&str>,
    referred_on: NaiveDate,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(referrals::table)
        .values((
            referrals::id.eq(uuid::Uuid::new_v4().to_string()),
            referrals::participant_id.eq(participant_id),
            referrals::source.eq(source.as_str()),
            referrals::reference.eq(reference),
            referrals::referred_on.eq(referred_on),
            referrals::created_at.eq(now),
            referrals::created_by.eq(by),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The record, with the read written to the audit log (its own short transaction).
pub async fn read(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: &str,
) -> Result<Participant, AppError> {
    let today = state.clock.today();
    let who = caller.id.clone();
    let pid = id.to_owned();
    // The record is read with its whole care team, which places the caller: the policy's
    // decision needs no statement of its own.
    let (_, participant) = access::authorize_loaded(
        state,
        ctx,
        caller,
        Action::ParticipantRead,
        id,
        move |conn| {
            let Some(whole) = repo::find_whole(conn, &pid)? else {
                return Ok(None);
            };
            let standing = access::Standing {
                status: whole.row.status.clone(),
                version: whole.row.version,
                lead: whole
                    .care_team
                    .iter()
                    .find(|m| m.staff_id == who)
                    .map(|m| m.lead),
            };
            Ok(Some((standing, whole)))
        },
        move |conn, access, whole| {
            let retention_until = retention_of(conn, &whole)?;
            Ok(assemble(whole, retention_until, access.view, today))
        },
    )
    .await?;
    audit::record_alone(
        state,
        ctx,
        event(AuditAction::ParticipantRead, caller, &participant.id),
    )
    .await?;
    Ok(participant)
}

/// Applies a PATCH of personal fields as a compare-and-swap on `version`.
pub async fn update(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    id: String,
    expected: i64,
    patch: ParticipantPatch,
) -> Result<Participant, AppError> {
    let today = state.clock.today();
    let now = stored_now(state.clock.as_ref());
    let instant = state.clock.now();
    let caller = caller.clone();
    let ctx = ctx.clone();
    state
        .db
        .write(move |conn| {
            // Decided again inside the transaction: a team change since the first check counts.
            access::check(conn, &caller, Action::ParticipantUpdate, &id)?;
            let current = repo::find(conn, &id)?.ok_or(AppError::NotFound)?;
            if current.version != expected {
                return Err(AppError::PreconditionFailed {
                    current_version: current.version,
                });
            }
            if current.status == Status::Anonymised.as_str() {
                return Err(AppError::conflict(
                    "participant_anonymised",
                    "An anonymised participant cannot be changed.",
                ));
            }
            let mut row = current.clone();
            let mut errors = FieldErrors::new();
            let first = patch
                .first_name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or(row.first_name.clone());
            let last = patch
                .last_name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or(row.last_name.clone());
            row.set_names(&first, &last);
            match &patch.pesel {
                Patch::Absent => {}
                Patch::Null => row.pesel = None,
                Patch::Value(p) => {
                    if let Some(existing) = repo::pesel_owner(conn, p.as_str(), Some(&id))? {
                        return Err(duplicate_pesel(conn, &caller, existing));
                    }
                    row.pesel = Some(p.as_str().to_owned());
                    row.birth_date = p.birth_date();
                    row.sex = Sex::from(p.sex()).as_str().to_owned();
                }
            }
            match &patch.id_document {
                Patch::Absent => {}
                Patch::Null => {
                    row.id_document_kind = None;
                    row.id_document_number = None;
                    row.id_document_country = None;
                }
                Patch::Value(d) => {
                    row.id_document_kind = Some(d.kind.as_str().to_owned());
                    row.id_document_number = Some(d.number.as_str().to_owned());
                    row.id_document_country = Some(d.issuing_country.0.clone());
                }
            }
            if let Some(pesel) = row
                .pesel
                .as_deref()
                .and_then(|p| super::pesel::Pesel::parse(p).ok())
            {
                if patch.birth_date.is_some_and(|d| d != pesel.birth_date()) {
                    errors.push(
                        "/birth_date",
                        "pesel_mismatch",
                        "does not match the date encoded in the PESEL",
                    );
                }
                if patch.sex.is_some_and(|s| s != Sex::from(pesel.sex())) {
                    errors.push(
                        "/sex",
                        "pesel_mismatch",
                        "does not match the sex encoded in the PESEL",
                    );
                }
            } else {
                if let Some(d) = patch.birth_date {
                    row.birth_date = d;
                }
                if let Some(s) = patch.sex {
                    row.sex = s.as_str().to_owned();
                }
                if row.id_document_kind.is_none() {
                    errors.push(
                        "/id_document",
                        "required",
                        "is required when there is no PESEL",
                    );
                }
            }
            apply(&mut row.phone, &patch.phone, |p| p.as_str().to_owned());
            apply(&mut row.email, &patch.email, |e| e.as_str().to_owned());
            match &patch.address {
                Patch::Absent => {}
                Patch::Null => {
                    row.address_street = None;
                    row.address_postal_code = None;
                    row.address_city = None;
                }
                Patch::Value(a) => {
                    row.address_street = a.street.as_ref().map(|s| s.as_str().to_owned());
                    row.address_postal_code = a.postal_code.as_ref().map(|p| p.0.clone());
                    row.address_city = a.city.as_ref().map(|c| c.as_str().to_owned());
                }
            }
            apply(&mut row.education_level, &patch.education_level, |e| {
                e.as_str().to_owned()
            });
            apply(
                &mut row.labour_status_at_entry,
                &patch.labour_status_at_entry,
                |l| l.as_str().to_owned(),
            );
            apply(&mut row.disability, &patch.disability, |d| *d);
            match &patch.legal_representative {
                Patch::Absent => {}
                Patch::Null => {
                    row.legal_rep_full_name = None;
                    row.legal_rep_relation = None;
                    row.legal_rep_phone = None;
                }
                Patch::Value(l) => {
                    row.legal_rep_full_name = Some(l.full_name.as_str().to_owned());
                    row.legal_rep_relation = Some(l.relation.as_str().to_owned());
                    row.legal_rep_phone = l.phone.as_ref().map(|p| p.as_str().to_owned());
                }
            }
            errors.fail_on()?;
            let changed = changed_fields(&current, &row);
            if changed.is_empty() {
                return record(conn, &id, View::Full, today);
            }
            row.version = current.version + 1;
            row.updated_at = now;
            let n = diesel::update(
                crate::db::schema::participants::table
                    .filter(crate::db::schema::participants::id.eq(&id))
                    .filter(crate::db::schema::participants::version.eq(expected)),
            )
            .set(&row)
            .execute(conn)
            .map_err(|e| unique_pesel(conn, &caller, e, row.pesel.as_deref()))?;
            if n == 0 {
                let v = repo::version_of(conn, &id)?;
                crate::http::cas_outcome(0, v)?;
            }
            if changed
                .iter()
                .any(|f| *f == "first_name" || *f == "last_name")
            {
                repo::caseload_order(conn, &row)?;
            }
            audit::record(
                conn,
                instant,
                &ctx,
                event(AuditAction::ParticipantUpdate, &caller, &id).changed(changed),
            )?;
            record(conn, &id, View::Full, today)
        })
        .await
}

fn apply<T, S>(slot: &mut Option<S>, patch: &Patch<T>, to: impl Fn(&T) -> S) {
    match patch {
        Patch::Absent => {}
        Patch::Null => *slot = None,
        Patch::Value(v) => *slot = Some(to(v)),
    }
}

/// Names of personal fields that differ (values never go to the audit log).
fn changed_fields(a: &ParticipantRow, b: &ParticipantRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    let pairs: [(&'static str, bool); 12] = [
        ("first_name", a.first_name != b.first_name),
        ("last_name", a.last_name != b.last_name),
        ("pesel", a.pesel != b.pesel),
        (
            "id_document",
            (
                &a.id_document_kind,
                &a.id_document_number,
                &a.id_document_country,
            ) != (
                &b.id_document_kind,
                &b.id_document_number,
                &b.id_document_country,
            ),
        ),
        ("birth_date", a.birth_date != b.birth_date),
        ("sex", a.sex != b.sex),
        ("phone", a.phone != b.phone),
        ("email", a.email != b.email),
        (
            "address",
            (&a.address_street, &a.address_postal_code, &a.address_city)
                != (&b.address_street, &b.address_postal_code, &b.address_city),
        ),
        ("education_level", a.education_level != b.education_level),
        (
            "labour_status_at_entry",
            a.labour_status_at_entry != b.labour_status_at_entry,
        ),
        (
            "legal_representative",
            (
                &a.legal_rep_full_name,
                &a.legal_rep_relation,
                &a.legal_rep_phone,
            ) != (
                &b.legal_rep_full_name,
                &b.legal_rep_relation,
                &b.legal_rep_phone,
            ),
        ),
    ];
    for (name, differs) in pairs {
        if differs {
            out.push(name);
        }
    }
    if a.disability != b.disability {
        out.push("disability");
    }
    out
}

/// The caller's list, with the read written to the audit log as one `participant.list` event
/// naming the filters (not their values for `q`) and the number of rows returned.
/// A list request: whose participants, which filters (and their names, for the audit event),
/// the order, and a page (`None` for every row, as CSV answers).
pub struct ListRequest {
    pub caseload: Caseload,
    pub filter: repo::ListFilter,
    pub filters_used: Vec<&'static str>,
    pub sort: repo::Sort,
    pub page: Option<PageRequest>,
}

pub async fn list(
    state: &AppState,
    ctx: &RequestContext,
    caller: &CurrentStaff,
    request: ListRequest,
) -> Result<(Vec<ParticipantListRow>, i64), AppError> {
    let ListRequest {
        caseload,
        filter,
        filters_used,
        sort,
        page,
    } = request;
    let (rows, total) = state
        .db
        .read(move |conn| Ok(repo::list(conn, &caseload, &filter, sort, page)?))
        .await?;
    let event = NewEvent::new(
        AuditAction::ParticipantList,
        AuditOutcome::Allowed,
        Some(caller.actor()),
    )
    .details(json!({"filters": filters_used, "rows": rows.len(), "csv": page.is_none()}));
    audit::record_alone(state, ctx, event).await?;
    Ok((rows, total))
}

/// A field error for a body already parsed (DB-dependent checks).
pub fn field_error(pointer: &str, code: &str, message: &str) -> AppError {
    AppError::Validation(vec![FieldError::new(pointer, code, message)])
}
