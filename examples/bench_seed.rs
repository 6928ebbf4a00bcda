//! Seeds the benchmark club into an empty database, straight through the library (not the API),
//! and prints what `scripts/bench` needs as one JSON line.
//!
//! `DATABASE_URL=… bench_seed [participants [attendance rows]]` (default 10,000 participants and
//! no history). Passwords are hashed with the production argon2 parameters, so sign-ins cost what they cost in production.

#[path = "../benches/support/seed.rs"]
mod seed;

use diesel::connection::SimpleConnection;
use reintegra::config::{Argon2Params, DatabaseUrl};
use reintegra::db::{self, migrations};

fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let participants: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("a number of participants"))
        .unwrap_or(10_000);
    // A second argument adds a year of history with about that many attendance rows (the
    // report benchmark, scripts/bench-reports).
    let attendance_rows: usize = std::env::args()
        .nth(2)
        .map(|n| n.parse().expect("a number of attendance rows"))
        .unwrap_or(0);
    let url = DatabaseUrl::parse(&url).expect("a database URL");
    let mut conn = db::establish(&url).expect("connect");
    migrations::run_pending(&mut conn).expect("migrate");
    let hash = reintegra::auth::password::hash_with(&Argon2Params::default(), seed::PASSWORD)
        .expect("hash");
    let seeded = seed::seed_club(&mut conn, &hash, participants, 20);
    // Every other participant is in a programme: 200 sessions of 20 of them for the attendance
    // PUTs, recorded by the manager (who may record any session's attendance).
    let in_programme: Vec<String> = seeded.participant_ids.iter().step_by(2).cloned().collect();
    // The sessions draw on 1,000 of them (each in four groups), so that history (below) still
    // has most programmes to exit.
    let invitees = &in_programme[..in_programme.len().min(1_000)];
    let sessions = seed::seed_sessions(&mut conn, &seeded.manager_id, invitees, 200, 20);
    let patch_ids: Vec<String> = seeded
        .participant_ids
        .iter()
        .step_by(20)
        .take(400)
        .cloned()
        .collect();
    if attendance_rows > 0 {
        // The participants the load benchmark reads, patches and records attendance for keep
        // their open programmes, so its rows measure the same work with or without history.
        let keep_open: std::collections::HashSet<String> = sessions
            .iter()
            .flat_map(|(_, invited)| invited.iter().cloned())
            .chain(patch_ids.iter().cloned())
            .chain([seeded.participant_ids[0].clone()])
            .collect();
        seed::seed_history(&mut conn, &seeded.manager_id, attendance_rows, &keep_open);
    }
    // A database in service has planner statistics and, on PostgreSQL, a visibility map that
    // lets index-only scans skip the table (autovacuum, or SQLite's `PRAGMA optimize`); one
    // seeded in a single transaction has neither until vacuumed and analysed.
    let maintenance = match url {
        DatabaseUrl::Postgres(_) => "VACUUM ANALYZE",
        DatabaseUrl::Sqlite(_) => "ANALYZE",
    };
    conn.batch_execute(maintenance).expect("vacuum and analyze");
    println!(
        "{}",
        serde_json::json!({
            "password": seed::PASSWORD,
            "admin": "admin@bench.test",
            "manager": "manager@bench.test",
            "lead": "lead0@bench.test",
            // Led by lead0, so every role the bench signs in as may read it.
            "participant_id": seeded.participant_ids[0],
            "patch_ids": patch_ids,
            // "session,participant,…;session,…" for wrk's Lua.
            "attendance": sessions
                .iter()
                .map(|(s, ps)| format!("{s},{}", ps.join(",")))
                .collect::<Vec<_>>()
                .join(";"),
        })
    );
}
