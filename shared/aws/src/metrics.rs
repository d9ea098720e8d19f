//! CloudWatch metrics in the Embedded Metric Format (EMF): one JSON line on
//! stdout per emission, which CloudWatch Logs turns into metrics — no
//! `PutMetricData` call, no SDK, nothing on the request's path but a write.
//!
//! ```json
//! {"_aws":{"Timestamp":1796198400000,"CloudWatchMetrics":[{"Namespace":"Leadflow",
//!   "Dimensions":[["Stack","Route"]],"Metrics":[{"Name":"FirstTouchMinutes","Unit":"None"}]}]},
//!  "Stack":"leadflow-prod","Route":"hot","FirstTouchMinutes":12.0}
//! ```
//!
//! (One line; wrapped here.) The format is CloudWatch's, so this lives with
//! the adapters, not in the domain crate; it needs no SDK and no feature.
//!
//! # Emitting
//!
//! ```
//! use leadflow_aws::metrics::{Emf, Unit};
//! # let now = chrono::Utc::now();
//! // The stack's namespace (`METRICS_NAMESPACE`, else `Leadflow`) and its
//! // `Stack` dimension (`STACK_NAME`, which template.yaml's Globals set):
//! Emf::leadflow()
//!     .dimension("Route", "hot")
//!     .value("FirstTouchMinutes", 12.0, Unit::None)
//!     .emit(now);
//! ```
//!
//! - `dimension(name, value)` is in every dimension set of the emission;
//! - `by(name, value)` adds a dimension set of its own (the common dimensions
//!   plus this one), so one line counts a lead by route *and* by stage;
//!   `and_total()` adds the set of the common dimensions alone;
//! - `count(name, n)` is `value(name, n, Unit::Count)`;
//! - `emit(now)` writes the line; `now` is the event's time or the handler's
//!   clock, never a hidden `Utc::now()` here. It writes only inside a Lambda
//!   runtime (AWS's or the local stack's: `AWS_LAMBDA_RUNTIME_API` is set);
//!   `document(now)` and `line(now)` return the emission instead, for tests.
//!
//! Dimension values must come from closed vocabularies (a route, a stage, an
//! email kind), never from what a visitor typed: each distinct value is a
//! metric CloudWatch bills for.
//!
//! # Logs
//!
//! The functions' logs (`init_tracing`) are JSON lines on stdout too. An
//! emission is written whole, newline included, in one `write_all` under
//! stdout's lock — as tracing's formatter writes each of its records — so the
//! two never interleave within a line, and an EMF line is never wrapped in a
//! log record (CloudWatch only reads `_aws` at a line's top level).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Number, Value};
use std::io::Write;
use std::sync::OnceLock;

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "Leadflow";
/// The environment variable naming the namespace.
pub const NAMESPACE_VAR: &str = "METRICS_NAMESPACE";
/// The environment variable whose value is the `Stack` dimension.
pub const STACK_VAR: &str = "STACK_NAME";
/// The dimension every emission of [`Emf::leadflow`] carries: the stack's name,
/// so two deployments in one account never add up.
pub const STACK_DIMENSION: &str = "Stack";

/// Set by Lambda (and by the local stack for the functions it runs) for the
/// process that serves invocations. Without it nothing reads stdout for
/// metrics — a test, an operator's tool — so [`Emf::emit`] writes nothing
/// there (tests check [`Emf::document`] instead; a direct write to stdout
/// would escape the test harness's capture).
pub const RUNTIME_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// CloudWatch's units (the ones we use and their neighbours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
    Microseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Percent,
    CountPerSecond,
    /// A number without a unit (minutes have no CloudWatch unit of their own).
    None,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Microseconds => "Microseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Percent => "Percent",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }
}

/// One emission: a namespace, its dimension sets and their values, metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Emf {
    namespace: String,
    /// In every dimension set.
    common: Vec<(String, String)>,
    /// Each adds a set: the common dimensions plus this one.
    by: Vec<(String, String)>,
    total: bool,
    metrics: Vec<(String, Number, Unit)>,
}

impl Emf {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            common: Vec::new(),
            by: Vec::new(),
            total: false,
            metrics: Vec::new(),
        }
    }

    /// The functions' emission: the namespace `METRICS_NAMESPACE` names (else
    /// `Leadflow`) and, when `STACK_NAME` is set, the `Stack` dimension. Both
    /// are read once per process.
    pub fn leadflow() -> Self {
        static STACK: OnceLock<(String, Option<String>)> = OnceLock::new();
        let (namespace, stack) = STACK.get_or_init(|| {
            (
                crate::env_opt(NAMESPACE_VAR).unwrap_or_else(|| DEFAULT_NAMESPACE.into()),
                crate::env_opt(STACK_VAR),
            )
        });
        let emf = Self::new(namespace.clone());
        match stack {
            Some(stack) => emf.dimension(STACK_DIMENSION, stack.clone()),
            None => emf,
        }
    }

    /// A dimension of every set. An empty value is left out (CloudWatch refuses it).
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.common.push((name.into(), value));
        }
        self
    }

    /// A dimension set of its own: the common dimensions plus this one.
    pub fn by(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.by.push((name.into(), value));
        }
        self
    }

    /// With [`Emf::by`]: also the set of the common dimensions alone (the total).
    pub fn and_total(mut self) -> Self {
        self.total = true;
        self
    }

    /// A metric. A value that is not finite is left out (JSON has no NaN).
    pub fn value(mut self, name: impl Into<String>, value: f64, unit: Unit) -> Self {
        if let Some(n) = Number::from_f64(value) {
            self.metrics.push((name.into(), n, unit));
        }
        self
    }

    /// A count (`Unit::Count`), written as a whole number.
    pub fn count(mut self, name: impl Into<String>, n: u64) -> Self {
        self.metrics.push((name.into(), n.into(), Unit::Count));
        self
    }

    /// The dimension sets, by name.
    fn dimension_sets(&self) -> Vec<Vec<&str>> {
        let common: Vec<&str> = self.common.iter().map(|(n, _)| n.as_str()).collect();
        let mut sets: Vec<Vec<&str>> = self
            .by
            .iter()
            .map(|(n, _)| {
                let mut set = common.clone();
                set.push(n.as_str());
                set
            })
            .collect();
        if sets.is_empty() || self.total {
            sets.push(common);
        }
        sets
    }

    /// The EMF document, as JSON. `None` when there is no metric to emit.
    pub fn document(&self, now: DateTime<Utc>) -> Option<Value> {
        if self.metrics.is_empty() {
            return None;
        }
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": now.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": self.dimension_sets(),
                    "Metrics": metrics,
                }],
            }),
        );
        for (name, value) in self.common.iter().chain(&self.by) {
            doc.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, value, _) in &self.metrics {
            doc.insert(name.clone(), Value::Number(value.clone()));
        }
        Some(Value::Object(doc))
    }

    /// The line [`Emf::emit`] writes, newline included.
    pub fn line(&self, now: DateTime<Utc>) -> Option<String> {
        self.document(now).map(|doc| format!("{doc}\n"))
    }

    /// Writes the emission to stdout as one line (nothing when it has no
    /// metric, or outside a Lambda runtime: see [`RUNTIME_VAR`]).
    pub fn emit(&self, now: DateTime<Utc>) {
        static IN_LAMBDA: OnceLock<bool> = OnceLock::new();
        if !*IN_LAMBDA.get_or_init(|| crate::env_opt(RUNTIME_VAR).is_some()) {
            return;
        }
        if let Some(line) = self.line(now) {
            let mut out = std::io::stdout().lock();
            // Losing a data point must never fail the work it measures.
            let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap()
    }

    #[test]
    fn one_dimension_set_exactly_as_cloudwatch_reads_it() {
        let line = Emf::new("Leadflow")
            .dimension("Stack", "leadflow-prod")
            .dimension("Route", "hot")
            .value("FirstTouchMinutes", 12.5, Unit::None)
            .line(now())
            .unwrap();
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_796_198_400_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Leadflow",
                        "Dimensions": [["Stack", "Route"]],
                        "Metrics": [{"Name": "FirstTouchMinutes", "Unit": "None"}],
                    }],
                },
                "Stack": "leadflow-prod",
                "Route": "hot",
                "FirstTouchMinutes": 12.5,
            })
        );
    }

    #[test]
    fn one_line_counts_by_route_by_stage_and_in_all() {
        let doc = Emf::new("Leadflow")
            .dimension("Stack", "s")
            .by("Route", "hot")
            .by("Stage", "lead")
            .and_total()
            .count("LeadsRouted", 1)
            .document(now())
            .unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stack", "Route"], ["Stack", "Stage"], ["Stack"]])
        );
        assert_eq!(doc["Route"], "hot");
        assert_eq!(doc["Stage"], "lead");
        // A count is a whole number.
        assert_eq!(doc["LeadsRouted"].to_string(), "1");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "LeadsRouted", "Unit": "Count"}])
        );
    }

    #[test]
    fn without_dimensions_the_set_is_empty_and_several_metrics_share_a_line() {
        let doc = Emf::new("N")
            .count("A", 0)
            .value("B", 1.5, Unit::Seconds)
            .document(now())
            .unwrap();
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "A", "Unit": "Count"}, {"Name": "B", "Unit": "Seconds"}])
        );
        assert_eq!(doc["A"], 0);
        assert_eq!(doc["B"], 1.5);
    }

    #[test]
    fn nothing_to_say_is_no_line_and_bad_values_are_left_out() {
        assert_eq!(Emf::new("N").dimension("Route", "hot").line(now()), None);
        assert_eq!(
            Emf::new("N").value("X", f64::NAN, Unit::None).line(now()),
            None
        );
        let doc = Emf::new("N")
            .dimension("Route", "")
            .by("Stage", "")
            .count("A", 2)
            .document(now())
            .unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
        assert!(doc.get("Route").is_none());
    }

    #[test]
    fn the_functions_namespace_defaults_to_leadflow() {
        // The test process sets neither variable.
        if std::env::var(NAMESPACE_VAR).is_err() && std::env::var(STACK_VAR).is_err() {
            let doc = Emf::leadflow().count("A", 1).document(now()).unwrap();
            assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Leadflow");
        }
    }
}

/// What an emission says, for tests to compare: its dimension sets (less the
/// `Stack` each carries when `STACK_NAME` is set) and its metrics with their
/// values. One copy for every function's tests.
pub mod shape {
    use serde_json::Value;

    /// Dimension sets, and `(metric, value)` pairs.
    pub type Shape = (Vec<Vec<String>>, Vec<(String, Value)>);

    /// The shape of one EMF document (panics on a document that is not one:
    /// for tests).
    pub fn emf_shape(doc: &Value) -> Shape {
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Leadflow");
        let sets = directive["Dimensions"]
            .as_array()
            .expect("Dimensions")
            .iter()
            .map(|set| {
                set.as_array()
                    .expect("a dimension set")
                    .iter()
                    .filter_map(|d| d.as_str().filter(|d| *d != "Stack").map(String::from))
                    .collect()
            })
            .collect();
        let metrics = directive["Metrics"]
            .as_array()
            .expect("Metrics")
            .iter()
            .map(|m| {
                let name = m["Name"].as_str().expect("a metric name").to_string();
                (name.clone(), doc[&name].clone())
            })
            .collect();
        (sets, metrics)
    }

    pub fn sets(sets: &[&[&str]]) -> Vec<Vec<String>> {
        sets.iter()
            .map(|s| s.iter().map(|d| d.to_string()).collect())
            .collect()
    }

    pub fn counts(pairs: &[(&str, u64)]) -> Vec<(String, Value)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), serde_json::json!(v)))
            .collect()
    }
}
