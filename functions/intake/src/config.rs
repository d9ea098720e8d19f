//! The intake's settings, read from the environment at start.

use leadflow_aws::{env, env_opt, ConfigError};

#[derive(Debug, Clone)]
pub struct Config {
    pub allowed_origins: Vec<String>,
    pub thank_you_url: String,
    /// Pages a form's own `redirect` field may point at: the same scheme, host
    /// and port exactly, under the entry's path.
    pub redirect_allowlist: Vec<String>,
}

impl Config {
    /// `ALLOWED_ORIGINS` and `REDIRECT_ALLOWLIST` are comma-separated lists
    /// (empty when unset); `THANK_YOU_URL` is required.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            allowed_origins: list(&env_opt("ALLOWED_ORIGINS").unwrap_or_default()),
            thank_you_url: env("THANK_YOU_URL")?,
            redirect_allowlist: list(&env_opt("REDIRECT_ALLOWLIST").unwrap_or_default()),
        })
    }
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
    use super::list;

    #[test]
    fn lists_are_comma_separated_and_skip_blanks() {
        assert_eq!(
            list(" https://a.example.com, ,https://b.example.com,"),
            ["https://a.example.com", "https://b.example.com"]
        );
        assert!(list("").is_empty());
    }
}
