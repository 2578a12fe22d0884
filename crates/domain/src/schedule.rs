//! When a definition's instances start: `settings.recurrence`, Graph's
//! `patternedRecurrence` as access reviews use it (`weekly` and
//! `absoluteMonthly` patterns with `interval` and `dayOfMonth`; `noEnd`,
//! `endDate` and `numbered` ranges).
//!
//! Periods start at midnight UTC of their day (`recurrenceTimeZone` is kept
//! but not applied). A `dayOfMonth` beyond a month's last day falls on that
//! last day (31 in February is the 28th, or the 29th). Periods that lie
//! wholly in the past are not replayed: the instance that starts is the
//! one of the period in progress, and `numberOfOccurrences` counts the
//! instances that actually ran.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

/// `pattern.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// Every `interval` weeks, on the start date's weekday.
    Weekly,
    /// Every `interval` months, on `dayOfMonth` (or the start date's day).
    AbsoluteMonthly,
}

/// `range.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// For ever.
    NoEnd,
    /// Until `endDate`, inclusive.
    EndDate,
    /// `numberOfOccurrences` instances.
    Numbered,
}

/// A pattern or range type this service does not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported recurrence type")]
pub struct UnsupportedRecurrenceType;

macro_rules! graph_names {
    ($type:ty { $($variant:ident => $name:literal),* $(,)? }) => {
        impl $type {
            /// Graph's spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $type {
            type Err = UnsupportedRecurrenceType;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                [$(Self::$variant),*]
                    .into_iter()
                    .find(|v| v.as_str().eq_ignore_ascii_case(s))
                    .ok_or(UnsupportedRecurrenceType)
            }
        }
    };
}

graph_names!(PatternKind { Weekly => "weekly", AbsoluteMonthly => "absoluteMonthly" });
graph_names!(RangeKind { NoEnd => "noEnd", EndDate => "endDate", Numbered => "numbered" });

/// `recurrence.pattern`: how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Weekly or monthly.
    pub kind: PatternKind,
    /// Every how many weeks or months; at least one.
    pub interval: u16,
    /// For monthly patterns, the day of the month; 1 to 31.
    pub day_of_month: Option<u8>,
}

/// `recurrence.range`: from when, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// How it ends.
    pub kind: RangeKind,
    /// The first day; the definition's creation day when not given.
    pub start_date: Option<NaiveDate>,
    /// The last day a period may start, for `endDate` ranges.
    pub end_date: Option<NaiveDate>,
    /// How many instances, for `numbered` ranges.
    pub number_of_occurrences: Option<u32>,
    /// Kept and echoed; periods start at midnight UTC.
    pub recurrence_time_zone: Option<String>,
}

/// `settings.recurrence`, validated. Without a pattern the review runs
/// once, on its start date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// How often; `None` for a one-time review.
    pub pattern: Option<Pattern>,
    /// From when, until when.
    pub range: Range,
}

/// Why a recurrence is refused; each names one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    /// `pattern.interval` below one (or beyond what makes sense).
    #[error("the interval must be between 1 and 99")]
    Interval,
    /// `pattern.dayOfMonth` outside 1 to 31.
    #[error("the day of the month must be between 1 and 31")]
    DayOfMonth,
    /// An `endDate` range without its end date.
    #[error("an endDate range needs its end date")]
    EndDateMissing,
    /// `range.endDate` before `range.startDate`.
    #[error("the end date lies before the start date")]
    EndBeforeStart,
    /// A `numbered` range without a count of at least one.
    #[error("a numbered range needs at least one occurrence")]
    Occurrences,
}

/// What is due when a definition is created, or when its next start
/// comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// An instance starts `at`; the one after it is due at `next`, if any.
    Now {
        /// When the instance starts.
        at: DateTime<Utc>,
        /// When the next one is due; `None` after the last.
        next: Option<DateTime<Utc>>,
    },
    /// Nothing starts before `DateTime`.
    Later(DateTime<Utc>),
    /// The range is over: no instance starts any more.
    Over,
}

/// Where a definition is in its recurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Schedule {
    /// When the next instance is due; `None` when no other will start.
    pub next_start: Option<DateTime<Utc>>,
    /// How many instances have started.
    pub instances_started: u32,
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The date in the month `months` after `first` (a first of month), on
/// `day` or the month's last day if shorter.
fn clamped(first: NaiveDate, months: u32, day: u32) -> Option<NaiveDate> {
    let month = first.checked_add_months(Months::new(months))?;
    let next = month.checked_add_months(Months::new(1))?;
    let last = next.pred_opt()?.day();
    month.with_day(day.min(last))
}

impl Recurrence {
    /// Checks Graph's rules for the ranges and patterns this service runs.
    ///
    /// # Errors
    /// The first property that breaks one.
    pub fn new(pattern: Option<Pattern>, range: Range) -> Result<Self, RecurrenceError> {
        if let Some(pattern) = &pattern {
            if !(1..=99).contains(&pattern.interval) {
                return Err(RecurrenceError::Interval);
            }
            if pattern.day_of_month.is_some_and(|d| !(1..=31).contains(&d)) {
                return Err(RecurrenceError::DayOfMonth);
            }
        }
        match range.kind {
            RangeKind::NoEnd => {}
            RangeKind::EndDate => match (range.start_date, range.end_date) {
                (_, None) => return Err(RecurrenceError::EndDateMissing),
                (Some(start), Some(end)) if end < start => {
                    return Err(RecurrenceError::EndBeforeStart);
                }
                _ => {}
            },
            RangeKind::Numbered => {
                if range.number_of_occurrences.is_none_or(|n| n < 1) {
                    return Err(RecurrenceError::Occurrences);
                }
            }
        }
        Ok(Self { pattern, range })
    }

    /// The first day, given the day the definition was created.
    fn start_date(&self, created: NaiveDate) -> NaiveDate {
        self.range.start_date.unwrap_or(created)
    }

    /// The day the `k`-th period (from 0) starts, before range limits.
    fn occurrence(&self, created: NaiveDate, k: u32) -> Option<NaiveDate> {
        let start = self.start_date(created);
        let Some(pattern) = &self.pattern else {
            return (k == 0).then_some(start);
        };
        let interval = u32::from(pattern.interval);
        match pattern.kind {
            PatternKind::Weekly => {
                start.checked_add_days(chrono::Days::new(u64::from(7 * interval) * u64::from(k)))
            }
            PatternKind::AbsoluteMonthly => {
                let day = pattern.day_of_month.map_or(start.day(), u32::from);
                let first_of_month = start.with_day(1)?;
                // The first period starts on the first matching day on or
                // after the start date.
                let anchor = if clamped(first_of_month, 0, day)? >= start {
                    0
                } else {
                    interval
                };
                clamped(first_of_month, anchor + interval.checked_mul(k)?, day)
            }
        }
    }

    /// The index of the last period that starts on or before `today`.
    fn period_at(&self, created: NaiveDate, today: NaiveDate) -> Option<u32> {
        let start = self.occurrence(created, 0)?;
        if start > today {
            return None;
        }
        let Some(pattern) = &self.pattern else {
            return Some(0);
        };
        // An estimate from the elapsed days, then corrected: months vary.
        let days = u32::try_from((today - start).num_days()).ok()?;
        let per = match pattern.kind {
            PatternKind::Weekly => 7 * u32::from(pattern.interval),
            PatternKind::AbsoluteMonthly => 28 * u32::from(pattern.interval),
        };
        let mut k = days / per;
        while k > 0 && self.occurrence(created, k).is_none_or(|d| d > today) {
            k -= 1;
        }
        while self.occurrence(created, k + 1).is_some_and(|d| d <= today) {
            k += 1;
        }
        Some(k)
    }

    /// Whether a period starting on `date` is inside the range, as the
    /// `ordinal`-th instance (from 1).
    fn in_range(&self, date: NaiveDate, ordinal: u32) -> bool {
        match self.range.kind {
            RangeKind::NoEnd => true,
            RangeKind::EndDate => self.range.end_date.is_some_and(|end| date <= end),
            RangeKind::Numbered => self
                .range
                .number_of_occurrences
                .is_some_and(|n| ordinal <= n),
        }
    }

    /// When the instance after the `k`-th period, as the `ordinal`-th
    /// instance, is due.
    fn next(&self, created: NaiveDate, k: u32, ordinal: u32) -> Option<DateTime<Utc>> {
        let date = self.occurrence(created, k.checked_add(1)?)?;
        self.in_range(date, ordinal).then(|| midnight(date))
    }

    /// At creation, `now`: a start date that has come starts an instance
    /// at once, for the period in progress (Graph's own samples start in
    /// 2020); a later one waits for it.
    pub fn first(&self, created: NaiveDate, now: DateTime<Utc>) -> Start {
        match self.period_at(created, now.date_naive()) {
            None => match self.occurrence(created, 0) {
                Some(date) => Start::Later(midnight(date)),
                None => Start::Over,
            },
            Some(k) => Start::Now {
                at: now,
                next: self.next(created, k, 2),
            },
        }
    }

    /// When the next start is due and it is `now`, after `started`
    /// instances: the instance of the period in progress starts, at that
    /// period's start; periods wholly past are skipped.
    pub fn due(&self, created: NaiveDate, now: DateTime<Utc>, started: u32) -> Start {
        let Some(k) = self.period_at(created, now.date_naive()) else {
            return match self.occurrence(created, 0) {
                Some(date) => Start::Later(midnight(date)),
                None => Start::Over,
            };
        };
        let Some(date) = self.occurrence(created, k) else {
            return Start::Over;
        };
        let ordinal = started.saturating_add(1);
        if !self.in_range(date, ordinal) {
            return Start::Over;
        }
        Start::Now {
            at: midnight(date),
            next: self.next(created, k, ordinal.saturating_add(1)),
        }
    }

    /// The shortest time between two period starts, in days; `None` for a
    /// one-time review. An instance must fit in it.
    pub fn shortest_period_days(&self, created: NaiveDate) -> Option<i64> {
        self.pattern.as_ref()?;
        // Four years of periods cover every month length and a leap year.
        (0..60)
            .map_while(|k| {
                Some((self.occurrence(created, k + 1)? - self.occurrence(created, k)?).num_days())
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn recurrence(pattern: Option<(PatternKind, u16, Option<u8>)>, range: RangeKind) -> Recurrence {
        Recurrence::new(
            pattern.map(|(kind, interval, day_of_month)| Pattern {
                kind,
                interval,
                day_of_month,
            }),
            Range {
                kind: range,
                start_date: Some(date(2026, 1, 31)),
                end_date: Some(date(2026, 6, 30)),
                number_of_occurrences: Some(3),
                recurrence_time_zone: None,
            },
        )
        .unwrap()
    }

    const CREATED: fn() -> NaiveDate = || date(2026, 1, 1);

    fn starts(r: &Recurrence, n: u32) -> Vec<NaiveDate> {
        (0..n).map_while(|k| r.occurrence(CREATED(), k)).collect()
    }

    #[test]
    fn weekly_periods_start_every_interval_weeks_on_the_start_weekday() {
        let r = recurrence(Some((PatternKind::Weekly, 2, None)), RangeKind::NoEnd);
        assert_eq!(
            starts(&r, 3),
            [date(2026, 1, 31), date(2026, 2, 14), date(2026, 2, 28)]
        );
        assert_eq!(r.shortest_period_days(CREATED()), Some(14));
    }

    #[test]
    fn a_monthly_day_31_falls_on_the_last_day_of_shorter_months() {
        let r = recurrence(
            Some((PatternKind::AbsoluteMonthly, 1, Some(31))),
            RangeKind::NoEnd,
        );
        assert_eq!(
            starts(&r, 4),
            [
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30)
            ]
        );
        assert_eq!(r.shortest_period_days(CREATED()), Some(28));
        // In a leap year February has its 29th.
        let mut leap = r.clone();
        leap.range.start_date = Some(date(2028, 1, 31));
        assert_eq!(leap.occurrence(CREATED(), 1), Some(date(2028, 2, 29)));
    }

    #[test]
    fn quarterly_is_monthly_every_three_months_from_the_first_matching_day() {
        // Day 15 has passed on the start date (the 31st): the first period
        // is three months on.
        let r = recurrence(
            Some((PatternKind::AbsoluteMonthly, 3, Some(15))),
            RangeKind::NoEnd,
        );
        assert_eq!(
            starts(&r, 3),
            [date(2026, 4, 15), date(2026, 7, 15), date(2026, 10, 15)]
        );
        // January 15 to April 15 in a common year.
        assert_eq!(r.shortest_period_days(CREATED()), Some(90));
        // Without a day of the month, the start date's day.
        let r = recurrence(
            Some((PatternKind::AbsoluteMonthly, 3, None)),
            RangeKind::NoEnd,
        );
        assert_eq!(
            starts(&r, 3),
            [date(2026, 1, 31), date(2026, 4, 30), date(2026, 7, 31)]
        );
    }

    #[test]
    fn a_past_start_begins_the_period_in_progress_at_once_and_the_next_on_its_day() {
        let r = recurrence(Some((PatternKind::Weekly, 1, None)), RangeKind::NoEnd);
        // Created on a Wednesday three weeks and a half after the start.
        let now = at(2026, 2, 25, 10);
        assert_eq!(
            r.first(CREATED(), now),
            Start::Now {
                at: now,
                next: Some(at(2026, 2, 28, 0)),
            }
        );
    }

    #[test]
    fn a_future_start_waits_for_its_day() {
        let r = recurrence(Some((PatternKind::Weekly, 1, None)), RangeKind::NoEnd);
        assert_eq!(
            r.first(CREATED(), at(2026, 1, 20, 10)),
            Start::Later(at(2026, 1, 31, 0))
        );
        let once = recurrence(None, RangeKind::NoEnd);
        assert_eq!(
            once.first(CREATED(), at(2026, 1, 20, 10)),
            Start::Later(at(2026, 1, 31, 0))
        );
        assert_eq!(
            once.due(CREATED(), at(2026, 1, 31, 0), 0),
            Start::Now {
                at: at(2026, 1, 31, 0),
                next: None
            },
            "a one-time review runs once"
        );
    }

    #[test]
    fn a_late_pass_starts_the_period_in_progress_and_skips_wholly_past_ones() {
        let r = recurrence(Some((PatternKind::Weekly, 1, None)), RangeKind::NoEnd);
        // Due on Feb 7, noticed on Feb 23: the period of Feb 21 starts.
        assert_eq!(
            r.due(CREATED(), at(2026, 2, 23, 8), 1),
            Start::Now {
                at: at(2026, 2, 21, 0),
                next: Some(at(2026, 2, 28, 0)),
            }
        );
    }

    #[test]
    fn a_numbered_range_runs_that_many_instances() {
        let r = recurrence(Some((PatternKind::Weekly, 1, None)), RangeKind::Numbered);
        let Start::Now { next, .. } = r.first(CREATED(), at(2026, 1, 31, 9)) else {
            panic!("starts at once");
        };
        assert_eq!(next, Some(at(2026, 2, 7, 0)));
        assert!(matches!(
            r.due(CREATED(), at(2026, 2, 7, 0), 1),
            Start::Now { next: Some(_), .. }
        ));
        assert!(matches!(
            r.due(CREATED(), at(2026, 2, 14, 0), 2),
            Start::Now { next: None, .. }
        ));
        assert_eq!(r.due(CREATED(), at(2026, 2, 21, 0), 3), Start::Over);
    }

    #[test]
    fn an_end_date_range_starts_no_period_after_it() {
        let r = recurrence(
            Some((PatternKind::AbsoluteMonthly, 2, None)),
            RangeKind::EndDate,
        );
        // Jan 31, Mar 31, May 31; Jul 31 is after Jun 30.
        assert!(matches!(
            r.due(CREATED(), at(2026, 5, 31, 0), 2),
            Start::Now { next: None, .. }
        ));
        assert_eq!(r.due(CREATED(), at(2026, 8, 1, 0), 3), Start::Over);
    }

    #[test]
    fn graphs_rules_for_ranges_and_intervals_are_checked() {
        let range = |kind, end: Option<NaiveDate>, count| Range {
            kind,
            start_date: Some(date(2026, 3, 1)),
            end_date: end,
            number_of_occurrences: count,
            recurrence_time_zone: None,
        };
        let weekly = |interval, day| {
            Some(Pattern {
                kind: PatternKind::Weekly,
                interval,
                day_of_month: day,
            })
        };
        let cases = [
            (
                weekly(0, None),
                range(RangeKind::NoEnd, None, None),
                RecurrenceError::Interval,
            ),
            (
                weekly(1, Some(32)),
                range(RangeKind::NoEnd, None, None),
                RecurrenceError::DayOfMonth,
            ),
            (
                weekly(1, Some(0)),
                range(RangeKind::NoEnd, None, None),
                RecurrenceError::DayOfMonth,
            ),
            (
                weekly(1, None),
                range(RangeKind::EndDate, None, None),
                RecurrenceError::EndDateMissing,
            ),
            (
                weekly(1, None),
                range(RangeKind::EndDate, Some(date(2026, 2, 28)), None),
                RecurrenceError::EndBeforeStart,
            ),
            (
                weekly(1, None),
                range(RangeKind::Numbered, None, Some(0)),
                RecurrenceError::Occurrences,
            ),
            (
                weekly(1, None),
                range(RangeKind::Numbered, None, None),
                RecurrenceError::Occurrences,
            ),
        ];
        for (pattern, range, expected) in cases {
            assert_eq!(Recurrence::new(pattern, range), Err(expected));
        }
        assert!(
            Recurrence::new(weekly(1, None), range(RangeKind::Numbered, None, Some(1))).is_ok()
        );
    }

    #[test]
    fn only_the_types_access_reviews_run_parse() {
        assert_eq!("weekly".parse(), Ok(PatternKind::Weekly));
        assert_eq!("absoluteMonthly".parse(), Ok(PatternKind::AbsoluteMonthly));
        assert_eq!(
            "daily".parse::<PatternKind>(),
            Err(UnsupportedRecurrenceType)
        );
        assert_eq!(
            "relativeMonthly".parse::<PatternKind>(),
            Err(UnsupportedRecurrenceType)
        );
        assert_eq!("numbered".parse(), Ok(RangeKind::Numbered));
        assert_eq!(
            "forever".parse::<RangeKind>(),
            Err(UnsupportedRecurrenceType)
        );
    }
}
