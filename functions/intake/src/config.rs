//! The intake's settings, read from the environment at start.

use leadflow_aws::ConfigError;

#[derive(Debug, Clone)]
pub struct Config {
    pub allowed_origins: Vec<String>,
    pub thank_you_url: String,
    /// Pages a form's own `redirect` field may point at: the same scheme, host
    /// and port exactly, under the entry's path.
    pub redirect_allowlist: Vec<String>,
}

impl Config {
    /// From the function's environment: `ALLOWED_ORIGINS` and
    /// `REDIRECT_ALLOWLIST` are comma-separated lists (empty when unset);
    /// every allowed origin must be one (see [`origin`]).
    pub fn new(
        allowed_origins: Option<&str>,
        thank_you_url: String,
        redirect_allowlist: Option<&str>,
    ) -> Result<Self, ConfigError> {
        let allowed_origins = list(allowed_origins.unwrap_or_default())
            .iter()
            .map(|o| origin(o).map_err(|why| ConfigError(format!("ALLOWED_ORIGINS: {why}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            allowed_origins,
            thank_you_url,
            redirect_allowlist: list(redirect_allowlist.unwrap_or_default()),
        })
    }
}

/// An allowed origin is compared exactly with what a browser sends
/// (`scheme://host[:port]`, lower-case, no default port, no path), so each
/// entry is written that way: `https://WWW.example.com/` becomes
/// `https://www.example.com`. An entry that names more than an origin (a
/// path, a user, a query), or that would let in every page (`*`) or
/// sandboxed ones (`null`), is a clear error at start.
pub fn origin(entry: &str) -> Result<String, String> {
    let parsed = url::Url::parse(entry).map_err(|_| format!("`{entry}` is not an origin"))?;
    let serialised = parsed.origin().ascii_serialization();
    if !matches!(parsed.scheme(), "https" | "http") || serialised == "null" {
        return Err(format!("`{entry}` is not an http(s) origin"));
    }
    if !matches!(parsed.path(), "" | "/")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(format!(
            "`{entry}` is more than an origin: write it as a browser sends it, `{serialised}`"
        ));
    }
    Ok(serialised)
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{list, origin};

    #[test]
    fn lists_are_comma_separated_and_skip_blanks() {
        assert_eq!(
            list(" https://a.example.com, ,https://b.example.com,"),
            ["https://a.example.com", "https://b.example.com"]
        );
        assert!(list("").is_empty());
    }

    #[test]
    fn allowed_origins_are_written_as_browsers_send_them() {
        for (entry, origin_is) in [
            ("https://www.example.com", "https://www.example.com"),
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("https://www.example.com/", "https://www.example.com"),
            ("https://WWW.example.com", "https://www.example.com"),
            ("https://www.example.com:443", "https://www.example.com"),
        ] {
            assert_eq!(origin(entry).as_deref(), Ok(origin_is), "{entry}");
        }
        for (bad, says) in [
            ("*", "is not an origin"),
            ("null", "is not an origin"),
            ("file:///tmp/x.html", "is not an http(s) origin"),
            ("https://www.example.com/page", "`https://www.example.com`"),
            ("https://user@www.example.com", "`https://www.example.com`"),
            ("https://www.example.com/?a=1", "more than an origin"),
        ] {
            let err = origin(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
