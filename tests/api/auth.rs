//! Authentication (api.md §2, §13.2): sign-in, throttling, access tokens, refresh rotation,
//! sign-out, password change and the must-change-password gate.

use actix_web::test::TestRequest;
use chrono::Duration;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use reintegra::clock::Clock;
use reintegra::policy::Role;

use crate::common::{TestApp, TestUser, TEST_PASSWORD, TEST_SECRET};

fn refresh(token: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/auth/refresh")
        .set_json(json!({ "refresh_token": token }))
}

#[actix_web::test]
async fn login_answers_a_token_pair_that_opens_the_api() {
    let app = TestApp::spawn().await;
    let (_, email) = app.create_staff(&[Role::Manager, Role::Psychologist], false);
    let res = app.login(&email.to_uppercase(), TEST_PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["staff"]["email"], email);
    assert_eq!(body["staff"]["roles"], json!(["manager", "psychologist"]));
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);

    let me = app
        .call(TestRequest::get().uri("/api/v1/auth/me").insert_header((
            "authorization",
            format!("Bearer {}", body["access_token"].as_str().unwrap()),
        )))
        .await;
    assert_eq!(me.status, 200, "{}", me.text());
    let me = me.json();
    assert_eq!(me["staff"]["email"], email);
    let permissions: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(permissions.contains(&"participant.read"));
    assert!(permissions.contains(&"note.read_psychologist"));
    assert!(!permissions.contains(&"staff.create"));
    assert!(app
        .audit_trail()
        .contains(&("auth.login".into(), "allowed".into())));
}

#[actix_web::test]
async fn unknown_email_wrong_password_and_disabled_accounts_get_the_same_401() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let (id, email) = app.create_staff(&[Role::Counsellor], false);
    let unknown = app.login("nobody@club.test", TEST_PASSWORD).await;
    let wrong = app.login(&email, "not the password").await;

    // Deactivated through the API, and one whose active_until has passed.
    let staff = app.get_as(&admin, &format!("/api/v1/staff/{id}")).await;
    let etag = staff.header("etag").unwrap().to_owned();
    let res = app
        .call_as(
            &admin,
            TestRequest::patch()
                .uri(&format!("/api/v1/staff/{id}"))
                .insert_header(("if-match", etag))
                .set_json(json!({"active": false})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let deactivated = app.login(&email, TEST_PASSWORD).await;

    let (id2, email2) = app.create_staff(&[Role::Auditor], false);
    let staff = app.get_as(&admin, &format!("/api/v1/staff/{id2}")).await;
    let etag = staff.header("etag").unwrap().to_owned();
    let yesterday = (app.clock.today() - Duration::days(1)).to_string();
    app.call_as(
        &admin,
        TestRequest::patch()
            .uri(&format!("/api/v1/staff/{id2}"))
            .insert_header(("if-match", etag))
            .set_json(json!({"active_until": yesterday})),
    )
    .await;
    let expired = app.login(&email2, TEST_PASSWORD).await;

    let bodies: Vec<_> = [&unknown, &wrong, &deactivated, &expired]
        .iter()
        .map(|r| {
            let p = r.problem(401, "unauthorized");
            (p["title"].clone(), p["detail"].clone())
        })
        .collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let failures = app
        .audit_trail()
        .iter()
        .filter(|(a, o)| a == "auth.login_failed" && o == "denied")
        .count();
    assert_eq!(failures, 4);
}

#[actix_web::test]
async fn five_failures_block_that_email_for_fifteen_minutes_and_no_other() {
    let app = TestApp::spawn().await;
    let (_, email) = app.create_staff(&[Role::SocialWorker], false);
    let (_, other) = app.create_staff(&[Role::SocialWorker], false);
    for _ in 0..5 {
        assert_eq!(app.login(&email, "wrong password!").await.status, 401);
        app.clock.advance(Duration::seconds(60));
    }
    // Even the right password is refused while five failures stand in the window.
    let blocked = app.login(&email, TEST_PASSWORD).await;
    blocked.problem(429, "rate-limited");
    // The oldest failure was 5 minutes ago: it leaves the window in 10 minutes.
    assert_eq!(blocked.header("retry-after"), Some("600"));
    assert_eq!(
        app.login(&other, TEST_PASSWORD).await.status,
        200,
        "other accounts unaffected"
    );
    assert!(app
        .audit_trail()
        .contains(&("auth.login_throttled".into(), "denied".into())));

    // Unknown e-mails are counted the same way, so a 429 reveals nothing.
    for _ in 0..5 {
        app.login("ghost@club.test", "whatever it is").await;
    }
    app.login("ghost@club.test", "whatever it is")
        .await
        .problem(429, "rate-limited");

    app.clock.advance(Duration::seconds(601));
    assert_eq!(app.login(&email, TEST_PASSWORD).await.status, 200);
    // A success clears the count.
    for _ in 0..4 {
        app.login(&email, "wrong again!!").await;
    }
    assert_eq!(app.login(&email, TEST_PASSWORD).await.status, 200);
    app.login(&email, "wrong again!!").await;
    assert_eq!(app.login(&email, TEST_PASSWORD).await.status, 200);
}

#[actix_web::test]
async fn one_address_is_limited_per_minute() {
    let app = TestApp::spawn_with(&[("REINTEGRA_LOGIN_PER_ADDRESS_PER_MINUTE", "3")]).await;
    let (_, email) = app.create_staff(&[Role::Manager], false);
    let from = |ip: &str| {
        TestRequest::post()
            .uri("/api/v1/auth/login")
            .peer_addr(format!("{ip}:40000").parse().unwrap())
            .set_json(json!({"email": email, "password": TEST_PASSWORD}))
    };
    for _ in 0..3 {
        assert_eq!(app.call(from("192.0.2.7")).await.status, 200);
    }
    let res = app.call(from("192.0.2.7")).await;
    res.problem(429, "rate-limited");
    assert!(res.header("retry-after").is_some());
    assert_eq!(
        app.call(from("192.0.2.8")).await.status,
        200,
        "another address"
    );
    app.clock.advance(Duration::seconds(61));
    assert_eq!(app.call(from("192.0.2.7")).await.status, 200);
}

fn forged(claims: serde_json::Value, secret: &str, alg: Algorithm) -> String {
    encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[actix_web::test]
async fn access_tokens_are_checked_strictly() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Manager]).await;
    let me = |token: String| {
        TestRequest::get()
            .uri("/api/v1/auth/me")
            .insert_header(("authorization", format!("Bearer {token}")))
    };
    assert_eq!(app.call(me(user.token.clone())).await.status, 200);

    let now = app.clock.now().timestamp();
    let ver = 1;
    let good = json!({"sub": user.id, "roles": ["manager"], "iat": now, "nbf": now, "exp": now + 600,
                      "iss": "reintegra", "aud": "reintegra-api", "jti": "j", "ver": ver});
    assert_eq!(
        app.call(me(forged(good.clone(), TEST_SECRET, Algorithm::HS256)))
            .await
            .status,
        200
    );

    let mut cases = vec![
        (
            "bad signature",
            forged(
                good.clone(),
                "another-secret-another-secret-another",
                Algorithm::HS256,
            ),
        ),
        ("HS512", forged(good.clone(), TEST_SECRET, Algorithm::HS512)),
    ];
    for (field, value, label) in [
        ("aud", json!("someone-else"), "wrong aud"),
        ("iss", json!("elsewhere"), "wrong iss"),
        ("nbf", json!(now + 60), "nbf in the future"),
        ("exp", json!(now - 1), "expired"),
        ("ver", json!(ver + 1), "other token version"),
        (
            "sub",
            json!(uuid::Uuid::new_v4().to_string()),
            "unknown staff",
        ),
    ] {
        let mut claims = good.clone();
        claims[field] = value;
        cases.push((label, forged(claims, TEST_SECRET, Algorithm::HS256)));
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("nbf");
    cases.push((
        "nbf missing",
        forged(missing, TEST_SECRET, Algorithm::HS256),
    ));
    // alg: none — header {"alg":"none"} and no signature.
    use base64_like::encode_segment;
    let none = format!(
        "{}.{}.",
        encode_segment(r#"{"alg":"none","typ":"JWT"}"#),
        encode_segment(&good.to_string())
    );
    cases.push(("alg none", none));
    cases.push(("garbage", "not.a.token".into()));

    for (label, token) in cases {
        let res = app.call(me(token)).await;
        assert_eq!(res.status, 401, "{label}: {}", res.text());
        res.problem(401, "unauthorized");
    }
    let _ = app
        .call(TestRequest::get().uri("/api/v1/auth/me"))
        .await
        .problem(401, "unauthorized");
    assert!(app
        .audit_trail()
        .contains(&("auth.token_rejected".into(), "denied".into())));
}

/// Base64url without padding, for hand-built tokens.
mod base64_like {
    pub fn encode_segment(s: &str) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[actix_web::test]
async fn access_tokens_expire_by_the_service_clock() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Counsellor]).await;
    app.clock.advance(Duration::seconds(899));
    assert_eq!(app.get_as(&user, "/api/v1/auth/me").await.status, 200);
    app.clock.advance(Duration::seconds(1));
    app.get_as(&user, "/api/v1/auth/me")
        .await
        .problem(401, "unauthorized");
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Psychologist]).await;
    let first = app.call(refresh(&user.refresh_token)).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let second_token = first.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_token, user.refresh_token);
    let access = first.json()["access_token"].as_str().unwrap().to_owned();
    let me = app
        .call(
            TestRequest::get()
                .uri("/api/v1/auth/me")
                .insert_header(("authorization", format!("Bearer {access}"))),
        )
        .await;
    assert_eq!(me.status, 200);

    // The first token again: theft detected, the whole family is revoked.
    app.call(refresh(&user.refresh_token))
        .await
        .problem(401, "unauthorized");
    app.call(refresh(&second_token))
        .await
        .problem(401, "unauthorized");
    assert!(app
        .audit_trail()
        .contains(&("auth.refresh_reuse".into(), "denied".into())));
    // Another session of the same person is unaffected.
    let other = app.login(&user.email, TEST_PASSWORD).await.json();
    assert_eq!(
        app.call(refresh(other["refresh_token"].as_str().unwrap()))
            .await
            .status,
        200
    );
    app.call(refresh("no-such-token"))
        .await
        .problem(401, "unauthorized");
}

#[actix_web::test]
async fn concurrent_use_of_one_refresh_token_rotates_it_once() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Manager]).await;
    let (a, b) = futures::join!(
        app.call(refresh(&user.refresh_token)),
        app.call(refresh(&user.refresh_token))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);
}

#[actix_web::test]
async fn refresh_tokens_expire_after_8_idle_hours_and_7_days_after_sign_in() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::SocialWorker]).await;
    app.clock.advance(Duration::hours(8) + Duration::seconds(1));
    app.call(refresh(&user.refresh_token))
        .await
        .problem(401, "unauthorized");

    let mut token = app.login(&user.email, TEST_PASSWORD).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Used every 7 hours, the family still ends 7 days after the sign-in.
    for _ in 0..23 {
        app.clock.advance(Duration::hours(7));
        let res = app.call(refresh(&token)).await;
        assert_eq!(res.status, 200, "{}", res.text());
        token = res.json()["refresh_token"].as_str().unwrap().to_owned();
    }
    app.clock.advance(Duration::hours(7)); // 168 h after sign-in
    app.call(refresh(&token)).await.problem(401, "unauthorized");
}

#[actix_web::test]
async fn logout_ends_one_session_and_logout_all_every_session() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Counsellor]).await;
    let other_session = app.login(&user.email, TEST_PASSWORD).await.json();

    let res = app
        .call_as(
            &user,
            TestRequest::post()
                .uri("/api/v1/auth/logout")
                .set_json(json!({"refresh_token": user.refresh_token})),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    app.call(refresh(&user.refresh_token))
        .await
        .problem(401, "unauthorized");
    let other_refresh = other_session["refresh_token"].as_str().unwrap();
    let rotated = app.call(refresh(other_refresh)).await;
    assert_eq!(rotated.status, 200);

    let res = app
        .call_as(&user, TestRequest::post().uri("/api/v1/auth/logout-all"))
        .await;
    assert_eq!(res.status, 204);
    app.get_as(&user, "/api/v1/auth/me")
        .await
        .problem(401, "unauthorized");
    app.call(refresh(rotated.json()["refresh_token"].as_str().unwrap()))
        .await
        .problem(401, "unauthorized");
    assert!(app
        .audit_trail()
        .contains(&("auth.logout_all".into(), "allowed".into())));
}

fn change(current: &str, new: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/auth/password")
        .set_json(json!({"current_password": current, "new_password": new}))
}

#[actix_web::test]
async fn password_change_follows_the_rules_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let user = app.user(&[Role::Manager]).await;
    let local = user.email.split('@').next().unwrap().to_owned();

    let res = app
        .call_as(&user, change("wrong current", "a brand new passphrase"))
        .await;
    res.problem(422, "validation");
    assert_eq!(
        res.field_errors(),
        vec![("/current_password".into(), "wrong".into())]
    );
    for (new, code) in [
        ("short", "too_short"),
        (TEST_PASSWORD, "unchanged"),
        (&*format!("xx{local}xx-long-enough"), "contains_email"),
    ] {
        let res = app.call_as(&user, change(TEST_PASSWORD, new)).await;
        res.problem(422, "validation");
        assert_eq!(
            res.field_errors(),
            vec![("/new_password".into(), code.into())],
            "{new}"
        );
    }
    let res = app
        .call_as(&user, change(TEST_PASSWORD, "a brand new passphrase"))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let pair = res.json();
    app.get_as(&user, "/api/v1/auth/me")
        .await
        .problem(401, "unauthorized");
    app.call(refresh(&user.refresh_token))
        .await
        .problem(401, "unauthorized");
    let fresh = TestUser {
        token: pair["access_token"].as_str().unwrap().to_owned(),
        ..user.clone()
    };
    assert_eq!(app.get_as(&fresh, "/api/v1/auth/me").await.status, 200);
    assert_eq!(
        app.login(&user.email, "a brand new passphrase")
            .await
            .status,
        200
    );
    assert_eq!(app.login(&user.email, TEST_PASSWORD).await.status, 401);
}

#[actix_web::test]
async fn a_new_account_must_change_its_password_before_anything_else() {
    let app = TestApp::spawn().await;
    let admin = app.user(&[Role::Admin]).await;
    let res = app
        .call_as(
            &admin,
            TestRequest::post().uri("/api/v1/staff").set_json(json!({
                "email": "Nowa.Osoba@Club.test", "full_name": "Nowa Osoba",
                "roles": ["social_worker"], "initial_password": "initial password 1"
            })),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["must_change_password"], true);

    let pair = app
        .login("nowa.osoba@club.test", "initial password 1")
        .await;
    assert_eq!(pair.status, 200, "{}", pair.text());
    let pair = pair.json();
    let newcomer = TestUser {
        id: pair["staff"]["id"].as_str().unwrap().into(),
        email: "nowa.osoba@club.test".into(),
        password: "initial password 1".into(),
        roles: vec![Role::SocialWorker],
        token: pair["access_token"].as_str().unwrap().into(),
        refresh_token: pair["refresh_token"].as_str().unwrap().into(),
    };
    app.get_as(&newcomer, "/api/v1/staff")
        .await
        .problem(403, "password-change-required");
    app.call_as(
        &newcomer,
        TestRequest::post().uri("/api/v1/auth/logout-all"),
    )
    .await
    .problem(403, "password-change-required");
    assert_eq!(
        app.get_as(&newcomer, "/api/v1/auth/me").await.json()["staff"]["must_change_password"],
        true
    );
    assert_eq!(
        app.call(refresh(&newcomer.refresh_token)).await.status,
        200,
        "refresh still works"
    );

    let res = app
        .call_as(
            &newcomer,
            change("initial password 1", "my own secret phrase"),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let after = TestUser {
        token: res.json()["access_token"].as_str().unwrap().into(),
        ..newcomer
    };
    assert_eq!(app.get_as(&after, "/api/v1/staff").await.status, 200);
    assert!(app
        .audit_trail()
        .contains(&("auth.password_change_required".into(), "denied".into())));
}

#[actix_web::test]
async fn login_with_default_argon2_parameters_rehashes_weaker_hashes() {
    // Accounts hashed with cheap parameters are re-hashed at sign-in once the configured
    // parameters are stronger (here the production defaults).
    let app = TestApp::spawn_with(&[
        ("REINTEGRA_ARGON2_M_KIB", "19456"),
        ("REINTEGRA_ARGON2_T", "2"),
    ])
    .await;
    let cheap = reintegra::config::Argon2Params {
        m_kib: 64,
        t: 1,
        p: 1,
    };
    let (id, email) = app.create_staff(&[Role::Manager], false);
    let weak = reintegra::auth::password::hash_with(&cheap, TEST_PASSWORD).unwrap();
    {
        use diesel::prelude::*;
        use reintegra::db::schema::staff;
        diesel::update(staff::table.find(&id))
            .set(staff::password_hash.eq(weak))
            .execute(&mut app.conn())
            .unwrap();
    }
    assert_eq!(app.login(&email, TEST_PASSWORD).await.status, 200);
    let stored: String = {
        use diesel::prelude::*;
        use reintegra::db::schema::staff;
        staff::table
            .find(&id)
            .select(staff::password_hash)
            .first(&mut app.conn())
            .unwrap()
    };
    assert!(stored.contains("m=19456,t=2,p=1"), "{stored}");
    assert_eq!(app.login(&email, TEST_PASSWORD).await.status, 200);
}
