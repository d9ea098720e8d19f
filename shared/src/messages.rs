//! The bodies of the queue messages that join the stages.

use crate::domain::ids::{LeadId, MessageId, ResponseId};
use crate::ports::{OutboxMessage, Queue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// On the routing queue: a response was recorded; qualify, route and assign the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    pub lead_id: LeadId,
    pub response_id: ResponseId,
}

/// On the fulfillment queue: the lead was routed; email the prospect and/or the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulfillRequest {
    pub lead_id: LeadId,
    pub response_id: ResponseId,
    /// Which emails this message is for. Absent (messages written before the
    /// owner's package was split off) means both.
    #[serde(default, skip_serializing_if = "FulfillPart::is_both")]
    pub part: FulfillPart,
    /// A person handed the lead to a new owner (the history entry that did):
    /// the new owner gets the lead package, once per hand-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<String>,
}

/// The prospect's kit goes at once; the owner's package may wait for a burst of repeats to settle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfillPart {
    #[default]
    Both,
    Prospect,
    Owner,
}

impl FulfillPart {
    fn is_both(&self) -> bool {
        *self == FulfillPart::Both
    }
}

fn outbox<T: Serialize>(queue: Queue, body: &T, now: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage {
        id: MessageId::generate(),
        queue,
        // Serialising these plain structs cannot fail.
        body: serde_json::to_string(body).unwrap_or_default(),
        created_at: now,
        delay_seconds: 0,
    }
}

impl RouteRequest {
    pub fn to_outbox(&self, now: DateTime<Utc>) -> OutboxMessage {
        outbox(Queue::Routing, self, now)
    }
}

impl FulfillRequest {
    pub fn to_outbox(&self, now: DateTime<Utc>) -> OutboxMessage {
        outbox(Queue::Fulfillment, self, now)
    }

    /// The lead package for the owner a person just handed the lead to.
    pub fn handoff(
        lead_id: &LeadId,
        response_id: &ResponseId,
        entry: &crate::domain::ids::EventId,
        now: DateTime<Utc>,
    ) -> OutboxMessage {
        FulfillRequest {
            lead_id: lead_id.clone(),
            response_id: response_id.clone(),
            part: FulfillPart::Owner,
            handoff: Some(entry.to_string()),
        }
        .to_outbox(now)
    }

    /// The messages that fulfill a routed response: one for both emails, or the
    /// prospect's now and the owner's after `owner_delay_seconds`.
    pub fn for_response(
        lead_id: &LeadId,
        response_id: &ResponseId,
        owner_delay_seconds: u32,
        now: DateTime<Utc>,
    ) -> Vec<OutboxMessage> {
        let req = |part| FulfillRequest {
            lead_id: lead_id.clone(),
            response_id: response_id.clone(),
            part,
            handoff: None,
        };
        if owner_delay_seconds == 0 {
            return vec![req(FulfillPart::Both).to_outbox(now)];
        }
        let mut owner = req(FulfillPart::Owner).to_outbox(now);
        owner.delay_seconds = owner_delay_seconds;
        vec![req(FulfillPart::Prospect).to_outbox(now), owner]
    }
}

/// On the email-events queue: SNS's envelope around an SES event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnsEnvelope {
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "MessageId", default)]
    pub message_id: String,
}

/// An SES event notification (the fields leadflow reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesEvent {
    #[serde(rename = "eventType", alias = "notificationType")]
    pub event_type: String,
    pub mail: SesMail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounce: Option<SesBounce>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<SesComplaint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub click: Option<SesClick>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesMail {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(default)]
    pub destination: Vec<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesRecipient {
    #[serde(rename = "emailAddress")]
    pub email_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesBounce {
    #[serde(rename = "bounceType")]
    pub bounce_type: String,
    #[serde(rename = "bouncedRecipients", default)]
    pub bounced_recipients: Vec<SesRecipient>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesComplaint {
    #[serde(rename = "complainedRecipients", default)]
    pub complained_recipients: Vec<SesRecipient>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SesClick {
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}
