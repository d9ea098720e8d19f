//! The other ports as test doubles: a publisher, a mailer and a consumer's
//! queues that record what they were asked (and can fail), a fixed clock,
//! fixed dead-letter depths; and `routed_lead`, a lead as the pipeline leaves it.

use super::*;
use std::sync::Arc;

/// Records what was published; can be told to fail.
#[derive(Debug, Default, Clone)]
pub struct MemoryPublisher {
    published: Arc<Mutex<Vec<OutboxMessage>>>,
    fail: Arc<Mutex<usize>>,
}

impl MemoryPublisher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn fail_next(&self, n: usize) {
        if let Ok(mut f) = self.fail.lock() {
            *f = n;
        }
    }
    pub fn published(&self) -> Vec<OutboxMessage> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }
    pub fn take(&self) -> Vec<OutboxMessage> {
        self.published
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

impl Publisher for MemoryPublisher {
    async fn publish(&self, message: &OutboxMessage) -> Result<(), PublishError> {
        if let Ok(mut f) = self.fail.lock() {
            if *f > 0 {
                *f -= 1;
                return Err(PublishError("injected fault".into()));
            }
        }
        if let Ok(mut p) = self.published.lock() {
            p.push(message.clone());
        }
        Ok(())
    }
}

/// Records what was sent; can be told to fail.
#[derive(Debug, Default, Clone)]
pub struct MemoryMailer {
    sent: Arc<Mutex<Vec<OutgoingEmail>>>,
    fail: Arc<Mutex<Option<MailError>>>,
}

impl MemoryMailer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn fail_next(&self, e: MailError) {
        if let Ok(mut f) = self.fail.lock() {
            *f = Some(e);
        }
    }
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Mailer for MemoryMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if let Some(e) = self.fail.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| MailError::Unavailable("poisoned".into()))?;
        sent.push(email.clone());
        Ok(format!("mem-{}", sent.len()))
    }
}

/// Records what a consumer buried or deferred.
#[derive(Debug, Default, Clone)]
pub struct MemoryBatchQueues {
    buried: Arc<Mutex<Vec<(String, String)>>>,
    deferred: Arc<Mutex<Vec<(String, std::time::Duration)>>>,
    max_receives: Option<u32>,
}

impl MemoryBatchQueues {
    pub fn new() -> Self {
        Self::default()
    }
    /// As a queue whose redrive policy moves a message after `n` receives.
    pub fn with_max_receives(n: u32) -> Self {
        Self {
            max_receives: Some(n),
            ..Self::default()
        }
    }
    /// (body, reason) of each message sent to the dead-letter queue.
    pub fn buried(&self) -> Vec<(String, String)> {
        self.buried.lock().map(|b| b.clone()).unwrap_or_default()
    }
    pub fn deferred(&self) -> Vec<(String, std::time::Duration)> {
        self.deferred.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl BatchQueues for MemoryBatchQueues {
    async fn bury(&self, body: &str, reason: &str) -> Result<(), PublishError> {
        if let Ok(mut b) = self.buried.lock() {
            b.push((body.to_string(), reason.to_string()));
        }
        Ok(())
    }
    async fn defer(&self, body: &str, delay: std::time::Duration) -> Result<(), PublishError> {
        if let Ok(mut d) = self.deferred.lock() {
            d.push((body.to_string(), delay));
        }
        Ok(())
    }
    fn max_receives(&self) -> Option<u32> {
        self.max_receives
    }
}

/// A clock that says what it is told.
#[derive(Debug, Clone)]
pub struct FixedClock(pub Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(t: DateTime<Utc>) -> Self {
        FixedClock(Arc::new(Mutex::new(t)))
    }
    pub fn advance(&self, d: chrono::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += d;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|p| *p.into_inner())
    }
}

/// Intake then routing, as the pipeline does, for a lead posted with these
/// form fields: its id. (Handler tests of the later stages start here.)
pub async fn routed_lead<S: LeadStore>(
    store: &S,
    playbook: &crate::Playbook,
    now: DateTime<Utc>,
    fields: &[(&str, &str)],
) -> LeadId {
    let publisher = MemoryPublisher::new();
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let inquiry = crate::Inquiry::parse(&fields, &playbook.bant).expect("a valid inquiry");
    let sub = crate::app::intake::Submission::new(inquiry);
    let accepted = crate::app::intake::submit(store, &publisher, now, sub)
        .await
        .expect("recorded");
    let req: crate::messages::RouteRequest =
        serde_json::from_str(&publisher.take()[0].body).expect("a routing message");
    crate::app::route::route_lead(store, &publisher, playbook, now, &req)
        .await
        .expect("routed");
    accepted.lead_id
}

/// Dead-letter queues of fixed depths.
#[derive(Debug, Clone, Default)]
pub struct FixedDeadLetters(pub Vec<crate::domain::reports::QueueDepth>);

impl DeadLetters for FixedDeadLetters {
    async fn depths(&self) -> Vec<crate::domain::reports::QueueDepth> {
        self.0.clone()
    }
}
