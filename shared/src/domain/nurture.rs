//! Nurture: who enters which series, who leaves it and why, and when a step
//! may go out (business days inside the lead's local send window, under the
//! frequency cap). Pure: time is an input.

use super::decision::Route;
use super::lead::{Enrolment, Event, Lead};
use super::outcome::{LeadStatus, Outcome};
use super::playbook::{Playbook, Series};
use super::task::business_days_after;
use super::tz::Zone;
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc, Weekday};

/// Statuses a lead stays in a series with (rejected: sales gave it back to marketing).
fn may_nurture(status: LeadStatus) -> bool {
    matches!(
        status,
        LeadStatus::Open | LeadStatus::Nurturing | LeadStatus::Rejected
    )
}

/// Why an enrolled lead must leave its series now, if it must.
pub fn exit_reason(lead: &Lead, playbook: &Playbook) -> Option<String> {
    let e = lead.nurture.as_ref()?;
    let Some(series) = playbook.nurture.series(&e.series) else {
        return Some(format!("series {} is no longer in the playbook", e.series));
    };
    if !may_nurture(lead.status) {
        return Some(format!("the lead is {}", lead.status));
    }
    let route = lead.routing.as_ref().map(|d| d.route);
    if route.is_none_or(|r| !series.stay_routes().contains(&r)) {
        return Some(format!(
            "the lead moved to route {}",
            route.map(Route::as_str).unwrap_or("none")
        ));
    }
    if !consented(lead, playbook) {
        return Some(format!(
            "no email consent, which {} requires for marketing",
            country(lead).unwrap_or_default()
        ));
    }
    if e.step >= series.steps.len() {
        return Some("series completed".into());
    }
    None
}

fn country(lead: &Lead) -> Option<String> {
    lead.contact.country.as_ref().map(|c| c.to_string())
}

/// Whether marketing email may go to this lead under the playbook's consent rules.
pub fn consented(lead: &Lead, playbook: &Playbook) -> bool {
    let opt_in = country(lead).is_some_and(|c| playbook.nurture.opt_in_countries.contains(&c));
    !opt_in || lead.consent_email.as_ref().is_some_and(|c| c.granted)
}

/// The series a lead on `route` (after `outcome`, when a rep reported one) enters.
pub fn series_for<'p>(
    lead: &Lead,
    route: Route,
    outcome: Option<Outcome>,
    playbook: &'p Playbook,
) -> Option<&'p Series> {
    if !may_nurture(lead.status) || !consented(lead, playbook) {
        return None;
    }
    let series = &playbook.nurture.series;
    let stage = lead.routing.as_ref().map(|d| d.stage);
    outcome
        .and_then(|o| series.iter().find(|s| s.outcomes.contains(&o)))
        .or_else(|| series.iter().find(|s| s.routes.contains(&route)))
        .or_else(|| {
            series.iter().find(|s| {
                stage.is_some_and(|st| s.stages.contains(&st)) && s.stay_routes().contains(&route)
            })
        })
        .filter(|s| stage.is_none_or(|st| !s.exit_stages.contains(&st)))
}

/// Enrol or release the lead to match where it now is; the history entry that says so.
pub fn reconcile(
    lead: &mut Lead,
    outcome: Option<Outcome>,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Option<Event> {
    if let Some(reason) = exit_reason(lead, playbook) {
        let e = lead.nurture.take()?;
        return Some(Event::NurtureExited {
            series: e.series,
            reason,
        });
    }
    if lead.nurture.is_some() {
        return None;
    }
    let route = lead.routing.as_ref()?.route;
    let series = series_for(lead, route, outcome, playbook)?;
    let first = series.steps.first()?;
    lead.nurture = Some(Enrolment {
        series: series.name.clone(),
        step: 0,
        next_at: step_due(lead, first, now),
        enrolled_at: now,
        sent: Vec::new(),
    });
    Some(Event::NurtureEnrolled {
        series: series.name.clone(),
        reason: match outcome.filter(|o| series.outcomes.contains(o)) {
            Some(o) => format!("a rep reported {o} ({})", o.label()),
            None => format!("routed {route} ({})", route.channel()),
        },
    })
}

/// The lead's time zone: its `time_zone` field, else its country's, else the default.
pub fn time_zone(lead: &Lead, playbook: &Playbook) -> Zone {
    let n = &playbook.nurture;
    lead.custom
        .get("time_zone")
        .and_then(|z| Zone::get(z))
        .or_else(|| {
            country(lead)
                .and_then(|c| n.time_zones.get(&c))
                .and_then(|z| Zone::get(z))
        })
        .or_else(|| Zone::get(&n.default_time_zone))
        .unwrap_or_else(Zone::utc)
}

/// The first moment at or after `at` inside the lead's send window on a
/// business day, in the lead's own time zone.
pub fn next_window(lead: &Lead, playbook: &Playbook, at: DateTime<Utc>) -> DateTime<Utc> {
    let tz = time_zone(lead, playbook);
    let w = playbook.nurture.send_window;
    let local = tz.local(at);
    let open = |d: chrono::NaiveDate| -> Option<DateTime<Utc>> {
        let t = NaiveTime::from_hms_opt(w.from_hour, 0, 0)?;
        tz.earliest(d.and_time(t))
    };
    let weekday = |d: chrono::NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
    let today = local.date();
    if weekday(today) {
        let hour = local.hour();
        if hour >= w.from_hour && hour < w.to_hour {
            return at;
        }
        if hour < w.from_hour {
            if let Some(t) = open(today) {
                return t;
            }
        }
    }
    let mut d = today;
    for _ in 0..8 {
        d = d.succ_opt().unwrap_or(d);
        if weekday(d) {
            if let Some(t) = open(d) {
                return t;
            }
        }
    }
    at + Duration::days(1)
}

/// When the frequency cap lets the next marketing email go (now when it
/// does): it counts what the person was sent lately in any series (the
/// lead's log, and the enrolment's own from before the lead kept one).
pub fn cap_clears(
    lead: &Lead,
    e: &Enrolment,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let cap = playbook.nurture.frequency_cap;
    let span = Duration::days(cap.days as i64);
    let mut recent: Vec<DateTime<Utc>> = lead
        .marketing_sent
        .iter()
        .chain(&e.sent)
        .copied()
        .filter(|t| *t > now - span)
        .collect();
    recent.sort();
    recent.dedup();
    if (recent.len() as u32) < cap.max {
        return now;
    }
    // The oldest sends in the window must age out first.
    let idx = recent.len() - cap.max as usize;
    recent[idx] + span
}

/// Sends worth remembering for the cap.
pub fn trim_sent(sent: &mut Vec<DateTime<Utc>>, playbook: &Playbook, now: DateTime<Utc>) {
    let span = Duration::days(playbook.nurture.frequency_cap.days as i64);
    sent.retain(|t| *t > now - span);
}

/// A nurture event in a rep's words, for the reasons of the change that caused it.
pub fn describe(e: &Event) -> String {
    match e {
        Event::NurtureEnrolled { series, reason } => {
            format!("nurture series {series}: enrolled ({reason})")
        }
        Event::NurtureExited { series, reason } => {
            format!("nurture series {series}: left ({reason})")
        }
        Event::NurtureStep { series, step, what } => {
            format!("nurture series {series}, step {}: {what}", step + 1)
        }
        _ => String::new(),
    }
}

/// Why a nurtured lead whose stage is (about to be) `stage` is sales-ready
/// (leaves its series for inside sales), if it is: its score reached the
/// playbook's `exit_score`, or its stage one of its series' `exit_stages`.
pub fn sales_ready_at(
    lead: &Lead,
    score: i64,
    stage: super::decision::Stage,
    playbook: &Playbook,
) -> Option<String> {
    let e = lead.nurture.as_ref()?;
    let route = lead.routing.as_ref()?.route;
    if route.value() >= Route::HighPotential.value() {
        return None;
    }
    if score >= playbook.nurture.exit_score {
        return Some(format!(
            "sales-ready: score {score} reached the playbook's exit score {} (series {})",
            playbook.nurture.exit_score, e.series
        ));
    }
    let series = playbook.nurture.series(&e.series)?;
    series.exit_stages.contains(&stage).then(|| {
        format!(
            "sales-ready: reached the {} stage (series {} hands it to inside sales)",
            stage.label(),
            e.series
        )
    })
}

/// When `step` is due after a touch at `after`: weeks before the lead's next
/// budget cycle when the step says so and the lead gave its month, else
/// `wait_days` business days later.
pub fn step_due(lead: &Lead, step: &super::playbook::Step, after: DateTime<Utc>) -> DateTime<Utc> {
    let fallback = business_days_after(after, step.wait_days);
    let (Some(weeks), Some(month)) = (step.before_budget_cycle_weeks, budget_cycle_month(lead))
    else {
        return fallback;
    };
    (after.year()..after.year() + 3)
        .filter_map(|year| Utc.with_ymd_and_hms(year, month, 1, 9, 0, 0).single())
        .map(|start| start - Duration::weeks(weeks as i64))
        .find(|due| *due > after)
        // Never on a weekend.
        .map(|due| business_days_after(due, 0))
        .unwrap_or(fallback)
}

/// The month (1–12) of the lead's budget cycle, from its `budget_cycle_month` field.
pub fn budget_cycle_month(lead: &Lead) -> Option<u32> {
    let raw = lead
        .custom
        .get("budget_cycle_month")?
        .trim()
        .to_ascii_lowercase();
    if let Ok(m) = raw.parse::<u32>() {
        return (1..=12).contains(&m).then_some(m);
    }
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    MONTHS
        .iter()
        .position(|m| raw.starts_with(m))
        .map(|i| i as u32 + 1)
}
