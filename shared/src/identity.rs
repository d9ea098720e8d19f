//! Who is calling: a person of the playbook, named by a verified JWT claim.
//!
//! In AWS the HTTP API's JWT authorizer verifies the Cognito ID token and
//! hands the function its claims; the function never sees an unverified
//! token. The local stack runs the same check against the emulator's user
//! pool (`leadflow token --rep ID` signs a person in to it). The function
//! then takes the person's address only if Cognito verified it.

use crate::domain::playbook::{Playbook, Rep};

/// The claim a signed-in user is matched to a playbook person by: their
/// email address (the Cognito user pool signs people in by email).
pub const PERSON_CLAIM: &str = "email";

/// The claim that says Cognito verified [`PERSON_CLAIM`].
pub const VERIFIED_CLAIM: &str = "email_verified";

/// The playbook person a verified [`PERSON_CLAIM`] names, if any.
pub fn person<'p>(email: &str, playbook: &'p Playbook) -> Option<&'p Rep> {
    let email = email.trim();
    playbook
        .reps
        .iter()
        .find(|r| r.email.eq_ignore_ascii_case(email))
}

/// Why a token's claims name nobody.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// 401: no address at all (an access token, another pool's token).
    #[error("the token names no person (no email claim): sign in with an ID token")]
    NoEmail,
    /// 403: an address Cognito has not verified is only what someone typed.
    #[error("the token's email address is not verified: verify it, then sign in again")]
    Unverified,
}

/// The address the claims name (`email`), if Cognito verified it
/// (`email_verified` is `true`; API Gateway hands every claim on as a string).
pub fn verified_email<'c>(
    email: Option<&'c str>,
    email_verified: Option<&str>,
) -> Result<&'c str, ClaimError> {
    let email = email
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or(ClaimError::NoEmail)?;
    match email_verified.map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(email),
        _ => Err(ClaimError::Unverified),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
}

/// Where the local stack's signing key lives in a checkout (git-ignored): the
/// local stack puts it in the `ActionLinkKeys` secret it makes in the
/// emulator, so links in mail stay valid across restarts.
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
    fn a_verified_address_names_a_person_and_nothing_else_does() {
        let pb = Playbook::default_playbook().unwrap();
        let lena = Some("lena.fischer@example.com");
        for verified in ["true", "True"] {
            let email = verified_email(lena, Some(verified)).unwrap();
            assert_eq!(person(email, &pb).unwrap().id, "lena.fischer");
        }
        for unverified in [Some("false"), Some("yes"), Some(""), None] {
            assert_eq!(
                verified_email(lena, unverified),
                Err(ClaimError::Unverified)
            );
        }
        assert_eq!(verified_email(None, Some("true")), Err(ClaimError::NoEmail));
        assert_eq!(
            verified_email(Some(" "), Some("true")),
            Err(ClaimError::NoEmail)
        );
        let stranger = verified_email(Some("mallory@example.org"), Some("true")).unwrap();
        assert!(person(stranger, &pb).is_none());
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
