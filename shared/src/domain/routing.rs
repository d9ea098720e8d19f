//! Qualification, scoring, routing and assignment: the decisions the router
//! makes, each with reasons a rep can read. One entry point, [`assess`] then
//! [`Assessment::decide`] (or [`decide`] in one go), serves the router and the
//! simulator alike.

use super::decision::{
    concat, write_int, Assignment, CursorAdvance, Decision, Owner, PoolState, Qualification, Route,
    RouteDecision, Score,
};
use super::lead::Lead;
use super::playbook::{AssignmentRule, Playbook, Strategy, Target};
use super::scoring::{score, Behaviour};
use crate::domain::bant::Criterion;
use chrono::{DateTime, Datelike, Timelike, Utc};
use std::fmt::Write as _;

pub fn qualify(lead: &Lead, playbook: &Playbook) -> Qualification {
    let met = lead.bant.met(&playbook.bant);
    let stage = playbook.stages.stage_for(met.len());
    let mut reason = String::with_capacity(192);
    reason.push_str(stage.label());
    reason.push_str(": ");
    write_int(&mut reason, met.len() as i64, false);
    reason.push_str(" of 4 B.A.N.T. criteria met — ");
    for (i, c) in Criterion::ALL.iter().enumerate() {
        let mark = if met.contains(c) { "met" } else { "not met" };
        let separator = if i > 0 { ", " } else { "" };
        for piece in [
            separator,
            c.field(),
            " ",
            lead.bant.value(*c),
            " (",
            mark,
            ")",
        ] {
            reason.push_str(piece);
        }
    }
    Qualification { reason, stage, met }
}

/// The first route rule whose conditions hold.
pub fn route(lead: &Lead, q: &Qualification, score: &Score, playbook: &Playbook) -> RouteDecision {
    for rule in &playbook.routes {
        if rule.when.holds(lead, q, score) {
            return RouteDecision {
                route: rule.route,
                rule: rule.name.clone(),
                reason: concat(&[
                    rule.route.as_str(),
                    ": ",
                    &rule.name,
                    " → ",
                    rule.route.channel(),
                ]),
            };
        }
    }
    // Validation guarantees a catch-all last rule; this keeps the function total anyway.
    RouteDecision {
        route: Route::NeedNurturing,
        rule: "no rule matched".into(),
        reason: "need_nurturing: no route rule matched → automated nurture emails".into(),
    }
}

/// Where the route sends the lead, before a person is picked.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement<'p> {
    pub target: &'p Target,
    pub rule: &'p AssignmentRule,
}

/// The first assignment rule that covers this lead on this route.
pub fn place<'p>(lead: &Lead, route: Route, playbook: &'p Playbook) -> Option<Placement<'p>> {
    playbook
        .assignment
        .iter()
        .filter(|r| match &r.target {
            // A named account's owner who is away: the next rule covers them.
            Target::Rep(id) => playbook.rep(id).is_some_and(|rep| !rep.away),
            _ => true,
        })
        .find(|r| r.matches(lead, route))
        .map(|rule| Placement {
            target: &rule.target,
            rule,
        })
}

/// Pick the owner from `placement` (what [`place`] found for `route`).
/// `state` is the target pool's (default when new); `current` is who holds
/// the lead now: they keep it when they are still in the pool.
fn assign(
    lead: &Lead,
    route: Route,
    playbook: &Playbook,
    placement: Option<Placement<'_>>,
    state: &PoolState,
    current: Option<&Owner>,
) -> Assignment {
    let territory = territory(lead);
    let Some(placement) = placement else {
        let owner = playbook.fallback_owner();
        return Assignment {
            reason: format!(
                "no assignment rule covers {route} in {territory} → fallback queue {}",
                owner.display_name()
            ),
            owner,
            pool: None,
            cursor: None,
        };
    };
    let rule_name = &placement.rule.name;
    let fallback = |why: String| {
        let owner = playbook.fallback_owner();
        Assignment {
            reason: format!("{why} → fallback queue {}", owner.display_name()),
            owner,
            pool: None,
            cursor: None,
        }
    };
    match placement.target {
        Target::Queue(name) => {
            let owner = playbook.queue_owner(name);
            Assignment {
                reason: concat(&[
                    rule_name,
                    ": ",
                    territory.0[0],
                    territory.0[1],
                    territory.0[2],
                    territory.0[3],
                    " → queue ",
                    owner.display_name(),
                ]),
                owner,
                pool: None,
                cursor: None,
            }
        }
        Target::Rep(id) => match playbook.rep(id) {
            Some(rep) => Assignment {
                reason: format!(
                    "{rule_name}: named account {} → {}",
                    lead.email.domain(),
                    rep.name
                ),
                owner: rep.owner(),
                pool: None,
                cursor: None,
            },
            None => fallback(format!("{rule_name}: rep {id} is not defined")),
        },
        Target::Pool(pool_name) => {
            let Some(pool) = playbook.pool(pool_name) else {
                return fallback(format!("{rule_name}: pool {pool_name} is not defined"));
            };
            let mut available = Vec::with_capacity(pool.reps.len());
            available.extend(
                pool.reps
                    .iter()
                    .filter_map(|id| playbook.rep(id))
                    .filter(|r| !r.away),
            );
            if let Some(Owner::Rep { id, .. }) = current {
                if let Some(rep) = available.iter().find(|r| &r.id == id) {
                    return Assignment {
                        reason: via_pool(
                            rule_name,
                            &territory,
                            pool_name,
                            &["kept with current owner ", &rep.name],
                        ),
                        owner: rep.owner(),
                        pool: Some(pool_name.clone()),
                        cursor: None,
                    };
                }
            }
            if available.is_empty() {
                return fallback(format!(
                    "{rule_name}: {territory} → pool {pool_name} has nobody available"
                ));
            }
            let n = available.len();
            let start = (state.cursor % n as u64) as usize;
            let in_turn = (0..n).map(|i| available[(start + i) % n]);
            let (rep, how) = match pool.strategy {
                Strategy::RoundRobin => (available[start], "round-robin".into()),
                Strategy::LeastLoaded => {
                    let load = |id: &str| state.loads.get(id).copied().unwrap_or(0);
                    let min = available.iter().map(|r| load(&r.id)).min().unwrap_or(0);
                    let rep = in_turn
                        .clone()
                        .find(|r| load(&r.id) == min)
                        .unwrap_or(available[start]);
                    (rep, format!("least-loaded ({min} open)").into())
                }
            };
            let how: std::borrow::Cow<str> = how;
            let skipped = pool.reps.len() - n;
            let away = if skipped > 0 {
                format!(" ({skipped} away skipped)")
            } else {
                String::new()
            };
            Assignment {
                reason: via_pool(
                    rule_name,
                    &territory,
                    pool_name,
                    &[&how, &away, " → ", &rep.name],
                ),
                owner: rep.owner(),
                pool: Some(pool_name.clone()),
                cursor: Some(CursorAdvance {
                    pool: pool_name.clone(),
                    from: state.cursor,
                    to: state.cursor + 1,
                }),
            }
        }
    }
}

/// "{rule}: {territory} → pool {pool} → {tail…}": how a lead was placed in a
/// pool, with room for the follow-up clause the decision appends.
fn via_pool(rule: &str, territory: &Territory, pool: &str, tail: &[&str]) -> String {
    let [t0, t1, t2, t3] = territory.0;
    let head = [rule, ": ", t0, t1, t2, t3, " → pool ", pool, " → "];
    let pieces = || head.iter().chain(tail);
    let mut reason = String::with_capacity(pieces().map(|p| p.len()).sum::<usize>() + 80);
    for piece in pieces() {
        reason.push_str(piece);
    }
    reason
}

/// Appends `t` as `t.format("%Y-%m-%d %H:%M UTC")` would, without parsing
/// the format each time (chrono's format is the costlier part of a reason).
fn write_minute(out: &mut String, t: DateTime<Utc>) {
    if (0..=9999).contains(&t.year()) {
        let mut text = *b"0000-00-00 00:00 UTC";
        for (at, n, width) in [
            (0, t.year() as u32, 4),
            (5, t.month(), 2),
            (8, t.day(), 2),
            (11, t.hour(), 2),
            (14, t.minute(), 2),
        ] {
            let mut n = n;
            for i in (at..at + width).rev() {
                text[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        out.push_str(std::str::from_utf8(&text).unwrap_or_default());
    } else {
        let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M UTC"));
    }
}

/// "territory DE/Bavaria", "territory DE" or "no territory given", in
/// pieces (a reason is made of them without a string of its own).
struct Territory<'a>([&'a str; 4]);

fn territory(lead: &Lead) -> Territory<'_> {
    Territory(match (&lead.contact.country, &lead.contact.region) {
        (Some(c), Some(r)) => ["territory ", c.as_str(), "/", r],
        (Some(c), None) => ["territory ", c.as_str(), "", ""],
        _ => ["no territory given", "", "", ""],
    })
}

impl std::fmt::Display for Territory<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|piece| f.write_str(piece))
    }
}

/// The part of a decision that needs nothing from the store: stage, score,
/// route, and the pool (if any) whose state assignment will draw on.
#[derive(Debug, Clone)]
pub struct Assessment<'p> {
    qualification: Qualification,
    score: Score,
    route: RouteDecision,
    /// The assignment rule for the route (found once: assignment picks from it).
    placement: Option<Placement<'p>>,
    pub pool: Option<&'p str>,
}

/// Qualify, score and route by the rules alone: what a rep's report is
/// weighed against (a rep may move a lead either way).
pub fn assess_by_rules<'p, H: Behaviour + ?Sized>(
    lead: &Lead,
    history: &H,
    playbook: &'p Playbook,
    now: DateTime<Utc>,
) -> Assessment<'p> {
    let qualification = qualify(lead, playbook);
    let score = score(lead, history, playbook, now);
    let route = route(lead, &qualification, &score, playbook);
    let placement = place(lead, route.route, playbook);
    Assessment {
        pool: pool_of(placement.as_ref()),
        placement,
        qualification,
        score,
        route,
    }
}

fn pool_of<'p>(placement: Option<&Placement<'p>>) -> Option<&'p str> {
    match placement.map(|p| p.target) {
        Some(Target::Pool(p)) => Some(p.as_str()),
        _ => None,
    }
}

/// What a new response makes of the lead: [`assess_by_rules`], except that a
/// form never hands a lead down the value chain.
pub fn assess<'p, H: Behaviour + ?Sized>(
    lead: &Lead,
    history: &H,
    playbook: &'p Playbook,
    now: DateTime<Utc>,
) -> Assessment<'p> {
    let Assessment {
        qualification,
        score,
        mut route,
        mut placement,
        ..
    } = assess_by_rules(lead, history, playbook, now);
    let rule_route = route.route;
    // A response (a form) never hands a lead down the value chain: a field
    // seller's lead does not go back to inside sales because the prospect
    // later downloaded a brochure. Only a rep's outcome moves a lead down.
    if let Some(current) = lead.routing.as_ref() {
        if current.route.value() > route.route.value() {
            let (kept, would) = (current.route.as_str(), route.route.as_str());
            route = RouteDecision {
                reason: concat(&[
                    kept,
                    ": kept on ",
                    kept,
                    " (",
                    current.route.channel(),
                    ") — a new response alone would route ",
                    would,
                    " (",
                    &route.rule,
                    "), and only a rep hands a lead down",
                ]),
                route: current.route,
                rule: current.rule.clone(),
            };
        }
    }
    // The rules' placement, unless the lead was kept on its route.
    if route.route != rule_route {
        placement = place(lead, route.route, playbook);
    }
    Assessment {
        pool: pool_of(placement.as_ref()),
        placement,
        qualification,
        score,
        route,
    }
}

/// Qualify, score, route and assign. `state_of` gives a pool's state.
pub fn decide<H: Behaviour + ?Sized>(
    lead: &Lead,
    history: &H,
    playbook: &Playbook,
    now: DateTime<Utc>,
    state_of: impl Fn(&str) -> PoolState,
) -> Decision {
    let assessment = assess(lead, history, playbook, now);
    let state = assessment.pool.map(state_of).unwrap_or_default();
    assessment.decide(lead, playbook, now, &state)
}

impl<'p> Assessment<'p> {
    pub fn qualification(&self) -> &Qualification {
        &self.qualification
    }
    pub fn score(&self) -> &Score {
        &self.score
    }
    pub fn route(&self) -> &RouteDecision {
        &self.route
    }

    /// Send the lead on `route` instead of where the rules would (a rep's outcome).
    pub fn with_route(self, lead: &Lead, playbook: &'p Playbook, route: RouteDecision) -> Self {
        let placement = place(lead, route.route, playbook);
        Assessment {
            pool: pool_of(placement.as_ref()),
            placement,
            route,
            ..self
        }
    }

    /// Finish the decision without assigning anyone: the lead stays with the
    /// owner of `current` (a rep keeps working it), on this assessment's route.
    pub fn keep(self, current: &Decision, now: DateTime<Utc>, why: String) -> Decision {
        let Assessment {
            qualification: q,
            score: s,
            route: r,
            ..
        } = self;
        Decision {
            bant_met: q.met,
            stage: q.stage,
            reasons: vec![q.reason, s.summary(), r.reason, why],
            score: s,
            route: r.route,
            rule: r.rule,
            owner: current.owner.clone(),
            pool: current.pool.clone(),
            follow_up_by: current.follow_up_by,
            decided_at: now,
            cursor: None,
        }
    }
}

impl Assessment<'_> {
    /// Assign with the pool's `state` (default when there is no pool) and
    /// finish the decision. `lead` is the lead this assessment was made of:
    /// the assignment rule found then is the one assignment picks from.
    pub fn decide(
        self,
        lead: &Lead,
        playbook: &Playbook,
        now: DateTime<Utc>,
        state: &PoolState,
    ) -> Decision {
        let Assessment {
            qualification: q,
            score: s,
            route: r,
            placement,
            ..
        } = self;
        let current = lead.routing.as_ref().map(|d| &d.owner);
        let a = assign(lead, r.route, playbook, placement, state, current);
        // The SLA counts the new owner's working time (issue 24, item 5).
        let sla = playbook.slas.get(&r.route).copied();
        let calendar = playbook.calendar_of(&a.owner);
        let follow_up_by = sla.map(|h| calendar.add_hours(now, h));
        let mut owner_reason = a.reason;
        if let (Some(t), Some(hours)) = (follow_up_by, sla) {
            owner_reason.reserve(64);
            owner_reason.push_str("; follow up by ");
            write_minute(&mut owner_reason, t);
            owner_reason.push_str(" (");
            owner_reason.push_str(r.route.as_str());
            owner_reason.push_str(" SLA ");
            owner_reason.push_str(&calendar.hours_label(hours));
            if calendar.is_business() {
                owner_reason.push_str(", ");
                owner_reason.push_str(&calendar.describe());
                owner_reason.push_str("; arrived ");
                owner_reason.push_str(&calendar.local(now));
                owner_reason.push_str(", due ");
                owner_reason.push_str(&calendar.local(t));
            }
            owner_reason.push(')');
        }
        Decision {
            bant_met: q.met,
            stage: q.stage,
            reasons: vec![q.reason, s.summary(), r.reason, owner_reason],
            score: s,
            route: r.route,
            rule: r.rule,
            owner: a.owner,
            pool: a.pool,
            follow_up_by,
            decided_at: now,
            cursor: a.cursor,
        }
    }
}

#[cfg(test)]
mod minute_tests {
    use chrono::{TimeZone, Utc};

    #[test]
    fn minutes_are_written_as_chrono_formats_them() {
        for t in [
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(9999, 2, 3, 4, 5, 6).unwrap(),
            Utc.with_ymd_and_hms(10000, 2, 3, 4, 5, 6).unwrap(),
            Utc.with_ymd_and_hms(-1, 2, 3, 4, 5, 6).unwrap(),
        ] {
            let mut out = String::new();
            super::write_minute(&mut out, t);
            assert_eq!(out, t.format("%Y-%m-%d %H:%M UTC").to_string());
        }
    }
}
