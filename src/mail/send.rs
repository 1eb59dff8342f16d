//! Building and sending one message. Knows lettre and the transports, not
//! the outbox: what to send and when is decided by `app::outbox`.

use std::path::Path;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How mail leaves this service (its `Debug` hides the SMTP password).
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://host:port` or `smtps://...`; None writes .eml files.
    pub smtp_url: Option<String>,
    /// The From mailbox, e.g. `白山市工商局 <noreply@baishan.example>`.
    pub from: String,
    pub max_attempts: i32,
    /// The first retry waits this long; each later one twice as long.
    pub retry_base: Duration,
    /// How often the worker looks for due deliveries when not woken.
    pub poll: Duration,
    /// How long a claim holds: a delivery claimed by a process that died is
    /// taken up again after this long (by any instance).
    pub lease: Duration,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(crate::error::redact_url))
            .field("from", &self.from)
            .field("max_attempts", &self.max_attempts)
            .field("retry_base", &self.retry_base)
            .field("poll", &self.poll)
            .field("lease", &self.lease)
            .finish()
    }
}

/// The sender's mailbox, parsed once.
#[derive(Debug, Clone)]
pub struct Sender(Mailbox);

impl Sender {
    pub fn parse(from: &str) -> Result<Sender, String> {
        from.parse()
            .map(Sender)
            .map_err(|e| format!("invalid sender {from:?}: {e}"))
    }

    /// A Message-ID in the sender's domain: `<local@domain>`.
    pub fn message_id(&self, local: &str) -> String {
        format!("<{local}@{}>", self.0.email.domain())
    }
}

/// A file sent along with the message.
pub struct Attachment<'a> {
    pub filename: &'a str,
    /// A MIME type, e.g. `text/csv; charset=utf-8`.
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// One message, as plain data.
pub struct Email<'a> {
    pub to_name: &'a str,
    pub to_email: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// Files sent along (the CSV table, the circular as PDF).
    pub attachments: Vec<Attachment<'a>>,
    /// Kept the same for every attempt, so that receivers can tell a copy.
    pub message_id: &'a str,
    /// A one-click unsubscribe link (RFC 8058): sent as `List-Unsubscribe`
    /// with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub list_unsubscribe: Option<&'a str>,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Sending it again will not help (bad address, rejected for good).
    Permanent(String),
    /// Worth trying again later.
    Temporary(String),
}

/// A message ready for a transport.
pub struct Built(Message);

/// Builds a multipart message: plain text and HTML alternatives, and the
/// attachments.
pub fn build_message(from: &Sender, email: &Email) -> Result<Built, SendError> {
    let to_addr = email
        .to_email
        .parse()
        .map_err(|e| SendError::Permanent(format!("invalid address {:?}: {e}", email.to_email)))?;
    let to = Mailbox::new(Some(email.to_name.to_owned()), to_addr);
    let mut body = MultiPart::mixed().multipart(MultiPart::alternative_plain_html(
        email.text.to_owned(),
        email.html.to_owned(),
    ));
    for a in &email.attachments {
        let content_type = ContentType::parse(a.content_type).map_err(|e| SendError::Permanent(e.to_string()))?;
        let part: SinglePart =
            lettre::message::Attachment::new(a.filename.to_owned()).body(a.body.to_vec(), content_type);
        body = body.singlepart(part);
    }
    let mut builder = Message::builder()
        .from(from.0.clone())
        .to(to)
        .subject(email.subject.to_owned())
        .message_id(Some(email.message_id.to_owned()))
        .date_now();
    if let Some(url) = email.list_unsubscribe {
        if url.chars().any(|c| c.is_control() || c == '>') {
            return Err(SendError::Permanent(format!("invalid unsubscribe link {url:?}")));
        }
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(body)
        .map(Built)
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
}

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No SMTP server configured: messages are written as .eml files.
    Files(AsyncFileTransport<Tokio1Executor>, std::path::PathBuf),
}

impl Transport {
    /// SMTP when `smtp_url` is set, else .eml files in `data_dir/outbox`.
    pub fn from_settings(settings: &MailSettings, data_dir: &Path) -> anyhow::Result<Transport> {
        match &settings.smtp_url {
            Some(url) => {
                let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| {
                        let why = crate::error::redact_in(&e.to_string(), url);
                        anyhow::anyhow!("invalid BAYIGE_SMTP_URL {:?}: {why}", crate::error::redact_url(url))
                    })?
                    .timeout(Some(Duration::from_secs(30)))
                    .build();
                Ok(Transport::Smtp(t))
            }
            None => {
                let dir = data_dir.join("outbox");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| anyhow::anyhow!("cannot create the outbox folder {}: {e}", dir.display()))?;
                tracing::warn!(
                    folder = %dir.display(),
                    "BAYIGE_SMTP_URL is not set: circular emails are NOT sent, they are written as .eml files into {}",
                    dir.display()
                );
                Ok(Transport::Files(AsyncFileTransport::new(&dir), dir))
            }
        }
    }

    /// Sends one message. On success, returns where the message was
    /// written when it went to a file (None for SMTP).
    pub async fn send(&self, message: Built) -> Result<Option<String>, SendError> {
        match self {
            Transport::Smtp(t) => match t.send(message.0).await {
                Ok(_) => Ok(None),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP rejected the message: {e}"))),
                Err(e) => Err(SendError::Temporary(format!("SMTP: {e}"))),
            },
            Transport::Files(t, dir) => match t.send(message.0).await {
                Ok(id) => Ok(Some(format!("{}/{id}.eml", dir.display()))),
                Err(e) => Err(SendError::Temporary(format!("cannot write the .eml file: {e}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email<'a>(to: &'a str, attachments: Vec<Attachment<'a>>) -> Email<'a> {
        Email {
            to_name: "江源区局",
            to_email: to,
            subject: "通报",
            text: "正文",
            html: "<p>正文</p>",
            attachments,
            message_id: "<circular-1.delivery-2@baishan.example>",
            list_unsubscribe: None,
        }
    }

    #[test]
    fn message_ids_are_in_the_senders_domain() {
        let from = Sender::parse("白山市工商局 <noreply@baishan.example>").expect("sender");
        assert_eq!(
            from.message_id("circular-1.delivery-2"),
            "<circular-1.delivery-2@baishan.example>"
        );
        assert!(Sender::parse("not an address").is_err());
    }

    #[test]
    fn a_bad_recipient_is_a_permanent_failure() {
        let from = Sender::parse("noreply@baishan.example").expect("sender");
        let err = build_message(&from, &email("nobody", Vec::new())).err();
        assert!(
            matches!(&err, Some(SendError::Permanent(m)) if m.contains("invalid address \"nobody\"")),
            "{err:?}"
        );
    }

    #[test]
    fn the_attachments_go_along() {
        let from = Sender::parse("noreply@baishan.example").expect("sender");
        let csv = Attachment {
            filename: "进度表.csv",
            content_type: "text/csv; charset=utf-8",
            body: "排名,单位\n".as_bytes(),
        };
        let pdf = Attachment {
            filename: "通报.pdf",
            content_type: "application/pdf",
            body: b"%PDF-1.7\n",
        };
        let built = build_message(&from, &email("lead@jy.example", vec![csv, pdf])).expect("message");
        let raw = String::from_utf8(built.0.formatted()).expect("utf-8");
        assert!(
            raw.contains("Message-ID: <circular-1.delivery-2@baishan.example>"),
            "{raw}"
        );
        assert!(raw.contains("text/csv"), "{raw}");
        assert!(raw.contains("application/pdf"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
    }
}
