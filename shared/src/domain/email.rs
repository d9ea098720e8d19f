//! A prospect's email address, normalised once at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Trimmed and lower-cased, the part before the @ too: RFC 5321 lets a mail
/// system tell `Ana@` from `ana@`, but none a buyer uses does, and people type
/// their address in whatever case comes (Salesforce and HubSpot match
/// addresses without case as well). Two posts by the same person normalise to
/// the same address, which is what makes them the same lead, and an
/// unsubscribe in one case holds for every other.
///
/// Only addresses our mail service can deliver to are accepted: an
/// internationalised domain is kept in its ASCII (punycode) form, which is what
/// SES needs and what makes `ana@münchen.de` and `ana@xn--mnchen-3ya.de` one
/// person; a non-ASCII local part (which needs SMTPUTF8, not offered by SES) is
/// refused at the door rather than lost at send time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEmail(pub &'static str);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(InvalidEmail("is empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(InvalidEmail("is longer than 254 characters"));
        }
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or(InvalidEmail("must contain an @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(InvalidEmail("has an empty or over-long part before the @"));
        }
        if local.contains('@') && !(local.starts_with('"') && local.ends_with('"')) {
            return Err(InvalidEmail("must contain exactly one @"));
        }
        let forbidden =
            |c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',';
        // In ASCII the spaces and controls are the bytes up to 0x20, and 0x7f.
        let refused = if s.is_ascii() {
            s.bytes()
                .any(|b| b <= b' ' || b == 0x7f || b == b'<' || b == b'>' || b == b',')
        } else {
            s.chars().any(forbidden)
        };
        if refused {
            return Err(InvalidEmail(
                "contains spaces or characters not allowed in an address",
            ));
        }
        if !local.is_ascii() {
            return Err(InvalidEmail(
                "has non-ASCII characters before the @, which our mail service cannot deliver to",
            ));
        }
        let mut address = String::with_capacity(s.len());
        address.push_str(local);
        address.push('@');
        if domain.is_ascii() {
            address.push_str(domain);
            address[local.len() + 1..].make_ascii_lowercase();
        } else {
            let domain =
                idna::domain_to_ascii(domain).map_err(|_| InvalidEmail("has an invalid domain"))?;
            address.push_str(&domain);
        }
        if address.len() > Self::MAX_LEN {
            return Err(InvalidEmail("is longer than 254 characters"));
        }
        address.make_ascii_lowercase();
        let domain = &address[local.len() + 1..];
        let bad_label = |l: &str| {
            l.is_empty()
                || l.len() > 63
                || l.starts_with('-')
                || l.ends_with('-')
                || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if !domain.contains('.') || domain.split('.').any(bad_label) {
            return Err(InvalidEmail("has an invalid domain"));
        }
        Ok(Self(address))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = InvalidEmail;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_by_trimming_and_lowercasing() {
        let e = EmailAddress::parse("  Ana.Ruiz@Example.COM \n").unwrap();
        assert_eq!(e.as_str(), "ana.ruiz@example.com");
        assert_eq!(e.domain(), "example.com");
        // One person, whatever the case they typed.
        assert_eq!(
            EmailAddress::parse("Case.x@Example.com").unwrap(),
            EmailAddress::parse("case.x@example.com").unwrap()
        );
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@exa mple.com",
            "ana@@example.com",
            "ana@-example.com",
            "ana@example..com",
            "a b@example.com",
            "<ana@example.com>",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn internationalised_domains_become_punycode_and_non_ascii_local_parts_are_refused() {
        let e = EmailAddress::parse("Ana@München.DE").unwrap();
        assert_eq!(e.as_str(), "ana@xn--mnchen-3ya.de");
        assert_eq!(e, EmailAddress::parse("Ana@xn--mnchen-3ya.de").unwrap());
        let err = EmailAddress::parse("jürgen@example.de").unwrap_err();
        assert!(err.0.contains("non-ASCII"), "{err}");
        assert!(EmailAddress::parse("a@exa_mple.com").is_err());
    }

    #[test]
    fn round_trips_through_serde() {
        let e = EmailAddress::parse("x@Y.io").unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, "\"x@y.io\"");
        let back: EmailAddress = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
    }
}
