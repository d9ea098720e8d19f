//! Signed one-click action links for the emails an owner gets: "reached:
//! wants a demo", "not reached", "no interest now", "dead", "accept".
//!
//! A link is bound to one lead, one owner and one action, and expires. It is
//! `<payload>.<signature>`, both base64url: the payload is JSON, the signature
//! HMAC-SHA256 of the payload under the deployment's link key. A GET of the
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

/// The deployment's signing key.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(…)")
    }
}

impl LinkKey {
    pub fn new(key: &[u8]) -> Result<Self, String> {
        if key.len() < MIN_KEY_LEN {
            return Err(format!(
                "the action-link key must be at least {MIN_KEY_LEN} bytes (got {})",
                key.len()
            ));
        }
        Ok(LinkKey(key.to_vec()))
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac
    }

    pub fn sign(&self, link: &ActionLink) -> String {
        let payload = B64.encode(serde_json::to_vec(link).unwrap_or_default());
        let sig = B64.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    /// The link a token stands for, if we signed it and it has not expired by `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<ActionLink, LinkError> {
        let (payload, sig) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let sig = B64.decode(sig).map_err(|_| LinkError::Invalid)?;
        self.mac(payload)
            .verify_slice(&sig)
            .map_err(|_| LinkError::Invalid)?;
        let bytes = B64.decode(payload).map_err(|_| LinkError::Invalid)?;
        let link: ActionLink = serde_json::from_slice(&bytes).map_err(|_| LinkError::Invalid)?;
        let expires = DateTime::from_timestamp(link.expires, 0).ok_or(LinkError::Invalid)?;
        if expires <= now {
            return Err(LinkError::Expired(expires));
        }
        Ok(link)
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
    /// The token of an unsubscribe link for `email`: it never expires (a
    /// person may unsubscribe from an old email) and names nothing but the address.
    pub fn unsubscribe_token(&self, email: &str) -> String {
        B64.encode(
            self.mac(&format!("unsubscribe:{email}"))
                .finalize()
                .into_bytes(),
        )
    }

    pub fn verify_unsubscribe(&self, email: &str, token: &str) -> bool {
        match B64.decode(token.trim()) {
            Ok(sig) => self
                .mac(&format!("unsubscribe:{email}"))
                .verify_slice(&sig)
                .is_ok(),
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

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
        let sig = token.split_once('.').unwrap().1;
        assert_eq!(
            key().verify(&format!("{payload}.{sig}"), now),
            Err(LinkError::Invalid)
        );
        for junk in ["", ".", "abc", "a.b", "..."] {
            assert_eq!(key().verify(junk, now), Err(LinkError::Invalid));
        }
        assert!(LinkKey::new(b"short").is_err());
    }
}
