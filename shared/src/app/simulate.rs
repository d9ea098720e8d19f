//! The playbook simulator: the router's own qualification, scoring, routing and
//! assignment over a file of leads, touching no AWS — so an operator can replay
//! a year of leads against a playbook change before deploying it.

use crate::domain::decision::{decimal, Decision, PoolState, Route, Stage};
use crate::domain::ids::{LeadId, ResponseId};
use crate::domain::inquiry::Inquiry;
use crate::domain::lead::Lead;
use crate::domain::playbook::{Playbook, Strategy};
use crate::domain::routing::decide;
use crate::domain::scoring::{Behaviour, FORM_SUBMISSION};
use crate::EmailAddress;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Columns the simulator reads besides the intake's fields.
pub const RECEIVED_AT: &str = "received_at";

/// One decided row. It owns its text (the reasons move out of the decision
/// the person keeps), so it may be written on another thread.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedLead {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    pub email: String,
    pub bant_met: usize,
    pub stage: &'static str,
    pub route: &'static str,
    pub owner: String,
    pub score: i64,
    pub reasons: Vec<String>,
}

impl SimulatedLead {
    /// Appends the lead as one line of JSON, byte for byte what
    /// `serde_json::to_writer` writes for it, and a newline. `--format json`
    /// writes a lead's 700 bytes or so for every row; serde_json looks at each
    /// byte of a string on its own, this looks at eight at once.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"row\":");
        write_u64(out, self.row as u64);
        out.extend_from_slice(b",\"email\":");
        write_json_str(out, &self.email);
        out.extend_from_slice(b",\"bant_met\":");
        write_u64(out, self.bant_met as u64);
        out.extend_from_slice(b",\"stage\":");
        write_json_str(out, self.stage);
        out.extend_from_slice(b",\"route\":");
        write_json_str(out, self.route);
        out.extend_from_slice(b",\"owner\":");
        write_json_str(out, &self.owner);
        out.extend_from_slice(b",\"score\":");
        if self.score < 0 {
            out.push(b'-');
        }
        write_u64(out, self.score.unsigned_abs());
        out.extend_from_slice(b",\"reasons\":[");
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_str(out, reason);
        }
        out.extend_from_slice(b"]}\n");
    }
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(decimal(n, &mut [0; 20]));
}

/// A JSON string as serde_json writes one: `"` and `\` escaped, the control
/// characters below U+0020 as `\b \t \n \f \r` or `\u00xx`, all else as it is.
fn write_json_str(out: &mut Vec<u8>, text: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether any of eight bytes is zero, and whether any is below 0x20, a
    // quote or a backslash (exact for "any"; a byte of 0x80 or more never counts).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let special = |w: u64| {
        let below = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        below | zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64)) != 0
    };
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut from, mut at) = (0, 0);
    while at < bytes.len() {
        // Eight bytes at a time while none needs escaping.
        while at + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
            if special(word) {
                break;
            }
            at += 8;
        }
        let Some(&b) = bytes.get(at) else {
            break;
        };
        at += 1;
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..at - 1]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        from = at;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

#[derive(Debug, Clone, Serialize)]
pub struct BadRow {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub leads: usize,
    pub people: usize,
    pub bad_rows: usize,
    pub by_stage: BTreeMap<String, usize>,
    pub by_route: BTreeMap<String, usize>,
    pub by_owner: BTreeMap<String, usize>,
    /// Leads each pool received, and how they spread over its reps.
    pub pools: BTreeMap<String, BTreeMap<String, usize>>,
}

/// One more under `key`, allocating the key only the first time it is seen.
fn count(counts: &mut FxMap<String, usize>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// The [`Summary`]'s counts as a replay makes them: stages and routes by
/// index, owners by hash; the summary's sorted tables are made once, at the end.
#[derive(Default)]
struct Counts {
    leads: usize,
    bad_rows: usize,
    by_stage: [usize; STAGES.len()],
    by_route: [usize; Route::ALL.len()],
    by_owner: FxMap<String, usize>,
    pools: FxMap<String, FxMap<String, usize>>,
}

const STAGES: [Stage; 4] = [
    Stage::Inquiry,
    Stage::Lead,
    Stage::Opportunity,
    Stage::QualifiedOpportunity,
];

/// A hash map keyed by what the operator's file holds, hashed with FxHash.
type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// FxHash (rustc's own): several times cheaper than the standard SipHash on
/// short keys such as email addresses. SipHash defends a server against
/// keys chosen to collide; the simulator hashes its operator's own file.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(byte.into());
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What later rows of one person need to be decided as the router would
/// decide them: the lead as the responses so far left it (with its latest
/// decision), and when each response came (its behaviour, for the score).
/// Nothing else of the router's history feeds a decision.
struct Person {
    lead: Lead,
    responses: Responses,
}

/// Reads the first byte of each piece of `person` a decision reads, and a
/// field or two of each part of the lead (a few dozen cache lines) that the
/// merge and the decision read or write. What it returns means nothing (the
/// reads are combined by XOR, which cannot overflow).
fn touch(person: &Person) -> usize {
    let lead = &person.lead;
    let text = |t: &str| t.as_bytes().first().map_or(0, |b| usize::from(*b));
    let c = &lead.contact;
    let a = &lead.attribution;
    let mut sum = text(lead.email.as_str());
    sum ^= person
        .responses
        .0
        .last()
        .map_or(0, |t| t.timestamp() as usize);
    sum ^= lead.responses as usize ^ lead.request_type as usize ^ lead.version as usize;
    sum ^= lead.updated_at.timestamp() as usize ^ lead.custom.len();
    sum ^= lead
        .consent_email
        .as_ref()
        .map_or(0, |c| usize::from(c.granted));
    sum ^= lead
        .last_response_id
        .as_ref()
        .map_or(0, |id| text(id.as_str()));
    sum ^= lead.first_attribution.campaign.as_deref().map_or(0, text);
    for field in [
        &c.first_name,
        &c.last_name,
        &c.company,
        &c.title,
        &c.phone,
        &c.region,
        &c.industry,
        &c.company_size,
        &lead.interest,
        &a.campaign,
        &a.utm_source,
        &a.utm_medium,
        &a.utm_campaign,
    ] {
        sum ^= field.as_deref().map_or(0, text);
    }
    sum ^= c.country.as_ref().map_or(0, |c| text(c.as_str()));
    for answer in lead.bant.0.values() {
        sum ^= text(&answer.value) ^ text(&answer.source);
        sum ^= answer.campaign.as_deref().map_or(0, text);
    }
    if let Some(d) = &lead.routing {
        sum ^= text(&d.rule) ^ text(d.owner.display_name()) ^ d.bant_met.len();
        sum ^= d.pool.as_deref().map_or(0, text) ^ d.score.total as usize;
        sum ^= d.decided_at.timestamp() as usize ^ d.route as usize;
    }
    sum
}

/// A person's responses, oldest first: each a form submission at its time.
struct Responses(Vec<DateTime<Utc>>);

impl Behaviour for Responses {
    fn behaviours(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.0.iter().map(|at| (FORM_SUBMISSION, *at))
    }
}

/// Runs rows through the playbook, keeping the state a real deployment would:
/// the same person is one lead, pools take turns, reps' loads grow.
pub struct Simulator<'p> {
    playbook: &'p Playbook,
    now: DateTime<Utc>,
    /// Every row's response id and every person's lead id: nothing a
    /// decision reads depends on them, and the simulator keeps no history
    /// where responses or leads must be told apart.
    response_id: ResponseId,
    lead_id: LeadId,
    /// Boxed: a `Lead` is about 1.5 KB, and the table holds each of its slots
    /// (a power of two, up to 8/7 of the people) inline and moves them all on
    /// every growth; boxed, it holds and moves pointers (issue 9: 100,000 rows
    /// over 31,700 people took 285 MB and a third of the run that way).
    people: FxMap<EmailAddress, Box<Person>>,
    cursors: FxMap<String, u64>,
    loads: FxMap<String, i64>,
    counts: Counts,
}

impl<'p> Simulator<'p> {
    pub fn new(playbook: &'p Playbook, now: DateTime<Utc>) -> Self {
        Simulator {
            playbook,
            now,
            response_id: ResponseId::generate(),
            lead_id: LeadId::generate(),
            people: FxMap::default(),
            cursors: FxMap::default(),
            loads: FxMap::default(),
            counts: Counts::default(),
        }
    }

    /// One row: (column, value) pairs as a form would post them.
    pub fn row<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        row: usize,
        fields: &[(K, V)],
    ) -> Result<SimulatedLead, BadRow> {
        let read = read_row(self.playbook, self.now, row, fields)?;
        Ok(self.decide(read).0)
    }

    /// Decides a row [`read_row`] read, as the router would decide it. The
    /// lead it returns owns its text: the reasons move out of the decision the
    /// person keeps (no later decision reads them; the router's stored
    /// decision keeps them, and `simulate_equivalence` compares every one).
    /// [`Spent`] is what the decision no longer needs: a caller that reads
    /// rows on another thread hands it back there to be freed.
    pub fn decide(&mut self, read: ReadRow) -> (SimulatedLead, Spent) {
        let ReadRow { row, inquiry, at } = read;
        let email = &inquiry.email;
        if !self.people.contains_key(email) {
            let person = Person {
                lead: Lead::new(self.lead_id.clone(), email.clone(), at),
                responses: Responses(Vec::new()),
            };
            self.people.insert(email.clone(), Box::new(person));
        }
        let person = self.people.get_mut(email).expect("inserted above");
        let Person { lead, responses } = &mut **person;
        lead.take_response(&inquiry, &self.response_id, at);
        responses.0.push(at);

        // The state the router keeps in the store: a cursor per pool, open leads per rep.
        let (cursors, loads) = (&self.cursors, &self.loads);
        let playbook = self.playbook;
        let mut decision: Decision = decide(lead, responses, playbook, at.max(self.now), |name| {
            let pool = playbook.pool(name);
            PoolState {
                cursor: cursors.get(name).copied().unwrap_or(0),
                // Only a least-loaded pool reads its reps' loads.
                loads: match pool {
                    Some(p) if p.strategy == Strategy::LeastLoaded => p
                        .reps
                        .iter()
                        .map(|r| (r.clone(), loads.get(r).copied().unwrap_or(0).max(0) as u64))
                        .collect(),
                    _ => BTreeMap::new(),
                },
            }
        });
        if let Some(c) = &decision.cursor {
            match self.cursors.get_mut(&c.pool) {
                Some(cursor) => *cursor = c.to,
                None => {
                    self.cursors.insert(c.pool.clone(), c.to);
                }
            }
        }
        for (rep, delta) in decision.load_changes(lead.owner()) {
            *self.loads.entry(rep).or_default() += delta;
        }
        let s = &mut self.counts;
        s.leads += 1;
        let owner = decision.owner.display_name();
        s.by_stage[decision.stage as usize] += 1;
        s.by_route[decision.route as usize] += 1;
        count(&mut s.by_owner, owner);
        if let Some(pool) = &decision.pool {
            match s.pools.get_mut(pool) {
                Some(reps) => count(reps, owner),
                None => {
                    let reps = FxMap::from_iter([(owner.to_string(), 1)]);
                    s.pools.insert(pool.clone(), reps);
                }
            }
        }
        let decided = SimulatedLead {
            row,
            email: inquiry.email.as_str().to_string(),
            bant_met: decision.bant_met.len(),
            stage: decision.stage.as_str(),
            route: decision.route.as_str(),
            owner: owner.to_string(),
            score: decision.score.total,
            reasons: std::mem::take(&mut decision.reasons),
        };
        // The score's parts are in the summary line: the person need not keep them.
        decision.score.reasons = Vec::new();
        lead.apply_decision(decision, at);
        (decided, Spent(inquiry))
    }

    /// Reads what deciding `rows` will read of the people they come from,
    /// without deciding anything. Deciding is mostly waiting on memory: each
    /// person's lead is a few kilobytes in a table far larger than the
    /// caches, read through a few dozen pointers, and one row's decision
    /// waits on each of its misses in turn. Read here for a few rows at once,
    /// the misses overlap; the decisions that follow find the leads cached.
    pub fn warm<'r>(&self, rows: impl IntoIterator<Item = &'r ReadRow>) {
        let mut sum = 0usize;
        for row in rows {
            if let Some(person) = self.people.get(&row.inquiry.email) {
                sum ^= touch(person);
            }
        }
        std::hint::black_box(sum);
    }

    pub fn bad_row(&mut self) {
        self.counts.bad_rows += 1;
    }

    /// The rows so far by stage, route, owner and pool.
    pub fn summary(&self) -> Summary {
        let c = &self.counts;
        let sorted = |counts: &FxMap<String, usize>| {
            counts
                .iter()
                .map(|(k, n)| (k.clone(), *n))
                .collect::<BTreeMap<_, _>>()
        };
        Summary {
            leads: c.leads,
            people: self.people.len(),
            bad_rows: c.bad_rows,
            by_stage: STAGES
                .iter()
                .zip(c.by_stage)
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| (s.as_str().to_string(), n))
                .collect(),
            by_route: Route::ALL
                .iter()
                .zip(c.by_route)
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| (r.as_str().to_string(), n))
                .collect(),
            by_owner: sorted(&c.by_owner),
            pools: c
                .pools
                .iter()
                .map(|(pool, reps)| (pool.clone(), sorted(reps)))
                .collect(),
        }
    }

    /// The summary, and the people the replay kept: freed when the caller
    /// drops them (a command about to exit may leave that to the system).
    pub fn finish(self) -> (Summary, People) {
        let summary = self.summary();
        let Simulator {
            people,
            cursors,
            loads,
            ..
        } = self;
        (summary, People(people, cursors, loads))
    }
}

/// Everything a replay keeps of its people, pools and reps.
pub struct People(
    #[allow(dead_code)] FxMap<EmailAddress, Box<Person>>,
    #[allow(dead_code)] FxMap<String, u64>,
    #[allow(dead_code)] FxMap<String, i64>,
);

/// What a decision no longer needs once it is made: the row's inquiry.
/// Dropping it frees it; the thread that read the row frees it fastest.
#[derive(Debug)]
pub struct Spent(#[allow(dead_code)] Inquiry);

/// A row read and checked against the intake's rules, not yet decided: what
/// [`Simulator::decide`] takes. Reading needs only the playbook, so a replay
/// reads on one thread while another decides.
#[derive(Debug)]
pub struct ReadRow {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    inquiry: Inquiry,
    at: DateTime<Utc>,
}

/// Reads one row: (column, value) pairs as a form would post them, with an
/// optional `received_at` (else `now`).
pub fn read_row<K: AsRef<str>, V: AsRef<str>>(
    playbook: &Playbook,
    now: DateTime<Utc>,
    row: usize,
    fields: &[(K, V)],
) -> Result<ReadRow, BadRow> {
    let bad = |field: &str, message: String| BadRow {
        row,
        field: field.to_string(),
        message,
    };
    let mut at = now;
    let mut posted = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        let (k, v) = (k.as_ref(), v.as_ref());
        if k == RECEIVED_AT {
            if !v.trim().is_empty() {
                at = DateTime::parse_from_rfc3339(v.trim())
                    .map_err(|e| bad(RECEIVED_AT, format!("{v:?} is not an RFC 3339 time: {e}")))?
                    .with_timezone(&Utc);
            }
        } else if !v.is_empty() {
            posted.push((k, v));
        }
    }
    let inquiry = Inquiry::parse(&posted, &playbook.bant).map_err(|e| bad(&e.field, e.message))?;
    Ok(ReadRow { row, inquiry, at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lead(email: &str, owner: &str, reasons: &[String], score: i64) -> SimulatedLead {
        SimulatedLead {
            row: 12_345,
            email: email.to_string(),
            bant_met: 3,
            stage: "sales_ready",
            route: "high_potential",
            owner: owner.to_string(),
            score,
            reasons: reasons.to_vec(),
        }
    }

    #[test]
    fn warming_reads_people_whatever_their_scores() {
        // A negative score, and times, read while warming: nothing overflows.
        let text = crate::domain::playbook::DEFAULT_PLAYBOOK.replace("info: 0,", "info: -50,");
        let playbook = Playbook::parse(&text, "negative.yaml").unwrap();
        let now = chrono::Utc::now();
        let mut sim = Simulator::new(&playbook, now);
        let fields = [("email", "ana@example.com"), ("request_type", "info")];
        let first = sim.row(1, &fields).unwrap();
        assert!(first.score < 0, "{}", first.score);
        let again = read_row(&playbook, now, 2, &fields).unwrap();
        sim.warm([&again]);
        let second = sim.decide(again).0;
        assert!(second.score < 0 && sim.summary().people == 1);
    }

    #[test]
    fn stages_and_routes_are_counted_in_their_own_slots() {
        for (i, stage) in STAGES.iter().enumerate() {
            assert_eq!(*stage as usize, i);
        }
        for (i, route) in Route::ALL.iter().enumerate() {
            assert_eq!(*route as usize, i);
        }
    }

    fn as_serde_writes(lead: &SimulatedLead) -> String {
        serde_json::to_string(lead).unwrap() + "\n"
    }

    fn as_written(lead: &SimulatedLead) -> String {
        let mut out = Vec::new();
        lead.write_json_line(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_json_line_is_what_serde_json_writes() {
        let every_control: String = (0u8..0x20).map(char::from).collect();
        let reasons = [
            "Lead: 2 of 4 B.A.N.T. criteria met — budget defined (met)".to_string(),
            String::new(),
            format!("quotes \" and \\ backslashes, {every_control}, DEL \u{7f}, é → 🙂"),
            "\"\\\"\\".repeat(9),
            "12345678\n12345678\"".to_string(),
        ];
        for score in [0, -7, 45, i64::MIN, i64::MAX] {
            let lead = lead(
                "p1@company1.example",
                "Lena \"LF\" Fischer",
                &reasons,
                score,
            );
            assert_eq!(as_written(&lead), as_serde_writes(&lead));
        }
        let none = lead("", "", &[], 1);
        assert_eq!(as_written(&none), as_serde_writes(&none));
    }

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(
            text in "(?s).{0,40}",
            bytes in proptest::collection::vec(0u8..0x80, 0..40),
        ) {
            let ascii = String::from_utf8(bytes).unwrap();
            let reasons = [text.clone(), ascii.clone()];
            let lead = lead(&text, &ascii, &reasons, -1);
            prop_assert_eq!(as_written(&lead), as_serde_writes(&lead));
        }
    }
}
