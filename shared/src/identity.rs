//! Who is calling: a person of the playbook, named by a verified JWT claim.
//!
//! In AWS the HTTP API's JWT authorizer verifies the Cognito token and hands
//! the function its claims; the function never sees an unverified token. The
//! local stack does the same check with a local key ([`LocalTokens`]), and
//! `leadflow token --rep ID` signs such a token.

use crate::domain::playbook::{Playbook, Rep};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

/// The claim a signed-in user is matched to a playbook person by: their
/// email address (the Cognito user pool signs people in by email).
pub const PERSON_CLAIM: &str = "email";

/// The playbook person a verified [`PERSON_CLAIM`] names, if any.
pub fn person<'p>(email: &str, playbook: &'p Playbook) -> Option<&'p Rep> {
    let email = email.trim();
    playbook
        .reps
        .iter()
        .find(|r| r.email.eq_ignore_ascii_case(email))
}

/// Issuer and audience of tokens the local stack accepts.
pub const LOCAL_ISSUER: &str = "leadflow-local";
pub const LOCAL_AUDIENCE: &str = "leadflow-local";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token expired")]
    Expired,
    #[error("the token is not for this API (issuer or audience)")]
    WrongAudience,
}

/// HS256 JWTs under a local key: what `make dev` accepts in place of Cognito's.
#[derive(Clone)]
pub struct LocalTokens {
    key: Vec<u8>,
}

impl std::fmt::Debug for LocalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalTokens(…)")
    }
}

impl LocalTokens {
    pub fn new(key: &[u8]) -> Self {
        LocalTokens { key: key.to_vec() }
    }

    fn mac(&self, data: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(data.as_bytes());
        mac
    }

    /// A token for `email`, valid for `ttl` from `now`.
    pub fn sign(&self, email: &str, name: &str, now: DateTime<Utc>, ttl: Duration) -> String {
        let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = json!({
            "iss": LOCAL_ISSUER,
            "aud": LOCAL_AUDIENCE,
            "sub": email,
            "email": email,
            "name": name,
            "token_use": "id",
            "iat": now.timestamp(),
            "exp": (now + ttl).timestamp(),
        });
        let body = B64.encode(claims.to_string());
        let signing_input = format!("{header}.{body}");
        let sig = B64.encode(self.mac(&signing_input).finalize().into_bytes());
        format!("{signing_input}.{sig}")
    }

    /// The claims of a token we signed, unexpired at `now`, for this API.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Map<String, Value>, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let head: Value = B64
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if head.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(TokenError::BadSignature);
        }
        let sig = B64.decode(sig).map_err(|_| TokenError::Malformed)?;
        self.mac(&format!("{header}.{body}"))
            .verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Map<String, Value> = B64
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(TokenError::Malformed)?;
        if exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        let is = |k: &str, v: &str| claims.get(k).and_then(Value::as_str) == Some(v);
        if !is("iss", LOCAL_ISSUER) || !is("aud", LOCAL_AUDIENCE) {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}

/// Where the local stack's signing key lives in a checkout (git-ignored): the
/// local stack checks tokens with it, `leadflow token` signs with it, and the
/// local deployment signs its action links with it.
pub const LOCAL_KEY_FILE: &str = ".tools/local-signing-key";

/// The local signing key under `root`, made (32 random bytes, hex) on first use.
pub fn local_key(root: &std::path::Path) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let path = root.join(LOCAL_KEY_FILE);
    if let Ok(key) = std::fs::read_to_string(&path) {
        if key.trim().len() >= 64 {
            return Ok(key.trim().to_string());
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 40];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let key = hex(&bytes[..32]);
    // Written aside, then linked into place: whoever links first wins, and
    // nobody ever reads a half-written key. The aside file is this call's own
    // (threads of one process, tests say, make the key at the same moment).
    let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), hex(&bytes[32..])));
    std::fs::File::create(&tmp)?.write_all(key.as_bytes())?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_string())
        }
        Err(e) => Err(e),
    }
}

/// The bearer token of an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, TokenError> {
    let value = header.ok_or(TokenError::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(TokenError::Malformed);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tokens_verify_and_name_a_person() {
        let t = LocalTokens::new(b"local key");
        let now = Utc::now();
        let token = t.sign("lena.fischer@example.com", "Lena", now, Duration::hours(1));
        let claims = t.verify(&token, now).unwrap();
        let pb = Playbook::default_playbook().unwrap();
        let email = claims[PERSON_CLAIM].as_str().unwrap();
        assert_eq!(person(email, &pb).unwrap().id, "lena.fischer");

        assert_eq!(
            t.verify(&token, now + Duration::hours(2)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            LocalTokens::new(b"other").verify(&token, now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(t.verify("a.b", now), Err(TokenError::Malformed));
        let stranger = t.sign("who@example.org", "?", now, Duration::hours(1));
        let claims = t.verify(&stranger, now).unwrap();
        assert!(person(claims[PERSON_CLAIM].as_str().unwrap(), &pb).is_none());
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(None), Err(TokenError::Missing));
        assert_eq!(bearer(Some("Basic abc")), Err(TokenError::Malformed));
    }

    /// A fresh checkout: many tests of one process make the key at once, and
    /// every one of them gets the same key.
    #[test]
    fn the_local_key_is_made_once_whoever_asks_at_the_same_moment() {
        let root = std::env::temp_dir().join(format!("leadflow-key-{}", ulid::Ulid::new()));
        let keys: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16).map(|_| s.spawn(|| local_key(&root))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });
        assert_eq!(keys[0].len(), 64);
        assert!(keys.iter().all(|k| *k == keys[0]));
        let left: Vec<_> = std::fs::read_dir(root.join(".tools"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("local-signing-key")]);
        let _ = std::fs::remove_dir_all(&root);
    }
}
