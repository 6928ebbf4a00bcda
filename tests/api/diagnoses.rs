//! Diagnoses (api.md §6, §13.3, §13.5): who writes each kind, the Holland profile, dates,
//! professional secrecy for psychological and psychometric findings, the draft → final →
//! amended lifecycle, and the audit of every read.

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{count, participant_body, TestApp, TestResponse, TestUser};

/// Every kind with the roles that write it (api.md §6).
const WRITERS: [(&str, &[Role]); 7] = [
    (
        "general_survey",
        &[Role::Psychologist, Role::SocialWorker, Role::Counsellor],
    ),
    (
        "interests_questionnaire",
        &[Role::Counsellor, Role::Psychologist],
    ),
    ("psychometric", &[Role::Psychologist]),
    ("psychological", &[Role::Psychologist]),
    ("social", &[Role::SocialWorker]),
    ("vocational", &[Role::Counsellor]),
    ("holland", &[Role::Counsellor, Role::Psychologist]),
];

/// Scores whose code is RSE, with S and E tied inside the top three.
fn tied_scores() -> Value {
    json!({"R": 34, "I": 12, "A": 9, "S": 22, "E": 22, "C": 18})
}

/// A complete, valid body for a diagnosis of `kind` performed after the referral (2026-02-20).
pub fn diagnosis_body(kind: &str) -> Value {
    let mut body = json!({
        "kind": kind,
        "performed_on": "2026-02-25",
        "instrument": "Instrument v2",
        "summary": format!("Summary of the {kind} diagnosis"),
        "findings": format!("Findings of the {kind} diagnosis"),
        "recommendations": format!("Recommendations after the {kind} diagnosis"),
    });
    if kind == "holland" {
        body["scores"] = tied_scores();
    }
    body
}

fn post_diagnosis(participant: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/api/v1/participants/{participant}/diagnoses"))
        .set_json(body)
}

fn with_if_match(req: TestRequest, etag: Option<&str>) -> TestRequest {
    match etag {
        Some(tag) => req.insert_header(("if-match", tag.to_owned())),
        None => req,
    }
}

fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// Records a diagnosis of `kind` as `user` through the API; answers it as created.
pub async fn write_diagnosis(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    kind: &str,
) -> Value {
    let res = app
        .call_as(user, post_diagnosis(participant, diagnosis_body(kind)))
        .await;
    assert_eq!(res.status, 201, "write {kind}: {}", res.text());
    res.json()
}

/// Records a draft of `kind` as `user`; answers its id.
pub async fn record_diagnosis(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    kind: &str,
) -> String {
    str_of(&write_diagnosis(app, user, participant, kind).await["id"])
}

async fn patch(
    app: &TestApp,
    user: &TestUser,
    id: &str,
    etag: Option<&str>,
    body: Value,
) -> TestResponse {
    let req = TestRequest::patch()
        .uri(&format!("/api/v1/diagnoses/{id}"))
        .set_json(body);
    app.call_as(user, with_if_match(req, etag)).await
}

pub async fn finalize(
    app: &TestApp,
    user: &TestUser,
    id: &str,
    etag: Option<&str>,
) -> TestResponse {
    let req = TestRequest::post().uri(&format!("/api/v1/diagnoses/{id}/finalize"));
    app.call_as(user, with_if_match(req, etag)).await
}

/// Records a diagnosis of `kind` as `user` and finalizes it; answers its id.
pub async fn record_final_diagnosis(
    app: &TestApp,
    user: &TestUser,
    participant: &str,
    kind: &str,
) -> String {
    let id = record_diagnosis(app, user, participant, kind).await;
    let res = finalize(app, user, &id, None).await;
    assert_eq!(res.status, 200, "finalize: {}", res.text());
    id
}

async fn amend(app: &TestApp, user: &TestUser, id: &str, body: Value) -> TestResponse {
    app.call_as(
        user,
        TestRequest::post()
            .uri(&format!("/api/v1/diagnoses/{id}/amendments"))
            .set_json(body),
    )
    .await
}

/// `GET /diagnoses/{id}` as `user`, expecting 200.
async fn read(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let res = app.get_as(user, &format!("/api/v1/diagnoses/{id}")).await;
    assert_eq!(res.status, 200, "read {id}: {}", res.text());
    res.json()
}

/// `GET /participants/{id}/diagnoses` as `user`, expecting 200.
async fn list(app: &TestApp, user: &TestUser, participant: &str) -> Value {
    let res = app
        .get_as(
            user,
            &format!("/api/v1/participants/{participant}/diagnoses"),
        )
        .await;
    assert_eq!(res.status, 200, "list: {}", res.text());
    res.json()
}

/// The `(field, code)` pairs of a 422, sorted.
#[track_caller]
fn invalid_fields(res: &TestResponse) -> Vec<(String, String)> {
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    errors
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect()
}

/// The `code` of a 409 problem.
#[track_caller]
fn conflict_code(res: &TestResponse) -> String {
    str_of(&res.problem(409, "conflict")["code"])
}

/// A participant (referred 2026-02-20) whose care team is a psychologist (lead), a social worker
/// and a counsellor.
struct Team {
    psychologist: TestUser,
    worker: TestUser,
    counsellor: TestUser,
    participant: String,
}

impl Team {
    async fn new(app: &TestApp, n: u32) -> Team {
        let psychologist = app.user(&[Role::Psychologist]).await;
        let worker = app.user(&[Role::SocialWorker]).await;
        let counsellor = app.user(&[Role::Counsellor]).await;
        let mut body = participant_body(n);
        body["care_team"] = json!([
            {"staff_id": psychologist.id, "lead": true},
            {"staff_id": worker.id, "lead": false},
            {"staff_id": counsellor.id, "lead": false}
        ]);
        let participant = app.register_participant(&psychologist, body).await;
        Team {
            psychologist,
            worker,
            counsellor,
            participant,
        }
    }

    fn member(&self, role: Role) -> &TestUser {
        match role {
            Role::Psychologist => &self.psychologist,
            Role::SocialWorker => &self.worker,
            Role::Counsellor => &self.counsellor,
            other => panic!("{other:?} is not on the test team"),
        }
    }
}

/// Audit rows of `action`: `(actor_id, entity_id, participant_id)`, in order.
fn audited(app: &TestApp, action_name: &str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use reintegra::db::schema::audit_events::dsl::*;
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> = audit_events
        .filter(action.eq(action_name))
        .order(seq.asc())
        .select((actor_id, entity_id, participant_id))
        .load(&mut app.conn())
        .expect("read audit events");
    rows.into_iter()
        .map(|(a, e, p)| {
            (
                a.unwrap_or_default(),
                e.unwrap_or_default(),
                p.unwrap_or_default(),
            )
        })
        .collect()
}

/// Audit rows of `action` by `user`: `(entity_id, participant_id)`.
fn audited_for(app: &TestApp, action_name: &str, user: &TestUser) -> Vec<(String, String)> {
    audited(app, action_name)
        .into_iter()
        .filter(|(actor, _, _)| *actor == user.id)
        .map(|(_, entity, participant)| (entity, participant))
        .collect()
}

// ------------------------------------------------------------------------------------------
// Who writes

#[actix_web::test]
async fn each_kind_is_written_by_its_roles_on_the_care_team_and_refused_to_the_others() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 1).await;
    let mut written = 0;
    for (kind, writers) in WRITERS {
        for role in [Role::Psychologist, Role::SocialWorker, Role::Counsellor] {
            let res = app
                .call_as(
                    team.member(role),
                    post_diagnosis(&team.participant, diagnosis_body(kind)),
                )
                .await;
            if !writers.contains(&role) {
                res.problem(403, "forbidden");
                continue;
            }
            assert_eq!(res.status, 201, "{kind} by {role:?}: {}", res.text());
            written += 1;
            let d = res.json();
            let id = str_of(&d["id"]);
            assert_eq!(
                res.header("location"),
                Some(format!("/api/v1/diagnoses/{id}").as_str())
            );
            assert_eq!(res.header("etag"), Some("\"1\""));
            assert_eq!(d["kind"], kind);
            assert_eq!(d["status"], "draft");
            assert_eq!(d["version"], 1);
            assert_eq!(d["author_id"], team.member(role).id);
            assert_eq!(d["author_role"], role.as_str());
            assert_eq!(d["participant_id"], team.participant);
            assert_eq!(d["restricted"], false, "the writer reads what they wrote");
            assert_eq!(d["findings"], format!("Findings of the {kind} diagnosis"));
        }
    }
    assert_eq!(written, 11);
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM diagnoses"),
        11
    );
    assert_eq!(audited(&app, "diagnosis.create").len(), 11);
    let denied = app
        .audit_trail()
        .into_iter()
        .filter(|t| *t == ("diagnosis.write".to_string(), "denied".to_string()))
        .count();
    assert_eq!(denied, 21 - 11, "every refused kind is audited as denied");
}

#[actix_web::test]
async fn managers_auditors_and_admins_never_write_diagnoses_whatever_the_id() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 2).await;
    let draft = record_diagnosis(&app, &team.worker, &team.participant, "general_survey").await;
    let ghost = uuid::Uuid::new_v4().to_string();
    for role in [Role::Manager, Role::Auditor, Role::Admin] {
        let user = app.user(&[role]).await;
        for participant in [&team.participant, &ghost] {
            app.call_as(
                &user,
                post_diagnosis(participant, diagnosis_body("general_survey")),
            )
            .await
            .problem(403, "forbidden");
        }
        for id in [&draft, &ghost] {
            patch(&app, &user, id, Some("\"1\""), json!({"summary": "x"}))
                .await
                .problem(403, "forbidden");
            finalize(&app, &user, id, None)
                .await
                .problem(403, "forbidden");
            amend(&app, &user, id, json!({"reason": "r", "text": "t"}))
                .await
                .problem(403, "forbidden");
        }
    }
    assert_eq!(read(&app, &team.worker, &draft).await["status"], "draft");
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM diagnoses"),
        1
    );
}

#[actix_web::test]
async fn a_clinician_off_the_care_team_gets_404_for_another_teams_participant() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 3).await;
    let draft = record_diagnosis(&app, &team.psychologist, &team.participant, "holland").await;
    let outsider = app.user(&[Role::Psychologist]).await;
    let p = &team.participant;
    app.call_as(&outsider, post_diagnosis(p, diagnosis_body("holland")))
        .await
        .problem(404, "not-found");
    app.get_as(&outsider, &format!("/api/v1/participants/{p}/diagnoses"))
        .await
        .problem(404, "not-found");
    app.get_as(&outsider, &format!("/api/v1/diagnoses/{draft}"))
        .await
        .problem(404, "not-found");
    patch(
        &app,
        &outsider,
        &draft,
        Some("\"1\""),
        json!({"summary": "x"}),
    )
    .await
    .problem(404, "not-found");
    finalize(&app, &outsider, &draft, None)
        .await
        .problem(404, "not-found");
    // A team member asking for a diagnosis that does not exist gets 404 too.
    let ghost = uuid::Uuid::new_v4();
    app.get_as(&team.psychologist, &format!("/api/v1/diagnoses/{ghost}"))
        .await
        .problem(404, "not-found");
    let trail = app.audit_trail();
    for action in ["diagnosis.read", "diagnosis.write"] {
        assert!(
            trail.contains(&(action.to_string(), "denied".to_string())),
            "{action}: {trail:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Holland and validation

#[actix_web::test]
async fn the_server_computes_the_holland_code_its_tie_and_alternatives() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 4).await;
    let d = write_diagnosis(&app, &team.counsellor, &team.participant, "holland").await;
    assert_eq!(d["scores"], tied_scores());
    assert_eq!(d["holland_code"], "RSE");
    assert_eq!(d["holland_tie"], true);
    assert_eq!(d["holland_alternatives"], json!(["RES"]));
    assert_eq!(
        d["holland_ranking"],
        json!([
            {"letter": "R", "score": 34, "rank": 1},
            {"letter": "S", "score": 22, "rank": 2},
            {"letter": "E", "score": 22, "rank": 3},
            {"letter": "C", "score": 18, "rank": 4},
            {"letter": "I", "score": 12, "rank": 5},
            {"letter": "A", "score": 9, "rank": 6}
        ])
    );
    let id = str_of(&d["id"]);
    assert_eq!(read(&app, &team.worker, &id).await["holland_code"], "RSE");

    // New scores recompute the profile; six equal scores allow every other ordering (119).
    let equal = json!({"R": 10, "I": 10, "A": 10, "S": 10, "E": 10, "C": 10});
    let res = patch(
        &app,
        &team.counsellor,
        &id,
        Some("\"1\""),
        json!({"scores": equal}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let d = res.json();
    assert_eq!(d["holland_code"], "RIA");
    assert_eq!(d["holland_tie"], true);
    let alternatives = d["holland_alternatives"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(alternatives.len(), 119);
    assert_eq!(alternatives.first(), Some(&json!("RIS")));
    assert_eq!(alternatives.last(), Some(&json!("CES")));

    // No tie: no alternatives.
    let distinct = json!({"R": 1, "I": 2, "A": 3, "S": 4, "E": 5, "C": 6});
    let res = patch(
        &app,
        &team.counsellor,
        &id,
        Some("\"2\""),
        json!({"scores": distinct}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let d = res.json();
    assert_eq!(
        (
            &d["holland_code"],
            &d["holland_tie"],
            &d["holland_alternatives"]
        ),
        (&json!("CES"), &json!(false), &json!([]))
    );
}

#[actix_web::test]
async fn holland_scores_are_checked_letter_by_letter_and_belong_to_holland_only() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 5).await;
    let post =
        |body: Value| app.call_as(&team.psychologist, post_diagnosis(&team.participant, body));
    let with_scores = |kind: &str, scores: Value| {
        let mut body = diagnosis_body(kind);
        body["scores"] = scores;
        body
    };

    let res = post(with_scores(
        "holland",
        json!({"R": 12, "I": 101, "A": 3.5, "S": -1, "E": "9"}),
    ))
    .await;
    assert_eq!(
        invalid_fields(&res),
        pairs(&[
            ("/scores/A", "type"),
            ("/scores/C", "required"),
            ("/scores/E", "type"),
            ("/scores/I", "range"),
            ("/scores/S", "range"),
        ])
    );
    let res = post(with_scores("holland", json!({}))).await;
    assert_eq!(
        invalid_fields(&res),
        pairs(&[
            ("/scores/A", "required"),
            ("/scores/C", "required"),
            ("/scores/E", "required"),
            ("/scores/I", "required"),
            ("/scores/R", "required"),
            ("/scores/S", "required"),
        ])
    );
    let res = post(with_scores("psychometric", tied_scores())).await;
    assert_eq!(invalid_fields(&res), pairs(&[("/scores", "not_allowed")]));
    let mut no_scores = diagnosis_body("holland");
    if let Some(fields) = no_scores.as_object_mut() {
        fields.remove("scores");
    }
    let res = post(no_scores).await;
    assert_eq!(invalid_fields(&res), pairs(&[("/scores", "required")]));
    // The bounds themselves are scores.
    let res = post(with_scores(
        "holland",
        json!({"R": 0, "I": 100, "A": 0, "S": 100, "E": 0, "C": 100}),
    ))
    .await;
    assert_eq!(res.status, 201, "{}", res.text());

    // Every failing field in one 422.
    let res = post(json!({"kind": "astrology", "performed_on": "yesterday"})).await;
    assert_eq!(
        invalid_fields(&res),
        pairs(&[
            ("/kind", "enum"),
            ("/performed_on", "format"),
            ("/summary", "required")
        ])
    );
    let mut too_long = diagnosis_body("psychometric");
    too_long["instrument"] = json!("i".repeat(201));
    too_long["findings"] = json!("f".repeat(20_001));
    too_long["summary"] = json!("  ");
    assert_eq!(
        invalid_fields(&post(too_long).await),
        pairs(&[
            ("/findings", "too_long"),
            ("/instrument", "too_long"),
            ("/summary", "blank")
        ])
    );

    // A draft's scores follow the same rules.
    let id = record_diagnosis(&app, &team.worker, &team.participant, "social").await;
    let res = patch(
        &app,
        &team.worker,
        &id,
        Some("\"1\""),
        json!({"scores": tied_scores()}),
    )
    .await;
    assert_eq!(invalid_fields(&res), pairs(&[("/scores", "not_allowed")]));
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM diagnoses"),
        2,
        "only the valid Holland and social diagnoses were recorded"
    );
}

/// The id of a 201 answer.
#[track_caller]
fn res_id(res: TestResponse) -> Value {
    assert_eq!(res.status, 201, "{}", res.text());
    res.json()["id"].clone()
}

#[actix_web::test]
async fn performed_on_lies_between_the_first_referral_and_today() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 6).await;
    let on = |date: &str| {
        let mut body = diagnosis_body("social");
        body["performed_on"] = json!(date);
        app.call_as(&team.worker, post_diagnosis(&team.participant, body))
    };
    // Today is 2026-03-02; the referral was on 2026-02-20.
    assert_eq!(
        invalid_fields(&on("2026-03-03").await),
        pairs(&[("/performed_on", "future")])
    );
    assert_eq!(
        invalid_fields(&on("2026-02-19").await),
        pairs(&[("/performed_on", "before_referral")])
    );
    let first_day = res_id(on("2026-02-20").await);
    res_id(on("2026-03-02").await);

    // A draft's date is held to the same rules.
    let id = str_of(&first_day);
    for (date, code) in [("2026-03-03", "future"), ("2026-02-19", "before_referral")] {
        let res = patch(
            &app,
            &team.worker,
            &id,
            Some("\"1\""),
            json!({"performed_on": date}),
        )
        .await;
        assert_eq!(invalid_fields(&res), pairs(&[("/performed_on", code)]));
    }
    assert_eq!(
        read(&app, &team.worker, &id).await["performed_on"],
        "2026-02-20"
    );
}

// ------------------------------------------------------------------------------------------
// Confidentiality

/// How much of a diagnosis a reader is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// Everything.
    Full,
    /// Metadata, instrument and summary (psychometric, for anyone but the team's psychologists).
    Summary,
    /// Kind, date, author and status (psychological, for anyone but the team's psychologists).
    Metadata,
    /// Kind, date, author role and status (auditors).
    Audit,
}

#[track_caller]
fn assert_shown(d: &Value, shown: Shown) {
    let present = |field: &str| !d[field].is_null();
    let context = format!("{} shown as {shown:?}: {d}", d["kind"]);
    assert_eq!(d["restricted"], shown != Shown::Full, "{context}");
    for field in ["id", "kind", "performed_on", "status", "author_role"] {
        assert!(present(field), "{field}: {context}");
    }
    let with_summary = matches!(shown, Shown::Full | Shown::Summary);
    for field in ["summary", "instrument"] {
        assert_eq!(present(field), with_summary, "{field}: {context}");
    }
    for field in ["findings", "recommendations"] {
        assert_eq!(present(field), shown == Shown::Full, "{field}: {context}");
    }
    let holland = d["kind"] == "holland";
    for field in [
        "scores",
        "holland_code",
        "holland_tie",
        "holland_alternatives",
    ] {
        assert_eq!(
            present(field),
            holland && shown == Shown::Full,
            "{field}: {context}"
        );
    }
    assert_eq!(
        present("author_id"),
        shown != Shown::Audit,
        "author_id: {context}"
    );
}

/// A team where the psychologist wrote a psychological and a psychometric diagnosis, the social
/// worker a general survey and the counsellor a Holland test; answers their ids in that order.
async fn diagnosed_team(app: &TestApp, n: u32) -> (Team, [String; 4]) {
    let team = Team::new(app, n).await;
    let p = &team.participant;
    let mut ids = Vec::new();
    for (user, kind) in [
        (&team.psychologist, "psychological"),
        (&team.psychologist, "psychometric"),
        (&team.worker, "general_survey"),
        (&team.counsellor, "holland"),
    ] {
        ids.push(record_diagnosis(app, user, p, kind).await);
        app.clock.advance(chrono::Duration::minutes(1));
    }
    let ids: [String; 4] = ids.try_into().unwrap_or_else(|_| unreachable!());
    (team, ids)
}

#[actix_web::test]
async fn psychological_and_psychometric_findings_reach_only_the_teams_psychologists() {
    use Shown::*;
    let app = TestApp::spawn().await;
    let (team, ids) = diagnosed_team(&app, 7).await;
    let manager = app.user(&[Role::Manager]).await;
    let auditor = app.user(&[Role::Auditor]).await;
    // Columns: psychological, psychometric, general_survey, holland.
    let others = [Metadata, Summary, Full, Full];
    let readers: [(&str, &TestUser, [Shown; 4]); 5] = [
        ("team psychologist", &team.psychologist, [Full; 4]),
        ("team social worker", &team.worker, others),
        ("team counsellor", &team.counsellor, others),
        ("manager", &manager, others),
        ("auditor", &auditor, [Audit; 4]),
    ];
    for (who, user, expected) in readers {
        let page = list(&app, user, &team.participant).await;
        assert_eq!(page["total"], 4, "{who}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let listed: Vec<String> = items.iter().map(|d| str_of(&d["id"])).collect();
        let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
        assert_eq!(listed, newest_first, "{who}");
        for ((id, shown), item) in ids.iter().zip(expected).zip(items.iter().rev()) {
            let one = read(&app, user, id).await;
            assert_shown(&one, shown);
            assert_eq!(&one, item, "{who}: the list shows what the read shows");
        }
    }
    // The psychologist sees exactly what was written.
    let d = read(&app, &team.psychologist, &ids[0]).await;
    assert_eq!(d["findings"], "Findings of the psychological diagnosis");
    assert_eq!(d["author_id"], team.psychologist.id);
    assert_eq!(
        read(&app, &team.worker, &ids[0]).await["author_id"],
        team.psychologist.id
    );
    assert_eq!(
        read(&app, &auditor, &ids[0]).await["author_role"],
        "psychologist"
    );

    // A psychologist of another team cannot see the participant at all.
    let outsider = app.user(&[Role::Psychologist]).await;
    app.get_as(&outsider, &format!("/api/v1/diagnoses/{}", ids[0]))
        .await
        .problem(404, "not-found");
    app.get_as(
        &outsider,
        &format!("/api/v1/participants/{}/diagnoses", team.participant),
    )
    .await
    .problem(404, "not-found");
    // Admins see no case data.
    let admin = app.user(&[Role::Admin]).await;
    app.get_as(&admin, &format!("/api/v1/diagnoses/{}", ids[0]))
        .await
        .problem(403, "forbidden");
}

#[actix_web::test]
async fn every_disclosure_of_secret_findings_is_audited_as_read_findings() {
    let app = TestApp::spawn().await;
    let (team, ids) = diagnosed_team(&app, 8).await;
    let [psychological, psychometric, survey, _] = &ids;
    let p = team.participant.clone();
    let manager = app.user(&[Role::Manager]).await;

    read(&app, &team.psychologist, psychological).await;
    assert_eq!(
        audited_for(&app, "diagnosis.read_findings", &team.psychologist),
        vec![(psychological.clone(), p.clone())]
    );
    assert!(audited_for(&app, "diagnosis.read", &team.psychologist).is_empty());

    read(&app, &team.worker, psychological).await;
    assert_eq!(
        audited_for(&app, "diagnosis.read", &team.worker),
        vec![(psychological.clone(), p.clone())]
    );
    assert!(audited_for(&app, "diagnosis.read_findings", &team.worker).is_empty());

    // A general survey is no secret, even for the psychologist.
    read(&app, &team.psychologist, survey).await;
    assert_eq!(
        audited_for(&app, "diagnosis.read", &team.psychologist),
        vec![(survey.clone(), p.clone())]
    );

    // A list: one `diagnosis.list`, plus one `read_findings` per secret diagnosis disclosed.
    list(&app, &team.psychologist, &p).await;
    assert_eq!(
        audited_for(&app, "diagnosis.list", &team.psychologist),
        vec![(p.clone(), p.clone())]
    );
    let mut disclosed = audited_for(&app, "diagnosis.read_findings", &team.psychologist);
    disclosed.sort();
    let mut expected = vec![
        (psychological.clone(), p.clone()),
        (psychological.clone(), p.clone()),
        (psychometric.clone(), p.clone()),
    ];
    expected.sort();
    assert_eq!(disclosed, expected);

    for user in [&team.worker, &team.counsellor, &manager] {
        list(&app, user, &p).await;
        assert_eq!(audited_for(&app, "diagnosis.list", user).len(), 1);
        assert!(audited_for(&app, "diagnosis.read_findings", user).is_empty());
    }
    assert_eq!(audited(&app, "diagnosis.list").len(), 4);

    // The texts never reach the audit log.
    let mut conn = app.conn();
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM audit_events \
             WHERE details LIKE '%the psychological diagnosis%'"
        ),
        0
    );
}

#[actix_web::test]
async fn the_list_filters_by_kind_and_status_and_audits_only_what_it_discloses() {
    let app = TestApp::spawn().await;
    let (team, ids) = diagnosed_team(&app, 12).await;
    let [psychological, psychometric, survey, holland] = &ids;
    let res = finalize(&app, &team.worker, survey, None).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let path = |query: &str| {
        format!(
            "/api/v1/participants/{}/diagnoses?{query}",
            team.participant
        )
    };
    let listed = |page: Value| -> (Value, Vec<String>) {
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (
            page["total"].clone(),
            items.iter().map(|d| str_of(&d["id"])).collect(),
        )
    };
    let psychologist = &team.psychologist;
    for (query, expected) in [
        ("kind=general_survey", vec![survey.clone()]),
        ("status=final", vec![survey.clone()]),
        (
            "status=draft",
            vec![holland.clone(), psychometric.clone(), psychological.clone()],
        ),
        ("kind=psychological&status=final", vec![]),
        (
            "per_page=2&page=2",
            vec![psychometric.clone(), psychological.clone()],
        ),
    ] {
        let res = app.get_as(psychologist, &path(query)).await;
        assert_eq!(res.status, 200, "{query}: {}", res.text());
        let (total, ids) = listed(res.json());
        let all = if query.starts_with("per_page") {
            4
        } else {
            expected.len()
        };
        assert_eq!((total, ids), (json!(all), expected), "{query}");
    }
    // Only the pages that held the secret diagnoses (the drafts, and page 2) were audited as
    // disclosing their findings.
    let mut disclosed = audited_for(&app, "diagnosis.read_findings", psychologist);
    disclosed.sort();
    let mut expected = [psychological, psychometric, psychological, psychometric]
        .map(|id| (id.clone(), team.participant.clone()))
        .to_vec();
    expected.sort();
    assert_eq!(disclosed, expected);
    assert_eq!(audited_for(&app, "diagnosis.list", psychologist).len(), 5);

    for query in [
        "kind=astrology",
        "status=closed",
        "sort=kind",
        "per_page=201",
    ] {
        let res = app.get_as(psychologist, &path(query)).await;
        res.problem(400, "malformed-request");
        let name = query.split('=').next().unwrap_or_default();
        assert!(
            res.field_errors().iter().any(|(field, _)| field == name),
            "{query}: {}",
            res.text()
        );
    }
}

// ------------------------------------------------------------------------------------------
// Lifecycle

#[actix_web::test]
async fn a_draft_is_edited_with_if_match_then_finalized_and_then_only_amended() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 9).await;
    let psychologist = &team.psychologist;
    let id = record_diagnosis(&app, psychologist, &team.participant, "psychological").await;

    // Editing a draft.
    let res = patch(
        &app,
        psychologist,
        &id,
        Some("\"1\""),
        json!({"summary": "Revised summary", "recommendations": null}),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let d = res.json();
    assert_eq!(d["version"], 2);
    assert_eq!(d["summary"], "Revised summary");
    assert_eq!(d["recommendations"], Value::Null);
    assert_eq!(d["findings"], "Findings of the psychological diagnosis");
    patch(&app, psychologist, &id, None, json!({"summary": "x"}))
        .await
        .problem(428, "precondition-required");
    let stale = patch(
        &app,
        psychologist,
        &id,
        Some("\"1\""),
        json!({"summary": "x"}),
    )
    .await;
    assert_eq!(
        stale.problem(412, "precondition-failed")["current_version"],
        2
    );
    let res = patch(
        &app,
        psychologist,
        &id,
        Some("\"2\""),
        json!({"kind": "psychometric", "summary": null}),
    )
    .await;
    assert_eq!(
        invalid_fields(&res),
        pairs(&[("/kind", "immutable"), ("/summary", "required")])
    );
    let res = patch(
        &app,
        psychologist,
        &id,
        Some("\"2\""),
        json!({"summary": null}),
    )
    .await;
    assert_eq!(invalid_fields(&res), pairs(&[("/summary", "required")]));

    // Only a team member who writes this kind edits or finalizes it.
    patch(
        &app,
        &team.worker,
        &id,
        Some("\"2\""),
        json!({"summary": "x"}),
    )
    .await
    .problem(403, "forbidden");
    finalize(&app, &team.worker, &id, None)
        .await
        .problem(403, "forbidden");
    // A draft is edited, not amended.
    let res = amend(&app, psychologist, &id, json!({"reason": "r", "text": "t"})).await;
    assert_eq!(conflict_code(&res), "diagnosis_draft");

    // Finalizing (If-Match optional, checked when sent).
    let stale = finalize(&app, psychologist, &id, Some("\"1\"")).await;
    assert_eq!(
        stale.problem(412, "precondition-failed")["current_version"],
        2
    );
    let res = finalize(&app, psychologist, &id, Some("\"2\"")).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"3\""));
    let d = res.json();
    assert_eq!((&d["status"], &d["version"]), (&json!("final"), &json!(3)));
    assert_eq!(d["finalized_at"], "2026-03-02T09:00:00.000000Z");

    // A final diagnosis never changes.
    assert_eq!(
        conflict_code(&finalize(&app, psychologist, &id, None).await),
        "diagnosis_final"
    );
    let res = patch(
        &app,
        psychologist,
        &id,
        Some("\"3\""),
        json!({"summary": "x"}),
    )
    .await;
    assert_eq!(conflict_code(&res), "diagnosis_final");

    // Amending it.
    let res = amend(&app, psychologist, &id, json!({"reason": "r"})).await;
    assert_eq!(invalid_fields(&res), pairs(&[("/text", "required")]));
    app.clock.advance(chrono::Duration::minutes(5));
    let res = amend(
        &app,
        psychologist,
        &id,
        json!({"reason": "Test norms updated", "text": "Scores re-read against the 2026 norms."}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/diagnoses/{id}").as_str())
    );
    assert_eq!(res.header("etag"), Some("\"4\""));
    let amended = res.json();
    let amendments = &amended["amendments"];
    assert_eq!(amendments.as_array().map(Vec::len), Some(1), "{amended}");
    assert_eq!(amendments[0]["reason"], "Test norms updated");
    assert_eq!(
        amendments[0]["text"],
        "Scores re-read against the 2026 norms."
    );
    assert_eq!(amendments[0]["author_id"], psychologist.id);
    assert_eq!(amendments[0]["created_at"], "2026-03-02T09:05:00.000000Z");
    assert_eq!(amended["summary"], "Revised summary", "the original stays");
    assert_eq!(amended["status"], "final");
    let res = app
        .get_as(psychologist, &format!("/api/v1/diagnoses/{id}"))
        .await;
    assert_eq!(res.header("etag"), Some("\"4\""));
    assert_eq!(res.json(), amended);

    // The amendment follows the diagnosis's secrecy.
    let seen = read(&app, &team.worker, &id).await;
    assert_shown(&seen, Shown::Metadata);
    let amendment = &seen["amendments"][0];
    assert_eq!(
        (&amendment["reason"], &amendment["text"]),
        (&Value::Null, &Value::Null),
        "{seen}"
    );
    assert_eq!(amendment["author_id"], psychologist.id);

    for action in [
        "diagnosis.create",
        "diagnosis.update",
        "diagnosis.finalize",
        "diagnosis.amend",
    ] {
        assert_eq!(
            audited_for(&app, action, psychologist),
            vec![(id.clone(), team.participant.clone())],
            "{action}"
        );
    }
}

#[actix_web::test]
async fn an_auditor_finalizing_an_unknown_diagnosis_is_refused_before_the_lookup() {
    let app = TestApp::spawn().await;
    let auditor = app.user(&[Role::Auditor]).await;
    let ghost = uuid::Uuid::new_v4().to_string();
    finalize(&app, &auditor, &ghost, None)
        .await
        .problem(403, "forbidden");
    // A clinician, who could finalize some diagnosis, learns only that this one is not there.
    let counsellor = app.user(&[Role::Counsellor]).await;
    finalize(&app, &counsellor, &ghost, None)
        .await
        .problem(404, "not-found");
}

#[actix_web::test]
async fn an_anonymised_participants_diagnoses_no_longer_change() {
    use diesel::prelude::*;
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 10).await;
    let p = &team.participant;
    let draft = record_diagnosis(&app, &team.worker, p, "social").await;
    let done = record_final_diagnosis(&app, &team.worker, p, "general_survey").await;
    diesel::sql_query("UPDATE participants SET status = 'anonymised' WHERE id = $1")
        .bind::<diesel::sql_types::Text, _>(p)
        .execute(&mut app.conn())
        .expect("mark the participant anonymised");
    let refusals = [
        app.call_as(&team.worker, post_diagnosis(p, diagnosis_body("social")))
            .await,
        patch(
            &app,
            &team.worker,
            &draft,
            Some("\"1\""),
            json!({"summary": "x"}),
        )
        .await,
        finalize(&app, &team.worker, &draft, None).await,
        amend(
            &app,
            &team.worker,
            &done,
            json!({"reason": "r", "text": "t"}),
        )
        .await,
    ];
    for res in &refusals {
        assert_eq!(conflict_code(res), "participant_anonymised");
    }
    assert_eq!(read(&app, &team.worker, &draft).await["version"], 1);
}

#[actix_web::test]
async fn a_retried_create_with_the_same_idempotency_key_records_one_diagnosis() {
    let app = TestApp::spawn().await;
    let team = Team::new(&app, 11).await;
    let send = |kind: &str| {
        app.call_as(
            &team.counsellor,
            post_diagnosis(&team.participant, diagnosis_body(kind))
                .insert_header(("idempotency-key", "diagnosis-retry-1")),
        )
    };
    let first = send("vocational").await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send("vocational").await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.json(), first.json());
    assert_eq!(
        invalid_fields(&send("holland").await).len(),
        1,
        "a different body with a used key"
    );
    assert_eq!(
        count(&mut app.conn(), "SELECT COUNT(*) AS n FROM diagnoses"),
        1
    );
}
