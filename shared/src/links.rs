//! Signed one-click action links for the emails an owner gets: "reached:
//! wants a demo", "not reached", "no interest now", "dead", "accept".
//!
//! A link is bound to one lead, one owner and one action, and expires. It is
//! `<key id>.<payload>.<signature>`: the payload is base64url JSON, the
//! signature base64url HMAC-SHA256 of the payload under the key the id names.
//! The deployment's keys live in a secret (issue 24, item 11): the current
//! one signs, and every key listed verifies, so a key can be rotated while
//! the links already sent keep working until they expire. A GET of the
//! link only shows a confirmation page (mail scanners prefetch links); the
//! page's button POSTs it. Applying a link is recorded under its digest, so
//! applying it twice has one effect.

use crate::domain::ids::LeadId;
use crate::domain::outcome::{LeadStatus, Outcome};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a link in an email works.
pub const LINK_LIFETIME: Duration = Duration::days(14);

/// The shortest key accepted (bytes).
pub const MIN_KEY_LEN: usize = 32;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Action {
    Outcome(Outcome),
    Status(LeadStatus),
}

impl Action {
    /// The actions an owner's package offers.
    pub const PACKAGE: [Action; 5] = [
        Action::Outcome(Outcome::WantsDemo),
        Action::Outcome(Outcome::NotReached),
        Action::Outcome(Outcome::NotNow),
        Action::Outcome(Outcome::NoInterest),
        Action::Status(LeadStatus::Accepted),
    ];

    pub fn label(self) -> String {
        match self {
            Action::Outcome(Outcome::NoInterest) => "dead: no further interest".into(),
            Action::Outcome(o) => o.label().to_string(),
            Action::Status(LeadStatus::Accepted) => "accept the lead".into(),
            Action::Status(s) => format!("set the status to {s}"),
        }
    }
}

/// What a link says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionLink {
    #[serde(rename = "l")]
    pub lead_id: LeadId,
    /// The person it was sent to (a playbook id).
    #[serde(rename = "p")]
    pub person: String,
    #[serde(rename = "a")]
    pub action: Action,
    /// Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not one we sent, or it was changed")]
    Invalid,
    #[error("this link expired on {0}")]
    Expired(DateTime<Utc>),
}

/// The deployment's link keys: the current one, which signs, and the
/// earlier ones that still verify, each under its id.
#[derive(Clone)]
pub struct LinkKey {
    /// The current key first.
    keys: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "LinkKey(current {}, {} key(s))",
            self.kid(),
            self.keys.len()
        )
    }
}

/// The secret's JSON: `{"kid": "k2", "key": "…", "previous": {"k1": "…"}}`.
#[derive(Deserialize)]
struct SecretKeys {
    kid: String,
    key: String,
    #[serde(default)]
    previous: std::collections::BTreeMap<String, String>,
}

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 32
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl LinkKey {
    /// One key, under the id `k0`.
    pub fn new(key: &[u8]) -> Result<Self, String> {
        Self::with_id("k0", key)
    }

    /// One key under `kid`.
    pub fn with_id(kid: &str, key: &[u8]) -> Result<Self, String> {
        if !valid_kid(kid) {
            return Err(format!(
                "the key id {kid:?} must be 1 to 32 letters, digits, '-' or '_'"
            ));
        }
        if key.len() < MIN_KEY_LEN {
            return Err(format!(
                "the action-link key must be at least {MIN_KEY_LEN} bytes (got {})",
                key.len()
            ));
        }
        Ok(LinkKey {
            keys: vec![(kid.to_string(), key.to_vec())],
        })
    }

    /// The keys a secret holds: `{"kid": "k2", "key": "…", "previous":
    /// {"k1": "…"}}` (the current key signs; every key verifies).
    pub fn from_secret(json: &str) -> Result<Self, String> {
        let s: SecretKeys = serde_json::from_str(json).map_err(|e| {
            format!("the link-key secret is not {{\"kid\", \"key\", \"previous\"}} JSON: {e}")
        })?;
        let mut keys = Self::with_id(&s.kid, s.key.as_bytes())?;
        for (kid, key) in &s.previous {
            if kid == &s.kid {
                return Err(format!("the key id {kid:?} is both current and previous"));
            }
            let old = Self::with_id(kid, key.as_bytes())?;
            keys.keys.extend(old.keys);
        }
        Ok(keys)
    }

    /// The id of the key that signs.
    pub fn kid(&self) -> &str {
        &self.keys[0].0
    }

    /// Whether a key with this id is among the keys.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == kid)
    }

    fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac
    }

    /// The keys a token (`<kid>.<rest>`) may be signed with: the one its id
    /// names; every key for a token from before key ids.
    fn candidates<'k>(&'k self, kid: Option<&'k str>) -> impl Iterator<Item = &'k [u8]> + 'k {
        self.keys
            .iter()
            .filter(move |(k, _)| kid.is_none_or(|kid| k == kid))
            .map(|(_, key)| key.as_slice())
    }

    pub fn sign(&self, link: &ActionLink) -> String {
        let payload = B64.encode(serde_json::to_vec(link).unwrap_or_default());
        let sig = B64.encode(Self::mac(&self.keys[0].1, &payload).finalize().into_bytes());
        format!("{}.{payload}.{sig}", self.kid())
    }

    /// The link a token stands for, if we signed it and it has not expired by `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<ActionLink, LinkError> {
        let parts: Vec<&str> = token.split('.').collect();
        let (kid, payload, sig) = match parts[..] {
            [kid, payload, sig] => (Some(kid), payload, sig),
            [payload, sig] => (None, payload, sig),
            _ => return Err(LinkError::Invalid),
        };
        let sig = B64.decode(sig).map_err(|_| LinkError::Invalid)?;
        if !self
            .candidates(kid)
            .any(|key| Self::mac(key, payload).verify_slice(&sig).is_ok())
        {
            return Err(LinkError::Invalid);
        }
        let bytes = B64.decode(payload).map_err(|_| LinkError::Invalid)?;
        let link: ActionLink = serde_json::from_slice(&bytes).map_err(|_| LinkError::Invalid)?;
        let expires = DateTime::from_timestamp(link.expires, 0).ok_or(LinkError::Invalid)?;
        if expires <= now {
            return Err(LinkError::Expired(expires));
        }
        Ok(link)
    }
}

/// The key id a token names, if it names one: `<kid>.<payload>.<sig>` (a
/// link) or `<kid>.<sig>` (an unsubscribe token). A link from before key ids
/// (`<payload>.<sig>`) names none: its payload is longer than any id.
pub fn token_kid(token: &str) -> Option<&str> {
    let mut parts = token.trim().split('.');
    let first = parts.next()?;
    (matches!(parts.count(), 1 | 2) && valid_kid(first)).then_some(first)
}

/// How long the keys a function loaded are used before it reads the secret
/// again (a rotated key reaches every warm function within this).
pub const KEY_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);
/// The least time between two reads forced by a token whose key id is unknown.
pub const KEY_RELOAD_GAP: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads the keys again (from the deployment's secret).
pub type KeyLoader = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<LinkKey, String>> + Send>>
        + Send
        + Sync,
>;

/// The keys a verifying function holds: read again every [`KEY_REFRESH`],
/// and at once (at most every [`KEY_RELOAD_GAP`]) for a token whose key id
/// it does not know yet: a key rotated a moment ago verifies everywhere.
pub struct Keyring {
    state: std::sync::RwLock<(LinkKey, std::time::Instant)>,
    loader: Option<KeyLoader>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(…)")
    }
}

impl Keyring {
    /// These keys, never read again (tests, and a deployment without a secret).
    pub fn fixed(key: LinkKey) -> Self {
        Keyring {
            state: std::sync::RwLock::new((key, std::time::Instant::now())),
            loader: None,
        }
    }

    /// `key` as loaded, and `loader` to read them again.
    pub fn loading(key: LinkKey, loader: KeyLoader) -> Self {
        Keyring {
            state: std::sync::RwLock::new((key, std::time::Instant::now())),
            loader: Some(loader),
        }
    }

    fn snapshot(&self) -> (LinkKey, std::time::Instant) {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    async fn reload(&self) -> Option<LinkKey> {
        let loader = self.loader.as_ref()?;
        match loader().await {
            Ok(key) => {
                let mut state = match self.state.write() {
                    Ok(s) => s,
                    Err(p) => p.into_inner(),
                };
                *state = (key.clone(), std::time::Instant::now());
                Some(key)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the link keys could not be read again; the loaded ones stay");
                None
            }
        }
    }

    /// The keys to check `token` with (and to sign with).
    pub async fn key_for(&self, token: &str) -> LinkKey {
        let (key, loaded) = self.snapshot();
        let unknown = token_kid(token).is_some_and(|kid| !key.knows(kid));
        let age = loaded.elapsed();
        if age >= KEY_REFRESH || (unknown && age >= KEY_RELOAD_GAP) {
            if let Some(fresh) = self.reload().await {
                return fresh;
            }
        }
        key
    }
}

impl ActionLink {
    pub fn new(lead_id: &LeadId, person: &str, action: Action, now: DateTime<Utc>) -> Self {
        ActionLink {
            lead_id: lead_id.clone(),
            person: person.to_string(),
            action,
            expires: (now + LINK_LIFETIME).timestamp(),
        }
    }
}

/// What an email needs to carry action links: the key and where the API is.
#[derive(Debug, Clone)]
pub struct ActionLinks {
    pub key: LinkKey,
    /// The API's public base URL, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`.
    pub base_url: String,
}

impl ActionLinks {
    /// The link for `action` on `lead`, for `person`, valid from `now`.
    pub fn url(&self, lead: &LeadId, person: &str, action: Action, now: DateTime<Utc>) -> String {
        let token = self.key.sign(&ActionLink::new(lead, person, action, now));
        format!("{}/actions/{token}", self.base_url.trim_end_matches('/'))
    }
}

impl LinkKey {
    /// The token of an unsubscribe link for `email` (`<kid>.<signature>`):
    /// it never expires (a person may unsubscribe from an old email) and
    /// names nothing but the address. It verifies while its key is listed.
    pub fn unsubscribe_token(&self, email: &str) -> String {
        let sig = Self::mac(&self.keys[0].1, &format!("unsubscribe:{email}"))
            .finalize()
            .into_bytes();
        format!("{}.{}", self.kid(), B64.encode(sig))
    }

    pub fn verify_unsubscribe(&self, email: &str, token: &str) -> bool {
        let (kid, sig) = match token.trim().split_once('.') {
            Some((kid, sig)) => (Some(kid), sig),
            None => (None, token.trim()),
        };
        match B64.decode(sig) {
            Ok(sig) => self.candidates(kid).any(|key| {
                Self::mac(key, &format!("unsubscribe:{email}"))
                    .verify_slice(&sig)
                    .is_ok()
            }),
            Err(_) => false,
        }
    }
}

impl ActionLinks {
    /// The unsubscribe page for `email` (its POST unsubscribes at once: RFC 8058).
    pub fn unsubscribe_url(&self, email: &str) -> String {
        let e: String = url_encode(email);
        format!(
            "{}/unsubscribe?e={e}&t={}",
            self.base_url.trim_end_matches('/'),
            self.key.unsubscribe_token(email)
        )
    }
}

/// An address in a query string: all but RFC 3986's unreserved characters escaped.
fn url_encode(s: &str) -> String {
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string()
}

/// The key a use of `token` is recorded under (a digest: the token itself is a credential).
pub fn use_key(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkKey {
        LinkKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let now = Utc::now();
        let link = ActionLink::new(
            &LeadId::generate(),
            "lena.fischer",
            Action::Outcome(Outcome::WantsDemo),
            now,
        );
        let token = key().sign(&link);
        assert_eq!(key().verify(&token, now).unwrap(), link);
        assert!(matches!(
            key().verify(&token, now + LINK_LIFETIME + Duration::seconds(1)),
            Err(LinkError::Expired(_))
        ));
    }

    #[test]
    fn a_changed_or_foreign_link_is_refused() {
        let now = Utc::now();
        let link = ActionLink::new(
            &LeadId::generate(),
            "lena.fischer",
            Action::Outcome(Outcome::NotReached),
            now,
        );
        let token = key().sign(&link);
        let other = LinkKey::new(&[7u8; 32]).unwrap();
        assert_eq!(other.verify(&token, now), Err(LinkError::Invalid));
        // Another action under the same signature.
        let forged = ActionLink {
            action: Action::Status(LeadStatus::Won),
            ..link
        };
        let payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        let sig = token.rsplit_once('.').unwrap().1;
        assert_eq!(
            key().verify(&format!("k0.{payload}.{sig}"), now),
            Err(LinkError::Invalid)
        );
        for junk in ["", ".", "abc", "a.b", "...", "k0.a.b.c"] {
            assert_eq!(key().verify(junk, now), Err(LinkError::Invalid));
        }
        assert!(LinkKey::new(b"short").is_err());
    }

    #[test]
    fn addresses_are_escaped_for_a_query_string() {
        assert_eq!(url_encode("Ana+x@ex ample.com"), "Ana%2Bx%40ex%20ample.com");
        assert_eq!(url_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(
            url_encode("jürgen@例え.jp"),
            "j%C3%BCrgen%40%E4%BE%8B%E3%81%88.jp"
        );
    }

    #[test]
    fn a_rotated_key_signs_and_the_old_ones_still_verify() {
        let now = Utc::now();
        let link = ActionLink::new(
            &LeadId::generate(),
            "lena.fischer",
            Action::Outcome(Outcome::NotReached),
            now,
        );
        let old =
            LinkKey::from_secret(r#"{"kid": "k1", "key": "0123456789abcdef0123456789abcdef"}"#)
                .unwrap();
        let sent = old.sign(&link);
        assert!(sent.starts_with("k1."), "{sent}");
        let unsubscribe = old.unsubscribe_token("ana@example.com");
        let rotated = LinkKey::from_secret(
            r#"{"kid": "k2", "key": "fedcba9876543210fedcba9876543210",
                "previous": {"k1": "0123456789abcdef0123456789abcdef"}}"#,
        )
        .unwrap();
        assert_eq!(rotated.kid(), "k2");
        assert!(rotated.sign(&link).starts_with("k2."));
        assert_eq!(rotated.verify(&sent, now).unwrap(), link);
        assert!(rotated.verify_unsubscribe("ana@example.com", &unsubscribe));
        assert!(!rotated.verify_unsubscribe("bob@example.com", &unsubscribe));
        // Retired: k1 no longer listed, its links no longer verify.
        let retired =
            LinkKey::from_secret(r#"{"kid": "k2", "key": "fedcba9876543210fedcba9876543210"}"#)
                .unwrap();
        assert_eq!(retired.verify(&sent, now), Err(LinkError::Invalid));
        assert!(!retired.verify_unsubscribe("ana@example.com", &unsubscribe));
        // A token from before key ids verifies under any listed key.
        let legacy = sent.split_once('.').unwrap().1;
        assert_eq!(rotated.verify(legacy, now).unwrap(), link);
        assert_eq!(token_kid(&sent), Some("k1"));
        assert_eq!(token_kid(&unsubscribe), Some("k1"));
        for bad in [
            r#"{"kid": "k1"}"#,
            r#"{"kid": "k1", "key": "short"}"#,
            r#"{"kid": "k 1", "key": "0123456789abcdef0123456789abcdef"}"#,
            r#"{"kid": "k1", "key": "0123456789abcdef0123456789abcdef", "previous": {"k1": "0123456789abcdef0123456789abcdef"}}"#,
            "not json",
        ] {
            assert!(LinkKey::from_secret(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_keyring_reads_a_rotated_key_when_a_token_names_it() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let reads = Arc::new(AtomicUsize::new(0));
        let counter = reads.clone();
        let loader: KeyLoader = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {
                LinkKey::from_secret(
                    r#"{"kid": "k2", "key": "fedcba9876543210fedcba9876543210",
                        "previous": {"k1": "0123456789abcdef0123456789abcdef"}}"#,
                )
            })
        });
        let k1 = LinkKey::with_id("k1", b"0123456789abcdef0123456789abcdef").unwrap();
        // Loaded long enough ago that a reload is allowed.
        let ring = Keyring::loading(k1.clone(), loader);
        *ring.state.write().unwrap() = (k1.clone(), std::time::Instant::now() - KEY_RELOAD_GAP);
        let now = Utc::now();
        let link = ActionLink::new(
            &LeadId::generate(),
            "lena.fischer",
            Action::Status(LeadStatus::Accepted),
            now,
        );
        // A k1 token: known, nothing read.
        let key = ring.key_for(&k1.sign(&link)).await;
        assert_eq!((key.kid(), reads.load(Ordering::SeqCst)), ("k1", 0));
        // A k2 token (signed by a function that already has the new key): read at once.
        let k2 = LinkKey::with_id("k2", b"fedcba9876543210fedcba9876543210").unwrap();
        let token = k2.sign(&link);
        let key = ring.key_for(&token).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(key.verify(&token, now).unwrap(), link);
        // A forged kid right after: no second read within the gap.
        ring.key_for("k9.x.y").await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }
}
