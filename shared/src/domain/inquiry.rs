//! An inquiry as a landing page posts it, parsed once at the edge.

use super::bant::{BantDefinition, Criterion, UNKNOWN};
use super::email::EmailAddress;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }

            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What the prospect asked for (seed 000's request types).
    RequestType {
        Info = "info",
        Assessment = "assessment",
        Demo = "demo",
        OnsiteDemo = "onsite_demo",
        Rfi = "rfi",
        Rfp = "rfp",
    }
);

vocabulary!(
    /// Where the inquiry came from (seed 000/002: every source goes through the same process).
    Source {
        Web = "web",
        LandingPage = "landing_page",
        Event = "event",
        DirectMail = "direct_mail",
        Referral = "referral",
        PurchasedList = "purchased_list",
        Print = "print",
        Pr = "pr",
        InboundCall = "inbound_call",
        SalesProspecting = "sales_prospecting",
    }
);

impl RequestType {
    /// Whether the prospect asked for something a person must follow up:
    /// everything but general information.
    pub fn asks_for_a_person(self) -> bool {
        self != RequestType::Info
    }

    pub fn describe(self) -> &'static str {
        match self {
            RequestType::Info => "general information",
            RequestType::Assessment => "a business-needs assessment",
            RequestType::Demo => "a demo",
            RequestType::OnsiteDemo => "an on-site demo",
            RequestType::Rfi => "a demo with RFI",
            RequestType::Rfp => "a demo with RFP / proposal",
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

impl Country {
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() != 2 {
            return None;
        }
        // The list is sorted, two letters and a space each: a binary search.
        let list = ISO_3166_ALPHA2.as_bytes();
        let (mut lo, mut hi) = (0, list.len().div_ceil(3));
        while lo < hi {
            let mid = (lo + hi) / 2;
            match list[mid * 3..mid * 3 + 2].cmp(code.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(Self(code)),
            }
        }
        None
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Country {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| format!("{value} is not an ISO 3166-1 alpha-2 code"))
    }
}

impl From<Country> for String {
    fn from(value: Country) -> Self {
        value.0
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who the person is. Every field is optional except the email, which is the lead's key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_size: Option<String>,
}

impl Contact {
    pub fn full_name(&self) -> Option<String> {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(f), None) => Some(f.clone()),
            (None, Some(l)) => Some(l.clone()),
            (None, None) => None,
        }
    }

    /// The (name, value) pairs of the fields that are set, in form order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |name: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((name, v));
            }
        };
        push("first_name", self.first_name.clone());
        push("last_name", self.last_name.clone());
        push("company", self.company.clone());
        push("title", self.title.clone());
        push("phone", self.phone.clone());
        push("country", self.country.as_ref().map(|c| c.to_string()));
        push("region", self.region.clone());
        push("industry", self.industry.clone());
        push("company_size", self.company_size.clone());
        out
    }
}

/// Which campaign the inquiry answers.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub source: Option<Source>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
}

impl Clone for Attribution {
    fn clone(&self) -> Self {
        Attribution {
            source: self.source,
            campaign: self.campaign.clone(),
            utm_source: self.utm_source.clone(),
            utm_medium: self.utm_medium.clone(),
            utm_campaign: self.utm_campaign.clone(),
            utm_term: self.utm_term.clone(),
            utm_content: self.utm_content.clone(),
        }
    }

    /// Field by field, each string into the one it replaces where that has
    /// room: a lead takes every response's attribution. Every field is
    /// named, so one added to the struct cannot be left out here.
    fn clone_from(&mut self, from: &Self) {
        let Attribution {
            source,
            campaign,
            utm_source,
            utm_medium,
            utm_campaign,
            utm_term,
            utm_content,
        } = from;
        self.source = *source;
        self.campaign.clone_from(campaign);
        self.utm_source.clone_from(utm_source);
        self.utm_medium.clone_from(utm_medium);
        self.utm_campaign.clone_from(utm_campaign);
        self.utm_term.clone_from(utm_term);
        self.utm_content.clone_from(utm_content);
    }
}

impl Attribution {
    pub fn source(&self) -> Source {
        self.source.unwrap_or(Source::Web)
    }
}

/// A validated inquiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inquiry {
    pub email: EmailAddress,
    pub contact: Contact,
    pub request_type: RequestType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub attribution: Attribution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_email: Option<bool>,
    /// The prospect's own B.A.N.T. answers; `unknown` for those not given.
    pub bant: BTreeMap<Criterion, String>,
    /// Fields the form sent that leadflow does not know, kept as they came.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

/// A posted value, trimmed, or none when it is absent or blank. Refused when
/// it holds a control character other than a line break or a tab, is longer
/// than `max` characters, or (`single`) breaks a line — checked in that order.
fn checked<'a>(
    name: &str,
    value: Option<&'a str>,
    max: usize,
    single: bool,
) -> Result<Option<&'a str>, InquiryError> {
    let Some(v) = value.map(str::trim) else {
        return Ok(None);
    };
    let control = |c: char| c.is_control() && c != '\n' && c != '\r' && c != '\t';
    let (has_control, chars, breaks) = if v.is_ascii() {
        // Most fields: a byte is a character, and one pass sees everything.
        let (mut has_control, mut breaks) = (false, false);
        for &b in v.as_bytes() {
            has_control |= (b < 0x20 || b == 0x7f) && !matches!(b, b'\n' | b'\r' | b'\t');
            breaks |= matches!(b, b'\n' | b'\r');
        }
        (has_control, v.len(), breaks)
    } else {
        let breaks = v.bytes().any(|b| b == b'\n' || b == b'\r');
        (v.chars().any(control), v.chars().count(), breaks)
    };
    if has_control {
        return Err(InquiryError::new(
            "invalid_value",
            name,
            "contains control characters",
        ));
    }
    if chars > max {
        return Err(InquiryError::new(
            "too_long",
            name,
            format!("is longer than {max} characters"),
        ));
    }
    if single && breaks {
        return Err(InquiryError::new(
            "invalid_value",
            name,
            "must be a single line",
        ));
    }
    Ok((!v.is_empty()).then_some(v))
}

/// Why an inquiry was refused. `field` names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InquiryError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl InquiryError {
    fn new(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Limits on what a post may carry, so one form cannot bloat a lead.
pub mod limits {
    pub const SHORT_FIELD: usize = 200;
    pub const MESSAGE: usize = 5_000;
    pub const CUSTOM_FIELDS: usize = 20;
    pub const CUSTOM_NAME: usize = 64;
    pub const CUSTOM_VALUE: usize = 1_000;
}

/// Fields the intake reads itself and that are not part of the inquiry.
pub const CONTROL_FIELDS: &[&str] = &["redirect"];

/// The fields an inquiry reads, in form order; any other is a custom field.
pub const KNOWN_FIELDS: [&str; 25] = [
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "phone",
    "country",
    "region",
    "industry",
    "company_size",
    "request_type",
    "interest",
    "message",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "consent_email",
    "budget",
    "authority",
    "need",
    "timeframe",
];

/// Where `name` is in [`KNOWN_FIELDS`]: one `match` (a length, then a few
/// bytes), as a form's fields are looked up by name about 40 times a parse.
fn known_field(name: &str) -> Option<usize> {
    Some(match name {
        "email" => 0,
        "first_name" => 1,
        "last_name" => 2,
        "company" => 3,
        "title" => 4,
        "phone" => 5,
        "country" => 6,
        "region" => 7,
        "industry" => 8,
        "company_size" => 9,
        "request_type" => 10,
        "interest" => 11,
        "message" => 12,
        "source" => 13,
        "campaign" => 14,
        "utm_source" => 15,
        "utm_medium" => 16,
        "utm_campaign" => 17,
        "utm_term" => 18,
        "utm_content" => 19,
        "consent_email" => 20,
        "budget" => 21,
        "authority" => 22,
        "need" => 23,
        "timeframe" => 24,
        _ => return None,
    })
}

/// Where `name` is in [`KNOWN_FIELDS`], at compile time (a name that is not
/// there does not compile).
const fn slot(name: &str) -> usize {
    let mut i = 0;
    while i < KNOWN_FIELDS.len() {
        let known = KNOWN_FIELDS[i].as_bytes();
        if known.len() == name.len() {
            let mut j = 0;
            while j < known.len() && known[j] == name.as_bytes()[j] {
                j += 1;
            }
            if j == known.len() {
                return i;
            }
        }
        i += 1;
    }
    panic!("not a known field")
}

/// The posted (name, value) pairs: the known fields in a slot each, the others
/// (custom and control fields) sorted by name.
struct Posted<'a> {
    known: [Option<&'a str>; KNOWN_FIELDS.len()],
    other: Vec<(&'a str, &'a str)>,
}

impl<'a> Posted<'a> {
    /// Refuses a field given twice (the first such, in the order given).
    fn new<K: AsRef<str>, V: AsRef<str>>(fields: &'a [(K, V)]) -> Result<Self, InquiryError> {
        let mut posted = Posted {
            known: [None; KNOWN_FIELDS.len()],
            other: Vec::new(),
        };
        for (name, value) in fields {
            let (name, value) = (name.as_ref(), value.as_ref());
            let duplicate = match known_field(name) {
                Some(i) => posted.known[i].replace(value).is_some(),
                None if posted.other.iter().any(|(n, _)| *n == name) => true,
                None => {
                    posted.other.push((name, value));
                    false
                }
            };
            if duplicate {
                return Err(InquiryError::new(
                    "duplicate_field",
                    name,
                    "is given more than once",
                ));
            }
        }
        posted.other.sort_unstable_by_key(|(name, _)| *name);
        Ok(posted)
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        match known_field(name) {
            Some(i) => self.known[i],
            None => self
                .other
                .binary_search_by_key(&name, |(n, _)| n)
                .ok()
                .map(|i| self.other[i].1),
        }
    }
}

impl Inquiry {
    /// Parse the (name, value) pairs of a form or a flat JSON object (owned
    /// strings or borrowed: the simulator lends its CSV row's fields).
    pub fn parse<K: AsRef<str>, V: AsRef<str>>(
        fields: &[(K, V)],
        bant: &BantDefinition,
    ) -> Result<Self, InquiryError> {
        let seen = Posted::new(fields)?;
        // Each field's value, checked (see `checked`) and borrowed: only
        // what the inquiry keeps as text is copied. Known fields by their
        // slot (`known!("email")`, found at compile time), custom ones by name.
        macro_rules! known {
            ($name:literal) => {
                const { slot($name) }
            };
        }
        let line_ref =
            |i: usize| checked(KNOWN_FIELDS[i], seen.known[i], limits::SHORT_FIELD, true);
        let single_line = |i: usize| Ok(line_ref(i)?.map(str::to_string));
        let text = |i: usize, max: usize| {
            Ok(checked(KNOWN_FIELDS[i], seen.known[i], max, false)?.map(str::to_string))
        };
        let custom_text = |name: &str, max: usize| {
            Ok(checked(name, seen.get(name), max, false)?.map(str::to_string))
        };

        let email = match seen.known[known!("email")] {
            None => return Err(InquiryError::new("missing_field", "email", "is required")),
            Some(v) if v.trim().is_empty() => {
                return Err(InquiryError::new("missing_field", "email", "is required"))
            }
            Some(v) => EmailAddress::parse(v).map_err(|e| {
                InquiryError::new(
                    "invalid_email",
                    "email",
                    format!("is not a valid address: it {e}"),
                )
            })?,
        };

        let country = match line_ref(known!("country"))? {
            None => None,
            Some(v) => Some(Country::parse(v).ok_or_else(|| {
                InquiryError::new(
                    "invalid_value",
                    "country",
                    format!("{v:?} is not an ISO 3166-1 alpha-2 country code"),
                )
            })?),
        };

        let request_type = match line_ref(known!("request_type"))? {
            None => RequestType::Info,
            Some(v) => RequestType::parse(v).ok_or_else(|| {
                InquiryError::new(
                    "invalid_value",
                    "request_type",
                    format!("{v:?} is not one of: {}", RequestType::allowed()),
                )
            })?,
        };
        let source = match line_ref(known!("source"))? {
            None => None,
            Some(v) => Some(Source::parse(v).ok_or_else(|| {
                InquiryError::new(
                    "invalid_value",
                    "source",
                    format!("{v:?} is not one of: {}", Source::allowed()),
                )
            })?),
        };
        let said = |v: &str, words: [&str; 4]| words.iter().any(|w| w.eq_ignore_ascii_case(v));
        let consent_email = match line_ref(known!("consent_email"))? {
            None => None,
            Some(v) if said(v, ["true", "on", "yes", "1"]) => Some(true),
            Some(v) if said(v, ["false", "off", "no", "0"]) => Some(false),
            Some(_) => {
                return Err(InquiryError::new(
                    "invalid_value",
                    "consent_email",
                    "must be true or false",
                ))
            }
        };

        let mut answers = BTreeMap::new();
        for c in Criterion::ALL {
            let slot = known_field(c.field()).expect("a B.A.N.T. criterion is a known field");
            let v = line_ref(slot)?.unwrap_or(UNKNOWN);
            if !bant.is_allowed(c, v) {
                return Err(InquiryError::new(
                    "invalid_value",
                    c.field(),
                    format!("{v:?} is not one of: {}", bant.allowed_values(c).join(", ")),
                ));
            }
            answers.insert(c, v.to_string());
        }

        let mut custom = BTreeMap::new();
        for &(name, _) in &seen.other {
            if CONTROL_FIELDS.contains(&name) {
                continue;
            }
            if name.is_empty()
                || name.len() > limits::CUSTOM_NAME
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
            {
                return Err(InquiryError::new(
                    "invalid_field_name",
                    name,
                    format!(
                        "custom field names are up to {} letters, digits, '_', '-' or '.'",
                        limits::CUSTOM_NAME
                    ),
                ));
            }
            if let Some(v) = custom_text(name, limits::CUSTOM_VALUE)? {
                custom.insert(name.to_string(), v);
            }
        }
        if custom.len() > limits::CUSTOM_FIELDS {
            return Err(InquiryError::new(
                "too_many_fields",
                custom
                    .keys()
                    .nth(limits::CUSTOM_FIELDS)
                    .map_or("", |s| s.as_str()),
                format!("at most {} custom fields are kept", limits::CUSTOM_FIELDS),
            ));
        }

        let phone = single_line(known!("phone"))?;
        if let Some(p) = &phone {
            if !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().x/".contains(c))
                || p.chars().filter(|c| c.is_ascii_digit()).count() < 4
            {
                return Err(InquiryError::new(
                    "invalid_value",
                    "phone",
                    "must be a phone number (digits, spaces, + - ( ) . x /)",
                ));
            }
        }

        Ok(Inquiry {
            email,
            contact: Contact {
                first_name: single_line(known!("first_name"))?,
                last_name: single_line(known!("last_name"))?,
                company: single_line(known!("company"))?,
                title: single_line(known!("title"))?,
                phone,
                country,
                region: single_line(known!("region"))?,
                industry: single_line(known!("industry"))?,
                company_size: single_line(known!("company_size"))?,
            },
            request_type,
            interest: single_line(known!("interest"))?,
            message: text(known!("message"), limits::MESSAGE)?,
            attribution: Attribution {
                source,
                campaign: single_line(known!("campaign"))?,
                utm_source: single_line(known!("utm_source"))?,
                utm_medium: single_line(known!("utm_medium"))?,
                utm_campaign: single_line(known!("utm_campaign"))?,
                utm_term: single_line(known!("utm_term"))?,
                utm_content: single_line(known!("utm_content"))?,
            },
            consent_email,
            bant: answers,
            custom,
        })
    }

    /// Flatten a JSON object into (name, value) pairs; nested values are refused.
    pub fn fields_from_json(
        value: &serde_json::Value,
    ) -> Result<Vec<(String, String)>, InquiryError> {
        let obj = value.as_object().ok_or_else(|| {
            InquiryError::new("malformed_body", "", "the body must be a JSON object")
        })?;
        let mut out = Vec::with_capacity(obj.len());
        for (k, v) in obj {
            let s = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(InquiryError::new(
                        "invalid_value",
                        k,
                        "must be a string, number or boolean",
                    ))
                }
            };
            out.push((k.clone(), s));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attribution_cloned_into_another_is_equal_to_it() {
        let some = |t: &str| Some(t.to_string());
        let full = Attribution {
            source: Some(Source::Event),
            campaign: some("spring"),
            utm_source: some("news"),
            utm_medium: some("email"),
            utm_campaign: some("launch"),
            utm_term: some("crm"),
            utm_content: some("banner"),
        };
        let other = Attribution {
            source: Some(Source::Web),
            campaign: some("a much longer campaign name than spring"),
            utm_term: some("x"),
            ..Attribution::default()
        };
        for (into, from) in [
            (other.clone(), full.clone()),
            (full.clone(), other.clone()),
            (full.clone(), Attribution::default()),
            (Attribution::default(), full.clone()),
        ] {
            let mut into = into;
            into.clone_from(&from);
            assert_eq!(into, from);
        }
    }

    #[test]
    fn consent_is_read_from_its_words_in_any_case_and_refused_otherwise() {
        let bant = crate::Playbook::default_playbook().unwrap().bant;
        let consent = |v: &str| {
            Inquiry::parse(&[("email", "a@example.com"), ("consent_email", v)], &bant)
                .map(|i| i.consent_email)
        };
        for yes in ["true", "ON", "Yes", "1", " yes "] {
            assert_eq!(consent(yes), Ok(Some(true)), "{yes}");
        }
        for no in ["false", "Off", "NO", "0"] {
            assert_eq!(consent(no), Ok(Some(false)), "{no}");
        }
        assert_eq!(consent(""), Ok(None));
        let refused = consent("maybe").unwrap_err();
        assert_eq!(
            (refused.code, refused.field.as_str()),
            ("invalid_value", "consent_email")
        );
    }

    #[test]
    fn the_country_list_is_sorted_and_every_known_field_has_its_slot() {
        let codes: Vec<&str> = ISO_3166_ALPHA2.split(' ').collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(codes.iter().all(|c| Country::parse(c).is_some()));
        assert!(Country::parse("XX").is_none() && Country::parse("ZZ").is_none());
        for (i, name) in KNOWN_FIELDS.iter().enumerate() {
            assert_eq!(known_field(name), Some(i), "{name}");
        }
        assert_eq!(known_field("redirect"), None);
    }
}
