//! The counters reports read: kept as state changes, never by scanning leads.
//!
//! Every write of a lead goes through one `Commit`; the store calls
//! [`settle`] on it, which compares what the lead is now with what the
//! counters last counted it as (its [`Tally`], stored on the lead) and with
//! the events the commit records, and returns the counter changes to apply
//! *in the same transaction*. A commit that fails counts nothing; a retried
//! one is conditioned on the lead's version (or a done-marker), so nothing is
//! counted twice.
//!
//! Two kinds of counter:
//! - **day counters**: `(day, dimension, value) → {metric: n}`. The funnel and
//!   first-touch metrics are counted on the lead's *arrival* day (a cohort:
//!   of the leads that came in during a period, how many got how far); what
//!   happens at a moment (responses, SLA breaches — counted when the
//!   escalation is recorded on the lead —, wins and losses, nurture sends and
//!   exits) on the day it happened.
//! - **gauges**: `(dimension, value) → {metric: n}`: how many open leads
//!   stand where right now (by status, untouched, breached).
//!
//! Counters are spread over [`STAT_SHARDS`] shards by lead, so a burst of
//! leads never contends for one item; reads add the shards up.

use super::decision::{Owner, Route, Stage};
use super::lead::{Event, HistoryEntry, Lead};
use super::outcome::LeadStatus;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many items one counter is spread over.
pub const STAT_SHARDS: u32 = 8;

/// Upper bounds (minutes) of the time-to-first-touch histogram; the last
/// bucket (`touch_le_inf`) takes the rest.
pub const TOUCH_BUCKETS: [i64; 11] = [5, 15, 30, 60, 120, 240, 480, 1440, 2880, 5760, 10080];

/// The value a counter is kept under when a lead has none for a dimension.
pub const NONE: &str = "(none)";

/// The dimensions counters are kept by (one at a time: a counter never
/// crosses two, which keeps a write to a handful of items).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    All,
    Campaign,
    Source,
    /// The lead's country.
    Territory,
    /// The owner: a rep's id, or `queue:<name>`.
    Rep,
    Pool,
    /// A nurture series.
    Series,
    LostTo,
    LostReason,
    /// Posts the spam guard took for a bot's, by what gave them away (never
    /// a report's `by=`: they are not leads).
    Spam,
}

impl Dim {
    pub const ALL: [Dim; 9] = [
        Dim::All,
        Dim::Campaign,
        Dim::Source,
        Dim::Territory,
        Dim::Rep,
        Dim::Pool,
        Dim::Series,
        Dim::LostTo,
        Dim::LostReason,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::All => "all",
            Dim::Campaign => "campaign",
            Dim::Source => "source",
            Dim::Territory => "territory",
            Dim::Rep => "rep",
            Dim::Pool => "pool",
            Dim::Series => "series",
            Dim::LostTo => "lost_to",
            Dim::LostReason => "lost_reason",
            Dim::Spam => "spam",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// One post counted as spam on `day`, by its sign (`honeypot`, `too_fast`),
/// on a shard of its own choosing (spread, as every counter, over 8).
pub fn spam(day: NaiveDate, sign: &str, shard: u32) -> Count {
    Count {
        key: CountKey::Day {
            day,
            dim: Dim::Spam,
            value: sign.to_string(),
            shard: shard % STAT_SHARDS,
        },
        add: BTreeMap::from([("spam".to_string(), 1)]),
    }
}

pub use super::tally::{Milestone, OpenSlot, Tally};

impl Milestone {
    /// The furthest step a lead in this state has reached.
    pub fn furthest(lead: &Lead) -> Milestone {
        use LeadStatus as S;
        let stage = lead.routing.as_ref().map(|d| d.stage);
        match lead.status {
            S::Won => Milestone::Won,
            S::ProposalSent => Milestone::Quote,
            S::Accepted | S::DemoScheduled | S::DemoHeld => Milestone::SalesReady,
            // Handed to field sales or a partner: ready for sales to accept.
            _ if lead
                .routing
                .as_ref()
                .is_some_and(|d| matches!(d.route, Route::Hot | Route::Partner)) =>
            {
                Milestone::SalesReady
            }
            _ => match stage {
                Some(Stage::Opportunity | Stage::QualifiedOpportunity) => Milestone::SalesReady,
                Some(Stage::Lead) => Milestone::Prospect,
                _ => Milestone::Suspect,
            },
        }
    }
}

/// Which counter item a change goes to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CountKey {
    Day {
        day: NaiveDate,
        dim: Dim,
        value: String,
        shard: u32,
    },
    Gauge {
        dim: Dim,
        value: String,
        shard: u32,
    },
}

/// Changes to one counter item: metric → amount to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub key: CountKey,
    pub add: BTreeMap<String, i64>,
}

/// Counter values as read back, summed over shards.
pub type Metrics = BTreeMap<String, i64>;

/// A day counter as read back: `(day, value) → metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    pub day: NaiveDate,
    pub value: String,
    pub metrics: Metrics,
}

/// The shard of a lead's counters (stable for its id).
pub fn shard(lead_id: &str) -> u32 {
    lead_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
        % STAT_SHARDS
}

/// How an owner is counted under [`Dim::Rep`].
pub fn owner_value(owner: &Owner) -> String {
    match owner {
        Owner::Rep { id, .. } => id.clone(),
        Owner::Queue { name, .. } => format!("queue:{name}"),
    }
}

/// The histogram metric a first touch after `minutes` counts in.
pub fn touch_bucket(minutes: i64) -> String {
    TOUCH_BUCKETS
        .iter()
        .find(|b| minutes <= **b)
        .map(|b| format!("touch_le_{b}"))
        .unwrap_or_else(|| "touch_le_inf".to_string())
}

/// Whether a status is still being worked (counted in the open gauges).
pub fn is_open(status: LeadStatus) -> bool {
    !matches!(
        status,
        LeadStatus::Won | LeadStatus::Lost | LeadStatus::Dead | LeadStatus::Rejected
    )
}

/// Why a lead left a nurture series, as a counter: what a series' health
/// report rates (`unsubscribed`, `bounced`, `complained`), or `other`.
pub fn exit_kind(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("unsubscribed") {
        "unsubscribed"
    } else if r.contains("hardbounce") || r.contains("hard bounce") || r.contains("bounce") {
        "bounced"
    } else if r.contains("complaint") {
        "complained"
    } else if r.contains("sales-ready") || r.contains("sales ready") {
        "sales_ready"
    } else if r.contains("completed") {
        "completed"
    } else {
        "other"
    }
}

fn campaign(lead: &Lead) -> String {
    lead.first_attribution
        .campaign
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| NONE.to_string())
}

fn territory(lead: &Lead) -> Option<String> {
    lead.contact.country.as_ref().map(|c| c.to_string())
}

struct Counts {
    shard: u32,
    items: BTreeMap<CountKey, BTreeMap<String, i64>>,
}

/// The longest value a counter is kept under (a sort key holds 1 KB; a lost
/// reason may be 1,000 characters): longer ones are cut, on a character boundary.
pub const MAX_VALUE_CHARS: usize = 200;

impl Counts {
    fn day(&mut self, day: NaiveDate, dim: Dim, value: &str, metric: &str, n: i64) {
        let value = value.chars().take(MAX_VALUE_CHARS).collect();
        self.add(
            CountKey::Day {
                day,
                dim,
                value,
                shard: self.shard,
            },
            metric,
            n,
        );
    }

    fn gauge(&mut self, dim: Dim, value: &str, metric: &str, n: i64) {
        let value = value.chars().take(MAX_VALUE_CHARS).collect();
        self.add(
            CountKey::Gauge {
                dim,
                value,
                shard: self.shard,
            },
            metric,
            n,
        );
    }

    fn add(&mut self, key: CountKey, metric: &str, n: i64) {
        *self
            .items
            .entry(key)
            .or_default()
            .entry(metric.to_string())
            .or_default() += n;
    }

    fn open_slot(&mut self, slot: &OpenSlot, sign: i64) {
        let mut dims = vec![
            (Dim::All, "all".to_string()),
            (Dim::Rep, slot.owner.clone()),
        ];
        if let Some(t) = &slot.territory {
            dims.push((Dim::Territory, t.clone()));
        }
        for (dim, value) in dims {
            self.gauge(dim, &value, "open", sign);
            self.gauge(dim, &value, &format!("open_{}", slot.status), sign);
            if slot.untouched {
                self.gauge(dim, &value, "untouched", sign);
            }
            if slot.breached {
                self.gauge(dim, &value, "breached", sign);
            }
        }
    }

    fn into_counts(self) -> Vec<Count> {
        self.items
            .into_iter()
            .map(|(key, mut add)| {
                add.retain(|_, n| *n != 0);
                Count { key, add }
            })
            .filter(|c| !c.add.is_empty())
            .collect()
    }
}

/// The counter changes one write makes, given the lead as it will be stored
/// (its tally is brought up to date here) and the events it records.
pub fn settle(lead: Option<&mut Lead>, events: &[HistoryEntry]) -> Vec<Count> {
    let lead_id = lead
        .as_ref()
        .map(|l| l.id.to_string())
        .or_else(|| events.first().map(|e| e.lead_id.to_string()))
        .unwrap_or_default();
    let mut c = Counts {
        shard: shard(&lead_id),
        items: BTreeMap::new(),
    };
    let arrival = lead.as_ref().map(|l| l.created_at.date_naive());
    let lead_dims = lead.as_ref().map(|l| {
        vec![
            (Dim::All, "all".to_string()),
            (Dim::Campaign, campaign(l)),
            (Dim::Source, l.first_attribution.source().to_string()),
            (Dim::Territory, territory(l).unwrap_or_else(|| NONE.into())),
        ]
    });
    let owner = lead.as_ref().and_then(|l| l.owner().map(owner_value));
    let pool = lead
        .as_ref()
        .and_then(|l| l.routing.as_ref().and_then(|d| d.pool.clone()));

    if let Some(l) = lead {
        let day = l.created_at.date_naive();
        let dims = lead_dims.clone().unwrap_or_default();
        let old = l.tally.clone();
        let mut new = old.clone();
        // The funnel: each step first reached, on the arrival day.
        let furthest = Milestone::furthest(l);
        for m in Milestone::ALL.into_iter().filter(|m| *m <= furthest) {
            if new.reached.insert(m) {
                for (dim, value) in &dims {
                    c.day(day, *dim, value, &m.metric(), 1);
                }
                match &owner {
                    Some(o) => c.day(day, Dim::Rep, o, &m.metric(), 1),
                    None => new.unowned = true,
                }
            }
        }
        if let (Some(o), true) = (&owner, old.unowned) {
            for m in &old.reached {
                c.day(day, Dim::Rep, o, &m.metric(), 1);
            }
            new.unowned = false;
        }
        if l.status == LeadStatus::Lost && !new.lost {
            new.lost = true;
            for (dim, value) in &dims {
                c.day(day, *dim, value, "reached_lost", 1);
            }
            if let Some(o) = &owner {
                c.day(day, Dim::Rep, o, "reached_lost", 1);
            }
        }
        // The gauges: move the lead from where it was counted to where it is.
        let untouched = l.first_touch.is_none() && l.sla.is_some();
        new.open = match (&owner, is_open(l.status)) {
            (Some(o), true) => Some(OpenSlot {
                status: l.status,
                owner: o.clone(),
                territory: territory(l),
                untouched,
                breached: untouched && l.sla.as_ref().is_some_and(|s| s.escalated_at.is_some()),
            }),
            _ => None,
        };
        // An SLA breach, counted once when its escalation is recorded (on
        // that day), whoever writes it.
        let was_breached = old.open.as_ref().is_some_and(|o| o.breached);
        if let (Some(slot), false) = (&new.open, was_breached) {
            if slot.breached {
                let at = l
                    .sla
                    .as_ref()
                    .and_then(|s| s.escalated_at)
                    .unwrap_or(l.updated_at);
                let mut dims = vec![
                    (Dim::All, "all".to_string()),
                    (Dim::Rep, slot.owner.clone()),
                ];
                if let Some(p) = &pool {
                    dims.push((Dim::Pool, p.clone()));
                }
                if let Some(t) = &slot.territory {
                    dims.push((Dim::Territory, t.clone()));
                }
                for (dim, value) in &dims {
                    c.day(at.date_naive(), *dim, value, "sla_breaches", 1);
                }
            }
        }
        if old.open != new.open {
            if let Some(s) = &old.open {
                c.open_slot(s, -1);
            }
            if let Some(s) = &new.open {
                c.open_slot(s, 1);
            }
        }
        l.tally = new;
    }

    for e in events {
        let today = e.at.date_naive();
        match &e.event {
            Event::Response(r) => {
                let campaign = r
                    .attribution
                    .campaign
                    .clone()
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| NONE.into());
                c.day(today, Dim::All, "all", "responses", 1);
                c.day(today, Dim::Source, r.source.as_str(), "responses", 1);
                c.day(today, Dim::Campaign, &campaign, "responses", 1);
            }
            Event::FirstTouch(ft) => {
                let arrived = arrival.unwrap_or_else(|| {
                    (ft.at - chrono::Duration::minutes(ft.minutes_to_touch)).date_naive()
                });
                let mut dims = vec![(Dim::All, "all".to_string()), (Dim::Rep, ft.by.clone())];
                if let Some(p) = ft.pool.as_ref().or(pool.as_ref()) {
                    dims.push((Dim::Pool, p.clone()));
                }
                if let Some(t) = lead_dims.as_ref().and_then(|d| {
                    d.iter()
                        .find(|(dim, _)| *dim == Dim::Territory)
                        .map(|(_, v)| v.clone())
                }) {
                    dims.push((Dim::Territory, t));
                }
                let minutes = ft.minutes_to_touch.max(0);
                for (dim, value) in &dims {
                    c.day(arrived, *dim, value, "touched", 1);
                    c.day(arrived, *dim, value, "touch_minutes", minutes);
                    c.day(arrived, *dim, value, &touch_bucket(minutes), 1);
                    if let Some(within) = ft.within_sla {
                        c.day(arrived, *dim, value, "sla_known", 1);
                        if within {
                            c.day(arrived, *dim, value, "within_sla", 1);
                        }
                    }
                }
            }
            Event::StatusChanged {
                to,
                amount,
                lost_to,
                reason,
                ..
            } => {
                let mut dims = vec![(Dim::All, "all".to_string())];
                if let Some(o) = &owner {
                    dims.push((Dim::Rep, o.clone()));
                }
                match to {
                    LeadStatus::Won => {
                        for (dim, value) in &dims {
                            c.day(today, *dim, value, "closed_won", 1);
                            if let Some(a) = amount {
                                c.day(today, *dim, value, "won_amount", a.round() as i64);
                            }
                        }
                    }
                    LeadStatus::Lost => {
                        for (dim, value) in &dims {
                            c.day(today, *dim, value, "closed_lost", 1);
                        }
                        let to = lost_to.clone().filter(|s| !s.trim().is_empty());
                        let why = reason.clone().filter(|s| !s.trim().is_empty());
                        c.day(
                            today,
                            Dim::LostTo,
                            to.as_deref().unwrap_or(NONE),
                            "closed_lost",
                            1,
                        );
                        c.day(
                            today,
                            Dim::LostReason,
                            why.as_deref().unwrap_or(NONE),
                            "closed_lost",
                            1,
                        );
                    }
                    _ => {}
                }
            }
            Event::NurtureEnrolled { series, .. } => {
                c.day(today, Dim::Series, series, "nurture_enrolled", 1);
            }
            Event::NurtureStep { series, what, .. } if what.starts_with("email") => {
                c.day(today, Dim::Series, series, "nurture_sent", 1);
            }
            Event::NurtureExited { series, reason } => {
                c.day(today, Dim::Series, series, "nurture_exited", 1);
                c.day(
                    today,
                    Dim::Series,
                    series,
                    &format!("nurture_{}", exit_kind(reason)),
                    1,
                );
            }
            _ => {}
        }
    }
    c.into_counts()
}

/// The first day of each month from `from` to `to` (counter partitions are monthly).
pub fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let Some(mut m) = from.with_day(1) else {
        return out;
    };
    while m <= to {
        out.push(m);
        match m.checked_add_months(chrono::Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    out
}

/// `now`'s day, for defaults.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::email::EmailAddress;
    use crate::domain::ids::LeadId;
    use chrono::TimeZone;

    fn lead() -> Lead {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        Lead::new(
            LeadId::generate(),
            EmailAddress::parse("ana@example.com").unwrap(),
            now,
        )
    }

    fn metric(counts: &[Count], dim: Dim, metric: &str) -> i64 {
        counts
            .iter()
            .filter(|c| match &c.key {
                CountKey::Day { dim: d, .. } | CountKey::Gauge { dim: d, .. } => *d == dim,
            })
            .filter_map(|c| c.add.get(metric))
            .sum()
    }

    #[test]
    fn a_step_is_counted_once_however_often_the_lead_is_written() {
        let mut l = lead();
        let first = settle(Some(&mut l), &[]);
        assert_eq!(metric(&first, Dim::All, "reached_suspect"), 1);
        assert_eq!(settle(Some(&mut l), &[]), Vec::new());
    }

    #[test]
    fn reaching_a_late_step_counts_the_ones_before_it() {
        let mut l = lead();
        settle(Some(&mut l), &[]);
        l.status = LeadStatus::ProposalSent;
        let c = settle(Some(&mut l), &[]);
        for m in ["reached_prospect", "reached_sales_ready", "reached_quote"] {
            assert_eq!(metric(&c, Dim::All, m), 1, "{m}");
        }
        assert_eq!(metric(&c, Dim::All, "reached_won"), 0);
        assert_eq!(metric(&c, Dim::All, "reached_suspect"), 0);
    }

    #[test]
    fn an_sla_breach_is_counted_once_when_its_escalation_is_recorded() {
        use crate::domain::decision::Owner;
        use crate::domain::lead::SlaClock;
        let mut l = lead();
        l.routing = Some(crate::domain::decision::Decision {
            bant_met: vec![],
            stage: Stage::Inquiry,
            score: crate::domain::decision::Score {
                total: 0,
                explicit: 0.0,
                fit: 0.0,
                behaviour: 0.0,
                at: l.created_at,
                reasons: vec![],
            },
            route: Route::NeedInformation,
            rule: "r".into(),
            owner: Owner::Rep {
                id: "lena.fischer".into(),
                name: "Lena".into(),
                email: "lena@example.com".into(),
            },
            pool: Some("emea-inside".into()),
            follow_up_by: None,
            decided_at: l.created_at,
            reasons: vec![],
            cursor: None,
        });
        l.sla = Some(SlaClock::new(l.created_at + chrono::Duration::hours(24)));
        let c = settle(Some(&mut l), &[]);
        assert_eq!(metric(&c, Dim::Rep, "untouched"), 1);
        assert_eq!(metric(&c, Dim::All, "sla_breaches"), 0);
        let mut clock = l.sla.unwrap();
        clock.escalated_at = Some(l.created_at + chrono::Duration::hours(25));
        l.sla = Some(clock);
        let c = settle(Some(&mut l), &[]);
        assert_eq!(metric(&c, Dim::All, "sla_breaches"), 1);
        assert_eq!(metric(&c, Dim::Pool, "sla_breaches"), 1);
        assert_eq!(metric(&c, Dim::All, "breached"), 1);
        assert_eq!(settle(Some(&mut l), &[]), Vec::new());
    }

    #[test]
    fn a_long_value_is_cut_to_fit_a_key() {
        let mut l = lead();
        settle(Some(&mut l), &[]);
        let why = "ü".repeat(1000);
        let lost = HistoryEntry::new(
            &l.id,
            l.created_at,
            Event::StatusChanged {
                from: LeadStatus::Accepted,
                to: LeadStatus::Lost,
                by: "ana.ruiz".into(),
                reason: Some(why.clone()),
                amount: None,
                lost_to: None,
                via_link: false,
            },
        );
        let c = settle(None, &[lost]);
        let value = c
            .iter()
            .find_map(|c| match &c.key {
                CountKey::Day {
                    dim: Dim::LostReason,
                    value,
                    ..
                } => Some(value.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(value.chars().count(), MAX_VALUE_CHARS);
        assert!(why.starts_with(&value));
    }

    #[test]
    fn the_histogram_buckets_are_inclusive_upper_bounds() {
        assert_eq!(touch_bucket(0), "touch_le_5");
        assert_eq!(touch_bucket(5), "touch_le_5");
        assert_eq!(touch_bucket(6), "touch_le_15");
        assert_eq!(touch_bucket(100_000), "touch_le_inf");
    }

    #[test]
    fn exits_are_classified_for_the_series_health() {
        assert_eq!(
            exit_kind("the address is suppressed (unsubscribed)"),
            "unsubscribed"
        );
        assert_eq!(
            exit_kind("the address is suppressed (hardbounce)"),
            "bounced"
        );
        assert_eq!(
            exit_kind("the address is suppressed (complaint)"),
            "complained"
        );
        assert_eq!(exit_kind("series completed"), "completed");
    }

    #[test]
    fn months_cover_the_period() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(months(d(11, 20), d(12, 3)), vec![d(11, 1), d(12, 1)]);
        assert_eq!(months(d(12, 3), d(12, 3)), vec![d(12, 1)]);
        // The last month chrono knows ends the list (it used to repeat forever).
        let last = NaiveDate::MAX;
        assert_eq!(months(last, last).len(), 1);
    }
}
