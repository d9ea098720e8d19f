//! Identifiers. ULIDs: unique without coordination and sortable by creation time.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, next_ulid()))
            }

            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                let rest = raw
                    .strip_prefix($prefix)
                    .ok_or(InvalidId(stringify!($name)))?;
                ulid::Ulid::from_string(rest).map_err(|_| InvalidId(stringify!($name)))?;
                Ok(Self(raw.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Monotonic within the process, so two events of one lead in the same
/// millisecond keep the order they happened in.
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    GENERATOR
        .lock()
        .ok()
        .and_then(|mut g| g.generate().ok())
        .unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {0}")]
pub struct InvalidId(pub &'static str);

id_type!(
    /// One person (one normalised email address).
    LeadId,
    "ld_"
);
id_type!(
    /// One inquiry post: a lead has one response per post.
    ResponseId,
    "rs_"
);
id_type!(
    /// One message in the transactional outbox.
    MessageId,
    "msg_"
);
id_type!(
    /// One entry in a lead's history.
    EventId,
    "ev_"
);
id_type!(
    /// One task of a rep's (a call to make, a demo to schedule).
    TaskId,
    "tk_"
);
id_type!(
    /// One post the spam guard held in quarantine.
    SpamId,
    "sp_"
);

impl SpamId {
    /// A new id for a post held at `at` (its time is the id's: the
    /// partition and the order the quarantine lists it in).
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            ulid::Ulid::from_datetime(std::time::SystemTime::from(at))
        ))
    }

    /// The UTC day it was held on (the ULID's time): its quarantine partition.
    pub fn day(&self) -> chrono::NaiveDate {
        let ms = self
            .0
            .strip_prefix(Self::PREFIX)
            .and_then(|u| ulid::Ulid::from_string(u).ok())
            .map_or(0, |u| u.timestamp_ms());
        chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0))
            .unwrap_or_default()
            .date_naive()
    }
}
id_type!(
    /// One lead export written as a file.
    ExportId,
    "ex_"
);

impl ExportId {
    /// A new id for an export started at `at`.
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            ulid::Ulid::from_datetime(std::time::SystemTime::from(at))
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_foreign_ones_do_not() {
        let id = LeadId::generate();
        assert_eq!(LeadId::parse(id.as_str()).unwrap(), id);
        assert!(LeadId::parse("rs_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_err());
        assert!(LeadId::parse("ld_not-a-ulid").is_err());
        assert!(ResponseId::parse("rs_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_ok());
    }
}
