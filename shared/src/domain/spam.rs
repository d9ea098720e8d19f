//! Telling a bot's post on the public form from a person's: a honeypot field
//! people never see, and how long the form was open before it was sent.
//!
//! A post that shows a sign is thanked exactly as a person's would be (the
//! bot learns nothing) and counted as spam. It is not a lead, but it is not
//! thrown away either: a person whose browser autofilled the form, or a slow
//! page script, looks like a bot. The post is held in a quarantine with the
//! reason, for `quarantine_days`; ops list it (`GET /spam`) and release one
//! into the pipeline with one action, exactly once (issue 24, item 17). The
//! guard's two fields belong to the form, not to the inquiry: a released
//! post is recorded without them.

use super::ids::{LeadId, SpamId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The playbook's `spam` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamGuard {
    /// A field the landing page hides from people; a post that fills it is a bot's.
    #[serde(default = "SpamGuard::default_honeypot")]
    pub honeypot_field: String,
    /// The milliseconds the form was open before it was sent, as the page
    /// measured them on its own clock (so a visitor's wrong clock is no matter).
    #[serde(default = "SpamGuard::default_fill_time")]
    pub fill_time_field: String,
    /// A post that carries the fill time and was sent sooner is a bot's.
    /// Posts without the field (API clients, imports, pages without the
    /// script) are not held to it.
    #[serde(default = "SpamGuard::default_min_fill_seconds")]
    pub min_fill_seconds: u32,
    /// How long a held post waits for ops to release it before it is
    /// deleted (DynamoDB TTL).
    #[serde(default = "SpamGuard::default_quarantine_days")]
    pub quarantine_days: u32,
}

/// A post the guard held: what was sent, when, why it looked like a bot's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldPost {
    pub id: SpamId,
    pub received_at: DateTime<Utc>,
    /// `honeypot` or `too_fast`.
    pub sign: String,
    /// In words: "sent 1200 ms after the form opened (the minimum is 3000 ms)".
    pub reason: String,
    /// The (name, value) pairs as posted, the guard's fields left out.
    pub fields: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// Released into the pipeline: when, by whom, as which lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<Released>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    pub at: DateTime<Utc>,
    pub by: String,
    pub lead_id: LeadId,
}

impl Default for SpamGuard {
    fn default() -> Self {
        SpamGuard {
            honeypot_field: Self::default_honeypot(),
            fill_time_field: Self::default_fill_time(),
            min_fill_seconds: Self::default_min_fill_seconds(),
            quarantine_days: Self::default_quarantine_days(),
        }
    }
}

/// What gave a post away (a closed vocabulary: a metric dimension and a log field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamSign {
    /// The hidden field was filled.
    Honeypot,
    /// Sent sooner than `min_fill_seconds` after the form opened, or with a
    /// fill time no page writes.
    TooFast,
}

impl SpamSign {
    pub fn as_str(self) -> &'static str {
        match self {
            SpamSign::Honeypot => "honeypot",
            SpamSign::TooFast => "too_fast",
        }
    }
}

impl SpamGuard {
    fn default_honeypot() -> String {
        "hp_website".into()
    }
    fn default_fill_time() -> String {
        "form_fill_ms".into()
    }
    fn default_min_fill_seconds() -> u32 {
        3
    }
    fn default_quarantine_days() -> u32 {
        30
    }

    /// Why `sign` was taken, in words an operator reads.
    pub fn explain<K: AsRef<str>, V: AsRef<str>>(
        &self,
        sign: SpamSign,
        fields: &[(K, V)],
    ) -> String {
        match sign {
            SpamSign::Honeypot => format!(
                "the hidden field `{}` was filled (people never see it)",
                self.honeypot_field
            ),
            SpamSign::TooFast => {
                let v = values(fields, &self.fill_time_field)
                    .find(|v| !v.is_empty())
                    .unwrap_or_default();
                match v.parse::<u64>() {
                    Ok(ms) => format!(
                        "sent {ms} ms after the form opened (the minimum is {} ms)",
                        u64::from(self.min_fill_seconds) * 1000
                    ),
                    Err(_) => format!(
                        "a fill time no page writes ({:?} in `{}`)",
                        v.chars().take(40).collect::<String>(),
                        self.fill_time_field
                    ),
                }
            }
        }
    }

    /// The post as the quarantine keeps it.
    pub fn hold(
        &self,
        sign: SpamSign,
        fields: Vec<(String, String)>,
        source_ip: Option<&str>,
        now: DateTime<Utc>,
    ) -> HeldPost {
        HeldPost {
            id: SpamId::at(now),
            received_at: now,
            sign: sign.as_str().to_string(),
            reason: self.explain(sign, &fields),
            fields: self.strip(fields),
            source_ip: source_ip.map(str::to_string),
            released: None,
        }
    }

    /// Why the posted (name, value) pairs look like a bot's, if they do.
    /// A fill time left empty (a page whose script did not run) is not checked.
    pub fn sign<K: AsRef<str>, V: AsRef<str>>(&self, fields: &[(K, V)]) -> Option<SpamSign> {
        if values(fields, &self.honeypot_field).any(|v| !v.is_empty()) {
            return Some(SpamSign::Honeypot);
        }
        let min_ms = u64::from(self.min_fill_seconds) * 1000;
        let too_fast = |v: &str| v.parse::<u64>().map_or(true, |ms| ms < min_ms);
        values(fields, &self.fill_time_field)
            .filter(|v| !v.is_empty())
            .any(too_fast)
            .then_some(SpamSign::TooFast)
    }

    /// The pairs without the guard's own fields, which are never part of an inquiry.
    pub fn strip(&self, fields: Vec<(String, String)>) -> Vec<(String, String)> {
        fields
            .into_iter()
            .filter(|(k, _)| *k != self.honeypot_field && *k != self.fill_time_field)
            .collect()
    }
}

/// The trimmed values posted under `name`.
fn values<'a, K: AsRef<str>, V: AsRef<str>>(
    fields: &'a [(K, V)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    fields
        .iter()
        .filter(move |(k, _)| k.as_ref() == name)
        .map(|(_, v)| v.as_ref().trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_filled_honeypot_or_a_fast_or_unreadable_fill_time_is_a_sign() {
        let g = SpamGuard::default();
        for (fields, sign) in [
            (&[("email", "a@example.com")][..], None),
            (&[("hp_website", "")][..], None),
            (&[("hp_website", "  ")][..], None),
            (
                &[("hp_website", "http://spam.example")][..],
                Some(SpamSign::Honeypot),
            ),
            (
                &[("hp_website", ""), ("hp_website", "x")][..],
                Some(SpamSign::Honeypot),
            ),
            (&[("form_fill_ms", "")][..], None),
            (&[("form_fill_ms", "3000")][..], None),
            (&[("form_fill_ms", " 125000 ")][..], None),
            (&[("form_fill_ms", "2999")][..], Some(SpamSign::TooFast)),
            (&[("form_fill_ms", "0")][..], Some(SpamSign::TooFast)),
            (&[("form_fill_ms", "-5000")][..], Some(SpamSign::TooFast)),
            (&[("form_fill_ms", "soon")][..], Some(SpamSign::TooFast)),
            (
                &[("form_fill_ms", "99999999999999999999999")][..],
                Some(SpamSign::TooFast),
            ),
            (
                &[("form_fill_ms", "1"), ("hp_website", "x")][..],
                Some(SpamSign::Honeypot),
            ),
        ] {
            assert_eq!(g.sign(&pairs(fields)), sign, "{fields:?}");
        }
        let off = SpamGuard {
            min_fill_seconds: 0,
            ..SpamGuard::default()
        };
        assert_eq!(off.sign(&pairs(&[("form_fill_ms", "0")])), None);
    }

    #[test]
    fn a_held_post_says_why_and_keeps_what_was_sent_without_the_guards_fields() {
        let g = SpamGuard::default();
        let now = chrono::Utc::now();
        let fields = pairs(&[
            ("email", "fast@example.com"),
            ("form_fill_ms", "1200"),
            ("hp_website", ""),
        ]);
        let held = g.hold(SpamSign::TooFast, fields, Some("203.0.113.9"), now);
        assert_eq!(
            held.reason,
            "sent 1200 ms after the form opened (the minimum is 3000 ms)"
        );
        assert_eq!(held.fields, pairs(&[("email", "fast@example.com")]));
        assert_eq!(held.id.day(), now.date_naive());
        assert_eq!(
            g.explain(SpamSign::TooFast, &pairs(&[("form_fill_ms", "soon")])),
            "a fill time no page writes (\"soon\" in `form_fill_ms`)"
        );
        assert!(g
            .explain(SpamSign::Honeypot, &pairs(&[("hp_website", "x")]))
            .contains("`hp_website` was filled"));
    }

    #[test]
    fn the_guards_fields_are_never_part_of_the_inquiry() {
        let g = SpamGuard::default();
        assert_eq!(
            g.strip(pairs(&[
                ("email", "a@example.com"),
                ("hp_website", ""),
                ("form_fill_ms", "5000"),
                ("website", "https://acme.example")
            ])),
            pairs(&[
                ("email", "a@example.com"),
                ("website", "https://acme.example")
            ])
        );
    }
}
