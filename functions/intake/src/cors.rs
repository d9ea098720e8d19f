//! CORS: which pages may post from a browser. Only the configured origins
//! (compared exactly) get `Access-Control-Allow-Origin`; the preflight is
//! answered here, and every answer says it varies by Origin.

use crate::{header, response, Config, Refusal};
use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::http::{HeaderMap, HeaderValue};

/// The request's Origin, when it is one of the configured ones.
pub fn allowed_origin<'a>(headers: &'a HeaderMap, config: &Config) -> Option<&'a str> {
    header(headers, "origin").filter(|o| config.allowed_origins.iter().any(|a| a == o))
}

/// The answer to an `OPTIONS` preflight: 204 with what a post may send, or a
/// refusal for an origin that is not configured (or none).
pub fn preflight(
    headers: &HeaderMap,
    config: &Config,
) -> Result<ApiGatewayV2httpResponse, Refusal> {
    if allowed_origin(headers, config).is_none() {
        return Err(Refusal::OriginNotAllowed {
            origin: header(headers, "origin").map(str::to_string),
        });
    }
    let mut r = response(204);
    r.headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, OPTIONS"),
    );
    r.headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("content-type, idempotency-key"),
    );
    r.headers
        .insert("access-control-max-age", HeaderValue::from_static("600"));
    Ok(r)
}

/// Allows `origin` (when it is an allowed one) to read the answer, including
/// `Idempotent-Replayed`; `Vary: Origin` goes on every answer.
pub fn add_headers(resp: &mut ApiGatewayV2httpResponse, origin: Option<&str>) {
    if let Some(o) = origin {
        if let Ok(v) = HeaderValue::from_str(o) {
            resp.headers.insert("access-control-allow-origin", v);
        }
        resp.headers.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("idempotent-replayed"),
        );
    }
    resp.headers
        .insert("vary", HeaderValue::from_static("Origin"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            allowed_origins: vec!["https://www.example.com".into()],
            thank_you_url: "https://www.example.com/thanks".into(),
            redirect_allowlist: vec![],
        }
    }

    fn origin(o: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", o.parse().unwrap());
        h
    }

    #[test]
    fn only_a_configured_origin_exactly_is_allowed() {
        let c = config();
        let ok = origin("https://www.example.com");
        assert_eq!(allowed_origin(&ok, &c), Some("https://www.example.com"));
        for other in [
            "https://www.example.com/",
            "HTTPS://www.example.com",
            "https://www.example.com.evil.net",
            "http://www.example.com",
        ] {
            assert_eq!(allowed_origin(&origin(other), &c), None, "{other}");
        }
        assert_eq!(allowed_origin(&HeaderMap::new(), &c), None);
    }

    #[test]
    fn a_preflight_from_elsewhere_is_refused_naming_the_origin() {
        let c = config();
        assert_eq!(
            preflight(&origin("https://evil.example.net"), &c).unwrap_err(),
            Refusal::OriginNotAllowed {
                origin: Some("https://evil.example.net".into())
            }
        );
        assert_eq!(
            preflight(&HeaderMap::new(), &c).unwrap_err(),
            Refusal::OriginNotAllowed { origin: None }
        );
        let ok = preflight(&origin("https://www.example.com"), &c).unwrap();
        assert_eq!(ok.status_code, 204);
        assert_eq!(ok.headers["access-control-max-age"], "600");
    }

    #[test]
    fn every_answer_varies_by_origin_and_only_an_allowed_one_is_named() {
        let mut r = response(202);
        add_headers(&mut r, None);
        assert_eq!(r.headers["vary"], "Origin");
        assert!(r.headers.get("access-control-allow-origin").is_none());
        assert!(r.headers.get("access-control-expose-headers").is_none());

        let mut r = response(202);
        add_headers(&mut r, Some("https://www.example.com"));
        assert_eq!(
            r.headers["access-control-allow-origin"],
            "https://www.example.com"
        );
        assert_eq!(
            r.headers["access-control-expose-headers"],
            "idempotent-replayed"
        );
        assert_eq!(r.headers["vary"], "Origin");
    }
}
