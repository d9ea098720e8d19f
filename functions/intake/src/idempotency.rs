//! Idempotency-Keys: checked, scoped to the client that sent them, and stored
//! only as SHA-256 digests; with the fingerprint of the request they answered,
//! so a reused key with another body is refused rather than replayed.

use crate::{header, Refusal};
use aws_lambda_events::http::HeaderMap;

pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The request's Idempotency-Key, scoped (see `scoped_key`); `None` when it
/// sent none.
pub fn key(headers: &HeaderMap, source_ip: Option<&str>) -> Result<Option<String>, Refusal> {
    let Some(key) = header(headers, "idempotency-key") else {
        return Ok(None);
    };
    if !valid(key) {
        return Err(Refusal::InvalidIdempotencyKey);
    }
    Ok(Some(scoped_key(header(headers, "origin"), source_ip, key)))
}

/// 1 to `MAX_IDEMPOTENCY_KEY` visible ASCII characters.
pub fn valid(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.chars().all(|c| c.is_ascii_graphic())
}

/// Idempotency-Keys are the client's own: two landing pages (or two servers)
/// both counting from 1 must not replay each other's answers. A key is scoped
/// by the posting page's Origin, or, for a client that sends none, its source
/// address; the store sees only the digest.
pub fn scoped_key(origin: Option<&str>, source_ip: Option<&str>, key: &str) -> String {
    let scope = match (origin, source_ip) {
        (Some(o), _) => format!("origin {}", o.to_ascii_lowercase()),
        (None, Some(ip)) => format!("ip {ip}"),
        (None, None) => "anonymous".to_string(),
    };
    sha256_hex(&[scope.as_bytes(), key.as_bytes()])
}

/// What the request said, exactly: its media type and body. A reused key with
/// another body, or the same fields as a form instead of JSON, is refused.
pub fn fingerprint(mime: &str, body: &[u8]) -> String {
    sha256_hex(&[mime.as_bytes(), body])
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so the parts' boundary cannot be shifted.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn a_key_is_1_to_255_visible_ascii_characters() {
        assert!(valid("form-123"));
        assert!(valid("k"));
        assert!(valid(&"k".repeat(MAX_IDEMPOTENCY_KEY)));
        assert!(valid("!~{}\"'"));
        assert!(!valid(""));
        assert!(!valid(&"k".repeat(MAX_IDEMPOTENCY_KEY + 1)));
        assert!(!valid("two words"));
        assert!(!valid("tab\there"));
        assert!(!valid("clé"));
    }

    #[test]
    fn a_request_without_a_key_has_none_and_a_bad_one_is_refused() {
        assert_eq!(key(&HeaderMap::new(), Some("192.0.2.1")), Ok(None));
        assert_eq!(
            key(&headers(&[("idempotency-key", "")]), None),
            Err(Refusal::InvalidIdempotencyKey)
        );
        assert_eq!(
            key(&headers(&[("idempotency-key", "a b")]), None),
            Err(Refusal::InvalidIdempotencyKey)
        );
    }

    #[test]
    fn a_key_is_scoped_by_origin_else_by_source_address() {
        let by_origin = key(
            &headers(&[
                ("idempotency-key", "1"),
                ("origin", "https://a.example.com"),
            ]),
            Some("192.0.2.1"),
        );
        assert_eq!(
            by_origin,
            Ok(Some(scoped_key(Some("https://a.example.com"), None, "1")))
        );
        let by_ip = key(&headers(&[("idempotency-key", "1")]), Some("192.0.2.1"));
        assert_eq!(by_ip, Ok(Some(scoped_key(None, Some("192.0.2.1"), "1"))));
        assert_ne!(by_origin, by_ip);
    }

    /// Stored keys and fingerprints must stay valid across deployments: the
    /// digests are pinned (computed independently of this code).
    #[test]
    fn digests_are_length_prefixed_sha256_and_do_not_change() {
        assert_eq!(
            scoped_key(Some("HTTPS://A.example.com"), Some("192.0.2.1"), "1"),
            "0e19a8771af765969755050ad46d73cf84455d2ebd09f2c2893b40a97789291c"
        );
        assert_eq!(
            scoped_key(None, Some("192.0.2.1"), "form-123"),
            "162e880c87cf0d6bdd7eeaafbb7b6e935d56d4550d1ec2eab29ce1cf651b261b"
        );
        assert_eq!(
            scoped_key(None, None, "k"),
            "1d8715d37a72f5b96683a2ed2b121c5d36fb82bd29255adb433f5d0413b4880a"
        );
        assert_eq!(
            fingerprint("application/json", b"{}"),
            "2a9a342edd45543604ba864e79ad7fad33da168026afd2a161b9323faf840c9b"
        );
    }
}
