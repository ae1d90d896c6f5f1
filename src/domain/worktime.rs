//! Dutch time: the one place that knows the Europe/Amsterdam time zone,
//! calendar months in it (`yyyymm` numbers, their starts, their text, adding
//! months) and working time, the clock that lead-time reports run on besides
//! the calendar. Working hours are 09:00-17:00 Amsterdam time (daylight
//! saving included) on weekdays that are not national holidays.
//!
//! Time zone fallback, for every function here: the zone comes from jiff's
//! bundled time zone database (the `tzdb-bundle-always` feature), so looking
//! it up cannot fail at run time. Should it ever, Amsterdam winter time
//! (fixed UTC+1) is used rather than failing a report or a request: every
//! answer is then off by at most the one hour of summer time.
//!
//! National holidays are computed for any year, not listed per year:
//! New Year's Day, Easter Sunday and Monday, King's Day (27 April, or 26
//! April when the 27th is a Sunday), Liberation Day (5 May; government
//! employers give it every year), Ascension Day, Whit Sunday and Monday,
//! Christmas Day and Boxing Day. Good Friday is not a public holiday for
//! government employers and is not excluded.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::sync::OnceLock;

/// Start of the working day.
pub const DAY_START: Time = Time::constant(9, 0, 0, 0);
/// End of the working day.
pub const DAY_END: Time = Time::constant(17, 0, 0, 0);

/// The Europe/Amsterdam time zone, looked up once (see the module docs for
/// the fallback).
pub fn amsterdam() -> &'static TimeZone {
    static TZ: OnceLock<TimeZone> = OnceLock::new();
    TZ.get_or_init(|| {
        TimeZone::get("Europe/Amsterdam").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(1)))
    })
}

/// Midnight at the start of `date` in Amsterdam, in ms since the epoch;
/// `None` only when the instant is outside jiff's range.
pub fn day_start_ms(date: Date) -> Option<i64> {
    amsterdam()
        .to_timestamp(date.to_datetime(Time::midnight()))
        .ok()
        .map(|t| t.as_millisecond())
}

/// Easter Sunday of `year` (anonymous Gregorian algorithm).
pub fn easter(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction of the algorithm.
    Date::new(year, month as i8, day as i8).unwrap_or(Date::constant(2000, 4, 23))
}

/// Whether `date` is a Dutch national holiday (see the module docs).
pub fn is_holiday(date: Date) -> bool {
    let (m, d) = (date.month(), date.day());
    if matches!((m, d), (1, 1) | (5, 5) | (12, 25) | (12, 26)) {
        return true;
    }
    let kings_day = if Date::new(date.year(), 4, 27).is_ok_and(|k| k.weekday() == Weekday::Sunday) {
        26
    } else {
        27
    };
    if (m, d) == (4, kings_day) {
        return true;
    }
    let easter = easter(date.year());
    [0i32, 1, 39, 49, 50].iter().any(|&offset| {
        easter
            .checked_add(jiff::Span::new().days(offset))
            .map(|h| h == date)
            .unwrap_or(false)
    })
}

/// Whether `date` is a working day.
pub fn is_working_day(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !is_holiday(date)
}

/// Milliseconds of working time between two instants (milliseconds since
/// the Unix epoch); 0 when `end <= start`.
pub fn working_millis(start_ms: i64, end_ms: i64) -> i64 {
    if end_ms <= start_ms {
        return 0;
    }
    let (Ok(start), Ok(end)) = (
        Timestamp::from_millisecond(start_ms),
        Timestamp::from_millisecond(end_ms),
    ) else {
        return 0;
    };
    let tz = amsterdam();
    let mut day = tz.to_datetime(start).date();
    let last = tz.to_datetime(end).date();
    let mut total = 0i64;
    while day <= last {
        if is_working_day(day) {
            let open = tz
                .to_timestamp(day.to_datetime(DAY_START))
                .map(|t| t.as_millisecond());
            let close = tz
                .to_timestamp(day.to_datetime(DAY_END))
                .map(|t| t.as_millisecond());
            if let (Ok(open), Ok(close)) = (open, close) {
                let from = open.max(start_ms);
                let to = close.min(end_ms);
                if to > from {
                    total += to - from;
                }
            }
        }
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    total
}

/// The calendar month (`yyyymm`, Amsterdam time) of an instant.
pub fn month_of(ms: i64) -> u32 {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => {
            let d = amsterdam().to_datetime(t).date();
            (d.year() as u32) * 100 + d.month() as u32
        }
        Err(_) => 0,
    }
}

/// The start of a month (`yyyymm`) in Amsterdam, in ms; `None` when the
/// number is not a month (month 0 or 13 and up, a year out of range).
pub fn month_start_ms(month: u32) -> Option<i64> {
    let year = i16::try_from(month / 100).ok()?;
    day_start_ms(Date::new(year, (month % 100) as i8, 1).ok()?)
}

/// The month (`yyyymm`) `delta` months after `month` (before it when
/// negative): `shift_month(202612, 1)` is 202701.
pub fn shift_month(month: u32, delta: i32) -> u32 {
    let index = i64::from(month / 100) * 12 + i64::from(month % 100) - 1 + i64::from(delta);
    let index = index.max(0);
    ((index / 12) * 100 + index % 12 + 1) as u32
}

/// A month number `yyyymm` as text `YYYY-MM`, the way the API writes it.
pub fn month_text(month: u32) -> String {
    format!("{:04}-{:02}", month / 100, month % 100)
}

/// `ms` plus whole calendar months in Amsterdam time (31 January + 1 month
/// is 28 or 29 February). Beyond the range of dates jiff knows, 30 days a
/// month are added instead.
pub fn add_months(ms: i64, months: u32) -> i64 {
    let tz = amsterdam();
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| tz.to_datetime(t))
        .and_then(|dt| {
            dt.checked_add(jiff::Span::new().months(i64::from(months)))
                .ok()
        })
        .and_then(|dt| tz.to_timestamp(dt).ok())
        .map_or(ms + i64::from(months) * 30 * 86_400_000, |t| {
            t.as_millisecond()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        // Local Amsterdam time, e.g. "2026-03-02 10:00".
        let dt: jiff::civil::DateTime = text.parse().unwrap();
        amsterdam().to_timestamp(dt).unwrap().as_millisecond()
    }

    #[test]
    fn easter_falls_on_the_known_dates() {
        assert_eq!(easter(2024), Date::constant(2024, 3, 31));
        assert_eq!(easter(2025), Date::constant(2025, 4, 20));
        assert_eq!(easter(2026), Date::constant(2026, 4, 5));
        assert_eq!(easter(2038), Date::constant(2038, 4, 25));
    }

    #[test]
    fn dutch_holidays_are_computed_for_any_year() {
        assert!(is_holiday(Date::constant(2026, 4, 6))); // Easter Monday
        assert!(is_holiday(Date::constant(2026, 5, 14))); // Ascension
        assert!(is_holiday(Date::constant(2026, 5, 25))); // Whit Monday
        assert!(is_holiday(Date::constant(2025, 4, 26))); // King's Day moved: 27th is a Sunday
        assert!(!is_holiday(Date::constant(2025, 4, 27)));
        assert!(is_holiday(Date::constant(2026, 4, 27)));
        assert!(!is_holiday(Date::constant(2026, 4, 3))); // Good Friday is a working day
    }

    #[test]
    fn working_time_counts_only_office_hours_on_working_days() {
        // Monday 10:00 to Monday 12:00: two hours.
        assert_eq!(
            working_millis(ms("2026-03-02 10:00"), ms("2026-03-02 12:00")),
            2 * 3_600_000
        );
        // Friday 16:00 to Monday 10:00: one hour Friday, one hour Monday.
        assert_eq!(
            working_millis(ms("2026-03-06 16:00"), ms("2026-03-09 10:00")),
            2 * 3_600_000
        );
        // Over Easter: Thursday 16:00 to Tuesday 10:00 (Good Friday works).
        assert_eq!(
            working_millis(ms("2026-04-02 16:00"), ms("2026-04-07 10:00")),
            (1 + 8 + 1) * 3_600_000
        );
        // Night and weekend only: nothing.
        assert_eq!(
            working_millis(ms("2026-03-07 09:00"), ms("2026-03-08 18:00")),
            0
        );
        assert_eq!(
            working_millis(ms("2026-03-02 12:00"), ms("2026-03-02 10:00")),
            0
        );
    }

    #[test]
    fn working_days_follow_daylight_saving_time() {
        // Monday after the switch to summer time: still eight hours.
        assert_eq!(
            working_millis(ms("2026-03-30 00:00"), ms("2026-03-31 00:00")),
            8 * 3_600_000
        );
    }

    #[test]
    fn months_are_amsterdam_months() {
        assert_eq!(month_of(ms("2026-03-31 23:30")), 202603);
        assert_eq!(month_of(ms("2026-04-01 00:30")), 202604);
    }

    #[test]
    fn months_start_at_amsterdam_midnight() {
        assert_eq!(month_start_ms(202604), Some(ms("2026-04-01 00:00")));
        assert_eq!(month_start_ms(202601), Some(ms("2026-01-01 00:00")));
        assert_eq!(month_start_ms(202613), None);
        assert_eq!(month_start_ms(202600), None);
    }

    #[test]
    fn month_numbers_shift_over_year_ends() {
        assert_eq!(shift_month(202612, 1), 202701);
        assert_eq!(shift_month(202603, -11), 202504);
        assert_eq!(shift_month(202612, -11), 202601);
        assert_eq!(shift_month(202601, -1), 202512);
        assert_eq!(month_text(202603), "2026-03");
    }

    #[test]
    fn adding_months_keeps_the_local_time_and_clamps_the_day() {
        assert_eq!(
            add_months(ms("2026-01-31 10:00"), 1),
            ms("2026-02-28 10:00")
        );
        // Across the switch to summer time: still 10:00 local.
        assert_eq!(
            add_months(ms("2026-03-02 10:00"), 24),
            ms("2028-03-02 10:00")
        );
        assert_eq!(
            add_months(ms("2026-03-02 10:00"), 1),
            ms("2026-04-02 10:00")
        );
    }
}
