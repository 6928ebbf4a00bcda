//! Latency of the participant CSV export, `GET /api/v1/participants` with `Accept: text/csv`,
//! over 10,000 participants (each with one or two risk groups, a lead, every other one in an open
//! programme), through the whole application in process: middleware, token check, the list
//! query and its joins, CSV rendering, the `participant.list` audit append. Prints the median,
//! the fastest and the slowest of `BENCH_RUNS` exports (default 9), after one warm-up export.
//!
//! `cargo bench --bench participant_csv` runs on a temporary SQLite file; with
//! `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres` it creates (and drops) a
//! PostgreSQL database on that server instead. Not part of `scripts/test`.

#[path = "support/bench_db.rs"]
mod bench_db;
#[path = "support/seed.rs"]
mod seed;

use std::time::Instant;

use actix_web::test::{call_service, init_service, read_body, TestRequest};

use bench_db::{token_for, BenchDb};
use reintegra::db;
use reintegra::state::AppState;

const PARTICIPANTS: usize = 10_000;
const LEADS: usize = 20;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(9);
    let bench = BenchDb::from_env();
    let state = bench.state();
    let mut conn = bench.connect();
    let manager_id = seed(&state, &mut conn);
    let samples = actix_web::rt::System::new().block_on(measure(&state, manager_id, runs));
    report(bench.backend, samples);
}

/// The bench club (see `support/seed.rs`); answers the manager's id.
fn seed(state: &AppState, conn: &mut db::AnyConnection) -> String {
    let started = Instant::now();
    let hash = reintegra::auth::password::hash_with(&state.passwords.params(), seed::PASSWORD)
        .expect("hash");
    let seeded = seed::seed_club(conn, &hash, PARTICIPANTS, LEADS);
    eprintln!(
        "seeded {PARTICIPANTS} participants in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    seeded.manager_id
}

async fn measure(state: &AppState, staff_id: String, runs: usize) -> Vec<f64> {
    let app = init_service(reintegra::app(state.clone())).await;
    let token = token_for(state, &staff_id).await;
    let mut samples = Vec::with_capacity(runs);
    // One warm-up export (connections opened, statements prepared), not counted.
    for run in 0..=runs {
        let req = TestRequest::get()
            .uri("/api/v1/participants")
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("accept", "text/csv"))
            .to_request();
        let started = Instant::now();
        let res = call_service(&app, req).await;
        let status = res.status();
        let body = read_body(res).await;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        assert!(status.is_success(), "export failed: {status}");
        let lines = body.iter().filter(|b| **b == b'\n').count();
        assert_eq!(
            lines,
            PARTICIPANTS + 1,
            "header and one line per participant"
        );
        if run > 0 {
            samples.push(elapsed);
        }
    }
    samples
}

fn report(backend: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let median = if samples.len() % 2 == 1 {
        samples[samples.len() / 2]
    } else {
        (samples[samples.len() / 2 - 1] + samples[samples.len() / 2]) / 2.0
    };
    println!(
        "{backend}: GET /participants (text/csv, {PARTICIPANTS} rows) as manager: median {median:.1} ms, min {:.1} ms, max {:.1} ms over {} exports",
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    );
}
