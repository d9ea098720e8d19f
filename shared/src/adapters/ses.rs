//! Sending email through SES (v1 SendEmail: HTML and text alternatives).

use crate::ports::{MailError, Mailer, OutgoingEmail};
use aws_sdk_ses::operation::send_email::SendEmailError;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use aws_sdk_ses::Client;

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .html(content(&email.html)?)
                    .text(content(&email.text)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .source(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .message(message)
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                SendEmailError::MessageRejected(e) => MailError::Rejected(e.to_string()),
                SendEmailError::MailFromDomainNotVerifiedException(e) => {
                    MailError::Rejected(e.to_string())
                }
                SendEmailError::AccountSendingPausedException(e) => {
                    MailError::Unavailable(e.to_string())
                }
                other => MailError::Unavailable(format!("{other:?}")),
            })?;
        Ok(out.message_id)
    }
}
