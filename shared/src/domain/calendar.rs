//! Business hours: the working days, hours and holidays an owner's SLAs and
//! task due times count in (issue 24, item 5). A hot lead with a 4-hour SLA
//! arriving Friday 17:00 in Berlin is due Monday 13:00 Berlin time, not
//! Friday 21:00; a call "in 1 business day" skips the weekend and the
//! region's holidays, in the owner's time zone.
//!
//! The playbook names calendars (one per region) and a default; a rep may
//! name their own calendar, and their `time_zone` (when set) is the zone the
//! calendar's hours are read in. A playbook without `business_hours` counts
//! around the clock: SLAs in clock hours, due days Monday to Friday in UTC.

use super::tz::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The playbook's `business_hours` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// The calendar of owners that name none (queues, reps without one).
    pub default: String,
    pub calendars: BTreeMap<String, CalendarDef>,
}

/// One region's working time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDef {
    /// IANA zone its hours are read in (a rep's own `time_zone` wins for them).
    pub time_zone: String,
    /// Working days (`mon` … `sun`); Monday to Friday when absent.
    #[serde(default = "CalendarDef::weekdays")]
    pub days: Vec<Day>,
    /// The working day, `HH:MM` local time.
    #[serde(default = "CalendarDef::nine")]
    pub from: String,
    #[serde(default = "CalendarDef::five")]
    pub to: String,
    /// Days nobody works (ISO dates).
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
            Day::Sun => Weekday::Sun,
        }
    }
}

impl CalendarDef {
    fn weekdays() -> Vec<Day> {
        vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri]
    }
    fn nine() -> String {
        "09:00".into()
    }
    fn five() -> String {
        "17:00".into()
    }

    /// Its working day as times, if both parse and `from` comes first.
    pub fn hours(&self) -> Result<(NaiveTime, NaiveTime), String> {
        let parse = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| format!("{s:?} is not HH:MM"))
        };
        let (from, to) = (parse(&self.from)?, parse(&self.to)?);
        if from >= to {
            return Err(format!(
                "the working day must start before it ends ({} to {})",
                self.from, self.to
            ));
        }
        Ok((from, to))
    }
}

/// An owner's working time, resolved: what their deadlines count in.
#[derive(Debug, Clone)]
pub struct Calendar<'p> {
    kind: Kind<'p>,
}

#[derive(Debug, Clone)]
enum Kind<'p> {
    /// No business hours in the playbook: clock hours, weekdays in UTC.
    Always,
    Working {
        name: &'p str,
        zone: Zone,
        zone_name: &'p str,
        def: &'p CalendarDef,
        start: NaiveTime,
        end: NaiveTime,
    },
}

/// No owner waits more than this many days for an opening (a calendar with
/// every day a holiday): the deadline is then counted in clock time.
const SEARCH_DAYS: u32 = 800;

impl<'p> Calendar<'p> {
    /// Around the clock (a playbook without business hours).
    pub fn always() -> Calendar<'static> {
        Calendar { kind: Kind::Always }
    }

    /// `def` (named `name`) read in `zone_name` (or its own zone); around the
    /// clock if its zone or hours do not resolve (validation refuses both).
    pub fn of(name: &'p str, def: &'p CalendarDef, zone_name: Option<&'p str>) -> Calendar<'p> {
        let zone_name = zone_name.unwrap_or(&def.time_zone);
        match (Zone::get(zone_name), def.hours()) {
            (Some(zone), Ok((start, end))) => Calendar {
                kind: Kind::Working {
                    name,
                    zone,
                    zone_name,
                    def,
                    start,
                    end,
                },
            },
            _ => Calendar { kind: Kind::Always },
        }
    }

    /// Whether this counts business hours (else clock hours).
    pub fn is_business(&self) -> bool {
        matches!(self.kind, Kind::Working { .. })
    }

    /// "emea (Europe/Berlin, 09:00–17:00)", or "around the clock".
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Always => "around the clock".into(),
            Kind::Working {
                name,
                zone_name,
                def,
                ..
            } => format!("{name} calendar, {}–{} {zone_name}", def.from, def.to),
        }
    }

    /// Whether people work on `date` (local).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match &self.kind {
            Kind::Always => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
            Kind::Working { def, .. } => {
                def.days.iter().any(|d| d.weekday() == date.weekday())
                    && !def.holidays.contains(&date)
            }
        }
    }

    /// `hours` of working time after `from`: the clock runs only while the
    /// owner works.
    pub fn add_hours(&self, from: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
        let Kind::Working {
            zone, start, end, ..
        } = &self.kind
        else {
            return from + Duration::hours(hours.into());
        };
        let mut left = Duration::hours(hours.into());
        let mut at = from;
        for _ in 0..SEARCH_DAYS {
            let local = zone.local(at);
            let date = local.date();
            if self.is_working_day(date) && local.time() < *end {
                if local.time() < *start {
                    at = instant(zone, date.and_time(*start), at);
                    continue;
                }
                let room = date.and_time(*end) - local;
                if left <= room {
                    return at + left;
                }
                left -= room;
            }
            let next = date.succ_opt().unwrap_or(date).and_time(*start);
            at = instant(zone, next, at);
        }
        from + Duration::hours(hours.into())
    }

    /// `days` working days after `from`, at the same local time of day kept
    /// within working hours; a start on a day off counts from the next
    /// working day.
    pub fn add_days(&self, from: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let (local, time) = match &self.kind {
            Kind::Always => (from.naive_utc(), from.naive_utc().time()),
            Kind::Working {
                zone, start, end, ..
            } => {
                let local = zone.local(from);
                (local, local.time().clamp(*start, *end))
            }
        };
        let mut date = local.date();
        let mut guard = 0;
        while !self.is_working_day(date) && guard < SEARCH_DAYS {
            date = date.succ_opt().unwrap_or(date);
            guard += 1;
        }
        let mut left = days;
        while left > 0 && guard < SEARCH_DAYS {
            date = date.succ_opt().unwrap_or(date);
            guard += 1;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        match &self.kind {
            Kind::Always => from + (date.and_time(time) - local),
            Kind::Working { zone, .. } => instant(zone, date.and_time(time), from),
        }
    }

    /// A date the prospect gave, as a due time: the start of the working day
    /// there (09:00 UTC around the clock).
    pub fn on(&self, date: NaiveDate) -> DateTime<Utc> {
        match &self.kind {
            Kind::Always => date
                .and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default())
                .and_utc(),
            Kind::Working { zone, start, .. } => {
                let local = date.and_time(*start);
                zone.earliest(local).unwrap_or_else(|| local.and_utc())
            }
        }
    }

    /// `at` on the owner's wall clock: "Fri 2026-12-04 17:00 Europe/Berlin".
    pub fn local(&self, at: DateTime<Utc>) -> String {
        match &self.kind {
            Kind::Always => at.format("%a %Y-%m-%d %H:%M UTC").to_string(),
            Kind::Working {
                zone, zone_name, ..
            } => format!("{} {zone_name}", zone.local(at).format("%a %Y-%m-%d %H:%M")),
        }
    }

    /// "4 business h" or "4 h".
    pub fn hours_label(&self, hours: u32) -> String {
        match self.kind {
            Kind::Always => format!("{hours} h"),
            Kind::Working { .. } => format!("{hours} business h"),
        }
    }
}

/// The instant the wall clock in `zone` reads `local`; across a skipped hour,
/// the instant an hour later; `near` if even that fails.
fn instant(zone: &Zone, local: NaiveDateTime, near: DateTime<Utc>) -> DateTime<Utc> {
    zone.earliest(local)
        .or_else(|| zone.earliest(local + Duration::hours(1)))
        .unwrap_or(near + Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn berlin() -> CalendarDef {
        CalendarDef {
            time_zone: "Europe/Berlin".into(),
            days: CalendarDef::weekdays(),
            from: "09:00".into(),
            to: "17:00".into(),
            holidays: vec![
                NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            ],
        }
    }

    #[test]
    fn a_friday_evening_hot_lead_is_due_monday_midday() {
        let def = berlin();
        let cal = Calendar::of("emea", &def, None);
        // Friday 2026-12-04 17:00 Berlin = 16:00 UTC; 4 working hours → Monday 13:00 Berlin.
        assert_eq!(
            cal.add_hours(at(2026, 12, 4, 16, 0), 4),
            at(2026, 12, 7, 12, 0)
        );
        // Friday 15:00 Berlin: 2 hours on Friday, 2 on Monday.
        assert_eq!(
            cal.add_hours(at(2026, 12, 4, 14, 0), 4),
            at(2026, 12, 7, 10, 0)
        );
        // Within the day.
        assert_eq!(
            cal.add_hours(at(2026, 12, 7, 8, 0), 4),
            at(2026, 12, 7, 12, 0)
        );
        // Before opening: from 09:00.
        assert_eq!(
            cal.add_hours(at(2026, 12, 7, 5, 0), 8),
            at(2026, 12, 7, 16, 0)
        );
        // One working day exactly, across the night.
        assert_eq!(
            cal.add_hours(at(2026, 12, 7, 12, 0), 8),
            at(2026, 12, 8, 12, 0)
        );
        // Christmas: Wednesday 23rd 16:00 Berlin + 4 h → Monday 28th 12:00 Berlin.
        assert_eq!(
            cal.add_hours(at(2026, 12, 23, 15, 0), 4),
            at(2026, 12, 28, 11, 0)
        );
        // The Madrid rep reads the same calendar in their own zone.
        let madrid = Calendar::of("emea", &def, Some("Europe/Madrid"));
        assert_eq!(
            madrid.add_hours(at(2026, 12, 4, 16, 0), 4),
            at(2026, 12, 7, 12, 0)
        );
        let ny = Calendar::of("emea", &def, Some("America/New_York"));
        // Friday 17:00 Berlin is 11:00 in New York: 4 hours that day.
        assert_eq!(
            ny.add_hours(at(2026, 12, 4, 16, 0), 4),
            at(2026, 12, 4, 20, 0)
        );
    }

    #[test]
    fn due_days_skip_weekends_and_holidays_within_working_hours() {
        let def = berlin();
        let cal = Calendar::of("emea", &def, None);
        // Friday 10:00 UTC (11:00 Berlin) + 1 → Monday 11:00 Berlin.
        assert_eq!(
            cal.add_days(at(2026, 12, 4, 10, 0), 1),
            at(2026, 12, 7, 10, 0)
        );
        // Monday 20:00 Berlin + 2 → Wednesday, at the end of the working day.
        assert_eq!(
            cal.add_days(at(2026, 12, 7, 19, 0), 2),
            at(2026, 12, 9, 16, 0)
        );
        // Wednesday 23rd + 1 → Monday 28th (24th, 25th holidays; weekend).
        assert_eq!(
            cal.add_days(at(2026, 12, 23, 10, 0), 1),
            at(2026, 12, 28, 10, 0)
        );
        // A date the prospect gave: 09:00 Berlin.
        assert_eq!(
            cal.on(NaiveDate::from_ymd_opt(2026, 12, 10).unwrap()),
            at(2026, 12, 10, 8, 0)
        );
        assert_eq!(
            cal.local(at(2026, 12, 4, 16, 0)),
            "Fri 2026-12-04 17:00 Europe/Berlin"
        );
    }

    #[test]
    fn around_the_clock_keeps_clock_hours_and_utc_weekdays() {
        let cal = Calendar::always();
        assert_eq!(
            cal.add_hours(at(2026, 12, 4, 16, 0), 4),
            at(2026, 12, 4, 20, 0)
        );
        assert_eq!(
            cal.add_days(at(2026, 12, 4, 10, 0), 1),
            at(2026, 12, 7, 10, 0)
        );
        assert_eq!(
            cal.add_days(at(2026, 12, 5, 10, 0), 0),
            at(2026, 12, 7, 10, 0)
        );
        assert_eq!(
            cal.add_days(at(2026, 12, 1, 10, 0), 5),
            at(2026, 12, 8, 10, 0)
        );
    }

    #[test]
    fn a_calendar_without_working_days_counts_clock_time() {
        let mut def = berlin();
        def.days = vec![Day::Sat];
        def.holidays = (0..1200)
            .filter_map(|d| {
                NaiveDate::from_ymd_opt(2026, 1, 1)?.checked_add_days(chrono::Days::new(d))
            })
            .collect();
        let cal = Calendar::of("x", &def, None);
        assert_eq!(
            cal.add_hours(at(2026, 12, 4, 16, 0), 4),
            at(2026, 12, 4, 20, 0)
        );
    }
}
