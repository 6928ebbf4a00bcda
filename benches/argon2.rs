//! Time of one argon2id verification with the production parameters (m = 19 MiB, t = 2, p = 1),
//! the cost every sign-in pays. Run with `cargo bench --bench argon2`; prints the median of 30.

use std::time::Instant;

use reintegra::auth::password::{hash_with, verify_with};
use reintegra::config::Argon2Params;

fn main() {
    let params = Argon2Params::default();
    let hash = hash_with(&params, "a long enough password").expect("hash");
    let mut samples: Vec<f64> = (0..30)
        .map(|_| {
            let start = Instant::now();
            let verified = verify_with(&params, "a long enough password", &hash);
            assert!(verified.matches);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    let median = samples[samples.len() / 2];
    println!(
        "argon2id verify (m={} KiB, t={}, p={}): median {:.1} ms, min {:.1} ms, max {:.1} ms over {} runs",
        params.m_kib,
        params.t,
        params.p,
        median,
        samples[0],
        samples[samples.len() - 1],
        samples.len()
    );
}
