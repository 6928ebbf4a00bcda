//! Latency of `GET /api/v1/participants?q=…` over 10,000 participants, through the whole
//! application (middleware, token check, caseload scoping in SQL, the `participant.list` audit
//! append), in process. Prints the median and the 95th percentile of 300 searches.
//!
//! `cargo bench --bench participant_search` runs on a temporary SQLite file; with
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates (and drops) a
//! PostgreSQL database on that server instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix_web::test::{call_service, init_service, read_body, TestRequest};
use chrono::{NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;

use reintegra::clock::SystemClock;
use reintegra::config::{Config, DatabaseUrl};
use reintegra::db::{self, migrations, write_transaction};
use reintegra::http::AppError;
use reintegra::participants::model::{CareTeamEntry, ParticipantRow};
use reintegra::participants::pesel::{Pesel, Sex};
use reintegra::policy::Role;
use reintegra::staff::model::StaffRow;
use reintegra::state::AppState;

const PARTICIPANTS: usize = 10_000;
const SEARCHES: usize = 300;
const FIRST: [&str; 8] = [
    "Anna", "Łucja", "Zofia", "Marek", "Piotr", "Ewa", "Jan", "Żaneta",
];
const LAST: [&str; 10] = [
    "Nowak",
    "Kowalski",
    "Wiśniewska",
    "Wójcik",
    "Kamiński",
    "Lewandowska",
    "Zieliński",
    "Szymańska",
    "Woźniak",
    "Dąbrowski",
];

fn main() {
    let pg = std::env::var("BENCH_DATABASE_URL").ok();
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg_name) = match &pg {
        Some(admin) => {
            let name = format!("reintegra_bench_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(admin).expect("connect to PostgreSQL");
            conn.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
            (format!("{base}/{name}"), Some(name))
        }
        None => (
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
    };
    let vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", url.clone()),
        (
            "REINTEGRA_JWT_SECRET",
            "bench-secret-bench-secret-bench-secret".to_owned(),
        ),
        ("REINTEGRA_ARGON2_M_KIB", "64".to_owned()),
        ("REINTEGRA_ARGON2_T", "1".to_owned()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("config");
    let state = AppState::new(config, Arc::new(SystemClock)).expect("state");
    let db_url = DatabaseUrl::parse(&url).expect("url");
    let mut conn = db::establish(&db_url).expect("connect");
    migrations::run_pending(&mut conn).expect("migrate");

    let (manager_id, clinician_id) = seed(&state, &mut conn);
    let samples_manager = actix_web::rt::System::new().block_on(measure(&state, manager_id));
    let samples_clinician = actix_web::rt::System::new().block_on(measure(&state, clinician_id));
    let backend = if pg.is_some() { "postgres" } else { "sqlite" };
    report(backend, "manager (all 10,000)", samples_manager);
    report(backend, "clinician (caseload of 1,000)", samples_clinician);

    drop(conn);
    drop(state);
    if let (Some(admin), Some(name)) = (pg, pg_name) {
        if let Ok(mut c) = diesel::PgConnection::establish(&admin) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn staff_row(id: &str, email: &str, state: &AppState) -> StaffRow {
    let now = Utc::now().naive_utc();
    StaffRow {
        id: id.to_owned(),
        email: email.to_owned(),
        full_name: email.to_owned(),
        full_name_key: email.to_owned(),
        password_hash: reintegra::auth::password::hash_with(
            &state.passwords.params(),
            "bench password 123",
        )
        .expect("hash"),
        active: true,
        active_until: None,
        must_change_password: false,
        token_version: 1,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// 10,000 participants in one transaction; one clinician leads every tenth.
fn seed(state: &AppState, conn: &mut db::AnyConnection) -> (String, String) {
    let manager = uuid::Uuid::new_v4().to_string();
    let clinician = uuid::Uuid::new_v4().to_string();
    let other = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    write_transaction(conn, |conn| -> Result<(), AppError> {
        reintegra::staff::repo::insert(
            conn,
            &staff_row(&manager, "manager@bench.test", state),
            &[Role::Manager],
        )?;
        reintegra::staff::repo::insert(
            conn,
            &staff_row(&clinician, "worker@bench.test", state),
            &[Role::SocialWorker],
        )?;
        reintegra::staff::repo::insert(
            conn,
            &staff_row(&other, "other@bench.test", state),
            &[Role::SocialWorker],
        )?;
        let now = Utc::now().naive_utc();
        for i in 0..PARTICIPANTS {
            let birth = NaiveDate::from_ymd_opt(
                1960 + (i % 45) as i32,
                1 + (i % 12) as u32,
                1 + (i % 28) as u32,
            )
            .expect("date");
            let sex = if i % 2 == 0 { Sex::Female } else { Sex::Male };
            let pesel = Pesel::generate(birth, (i / 45 % 10_000) as u16, sex).expect("pesel");
            let mut row = ParticipantRow {
                id: uuid::Uuid::new_v4().to_string(),
                status: "referred".into(),
                first_name: String::new(),
                last_name: String::new(),
                first_name_key: String::new(),
                last_name_key: String::new(),
                first_last_key: String::new(),
                last_first_key: String::new(),
                pesel: Some(pesel.as_str().to_owned()),
                id_document_kind: None,
                id_document_number: None,
                id_document_country: None,
                birth_date: birth,
                sex: if i % 2 == 0 { "female" } else { "male" }.into(),
                phone: None,
                email: None,
                address_street: None,
                address_postal_code: None,
                address_city: None,
                education_level: None,
                labour_status_at_entry: None,
                disability: None,
                legal_rep_full_name: None,
                legal_rep_relation: None,
                legal_rep_phone: None,
                referral_source: "ops".into(),
                referral_reference: None,
                referred_on: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            row.set_names(
                FIRST[i % FIRST.len()],
                &format!("{}{}", LAST[i % LAST.len()], i / LAST.len()),
            );
            reintegra::participants::repo::insert(conn, &row)?;
            let lead = if i % 10 == 0 { &clinician } else { &other };
            reintegra::participants::repo::replace_care_team(
                conn,
                &row.id,
                &[CareTeamEntry {
                    staff_id: lead.clone(),
                    lead: true,
                }],
            )?;
        }
        Ok(())
    })
    .expect("seed");
    eprintln!(
        "seeded {PARTICIPANTS} participants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (manager, clinician)
}

async fn measure(state: &AppState, staff_id: String) -> Vec<f64> {
    let app = init_service(reintegra::app(state.clone())).await;
    let member = {
        let id = staff_id.clone();
        state
            .db
            .read(move |c| Ok(reintegra::staff::repo::find(c, &id)?))
            .await
            .expect("staff")
            .expect("staff exists")
    };
    let token = reintegra::auth::token::issue_access(
        &state.jwt_secret,
        Utc::now(),
        3600,
        &staff_id,
        member.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        member.row.token_version,
    )
    .expect("token");
    let queries = [
        "now",
        "kowal",
        "wis",
        "lucja",
        "zof",
        "dabrowski1",
        "anna now",
        "nowak12 an",
        "7",
        "850",
    ];
    let mut samples = Vec::with_capacity(SEARCHES);
    for i in 0..SEARCHES {
        let q = queries[i % queries.len()];
        let req = TestRequest::get()
            .uri(&format!("/api/v1/participants?q={}", q.replace(' ', "%20")))
            .insert_header(("authorization", format!("Bearer {token}")))
            .to_request();
        let started = Instant::now();
        let res = call_service(&app, req).await;
        let status = res.status();
        let _ = read_body(res).await;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(status.is_success(), "search failed: {status}");
    }
    samples
}

fn report(backend: &str, who: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{backend}: GET /participants?q=… as {who}: median {:.2} ms, p95 {:.2} ms over {} searches",
        pick(0.5),
        pick(0.95),
        samples.len()
    );
}
