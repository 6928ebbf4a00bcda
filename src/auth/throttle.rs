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

/// How many rejected tokens one client address has recorded one by one per minute; the rest
/// are counted and reported with the next recorded one.
pub const REJECTIONS_RECORDED_PER_MINUTE: u32 = 10;

/// What to do with a request whose token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionVerdict {
    /// Record it in the audit log, with the count of rejections from this address that were
    /// not recorded one by one since the last recorded one.
    Record { unrecorded_before: u32 },
    /// Answer 401 without an audit event of its own (counted for the next recorded one).
    Count,
    /// Too many from this address: 429 for this many seconds.
    Throttle(u64),
}

/// Bounds what requests without a valid token cost: an anonymous flood neither grows the audit
/// log (and takes the chain's head) without limit nor gets unlimited answers. Every rejection
/// stays accounted for: those not recorded one by one are counted in the next recorded event.
pub struct RejectionLimiter {
    answered_per_minute: u32,
    seen: Mutex<HashMap<IpAddr, RejectionWindow>>,
}

struct RejectionWindow {
    started: DateTime<Utc>,
    count: u32,
    unrecorded: u32,
}

impl RejectionLimiter {
    pub fn new(answered_per_minute: u32) -> Self {
        RejectionLimiter {
            answered_per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one rejection from `ip` (requests with no known address are always recorded).
    pub fn note(&self, ip: Option<IpAddr>, now: DateTime<Utc>) -> RejectionVerdict {
        let Some(ip) = ip else {
            return RejectionVerdict::Record {
                unrecorded_before: 0,
            };
        };
        let window = Duration::minutes(1);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            // Bounded memory under a spray of addresses: forget the quiet ones with nothing owed.
            seen.retain(|_, w| now - w.started < window || w.unrecorded > 0);
        }
        let w = seen.entry(ip).or_insert(RejectionWindow {
            started: now,
            count: 0,
            unrecorded: 0,
        });
        if now - w.started >= window {
            w.started = now;
            w.count = 0;
        }
        w.count += 1;
        if w.count > self.answered_per_minute {
            w.unrecorded += 1;
            let wait = (w.started + window - now).num_seconds().max(1);
            return RejectionVerdict::Throttle(wait as u64);
        }
        if w.count > REJECTIONS_RECORDED_PER_MINUTE {
            w.unrecorded += 1;
            return RejectionVerdict::Count;
        }
        RejectionVerdict::Record {
            unrecorded_before: std::mem::take(&mut w.unrecorded),
        }
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

    #[test]
    fn rejections_are_recorded_then_counted_then_throttled_and_none_is_lost() {
        let limiter = RejectionLimiter::new(15);
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let verdicts: Vec<_> = (0..20).map(|_| limiter.note(Some(ip), t0)).collect();
        let first = RejectionVerdict::Record {
            unrecorded_before: 0,
        };
        assert!(verdicts[..10].iter().all(|v| *v == first));
        assert!(verdicts[10..15]
            .iter()
            .all(|v| *v == RejectionVerdict::Count));
        assert!(verdicts[15..]
            .iter()
            .all(|v| *v == RejectionVerdict::Throttle(60)));
        // The next minute's first rejection carries the 10 that were not recorded one by one.
        assert_eq!(
            limiter.note(Some(ip), t0 + Duration::seconds(60)),
            RejectionVerdict::Record {
                unrecorded_before: 10
            }
        );
        assert_eq!(limiter.note(None, t0), first);
    }
}
