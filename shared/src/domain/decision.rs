//! What the router decides for a lead, as data: the stage, the route, the
//! owner, the score, and the decision with its reasons. The rules that make
//! these are in [`super::routing`].

use super::bant::Criterion;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// The seed 000 stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Inquiry,
    Lead,
    Opportunity,
    QualifiedOpportunity,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Inquiry => "inquiry",
            Stage::Lead => "lead",
            Stage::Opportunity => "opportunity",
            Stage::QualifiedOpportunity => "qualified_opportunity",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Stage::Inquiry => "Inquiry",
            Stage::Lead => "Lead",
            Stage::Opportunity => "Opportunity",
            Stage::QualifiedOpportunity => "Qualified opportunity",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seed 003 route categories, plus `dead` for no further interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Hot,
    HighPotential,
    NeedInformation,
    LowPotential,
    Partner,
    NeedNurturing,
    Dead,
}

impl Route {
    pub const ALL: [Route; 7] = [
        Route::Hot,
        Route::HighPotential,
        Route::NeedInformation,
        Route::LowPotential,
        Route::Partner,
        Route::NeedNurturing,
        Route::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Hot => "hot",
            Route::HighPotential => "high_potential",
            Route::NeedInformation => "need_information",
            Route::LowPotential => "low_potential",
            Route::Partner => "partner",
            Route::NeedNurturing => "need_nurturing",
            Route::Dead => "dead",
        }
    }

    /// How far along the value chain the route is: field sales and partners
    /// highest, the dead file lowest. A form may move a lead up, never down.
    pub fn value(self) -> u8 {
        match self {
            Route::Hot | Route::Partner => 5,
            Route::HighPotential => 4,
            Route::NeedInformation => 3,
            Route::LowPotential => 2,
            Route::NeedNurturing => 1,
            Route::Dead => 0,
        }
    }

    /// The channel seed 003 sends this category to.
    pub fn channel(self) -> &'static str {
        match self {
            Route::Hot => "sales now",
            Route::HighPotential => "inside sales / call center",
            Route::NeedInformation => "inside sales to complete the profile, then re-score",
            Route::LowPotential => "self-serve / web purchasing",
            Route::Partner => "partner",
            Route::NeedNurturing => "automated nurture emails",
            Route::Dead => "dead file",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds the lead: a person, or a queue worked by a team or a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    Rep {
        id: String,
        name: String,
        email: String,
    },
    Queue {
        name: String,
        label: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
}

impl Owner {
    /// The key the `by_owner` index groups leads by.
    pub fn key(&self) -> String {
        match self {
            Owner::Rep { id, .. } => format!("rep#{id}"),
            Owner::Queue { name, .. } => format!("queue#{name}"),
        }
    }
    pub fn display_name(&self) -> &str {
        match self {
            Owner::Rep { name, .. } => name,
            Owner::Queue { label, .. } => label,
        }
    }
    pub fn email(&self) -> Option<&str> {
        match self {
            Owner::Rep { email, .. } => Some(email),
            Owner::Queue { email, .. } => email.as_deref(),
        }
    }
}

/// How many criteria are met and what stage that makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qualification {
    pub met: Vec<Criterion>,
    pub stage: Stage,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteDecision {
    pub route: Route,
    pub rule: String,
    pub reason: String,
}

/// The outcome of assignment, and what it consumed of the pool's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub owner: Owner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    pub reason: String,
    #[serde(skip)]
    pub cursor: Option<CursorAdvance>,
}

/// Round-robin state of a pool: the cursor moves from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorAdvance {
    pub pool: String,
    pub from: u64,
    pub to: u64,
}

/// What assignment needs to know of a pool: its turn, and each rep's open leads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolState {
    pub cursor: u64,
    pub loads: BTreeMap<String, u64>,
}

/// Everything the router decides for a lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub bant_met: Vec<Criterion>,
    pub stage: Stage,
    pub score: Score,
    pub route: Route,
    pub rule: String,
    pub owner: Owner,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// When the owner must have followed up, from the route's SLA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_by: Option<DateTime<Utc>>,
    pub decided_at: DateTime<Utc>,
    /// One line per decision: stage, score, route, owner.
    pub reasons: Vec<String>,
    #[serde(skip)]
    pub cursor: Option<CursorAdvance>,
}

impl Decision {
    pub fn summary(&self) -> String {
        self.reasons.join("; ")
    }

    /// How reps' open-lead counts change when the lead passes from `previous` to this owner.
    pub fn load_changes(&self, previous: Option<&Owner>) -> Vec<(String, i64)> {
        let rep = |o: Option<&Owner>| match o {
            Some(Owner::Rep { id, .. }) => Some(id.clone()),
            _ => None,
        };
        let (before, after) = (rep(previous), rep(Some(&self.owner)));
        if before == after {
            return Vec::new();
        }
        after
            .map(|r| (r, 1))
            .into_iter()
            .chain(before.map(|r| (r, -1)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// explicit + fit + behaviour, rounded.
    pub total: i64,
    pub explicit: f64,
    pub fit: f64,
    pub behaviour: f64,
    pub at: DateTime<Utc>,
    /// What contributed, largest first: "budget defined_fits +25".
    pub reasons: Vec<String>,
}

impl Score {
    pub fn summary(&self) -> String {
        let mut out = String::with_capacity(160);
        out.push_str("score ");
        write_int(&mut out, self.total, false);
        out.push_str(" (explicit ");
        write_number(&mut out, round1(self.explicit), false);
        out.push_str(", fit ");
        write_number(&mut out, round1(self.fit), false);
        out.push_str(", behaviour ");
        write_number(&mut out, round1(self.behaviour), false);
        out.push(')');
        for (i, reason) in self.reasons.iter().take(4).enumerate() {
            out.push_str(if i == 0 { ": " } else { ", " });
            out.push_str(reason);
        }
        out
    }
}

/// A reason line from its pieces, with room for a number or two after them:
/// one allocation, none of `format!`'s machinery (reasons are built for
/// every decision; the simulator makes hundreds of thousands a second).
pub(crate) fn concat(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum::<usize>() + 24);
    for p in pieces {
        out.push_str(p);
    }
    out
}

/// Appends `n` as `{}` (or `{:+}` with `sign`) would.
pub(crate) fn write_int(out: &mut String, n: i64, sign: bool) {
    if n < 0 {
        out.push('-');
    } else if sign {
        out.push('+');
    }
    let mut digits = [0u8; 20];
    out.extend(
        decimal(n.unsigned_abs(), &mut digits)
            .iter()
            .map(|&d| char::from(d)),
    );
}

/// `n`'s decimal digits (ASCII), written at the end of `buf`.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Appends `x` as `{}` (or `{:+}` with `sign`) would: whole numbers and
/// tenths (what [`round1`] leaves) without the float formatter, which is
/// several times dearer.
pub(crate) fn write_number(out: &mut String, x: f64, sign: bool) {
    // Below 2^53 a whole f64 is printed as its integer; -0.0 keeps its sign.
    if x == x.trunc() && x.abs() < 9.0e15 && !(x == 0.0 && x.is_sign_negative()) {
        write_int(out, x as i64, sign);
        return;
    }
    // The f64 nearest to k/10 prints as k/10 with one decimal: that string
    // reads back as x, and no shorter one does while doubles lie closer
    // together than a tenth (|x| below 2^49).
    let tenths = (x * 10.0).round();
    if x != 0.0 && tenths.abs() < 1e14 && tenths / 10.0 == x {
        let tenths = tenths as i64;
        if tenths < 0 {
            out.push('-');
        } else if sign {
            out.push('+');
        }
        write_int(out, (tenths / 10).abs(), false);
        out.push('.');
        out.push(char::from(b'0' + (tenths % 10).unsigned_abs() as u8));
    } else if sign {
        let _ = write!(out, "{x:+}");
    } else {
        let _ = write!(out, "{x}");
    }
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod number_tests {
    use super::{round1, write_int, write_number};

    #[test]
    fn integers_are_written_as_the_formatter_writes_them() {
        for n in [0, 1, -1, 9, 10, 4711, -250, i64::MAX, i64::MIN] {
            for sign in [false, true] {
                let mut out = String::new();
                write_int(&mut out, n, sign);
                let want = if sign {
                    format!("{n:+}")
                } else {
                    format!("{n}")
                };
                assert_eq!(out, want);
            }
        }
    }

    #[test]
    fn numbers_are_written_as_the_float_formatter_writes_them() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            25.0,
            4.9,
            -0.1,
            0.05,
            1e15,
            9.0e15,
            1e16,
            -3.5,
            1e-7,
            123456.7,
            -0.7,
            -12.3,
            0.30000000000000004,
            99999999999999.9,
            f64::NAN,
            f64::INFINITY,
        ]
        .into_iter()
        .chain((-2000..2000).map(|k| round1(k as f64 * 0.37)))
        .chain((-300..300).map(|k| k as f64 / 10.0))
        {
            for sign in [false, true] {
                let mut out = String::new();
                write_number(&mut out, x, sign);
                let want = if sign {
                    format!("{x:+}")
                } else {
                    format!("{x}")
                };
                assert_eq!(out, want, "{x}");
            }
        }
    }
}
