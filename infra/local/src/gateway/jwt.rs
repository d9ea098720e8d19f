//! The HTTP API's JWT authorizer, as API Gateway runs it: an RS256 token
//! signed by one of the issuer's published keys, from the template's
//! `JwtConfiguration` issuer, for one of its audiences (an ID token's `aud`,
//! an access token's `client_id`), unexpired. Anything else is a 401 before
//! the function runs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::emulator::http_get;
use crate::template::JwtAuthorizerSpec;

/// One RSA signing key of a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: String,
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// Why a token is refused (each a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a JWT")]
    Malformed,
    #[error("the token is signed with {0}, not RS256")]
    Algorithm(String),
    #[error("the token's key {0:?} is not one of the issuer's")]
    UnknownKey(String),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is from {0:?}, not this API's issuer")]
    Issuer(String),
    #[error("the token is not for this API (audience)")]
    Audience,
    #[error("the token is neither an ID nor an access token (token_use)")]
    TokenUse,
    #[error("the token expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the issuer's keys cannot be read: {0}")]
    Keys(String),
}

/// The keys of a JWKS document.
pub fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc["keys"].as_array().ok_or("no \"keys\" list")?;
    Ok(keys
        .iter()
        .filter(|k| k["kty"] == "RSA")
        .filter_map(|k| {
            Some(Jwk {
                kid: k["kid"].as_str()?.to_string(),
                n: B64.decode(k["n"].as_str()?).ok()?,
                e: B64.decode(k["e"].as_str()?).ok()?,
            })
        })
        .collect())
}

fn decode_json(part: &str) -> Result<Map<String, Value>, Refusal> {
    B64.decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Refusal::Malformed)
}

/// The claims of `token` if `keys` and `spec` accept it at `now` (Unix seconds).
pub fn check(
    token: &str,
    keys: &[Jwk],
    spec: &JwtAuthorizerSpec,
    now: i64,
) -> Result<Map<String, Value>, Refusal> {
    let mut parts = token.split('.');
    let (Some(header), Some(body), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed);
    };
    let head = decode_json(header)?;
    let alg = head.get("alg").and_then(Value::as_str).unwrap_or_default();
    if alg != "RS256" {
        return Err(Refusal::Algorithm(alg.to_string()));
    }
    let kid = head.get("kid").and_then(Value::as_str).unwrap_or_default();
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| Refusal::UnknownKey(kid.to_string()))?;
    let signature = B64.decode(signature).map_err(|_| Refusal::Malformed)?;
    ring::signature::RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        format!("{header}.{body}").as_bytes(),
        &signature,
    )
    .map_err(|_| Refusal::BadSignature)?;
    let claims = decode_json(body)?;
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    if text("iss") != spec.issuer {
        return Err(Refusal::Issuer(text("iss").to_string()));
    }
    let audience = match text("token_use") {
        "id" => text("aud"),
        "access" => text("client_id"),
        _ => return Err(Refusal::TokenUse),
    };
    if !spec.audiences.iter().any(|a| a == audience) {
        return Err(Refusal::Audience);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(Refusal::Malformed)?;
    if exp <= now {
        return Err(Refusal::Expired);
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        if nbf > now {
            return Err(Refusal::NotYetValid);
        }
    }
    Ok(claims)
}

/// A JWT authorizer with its issuer's keys, read when first needed and read
/// again when a token names a key it does not know (keys rotate).
#[derive(Debug)]
pub struct JwtAuthorizer {
    pub spec: JwtAuthorizerSpec,
    jwks_url: String,
    keys: Mutex<Vec<Jwk>>,
}

impl JwtAuthorizer {
    pub fn new(spec: JwtAuthorizerSpec, jwks_url: String) -> Self {
        Self {
            spec,
            jwks_url,
            keys: Mutex::new(Vec::new()),
        }
    }

    /// For the local stack: the issuer's keys as the emulator serves them
    /// (`https://cognito-idp.REGION.amazonaws.com/POOL` publishes at
    /// `{emulator}/POOL/.well-known/jwks.json`).
    pub fn on_emulator(spec: JwtAuthorizerSpec, endpoint: &str) -> Self {
        let path = spec
            .issuer
            .split_once("://")
            .map(|(_, rest)| rest.split_once('/').map(|(_, p)| p).unwrap_or(""))
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        let url = format!(
            "{}/{path}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        );
        Self::new(spec, url)
    }

    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    async fn fetch(&self) -> Result<Vec<Jwk>, Refusal> {
        let (status, body) = http_get(&self.jwks_url).await.map_err(Refusal::Keys)?;
        if !status.is_success() {
            return Err(Refusal::Keys(format!("{}: {status}", self.jwks_url)));
        }
        parse_jwks(&body).map_err(|e| Refusal::Keys(format!("{}: {e}", self.jwks_url)))
    }

    /// The token's claims, or why it is refused.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Map<String, Value>, Refusal> {
        let mut keys = self.keys.lock().await;
        if keys.is_empty() {
            *keys = self.fetch().await?;
        }
        match check(token, &keys, &self.spec, now) {
            Err(Refusal::UnknownKey(_)) => {
                *keys = self.fetch().await?;
                check(token, &keys, &self.spec, now)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::RsaKeyPair;
    use serde_json::json;

    /// A 2048-bit RSA key made for these tests alone (PKCS#1 DER, base64).
    const TEST_KEY: &str = "
        MIIEpQIBAAKCAQEAycWKPexSRXq8UMXZASzW6qjdov8oU/xMnio1DZxXJssYxyxwPMb8Pu8cbwkP
        +Y623EL6tQSEQI+v/PMTbyDTbAOPqKgcKr8j4JxURbHBdVPys74IHcXs4mp/oZzw1d6z99NXzPSf
        /k7Gd4I/y6a11mCQ1UvBcEFcZKTnebPJ7w1qhGKuueL5cWw1ja7h32X1qjhtHS9fLkHBWQR5lk1n
        l+WXikIJrRsGoP2bMkVjhdEY1pmhmqVBLYPqq57QSmh3up+WDuVA7rGotw3mQLgqRnjxotCclaA7
        wRCv1kJaIyn4IEFoBqQfztHNarIL69ImtPUcqV6xvZconOYc44z2XwIDAQABAoIBAFRZ9w8oKsTN
        KMkDzVLGchqr+exYi32A7m746jEEeRLIuVUa6Nkfvvh4cgShX0JPPXcbsT/X4Yo0B7jRzgAZUwnG
        +1ng3dWpDtCpyjlQtLXeIIqwGSiJRBzrtOvVdoGSlt42RnBynChuul3f39e9nCtBN4tUHkxVptCU
        eAjS9squrI5m5I9ZRTQseT6zBp/Gcb83yZrCFhL9qKF3TiMy4hj65gmHBTg1H+nJ97JNpQSpL9ts
        EyBRwQWRqLjr8K2kzE42ZbMtGJAiBXwYKPGc1dqcBhx3fJNHJjLn6eFoeFhCAJZATJphJpTvSmX0
        muc3rIw1PIPfO6f8Bz8PBa45i8ECgYEA9Ypdghn1QD6zhLbgkSL0eCe1828EfbO3aZ13h/lMb5n1
        nZfL17bEP7teLNc8FOgM8nwXgU5wijbbm3Ny8ALKks/Q6Zd/7fH3K+RhTz6JIZFadCb/a7KAr3cc
        eA5nlROTJ7aCvA8Z4x7W1Tz5gTG/lJcew58KlelzRa2wobbh8o8CgYEA0l3fZdy9Qvewz2HWnnMt
        qLy09hPxRzQNvO7/ch9bs/1K8AUjqglg2S746V9z6CsnZO6p1Pu/foPRAhJvZdMRWJVXxBdkBLsv
        mw7oRJ4TrjWKbCMXuf1+becKPjv06ndp4ajE+upPwUF2tKFeT4bJ5bTyR2OVFuvR97kzFQ3qZzEC
        gYEA4G+ZCVKw2gh2Dtkaa4+H5kxmBB11/XBINkG5AJDfTSNtXp9hs8tbluWtL0+Nm46ARyUmVwtb
        0vpRwcXFSZ1DjO5oBxxz0wtY4sXeLJD8x7IU/BapYcfH2JsHarW/+IPr/mDVHxCumOuXc1JIvc67
        TxbTB/xXsK+yrf4Vdbu0zAECgYEAuFCxZKFkXiGBFCLoFUpbTgWRFC5i730HMGvC+u3IvkoGd4g5
        OEkhRwkl4+vTNS9iQ8fsm4S7wpCh9wvJ+NBW2WN4U4IfCxoq2tPT5BMQsUmN77NLnZUiSg7tZZvI
        ugpIhgQGGsZjfLLr29WrOUii6xWAVdZFkaCrBj6JKEBaCXECgYEAhHmXvvvaBS8yr8FlYM+UlRWG
        F3jN9oYWXVqf3OVbtJzJxLyn66HZWx67V4IbOuZDccx1x3Bay5hSoMB0h72Lefb9GBcjnt3+Qysb
        w8paUUlFDT1PB/400LmnPs4WEz0Ha2ganCPDaW7JUDYYQZ63cC/3Fvhmm+qCOVPnmWv/Dbc=
    ";

    fn key() -> RsaKeyPair {
        let der = base64::engine::general_purpose::STANDARD
            .decode(TEST_KEY.split_whitespace().collect::<String>())
            .unwrap();
        RsaKeyPair::from_der(&der).unwrap()
    }

    fn jwks(key: &RsaKeyPair, kid: &str) -> Vec<Jwk> {
        let public = ring::signature::RsaPublicKeyComponents::<Vec<u8>>::from(key.public());
        vec![Jwk {
            kid: kid.into(),
            n: public.n,
            e: public.e,
        }]
    }

    fn sign(key: &RsaKeyPair, header: Value, claims: Value) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .unwrap();
        format!("{input}.{}", B64.encode(signature))
    }

    const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool";
    const NOW: i64 = 1_800_000_000;

    fn spec() -> JwtAuthorizerSpec {
        JwtAuthorizerSpec {
            name: "RepJwt".into(),
            issuer: ISSUER.into(),
            audiences: vec!["client1".into()],
        }
    }

    fn id_claims() -> Value {
        json!({
            "iss": ISSUER, "aud": "client1", "token_use": "id", "sub": "u1",
            "email": "lena.fischer@example.com", "email_verified": "true",
            "iat": NOW - 10, "exp": NOW + 3600,
        })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    #[test]
    fn an_id_or_access_token_of_the_pool_for_this_api_is_accepted() {
        let key = key();
        let keys = jwks(&key, "k1");
        let head = json!({"alg": "RS256", "kid": "k1"});
        let claims = check(&sign(&key, head.clone(), id_claims()), &keys, &spec(), NOW).unwrap();
        assert_eq!(claims["email"], "lena.fischer@example.com");
        let access = json!({
            "iss": ISSUER, "client_id": "client1", "token_use": "access",
            "sub": "u1", "exp": NOW + 60,
        });
        assert!(check(&sign(&key, head, access), &keys, &spec(), NOW).is_ok());
    }

    #[test]
    fn every_token_api_gateway_refuses_is_refused() {
        let key = key();
        let keys = jwks(&key, "k1");
        let head = json!({"alg": "RS256", "kid": "k1"});
        let good = sign(&key, head.clone(), id_claims());
        let refused = |token: &str| check(token, &keys, &spec(), NOW).unwrap_err();

        // The old local kind: HS256 under a shared key.
        let hs256 = format!(
            "{}.{}.c2lnbmF0dXJl",
            B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string()),
            B64.encode(id_claims().to_string())
        );
        assert_eq!(refused(&hs256), Refusal::Algorithm("HS256".into()));
        let none = format!(
            "{}.{}.",
            B64.encode(json!({"alg": "none"}).to_string()),
            B64.encode(id_claims().to_string())
        );
        assert_eq!(refused(&none), Refusal::Algorithm("none".into()));
        assert_eq!(refused("not-a-jwt"), Refusal::Malformed);
        assert_eq!(
            refused(&sign(
                &key,
                json!({"alg": "RS256", "kid": "k2"}),
                id_claims()
            )),
            Refusal::UnknownKey("k2".into())
        );
        // Claims changed after signing.
        let (head_part, rest) = good.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        let forged = with(id_claims(), "email", json!("ops@example.com"));
        let forged = format!("{head_part}.{}.{signature}", B64.encode(forged.to_string()));
        assert_eq!(refused(&forged), Refusal::BadSignature);
        let other_pool = with(
            id_claims(),
            "iss",
            json!("https://cognito-idp.us-east-1.amazonaws.com/other"),
        );
        assert!(matches!(
            refused(&sign(&key, head.clone(), other_pool)),
            Refusal::Issuer(_)
        ));
        let other_client = with(id_claims(), "aud", json!("client2"));
        assert_eq!(
            refused(&sign(&key, head.clone(), other_client)),
            Refusal::Audience
        );
        // An ID token's audience is `aud`; `client_id` does not stand in for it.
        let mut no_aud = with(id_claims(), "client_id", json!("client1"));
        no_aud.as_object_mut().unwrap().remove("aud");
        assert_eq!(
            refused(&sign(&key, head.clone(), no_aud)),
            Refusal::Audience
        );
        let mut no_use = id_claims();
        no_use.as_object_mut().unwrap().remove("token_use");
        assert_eq!(
            refused(&sign(&key, head.clone(), no_use)),
            Refusal::TokenUse
        );
        let expired = with(id_claims(), "exp", json!(NOW));
        assert_eq!(
            refused(&sign(&key, head.clone(), expired)),
            Refusal::Expired
        );
        let early = with(id_claims(), "nbf", json!(NOW + 60));
        assert_eq!(
            refused(&sign(&key, head.clone(), early)),
            Refusal::NotYetValid
        );
        let mut no_exp = id_claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(refused(&sign(&key, head, no_exp)), Refusal::Malformed);
    }

    #[test]
    fn a_jwks_document_gives_its_rsa_keys_and_the_issuer_path_its_url() {
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "dummy", "alg": "RS256", "n": "AQAB", "e": "AQAB", "use": "sig"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid, "dummy");
        assert!(parse_jwks(b"[]").is_err());
        let authorizer = JwtAuthorizer::on_emulator(spec(), "http://127.0.0.1:4566/");
        assert_eq!(
            authorizer.jwks_url(),
            "http://127.0.0.1:4566/us-east-1_pool/.well-known/jwks.json"
        );
    }
}
