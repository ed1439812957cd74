//! The mail digest: one message per run over SMTP (lettre, rustls), `multipart/alternative`
//! with the plain-text and HTML renderings of [`super::digest`]. Plain SMTP on port 25 with
//! no auth is the original's behaviour and still the default; STARTTLS (required, never
//! opportunistic) and implicit TLS are there for relays that want them, with the password
//! read from the environment variable the config names. One message holds every alert, so
//! the relay takes the whole batch or none of it.

use anyhow::{Context as _, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport as _};

use super::{AlertRecord, Output, Rejected, RunInfo, digest};
use crate::config::{MailSettings, TlsMode, secret};

pub(super) struct MailOutput {
    transport: SmtpTransport,
    relay: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: String,
    subject_summary: bool,
    send_empty: bool,
}

impl MailOutput {
    pub(super) fn new(settings: &MailSettings) -> Result<MailOutput> {
        let mut builder = SmtpTransport::builder_dangerous(&settings.host)
            .port(settings.port)
            .timeout(Some(settings.timeout));
        builder = match settings.tls {
            TlsMode::None => builder.tls(Tls::None),
            TlsMode::Starttls => builder.tls(Tls::Required(tls_parameters(settings)?)),
            TlsMode::Tls => builder.tls(Tls::Wrapper(tls_parameters(settings)?)),
        };
        if let (Some(user), Some(var)) = (&settings.username, &settings.password_env) {
            let password = secret(var, "mail.password_env")?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let mailbox = |a: &String| {
            a.parse::<Mailbox>()
                .with_context(|| format!("{a:?} is not a mail address"))
        };
        Ok(MailOutput {
            transport: builder.build(),
            relay: format!("{}:{}", settings.host, settings.port),
            from: mailbox(&settings.from)?,
            to: settings.to.iter().map(mailbox).collect::<Result<_>>()?,
            subject: settings.subject.clone(),
            subject_summary: settings.subject_summary,
            send_empty: settings.send_empty,
        })
    }

    /// The digest of `alerts` as a message.
    fn message(&self, alerts: &[AlertRecord], run: &RunInfo) -> Result<Message> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(digest::subject(&self.subject, self.subject_summary, alerts))
            .user_agent(crate::httpclient::USER_AGENT.to_owned());
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                digest::render_text(alerts, run),
                digest::render_html(alerts, run),
            ))
            .context("failed to build the digest mail")
    }
}

impl Output for MailOutput {
    fn name(&self) -> &'static str {
        "mail"
    }

    fn send(&mut self, alerts: &[AlertRecord], run: &RunInfo) -> Result<Rejected> {
        if alerts.is_empty() && !self.send_empty {
            return Ok(Vec::new());
        }
        let message = self.message(alerts, run)?;
        self.transport
            .send(&message)
            .with_context(|| format!("failed to send the digest mail through {}", self.relay))?;
        tracing::info!(alerts = alerts.len(), relay = %self.relay, "digest mail sent");
        Ok(Vec::new())
    }
}

fn tls_parameters(settings: &MailSettings) -> Result<TlsParameters> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("failed to read mail.ca_file {}", path.display()))?;
        let certificate = Certificate::from_pem(&pem)
            .with_context(|| format!("failed to parse mail.ca_file {}", path.display()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .context("failed to set up TLS for the mail relay")
}
