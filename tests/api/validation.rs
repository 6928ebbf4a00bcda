//! The first 422 of every request body with two or more fields: one body carrying several
//! simultaneous shape and rule failures (wrong JSON type, unknown enum value, malformed or
//! impossible date, text too long or with control characters, a missing required field, a number
//! out of range, a date in the future where "not in the future" applies, a bad PESEL, phone,
//! postal code, e-mail or code) is answered with *every* failure at its own JSON Pointer, and
//! nothing is written. Rules that need stored data come later (a second 422) and are not asserted
//! here.
//!
//! Bodies that already have such a test elsewhere are not repeated: `POST /staff` (staff.rs),
//! `PUT /settings` (settings.rs), `POST /risk-groups` and `POST /activity-types`
//! (dictionaries.rs), `POST …/consents` and `POST /consents/{id}/withdraw` (consents.rs),
//! `POST …/notes` (notes.rs) and the general cases of `POST /participants` (participants.rs)
//! and `POST …/programmes` (programmes.rs).

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, TestApp, TestResponse, TestUser};

/// A date after the test clock's today (2026-03-02).
const FUTURE: &str = "2030-01-01";

/// The sorted `(pointer, code)` pairs of a first-step 422.
#[track_caller]
fn first_step_errors(res: &TestResponse) -> Vec<(String, String)> {
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    errors
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect();
    v.sort();
    v
}

async fn send(
    app: &TestApp,
    user: &TestUser,
    req: TestRequest,
    etag: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut req = req.set_json(body);
    if let Some(tag) = etag {
        req = req.insert_header(("if-match", tag.to_owned()));
    }
    app.call_as(user, req).await
}

/// Sends `body` (with `If-Match: etag` when given) and answers the sorted `(pointer, code)` pairs
/// of the first-step 422 it must get.
async fn first_step(
    app: &TestApp,
    user: &TestUser,
    req: TestRequest,
    etag: Option<&str>,
    body: Value,
) -> Vec<(String, String)> {
    first_step_errors(&send(app, user, req, etag, body).await)
}

fn rows(app: &TestApp, table: &str) -> i64 {
    count(
        &mut app.conn(),
        &format!("SELECT COUNT(*) AS n FROM {table}"),
    )
}

async fn get_json(app: &TestApp, user: &TestUser, path: &str) -> Value {
    let res = app.get_as(user, path).await;
    assert_eq!(res.status, 200, "GET {path}: {}", res.text());
    res.json()
}

// ------------------------------------------------------------------------------------------
// Authentication

/// `POST /auth/login` lists a wrong JSON type and an over-long password together, then an
/// over-long e-mail together with a missing password; no attempt reaches the throttle table or
/// the audit log.
#[actix_web::test]
async fn login_lists_every_field_error_before_any_attempt_is_counted() {
    let app = TestApp::spawn().await;
    let events = rows(&app, "audit_events");
    let failures = rows(&app, "login_failures");

    let res = app
        .call(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .set_json(json!({"email": 42, "password": "x".repeat(1025)})),
        )
        .await;
    assert_eq!(
        first_step_errors(&res),
        pairs(&[("/email", "type"), ("/password", "too_long")])
    );

    let long_email = format!("{}@club.test", "a".repeat(250));
    let res = app
        .call(
            TestRequest::post()
                .uri("/api/v1/auth/login")
                .set_json(json!({"email": long_email})),
        )
        .await;
    assert_eq!(
        first_step_errors(&res),
        pairs(&[("/email", "too_long"), ("/password", "required")])
    );

    assert_eq!(rows(&app, "login_failures"), failures);
    assert_eq!(rows(&app, "audit_events"), events);
}

fn change_password(body: Value) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/auth/password")
        .set_json(body)
}

/// `POST /auth/password` lists an over-long current password and a new password of the wrong
/// JSON type together; the password still works afterwards.
#[actix_web::test]
async fn password_change_lists_both_fields_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Counsellor]).await;
    let res = app
        .call_as(
            &user,
            change_password(json!({"current_password": "x".repeat(1025), "new_password": 5})),
        )
        .await;
    assert_eq!(
        first_step_errors(&res),
        pairs(&[("/current_password", "too_long"), ("/new_password", "type")])
    );
    let res = app
        .call_as(&user, change_password(json!({"new_password": ["a"]})))
        .await;
    assert_eq!(
        first_step_errors(&res),
        pairs(&[("/current_password", "required"), ("/new_password", "type")])
    );
    assert_eq!(app.login(&user.email, &user.password).await.status, 200);
}

/// The new password's length needs no stored data, so it belongs to the first 422 beside the
/// current password's wrong JSON type (as `initial_password` does in `POST /staff`).
#[actix_web::test]
async fn password_change_reports_a_short_new_password_in_the_first_422() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Counsellor]).await;
    let res = app
        .call_as(
            &user,
            change_password(json!({"current_password": 12345, "new_password": "short"})),
        )
        .await;
    assert_eq!(
        first_step_errors(&res),
        pairs(&[
            ("/current_password", "type"),
            ("/new_password", "too_short")
        ])
    );
    let res = app
        .call_as(
            &user,
            change_password(json!({"current_password": ["x"], "new_password": "y".repeat(1025)})),
        )
        .await;
    assert_eq!(
        first_step_errors(&res),
        pairs(&[("/current_password", "type"), ("/new_password", "too_long")])
    );
    assert_eq!(app.login(&user.email, &user.password).await.status, 200);
}

// ------------------------------------------------------------------------------------------
// Administration

/// `PATCH /staff/{id}` lists a bad e-mail, a name with a control character, an unknown role,
/// a non-boolean `active` and an impossible `active_until` at once; the account is unchanged.
#[actix_web::test]
async fn staff_patch_lists_every_field_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let (id, email) = app.create_staff(&[Role::Counsellor], false);
    let path = format!("/api/v1/staff/{id}");
    assert_eq!(
        first_step(
            &app,
            &admin,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({"email": "anna@club", "full_name": "Anna\u{0007}Nowak", "roles": ["boss"],
               "active": "yes", "active_until": "31.12.2026"}),
        )
        .await,
        pairs(&[
            ("/active", "type"),
            ("/active_until", "format"),
            ("/email", "email"),
            ("/full_name", "control_character"),
            ("/roles/0", "enum"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &admin,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({"email": format!("{}@club.test", "a".repeat(250)), "full_name": "x".repeat(101),
               "roles": "admin", "active": null, "active_until": "2026-02-30"}),
        )
        .await,
        pairs(&[
            ("/active", "required"),
            ("/active_until", "date"),
            ("/email", "too_long"),
            ("/full_name", "too_long"),
            ("/roles", "type"),
        ])
    );
    let account = get_json(&app, &admin, &path).await;
    assert_eq!(account["email"], email);
    assert_eq!(account["roles"], json!(["counsellor"]));
    assert_eq!(account["active"], true);
    assert_eq!(account["version"], 1);
}

/// `PATCH /risk-groups/{code}` lists a malformed code, over-long and control-character labels,
/// a number for `legal_basis`, a blank `evidence_hint` and a string for `statutory` at once;
/// the group is unchanged.
#[actix_web::test]
async fn risk_group_patch_lists_every_field_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let path = "/api/v1/risk-groups/long_term_unemployed";
    let before = get_json(&app, &admin, path).await;
    assert_eq!(
        first_step(
        &app,
        &admin,
        TestRequest::patch().uri(path),
        Some("\"1\""),
        json!({"code": "Long-Term", "label_en": "x".repeat(201), "label_pl": "bez\u{0001}robotni",
               "legal_basis": 5, "evidence_hint": " \n ", "statutory": "no", "active": true}),
    ).await,
        pairs(&[
            ("/code", "format"),
            ("/evidence_hint", "blank"),
            ("/label_en", "too_long"),
            ("/label_pl", "control_character"),
            ("/legal_basis", "type"),
            ("/statutory", "type"),
        ])
    );
    assert_eq!(get_json(&app, &admin, path).await, before);
}

/// `PATCH /activity-types/{code}` lists a malformed code, a blank and an over-long label, an
/// unknown area, a number for `category` and a string for `active` at once; the type is
/// unchanged.
#[actix_web::test]
async fn activity_type_patch_lists_every_field_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let path = "/api/v1/activity-types/support_group";
    let before = get_json(&app, &manager, path).await;
    assert_eq!(
        first_step(
            &app,
            &manager,
            TestRequest::patch().uri(path),
            Some("\"1\""),
            json!({"code": "s", "label_en": "", "label_pl": "y".repeat(201), "area": "medical",
               "category": 4, "active": "yes"}),
        )
        .await,
        pairs(&[
            ("/active", "type"),
            ("/area", "enum"),
            ("/category", "type"),
            ("/code", "format"),
            ("/label_en", "blank"),
            ("/label_pl", "too_long"),
        ])
    );
    assert_eq!(get_json(&app, &manager, path).await, before);
}

/// A dictionary PATCH may clear only `legal_basis` and `evidence_hint`; `null` for a label (or
/// `area`, `category`, `active`, `statutory`) cannot clear it and, like `PATCH /staff` and
/// `PATCH /participants` (`forbid_null`), is reported as `required` beside the other errors
/// instead of being read as "leave unchanged".
#[actix_web::test]
async fn dictionary_patch_reports_null_for_a_field_that_cannot_be_cleared() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    assert_eq!(
        first_step(
            &app,
            &admin,
            TestRequest::patch().uri("/api/v1/risk-groups/long_term_unemployed"),
            Some("\"1\""),
            json!({"label_en": null, "label_pl": "x".repeat(201), "active": null}),
        )
        .await,
        pairs(&[
            ("/active", "required"),
            ("/label_en", "required"),
            ("/label_pl", "too_long"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &admin,
            TestRequest::patch().uri("/api/v1/activity-types/support_group"),
            Some("\"1\""),
            json!({"label_en": null, "area": null, "category": "dance"}),
        )
        .await,
        pairs(&[
            ("/area", "required"),
            ("/category", "enum"),
            ("/label_en", "required"),
        ])
    );
}

// ------------------------------------------------------------------------------------------
// Participants

/// `POST /participants`: every "not in the future" date of a registration is judged in the
/// first 422, however deep it sits — the referral date, a risk group's evidence date and (without
/// a PESEL) the birth date are all listed together; nobody is registered.
#[actix_web::test]
async fn registration_lists_every_future_date_at_once() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(1);
    body.as_object_mut().unwrap().remove("pesel");
    body["id_document"] =
        json!({"kind": "passport", "number": "FX123456", "issuing_country": "UA"});
    body["sex"] = json!("female");
    body["birth_date"] = json!(FUTURE);
    body["referral"]["referred_on"] = json!(FUTURE);
    body["risk_groups"][0]["evidence_date"] = json!(FUTURE);
    assert_eq!(
        first_step(
            &app,
            &worker,
            TestRequest::post().uri("/api/v1/participants"),
            None,
            body,
        )
        .await,
        pairs(&[
            ("/birth_date", "future"),
            ("/referral/referred_on", "future"),
            ("/risk_groups/0/evidence_date", "future"),
        ])
    );
    assert_eq!(rows(&app, "participants"), 0);
    assert_eq!(rows(&app, "referrals"), 0);
}

/// `POST /participants`: future dates are listed together with shape errors elsewhere in the
/// body, and bad items of the `risk_groups` and `care_team` arrays are reported at the index the
/// client sent (`[valid, "x", {bad}]` → `/1` and `/2/…`).
#[actix_web::test]
async fn registration_lists_future_dates_with_bad_array_items_at_their_own_index() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Counsellor]).await;
    let mut body = participant_body(2);
    body["pesel"] = json!("1234567890");
    body["phone"] = json!("+48 600");
    body["address"]["postal_code"] = json!(95_000);
    body["referral"]["referred_on"] = json!(FUTURE);
    body["risk_groups"] = json!([
        {"code": "long_term_unemployed", "evidence": "PUP certificate"},
        "homeless",
        {"code": "homeless", "evidence": "a\u{0007}b", "evidence_date": FUTURE},
        {"code": "x".repeat(51), "evidence": "ok", "evidence_date": "2026-02-30"}
    ]);
    body["care_team"] = json!([{"staff_id": worker.id}, 7, {"staff_id": "nobody", "lead": "yes"}]);
    assert_eq!(
        first_step(
            &app,
            &worker,
            TestRequest::post().uri("/api/v1/participants"),
            None,
            body,
        )
        .await,
        pairs(&[
            ("/address/postal_code", "type"),
            ("/care_team/1", "type"),
            ("/care_team/2/lead", "type"),
            ("/care_team/2/staff_id", "type"),
            ("/pesel", "format"),
            ("/phone", "format"),
            ("/referral/referred_on", "future"),
            ("/risk_groups/1", "type"),
            ("/risk_groups/2/evidence", "control_character"),
            ("/risk_groups/2/evidence_date", "future"),
            ("/risk_groups/3/code", "too_long"),
            ("/risk_groups/3/evidence_date", "date"),
        ])
    );
    assert_eq!(rows(&app, "participants"), 0);
}

/// `PATCH /participants/{id}` lists shape errors, format errors, nested object errors and a
/// future birth date together; the record is unchanged.
#[actix_web::test]
async fn participant_patch_lists_every_field_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let id = app.register_participant(&worker, participant_body(3)).await;
    let path = format!("/api/v1/participants/{id}");
    let before = get_json(&app, &worker, &path).await;
    assert_eq!(
        first_step(
            &app,
            &worker,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({
                "first_name": 7,
                "last_name": "x".repeat(101),
                "pesel": "123",
                "id_document": {"kind": "visa", "number": "FX1", "issuing_country": "ua"},
                "birth_date": FUTURE,
                "sex": "other",
                "phone": "600100200",
                "email": "anna@",
                "address": {"postal_code": "1234", "city": "Łódź\u{0007}"},
                "education_level": "phd",
                "labour_status_at_entry": 3,
                "disability": "no",
                "legal_representative": {"relation": "mother", "phone": "+48 1"}
            }),
        )
        .await,
        pairs(&[
            ("/address/city", "control_character"),
            ("/address/postal_code", "format"),
            ("/birth_date", "future"),
            ("/disability", "type"),
            ("/education_level", "enum"),
            ("/email", "email"),
            ("/first_name", "type"),
            ("/id_document/issuing_country", "format"),
            ("/id_document/kind", "enum"),
            ("/labour_status_at_entry", "type"),
            ("/last_name", "too_long"),
            ("/legal_representative/full_name", "required"),
            ("/legal_representative/phone", "format"),
            ("/pesel", "format"),
            ("/phone", "format"),
            ("/sex", "enum"),
        ])
    );
    assert_eq!(get_json(&app, &worker, &path).await, before);
}

/// `PUT /participants/{id}/risk-groups`: bad items are reported at the index the client sent,
/// an item of the wrong JSON type at its own index (`[valid, "x", {bad}, {bad}]` → `/1`,
/// `/2/…`, `/3/…`); the participant's groups and version are unchanged.
#[actix_web::test]
async fn risk_group_list_reports_bad_items_at_their_own_index() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::Counsellor]).await;
    let id = app.register_participant(&worker, participant_body(4)).await;
    assert_eq!(
        first_step(
        &app,
        &worker,
        TestRequest::put().uri(&format!("/api/v1/participants/{id}/risk-groups")),
        Some("\"1\""),
        json!([
            {"code": "long_term_unemployed", "evidence": "PUP certificate", "evidence_date": "2026-02-10"},
            "x",
            {"code": 5, "evidence": "a\u{0007}b", "evidence_date": FUTURE},
            {"code": "y".repeat(51), "evidence_date": "10.02.2026"}
        ]),
    ).await,
        pairs(&[
            ("/1", "type"),
            ("/2/code", "type"),
            ("/2/evidence", "control_character"),
            ("/2/evidence_date", "future"),
            ("/3/code", "too_long"),
            ("/3/evidence", "required"),
            ("/3/evidence_date", "format"),
        ])
    );
    let p = get_json(&app, &worker, &format!("/api/v1/participants/{id}")).await;
    assert_eq!(p["version"], 1);
    assert_eq!(
        p["risk_groups"],
        json!([{"code": "long_term_unemployed", "evidence": "PUP certificate 12/2026", "evidence_date": "2026-02-10"}])
    );
}

/// `PUT /participants/{id}/care-team`: bad items are reported at the index the client sent
/// (`[valid, "x", {bad}, {missing}, 7]`); the team is unchanged.
#[actix_web::test]
async fn care_team_list_reports_bad_items_at_their_own_index() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Psychologist]).await;
    let id = app.register_participant(&lead, participant_body(5)).await;
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::put().uri(&format!("/api/v1/participants/{id}/care-team")),
            Some("\"1\""),
            json!([
                {"staff_id": lead.id, "lead": true},
                "x",
                {"staff_id": "nobody", "lead": "yes"},
                {"lead": false},
                7
            ]),
        )
        .await,
        pairs(&[
            ("/1", "type"),
            ("/2/lead", "type"),
            ("/2/staff_id", "type"),
            ("/3/staff_id", "required"),
            ("/4", "type"),
        ])
    );
    let team = get_json(&app, &lead, &format!("/api/v1/participants/{id}/care-team")).await;
    assert_eq!(team["total"], 1);
    assert_eq!(team["items"][0]["staff_id"], lead.id);
    assert_eq!(rows(&app, "care_team_members"), 1);
}

fn qualification(id: &str) -> TestRequest {
    TestRequest::post().uri(&format!("/api/v1/participants/{id}/qualification"))
}

/// `POST /participants/{id}/qualification` lists an unknown decision, a future decision date and
/// an over-long reason at once; with every type right, a rejection without a reason is listed
/// beside the future date. The participant stays `referred`.
#[actix_web::test]
async fn qualification_lists_every_field_error_and_decides_nothing() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let id = app.register_participant(&lead, participant_body(6)).await;
    assert_eq!(
        first_step(
            &app,
            &lead,
            qualification(&id),
            None,
            json!({"decision": "maybe", "decided_on": FUTURE, "reason": "x".repeat(20_001)}),
        )
        .await,
        pairs(&[
            ("/decided_on", "future"),
            ("/decision", "enum"),
            ("/reason", "too_long"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &lead,
            qualification(&id),
            None,
            json!({"decision": "rejected", "decided_on": FUTURE}),
        )
        .await,
        pairs(&[("/decided_on", "future"), ("/reason", "required")])
    );
    assert_eq!(
        first_step(
            &app,
            &lead,
            qualification(&id),
            None,
            json!({"decision": true, "decided_on": "2026-02-29", "reason": "a\u{0000}"}),
        )
        .await,
        pairs(&[
            ("/decided_on", "date"),
            ("/decision", "type"),
            ("/reason", "control_character"),
        ])
    );
    let p = get_json(&app, &lead, &format!("/api/v1/participants/{id}")).await;
    assert_eq!(p["status"], "referred");
    assert_eq!(rows(&app, "qualifications"), 0);
}

/// `POST /participants/{id}/referrals` lists an unknown source, a reference with a control
/// character and a future referral date at once (before the status is even considered); no
/// referral is recorded.
#[actix_web::test]
async fn re_referral_lists_every_field_error_and_records_nothing() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = app.register_participant(&lead, participant_body(7)).await;
    let referrals = rows(&app, "referrals");
    let path = format!("/api/v1/participants/{id}/referrals");
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::post().uri(&path),
            None,
            json!({"source": "police", "reference": "OPS\u{0007}1", "referred_on": FUTURE}),
        )
        .await,
        pairs(&[
            ("/reference", "control_character"),
            ("/referred_on", "future"),
            ("/source", "enum"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::post().uri(&path),
            None,
            json!({"reference": "x".repeat(201), "referred_on": 20260301}),
        )
        .await,
        pairs(&[
            ("/reference", "too_long"),
            ("/referred_on", "type"),
            ("/source", "required"),
        ])
    );
    assert_eq!(rows(&app, "referrals"), referrals);
    let p = get_json(&app, &lead, &format!("/api/v1/participants/{id}")).await;
    assert_eq!(p["referral"]["referred_on"], "2026-02-20");
    assert_eq!(p["version"], 1);
}

// ------------------------------------------------------------------------------------------
// Programmes and follow-ups

/// A participant registered and qualified by `lead`, with a programme started today
/// (2026-03-02); answers (participant id, programme id).
async fn in_programme(app: &TestApp, lead: &TestUser, n: u32) -> (String, String) {
    let id = app.register_participant(lead, participant_body(n)).await;
    app.qualify(lead, &id).await;
    let res = send(
        app,
        lead,
        TestRequest::post().uri(&format!("/api/v1/participants/{id}/programmes")),
        None,
        json!({"start_date": "2026-03-02", "basis": "kontrakt_socjalny"}),
    )
    .await;
    assert_eq!(res.status, 201, "start: {}", res.text());
    let programme = res.json()["id"].as_str().unwrap().to_owned();
    (id, programme)
}

/// `POST /participants/{id}/programmes`: `planned_months` must lie in 1–36 whatever the unit
/// (api.md §13.4) — a range rule that needs no stored data, so it belongs to the first 422 beside
/// the other field errors (only the CIS cap of 24 months needs the settings).
#[actix_web::test]
async fn programme_start_reports_planned_months_out_of_range_in_the_first_422() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let id = app.register_participant(&lead, participant_body(8)).await;
    app.qualify(&lead, &id).await;
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::post().uri(&format!("/api/v1/participants/{id}/programmes")),
            None,
            json!({"start_date": FUTURE, "planned_months": 99, "basis": "contract",
               "basis_reference": "KS\u{0007}1"}),
        )
        .await,
        pairs(&[
            ("/basis", "enum"),
            ("/basis_reference", "control_character"),
            ("/planned_months", "range"),
            ("/start_date", "future"),
        ])
    );
    assert_eq!(rows(&app, "programmes"), 0);
}

/// `PATCH /programmes/{id}` (an extension) lists an impossible date with a control character in
/// the reason, then a wrong JSON type with an over-long reason; the programme is unchanged.
#[actix_web::test]
async fn extension_lists_every_field_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let (_, programme) = in_programme(&app, &lead, 9).await;
    let path = format!("/api/v1/programmes/{programme}");
    let before = get_json(&app, &lead, &path).await;
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({"planned_end_date": "2027-02-29", "extension_reason": "more\u{0007}time"}),
        )
        .await,
        pairs(&[
            ("/extension_reason", "control_character"),
            ("/planned_end_date", "date"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({"planned_end_date": 20270601, "extension_reason": "x".repeat(20_001)}),
        )
        .await,
        pairs(&[
            ("/extension_reason", "too_long"),
            ("/planned_end_date", "type"),
        ])
    );
    assert_eq!(get_json(&app, &lead, &path).await, before);
}

/// `POST /programmes/{id}/exit` lists a future exit date, a wrong JSON type for the reason and an
/// over-long note at once; the programme stays open and no follow-up is scheduled.
#[actix_web::test]
async fn exit_lists_every_field_error_and_closes_nothing() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::SocialWorker]).await;
    let (id, programme) = in_programme(&app, &lead, 10).await;
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::post().uri(&format!("/api/v1/programmes/{programme}/exit")),
            None,
            json!({"exit_date": FUTURE, "exit_reason": 3, "exit_note": "x".repeat(20_001)}),
        )
        .await,
        pairs(&[
            ("/exit_date", "future"),
            ("/exit_note", "too_long"),
            ("/exit_reason", "type"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::post().uri(&format!("/api/v1/programmes/{programme}/exit")),
            None,
            json!({"exit_date": FUTURE, "exit_reason": "other", "exit_note": "a\u{0001}"}),
        )
        .await,
        pairs(&[
            ("/exit_date", "future"),
            ("/exit_note", "control_character"),
        ])
    );
    let p = get_json(&app, &lead, &format!("/api/v1/programmes/{programme}")).await;
    assert_eq!(p["status"], "open");
    assert_eq!(rows(&app, "follow_ups"), 0);
    let participant = get_json(&app, &lead, &format!("/api/v1/participants/{id}")).await;
    assert_eq!(participant["status"], "in_programme");
}

/// `PATCH /follow-ups/{id}` lists a future contact date, a wrong JSON type for the result and a
/// note with a control character at once; the follow-up stays due.
#[actix_web::test]
async fn follow_up_contact_lists_every_field_error_and_records_nothing() {
    let app = TestApp::spawn().await;
    let lead = app.user(&[Role::Counsellor]).await;
    let (id, programme) = in_programme(&app, &lead, 11).await;
    let res = send(
        &app,
        &lead,
        TestRequest::post().uri(&format!("/api/v1/programmes/{programme}/exit")),
        None,
        json!({"exit_date": "2026-03-02", "exit_reason": "completed"}),
    )
    .await;
    assert_eq!(res.status, 200, "exit: {}", res.text());
    let list_path = format!("/api/v1/participants/{id}/follow-ups");
    let before = get_json(&app, &lead, &list_path).await;
    let follow_up = before["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/follow-ups/{follow_up}");

    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({"contacted_on": FUTURE, "result": true, "note": "a\u{0000}b"}),
        )
        .await,
        pairs(&[
            ("/contacted_on", "future"),
            ("/note", "control_character"),
            ("/result", "type"),
        ])
    );
    assert_eq!(
        first_step(
            &app,
            &lead,
            TestRequest::patch().uri(&path),
            Some("\"1\""),
            json!({"contacted_on": "2026-3-5", "note": "x".repeat(20_001)}),
        )
        .await,
        pairs(&[
            ("/contacted_on", "format"),
            ("/note", "too_long"),
            ("/result", "required"),
        ])
    );
    let after = get_json(&app, &lead, &list_path).await;
    assert_eq!(after, before);
    assert_eq!(after["items"][0]["status"], "due");
}

/// A rule that fires on an absent field does not fire on a field that was sent with the wrong
/// JSON type: a PESEL sent as a number is wrong, not missing, so no "`id_document` is required
/// when there is no PESEL"; and a rule across fields still runs beside a malformed date.
#[actix_web::test]
async fn rules_across_fields_tell_a_wrong_value_from_a_missing_one() {
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(51);
    body["pesel"] = json!(80010112357_i64);
    assert_eq!(
        first_step(
            &app,
            &worker,
            TestRequest::post().uri("/api/v1/participants"),
            None,
            body,
        )
        .await,
        pairs(&[("/pesel", "type")])
    );

    let id = app
        .register_participant(&worker, participant_body(52))
        .await;
    assert_eq!(
        first_step(
            &app,
            &worker,
            qualification(&id),
            None,
            json!({"decision": "rejected", "decided_on": "2026-02-31"}),
        )
        .await,
        pairs(&[("/decided_on", "date"), ("/reason", "required")])
    );

    assert_eq!(
        first_step(
            &app,
            &worker,
            TestRequest::post().uri(&format!("/api/v1/participants/{id}/notes")),
            None,
            json!({"body": "Rozmowa", "corrects_note_id": "not-a-note"}),
        )
        .await,
        pairs(&[("/corrects_note_id", "type")])
    );
}

/// A PESEL whose century digits put the birth date after today (a typo in the month digits) is
/// refused like a future birth date.
#[actix_web::test]
async fn a_pesel_encoding_a_future_birth_date_is_refused() {
    use reintegra::participants::pesel::{Pesel, Sex};
    let app = TestApp::spawn().await;
    let worker = app.user(&[Role::SocialWorker]).await;
    let mut body = participant_body(53);
    let born = chrono::NaiveDate::from_ymd_opt(2150, 1, 1).unwrap();
    body["pesel"] = json!(Pesel::generate(born, 7, Sex::Male).unwrap().as_str());
    assert_eq!(
        first_step(
            &app,
            &worker,
            TestRequest::post().uri("/api/v1/participants"),
            None,
            body,
        )
        .await,
        pairs(&[("/pesel", "future")])
    );
    assert_eq!(rows(&app, "participants"), 0);
}
