//! What the proxy counted: requests by caller, service and operation, with the
//! DynamoDB units, the SQS billed requests and the SES emails they cost; and
//! the Lambda invocations the local stack made.

use std::collections::BTreeMap;
use std::time::Duration;

/// A service's operation (`dynamodb` `PutItem`, `sqs` `SendMessage`, `ses` `SendRawEmail`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    pub service: String,
    pub operation: String,
}

/// What one caller's requests of one operation cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperationUsage {
    pub requests: u64,
    /// SQS bills each 64 KB chunk of a request's payload as one request.
    pub billed_requests: u64,
    pub read_units: f64,
    pub write_units: f64,
    /// SES bills each recipient of a message.
    pub emails: u64,
}

impl OperationUsage {
    pub fn add(&mut self, other: &OperationUsage) {
        self.requests += other.requests;
        self.billed_requests += other.billed_requests;
        self.read_units += other.read_units;
        self.write_units += other.write_units;
        self.emails += other.emails;
    }
}

/// A function's invocations and the time they took (locally).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Invocations {
    pub count: u64,
    pub duration: Duration,
}

/// Everything counted since the stack started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// By caller (a function's logical id, or `EventSourceMapping` for the SQS
    /// pollers), then by operation.
    pub calls: BTreeMap<String, BTreeMap<Operation, OperationUsage>>,
    /// By function logical id.
    pub invocations: BTreeMap<String, Invocations>,
}

impl Usage {
    /// One caller's usage summed over its operations, or every caller's (`None`),
    /// restricted to the operations `keep` accepts.
    pub fn total(&self, caller: Option<&str>, keep: impl Fn(&Operation) -> bool) -> OperationUsage {
        let mut sum = OperationUsage::default();
        for (who, ops) in &self.calls {
            if caller.is_some_and(|c| c != who) {
                continue;
            }
            for (op, usage) in ops {
                if keep(op) {
                    sum.add(usage);
                }
            }
        }
        sum
    }

    /// Usage since `earlier` (a snapshot of the same stack).
    pub fn since(&self, earlier: &Usage) -> Usage {
        let mut calls = BTreeMap::new();
        for (who, ops) in &self.calls {
            let mut out = BTreeMap::new();
            for (op, u) in ops {
                let before = earlier
                    .calls
                    .get(who)
                    .and_then(|o| o.get(op))
                    .copied()
                    .unwrap_or_default();
                let d = OperationUsage {
                    requests: u.requests - before.requests,
                    billed_requests: u.billed_requests - before.billed_requests,
                    read_units: u.read_units - before.read_units,
                    write_units: u.write_units - before.write_units,
                    emails: u.emails - before.emails,
                };
                if d.requests > 0 {
                    out.insert(op.clone(), d);
                }
            }
            if !out.is_empty() {
                calls.insert(who.clone(), out);
            }
        }
        let invocations = self
            .invocations
            .iter()
            .filter_map(|(f, i)| {
                let before = earlier.invocations.get(f).copied().unwrap_or_default();
                (i.count > before.count).then(|| {
                    (
                        f.clone(),
                        Invocations {
                            count: i.count - before.count,
                            duration: i.duration.saturating_sub(before.duration),
                        },
                    )
                })
            })
            .collect();
        Usage { calls, invocations }
    }
}
