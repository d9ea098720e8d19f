//! Sending email through SES (v1 SendEmail: HTML and text alternatives).

use aws_sdk_ses::operation::send_email::SendEmailError;
use aws_sdk_ses::types::{Body, Content, Destination, Message};
use aws_sdk_ses::Client;
use leadflow::ports::{MailError, Mailer, OutgoingEmail};

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

/// Which side a refusal is on: only a recipient-specific refusal is permanent.
fn classify<R: std::fmt::Debug + Send + Sync + 'static>(
    e: aws_sdk_ses::error::SdkError<SendEmailError, R>,
) -> MailError {
    use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
    if !matches!(e, SdkError::ServiceError(_)) {
        // Timeouts, dispatch and response failures: the service may have it or not.
        return MailError::Uncertain(format!("{e:?}"));
    }
    let e = e.into_service_error();
    let text = e.message().unwrap_or_default().to_string();
    match &e {
        // "Email address is not verified": the sender, or (in the sandbox) any
        // recipient; either way the account must be fixed, not the prospect.
        SendEmailError::MessageRejected(_)
            if text.to_ascii_lowercase().contains("not verified") =>
        {
            MailError::Sender(text)
        }
        SendEmailError::MessageRejected(_) => MailError::Rejected(text),
        SendEmailError::MailFromDomainNotVerifiedException(_)
        | SendEmailError::AccountSendingPausedException(_)
        | SendEmailError::ConfigurationSetDoesNotExistException(_)
        | SendEmailError::ConfigurationSetSendingPausedException(_) => {
            MailError::Sender(format!("{}: {text}", e.code().unwrap_or("error")))
        }
        _ => match e.code() {
            // The sender is checked at cold start: an invalid parameter is the
            // recipient's address (intake already refuses what SES cannot take).
            Some("InvalidParameterValue") => MailError::Rejected(text),
            Some("AccessDenied" | "AccessDeniedException") => MailError::Sender(text),
            Some("Throttling" | "ThrottlingException") => MailError::Throttled(text),
            _ => MailError::Unavailable(format!("{e:?}")),
        },
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
            .map_err(classify)?;
        Ok(out.message_id)
    }
}
