//! The one source of "now". Nothing else calls `Utc::now()`, so tests can move time.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Warsaw;
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The calendar date in the unit's time zone: dates such as `exit_date` are Polish dates.
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&Warsaw).date_naive()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move. Cloning shares the same time.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        TestClock(Arc::new(Mutex::new(now)))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_is_the_warsaw_date() {
        // 23:30 UTC on 31 Dec is already 1 Jan in Warsaw (UTC+1 in winter).
        let clock = TestClock::at(Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap());
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        clock.advance(chrono::Duration::hours(-1));
        assert_eq!(
            clock.today(),
            NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()
        );
    }
}
