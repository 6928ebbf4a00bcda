//! Every route × anonymous and each role → the status the policy promises (api.md §3, §13.3).
//! A route that is documented but missing here fails `every_documented_route_is_in_the_matrix`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{TestApp, TestUser};

/// Callers in column order: anonymous, then one signed-in user per role.
const COLUMNS: [Option<Role>; 7] = [
    None,
    Some(Role::Admin),
    Some(Role::Manager),
    Some(Role::Psychologist),
    Some(Role::SocialWorker),
    Some(Role::Counsellor),
    Some(Role::Auditor),
];

/// What a case needs that exists before the call: a staff member to act on.
struct Fixture {
    target_staff: String,
    risk_group: String,
    activity_type: String,
    /// A participant whose care team is led by `lead` (the caller only when the case says so).
    participant: String,
    lead: String,
    /// The participant's programme and first follow-up, when the case needs them.
    programme: String,
    follow_up: String,
    /// A consent and a team note of `participant`, recorded by `lead` for the routes about them.
    consent: String,
    note: String,
    /// A draft `general_survey` (which every clinical role writes) and a final one, both by
    /// `lead`, for the routes about diagnoses.
    diagnosis: String,
    final_diagnosis: String,
    /// For the routes about plans (the participant then has a final diagnosis): an active plan
    /// with its first goal and action, and a draft revision of it, all by `lead`.
    active_plan: String,
    draft_plan: String,
    goal: String,
    action: String,
    /// For the routes about one session: a session today facilitated by `lead`.
    session: String,
    /// For the routes about one outcome: a social outcome recorded by `lead`.
    outcome: String,
}

/// A fresh dictionary entry of each kind, so every PATCH meets version 1.
fn fresh_dictionary_entries(app: &TestApp, n: usize) -> (String, String) {
    use diesel::prelude::*;
    use reintegra::db::schema::{activity_types, risk_groups};
    let now = reintegra::http::stored_now(&app.clock);
    let (rg, at) = (format!("matrix_group_{n}"), format!("matrix_type_{n}"));
    let mut conn = app.conn();
    diesel::insert_into(risk_groups::table)
        .values((
            risk_groups::code.eq(&rg),
            risk_groups::label_en.eq("Matrix group"),
            risk_groups::label_pl.eq("Grupa testowa"),
            risk_groups::statutory.eq(false),
            risk_groups::active.eq(true),
            risk_groups::version.eq(1_i64),
            risk_groups::created_at.eq(now),
            risk_groups::updated_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    diesel::insert_into(activity_types::table)
        .values((
            activity_types::code.eq(&at),
            activity_types::label_en.eq("Matrix type"),
            activity_types::label_pl.eq("Typ testowy"),
            activity_types::area.eq("social"),
            activity_types::category.eq("other"),
            activity_types::active.eq(true),
            activity_types::version.eq(1_i64),
            activity_types::created_at.eq(now),
            activity_types::updated_at.eq(now),
        ))
        .execute(&mut conn)
        .unwrap();
    (rg, at)
}

/// The state the fixture's participant is brought to (by its lead, through the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Needs {
    /// Registered (`referred`).
    Participant,
    /// Qualified.
    Qualified,
    /// In a programme (`programme` set, version 1).
    OpenProgramme,
    /// The programme exited on 2026-03-02 (`follow_up` set, version 1).
    Exited,
}

struct Case {
    method: Method,
    /// The documented template, e.g. `/api/v1/staff/{id}`.
    template: &'static str,
    path: fn(&Fixture) -> String,
    body: Option<fn(&Fixture, usize) -> Value>,
    if_match: bool,
    /// Put a clinical caller on the participant's care team (as lead).
    on_team: bool,
    /// How far the participant's case must have come before the call.
    needs: Needs,
    expected: [u16; 7],
}

fn cases() -> Vec<Case> {
    const ALL_OK: [u16; 7] = [401, 200, 200, 200, 200, 200, 200];
    vec![
        Case {
            method: Method::GET,
            template: "/api/v1/auth/me",
            path: |_| "/api/v1/auth/me".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::POST,
            template: "/api/v1/auth/logout",
            path: |_| "/api/v1/auth/logout".into(),
            body: Some(|_, _| json!({"refresh_token": "not-mine"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 204, 204, 204, 204, 204, 204],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/auth/logout-all",
            path: |_| "/api/v1/auth/logout-all".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 204, 204, 204, 204, 204, 204],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/auth/password",
            path: |_| "/api/v1/auth/password".into(),
            body: Some(
                |_, _| json!({"current_password": crate::common::TEST_PASSWORD, "new_password": "a different passphrase"}),
            ),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::GET,
            template: "/api/v1/staff",
            path: |_| "/api/v1/staff".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::POST,
            template: "/api/v1/staff",
            path: |_| "/api/v1/staff".into(),
            body: Some(|_, i| {
                json!({"email": format!("new{i}@club.test"), "full_name": "New Person", "roles": ["counsellor"],
                       "initial_password": "first password 123"})
            }),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 201, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/staff/{id}",
            path: |f| format!("/api/v1/staff/{}", f.target_staff),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/staff/{id}",
            path: |f| format!("/api/v1/staff/{}", f.target_staff),
            body: Some(|_, _| json!({"full_name": "Renamed Person"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/staff/{id}/reset-password",
            path: |f| format!("/api/v1/staff/{}/reset-password", f.target_staff),
            body: Some(|_, _| json!({"initial_password": "reset password 456"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/settings",
            path: |_| "/api/v1/settings".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/settings",
            path: |_| "/api/v1/settings".into(),
            body: Some(|_, _| {
                json!({"unit_name": "KIS Matrix", "unit_kind": "kis", "programme_months": 12,
                       "follow_up_months": [3, 6, 12], "retention_years": 5,
                       "project_retention_until": null, "review_interval_days": 90})
            }),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 403, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/risk-groups",
            path: |_| "/api/v1/risk-groups".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::POST,
            template: "/api/v1/risk-groups",
            path: |_| "/api/v1/risk-groups".into(),
            body: Some(
                |_, i| json!({"code": format!("new_group_{i}"), "label_en": "New", "label_pl": "Nowa"}),
            ),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 201, 201, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/risk-groups/{code}",
            path: |f| format!("/api/v1/risk-groups/{}", f.risk_group),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/risk-groups/{code}",
            path: |f| format!("/api/v1/risk-groups/{}", f.risk_group),
            body: Some(|_, _| json!({"label_en": "Renamed"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/activity-types",
            path: |_| "/api/v1/activity-types".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::POST,
            template: "/api/v1/activity-types",
            path: |_| "/api/v1/activity-types".into(),
            body: Some(|_, i| {
                json!({"code": format!("new_type_{i}"), "label_en": "New", "label_pl": "Nowy",
                       "area": "vocational", "category": "course"})
            }),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 201, 201, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/activity-types/{code}",
            path: |f| format!("/api/v1/activity-types/{}", f.activity_type),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: ALL_OK,
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/activity-types/{code}",
            path: |f| format!("/api/v1/activity-types/{}", f.activity_type),
            body: Some(|_, _| json!({"label_en": "Renamed"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants",
            path: |_| "/api/v1/participants".into(),
            body: Some(|f, i| {
                let mut body = crate::common::participant_body(i as u32 + 5000);
                body["care_team"] = json!([{"staff_id": f.lead, "lead": true}]);
                body
            }),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants",
            path: |_| "/api/v1/participants".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        // Another team's participant: clinicians cannot see it (404).
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}",
            path: |f| format!("/api/v1/participants/{}", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}",
            path: |f| format!("/api/v1/participants/{}", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/participants/{id}",
            path: |f| format!("/api/v1/participants/{}", f.participant),
            body: Some(|_, _| json!({"first_name": "Renamed"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/participants/{id}",
            path: |f| format!("/api/v1/participants/{}", f.participant),
            body: Some(|_, _| json!({"first_name": "Renamed"})),
            if_match: true,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/participants/{id}/risk-groups",
            path: |f| format!("/api/v1/participants/{}/risk-groups", f.participant),
            body: Some(|_, _| json!([{"code": "disability", "evidence": "Certificate 1/2026"}])),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/participants/{id}/risk-groups",
            path: |f| format!("/api/v1/participants/{}/risk-groups", f.participant),
            body: Some(|_, _| json!([{"code": "disability", "evidence": "Certificate 1/2026"}])),
            if_match: true,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/qualification",
            path: |f| format!("/api/v1/participants/{}/qualification", f.participant),
            body: Some(|_, _| json!({"decision": "qualified", "decided_on": "2026-02-25"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/qualification",
            path: |f| format!("/api/v1/participants/{}/qualification", f.participant),
            body: Some(|_, _| json!({"decision": "qualified", "decided_on": "2026-02-25"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        // A fresh participant is `referred`: an allowed caller reaches the lifecycle rule (409).
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/referrals",
            path: |f| format!("/api/v1/participants/{}/referrals", f.participant),
            body: Some(|_, _| json!({"source": "ops", "referred_on": "2026-03-01"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 409, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/referrals",
            path: |f| format!("/api/v1/participants/{}/referrals", f.participant),
            body: Some(|_, _| json!({"source": "ops", "referred_on": "2026-03-01"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 409, 409, 409, 409, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/care-team",
            path: |f| format!("/api/v1/participants/{}/care-team", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/care-team",
            path: |f| format!("/api/v1/participants/{}/care-team", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/participants/{id}/care-team",
            path: |f| format!("/api/v1/participants/{}/care-team", f.participant),
            body: Some(|f, _| json!([{"staff_id": f.lead, "lead": true}])),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/participants/{id}/care-team",
            path: |f| format!("/api/v1/participants/{}/care-team", f.participant),
            body: Some(|f, _| json!([{"staff_id": f.lead, "lead": true}])),
            if_match: true,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/staff/{id}/reassign-caseload",
            // The lead's caseload (the fixture's participant) moves to the target counsellor.
            path: |f| format!("/api/v1/staff/{}/reassign-caseload", f.lead),
            body: Some(|f, _| json!({"to_staff_id": f.target_staff})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        // Programmes and follow-ups: another team's participant (clinicians 404), then the
        // caller's own team (the caller leads it).
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/programmes",
            path: |f| format!("/api/v1/participants/{}/programmes", f.participant),
            body: Some(|_, _| json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"})),
            if_match: false,
            on_team: false,
            needs: Needs::Qualified,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/programmes",
            path: |f| format!("/api/v1/participants/{}/programmes", f.participant),
            body: Some(|_, _| json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"})),
            if_match: false,
            on_team: true,
            needs: Needs::Qualified,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/programmes",
            path: |f| format!("/api/v1/participants/{}/programmes", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/programmes",
            path: |f| format!("/api/v1/participants/{}/programmes", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/programmes/{id}",
            path: |f| format!("/api/v1/programmes/{}", f.programme),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/programmes/{id}",
            path: |f| format!("/api/v1/programmes/{}", f.programme),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/programmes/{id}",
            path: |f| format!("/api/v1/programmes/{}", f.programme),
            body: Some(
                |_, _| json!({"planned_end_date": "2027-06-30", "extension_reason": "More time"}),
            ),
            if_match: true,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/programmes/{id}",
            path: |f| format!("/api/v1/programmes/{}", f.programme),
            body: Some(
                |_, _| json!({"planned_end_date": "2027-06-30", "extension_reason": "More time"}),
            ),
            if_match: true,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/programmes/{id}/exit",
            path: |f| format!("/api/v1/programmes/{}/exit", f.programme),
            body: Some(|_, _| json!({"exit_date": "2026-03-02", "exit_reason": "completed"})),
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/programmes/{id}/exit",
            path: |f| format!("/api/v1/programmes/{}/exit", f.programme),
            body: Some(|_, _| json!({"exit_date": "2026-03-02", "exit_reason": "completed"})),
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/follow-ups",
            path: |f| format!("/api/v1/participants/{}/follow-ups", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/follow-ups",
            path: |f| format!("/api/v1/participants/{}/follow-ups", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/follow-ups/{id}",
            path: |f| format!("/api/v1/follow-ups/{}", f.follow_up),
            body: Some(|_, _| json!({"contacted_on": "2026-03-02", "result": "unreachable"})),
            if_match: true,
            on_team: false,
            needs: Needs::Exited,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/follow-ups/{id}",
            path: |f| format!("/api/v1/follow-ups/{}", f.follow_up),
            body: Some(|_, _| json!({"contacted_on": "2026-03-02", "result": "unreachable"})),
            if_match: true,
            on_team: true,
            needs: Needs::Exited,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/timeline",
            path: |f| format!("/api/v1/participants/{}/timeline", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/timeline",
            path: |f| format!("/api/v1/participants/{}/timeline", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/consents",
            path: |f| format!("/api/v1/participants/{}/consents", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/consents",
            path: |f| format!("/api/v1/participants/{}/consents", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/consents",
            path: |f| format!("/api/v1/participants/{}/consents", f.participant),
            body: Some(|_, _| crate::consents::consent_body("image", "2026-03-01")),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/consents",
            path: |f| format!("/api/v1/participants/{}/consents", f.participant),
            body: Some(|_, _| crate::consents::consent_body("image", "2026-03-01")),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/consents/{id}",
            path: |f| format!("/api/v1/consents/{}", f.consent),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/consents/{id}",
            path: |f| format!("/api/v1/consents/{}", f.consent),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/consents/{id}/withdraw",
            path: |f| format!("/api/v1/consents/{}/withdraw", f.consent),
            body: Some(|_, _| json!({"withdrawn_on": "2026-03-02"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/consents/{id}/withdraw",
            path: |f| format!("/api/v1/consents/{}/withdraw", f.consent),
            body: Some(|_, _| json!({"withdrawn_on": "2026-03-02"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        // Notes: never for admins and auditors; psychologist notes only for the team's
        // psychologists (a manager or another team member may not write one).
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/notes",
            path: |f| format!("/api/v1/participants/{}/notes", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/notes",
            path: |f| format!("/api/v1/participants/{}/notes", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/notes",
            path: |f| format!("/api/v1/participants/{}/notes", f.participant),
            body: Some(|_, _| json!({"body": "Matrix note", "confidentiality": "team"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/notes",
            path: |f| format!("/api/v1/participants/{}/notes", f.participant),
            body: Some(|_, _| json!({"body": "Matrix note", "confidentiality": "team"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/notes",
            path: |f| format!("/api/v1/participants/{}/notes", f.participant),
            body: Some(|_, _| json!({"body": "Matrix note", "confidentiality": "psychologist"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 403, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/notes",
            path: |f| format!("/api/v1/participants/{}/notes", f.participant),
            body: Some(|_, _| json!({"body": "Matrix note", "confidentiality": "psychologist"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 403, 201, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/notes/{id}",
            path: |f| format!("/api/v1/notes/{}", f.note),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/notes/{id}",
            path: |f| format!("/api/v1/notes/{}", f.note),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        // Diagnoses: managers read all (restricted findings withheld), auditors metadata, the care
        // team reads and writes the kinds its roles write; admins see no case data. Managers,
        // auditors and admins never write one (403 whatever the participant).
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/diagnoses",
            path: |f| format!("/api/v1/participants/{}/diagnoses", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/diagnoses",
            path: |f| format!("/api/v1/participants/{}/diagnoses", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/diagnoses",
            path: |f| format!("/api/v1/participants/{}/diagnoses", f.participant),
            body: Some(|_, _| crate::diagnoses::diagnosis_body("general_survey")),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 403, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/diagnoses",
            path: |f| format!("/api/v1/participants/{}/diagnoses", f.participant),
            body: Some(|_, _| crate::diagnoses::diagnosis_body("general_survey")),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 403, 201, 201, 201, 403],
        },
        // Only psychologists write a psychological diagnosis.
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/diagnoses",
            path: |f| format!("/api/v1/participants/{}/diagnoses", f.participant),
            body: Some(|_, _| crate::diagnoses::diagnosis_body("psychological")),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 403, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/diagnoses",
            path: |f| format!("/api/v1/participants/{}/diagnoses", f.participant),
            body: Some(|_, _| crate::diagnoses::diagnosis_body("psychological")),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 403, 201, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/diagnoses/{id}",
            path: |f| format!("/api/v1/diagnoses/{}", f.diagnosis),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/diagnoses/{id}",
            path: |f| format!("/api/v1/diagnoses/{}", f.diagnosis),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/diagnoses/{id}",
            path: |f| format!("/api/v1/diagnoses/{}", f.diagnosis),
            body: Some(|_, _| json!({"summary": "Matrix summary"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 403, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/diagnoses/{id}",
            path: |f| format!("/api/v1/diagnoses/{}", f.diagnosis),
            body: Some(|_, _| json!({"summary": "Matrix summary"})),
            if_match: true,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 403, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/diagnoses/{id}/finalize",
            path: |f| format!("/api/v1/diagnoses/{}/finalize", f.diagnosis),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 403, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/diagnoses/{id}/finalize",
            path: |f| format!("/api/v1/diagnoses/{}/finalize", f.diagnosis),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 403, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/diagnoses/{id}/amendments",
            path: |f| format!("/api/v1/diagnoses/{}/amendments", f.final_diagnosis),
            body: Some(|_, _| json!({"reason": "Matrix", "text": "Matrix amendment"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 403, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/diagnoses/{id}/amendments",
            path: |f| format!("/api/v1/diagnoses/{}/amendments", f.final_diagnosis),
            body: Some(|_, _| json!({"reason": "Matrix", "text": "Matrix amendment"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 403, 201, 201, 201, 403],
        },
        // Plans: the care team and managers draft, revise, review and progress them; a manager or
        // the team's lead activates; auditors read; admins see no case data.
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/plans",
            path: |f| format!("/api/v1/participants/{}/plans", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/plans",
            path: |f| format!("/api/v1/participants/{}/plans", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/plans",
            path: |f| format!("/api/v1/participants/{}/plans", f.participant),
            body: Some(|f, _| crate::plans::plan_body_for(&f.programme, &f.lead, &f.lead)),
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/plans",
            path: |f| format!("/api/v1/participants/{}/plans", f.participant),
            body: Some(|f, _| crate::plans::plan_body_for(&f.programme, &f.lead, &f.lead)),
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/plans/{id}",
            path: |f| format!("/api/v1/plans/{}", f.active_plan),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/plans/{id}",
            path: |f| format!("/api/v1/plans/{}", f.active_plan),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/plans/{id}",
            path: |f| format!("/api/v1/plans/{}", f.draft_plan),
            body: Some(|_, _| json!({"actions": []})),
            if_match: true,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/plans/{id}",
            path: |f| format!("/api/v1/plans/{}", f.draft_plan),
            body: Some(|_, _| json!({"actions": []})),
            if_match: true,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/plans/{id}/activate",
            path: |f| format!("/api/v1/plans/{}/activate", f.draft_plan),
            body: Some(|_, _| crate::plans::accepted()),
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/plans/{id}/activate",
            path: |f| format!("/api/v1/plans/{}/activate", f.draft_plan),
            body: Some(|_, _| crate::plans::accepted()),
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/plans/{id}/revise",
            path: |f| format!("/api/v1/plans/{}/revise", f.active_plan),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/plans/{id}/revise",
            path: |f| format!("/api/v1/plans/{}/revise", f.active_plan),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/plans/{id}/reviews",
            path: |f| format!("/api/v1/plans/{}/reviews", f.active_plan),
            body: Some(|_, _| json!({"reviewed_on": "2026-03-02", "summary": "Matrix review"})),
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/plans/{id}/reviews",
            path: |f| format!("/api/v1/plans/{}/reviews", f.active_plan),
            body: Some(|_, _| json!({"reviewed_on": "2026-03-02", "summary": "Matrix review"})),
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/goals/{id}",
            path: |f| format!("/api/v1/goals/{}", f.goal),
            body: Some(|_, _| json!({"status": "in_progress"})),
            if_match: true,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/goals/{id}",
            path: |f| format!("/api/v1/goals/{}", f.goal),
            body: Some(|_, _| json!({"status": "in_progress"})),
            if_match: true,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/actions/{id}",
            path: |f| format!("/api/v1/actions/{}", f.action),
            body: Some(|_, _| json!({"status": "cancelled"})),
            if_match: true,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/actions/{id}",
            path: |f| format!("/api/v1/actions/{}", f.action),
            body: Some(|_, _| json!({"status": "cancelled"})),
            if_match: true,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        // Sessions: every role but the admin reads them; a session is edited, cancelled and
        // given attendance by its facilitators (`on_team`: the caller facilitates it) and
        // managers; auditors never write.
        Case {
            method: Method::POST,
            template: "/api/v1/sessions",
            path: |_| "/api/v1/sessions".into(),
            body: Some(|f, _| {
                crate::sessions::session_body(
                    "support_group",
                    "2026-03-02T09:00:00+01:00",
                    90,
                    &[&f.lead],
                    &[],
                )
            }),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/sessions",
            path: |_| "/api/v1/sessions".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/sessions/{id}",
            path: |f| format!("/api/v1/sessions/{}", f.session),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/sessions/{id}",
            path: |f| format!("/api/v1/sessions/{}", f.session),
            body: Some(|_, _| json!({"title": "Renamed"})),
            if_match: true,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::PATCH,
            template: "/api/v1/sessions/{id}",
            path: |f| format!("/api/v1/sessions/{}", f.session),
            body: Some(|_, _| json!({"title": "Renamed"})),
            if_match: true,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/sessions/{id}/cancel",
            path: |f| format!("/api/v1/sessions/{}/cancel", f.session),
            body: Some(|_, _| json!({"reason": "Room flooded"})),
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/sessions/{id}/cancel",
            path: |f| format!("/api/v1/sessions/{}/cancel", f.session),
            body: Some(|_, _| json!({"reason": "Room flooded"})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/sessions/{id}/attendance",
            path: |f| format!("/api/v1/sessions/{}/attendance", f.session),
            body: Some(|f, _| json!([{"participant_id": f.participant, "status": "present"}])),
            if_match: true,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::PUT,
            template: "/api/v1/sessions/{id}/attendance",
            path: |f| format!("/api/v1/sessions/{}/attendance", f.session),
            body: Some(|f, _| json!([{"participant_id": f.participant, "status": "present"}])),
            if_match: true,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/attendance",
            path: |f| format!("/api/v1/participants/{}/attendance", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/attendance",
            path: |f| format!("/api/v1/participants/{}/attendance", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/programmes/{id}/summary",
            path: |f| format!("/api/v1/programmes/{}/summary", f.programme),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/programmes/{id}/summary",
            path: |f| format!("/api/v1/programmes/{}/summary", f.programme),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        // Reports: managers and auditors over the unit, clinicians over their caseload.
        Case {
            method: Method::GET,
            template: "/api/v1/reports/outcomes",
            path: |_| "/api/v1/reports/outcomes?from=2026-01-01&to=2026-12-31".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/reports/outcomes/participants",
            path: |_| {
                let cell = reintegra::reports::outcomes::CellRef {
                    from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    to: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                    group_by: reintegra::reports::outcomes::GroupBy::Sex,
                    key: None,
                    cell: reintegra::reports::outcomes::Cell::Started,
                    months: None,
                };
                format!(
                    "/api/v1/reports/outcomes/participants?cell={}",
                    cell.token()
                )
            },
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/reports/annual",
            path: |_| "/api/v1/reports/annual?year=2026".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/reports/esf",
            path: |_| "/api/v1/reports/esf?from=2026-01-01&to=2026-12-31".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        // Data protection: managers; the access log also for auditors; no grant depends on the
        // care team, so clinicians get 403 whatever the participant.
        Case {
            method: Method::GET,
            template: "/api/v1/retention/due",
            path: |_| "/api/v1/retention/due".into(),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/access-log",
            path: |f| format!("/api/v1/participants/{}/access-log", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/export",
            path: |f| format!("/api/v1/participants/{}/export", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/anonymise",
            path: |f| format!("/api/v1/participants/{}/anonymise", f.participant),
            body: Some(|_, _| json!({"reason": "Matrix", "override": true})),
            if_match: false,
            on_team: true,
            needs: Needs::Participant,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        // The worklist is the caller's own: every role with case work has one.
        Case {
            method: Method::GET,
            template: "/api/v1/worklist",
            path: |_| "/api/v1/worklist".into(),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        // Outcomes: the team and managers record and retract, managers verify, auditors read.
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/outcomes",
            path: |f| format!("/api/v1/participants/{}/outcomes", f.participant),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/participants/{id}/outcomes",
            path: |f| format!("/api/v1/participants/{}/outcomes", f.participant),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/outcomes",
            path: |f| format!("/api/v1/participants/{}/outcomes", f.participant),
            body: Some(|_, _| crate::outcomes::outcome_body("debt_settled", "2026-03-01")),
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/participants/{id}/outcomes",
            path: |f| format!("/api/v1/participants/{}/outcomes", f.participant),
            body: Some(|_, _| crate::outcomes::outcome_body("debt_settled", "2026-03-01")),
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 201, 201, 201, 201, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/outcomes/{id}",
            path: |f| format!("/api/v1/outcomes/{}", f.outcome),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/outcomes/{id}",
            path: |f| format!("/api/v1/outcomes/{}", f.outcome),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 200],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/outcomes/{id}/verify",
            path: |f| format!("/api/v1/outcomes/{}/verify", f.outcome),
            body: None,
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 403, 403, 403, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/outcomes/{id}/retract",
            path: |f| format!("/api/v1/outcomes/{}/retract", f.outcome),
            body: Some(|_, _| json!({"reason": "Recorded for the wrong person"})),
            if_match: false,
            on_team: false,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 404, 404, 404, 403],
        },
        Case {
            method: Method::POST,
            template: "/api/v1/outcomes/{id}/retract",
            path: |f| format!("/api/v1/outcomes/{}/retract", f.outcome),
            body: Some(|_, _| json!({"reason": "Recorded for the wrong person"})),
            if_match: false,
            on_team: true,
            needs: Needs::OpenProgramme,
            expected: [401, 403, 200, 200, 200, 200, 403],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/audit-events",
            path: |_| "/api/v1/audit-events".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 200, 403, 403, 403, 200],
        },
        Case {
            method: Method::GET,
            template: "/api/v1/audit-events/verify",
            path: |_| "/api/v1/audit-events/verify".into(),
            body: None,
            if_match: false,
            on_team: false,
            needs: Needs::Participant,
            expected: [401, 200, 403, 403, 403, 403, 200],
        },
    ]
}

/// Brings the participant's case as far as `needs` asks, as its lead; answers the programme and
/// first follow-up ids (empty when not made).
async fn prepare(
    app: &TestApp,
    lead: &TestUser,
    participant: &str,
    needs: Needs,
) -> (String, String) {
    let (mut programme, mut follow_up) = (String::new(), String::new());
    if needs >= Needs::Qualified {
        app.qualify(lead, participant).await;
    }
    if needs >= Needs::OpenProgramme {
        let res = app
            .call_as(
                lead,
                TestRequest::post()
                    .uri(&format!("/api/v1/participants/{participant}/programmes"))
                    .set_json(json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"})),
            )
            .await;
        assert_eq!(res.status, 201, "start: {}", res.text());
        programme = res.json()["id"].as_str().unwrap().to_owned();
    }
    if needs >= Needs::Exited {
        let res = app
            .call_as(
                lead,
                TestRequest::post()
                    .uri(&format!("/api/v1/programmes/{programme}/exit"))
                    .set_json(json!({"exit_date": "2026-03-02", "exit_reason": "completed"})),
            )
            .await;
        assert_eq!(res.status, 200, "exit: {}", res.text());
        let list = app
            .get_as(
                lead,
                &format!("/api/v1/participants/{participant}/follow-ups"),
            )
            .await;
        follow_up = list.json()["items"][0]["id"].as_str().unwrap().to_owned();
    }
    (programme, follow_up)
}

/// The audit event each mutating route writes when it succeeds, and whether it names the
/// fixture's participant (api.md §11: every change of case data leaves a trace). A mutating
/// route missing here fails `every_mutating_route_has_an_audit_action`.
const AUDITED: &[(&str, &str, &str, bool)] = &[
    ("POST", "/api/v1/auth/logout", "auth.logout", false),
    ("POST", "/api/v1/auth/logout-all", "auth.logout_all", false),
    (
        "POST",
        "/api/v1/auth/password",
        "auth.password_change",
        false,
    ),
    ("POST", "/api/v1/staff", "staff.create", false),
    ("PATCH", "/api/v1/staff/{id}", "staff.update", false),
    (
        "POST",
        "/api/v1/staff/{id}/reset-password",
        "staff.reset_password",
        false,
    ),
    (
        "POST",
        "/api/v1/staff/{id}/reassign-caseload",
        "staff.reassign_caseload",
        true,
    ),
    ("PUT", "/api/v1/settings", "settings.update", false),
    ("POST", "/api/v1/risk-groups", "risk_group.create", false),
    (
        "PATCH",
        "/api/v1/risk-groups/{code}",
        "risk_group.update",
        false,
    ),
    (
        "POST",
        "/api/v1/activity-types",
        "activity_type.create",
        false,
    ),
    (
        "PATCH",
        "/api/v1/activity-types/{code}",
        "activity_type.update",
        false,
    ),
    // A new participant: the event names the new record, not the fixture's.
    ("POST", "/api/v1/participants", "participant.create", false),
    (
        "PATCH",
        "/api/v1/participants/{id}",
        "participant.update",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/qualification",
        "participant.qualify",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/referrals",
        "participant.refer",
        true,
    ),
    (
        "PUT",
        "/api/v1/participants/{id}/risk-groups",
        "participant.risk_groups_update",
        true,
    ),
    (
        "PUT",
        "/api/v1/participants/{id}/care-team",
        "care_team.update",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/consents",
        "consent.create",
        true,
    ),
    (
        "POST",
        "/api/v1/consents/{id}/withdraw",
        "consent.withdraw",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/notes",
        "note.create",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/programmes",
        "programme.start",
        true,
    ),
    ("PATCH", "/api/v1/programmes/{id}", "programme.extend", true),
    (
        "POST",
        "/api/v1/programmes/{id}/exit",
        "programme.exit",
        true,
    ),
    ("PATCH", "/api/v1/follow-ups/{id}", "follow_up.update", true),
    (
        "POST",
        "/api/v1/participants/{id}/diagnoses",
        "diagnosis.create",
        true,
    ),
    ("PATCH", "/api/v1/diagnoses/{id}", "diagnosis.update", true),
    (
        "POST",
        "/api/v1/diagnoses/{id}/finalize",
        "diagnosis.finalize",
        true,
    ),
    (
        "POST",
        "/api/v1/diagnoses/{id}/amendments",
        "diagnosis.amend",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/plans",
        "plan.create",
        true,
    ),
    ("PATCH", "/api/v1/plans/{id}", "plan.update", true),
    ("POST", "/api/v1/plans/{id}/activate", "plan.activate", true),
    ("POST", "/api/v1/plans/{id}/revise", "plan.revise", true),
    ("POST", "/api/v1/plans/{id}/reviews", "plan.review", true),
    ("PATCH", "/api/v1/goals/{id}", "plan_goal.update", true),
    ("PATCH", "/api/v1/actions/{id}", "plan_action.update", true),
    ("POST", "/api/v1/sessions", "session.create", false),
    ("PATCH", "/api/v1/sessions/{id}", "session.update", false),
    (
        "POST",
        "/api/v1/sessions/{id}/cancel",
        "session.cancel",
        false,
    ),
    (
        "PUT",
        "/api/v1/sessions/{id}/attendance",
        "attendance.record",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/outcomes",
        "outcome.create",
        true,
    ),
    (
        "POST",
        "/api/v1/outcomes/{id}/verify",
        "outcome.verify",
        true,
    ),
    (
        "POST",
        "/api/v1/outcomes/{id}/retract",
        "outcome.retract",
        true,
    ),
    (
        "POST",
        "/api/v1/participants/{id}/anonymise",
        "participant.anonymise",
        true,
    ),
];

fn is_mutating(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

#[test]
fn every_mutating_route_has_an_audit_action() {
    let doc: Value = serde_json::from_str(&reintegra::openapi::document_json()).unwrap();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            let public = PUBLIC.iter().any(|(m, p)| *m == method && p == path);
            if method != "GET"
                && !public
                && !AUDITED.iter().any(|(m, p, _, _)| *m == method && p == path)
            {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "mutating routes without an audit expectation: {missing:?}"
    );
}

/// The events appended after `seq`: `(action, actor, participant, outcome)`.
fn events_after(app: &TestApp, seq: i64) -> Vec<(String, Option<String>, Option<String>, String)> {
    use diesel::prelude::*;
    use reintegra::db::schema::audit_events as e;
    e::table
        .filter(e::seq.gt(seq))
        .select((e::action, e::actor_id, e::participant_id, e::outcome))
        .order(e::seq.asc())
        .load(&mut app.conn())
        .unwrap()
}

fn last_seq(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use reintegra::db::schema::audit_events as e;
    e::table
        .select(diesel::dsl::max(e::seq))
        .first::<Option<i64>>(&mut app.conn())
        .unwrap()
        .unwrap_or(0)
}

/// Routes anyone may call without a token.
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
];

#[test]
fn every_documented_route_is_in_the_matrix() {
    let doc: Value = serde_json::from_str(&reintegra::openapi::document_json()).unwrap();
    let covered: Vec<(String, String)> = cases()
        .iter()
        .map(|c| (c.method.to_string(), c.template.to_owned()))
        .chain(PUBLIC.iter().map(|(m, p)| (m.to_string(), p.to_string())))
        .collect();
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let key = (method.to_uppercase(), path.clone());
            if !covered.contains(&key) {
                missing.push(format!("{} {}", key.0, key.1));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes without authorization cases: {missing:?}"
    );
}

#[actix_web::test]
async fn each_route_answers_each_role_as_the_policy_promises() {
    let app = TestApp::spawn().await;
    let mut failures = Vec::new();
    for (n, case) in cases().iter().enumerate() {
        for (col, role) in COLUMNS.iter().enumerate() {
            // Fresh callers and a fresh target per call: some calls end sessions or change state.
            let (target_staff, _) = app.create_staff(&[Role::Counsellor], false);
            let (risk_group, activity_type) = fresh_dictionary_entries(&app, n * 10 + col);
            let caller: Option<TestUser> = match role {
                Some(r) => Some(app.user(&[*r]).await),
                None => None,
            };
            let lead = match (&caller, role) {
                (Some(user), Some(r)) if case.on_team && r.is_clinical() => user.clone(),
                _ => app.user(&[Role::SocialWorker]).await,
            };
            let participant = app
                .register_participant(
                    &lead,
                    crate::common::participant_body((n * 10 + col) as u32 + 1000),
                )
                .await;
            let (programme, follow_up) = prepare(&app, &lead, &participant, case.needs).await;
            let (consent, note) =
                if case.template.contains("consents") || case.template.contains("notes") {
                    let consent = crate::consents::record_consent(
                        &app,
                        &lead,
                        &participant,
                        crate::consents::consent_body("contact_after_exit", "2026-02-01"),
                    )
                    .await;
                    let note =
                        crate::notes::write_note(&app, &lead, &participant, "Matrix note", "team")
                            .await;
                    (consent, note)
                } else {
                    (String::new(), String::new())
                };
            let (diagnosis, final_diagnosis) = if case.template.contains("diagnoses") {
                let kind = "general_survey";
                (
                    crate::diagnoses::record_diagnosis(&app, &lead, &participant, kind).await,
                    crate::diagnoses::record_final_diagnosis(&app, &lead, &participant, kind).await,
                )
            } else {
                (String::new(), String::new())
            };
            let about_plans = ["/plans", "/goals", "/actions"]
                .iter()
                .any(|p| case.template.contains(p));
            let plans = if about_plans {
                crate::diagnoses::record_final_diagnosis(
                    &app,
                    &lead,
                    &participant,
                    "general_survey",
                )
                .await;
                // The participant's own POST needs no plan yet (a second one would be refused).
                let post_new = case.method == Method::POST
                    && case.template == "/api/v1/participants/{id}/plans";
                (!post_new).then_some(())
            } else {
                None
            };
            let plans = match plans {
                Some(()) => {
                    Some(crate::plans::plans_of(&app, &lead, &participant, &programme).await)
                }
                None => None,
            };
            let session = if case.template.starts_with("/api/v1/sessions/{id}") {
                let body = crate::sessions::session_body(
                    "support_group",
                    "2026-03-02T09:00:00+01:00",
                    90,
                    &[&lead.id],
                    &[],
                );
                crate::sessions::plan(&app, &lead, body).await["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            } else {
                String::new()
            };
            let outcome = if case.template.starts_with("/api/v1/outcomes/{id}") {
                crate::outcomes::record_outcome(&app, &lead, &participant).await
            } else {
                String::new()
            };
            let fixture = Fixture {
                outcome,
                session,
                target_staff,
                risk_group,
                activity_type,
                participant,
                lead: lead.id.clone(),
                programme,
                follow_up,
                consent,
                note,
                diagnosis,
                final_diagnosis,
                active_plan: plans.as_ref().map(|p| p.active.clone()).unwrap_or_default(),
                draft_plan: plans.as_ref().map(|p| p.draft.clone()).unwrap_or_default(),
                goal: plans.as_ref().map(|p| p.goal.clone()).unwrap_or_default(),
                action: plans.as_ref().map(|p| p.action.clone()).unwrap_or_default(),
            };
            let mut req = TestRequest::default()
                .method(case.method.clone())
                .uri(&(case.path)(&fixture));
            if let Some(body) = case.body {
                let mut body = body(&fixture, n * 10 + col);
                // Signing out ends the caller's own session: the one body a fixture cannot know.
                if let (Some(user), "/api/v1/auth/logout") = (&caller, case.template) {
                    body = json!({"refresh_token": user.refresh_token});
                }
                req = req.set_json(body);
            }
            if case.if_match {
                req = req.insert_header(("if-match", "\"1\""));
            }
            let before = last_seq(&app);
            let res = match &caller {
                Some(user) => app.call_as(user, req).await,
                None => app.call(req).await,
            };
            // Every successful change leaves its event, by the caller, naming the participant.
            if let (Some(user), true) = (
                &caller,
                is_mutating(&case.method) && res.status.is_success(),
            ) {
                let method = case.method.to_string();
                match AUDITED
                    .iter()
                    .find(|(m, p, _, _)| *m == method && *p == case.template)
                {
                    None => {
                        failures.push(format!("{method} {}: no audit expectation", case.template))
                    }
                    Some((_, _, action, names_participant)) => {
                        let found = events_after(&app, before).into_iter().any(
                            |(a, actor, pid, outcome)| {
                                a == *action
                                    && actor.as_deref() == Some(user.id.as_str())
                                    && outcome == "allowed"
                                    && (!names_participant
                                        || pid.as_deref() == Some(fixture.participant.as_str()))
                            },
                        );
                        if !found {
                            failures.push(format!(
                                "{method} {} as {role:?}: no allowed {action} event by the caller{}",
                                case.template,
                                if *names_participant { " naming the participant" } else { "" }
                            ));
                        }
                    }
                }
            }
            let expected = case.expected[col];
            if res.status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {:?}: expected {expected}, got {} {}",
                    case.method,
                    case.template,
                    role,
                    res.status.as_u16(),
                    res.text()
                ));
            }
            if matches!(res.status.as_u16(), 401 | 403) {
                assert_eq!(res.header("content-type"), Some("application/problem+json"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // After every route as every role, the chain still verifies.
    let verified = reintegra::audit::verify(&mut app.conn(), None).unwrap();
    assert!(verified.ok, "{verified:?}");
}

#[actix_web::test]
async fn refusals_by_the_policy_are_audited_as_denied() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    app.call_as(
        &auditor,
        TestRequest::post()
            .uri("/api/v1/staff")
            .set_json(json!({"email": "x@club.test"})),
    )
    .await
    .problem(403, "forbidden");
    app.get("/api/v1/staff").await.problem(401, "unauthorized");
    let trail = app.audit_trail();
    assert!(
        trail.contains(&("staff.create".into(), "denied".into())),
        "{trail:?}"
    );
    assert!(
        trail.contains(&("auth.token_rejected".into(), "denied".into())),
        "{trail:?}"
    );
}
