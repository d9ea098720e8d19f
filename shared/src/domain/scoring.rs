//! Lead scoring (seeds 002, 004): explicit answers, fit with the perfect prospect
//! profile, and behaviour whose points decay with a half-life, so last year's
//! burst of clicks does not make a lead hot today.
//!
//! A score is a pure function of the lead's history and the time it is taken
//! at: recomputing it from the history gives the same answer.

use super::bant::Criterion;
use super::decision::{concat, round1, write_int, write_number, Score};
use super::lead::{Event, HistoryEntry, Lead};
use super::playbook::Playbook;
use chrono::{DateTime, Utc};

/// What scoring reads of a lead's past: the behaviour it shows, as (kind,
/// when) oldest first. Each response is a form submission; other activity
/// (visits, downloads, clicks, events) is recorded as it arrives. A history
/// is the router's source; the simulator keeps only its responses' times.
pub trait Behaviour {
    fn behaviours(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)>;
}

impl Behaviour for [HistoryEntry] {
    fn behaviours(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.iter().filter_map(|h| match &h.event {
            Event::Response(_) => Some((FORM_SUBMISSION, h.at)),
            // A person's click that turned out to be part of a scanner's
            // burst (another link of the same mail within seconds) counts
            // as the scanner's.
            Event::Activity {
                kind,
                detail,
                message_id: Some(message),
                occurred_at,
            } if kind == CLICK && in_burst(self, message, detail.as_deref(), *occurred_at) => {
                Some((SCANNER_CLICK, h.at))
            }
            Event::Activity { kind, .. } => Some((kind.as_str(), h.at)),
            _ => None,
        })
    }
}

/// The behaviour kind of a person's click on a tracked link.
const CLICK: &str = "email_click";
/// What a click in a scanner's burst counts as (nothing in the points).
const SCANNER_CLICK: &str = "email_click_scanner";
/// Clicks on different links of one mail this close together are a
/// scanner's (it opens every link at once; a person reads between clicks).
pub const BURST_SECONDS: i64 = 10;

/// Whether `history` holds a click on another link of mail `message`
/// within [`BURST_SECONDS`] of one on `link` at `at`.
pub fn in_burst(
    history: &[HistoryEntry],
    message: &str,
    link: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> bool {
    let Some(at) = at else {
        return false;
    };
    history.iter().any(|h| match &h.event {
        Event::Activity {
            kind,
            detail,
            message_id: Some(m),
            occurred_at: Some(other),
        } => {
            kind.starts_with(CLICK)
                && m == message
                && detail.as_deref() != link
                && (*other - at).num_seconds().abs() <= BURST_SECONDS
        }
        _ => false,
    })
}

impl<const N: usize> Behaviour for [HistoryEntry; N] {
    fn behaviours(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.as_slice().behaviours()
    }
}

impl Behaviour for Vec<HistoryEntry> {
    fn behaviours(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.as_slice().behaviours()
    }
}

/// The behaviour kind of a response.
pub const FORM_SUBMISSION: &str = "form_submission";

pub fn score<'p, H: Behaviour + ?Sized>(
    lead: &Lead,
    history: &H,
    playbook: &'p Playbook,
    at: DateTime<Utc>,
) -> Score {
    let model = &playbook.scoring;
    let mut parts: Vec<(f64, String)> = Vec::with_capacity(8);

    let mut explicit = 0.0;
    for c in Criterion::ALL {
        let value = lead.bant.value(c);
        let points = playbook.bant.answer(c, value).map_or(0, |a| a.points) as f64;
        if points != 0.0 {
            explicit += points;
            let mut reason = concat(&[c.field(), " ", value, " "]);
            write_number(&mut reason, points, true);
            parts.push((points, reason));
        }
    }
    if let Some(p) = model
        .request_type
        .get(&lead.request_type)
        .copied()
        .filter(|p| *p != 0)
    {
        explicit += p as f64;
        let mut reason = concat(&["request ", lead.request_type.as_str(), " "]);
        write_int(&mut reason, p, true);
        parts.push((p as f64, reason));
    }

    let mut fit = 0.0;
    let c = &lead.contact;
    let lookup = |table: &'p std::collections::BTreeMap<String, i64>, v: Option<&str>| {
        v.and_then(|v| table.iter().find(|(k, _)| k.eq_ignore_ascii_case(v)))
            .map(|(k, p)| (k.as_str(), *p))
    };
    for (label, hit) in [
        (
            "industry",
            lookup(&model.fit.industry, c.industry.as_deref()),
        ),
        (
            "company size",
            lookup(&model.fit.company_size, c.company_size.as_deref()),
        ),
        (
            "country",
            lookup(&model.fit.country, c.country.as_ref().map(|c| c.as_str())),
        ),
    ] {
        if let Some((k, p)) = hit.filter(|(_, p)| *p != 0) {
            fit += p as f64;
            let mut reason = concat(&[label, " ", k, " "]);
            write_int(&mut reason, p, true);
            parts.push((p as f64, reason));
        }
    }
    // A title scores its best keyword once: "VP, Director of IT" is a VP.
    if let Some(title) = &c.title {
        // Compared as `to_lowercase` would, without allocating for ASCII.
        let same = |word: &str, keyword: &str| {
            if word.is_ascii() && keyword.is_ascii() {
                word.eq_ignore_ascii_case(keyword)
            } else {
                word.to_lowercase() == keyword.to_lowercase()
            }
        };
        let words = title
            .split(|ch: char| !ch.is_alphanumeric())
            .filter(|w| !w.is_empty());
        let best = model
            .fit
            .title
            .iter()
            .filter(|(k, _)| words.clone().any(|w| same(w, k)))
            .max_by_key(|(_, p)| **p);
        if let Some((k, p)) = best.filter(|(_, p)| **p != 0) {
            fit += *p as f64;
            let mut reason = concat(&["title ", k, " "]);
            write_int(&mut reason, *p, true);
            parts.push((*p as f64, reason));
        }
    }

    let half_life = model.behaviour.half_life_days.max(0.001);
    let mut behaviour = 0.0;
    // (kind, how many, points) per behaviour kind: a few kinds at most, so a
    // list (in kind order below, as the reasons list them).
    let mut counted: Vec<(&str, usize, f64)> = Vec::new();
    for (kind, when) in history.behaviours() {
        if when > at {
            continue;
        }
        let Some(points) = model.behaviour.points.get(kind).copied() else {
            continue;
        };
        let age_days = (at - when).num_seconds() as f64 / 86_400.0;
        let p = points as f64 * 0.5f64.powf(age_days / half_life);
        behaviour += p;
        match counted.iter_mut().find(|(k, ..)| *k == kind) {
            Some((_, n, sum)) => {
                *n += 1;
                *sum += p;
            }
            None => counted.push((kind, 1, p)),
        }
    }
    counted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (kind, n, p) in counted {
        if p.abs() >= 0.05 {
            let mut reason = String::with_capacity(32);
            write_int(&mut reason, n as i64, false);
            reason.push_str("× ");
            reason.extend(kind.chars().map(|c| if c == '_' { ' ' } else { c }));
            reason.push(' ');
            write_number(&mut reason, round1(p), true);
            parts.push((p, reason));
        }
    }

    parts.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()));
    Score {
        total: (explicit + fit + behaviour).round() as i64,
        explicit,
        fit,
        behaviour,
        at,
        reasons: parts.into_iter().map(|(_, r)| r).collect(),
    }
}
