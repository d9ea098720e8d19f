//! Sending email through SES: v1 SendEmail (HTML and text alternatives), or,
//! for mail with headers of its own (marketing's `List-Unsubscribe`),
//! SendRawEmail with the MIME message built by mail-builder.

use aws_sdk_ses::types::{Body, Content, Destination, Message};
use aws_sdk_ses::Client;
use leadflow::email::without_addresses;
use leadflow::ports::{MailError, Mailer, OutgoingEmail};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    /// Whose events (delivery, bounce, complaint, open, click) SES publishes.
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set: None,
        }
    }

    /// Send with this configuration set (`SES_CONFIGURATION_SET`), so SES tells us what became of each email.
    pub fn with_configuration_set(mut self, name: Option<String>) -> Self {
        self.configuration_set = name.filter(|n| !n.trim().is_empty());
        self
    }
}

impl crate::Prime for SesMailer {
    /// `GetSendQuota`: reads the account's sending limits, sends nothing.
    async fn prime(&self) {
        let result = self.client.get_send_quota().send().await;
        crate::prime::log_outcome("ses:GetSendQuota", result);
    }
}

/// Which side a refusal is on: only a recipient-specific refusal is permanent.
fn classify<E, R>(e: aws_sdk_ses::error::SdkError<E, R>) -> MailError
where
    E: aws_sdk_ses::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_ses::error::SdkError;
    let SdkError::ServiceError(service) = &e else {
        // Timeouts, dispatch and response failures: the service may have it or not.
        return MailError::Uncertain(without_addresses(&format!("{e:?}")));
    };
    let e = service.err();
    // Its words reach logs and the lead's history: never the addresses it names.
    let text = without_addresses(e.message().unwrap_or_default());
    match e.code() {
        // "Email address is not verified": the sender, or (in the sandbox) any
        // recipient; either way the account must be fixed, not the prospect.
        Some("MessageRejected") if text.to_ascii_lowercase().contains("not verified") => {
            MailError::Sender(text)
        }
        Some("MessageRejected") => MailError::Rejected(text),
        Some(
            code @ ("MailFromDomainNotVerifiedException"
            | "MailFromDomainNotVerified"
            | "AccountSendingPausedException"
            | "ConfigurationSetDoesNotExist"
            | "ConfigurationSetDoesNotExistException"
            | "ConfigurationSetSendingPausedException"),
        ) => MailError::Sender(format!("{code}: {text}")),
        // The sender is checked at cold start: an invalid parameter is the
        // recipient's address (intake already refuses what SES cannot take).
        Some("InvalidParameterValue") => MailError::Rejected(text),
        Some("AccessDenied" | "AccessDeniedException") => MailError::Sender(text),
        Some("Throttling" | "ThrottlingException") => MailError::Throttled(text),
        _ => MailError::Unavailable(without_addresses(&format!("{e:?}"))),
    }
}

/// A header value as mail-builder writes it: ours, but never with a line break in it.
fn header_value(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).collect()
}

/// The whole MIME message (multipart/alternative, plus the email's own headers).
fn mime(from: &str, email: &OutgoingEmail) -> Result<Vec<u8>, MailError> {
    use mail_builder::headers::raw::Raw;
    let mut builder = mail_builder::MessageBuilder::new()
        .from(from)
        .to(email.to.as_str())
        .subject(email.subject.as_str())
        .text_body(email.text.as_str())
        .html_body(email.html.as_str());
    for (name, value) in &email.headers {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        builder = builder.header(name, Raw::new(header_value(value)));
    }
    builder
        .write_to_vec()
        .map_err(|e| MailError::Rejected(format!("the message cannot be built: {e}")))
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
        if !email.headers.is_empty() {
            let raw = aws_sdk_ses::types::RawMessage::builder()
                .data(aws_sdk_ses::primitives::Blob::new(mime(&self.from, email)?))
                .build()
                .map_err(|e| MailError::Rejected(e.to_string()))?;
            let out = self
                .client
                .send_raw_email()
                .source(&self.from)
                .destinations(&email.to)
                .set_configuration_set_name(self.configuration_set.clone())
                .raw_message(raw)
                .send()
                .await
                .map_err(classify)?;
            return Ok(out.message_id);
        }
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
            .set_configuration_set_name(self.configuration_set.clone())
            .message(message)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.message_id)
    }
}
