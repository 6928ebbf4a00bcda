//! Login throttling: per e-mail in the database (5 failures in a sliding 15 minutes), and per
//! client address in memory (`REINTEGRA_LOGIN_PER_ADDRESS_PER_MINUTE`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::db::AnyConnection;

pub const MAX_FAILURES: i64 = 5;
pub fn failure_window() -> Duration {
    Duration::minutes(15)
}

/// `Some(seconds)` until the oldest failure in the window leaves it, while 5 failures stand.
pub fn email_blocked_for(
    conn: &mut AnyConnection,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<u64>> {
    let since = now - failure_window();
    let recent: Vec<NaiveDateTime> = login_failures::table
        .filter(login_failures::email_key.eq(email))
        .filter(login_failures::failed_at.gt(since))
        .select(login_failures::failed_at)
        .order(login_failures::failed_at.asc())
        .load(conn)?;
    if (recent.len() as i64) < MAX_FAILURES {
        return Ok(None);
    }
    let oldest = recent[recent.len() - MAX_FAILURES as usize];
    let seconds = (oldest + failure_window() - now).num_seconds().max(1);
    Ok(Some(seconds as u64))
}

/// Whether a password check may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// It may; it already counts as a failure until a success clears the e-mail's failures.
    Counted,
    /// Five failures stand: `Retry-After` seconds.
    Blocked(u64),
}

/// Decides whether a password check for `email` may run and, when it may, records it as a
/// failure before the check runs. Deciding and recording happen in the caller's transaction,
/// serialised per e-mail (PostgreSQL: a transaction-scoped advisory lock; SQLite: the single
/// writer), so attempts in flight count against each other: 30 parallel wrong passwords give at
/// most 5 checks, not 30.
pub fn claim_attempt(
    conn: &mut AnyConnection,
    email: &str,
    now: NaiveDateTime,
) -> QueryResult<Attempt> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7316))")
            .bind::<diesel::sql_types::Text, _>(email)
            .execute(pg)?;
    }
    if let Some(wait) = email_blocked_for(conn, email, now)? {
        return Ok(Attempt::Blocked(wait));
    }
    record_failure(conn, email, now)?;
    Ok(Attempt::Counted)
}

fn record_failure(conn: &mut AnyConnection, email: &str, now: NaiveDateTime) -> QueryResult<()> {
    // Failures older than the window no longer count, for any e-mail: the table holds at most
    // the last 15 minutes of failures, however many addresses are sprayed at it.
    diesel::delete(
        login_failures::table.filter(login_failures::failed_at.le(now - failure_window())),
    )
    .execute(conn)?;
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(uuid::Uuid::new_v4().to_string()),
            login_failures::email_key.eq(email),
            login_failures::failed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Login attempts per client address in the last minute (all attempts, not only failures).
pub struct AddressLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, VecDeque<DateTime<Utc>>>>,
}

impl AddressLimiter {
    pub fn new(per_minute: u32) -> Self {
        AddressLimiter {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `Err(seconds)` to wait when the address is over its limit.
    pub fn attempt(&self, ip: Option<IpAddr>, now: DateTime<Utc>) -> Result<(), u64> {
        let Some(ip) = ip else { return Ok(()) };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let window = Duration::minutes(1);
        if seen.len() > 10_000 {
            // Bounded memory under a spray of addresses: forget the quiet ones.
            seen.retain(|_, times| times.back().is_some_and(|t| now - *t < window));
        }
        let times = seen.entry(ip).or_default();
        while times.front().is_some_and(|t| now - *t >= window) {
            times.pop_front();
        }
        if times.len() as u32 >= self.per_minute {
            let wait = times
                .front()
                .map(|t| (*t + window - now).num_seconds().max(1))
                .unwrap_or(60);
            return Err(wait as u64);
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn addresses_are_limited_per_minute() {
        let limiter = AddressLimiter::new(2);
        let ip: IpAddr = "10.0.0.5".parse().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        assert!(limiter.attempt(Some(ip), t0).is_ok());
        assert!(limiter
            .attempt(Some(ip), t0 + Duration::seconds(10))
            .is_ok());
        assert_eq!(
            limiter.attempt(Some(ip), t0 + Duration::seconds(20)),
            Err(40)
        );
        assert!(limiter
            .attempt(Some("10.0.0.6".parse().unwrap()), t0)
            .is_ok());
        assert!(limiter
            .attempt(Some(ip), t0 + Duration::seconds(61))
            .is_ok());
    }
}
