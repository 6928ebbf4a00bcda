//! Programme date arithmetic (api.md §13.4): adding months clamps to the last day of the month,
//! and a programme of `n` months ends the day before `start + n months`.

use chrono::{Datelike, NaiveDate};

/// The statutory cap on a CIS programme, extensions included (domain brief §2).
pub const CIS_MAX_MONTHS: u32 = 24;

/// `planned_months` lies in this range everywhere (api.md §13.4).
pub const MIN_MONTHS: u32 = 1;
pub const MAX_MONTHS: u32 = 36;

/// The number of days in `month` (1–12) of `year`.
fn days_in_month(year: i32, month: u32) -> Option<u32> {
    let (next_year, next_month) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month + 1)
    };
    let first_of_next = NaiveDate::from_ymd_opt(next_year, next_month, 1)?;
    Some(first_of_next.pred_opt()?.day())
}

/// `date + months`, keeping the day of the month unless the target month is shorter, in which
/// case its last day (2024-01-31 + 1 month = 2024-02-29). `None` only past chrono's range.
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    let zero_based = date.month0() as i64 + i64::from(months);
    let year = i32::try_from(i64::from(date.year()) + zero_based.div_euclid(12)).ok()?;
    let month = u32::try_from(zero_based.rem_euclid(12)).ok()? + 1;
    let day = date.day().min(days_in_month(year, month)?);
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The last day of a programme of `months` months starting on `start`:
/// `start + months − 1 day` (2024-01-15 + 12 → 2025-01-14; 2024-01-31 + 1 → 2024-02-28).
pub fn planned_end_date(start: NaiveDate, months: u32) -> Option<NaiveDate> {
    add_months(start, months)?.pred_opt()
}

/// The whole months a span of days from `start` through `last_day` (both included) covers: the
/// largest `m` with `start + m months ≤ last_day + 1 day` (months added clamp as in
/// [`add_months`]), 0 when `last_day` precedes `start`. The inverse of [`planned_end_date`]: a
/// programme of `n` months covers `n` months on its planned end date and `n − 1` the day before.
pub fn months_covered(start: NaiveDate, last_day: NaiveDate) -> u32 {
    let Some(next) = last_day.succ_opt() else {
        return 0;
    };
    let diff = (i64::from(next.year()) - i64::from(start.year())) * 12 + i64::from(next.month())
        - i64::from(start.month());
    let mut months = u32::try_from(diff.max(0)).unwrap_or(0);
    // `start + diff months` lies in `next`'s month; past `next` only by the day of the month.
    while months > 0 && add_months(start, months).is_none_or(|d| d > next) {
        months -= 1;
    }
    months
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_contracts_examples() {
        assert_eq!(planned_end_date(d("2024-01-15"), 12), Some(d("2025-01-14")));
        assert_eq!(add_months(d("2024-01-31"), 1), Some(d("2024-02-29")));
        assert_eq!(planned_end_date(d("2024-01-31"), 1), Some(d("2024-02-28")));
    }

    #[test]
    fn a_table_of_month_ends_leap_years_and_year_boundaries() {
        let cases = [
            // (start, months, start + months, planned end)
            ("2023-01-31", 1, "2023-02-28", "2023-02-27"),
            ("2024-02-29", 12, "2025-02-28", "2025-02-27"),
            ("2024-02-29", 48, "2028-02-29", "2028-02-28"),
            ("2026-03-31", 1, "2026-04-30", "2026-04-29"),
            ("2026-03-02", 12, "2027-03-02", "2027-03-01"),
            ("2026-03-01", 1, "2026-04-01", "2026-03-31"),
            ("2026-12-15", 1, "2027-01-15", "2027-01-14"),
            ("2026-11-30", 3, "2027-02-28", "2027-02-27"),
            ("2026-08-31", 6, "2027-02-28", "2027-02-27"),
            ("2026-01-01", 24, "2028-01-01", "2027-12-31"),
            ("2026-05-31", 36, "2029-05-31", "2029-05-30"),
            ("2026-01-10", 0, "2026-01-10", "2026-01-09"),
        ];
        for (start, months, added, end) in cases {
            assert_eq!(
                add_months(d(start), months),
                Some(d(added)),
                "{start} + {months}"
            );
            assert_eq!(
                planned_end_date(d(start), months),
                Some(d(end)),
                "{start} for {months} months"
            );
        }
    }

    #[test]
    fn months_covered_counts_whole_months_with_both_ends_included() {
        let cases = [
            ("2026-03-02", "2026-03-01", 0),
            ("2026-03-02", "2026-03-02", 0),
            ("2026-03-02", "2026-04-01", 1),
            ("2026-03-02", "2026-04-02", 1),
            ("2026-03-02", "2026-05-31", 2),
            ("2026-03-02", "2026-06-01", 3),
            ("2026-03-02", "2027-03-01", 12),
            ("2024-01-31", "2024-02-27", 0),
            ("2024-01-31", "2024-02-28", 1),
            ("2023-01-29", "2023-02-27", 1),
            ("2026-08-31", "2027-02-27", 6),
            ("2026-08-31", "2027-02-26", 5),
        ];
        for (start, last, months) in cases {
            assert_eq!(
                months_covered(d(start), d(last)),
                months,
                "{start}..={last}"
            );
        }
        assert_eq!(months_covered(d("2026-03-02"), NaiveDate::MAX), 0);
    }

    #[test]
    fn far_beyond_the_calendar_is_none_not_a_panic() {
        assert_eq!(add_months(NaiveDate::MAX, 1), None);
        assert_eq!(planned_end_date(NaiveDate::MAX, 12), None);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1900i32..2200, 1u32..=12, 1u32..=31).prop_filter_map("a real date", |(y, m, day)| {
            NaiveDate::from_ymd_opt(y, m, day)
        })
    }

    proptest! {
        /// chrono's own month addition clamps the same way: the two must agree.
        #[test]
        fn agrees_with_chrono(start in any_date(), months in 0u32..=600) {
            prop_assert_eq!(
                add_months(start, months),
                start.checked_add_months(chrono::Months::new(months))
            );
        }

        #[test]
        fn lands_in_the_right_month_on_the_same_or_the_last_day(start in any_date(), months in 0u32..=600) {
            let added = add_months(start, months).unwrap();
            let elapsed = (added.year() - start.year()) * 12 + added.month() as i32 - start.month() as i32;
            prop_assert_eq!(elapsed, months as i32);
            prop_assert!(added.day() <= start.day());
            if added.day() < start.day() {
                prop_assert_eq!(added.succ_opt().unwrap().day(), 1, "clamped to the month's last day");
            }
        }

        #[test]
        fn a_programme_ends_after_it_starts_and_longer_ones_end_no_earlier(
            start in any_date(), months in MIN_MONTHS..=MAX_MONTHS
        ) {
            let end = planned_end_date(start, months).unwrap();
            prop_assert!(end >= start);
            prop_assert!(planned_end_date(start, months + 1).unwrap() >= end);
            prop_assert_eq!(end.succ_opt().unwrap(), add_months(start, months).unwrap());
        }

        #[test]
        fn months_covered_undoes_planned_end_date(start in any_date(), months in 0u32..=600) {
            let end = planned_end_date(start, months).unwrap();
            prop_assert_eq!(months_covered(start, end), months);
            if let Some(before) = end.pred_opt() {
                prop_assert_eq!(months_covered(start, before), months.saturating_sub(1));
            }
        }
    }
}
