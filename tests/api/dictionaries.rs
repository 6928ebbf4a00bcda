//! `/api/v1/risk-groups` and `/api/v1/activity-types` (api.md §4, §13.7): seeded entries, reading
//! for every staff member, editing for admins and managers, `statutory` for admins only, codes
//! that never change, no delete.

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use reintegra::policy::Role;

use crate::common::{TestApp, TestUser};
use crate::settings::last_changed_fields;

const RISK_GROUPS: &str = "/api/v1/risk-groups";
const ACTIVITY_TYPES: &str = "/api/v1/activity-types";

/// One dictionary as the tests see it: its path and a valid new entry.
#[derive(Clone, Copy)]
struct Dictionary {
    path: &'static str,
    audit_entity: &'static str,
    new_entry: fn(&str) -> Value,
}

const DICTIONARIES: [Dictionary; 2] = [
    Dictionary {
        path: RISK_GROUPS,
        audit_entity: "risk_group",
        new_entry: new_risk_group,
    },
    Dictionary {
        path: ACTIVITY_TYPES,
        audit_entity: "activity_type",
        new_entry: new_activity_type,
    },
];

fn new_risk_group(code: &str) -> Value {
    json!({
        "code": code,
        "label_en": "People leaving foster care",
        "label_pl": "osoby usamodzielniane",
        "legal_basis": "uchwała Rady Miasta nr XII/34/2026",
        "evidence_hint": "Record the decision of the PCPR and its date.\nNothing else."
    })
}

fn new_activity_type(code: &str) -> Value {
    json!({
        "code": code,
        "label_en": "Art therapy",
        "label_pl": "arteterapia",
        "area": "social",
        "category": "other"
    })
}

fn post(path: &str, body: &Value) -> TestRequest {
    TestRequest::post().uri(path).set_json(body)
}

fn patch(path: &str, body: &Value, if_match: Option<&str>) -> TestRequest {
    let mut req = TestRequest::patch().uri(path).set_json(body);
    if let Some(tag) = if_match {
        req = req.insert_header((header::IF_MATCH, tag));
    }
    req
}

async fn every_role(app: &TestApp) -> Vec<(Role, TestUser)> {
    let mut users = Vec::new();
    for role in Role::ALL {
        users.push((role, app.user(&[role]).await));
    }
    users
}

fn codes(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect()
}

fn count(trail: &[(String, String)], action: &str, outcome: &str) -> usize {
    trail
        .iter()
        .filter(|(a, o)| a == action && o == outcome)
        .count()
}

#[actix_web::test]
async fn the_eight_statutory_risk_groups_are_seeded_with_their_legal_basis() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Counsellor]).await;
    let res = app.get_as(&user, RISK_GROUPS).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let list = res.json();
    assert_eq!(list["total"], 8);
    assert_eq!(
        (list["page"].clone(), list["per_page"].clone()),
        (json!(1), json!(50))
    );
    let mut sorted = codes(&list);
    sorted.sort();
    assert_eq!(codes(&list), sorted, "sorted by code");
    let expected = [
        ("homeless_exit_programme", 1),
        ("alcohol_after_therapy", 2),
        ("drug_after_therapy", 3),
        ("mental_illness", 4),
        ("long_term_unemployed", 5),
        ("released_prisoner", 6),
        ("refugee_integration", 7),
        ("disability", 8),
    ];
    for (code, point) in expected {
        let group = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["code"] == code)
            .unwrap_or_else(|| panic!("{code} is seeded"));
        let basis = group["legal_basis"].as_str().unwrap();
        assert!(
            basis.starts_with(&format!("art. 1 ust. 2 pkt {point} ")),
            "{code}: {basis}"
        );
        assert!(basis.contains("Dz.U. 2025 poz. 83"), "{basis}");
        assert_eq!(group["statutory"], true);
        assert_eq!(group["active"], true);
        assert_eq!(group["version"], 1);
        assert!(group["label_en"].is_string() && group["label_pl"].is_string());
        assert!(group["evidence_hint"].is_string());
    }
    let res = app
        .get_as(&user, &format!("{RISK_GROUPS}/released_prisoner"))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("etag"), Some("\"1\""));
    let hint = res.json()["evidence_hint"].as_str().unwrap().to_owned();
    assert!(hint.contains("release certificate and its date"), "{hint}");
    assert!(hint.contains("never record the offence"), "{hint}");
}

#[actix_web::test]
async fn the_seventeen_activity_types_of_the_model_club_are_seeded() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Auditor]).await;
    let res = app.get_as(&user, ACTIVITY_TYPES).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let list = res.json();
    assert_eq!(list["total"], 17);
    let mut expected = vec![
        ("support_group", "social", "support_group", "grupa wsparcia"),
        (
            "psychoeducation_workshop",
            "social",
            "psychoeducation",
            "warsztat psychoedukacyjny",
        ),
        (
            "self_education_group",
            "social",
            "self_education",
            "grupa samokształceniowa",
        ),
        (
            "leisure_activity",
            "social",
            "leisure",
            "zajęcia rekreacyjne",
        ),
        (
            "psychological_counselling",
            "social",
            "individual_counselling",
            "poradnictwo psychologiczne",
        ),
        (
            "social_counselling",
            "social",
            "individual_counselling",
            "poradnictwo socjalne",
        ),
        (
            "diagnostic_meeting",
            "social",
            "diagnosis",
            "spotkanie diagnostyczne",
        ),
        (
            "vocational_counselling",
            "vocational",
            "individual_counselling",
            "doradztwo zawodowe",
        ),
        (
            "job_search_workshop",
            "vocational",
            "proactive_workshop",
            "warsztat aktywnego poszukiwania pracy",
        ),
        (
            "cv_workshop",
            "vocational",
            "proactive_workshop",
            "warsztat CV i listu motywacyjnego",
        ),
        (
            "labour_law_basics",
            "vocational",
            "proactive_workshop",
            "podstawy prawa pracy",
        ),
        (
            "workplace_visit",
            "vocational",
            "proactive_workshop",
            "wizyta u pracodawcy",
        ),
        (
            "interview_simulation",
            "vocational",
            "proactive_workshop",
            "symulacja rozmowy kwalifikacyjnej",
        ),
        (
            "computer_course",
            "vocational",
            "course",
            "kurs komputerowy",
        ),
        ("language_course", "vocational", "course", "kurs językowy"),
        ("vocational_course", "vocational", "course", "kurs zawodowy"),
        (
            "work_practice",
            "vocational",
            "work_practice",
            "praktyka zawodowa / staż",
        ),
    ];
    expected.sort();
    let actual: Vec<(&str, &str, &str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["active"], true);
            assert_eq!(t["version"], 1);
            assert!(t["label_en"].is_string());
            (
                t["code"].as_str().unwrap(),
                t["area"].as_str().unwrap(),
                t["category"].as_str().unwrap(),
                t["label_pl"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actual, expected, "every seeded type, sorted by code");
}

#[actix_web::test]
async fn every_route_answers_each_role_as_the_policy_says() {
    let app = TestApp::spawn().await;
    let users = every_role(&app).await;
    for dict in DICTIONARIES {
        let item = |code: &str| format!("{}/{code}", dict.path);
        let seeded = if dict.path == RISK_GROUPS {
            "disability"
        } else {
            "support_group"
        };
        // Anonymous callers get 401 everywhere.
        for req in [
            TestRequest::get().uri(dict.path),
            TestRequest::get().uri(&item(seeded)),
            post(dict.path, &(dict.new_entry)("anon_entry")),
            patch(&item(seeded), &json!({"label_en": "x"}), Some("\"1\"")),
        ] {
            app.call(req).await.problem(401, "unauthorized");
        }
        for (role, user) in &users {
            let editor = matches!(role, Role::Admin | Role::Manager);
            let res = app.get_as(user, dict.path).await;
            assert_eq!(res.status, 200, "{role:?} lists {}", dict.path);
            let res = app.get_as(user, &item(seeded)).await;
            assert_eq!(res.status, 200, "{role:?} reads {}", dict.path);

            let code = format!("made_by_{}", role.as_str());
            let res = app
                .call_as(user, post(dict.path, &(dict.new_entry)(&code)))
                .await;
            if editor {
                assert_eq!(res.status, 201, "{role:?}: {}", res.text());
                let res = app
                    .call_as(
                        user,
                        patch(&item(&code), &json!({"label_en": "Renamed"}), Some("\"1\"")),
                    )
                    .await;
                assert_eq!(res.status, 200, "{role:?}: {}", res.text());
            } else {
                res.problem(403, "forbidden");
                // Even an invalid body is refused for the role first.
                app.call_as(user, post(dict.path, &json!({"code": "X"})))
                    .await
                    .problem(403, "forbidden");
                app.call_as(
                    user,
                    patch(&item(seeded), &json!({"label_en": "x"}), Some("\"1\"")),
                )
                .await
                .problem(403, "forbidden");
            }
        }
        let trail = app.audit_trail();
        assert_eq!(
            count(&trail, &format!("{}.create", dict.audit_entity), "allowed"),
            2
        );
        assert_eq!(
            count(&trail, &format!("{}.update", dict.audit_entity), "allowed"),
            2
        );
    }
    // Four roles, three refused attempts each, on two dictionaries.
    assert_eq!(count(&app.audit_trail(), "dictionary.edit", "denied"), 24);
}

#[actix_web::test]
async fn creating_an_entry_answers_201_with_location_and_etag_and_is_audited() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;

    let res = app
        .call_as(&manager, post(RISK_GROUPS, &new_risk_group("care_leavers")))
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some("/api/v1/risk-groups/care_leavers")
    );
    assert_eq!(res.header("etag"), Some("\"1\""));
    let expected = json!({
        "code": "care_leavers",
        "label_en": "People leaving foster care",
        "label_pl": "osoby usamodzielniane",
        "legal_basis": "uchwała Rady Miasta nr XII/34/2026",
        "evidence_hint": "Record the decision of the PCPR and its date.\nNothing else.",
        "statutory": false,
        "active": true,
        "version": 1
    });
    assert_eq!(res.json(), expected);
    let read = app
        .get_as(&manager, "/api/v1/risk-groups/care_leavers")
        .await;
    assert_eq!(read.json(), expected);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(app.get_as(&manager, RISK_GROUPS).await.json()["total"], 9);
    assert_eq!(
        last_changed_fields(&app, "risk_group.create"),
        vec![
            "code",
            "label_en",
            "label_pl",
            "legal_basis",
            "evidence_hint",
            "statutory",
            "active"
        ]
    );

    // legal_basis and evidence_hint may be left out.
    let res = app
        .call_as(
            &manager,
            post(
                RISK_GROUPS,
                &json!({"code": "local_group", "label_en": "Local", "label_pl": "Lokalna"}),
            ),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["legal_basis"], Value::Null);
    assert_eq!(res.json()["evidence_hint"], Value::Null);

    let res = app
        .call_as(
            &manager,
            post(ACTIVITY_TYPES, &new_activity_type("art_therapy")),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some("/api/v1/activity-types/art_therapy")
    );
    assert_eq!(
        res.json(),
        json!({"code": "art_therapy", "label_en": "Art therapy", "label_pl": "arteterapia",
               "area": "social", "category": "other", "active": true, "version": 1})
    );
    assert_eq!(
        last_changed_fields(&app, "activity_type.create"),
        vec!["code", "label_en", "label_pl", "area", "category", "active"]
    );
    let trail = app.audit_trail();
    assert_eq!(count(&trail, "risk_group.create", "allowed"), 2);
    assert_eq!(count(&trail, "activity_type.create", "allowed"), 1);
}

#[actix_web::test]
async fn a_code_is_unique_and_follows_the_pattern() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    for dict in DICTIONARIES {
        let res = app
            .call_as(&admin, post(dict.path, &(dict.new_entry)("fresh_code")))
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        let seeded = if dict.path == RISK_GROUPS {
            "disability"
        } else {
            "support_group"
        };
        for taken in ["fresh_code", seeded] {
            let p = app
                .call_as(&admin, post(dict.path, &(dict.new_entry)(taken)))
                .await
                .problem(409, "conflict");
            assert_eq!(p["code"], "duplicate_code", "{p}");
        }
        let too_long = format!("a{}", "b".repeat(50));
        for bad in [
            "a",
            "1abc",
            "_abc",
            "Abc",
            "ab-c",
            "ab c",
            "żółw",
            too_long.as_str(),
        ] {
            let res = app
                .call_as(&admin, post(dict.path, &(dict.new_entry)(bad)))
                .await;
            res.problem(422, "validation");
            assert_eq!(
                res.field_errors(),
                vec![("/code".to_string(), "format".to_string())],
                "{bad}"
            );
        }
        let fifty = format!("a{}", "b".repeat(49));
        let res = app
            .call_as(&admin, post(dict.path, &(dict.new_entry)(&fifty)))
            .await;
        assert_eq!(res.status, 201, "50 characters: {}", res.text());
    }
}

#[actix_web::test]
async fn every_bad_field_of_a_new_entry_is_listed_in_one_422() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = app
        .call_as(
            &admin,
            post(
                RISK_GROUPS,
                &json!({"label_en": "x".repeat(201), "label_pl": "",
                        "legal_basis": "a\u{0007}b", "evidence_hint": "y".repeat(20_001),
                        "statutory": "yes", "active": 1}),
            ),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    let mut expected: Vec<(String, String)> = [
        ("/code", "required"),
        ("/label_en", "too_long"),
        ("/label_pl", "blank"),
        ("/legal_basis", "control_character"),
        ("/evidence_hint", "too_long"),
        ("/statutory", "type"),
        ("/active", "type"),
    ]
    .iter()
    .map(|(f, c)| (f.to_string(), c.to_string()))
    .collect();
    expected.sort();
    assert_eq!(errors, expected);

    let res = app
        .call_as(
            &admin,
            post(
                ACTIVITY_TYPES,
                &json!({"code": "ok_code", "label_en": "Art", "area": "medical", "category": "therapy"}),
            ),
        )
        .await;
    res.problem(422, "validation");
    let mut errors = res.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("/area".to_string(), "enum".to_string()),
            ("/category".to_string(), "enum".to_string()),
            ("/label_pl".to_string(), "required".to_string()),
        ]
    );
    let trail = app.audit_trail();
    assert_eq!(count(&trail, "risk_group.create", "allowed"), 0);
    assert_eq!(count(&trail, "activity_type.create", "allowed"), 0);
}

#[actix_web::test]
async fn only_admins_set_statutory() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let admin = app.user(&[Role::Admin]).await;

    // A manager who sends statutory is refused, whatever its value.
    for value in [json!(true), json!(false)] {
        let mut body = new_risk_group("manager_statutory");
        body["statutory"] = value.clone();
        app.call_as(&manager, post(RISK_GROUPS, &body))
            .await
            .problem(403, "forbidden");
        app.call_as(
            &manager,
            patch(
                "/api/v1/risk-groups/disability",
                &json!({"statutory": value}),
                Some("\"1\""),
            ),
        )
        .await
        .problem(403, "forbidden");
    }
    // ...before the body is judged.
    app.call_as(
        &manager,
        post(RISK_GROUPS, &json!({"code": "X", "statutory": "maybe"})),
    )
    .await
    .problem(403, "forbidden");
    assert_eq!(
        count(&app.audit_trail(), "dictionary.set_statutory", "denied"),
        5
    );
    assert_eq!(
        app.get_as(&manager, &format!("{RISK_GROUPS}/manager_statutory"))
            .await
            .status,
        404
    );

    // Admins may create a statutory group and change the flag.
    let mut body = new_risk_group("new_statutory");
    body["statutory"] = json!(true);
    let res = app.call_as(&admin, post(RISK_GROUPS, &body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["statutory"], true);
    let res = app
        .call_as(
            &admin,
            patch(
                "/api/v1/risk-groups/new_statutory",
                &json!({"statutory": false}),
                Some("\"1\""),
            ),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["statutory"], false);
    assert_eq!(
        last_changed_fields(&app, "risk_group.update"),
        vec!["statutory"]
    );

    // A manager may still edit everything else, and statutory means nothing to activity types.
    let res = app
        .call_as(
            &manager,
            patch(
                "/api/v1/risk-groups/new_statutory",
                &json!({"label_en": "Renamed"}),
                Some("\"2\""),
            ),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let mut body = new_activity_type("with_flag");
    body["statutory"] = json!(true);
    let res = app.call_as(&manager, post(ACTIVITY_TYPES, &body)).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert!(res.json().get("statutory").is_none());
}

#[actix_web::test]
async fn patch_edits_and_retires_an_entry_with_if_match() {
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let path = "/api/v1/risk-groups/long_term_unemployed";

    app.call_as(&manager, patch(path, &json!({"label_en": "x"}), None))
        .await
        .problem(428, "precondition-required");
    for stale in ["\"2\"", "*", "W/\"1\""] {
        let p = app
            .call_as(
                &manager,
                patch(path, &json!({"label_en": "x"}), Some(stale)),
            )
            .await
            .problem(412, "precondition-failed");
        assert_eq!(p["current_version"], 1, "{stale}");
    }

    // Edit, clear the legal basis, then retire; merge-patch media type accepted.
    let res = app
        .call_as(
            &manager,
            patch(
                path,
                &json!({"label_en": "  Long-term unemployed  ", "legal_basis": null,
                        "code": "long_term_unemployed"}),
                Some("\"1\""),
            )
            .insert_header((header::CONTENT_TYPE, "application/merge-patch+json")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.header("etag"), Some("\"2\""));
    let body = res.json();
    assert_eq!(body["label_en"], "Long-term unemployed");
    assert_eq!(body["legal_basis"], Value::Null);
    assert_eq!(body["version"], 2);
    assert_eq!(body["statutory"], true, "untouched");
    assert_eq!(
        last_changed_fields(&app, "risk_group.update"),
        vec!["label_en", "legal_basis"]
    );

    let res = app
        .call_as(
            &manager,
            patch(path, &json!({"active": false}), Some("\"2\"")),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["active"], false);
    assert_eq!(res.json()["version"], 3);

    // A retired group stays readable and is listed among the inactive ones only.
    assert_eq!(app.get_as(&manager, path).await.json()["active"], false);
    let active = app
        .get_as(&manager, "/api/v1/risk-groups?active=true")
        .await
        .json();
    assert_eq!(active["total"], 7);
    assert!(!codes(&active).contains(&"long_term_unemployed".to_owned()));
    let retired = app
        .get_as(&manager, "/api/v1/risk-groups?active=false")
        .await
        .json();
    assert_eq!(codes(&retired), vec!["long_term_unemployed"]);
    assert_eq!(app.get_as(&manager, RISK_GROUPS).await.json()["total"], 8);

    // A patch that changes nothing keeps the version and records nothing.
    let before = count(&app.audit_trail(), "risk_group.update", "allowed");
    let res = app
        .call_as(
            &manager,
            patch(path, &json!({"active": false}), Some("\"3\"")),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("etag"), Some("\"3\""));
    let res = app
        .call_as(&manager, patch(path, &json!({}), Some("\"3\"")))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        count(&app.audit_trail(), "risk_group.update", "allowed"),
        before
    );

    // Activity types the same way.
    let path = "/api/v1/activity-types/computer_course";
    let res = app
        .call_as(
            &manager,
            patch(
                path,
                &json!({"category": "self_education", "area": "social", "active": false}),
                Some("\"1\""),
            ),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(
        (
            body["area"].clone(),
            body["category"].clone(),
            body["active"].clone()
        ),
        (json!("social"), json!("self_education"), json!(false))
    );
    assert_eq!(
        last_changed_fields(&app, "activity_type.update"),
        vec!["area", "category", "active"]
    );
    assert_eq!(
        app.get_as(&manager, "/api/v1/activity-types?active=true")
            .await
            .json()["total"],
        16
    );
}

#[actix_web::test]
async fn a_code_never_changes() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    for (path, other) in [
        ("/api/v1/risk-groups/disability", "disability_2"),
        ("/api/v1/activity-types/cv_workshop", "cv_workshop_2"),
    ] {
        let res = app
            .call_as(
                &admin,
                patch(
                    path,
                    &json!({"code": other, "label_en": "Renamed"}),
                    Some("\"1\""),
                ),
            )
            .await;
        res.problem(422, "validation");
        assert_eq!(
            res.field_errors(),
            vec![("/code".to_string(), "immutable".to_string())]
        );
        let res = app
            .call_as(
                &admin,
                patch(path, &json!({"code": "Bad Code"}), Some("\"1\"")),
            )
            .await;
        res.problem(422, "validation");
        assert_eq!(
            res.field_errors(),
            vec![("/code".to_string(), "format".to_string())]
        );
        let read = app.get_as(&admin, path).await.json();
        assert_eq!(read["version"], 1, "nothing changed");
        assert_ne!(read["label_en"], "Renamed");
    }
}

#[actix_web::test]
async fn unknown_codes_are_404_and_there_is_no_delete() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    for dict in DICTIONARIES {
        let missing = format!("{}/no_such_code", dict.path);
        app.get_as(&admin, &missing).await.problem(404, "not-found");
        app.call_as(
            &admin,
            patch(&missing, &json!({"active": false}), Some("\"1\"")),
        )
        .await
        .problem(404, "not-found");
        let res = app
            .call_as(
                &admin,
                TestRequest::delete().uri(&format!("{}/some_code", dict.path)),
            )
            .await;
        res.problem(405, "method-not-allowed");
        assert_eq!(res.header("allow"), Some("GET, PATCH, HEAD"));
        let res = app
            .call_as(&admin, TestRequest::delete().uri(dict.path))
            .await;
        res.problem(405, "method-not-allowed");
        assert_eq!(res.header("allow"), Some("GET, POST, HEAD"));
    }
}

#[actix_web::test]
async fn lists_are_paginated_and_refuse_unknown_or_bad_parameters() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Psychologist]).await;
    let all = app.get_as(&user, ACTIVITY_TYPES).await.json();
    let page = app
        .get_as(&user, "/api/v1/activity-types?page=2&per_page=5")
        .await
        .json();
    assert_eq!(
        (page["page"].clone(), page["per_page"].clone()),
        (json!(2), json!(5))
    );
    assert_eq!(page["total"], 17);
    assert_eq!(codes(&page), codes(&all)[5..10].to_vec());
    let past = app
        .get_as(&user, "/api/v1/risk-groups?page=3&per_page=5")
        .await
        .json();
    assert_eq!(past["items"], json!([]));
    assert_eq!(past["total"], 8);

    for dict in DICTIONARIES {
        let res = app
            .get_as(
                &user,
                &format!("{}?active=maybe&sort=code&per_page=0", dict.path),
            )
            .await;
        res.problem(400, "malformed-request");
        let mut errors = res.field_errors();
        errors.sort();
        assert_eq!(
            errors,
            vec![
                ("active".to_string(), "invalid".to_string()),
                ("per_page".to_string(), "invalid".to_string()),
                ("sort".to_string(), "unknown".to_string()),
            ]
        );
    }
}

#[actix_web::test]
async fn other_features_can_look_entries_up() {
    use reintegra::dictionaries::model::{Area, Category};
    use reintegra::dictionaries::repo;
    let app = TestApp::spawn().await;
    let manager = app.user(&[Role::Manager]).await;
    let res = app
        .call_as(
            &manager,
            patch(
                "/api/v1/risk-groups/disability",
                &json!({"active": false}),
                Some("\"1\""),
            ),
        )
        .await;
    assert_eq!(res.status, 200);
    let mut conn = app.conn();
    assert!(repo::active_risk_group_exists(&mut conn, "released_prisoner").unwrap());
    assert!(!repo::active_risk_group_exists(&mut conn, "disability").unwrap());
    assert!(!repo::active_risk_group_exists(&mut conn, "no_such_group").unwrap());
    let t = repo::activity_type(&mut conn, "work_practice")
        .unwrap()
        .expect("seeded");
    assert_eq!(
        (t.area, t.category),
        (Area::Vocational, Category::WorkPractice)
    );
    assert!(repo::activity_type(&mut conn, "no_such_type")
        .unwrap()
        .is_none());
    let s = reintegra::settings::repo::load(&mut conn).unwrap();
    assert_eq!(s.follow_up_months, vec![3, 6, 12]);
}
