//! A budgeted mutation fuzz of the whole intake handler (issue 11), run by
//! `make test` like any test.
//!
//! It is *not* coverage-guided (that needs cargo-fuzz and a nightly
//! toolchain): it starts from a corpus of valid inquiries, JSON and forms,
//! and mutates them — fields dropped, repeated, renamed, given odd values
//! (huge, control characters, nested JSON, vocabulary near-misses,
//! redirect tricks), then the bytes (flips, cuts, splices, magic tokens),
//! then the envelope (Content-Type, base64, Accept, Origin,
//! Idempotency-Key, method, source address) — with a seeded generator, so a
//! run is repeatable. Each case drives `Intake::handle` with the in-memory
//! ports, and every answer is held to `common::hostile::assert_sane`. The
//! handler lives for a batch of cases, so replays, repeats and rate limits
//! happen too.
//!
//! `FUZZ_CASES` sets the budget (default 40 000, about 20 s in a debug build);
//! `FUZZ_SEED` the seed (default fixed; a failure prints the one to rerun).
//!     FUZZ_CASES=200000 FUZZ_SEED=$RANDOM cargo test -p intake --release --test fuzz -- --nocapture

mod common;

use base64::Engine;
use common::hostile::{assert_sane, Post, Written};
use common::with_playbook;
use leadflow::domain::inquiry::KNOWN_FIELDS;
use leadflow::Playbook;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// xorshift64*: small, fast, and the same everywhere for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len())]
    }
}

type Fields = Vec<(String, Value)>;

/// Valid inquiries as landing pages and API clients send them.
fn corpus() -> Vec<Fields> {
    let f = |v: Value| -> Fields { v.as_object().unwrap().clone().into_iter().collect() };
    vec![
        f(json!({"email": "ana@example.com"})),
        f(json!({
            "email": "Ana.Ruiz@Example.COM", "first_name": "Ana", "last_name": "Ruiz",
            "company": "Ruiz GmbH", "title": "CTO", "phone": "+49 30 1234567", "country": "DE",
            "region": "Berlin", "industry": "manufacturing", "company_size": "250-999",
            "request_type": "demo", "interest": "analytics", "message": "Call me\nafter 3",
            "budget": "defined", "authority": "decision_maker", "need": "identified",
            "timeframe": "within_3_months", "consent_email": true
        })),
        f(json!({
            "email": "bo@example.org", "source": "landing_page", "campaign": "spring-launch",
            "utm_source": "website", "utm_medium": "landing_page", "utm_campaign": "spring-launch",
            "utm_content": "hero-form", "request_type": "rfp", "favourite_colour": "teal",
            "redirect": "https://www.example.com/demo-thanks"
        })),
        f(
            json!({"email": "cy@example.net", "request_type": "info", "consent_email": "on", "n": 3}),
        ),
    ]
}

const MAGIC: &[&str] = &[
    "%", "%ff", "%00", "%25", "+", "&", "=", "&&", "==", "\"", "\\", "\\u0000", "\\ud800", "{",
    "}", "[", "]", ",", ":", "\u{0}", "\r\n", "\u{feff}", "\u{202e}", "é", "💥", "\u{7f}", "null",
];

const TRICKY: &[&str] = &[
    "",
    " ",
    "unknown",
    "DEMO",
    "demo ",
    "de",
    "XX",
    "true",
    "perhaps",
    "1e999",
    "-0",
    "@",
    "a@",
    "@b",
    "a@b",
    "a@@b.c",
    "a@example.com\n",
    "a@-example.com",
    "<script>alert(1)</script>",
    "https://evil.example.net/",
    "//evil.example.net",
    "https://www.example.com@evil.example.net",
    "javascript:alert(1)",
    "https://ｗｗｗ.example.com/x",
    "\u{0}",
    "\t",
    "line\nbreak",
    "2999",
    "3000",
    "120000",
];

/// A field-level mutation of an inquiry.
fn mutate_fields(rng: &mut Rng, fields: &mut Fields, corpus: &[Fields]) {
    let name = |rng: &mut Rng| -> String {
        match rng.below(6) {
            0 => rng.pick(&KNOWN_FIELDS[..]).to_string(),
            1 => "redirect".into(),
            5 => rng.pick(&["hp_website", "form_fill_ms"]).to_string(),
            2 => rng.pick(MAGIC).to_string(),
            3 => "k".repeat(1 + rng.below(80)),
            _ => format!("custom_{}", rng.below(40)),
        }
    };
    let value = |rng: &mut Rng, fields: &Fields| -> Value {
        match rng.below(12) {
            0 => Value::String(rng.pick(TRICKY).to_string()),
            1 => Value::String("x".repeat(rng.below(70_000))),
            2 => Value::String(random_text(rng, 40)),
            3 => json!(rng.next() as i64),
            4 => json!(rng.chance(2)),
            5 => Value::Null,
            6 => json!([1, "a", {"b": null}]),
            7 => nested(rng.below(300)),
            8 => json!({"name": "x"}),
            9 => fields
                .get(rng.below(fields.len()))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null),
            10 => Value::String(format!("{}{}", rng.pick(TRICKY), rng.pick(MAGIC))),
            _ => Value::String(rng.pick(&KNOWN_FIELDS[..]).to_string()),
        }
    };
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(fields.len());
        match rng.below(8) {
            0 if !fields.is_empty() => {
                fields.remove(at);
            }
            1 if !fields.is_empty() => {
                let f = fields[at].clone();
                fields.insert(rng.below(fields.len() + 1), f);
            }
            2 if !fields.is_empty() => fields[at].0 = name(rng),
            3 | 4 if !fields.is_empty() => fields[at].1 = value(rng, fields),
            5 => {
                let f = (name(rng), value(rng, fields));
                fields.push(f);
            }
            6 => {
                let other = rng.pick(corpus);
                if let Some(f) = other.get(rng.below(other.len())) {
                    fields.push(f.clone());
                }
            }
            _ => {
                for i in 0..rng.below(30) {
                    fields.push((format!("extra{i}"), json!("v")));
                }
            }
        }
    }
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |v, _| json!([v]))
}

fn random_text(rng: &mut Rng, max: usize) -> String {
    (0..rng.below(max))
        .map(|_| match rng.below(4) {
            0 => char::from_u32(rng.below(0x80) as u32).unwrap_or('?'),
            1 => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}'),
            _ => (b'a' + rng.below(26) as u8) as char,
        })
        .collect()
}

/// As JSON (duplicate names kept, as a hand-written body may have them) or
/// as a form (non-string values as their JSON text).
fn serialise(fields: &Fields, json: bool) -> Vec<u8> {
    if json {
        let members: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
            .collect();
        format!("{{{}}}", members.join(",")).into_bytes()
    } else {
        let pairs: Vec<(&str, String)> = fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.as_str(), v)
            })
            .collect();
        serde_urlencoded::to_string(pairs).unwrap().into_bytes()
    }
}

/// A byte-level mutation.
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(7) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 => b.insert(at, rng.next() as u8),
            2 => {
                let end = (at + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            3 => b.truncate(at),
            4 => {
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(64)).min(other.len());
                b.splice(at..at, other[from..end].iter().copied());
            }
            5 => {
                let end = (at + rng.below(32)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            _ => {
                let m = rng.pick(MAGIC).as_bytes().to_vec();
                b.splice(at..at, m);
            }
        }
    }
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "APPLICATION/JSON",
    "multipart/form-data; boundary=x",
    "text/plain",
    "",
];

fn case(rng: &mut Rng, corpus: &[Fields], keys: &mut Vec<Vec<u8>>) -> Post {
    let mut fields = rng.pick(corpus).clone();
    if !rng.chance(6) {
        mutate_fields(rng, &mut fields, corpus);
    }
    // Mostly as the Content-Type says; sometimes the other format under it.
    let json = rng.chance(2);
    let mut bytes = serialise(&fields, json ^ rng.chance(12));
    if rng.chance(3) {
        let other = serialise(rng.pick(corpus), !json);
        mutate_bytes(rng, &mut bytes, &other);
    }
    let content_type = match rng.below(10) {
        0 => Some(rng.pick(CONTENT_TYPES).as_bytes().to_vec()),
        1 => None,
        2 => Some(random_text(rng, 30).into_bytes()),
        _ if json => Some(b"application/json".to_vec()),
        _ => Some(b"application/x-www-form-urlencoded".to_vec()),
    };
    // Bytes that are not UTF-8 can only come base64-encoded.
    let (body, base64) = match (std::str::from_utf8(&bytes), rng.below(8)) {
        (_, 0) => (None, false),
        (Ok(text), 1..=5) => (Some(text.to_string()), false),
        (_, 6) => {
            let mut b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            if rng.chance(4) {
                b64.insert(rng.below(b64.len() + 1), '!');
            }
            (Some(b64), true)
        }
        _ => (
            Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
            true,
        ),
    };
    let idempotency_key = match rng.below(6) {
        0 => {
            let k = format!("key-{}", rng.below(50)).into_bytes();
            keys.push(k.clone());
            Some(k)
        }
        1 if !keys.is_empty() => Some(rng.pick(keys).clone()),
        2 => Some(random_text(rng, 300).into_bytes()),
        _ => None,
    };
    const OTHER_METHODS: [&str; 3] = ["OPTIONS", "GET", "PUT"];
    let method = if rng.chance(16) {
        OTHER_METHODS[rng.below(3)]
    } else {
        "POST"
    };
    Post {
        method,
        content_type,
        accept: rng.chance(3).then(|| {
            rng.pick(&["text/html", "application/json", "*/*", "text/html;q=0"])
                .as_bytes()
                .to_vec()
        }),
        origin: rng.chance(3).then(|| {
            rng.pick(&[
                "https://www.example.com",
                "https://evil.example.net",
                "null",
            ])
            .as_bytes()
            .to_vec()
        }),
        idempotency_key,
        body,
        base64,
        source_ip: rng
            .pick(&[Some("192.0.2.1"), Some("198.51.100.7"), None])
            .map(str::to_string),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_intake_survives_a_budgeted_mutation_fuzz() {
    let budget = env_u64("FUZZ_CASES", 40_000);
    let seed = env_u64("FUZZ_SEED", 0x1ead_f10e);
    let mut rng = Rng(seed.max(1));
    let corpus = corpus();
    let playbook = Playbook::default_playbook().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut statuses: BTreeMap<i64, u64> = BTreeMap::new();
    let started = std::time::Instant::now();
    let (mut h, mut keys) = (with_playbook(playbook.clone()), Vec::new());
    for n in 0..budget {
        // A fresh handler now and then: a long one meets its rate limits, a
        // fresh one accepts again.
        if n % 1000 == 0 {
            (h, keys) = (with_playbook(playbook.clone()), Vec::new());
        }
        let p = case(&mut rng, &corpus, &mut keys);
        let before = Written::of(&h);
        let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(h.handle(p.request()))
        }));
        let r = match answered {
            Ok(r) => r,
            Err(panic) => {
                eprintln!("fuzz: case {n} of seed {seed} panicked: {p:#?}");
                std::panic::resume_unwind(panic)
            }
        };
        if let Err(e) = assert_sane(&h, &before, &p, &r) {
            panic!("fuzz: case {n} of seed {seed} (FUZZ_SEED={seed}): {e}\n{p:#?}\nanswer: {r:#?}");
        }
        *statuses.entry(r.status_code).or_default() += 1;
    }
    eprintln!(
        "fuzz: {budget} cases (seed {seed}) in {:.1} s, by status: {statuses:?}",
        started.elapsed().as_secs_f64()
    );
    // The corpus and mutations must reach every kind of answer, or the fuzz
    // tests only the first refusal.
    if budget >= 2000 {
        for status in [202, 303, 400, 413, 415, 422, 429] {
            assert!(
                statuses.contains_key(&status),
                "no {status} in {statuses:?}"
            );
        }
    }
}
