//! Latency of `GET /api/v1/participants?q=…` over 10,000 participants, through the whole
//! application (middleware, token check, caseload scoping in SQL, the `participant.list` audit
//! append), in process. Prints the median and the 95th percentile of 300 searches.
//!
//! `cargo bench --bench participant_search` runs on a temporary SQLite file; with
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates (and drops) a
//! PostgreSQL database on that server instead.

#[path = "support/bench_db.rs"]
mod bench_db;
#[path = "support/seed.rs"]
mod seed;

use std::time::Instant;

use actix_web::test::{call_service, init_service, read_body, TestRequest};
use chrono::NaiveDate;

use bench_db::{token_for, BenchDb};
use reintegra::db::{self, write_transaction};
use reintegra::http::AppError;
use reintegra::participants::model::CareTeamEntry;
use reintegra::policy::Role;
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
    let bench = BenchDb::from_env();
    let state = bench.state();
    let mut conn = bench.connect();
    let (manager_id, clinician_id) = seed(&state, &mut conn);
    let samples_manager = actix_web::rt::System::new().block_on(measure(&state, manager_id));
    let samples_clinician = actix_web::rt::System::new().block_on(measure(&state, clinician_id));
    report(bench.backend, "manager (all 10,000)", samples_manager);
    report(
        bench.backend,
        "clinician (caseload of 1,000)",
        samples_clinician,
    );
}

/// 10,000 participants in one transaction; one clinician leads every tenth.
fn seed(state: &AppState, conn: &mut db::AnyConnection) -> (String, String) {
    let manager = uuid::Uuid::new_v4().to_string();
    let clinician = uuid::Uuid::new_v4().to_string();
    let other = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let hash = reintegra::auth::password::hash_with(&state.passwords.params(), seed::PASSWORD)
        .expect("hash");
    write_transaction(conn, |conn| -> Result<(), AppError> {
        reintegra::staff::repo::insert(
            conn,
            &seed::staff_row(&manager, "manager@bench.test", &hash),
            &[Role::Manager],
        )?;
        reintegra::staff::repo::insert(
            conn,
            &seed::staff_row(&clinician, "worker@bench.test", &hash),
            &[Role::SocialWorker],
        )?;
        reintegra::staff::repo::insert(
            conn,
            &seed::staff_row(&other, "other@bench.test", &hash),
            &[Role::SocialWorker],
        )?;
        for i in 0..PARTICIPANTS {
            let referred_on = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
            let mut row = seed::participant_row(i, referred_on);
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
    let token = token_for(state, &staff_id).await;
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
