//! Business hours (issue 18): when the desk is open, in the desk's own time
//! zone, with several ranges a day and holidays. The settings hold them as
//! written (`"weekly": {"mon": [["09:00", "17:30"]]}`); [`Schedule`] is the
//! checked form the service answers from. No I/O, no clock: callers pass `now`.

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::validation::ValidationError;

/// The business hours as stored in the settings and shown by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BusinessHours {
    /// An IANA time zone, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Ranges of each open day (`mon` … `sun`), `["HH:MM", "HH:MM"]`, the end
    /// after the start (`24:00` for midnight at the end of the day). A day not
    /// listed is closed.
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<[String; 2]>>,
    /// Whole days closed, `YYYY-MM-DD` in the desk's time zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Business hours, checked: what [`Schedule::is_open`] and
/// [`Schedule::next_open`] answer from.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    tz: Tz,
    /// Monday first; each day's ranges sorted, not overlapping, in minutes
    /// from midnight (`end` up to 1440).
    days: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// How far ahead the next opening is looked for: a year and a week covers any
/// run of holidays a desk would set.
const LOOKAHEAD_DAYS: u64 = 373;

impl BusinessHours {
    /// Checks every field; an error names it (`business_hours.weekly.mon`).
    pub fn schedule(&self) -> Result<Schedule, ValidationError> {
        let field = |name: &str| format!("business_hours.{name}");
        let tz: Tz = self.timezone.parse().map_err(|_| {
            ValidationError::new(
                field("timezone"),
                format!(
                    "{:?} is not an IANA time zone such as Europe/Berlin",
                    self.timezone
                ),
            )
        })?;
        let mut days: [Vec<(u32, u32)>; 7] = Default::default();
        for (key, ranges) in &self.weekly {
            let name = field(&format!("weekly.{key}"));
            let index = DAY_KEYS.iter().position(|d| d == key).ok_or_else(|| {
                ValidationError::new(&name, "days are mon, tue, wed, thu, fri, sat and sun")
            })?;
            let mut parsed = Vec::with_capacity(ranges.len());
            for [start, end] in ranges {
                let (start, end) = (minutes(start, &name)?, minutes(end, &name)?);
                if start >= end || start >= 1440 {
                    return Err(ValidationError::new(
                        &name,
                        "each range must end after it starts, within the day (00:00 to 24:00)",
                    ));
                }
                parsed.push((start, end));
            }
            parsed.sort_unstable();
            if parsed.windows(2).any(|pair| pair[0].1 > pair[1].0) {
                return Err(ValidationError::new(
                    &name,
                    "the ranges of a day must not overlap",
                ));
            }
            days[index] = parsed;
        }
        let holidays = self
            .holidays
            .iter()
            .map(|day| {
                NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                    ValidationError::new(
                        field("holidays"),
                        format!("{day:?} is not a date such as 2026-12-25"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Schedule { tz, days, holidays })
    }
}

/// `HH:MM` (00:00 to 24:00) in minutes from midnight.
fn minutes(text: &str, field: &str) -> Result<u32, ValidationError> {
    let bad = || ValidationError::new(field, format!("{text:?} is not a time such as 09:00"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) => Ok(1440),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

impl Schedule {
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Whether the desk is open at `now`.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.tz);
        let date = local.date_naive();
        if self.holidays.contains(&date) {
            return false;
        }
        let minute = local.hour_minute();
        self.ranges(date.weekday())
            .iter()
            .any(|&(start, end)| start <= minute && minute < end)
    }

    /// When the desk opens next after `now` (`None`: it never opens within a
    /// year). At `now` inside a range, the next range's start, not `now`.
    pub fn next_open(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&self.tz).date_naive();
        (0..LOOKAHEAD_DAYS)
            .filter_map(|ahead| today.checked_add_days(Days::new(ahead)))
            .filter(|date| !self.holidays.contains(date))
            .flat_map(|date| {
                self.ranges(date.weekday())
                    .iter()
                    .filter_map(move |&(start, _)| self.instant(date, start))
            })
            .find(|opens| *opens > now)
    }

    fn ranges(&self, day: Weekday) -> &[(u32, u32)] {
        &self.days[day.num_days_from_monday() as usize]
    }

    /// The instant `date` at `minute` (local) happens: the first of two in a
    /// repeated hour; in a skipped hour (spring forward), the moment the clocks
    /// jump, when the day's first valid minute after it begins.
    fn instant(&self, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
        let midnight = date.and_time(NaiveTime::MIN);
        let at = |m: u32| -> NaiveDateTime { midnight + chrono::Duration::minutes(i64::from(m)) };
        (minute..minute + 180)
            .find_map(|m| self.tz.from_local_datetime(&at(m)).earliest())
            .map(|local| local.with_timezone(&Utc))
    }
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}

impl<T: chrono::Timelike> HourMinute for T {
    fn hour_minute(&self) -> u32 {
        self.hour() * 60 + self.minute()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(timezone: &str, weekly: &[(&str, &[(&str, &str)])], holidays: &[&str]) -> Schedule {
        BusinessHours {
            timezone: timezone.into(),
            weekly: weekly
                .iter()
                .map(|(day, ranges)| {
                    (
                        day.to_string(),
                        ranges
                            .iter()
                            .map(|(a, b)| [a.to_string(), b.to_string()])
                            .collect(),
                    )
                })
                .collect(),
            holidays: holidays.iter().map(|d| d.to_string()).collect(),
        }
        .schedule()
        .unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    const WEEKDAYS: [&str; 5] = ["mon", "tue", "wed", "thu", "fri"];

    fn office(timezone: &str, holidays: &[&str]) -> Schedule {
        let nine_to_five: &[(&str, &str)] = &[("09:00", "12:30"), ("13:30", "17:30")];
        let weekly: Vec<(&str, &[(&str, &str)])> =
            WEEKDAYS.iter().map(|d| (*d, nine_to_five)).collect();
        hours(timezone, &weekly, holidays)
    }

    #[test]
    fn open_within_the_ranges_of_the_day_in_the_desks_zone() {
        let berlin = office("Europe/Berlin", &[]);
        // Wednesday 2026-12-02: Berlin is UTC+1.
        assert!(!berlin.is_open(utc("2026-12-02T07:59:00Z")), "08:59 local");
        assert!(berlin.is_open(utc("2026-12-02T08:00:00Z")), "09:00 local");
        assert!(!berlin.is_open(utc("2026-12-02T11:45:00Z")), "12:45: lunch");
        assert!(berlin.is_open(utc("2026-12-02T16:29:00Z")), "17:29");
        assert!(
            !berlin.is_open(utc("2026-12-02T16:30:00Z")),
            "17:30: closed"
        );
        assert!(!berlin.is_open(utc("2026-12-05T10:00:00Z")), "Saturday");
    }

    #[test]
    fn the_next_opening_skips_lunch_weekends_and_holidays() {
        let berlin = office("Europe/Berlin", &["2026-12-24", "2026-12-25"]);
        assert_eq!(
            berlin.next_open(utc("2026-12-02T11:45:00Z")),
            Some(utc("2026-12-02T12:30:00Z"))
        );
        // Friday evening → Monday 09:00.
        assert_eq!(
            berlin.next_open(utc("2026-12-04T18:00:00Z")),
            Some(utc("2026-12-07T08:00:00Z"))
        );
        // Wednesday 23rd evening: the 24th and 25th are holidays, then a weekend.
        assert_eq!(
            berlin.next_open(utc("2026-12-23T17:00:00Z")),
            Some(utc("2026-12-28T08:00:00Z"))
        );
        assert!(!berlin.is_open(utc("2026-12-24T10:00:00Z")));
    }

    #[test]
    fn daylight_saving_changes_keep_local_opening_times() {
        let berlin = office("Europe/Berlin", &[]);
        // Clocks go forward on Sunday 2026-03-29: Monday 09:00 is 07:00 UTC.
        assert_eq!(
            berlin.next_open(utc("2026-03-27T17:00:00Z")),
            Some(utc("2026-03-30T07:00:00Z"))
        );
        assert!(berlin.is_open(utc("2026-03-30T07:00:00Z")));
        assert!(!berlin.is_open(utc("2026-03-30T06:59:00Z")));
        // Back on Sunday 2026-10-25: Monday 09:00 is 08:00 UTC again.
        assert_eq!(
            berlin.next_open(utc("2026-10-23T17:00:00Z")),
            Some(utc("2026-10-26T08:00:00Z"))
        );
        // New York changes on other dates (2026-03-08).
        let new_york = office("America/New_York", &[]);
        assert_eq!(
            new_york.next_open(utc("2026-03-06T23:00:00Z")),
            Some(utc("2026-03-09T13:00:00Z"))
        );
    }

    #[test]
    fn an_opening_in_the_skipped_hour_opens_when_the_clocks_jump() {
        // Sundays 02:30-04:00 in Berlin: on 2026-03-29, 02:00-03:00 does not exist.
        let night = hours("Europe/Berlin", &[("sun", &[("02:30", "04:00")])], &[]);
        assert_eq!(
            night.next_open(utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        // In the repeated hour (2026-10-25, 02:00-03:00 twice), the first one.
        assert_eq!(
            night.next_open(utc("2026-10-24T12:00:00Z")),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn ranges_to_midnight_and_desks_that_never_open() {
        let late = hours("UTC", &[("fri", &[("20:00", "24:00")])], &[]);
        assert!(late.is_open(utc("2026-12-04T23:59:00Z")));
        assert!(!late.is_open(utc("2026-12-05T00:00:00Z")));
        let never = hours("UTC", &[], &[]);
        assert!(!never.is_open(utc("2026-12-04T12:00:00Z")));
        assert_eq!(never.next_open(utc("2026-12-04T12:00:00Z")), None);
    }

    #[test]
    fn bad_hours_name_their_field() {
        let bad = |timezone: &str, day: &str, range: [&str; 2], holiday: &str| {
            BusinessHours {
                timezone: timezone.into(),
                weekly: [(
                    day.to_string(),
                    vec![[range[0].to_string(), range[1].to_string()]],
                )]
                .into(),
                holidays: vec![holiday.into()],
            }
            .schedule()
            .unwrap_err()
            .field
        };
        assert_eq!(
            bad("Mars/Olympus", "mon", ["09:00", "17:00"], "2026-12-25"),
            "business_hours.timezone"
        );
        assert_eq!(
            bad("UTC", "monday", ["09:00", "17:00"], "2026-12-25"),
            "business_hours.weekly.monday"
        );
        assert_eq!(
            bad("UTC", "mon", ["17:00", "09:00"], "2026-12-25"),
            "business_hours.weekly.mon"
        );
        assert_eq!(
            bad("UTC", "mon", ["9:00", "17:00"], "2026-12-25"),
            "business_hours.weekly.mon"
        );
        assert_eq!(
            bad("UTC", "mon", ["09:00", "24:30"], "2026-12-25"),
            "business_hours.weekly.mon"
        );
        assert_eq!(
            bad("UTC", "mon", ["09:00", "17:00"], "25.12.2026"),
            "business_hours.holidays"
        );
        let overlapping = BusinessHours {
            timezone: "UTC".into(),
            weekly: [(
                "tue".to_string(),
                vec![
                    ["09:00".into(), "13:00".into()],
                    ["12:00".into(), "18:00".into()],
                ],
            )]
            .into(),
            holidays: vec![],
        };
        assert_eq!(
            overlapping.schedule().unwrap_err().field,
            "business_hours.weekly.tue"
        );
    }
}
