//! No personal data in the logs (issue 11): whatever happens to a post —
//! accepted, replayed, refused, spam, rate limited, a store or queue outage —
//! the intake's log lines (every level, as the functions write them: JSON)
//! never carry the person's email, name or phone.

mod common;

use common::{handler, post_form, post_json, request};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Every log line written while it is the thread's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const EMAIL: &str = "Zelda.Quixote@PII.example";
const FIRST: &str = "Zelda";
const LAST: &str = "Quixote";
const PHONE: &str = "+49 170 5550199";

#[test]
fn no_email_name_or_phone_reaches_the_logs_whatever_happens() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let person = json!({
        "email": EMAIL, "first_name": FIRST, "last_name": LAST, "phone": PHONE,
        "company": "Quixote GmbH", "message": format!("Call {FIRST} on {PHONE}"),
    });
    let form = serde_urlencoded::to_string([
        ("email", EMAIL),
        ("first_name", FIRST),
        ("last_name", LAST),
        ("phone", PHONE),
    ])
    .unwrap();
    let keyed = |body: &serde_json::Value| {
        request(
            "POST",
            json!({"content-type": "application/json", "idempotency-key": "k-1"}),
            Some(&body.to_string()),
            false,
        )
    };
    let mut statuses = Vec::new();
    rt.block_on(async {
        let h = handler();
        // Accepted, as JSON and as a form; replayed; the key reused.
        statuses.push(h.handle(keyed(&person)).await.status_code);
        statuses.push(h.handle(keyed(&person)).await.status_code);
        let mut other = person.clone();
        other["company"] = json!("Other");
        statuses.push(h.handle(keyed(&other)).await.status_code);
        statuses.push(h.handle(post_form(&form)).await.status_code);
        // Refused: each field invalid in turn, with the others in the post.
        for (field, bad) in [
            ("phone", format!("{PHONE} ext. {FIRST}")),
            ("first_name", format!("{FIRST}\u{0}")),
            ("email", format!("{FIRST} {LAST} <{EMAIL}>")),
            ("country", format!("{FIRST}land")),
        ] {
            let mut p = person.clone();
            p[field] = json!(bad);
            statuses.push(h.handle(post_json(&p)).await.status_code);
        }
        // Spam, both signs.
        let mut p = person.clone();
        p["hp_website"] = json!("https://spam.example");
        statuses.push(h.handle(post_json(&p)).await.status_code);
        let mut p = person.clone();
        p["form_fill_ms"] = json!(10);
        statuses.push(h.handle(post_json(&p)).await.status_code);
        // Rate limited.
        let limit = h.playbook.limits.per_address.unwrap().max;
        for _ in 0..limit {
            statuses.push(h.handle(post_json(&person)).await.status_code);
        }
        // The queue down (the outbox keeps it), the store down, the store refusing.
        let h = handler();
        h.publisher.fail_next(1);
        statuses.push(h.handle(post_json(&person)).await.status_code);
        h.store.fail_next_commits(9);
        statuses.push(h.handle(post_form(&form)).await.status_code);
        let h = handler();
        h.store.refuse_next_commits(1);
        statuses.push(h.handle(post_json(&person)).await.status_code);
    });
    for status in [202, 303, 422, 429, 503] {
        assert!(statuses.contains(&status), "no {status} in {statuses:?}");
    }

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("inquiry accepted") && text.contains("spam"),
        "the logs were captured: {text}"
    );
    let lower = text.to_lowercase();
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();
    for secret in [
        EMAIL.to_lowercase(),
        "zelda.quixote".to_string(),
        FIRST.to_lowercase(),
        LAST.to_lowercase(),
        PHONE.to_string(),
        "5550199".to_string(),
        digits,
    ] {
        assert!(!lower.contains(&secret), "{secret:?} in the logs:\n{text}");
    }
}
