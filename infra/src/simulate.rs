//! The playbook simulator: the router's own qualification, scoring, routing and
//! assignment over a file of leads, touching no AWS — so an operator can replay
//! a year of leads against a playbook change before deploying it.

use chrono::{DateTime, Utc};
use leadflow::domain::decision::{decimal, Decision, PoolState, Route, Stage};
use leadflow::domain::ids::{LeadId, ResponseId};
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::Lead;
use leadflow::domain::playbook::{Playbook, Strategy};
use leadflow::domain::routing::decide;
use leadflow::domain::scoring::{Behaviour, FORM_SUBMISSION};
use leadflow::EmailAddress;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Rows [`Simulator::warm`] reads ahead together, at most.
pub const WARM: usize = 32;

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
    /// `serde_json::to_writer` writes for it, and a newline.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        write_json_line(
            out,
            Line {
                row: self.row,
                email: &self.email,
                bant_met: self.bant_met,
                stage: self.stage,
                route: self.route,
                owner: &self.owner,
                score: self.score,
            },
            self.reasons.iter().map(String::as_str),
        );
    }
}

/// A decided row's fields but its reasons, its text borrowed.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    row: usize,
    email: &'a str,
    bant_met: usize,
    stage: &'static str,
    route: &'static str,
    owner: &'a str,
    score: i64,
}

/// Appends a decided row as one line of JSON, byte for byte what
/// `serde_json::to_writer` writes for a [`SimulatedLead`], and a newline.
/// `--format json` writes a lead's 700 bytes or so for every row; serde_json
/// looks at each byte of a string on its own, this looks at eight at once.
fn write_json_line<'a>(out: &mut Vec<u8>, line: Line<'_>, reasons: impl Iterator<Item = &'a str>) {
    out.extend_from_slice(b"{\"row\":");
    write_u64(out, line.row as u64);
    out.extend_from_slice(b",\"email\":");
    write_json_str(out, line.email);
    out.extend_from_slice(b",\"bant_met\":");
    write_u64(out, line.bant_met as u64);
    out.extend_from_slice(b",\"stage\":");
    write_json_str(out, line.stage);
    out.extend_from_slice(b",\"route\":");
    write_json_str(out, line.route);
    out.extend_from_slice(b",\"owner\":");
    write_json_str(out, line.owner);
    out.extend_from_slice(b",\"score\":");
    if line.score < 0 {
        out.push(b'-');
    }
    write_u64(out, line.score.unsigned_abs());
    out.extend_from_slice(b",\"reasons\":[");
    for (i, reason) in reasons.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, reason);
    }
    out.extend_from_slice(b"]}\n");
}

/// Rows decided together, their text in one buffer. A decision's strings
/// are copied here and freed at once by the thread that made them: its
/// allocator takes them back without a hand-over, and their memory serves
/// the next decision while it is still in cache. The batch crosses to the
/// writing thread as three allocations instead of a dozen per row (issue 9:
/// with each lead's strings freed on the writing thread, taking that memory
/// back was a tenth of the deciding thread's samples under `perf`).
#[derive(Debug, Default)]
pub struct Decided {
    text: String,
    /// Where each piece of text ends: a lead's email, its owner, its reasons.
    ends: Vec<usize>,
    leads: Vec<Packed>,
}

#[derive(Debug)]
struct Packed {
    /// The lead's fields; its email and owner are in the text, left empty here.
    line: Line<'static>,
    /// This lead's pieces: `ends[first..first + 2 + reasons]`.
    first: usize,
    reasons: usize,
}

impl Decided {
    pub fn with_capacity(leads: usize) -> Self {
        Decided {
            text: String::with_capacity(leads * 768),
            ends: Vec::with_capacity(leads * 8),
            leads: Vec::with_capacity(leads),
        }
    }

    fn push(&mut self, row: usize, email: &str, decision: &Decision) {
        let first = self.ends.len();
        let owner = decision.owner.display_name();
        for piece in [email, owner]
            .into_iter()
            .chain(decision.reasons.iter().map(String::as_str))
        {
            self.text.push_str(piece);
            self.ends.push(self.text.len());
        }
        self.leads.push(Packed {
            line: Line {
                row,
                email: "",
                bant_met: decision.bant_met.len(),
                stage: decision.stage.as_str(),
                route: decision.route.as_str(),
                owner: "",
                score: decision.score.total,
            },
            first,
            reasons: decision.reasons.len(),
        });
    }

    /// The rows in the order they were decided.
    pub fn iter(&self) -> impl Iterator<Item = DecidedLead<'_>> {
        self.leads.iter().map(|p| {
            let start = p.first.checked_sub(1).map_or(0, |i| self.ends[i]);
            let pieces = &self.ends[p.first..p.first + 2 + p.reasons];
            let piece =
                |i: usize| &self.text[if i == 0 { start } else { pieces[i - 1] }..pieces[i]];
            DecidedLead {
                line: Line {
                    email: piece(0),
                    owner: piece(1),
                    ..p.line
                },
                text: &self.text,
                reasons: &pieces[1..],
            }
        })
    }
}

/// One row of a [`Decided`] batch, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub struct DecidedLead<'a> {
    line: Line<'a>,
    text: &'a str,
    /// The end of the owner, then of each reason.
    reasons: &'a [usize],
}

impl<'a> DecidedLead<'a> {
    pub fn reasons(&self) -> impl Iterator<Item = &'a str> + 'a {
        let text = self.text;
        self.reasons.windows(2).map(move |w| &text[w[0]..w[1]])
    }

    /// Appends the lead as one line of JSON, as [`SimulatedLead::write_json_line`] does.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        write_json_line(out, self.line, self.reasons());
    }

    pub fn to_owned(&self) -> SimulatedLead {
        let l = &self.line;
        SimulatedLead {
            row: l.row,
            email: l.email.to_string(),
            bant_met: l.bant_met,
            stage: l.stage,
            route: l.route,
            owner: l.owner.to_string(),
            score: l.score,
            reasons: self.reasons().map(str::to_string).collect(),
        }
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
    /// The person who came before this one with an email of the same hash.
    next: Option<usize>,
}

/// What the decision reads of `lead` without following a pointer: a field
/// or two in each of its cache lines. What it returns means nothing (the
/// reads are combined by XOR, which cannot overflow).
fn touch_inline(person: &Person) -> usize {
    let lead = &person.lead;
    let c = &lead.contact;
    let len = |t: &Option<String>| t.as_ref().map_or(0, String::len);
    let mut sum = lead.email.as_str().len() ^ person.responses.0.len();
    sum ^= lead.responses as usize ^ lead.request_type as usize ^ lead.version as usize;
    sum ^= lead.updated_at.timestamp() as usize ^ lead.custom.len();
    sum ^= lead
        .consent_email
        .as_ref()
        .map_or(0, |c| usize::from(c.granted));
    sum ^= lead
        .last_response_id
        .as_ref()
        .map_or(0, |id| id.as_str().len());
    sum ^= len(&lead.first_attribution.campaign);
    for field in optional_texts(lead) {
        sum ^= len(field);
    }
    sum ^= c.country.as_ref().map_or(0, |c| c.as_str().len());
    for answer in lead.bant.0.values() {
        sum ^= answer.value.len() ^ answer.source.len() ^ len(&answer.campaign);
    }
    if let Some(d) = &lead.routing {
        sum ^= d.rule.len() ^ d.bant_met.len() ^ len(&d.pool) ^ d.score.total as usize;
        sum ^= d.decided_at.timestamp() as usize ^ d.route as usize;
    }
    sum
}

/// The first byte of each piece of `person` the decision reads behind a
/// pointer (read after [`touch_inline`] has brought the pointers in).
fn touch_heap(person: &Person) -> usize {
    let lead = &person.lead;
    let text = |t: &str| t.as_bytes().first().map_or(0, |b| usize::from(*b));
    let opt = |t: &Option<String>| t.as_deref().map_or(0, text);
    let c = &lead.contact;
    let mut sum = text(lead.email.as_str());
    sum ^= person
        .responses
        .0
        .last()
        .map_or(0, |t| t.timestamp() as usize);
    sum ^= lead
        .last_response_id
        .as_ref()
        .map_or(0, |id| text(id.as_str()));
    sum ^= opt(&lead.first_attribution.campaign);
    for field in optional_texts(lead) {
        sum ^= opt(field);
    }
    sum ^= c.country.as_ref().map_or(0, |c| text(c.as_str()));
    for answer in lead.bant.0.values() {
        sum ^= text(&answer.value) ^ text(&answer.source) ^ opt(&answer.campaign);
    }
    if let Some(d) = &lead.routing {
        sum ^= text(&d.rule) ^ text(d.owner.display_name()) ^ opt(&d.pool);
        sum ^= d.bant_met.first().map_or(0, |c| *c as usize);
    }
    sum
}

/// The lead's optional text fields a decision reads (merged or scored).
fn optional_texts(lead: &Lead) -> [&Option<String>; 13] {
    let (c, a) = (&lead.contact, &lead.attribution);
    [
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
    ]
}

/// The hash a person is found by: their email's, with FxHash. Tests keep
/// two bits of it, so that most people share a hash with others.
fn email_hash(email: &EmailAddress) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(email.as_str().as_bytes());
    if cfg!(test) {
        hasher.finish() & 3
    } else {
        hasher.finish()
    }
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
    /// Boxed: a `Lead` is about 1.8 KB, and a growing list moves all it
    /// holds; boxed, it moves pointers (issue 9: with the leads inline in a
    /// table, 100,000 rows over 31,700 people took 285 MB and a third of the
    /// run that way; a plain `Vec<Person>` was 4% slower than this).
    #[allow(clippy::vec_box)]
    people: Vec<Box<Person>>,
    /// The latest person in `people` whose email has this hash (earlier ones
    /// follow [`Person::next`]). Keyed by the hash, not a copy of the email:
    /// the table holds no strings, and finding a person reads one, the
    /// lead's own email.
    index: FxMap<u64, usize>,
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
            people: Vec::new(),
            index: FxMap::default(),
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
        let decided = self.decide_then(&inquiry, at, |decision| SimulatedLead {
            row,
            email: inquiry.email.as_str().to_string(),
            bant_met: decision.bant_met.len(),
            stage: decision.stage.as_str(),
            route: decision.route.as_str(),
            owner: decision.owner.display_name().to_string(),
            score: decision.score.total,
            reasons: std::mem::take(&mut decision.reasons),
        });
        (decided, Spent(inquiry))
    }

    /// [`decide`](Self::decide), the lead added to `batch`: the decision's
    /// own strings are freed here, on the thread that made them.
    pub fn decide_into(&mut self, read: ReadRow, batch: &mut Decided) -> Spent {
        let ReadRow { row, inquiry, at } = read;
        self.decide_then(&inquiry, at, |decision| {
            batch.push(row, inquiry.email.as_str(), decision)
        });
        Spent(inquiry)
    }

    /// Decides `inquiry` for its person, hands the decision to `take` (which
    /// may take its reasons), and keeps it as the person's latest.
    fn decide_then<R>(
        &mut self,
        inquiry: &Inquiry,
        at: DateTime<Utc>,
        take: impl FnOnce(&mut Decision) -> R,
    ) -> R {
        let email = &inquiry.email;
        let hash = email_hash(email);
        let person = match self.find(email, hash) {
            Some(i) => &mut self.people[i],
            None => {
                let next = self.index.insert(hash, self.people.len());
                self.people.push(Box::new(Person {
                    lead: Lead::new(self.lead_id.clone(), email.clone(), at),
                    responses: Responses(Vec::new()),
                    next,
                }));
                self.people.last_mut().expect("pushed above")
            }
        };
        let Person {
            lead, responses, ..
        } = &mut **person;
        lead.take_response(inquiry, &self.response_id, at);
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
        let taken = take(&mut decision);
        // No later decision reads the reasons, nor the score's parts (they
        // are in the summary line): the person need not keep them.
        decision.reasons = Vec::new();
        decision.score.reasons = Vec::new();
        lead.apply_decision(decision, at);
        taken
    }

    /// The person with this email (and its [`email_hash`]), if any came before.
    fn find(&self, email: &EmailAddress, hash: u64) -> Option<usize> {
        let mut at = self.index.get(&hash).copied();
        while let Some(i) = at {
            let person = &self.people[i];
            if person.lead.email == *email {
                return Some(i);
            }
            at = person.next;
        }
        None
    }

    /// Reads what deciding `rows` will read of the people they come from,
    /// without deciding anything. Deciding is mostly waiting on memory: each
    /// person's lead is a few kilobytes in a table far larger than the
    /// caches, read through a few dozen pointers, and one row's decision
    /// waits on each of its misses in turn. Read here a level at a time for
    /// up to [`WARM`] rows — where the people are, then their leads, then
    /// what the leads point to — the misses of one level overlap, and the
    /// decisions that follow find the leads cached.
    pub fn warm<'r>(&self, rows: impl IntoIterator<Item = &'r ReadRow>) {
        let mut rows = rows.into_iter().peekable();
        let mut sum = 0usize;
        while rows.peek().is_some() {
            let mut people = [None; WARM];
            for (slot, row) in people.iter_mut().zip(rows.by_ref()) {
                *slot = self.index.get(&email_hash(&row.inquiry.email)).copied();
            }
            let people = people.map(|i| i.map(|i| &*self.people[i]));
            for person in people.iter().flatten() {
                sum ^= touch_inline(person);
            }
            for person in people.iter().flatten() {
                sum ^= touch_heap(person);
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
            index,
            cursors,
            loads,
            ..
        } = self;
        (summary, People(people, index, cursors, loads))
    }
}

/// Everything a replay keeps of its people, pools and reps.
pub struct People(
    #[allow(dead_code, clippy::vec_box)] Vec<Box<Person>>,
    #[allow(dead_code)] FxMap<u64, usize>,
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
        let text = leadflow::domain::playbook::DEFAULT_PLAYBOOK.replace("info: 0,", "info: -50,");
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
    fn people_whose_emails_share_a_hash_are_told_apart() {
        // Tests keep two bits of the hash: 40 people share 4 hashes.
        let playbook = Playbook::default_playbook().unwrap();
        let now = chrono::Utc::now();
        let mut sim = Simulator::new(&playbook, now);
        let email = |p: usize| format!("p{p}@company{p}.example");
        let mut batch = Decided::default();
        for round in 0..3 {
            let rows: Vec<ReadRow> = (0..40)
                .map(|p| {
                    let fields = [("email", email(p)), ("request_type", "demo".into())];
                    read_row(&playbook, now, round * 40 + p + 1, &fields).unwrap()
                })
                .collect();
            sim.warm(&rows);
            for row in rows {
                sim.decide_into(row, &mut batch);
            }
        }
        assert_eq!(sim.summary().people, 40);
        assert_eq!(batch.iter().count(), 120);
        let emails: Vec<String> = batch.iter().map(|l| l.to_owned().email).collect();
        assert_eq!(emails[41], email(1));
        for person in &sim.people {
            let at = sim.find(&person.lead.email, email_hash(&person.lead.email));
            assert_eq!(sim.people[at.unwrap()].lead.email, person.lead.email);
            assert_eq!(person.lead.responses, 3, "{}", person.lead.email.as_str());
        }
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
