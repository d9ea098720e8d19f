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

/// On the fulfillment queue: the lead was routed; email the prospect and the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulfilRequest {
    pub lead_id: LeadId,
    pub response_id: ResponseId,
}

fn outbox<T: Serialize>(queue: Queue, body: &T, now: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage {
        id: MessageId::generate(),
        queue,
        // Serialising these plain structs cannot fail.
        body: serde_json::to_string(body).unwrap_or_default(),
        created_at: now,
    }
}

impl RouteRequest {
    pub fn to_outbox(&self, now: DateTime<Utc>) -> OutboxMessage {
        outbox(Queue::Routing, self, now)
    }
}

impl FulfilRequest {
    pub fn to_outbox(&self, now: DateTime<Utc>) -> OutboxMessage {
        outbox(Queue::Fulfillment, self, now)
    }
}
