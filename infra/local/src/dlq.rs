//! `leadflow dlq`: what sits in a stack's dead-letter queues and why, and
//! `leadflow dlq redrive`: putting it back on the queue it came from.
//!
//! The queues are found as CloudFormation and the local stack name them
//! (`<stack>-<LogicalId>[-suffix]`): every queue of the stack whose redrive
//! policy names a dead-letter queue gives the pair. So it works the same on
//! `make dev`'s emulator and on a deployed stack.
//!
//! Looking does not take: messages are received with a short visibility
//! timeout and made visible again at once. Redriving sends each message to
//! its source queue first and deletes it from the dead-letter queue only
//! then: a crash between the two leaves a copy in both, which is safe
//! because every consumer is idempotent (done-markers, send claims), and
//! nothing is ever lost.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use aws_sdk_sqs::Client;
use serde::Serialize;

/// A dead-letter queue and the queue whose failures it keeps.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadLetterQueue {
    /// Its name, e.g. `leadflow-dev-RoutingDeadLetterQueue`.
    pub name: String,
    pub url: String,
    /// The queue whose redrive policy sends here.
    pub source_name: String,
    pub source_url: String,
    /// The source's `maxReceiveCount`.
    pub max_receives: Option<u32>,
    /// `ApproximateNumberOfMessages` + `...NotVisible`.
    pub depth: u64,
}

/// One message in a dead-letter queue.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    /// Why it is here: the consumer's own words (the `failure` attribute) or,
    /// when SQS moved it, that it used up its receives.
    pub reason: String,
    /// When it was first sent to this queue (RFC 3339), when SQS says.
    pub sent_at: Option<String>,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DlqError(String);

fn fail(what: &str, e: impl std::fmt::Display) -> DlqError {
    DlqError(format!("{what}: {e}"))
}

/// The stack's dead-letter queues, by name.
pub async fn find(sqs: &Client, stack: &str) -> Result<Vec<DeadLetterQueue>, DlqError> {
    let prefix = format!("{stack}-");
    let mut urls = Vec::new();
    let mut next = None;
    loop {
        let out = sqs
            .list_queues()
            .queue_name_prefix(&prefix)
            .set_next_token(next)
            .max_results(1000)
            .send()
            .await
            .map_err(|e| match e {
                aws_sdk_sqs::error::SdkError::DispatchFailure(_)
                | aws_sdk_sqs::error::SdkError::TimeoutError(_) => {
                    DlqError("nothing answers there".into())
                }
                e => fail("listing the queues", DisplayErrorContext(e)),
            })?;
        urls.extend(out.queue_urls.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => break,
        }
    }
    let mut by_arn = BTreeMap::new();
    let mut attributes = BTreeMap::new();
    for url in &urls {
        let out = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| fail(url, DisplayErrorContext(e)))?;
        let attrs = out.attributes.unwrap_or_default();
        if let Some(arn) = attrs.get(&QueueAttributeName::QueueArn) {
            by_arn.insert(arn.clone(), url.clone());
        }
        attributes.insert(url.clone(), attrs);
    }
    let count = |url: &str, name: QueueAttributeName| -> u64 {
        attributes
            .get(url)
            .and_then(|a| a.get(&name))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let mut queues = Vec::new();
    for source_url in &urls {
        let Some(policy) = attributes[source_url].get(&QueueAttributeName::RedrivePolicy) else {
            continue;
        };
        let policy: serde_json::Value = serde_json::from_str(policy).unwrap_or_default();
        let Some(url) = policy["deadLetterTargetArn"]
            .as_str()
            .and_then(|arn| by_arn.get(arn))
        else {
            continue;
        };
        let max_receives = match &policy["maxReceiveCount"] {
            serde_json::Value::Number(n) => n.as_u64().map(|n| n as u32),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        };
        queues.push(DeadLetterQueue {
            name: queue_name(url),
            url: url.clone(),
            source_name: queue_name(source_url),
            source_url: source_url.clone(),
            max_receives,
            depth: count(url, QueueAttributeName::ApproximateNumberOfMessages)
                + count(
                    url,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                ),
        });
    }
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(queues)
}

/// The last path segment of a queue URL.
pub fn queue_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}

/// How long a message looked at stays hidden if this process dies before
/// making it visible again.
const LOOK_SECONDS: i32 = 20;

/// Up to `max` messages of `queue`, left where they are.
pub async fn peek(
    sqs: &Client,
    queue: &DeadLetterQueue,
    max: usize,
) -> Result<Vec<DeadLetter>, DlqError> {
    let mut seen = BTreeMap::new();
    let mut handles = Vec::new();
    let mut result = Ok(());
    while seen.len() < max {
        match receive(sqs, &queue.url, LOOK_SECONDS).await {
            Ok(messages) if messages.is_empty() => break,
            Ok(messages) => {
                let mut new = false;
                for m in messages {
                    handles.extend(m.receipt_handle.clone());
                    let letter = letter(&m, queue);
                    new |= seen.insert(letter.message_id.clone(), letter).is_none();
                }
                if !new {
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // Visible again for the next look or a redrive, whatever happened above.
    for chunk in handles.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        let _ = sqs
            .change_message_visibility_batch()
            .queue_url(&queue.url)
            .set_entries(Some(entries))
            .send()
            .await;
    }
    result?;
    let mut letters: Vec<DeadLetter> = seen.into_values().collect();
    letters.sort_by(|a, b| (&a.sent_at, &a.message_id).cmp(&(&b.sent_at, &b.message_id)));
    letters.truncate(max);
    Ok(letters)
}

async fn receive(sqs: &Client, url: &str, visibility: i32) -> Result<Vec<Message>, DlqError> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility)
        .wait_time_seconds(0)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| fail(url, DisplayErrorContext(e)))?;
    Ok(out.messages.unwrap_or_default())
}

fn letter(m: &Message, queue: &DeadLetterQueue) -> DeadLetter {
    let attrs = m.attributes.clone().unwrap_or_default();
    let failure = m
        .message_attributes
        .as_ref()
        .and_then(|a| a.get("failure"))
        .and_then(|v| v.string_value.clone());
    let reason = failure.unwrap_or_else(|| {
        format!(
            "used up its receives{} on {} (moved by the queue's redrive policy: the error is in \
             the consumer's log under message_id {})",
            queue
                .max_receives
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            queue.source_name,
            m.message_id.as_deref().unwrap_or("?"),
        )
    });
    let sent_at = attrs
        .get(&MessageSystemAttributeName::SentTimestamp)
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    DeadLetter {
        message_id: m.message_id.clone().unwrap_or_default(),
        reason,
        sent_at,
        body: m.body.clone().unwrap_or_default(),
    }
}

/// What one redrive did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Redriven {
    pub queue: String,
    pub to: String,
    pub moved: usize,
}

/// Moves up to `max` messages from `queue` back to its source queue: each is
/// sent there first and deleted here only after (never lost; a copy left by a
/// crash between the two is handled once by the idempotent consumer).
pub async fn redrive(
    sqs: &Client,
    queue: &DeadLetterQueue,
    max: usize,
) -> Result<Redriven, DlqError> {
    let mut done = Redriven {
        queue: queue.name.clone(),
        to: queue.source_name.clone(),
        moved: 0,
    };
    while done.moved < max {
        // Hidden long enough to be sent on and deleted; if this process dies,
        // they come back here, never lost.
        let messages = receive(sqs, &queue.url, 60).await?;
        if messages.is_empty() {
            break;
        }
        for m in messages.into_iter().take(max - done.moved) {
            let body = m.body.clone().unwrap_or_default();
            sqs.send_message()
                .queue_url(&queue.source_url)
                .message_body(body)
                .send()
                .await
                .map_err(|e| fail(&queue.source_name, DisplayErrorContext(e)))?;
            sqs.delete_message()
                .queue_url(&queue.url)
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .send()
                .await
                .map_err(|e| fail(&queue.name, DisplayErrorContext(e)))?;
            done.moved += 1;
        }
    }
    Ok(done)
}

/// The listing `leadflow dlq` prints.
pub fn render(listing: &[(DeadLetterQueue, Vec<DeadLetter>)]) -> String {
    let mut out = String::new();
    if listing.is_empty() {
        out.push_str("no dead-letter queues found (is the stack name right?)\n");
        return out;
    }
    for (queue, letters) in listing {
        let _ = writeln!(
            out,
            "{}  <- {}  {} message{}",
            queue.name,
            queue.source_name,
            queue.depth,
            if queue.depth == 1 { "" } else { "s" }
        );
        for l in letters {
            let _ = writeln!(
                out,
                "  {}  {}",
                l.message_id,
                l.sent_at.as_deref().unwrap_or("-")
            );
            let _ = writeln!(out, "    reason: {}", l.reason);
            let _ = writeln!(out, "    body:   {}", shorten(&l.body, 200));
        }
        if (queue.depth as usize) > letters.len() {
            let _ = writeln!(
                out,
                "  ... {} more not shown (--max)",
                queue.depth as usize - letters.len()
            );
        }
    }
    let total: u64 = listing.iter().map(|(q, _)| q.depth).sum();
    let _ = writeln!(
        out,
        "{total} message{} in {} dead-letter queue{}{}",
        if total == 1 { "" } else { "s" },
        listing.len(),
        if listing.len() == 1 { "" } else { "s" },
        if total > 0 {
            "; `leadflow dlq redrive` puts them back once the cause is fixed"
        } else {
            ""
        }
    );
    out
}

fn shorten(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_listing() {
        assert_eq!(
            queue_name("http://127.0.0.1:4566/123456789012/leadflow-dev-RoutingDeadLetterQueue"),
            "leadflow-dev-RoutingDeadLetterQueue"
        );
        let q = DeadLetterQueue {
            name: "s-RoutingDeadLetterQueue".into(),
            url: "u".into(),
            source_name: "s-RoutingQueue".into(),
            source_url: "v".into(),
            max_receives: Some(5),
            depth: 3,
        };
        let letter = DeadLetter {
            message_id: "m1".into(),
            reason: "malformed message: expected value".into(),
            sent_at: Some("2026-12-02T04:00:00Z".into()),
            body: "x\ny".repeat(150),
        };
        let out = render(&[(q.clone(), vec![letter])]);
        assert!(out.starts_with("s-RoutingDeadLetterQueue  <- s-RoutingQueue  3 messages\n"));
        assert!(out.contains("    reason: malformed message: expected value\n"));
        assert!(out.contains("… \n") || out.contains("…\n"), "{out}");
        assert!(out.contains("... 2 more not shown"));
        assert!(out.ends_with("3 messages in 1 dead-letter queue; `leadflow dlq redrive` puts them back once the cause is fixed\n"));
        let empty = DeadLetterQueue { depth: 0, ..q };
        assert!(render(&[(empty, vec![])]).ends_with("0 messages in 1 dead-letter queue\n"));
    }
}
