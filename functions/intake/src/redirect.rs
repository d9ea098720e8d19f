//! Where a form post is sent once accepted: the form's own `redirect` field
//! when it is on the allowlist, else the configured thank-you page. Never an
//! open redirect.

use crate::Config;

/// The form's own `redirect` when it is on the allowlist, else the configured
/// page. The answer is the URL as parsed and checked, re-serialised: what the
/// browser follows is exactly what was compared (ASCII, punycode host,
/// percent-encoded path), never the raw text a header could not carry.
pub fn target(fields: &[(String, String)], config: &Config) -> String {
    fields
        .iter()
        .find(|(k, _)| k == "redirect")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.contains(char::is_control))
        .and_then(|v| {
            config
                .redirect_allowlist
                .iter()
                .find_map(|allowed| allowed_url(allowed, v))
        })
        .map(String::from)
        .unwrap_or_else(|| config.thank_you_url.clone())
}

/// `target` is on the page `allowed` names: the same scheme, host and port
/// (compared as parsed URLs, never as strings: `https://good.com.evil.com/`
/// is not `https://good.com`), no credentials, and under the entry's path.
pub fn redirect_allowed(allowed: &str, target: &str) -> bool {
    allowed_url(allowed, target).is_some()
}

fn allowed_url(allowed: &str, target: &str) -> Option<url::Url> {
    let (a, t) = (
        url::Url::parse(allowed).ok()?,
        url::Url::parse(target).ok()?,
    );
    let dir = a.path().trim_end_matches('/');
    let under = t.path() == dir || t.path().starts_with(&format!("{dir}/"));
    let ok = matches!(t.scheme(), "https" | "http")
        && a.scheme() == t.scheme()
        && a.host().is_some()
        && a.host() == t.host()
        && a.port_or_known_default() == t.port_or_known_default()
        && t.username().is_empty()
        && t.password().is_none()
        && under;
    ok.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_redirect_field_is_used_trimmed_when_allowed() {
        let config = Config {
            allowed_origins: vec![],
            thank_you_url: "https://www.example.com/thanks".into(),
            redirect_allowlist: vec!["https://www.example.com/campaigns".into()],
        };
        let fields = |v: &[&str]| -> Vec<(String, String)> {
            v.iter()
                .map(|v| ("redirect".to_string(), v.to_string()))
                .collect()
        };
        for (given, expected) in [
            (
                &["  https://www.example.com/campaigns/spring "][..],
                "https://www.example.com/campaigns/spring",
            ),
            (
                &[
                    "https://www.example.com/other",
                    "https://www.example.com/campaigns/x",
                ][..],
                "https://www.example.com/thanks",
            ),
            (
                &["https://www.example.com/campaigns/a\u{7f}b"][..],
                "https://www.example.com/thanks",
            ),
            (&[][..], "https://www.example.com/thanks"),
        ] {
            assert_eq!(target(&fields(given), &config), expected, "{given:?}");
        }
    }
}
