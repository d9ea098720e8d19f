//! The routing queue consumer: qualify, route and assign each lead.
//! Partial batch responses: a failing message never fails its batch-mates.
//! Each lead routed counts in `LeadsRouted` (by route, by stage, in all).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use leadflow::app::route::{route_lead, RouteError, RouteOutcome};
use leadflow::domain::decision::Decision;
use leadflow::messages::RouteRequest;
use leadflow::ports::{BatchQueues, Clock, LeadStore, Publisher};
use leadflow::Playbook;
use leadflow_aws::metrics::Emf;
use leadflow_aws::sqs_batch::each_message;
use std::time::SystemTime;

pub struct Router<S, P, C, Q> {
    pub store: S,
    pub publisher: P,
    pub clock: C,
    /// The routing queue (to defer to) and its dead-letter queue.
    pub queues: Q,
    pub playbook: Playbook,
}

impl<S: LeadStore, P: Publisher, C: Clock, Q: BatchQueues> Router<S, P, C, Q> {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_until(event, None).await
    }

    /// Records not started by `deadline` (less a margin) are left for the next delivery.
    pub async fn handle_until(
        &self,
        event: SqsEvent,
        deadline: Option<SystemTime>,
    ) -> SqsBatchResponse {
        each_message(
            event,
            &self.queues,
            deadline,
            |req: RouteRequest| async move {
                let now = self.clock.now();
                match route_lead(&self.store, &self.publisher, &self.playbook, now, &req).await? {
                    RouteOutcome::Routed(d) => {
                        tracing::info!(
                            lead_id = %req.lead_id, stage = %d.stage, route = %d.route,
                            owner = %d.owner.display_name(), "routed"
                        );
                        routed(&d).emit(now);
                    }
                    RouteOutcome::AlreadyRouted => {
                        tracing::info!(lead_id = %req.lead_id, "duplicate delivery; already routed")
                    }
                }
                Ok::<_, RouteError>(())
            },
        )
        .await
    }
}

/// `LeadsRouted`: one lead, by route, by stage and in all (a duplicate
/// delivery routes nothing and counts nothing).
pub fn routed(decision: &Decision) -> Emf {
    Emf::leadflow()
        .by("Route", decision.route.as_str())
        .by("Stage", decision.stage.as_str())
        .and_total()
        .count("LeadsRouted", 1)
}
