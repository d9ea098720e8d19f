//! Checking a playbook beyond its shape: references resolve, rules are
//! reachable, templates exist. Every problem names its line.

use super::*;

/// One problem in a playbook, with the line it is on when we can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlaybookError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: invalid playbook ({} problem(s))",
            self.file,
            self.problems.len()
        )?;
        for p in &self.problems {
            match p.line {
                Some(l) => writeln!(f, "{}:{}: {}", self.file, l, p.message)?,
                None => writeln!(f, "{}: {}", self.file, p.message)?,
            }
        }
        Ok(())
    }
}

impl Playbook {
    /// Semantic checks serde cannot make: references resolve, rules are reachable.
    pub(super) fn problems(&self, source: &str) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut problem = |needle: &str, message: String| {
            out.push(Problem {
                line: line_of(source, needle),
                message,
            })
        };

        for c in Criterion::ALL {
            let answers = self.bant.answers(c);
            if !answers.iter().any(|a| a.value == UNKNOWN) {
                problem(
                    &format!("{}:", c.field()),
                    format!("bant.{}: must list the answer `unknown` (what a form that does not ask gets)", c.field()),
                );
            }
            if answers.iter().any(|a| a.value == UNKNOWN && a.met) {
                problem(
                    &format!("{}:", c.field()),
                    format!("bant.{}: `unknown` cannot count as met", c.field()),
                );
            }
            let mut seen = BTreeSet::new();
            for a in answers {
                if !seen.insert(&a.value) {
                    problem(
                        &format!("value: {}", a.value),
                        format!("bant.{}: answer `{}` is listed twice", c.field(), a.value),
                    );
                }
                if a.value.is_empty()
                    || !a
                        .value
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                {
                    problem(
                        &format!("value: {}", a.value),
                        format!(
                            "bant.{}: answer `{}` must be lower-case letters, digits and _",
                            c.field(),
                            a.value
                        ),
                    );
                }
            }
            if !answers.iter().any(|a| a.met) {
                problem(
                    &format!("{}:", c.field()),
                    format!(
                        "bant.{}: no answer counts as met, so the criterion can never be met",
                        c.field()
                    ),
                );
            }
        }

        let s = &self.stages;
        let rising = (1..=4).contains(&s.lead)
            && s.lead < s.opportunity
            && s.opportunity < s.qualified_opportunity
            && s.qualified_opportunity <= 4;
        if !rising {
            problem("stages:", format!(
                "stages: thresholds must rise 1 ≤ lead < opportunity < qualified_opportunity ≤ 4 (got {}, {}, {})",
                s.lead, s.opportunity, s.qualified_opportunity
            ));
        }

        if self.routes.is_empty() {
            problem("routes:", "routes: at least one rule is needed".into());
        }
        for (i, r) in self.routes.iter().enumerate() {
            let at = format!("name: {}", r.name);
            if r.when.is_empty() && i + 1 != self.routes.len() {
                problem(&at, format!("routes[{i}] `{}` matches everything, so the rules after it can never apply", r.name));
            }
            for (c, values) in &r.when.answers {
                for v in values {
                    if !self.bant.is_allowed(*c, v) {
                        problem(
                            &at,
                            format!(
                                "routes[{i}] `{}`: `{v}` is not an answer of {}",
                                r.name,
                                c.field()
                            ),
                        );
                    }
                }
            }
            for n in [
                r.when.met_at_least,
                r.when.met_at_most,
                r.when.known_at_most,
            ]
            .into_iter()
            .flatten()
            {
                if n > 4 {
                    problem(
                        &at,
                        format!(
                            "routes[{i}] `{}`: counts of criteria go from 0 to 4, not {n}",
                            r.name
                        ),
                    );
                }
            }
        }
        if self.routes.last().is_some_and(|r| !r.when.is_empty()) {
            problem(
                "routes:",
                "routes: the last rule must have no `when`, so every lead gets a route".into(),
            );
        }

        let mut rep_ids = BTreeSet::new();
        for r in &self.reps {
            if !rep_ids.insert(r.id.as_str()) {
                problem(
                    &format!("id: {}", r.id),
                    format!("reps: id `{}` is used twice", r.id),
                );
            }
            if crate::domain::email::EmailAddress::parse(&r.email).is_err() {
                problem(
                    &format!("email: {}", r.email),
                    format!("reps: `{}` has an invalid email `{}`", r.id, r.email),
                );
            }
        }
        let mut pool_names = BTreeSet::new();
        for p in &self.pools {
            if !pool_names.insert(p.name.as_str()) {
                problem(
                    &format!("name: {}", p.name),
                    format!("pools: `{}` is defined twice", p.name),
                );
            }
            if p.reps.is_empty() {
                problem(
                    &format!("name: {}", p.name),
                    format!("pools: `{}` has no reps", p.name),
                );
            }
            for id in &p.reps {
                if !rep_ids.contains(id.as_str()) {
                    problem(
                        id,
                        format!("pools: `{}` names `{id}`, who is not in reps", p.name),
                    );
                }
            }
        }
        let queue_names: BTreeSet<&str> = self.queues.iter().map(|q| q.name.as_str()).collect();
        for r in &self.reps {
            let at = format!("id: {}", r.id);
            match r.role {
                Role::Manager if r.manages.is_empty() => problem(
                    &at,
                    format!(
                        "reps: manager `{}` manages no pool or queue (`manages`)",
                        r.id
                    ),
                ),
                Role::Manager => {
                    for m in &r.manages {
                        if !pool_names.contains(m.as_str()) && !queue_names.contains(m.as_str()) {
                            problem(
                                &at,
                                format!("reps: manager `{}` manages `{m}`, which is neither a pool nor a queue", r.id),
                            );
                        }
                    }
                }
                role if !r.manages.is_empty() => problem(
                    &at,
                    format!("reps: `{}` is `{role}`; only a manager has `manages`", r.id),
                ),
                _ => {}
            }
        }
        for p in &self.pools {
            for id in &p.reps {
                if let Some(r) = self.rep(id).filter(|r| !r.role.owns_leads()) {
                    problem(
                        id,
                        format!(
                            "pools: `{}` names `{id}`, whose role `{}` owns no leads; a pool holds isr, field_sales or partner people",
                            p.name, r.role
                        ),
                    );
                }
            }
        }
        for (i, a) in self.assignment.iter().enumerate() {
            if let Target::Rep(id) = &a.target {
                if let Some(r) = self.rep(id).filter(|r| !r.role.owns_leads()) {
                    problem(
                        &format!("rep: {id}"),
                        format!(
                            "assignment[{i}] `{}`: `{id}` has the role `{}`, which owns no leads",
                            a.name, r.role
                        ),
                    );
                }
            }
        }
        // A person who asked for something must reach a person: no route rule
        // a demo, assessment or proposal request can reach may end on an owner
        // nobody is told about (a queue without a mailbox).
        let mut open: BTreeSet<RequestType> = RequestType::ALL
            .iter()
            .copied()
            .filter(|rt| rt.asks_for_a_person())
            .collect();
        for rule in &self.routes {
            let reaching: Vec<RequestType> = open
                .iter()
                .copied()
                .filter(|rt| {
                    rule.when.request_type.is_empty() || rule.when.request_type.contains(rt)
                })
                .collect();
            if !reaching.is_empty() {
                if let Some(queue) = self.untold_owner(rule.route) {
                    problem(
                        &format!("name: {}", rule.name),
                        format!(
                            "routes: `{}` can send a request for {} to route {}, which can end on queue `{queue}` with no email: a person who asked for something must reach a person (route them to inside sales first, or give the queue an email)",
                            rule.name,
                            reaching.iter().map(|rt| rt.as_str()).collect::<Vec<_>>().join(", "),
                            rule.route
                        ),
                    );
                }
            }
            let only_request_type = Conditions {
                request_type: Vec::new(),
                ..rule.when.clone()
            }
            .is_empty();
            if only_request_type {
                open.retain(|rt| {
                    !(rule.when.request_type.is_empty() || rule.when.request_type.contains(rt))
                });
            }
        }
        if !self.reps.iter().any(|r| r.role == Role::Ops) {
            problem(
                "reps:",
                "reps: nobody has the role `ops`; someone must be able to see and reassign every lead".into(),
            );
        }
        if !queue_names.contains(self.fallback_queue.as_str()) {
            problem(
                "fallback_queue:",
                format!("fallback_queue: `{}` is not in queues", self.fallback_queue),
            );
        }
        for (i, a) in self.assignment.iter().enumerate() {
            let at = format!("name: {}", a.name);
            match &a.target {
                Target::Pool(p) if !pool_names.contains(p.as_str()) => problem(
                    &at,
                    format!("assignment[{i}] `{}`: pool `{p}` is not defined", a.name),
                ),
                Target::Queue(q) if !queue_names.contains(q.as_str()) => problem(
                    &at,
                    format!("assignment[{i}] `{}`: queue `{q}` is not defined", a.name),
                ),
                Target::Rep(r) if !rep_ids.contains(r.as_str()) => problem(
                    &at,
                    format!("assignment[{i}] `{}`: rep `{r}` is not in reps", a.name),
                ),
                _ => {}
            }
            if a.routes.is_empty() {
                problem(
                    &at,
                    format!("assignment[{i}] `{}`: names no routes", a.name),
                );
            }
        }
        if self.scoring.behaviour.half_life_days.is_nan()
            || self.scoring.behaviour.half_life_days <= 0.0
        {
            problem(
                "half_life_days:",
                "scoring.behaviour.half_life_days must be more than 0".into(),
            );
        }
        for (route, hours) in &self.slas {
            if *hours == 0 {
                problem(
                    &format!("{route}:"),
                    format!("slas.{route}: 0 hours cannot be met; leave the route out for no SLA"),
                );
            }
        }
        if self.repeats.coalesce_minutes > 24 * 60 {
            problem(
                "coalesce_minutes:",
                "repeats.coalesce_minutes: at most 1440 (a day)".into(),
            );
        }
        if self.repeats.owner_notice_delay_seconds > 900 {
            problem(
                "owner_notice_delay_seconds:",
                "repeats.owner_notice_delay_seconds: at most 900 (the longest a queue can delay a message)".into(),
            );
        }
        for (name, limit) in [
            ("per_address", self.limits.per_address),
            ("per_source_ip", self.limits.per_source_ip),
        ] {
            if let Some(l) = limit {
                if l.max == 0 || l.minutes == 0 || l.minutes > 24 * 60 {
                    problem(
                        &format!("{name}:"),
                        format!("limits.{name}: max must be at least 1 and minutes from 1 to 1440 (got max {}, minutes {})", l.max, l.minutes),
                    );
                }
            }
        }
        let spam = &self.spam;
        for (key, name) in [
            ("honeypot_field", &spam.honeypot_field),
            ("fill_time_field", &spam.fill_time_field),
        ] {
            let taken = crate::domain::inquiry::KNOWN_FIELDS.contains(&name.as_str())
                || crate::domain::inquiry::CONTROL_FIELDS.contains(&name.as_str());
            let well_formed = !name.is_empty()
                && name.len() <= crate::domain::inquiry::limits::CUSTOM_NAME
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
            if taken || !well_formed {
                problem(
                    &format!("{key}:"),
                    format!("spam.{key}: `{name}` must be a form field of its own (letters, digits, '_', '-' or '.'; not one the inquiry reads)"),
                );
            }
        }
        if spam.honeypot_field == spam.fill_time_field {
            problem(
                "fill_time_field:",
                "spam: the honeypot and the fill time must be two fields".into(),
            );
        }
        if !(1..=365).contains(&spam.quarantine_days) {
            problem(
                "quarantine_days:",
                format!(
                    "spam.quarantine_days: 1 to 365 (got {}): held posts wait that long for ops",
                    spam.quarantine_days
                ),
            );
        }
        if spam.min_fill_seconds > 60 {
            problem(
                "min_fill_seconds:",
                format!("spam.min_fill_seconds: at most 60 (got {}): a person who types fast must not be taken for a bot", spam.min_fill_seconds),
            );
        }
        for rt in RequestType::ALL {
            match self.kits.get(rt) {
                None => problem("kits:", format!("kits: request type `{rt}` has no kit")),
                Some(k) if !crate::email::kit_templates().any(|t| t == k.template) => problem(
                    &format!("template: {}", k.template),
                    format!(
                        "kits.{rt}: template `{}` is not one of {}",
                        k.template,
                        crate::email::kit_templates().collect::<Vec<_>>().join(", ")
                    ),
                ),
                _ => {}
            }
        }
        for (outcome, flow) in &self.follow_up.outcomes {
            let at = format!("{outcome}:");
            if let Some(n) = flow.hand_off_at {
                if flow.then != Effect::Rescore {
                    problem(
                        &at,
                        format!(
                            "follow_up.outcomes.{outcome}: hand_off_at goes with `then: rescore`"
                        ),
                    );
                } else if !(1..=4).contains(&n) {
                    problem(&at, format!("follow_up.outcomes.{outcome}: hand_off_at must be 1 to 4 (criteria met), got {n}"));
                }
            }
            if let Some(t) = &flow.task {
                if t.in_days.is_some() == t.on.is_some() {
                    problem(&at, format!("follow_up.outcomes.{outcome}: a task is due either `in_days` (business days) or `on: follow_up_on`, not both or neither"));
                }
                if flow.then == Effect::Dead {
                    problem(&at, format!("follow_up.outcomes.{outcome}: a dead lead has no open tasks; remove the task"));
                }
                if t.in_days.is_some_and(|d| d > 260) {
                    problem(&at, format!("follow_up.outcomes.{outcome}: in_days is business days; at most 260 (a year)"));
                }
            }
        }
        let calendars = self.business_hours.as_ref().map(|b| &b.calendars);
        if let Some(b) = &self.business_hours {
            if !b.calendars.contains_key(&b.default) {
                problem(
                    "business_hours:",
                    format!("business_hours.default: no calendar named {:?}", b.default),
                );
            }
            for (name, c) in &b.calendars {
                let at = format!("{name}:");
                if !crate::domain::tz::Zone::exists(&c.time_zone) {
                    problem(&at, format!("business_hours.calendars.{name}: time_zone {:?} is not an IANA time zone", c.time_zone));
                }
                if c.days.is_empty() {
                    problem(
                        &at,
                        format!("business_hours.calendars.{name}: days lists no working day"),
                    );
                }
                if let Err(e) = c.hours() {
                    problem(&at, format!("business_hours.calendars.{name}: {e}"));
                }
            }
        }
        let named = self
            .reps
            .iter()
            .map(|r| {
                (
                    format!("reps.{}", r.id),
                    format!("id: {}", r.id),
                    &r.calendar,
                )
            })
            .chain(self.queues.iter().map(|q| {
                (
                    format!("queues.{}", q.name),
                    format!("name: {}", q.name),
                    &q.calendar,
                )
            }));
        for (what, needle, calendar) in named {
            if let Some(c) = calendar {
                if !calendars.is_some_and(|cs| cs.contains_key(c)) {
                    problem(
                        &needle,
                        format!("{what}: calendar {c:?} is not one of business_hours.calendars"),
                    );
                }
            }
        }
        for rep in &self.reps {
            if let Some(tz) = &rep.time_zone {
                if !crate::domain::tz::Zone::exists(tz) {
                    problem(
                        &format!("id: {}", rep.id),
                        format!("reps.{}: time_zone {tz:?} is not an IANA time zone", rep.id),
                    );
                }
            }
        }
        let r = &self.reports;
        for (status, p) in &r.forecast {
            if !(0.0..=1.0).contains(p) {
                problem(
                    "forecast:",
                    format!("reports.forecast.{status}: a probability from 0 to 1, got {p}"),
                );
            }
        }
        for (name, rate) in [
            ("max_unsubscribe_rate", r.max_unsubscribe_rate),
            ("max_bounce_rate", r.max_bounce_rate),
            ("max_complaint_rate", r.max_complaint_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                problem(
                    &format!("{name}:"),
                    format!("reports.{name}: a share from 0 to 1, got {rate}"),
                );
            }
        }
        if self.reminders.digest_hour > 23 {
            problem(
                "digest_hour:",
                format!(
                    "reminders.digest_hour: 0 to 23 (local), got {}",
                    self.reminders.digest_hour
                ),
            );
        }
        let n = &self.nurture;
        if !n.series.is_empty()
            && self
                .company
                .postal_address
                .as_deref()
                .is_none_or(|a| a.trim().is_empty())
        {
            problem("company:", "company.postal_address: every marketing email carries it; required when there are nurture series".into());
        }
        if n.send_window.from_hour >= n.send_window.to_hour || n.send_window.to_hour > 24 {
            problem(
                "send_window:",
                format!(
                    "nurture.send_window: from_hour before to_hour, within 0 to 24 (got {} to {})",
                    n.send_window.from_hour, n.send_window.to_hour
                ),
            );
        }
        if n.frequency_cap.max == 0 || n.frequency_cap.days == 0 {
            problem(
                "frequency_cap:",
                "nurture.frequency_cap: max and days at least 1".into(),
            );
        }
        for tz in n
            .time_zones
            .values()
            .chain(std::iter::once(&n.default_time_zone))
        {
            if !crate::domain::tz::Zone::exists(tz) {
                problem(tz, format!("nurture: {tz:?} is not an IANA time zone"));
            }
        }
        let mut seen_routes = BTreeSet::new();
        let mut seen_outcomes = BTreeSet::new();
        for series in &n.series {
            let at = format!("name: {}", series.name);
            if series.routes.is_empty() && series.outcomes.is_empty() {
                problem(
                    &at,
                    format!(
                        "nurture.series.{}: enrols nobody (give routes or outcomes)",
                        series.name
                    ),
                );
            }
            for r in &series.routes {
                if !seen_routes.insert(*r) {
                    problem(&at, format!("nurture.series.{}: route {r} already enrols in another series (a lead is in at most one)", series.name));
                }
            }
            for o in &series.outcomes {
                if !seen_outcomes.insert(*o) {
                    problem(
                        &at,
                        format!(
                            "nurture.series.{}: outcome {o} already enrols in another series",
                            series.name
                        ),
                    );
                }
            }
            if series.steps.is_empty() {
                problem(&at, format!("nurture.series.{}: has no steps", series.name));
            }
            for (i, step) in series.steps.iter().enumerate() {
                match (&step.template, &step.subject, step.call) {
                    (Some(t), Some(_), None) => {
                        if crate::email::template(t).is_none() {
                            problem(&format!("template: {t}"), format!("nurture.series.{} step {}: template `{t}` is not bundled", series.name, i + 1));
                        }
                    }
                    (None, None, Some(_)) => {}
                    _ => problem(&at, format!("nurture.series.{} step {}: an email (template and subject) or a call, not both", series.name, i + 1)),
                }
            }
        }
        if self.follow_up.first_touch_hours == 0 || self.follow_up.first_touch_hours > 48 {
            problem(
                "first_touch_hours:",
                format!("follow_up.first_touch_hours: 1 to 48 (seed 002: never more than two days), got {}", self.follow_up.first_touch_hours),
            );
        }
        out
    }
}

impl Playbook {
    /// A queue without a mailbox that a lead on `route` can end on, if any:
    /// one an assignment rule for the route names, or the fallback queue when
    /// no rule covers the route everywhere.
    fn untold_owner(&self, route: Route) -> Option<&str> {
        let untold = |name: &str| {
            // An unknown queue is reported on its own.
            self.queues
                .iter()
                .find(|q| q.name == name)
                .is_some_and(|q| q.email.is_none())
        };
        let rules: Vec<&AssignmentRule> = self
            .assignment
            .iter()
            .filter(|a| a.routes.contains(&route))
            .collect();
        for a in &rules {
            if let Target::Queue(q) = &a.target {
                if untold(q) {
                    return Some(q);
                }
            }
        }
        let covers_everywhere = rules.iter().any(|a| {
            a.countries.is_empty()
                && a.regions.is_empty()
                && a.industries.is_empty()
                && a.domains.is_empty()
                && a.interests.is_empty()
                && !matches!(a.target, Target::Rep(_))
        });
        (!covers_everywhere && untold(&self.fallback_queue)).then_some(self.fallback_queue.as_str())
    }
}

/// The first line (1-based) that contains `needle`, to point a reader at a problem.
fn line_of(source: &str, needle: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            let l = l.split(" #").next().unwrap_or(l);
            l.contains(needle)
        })
        .map(|i| i + 1)
}
