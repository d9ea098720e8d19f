//! Hostile input (issue 11): whatever reaches `POST /inquiries` — any bytes,
//! any content type, base64 or not, deeply nested or huge JSON, invalid
//! UTF-8, odd headers — the intake answers without panicking, never with a
//! 5xx, with the error JSON (or the error page a plain form asked for) when
//! it refuses, and a refused post writes nothing.
//!
//! The same checks drive the budgeted mutation fuzz (`fuzz.rs`), so they
//! live in `common::hostile`.

mod common;

use base64::Engine;
use common::hostile::{assert_sane, Post, Written};
use common::{handler, with_playbook};
use leadflow::Playbook;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON;CHARSET=latin1",
    " application/json ;",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "Application/X-WWW-Form-Urlencoded;charset=\"utf-8\"",
    "multipart/form-data; boundary=----x",
    "text/plain",
    "text/plain; charset=utf-8",
    "text/html",
    "application/xml",
    "application/json-patch+json",
    "application/x-www-form-urlencoded-evil",
    ";",
    "",
    "*/*",
];

/// A Content-Type header: none, one of the usual (and unusual) ones, or any
/// bytes a header may carry (visible ASCII and obs-text).
fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        select(CONTENT_TYPES).prop_map(|c| Some(c.as_bytes().to_vec())),
        vec(any::<u8>(), 0..40).prop_map(Some),
    ]
}

/// A header value: usually plausible, sometimes any bytes.
fn header_value(usual: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(None),
        2 => select(usual).prop_map(|v| Some(v.as_bytes().to_vec())),
        1 => vec(any::<u8>(), 0..300).prop_map(Some),
    ]
}

/// Bodies: any bytes, any text, inquiries in JSON and forms with odd values,
/// nesting deep enough to overflow a naive parser, fields near the size limit.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(json_string("a@example.com")),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("1e999".to_string()),
        Just("-0".to_string()),
        any::<String>().prop_map(|s| json_string(&s)),
        (1usize..3000).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        (1usize..3000).prop_map(|n| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))),
        (0usize..70_000).prop_map(|n| json_string(&"x".repeat(n))),
    ];
    let name = prop_oneof![
        select(&leadflow::domain::inquiry::KNOWN_FIELDS[..]).prop_map(str::to_string),
        Just("redirect".to_string()),
        "[a-z_]{1,12}",
        any::<String>(),
    ];
    let json = vec((name.clone(), value), 0..8).prop_map(|pairs| {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}:{v}", json_string(k)))
            .collect();
        format!("{{{}}}", body.join(",")).into_bytes()
    });
    let form_value = prop_oneof![
        Just("a%40example.com".to_string()),
        any::<String>().prop_map(|s| form_escape(&s)),
        "[%+&=a-z0-9]{0,20}",
        (0usize..70_000).prop_map(|n| "y".repeat(n)),
    ];
    let form = vec((name, form_value), 0..8).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={v}", form_escape(k)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    });
    prop_oneof![
        vec(any::<u8>(), 0..600),
        any::<String>().prop_map(String::into_bytes),
        json,
        form,
        (1usize..100_000).prop_map(|n| "[".repeat(n).into_bytes()),
    ]
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn form_escape(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string()
}

prop_compose! {
    /// A request as API Gateway could deliver it. The body travels as text,
    /// or base64 (`isBase64Encoded`), which is how bytes that are not UTF-8 arrive.
    fn post()(
        method in select(&["POST", "POST", "POST", "OPTIONS", "GET", "PUT", "DELETE"][..]),
        content_type in content_type(),
        accept in header_value(&["text/html", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json", "*/*"]),
        origin in header_value(&["https://www.example.com", "https://evil.example.net", "null", "https://www.example.com.evil.net"]),
        idempotency_key in header_value(&["k-1", "", "two words", "clé"]),
        payload in payload(),
        encoding in 0u8..4,
        source_ip in select(&[Some("192.0.2.1"), Some(""), Some("::1"), Some("not an ip"), None][..]),
    ) -> Post {
        let (body, base64) = match encoding {
            0 => (None, false),
            // Text: what API Gateway passes when the bytes are UTF-8.
            1 => (Some(String::from_utf8_lossy(&payload).into_owned()), false),
            2 => (Some(base64::engine::general_purpose::STANDARD.encode(&payload)), true),
            // Claimed base64 that is not.
            _ => (Some(String::from_utf8_lossy(&payload).into_owned()), true),
        };
        Post {
            method, content_type, accept, origin, idempotency_key,
            body, base64, source_ip: source_ip.map(str::to_string),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_a_sane_answer_and_a_refusal_writes_nothing(p in post()) {
        let (rt, h) = (runtime(), with_playbook(playbook()));
        let before = Written::of(&h);
        let r = rt.block_on(h.handle(p.request()));
        assert_sane(&h, &before, &p, &r)?;
    }

    /// Bytes that are not UTF-8 (only base64 can carry them) in a form or JSON.
    #[test]
    fn bytes_that_are_not_utf8_are_a_400(
        prefix in "[a-z=&]{0,10}",
        bad in vec(0x80u8..=0xff, 1..8),
        json in any::<bool>(),
    ) {
        let mut bytes = prefix.into_bytes();
        bytes.extend(&bad);
        // A lone continuation byte or a truncated sequence: never valid.
        bytes.push(0xff);
        let p = Post {
            content_type: Some(if json { "application/json" } else { "application/x-www-form-urlencoded" }.as_bytes().to_vec()),
            body: Some(base64::engine::general_purpose::STANDARD.encode(&bytes)),
            base64: true,
            ..Post::default()
        };
        let h = handler();
        let before = Written::of(&h);
        let r = runtime().block_on(h.handle(p.request()));
        assert_sane(&h, &before, &p, &r)?;
        prop_assert_eq!(r.status_code, 400);
    }
}

/// Parsed once: a case builds its handler from a copy.
fn playbook() -> Playbook {
    static PLAYBOOK: std::sync::OnceLock<Playbook> = std::sync::OnceLock::new();
    PLAYBOOK
        .get_or_init(|| Playbook::default_playbook().unwrap())
        .clone()
}

#[test]
fn nesting_and_size_at_the_edges_are_refused_cleanly() {
    let rt = runtime();
    let limit = intake::MAX_BODY_BYTES;
    let cases: Vec<(String, i64)> = vec![
        // Deeper than the JSON parser's recursion limit, yet within the size limit.
        ("[".repeat(limit), 400),
        (
            format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000)),
            400,
        ),
        // A value that fills the body exactly: refused for its length, not its size.
        (
            format!(
                "{{\"email\":\"a@example.com\",\"message\":\"{}\"}}",
                "m".repeat(limit - 38)
            ),
            422,
        ),
        ("[".repeat(limit + 1), 413),
        (String::new(), 400),
        ("\u{feff}{\"email\":\"a@example.com\"}".to_string(), 400),
        ("{\"email\":\"a@example.com\"}\u{0}".to_string(), 400),
    ];
    for (body, status) in cases {
        let p = Post {
            content_type: Some(b"application/json".to_vec()),
            body: Some(body.clone()),
            ..Post::default()
        };
        let h = handler();
        let before = Written::of(&h);
        let r = rt.block_on(h.handle(p.request()));
        assert_sane(&h, &before, &p, &r).unwrap();
        assert_eq!(r.status_code, status, "{}", &body[..body.len().min(60)]);
    }
}
