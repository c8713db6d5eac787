//! Sending removal notices: by SMTP ([`Mailer`], over `lettre`'s tokio transport) or as files
//! for contacts that take reports through a web form ([`Channel::File`]).
//!
//! The SMTP server is named by a URL: `smtps://host[:465]` (TLS from the start) or
//! `smtp://host[:25]`, which means STARTTLS, required, for any host but loopback; plain,
//! unencrypted SMTP is used only for a loopback address (a local relay or a test sink).
//! Credentials never come in the URL (it is refused if it has any): the caller passes them,
//! read from the environment (`VIGIL_SMTP_USERNAME`, `VIGIL_SMTP_PASSWORD`).
//!
//! [`Mailer::with_ca`] trusts one more CA (PEM) beside the usual roots, for a relay whose
//! certificate an in-house CA signed (`vigil crawl … --smtp-ca FILE`); with it, TLS is required
//! for every host, loopback included (the operator said which certificate to expect).
//!
//! A message is the notice's text (headers from the template stripped: the subject becomes the
//! message's) as a `text/plain` part, plus the notice as JSON as an attachment.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why a notice could not be made or sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The SMTP URL is unusable.
    #[error("SMTP server {url:?}: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// An address (sender, recipient, contact) is not an e-mail address.
    #[error("{what} {address:?} is not an e-mail address")]
    Address {
        /// Which address.
        what: &'static str,
        /// The address as given.
        address: String,
    },
    /// The message could not be built.
    #[error("building the message: {0}")]
    Build(String),
    /// The SMTP server refused the message or could not be reached.
    #[error("sending by SMTP to {to}: {why}")]
    Send {
        /// The recipient.
        to: String,
        /// The transport's error (with the server's reply, if any).
        why: String,
    },
    /// The CA certificate to trust is unusable.
    #[error("SMTP CA certificate: {0}")]
    Ca(String),
    /// Writing a notice file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Where notices go.
pub enum Channel {
    /// Mailed.
    Smtp(Box<Mailer>),
    /// Written as `.txt` and `.json` files into this directory (for contacts that are web forms;
    /// the operator submits them).
    File(PathBuf),
}

impl Channel {
    /// `smtp` or `file`, as recorded.
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Smtp(_) => "smtp",
            Channel::File(_) => "file",
        }
    }
}

/// An SMTP sender: the transport, the sender address and any recipient override.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to_override: Option<Mailbox>,
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        // `smtp:` is not a special scheme: its IPv4 hosts come as names.
        url::Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
        }
        url::Host::Ipv4(a) => IpAddr::V4(*a).is_loopback(),
        url::Host::Ipv6(a) => IpAddr::V6(*a).is_loopback(),
    }
}

/// Parses an e-mail address (`a@b.example` or `Name <a@b.example>`).
pub fn mailbox(what: &'static str, address: &str) -> Result<Mailbox, SendError> {
    address.trim().parse().map_err(|_| SendError::Address {
        what,
        address: address.to_string(),
    })
}

impl Mailer {
    /// A sender through the server at `url` (see the module documentation), from `from`, every
    /// message to `to_override` instead of the provider's contact when given. `timeout` bounds
    /// each SMTP command.
    pub fn new(
        url: &str,
        from: &str,
        to_override: Option<&str>,
        credentials: Option<(String, String)>,
        timeout: Duration,
    ) -> Result<Mailer, SendError> {
        Mailer::with_ca(url, from, to_override, credentials, timeout, None)
    }

    /// [`Mailer::new`], trusting also the CA certificate(s) in `ca_pem` (PEM), if given: then
    /// TLS (SMTPS, or STARTTLS for `smtp://`) is required whatever the host.
    pub fn with_ca(
        url: &str,
        from: &str,
        to_override: Option<&str>,
        credentials: Option<(String, String)>,
        timeout: Duration,
        ca_pem: Option<&[u8]>,
    ) -> Result<Mailer, SendError> {
        let bad = |why: &str| SendError::BadUrl {
            url: url.to_string(),
            why: why.to_string(),
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(
                "credentials do not go in the URL: set VIGIL_SMTP_USERNAME and VIGIL_SMTP_PASSWORD",
            ));
        }
        if parsed.path().len() > 1 || parsed.query().is_some() {
            return Err(bad("expected smtp://HOST[:PORT] or smtps://HOST[:PORT]"));
        }
        let host = parsed.host().ok_or_else(|| bad("no host"))?;
        let name = match &host {
            url::Host::Ipv6(a) => a.to_string(),
            h => h.to_string(),
        };
        let tls = match ca_pem {
            Some(pem) => {
                // lettre takes a text with no certificate in it as an empty list.
                if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(SendError::Ca("no PEM certificate in it".into()));
                }
                let cert = Certificate::from_pem(pem).map_err(|e| SendError::Ca(e.to_string()))?;
                Some(
                    TlsParameters::builder(name.clone())
                        .add_root_certificate(cert)
                        .build_rustls()
                        .map_err(|e| SendError::Ca(e.to_string()))?,
                )
            }
            None => None,
        };
        let builder = match (parsed.scheme(), tls) {
            ("smtp", Some(tls)) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&name)
                .port(parsed.port().unwrap_or(25))
                .tls(Tls::Required(tls)),
            ("smtps", Some(tls)) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&name)
                .port(parsed.port().unwrap_or(465))
                .tls(Tls::Wrapper(tls)),
            ("smtp", None) if is_loopback(&host) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&name)
                    .port(parsed.port().unwrap_or(25))
            }
            ("smtp", None) => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&name)
                .map_err(|e| bad(&e.to_string()))?
                .port(parsed.port().unwrap_or(25)),
            ("smtps", None) => AsyncSmtpTransport::<Tokio1Executor>::relay(&name)
                .map_err(|e| bad(&e.to_string()))?
                .port(parsed.port().unwrap_or(465)),
            (s, _) => return Err(bad(&format!("scheme {s:?}: expected smtp or smtps"))),
        };
        let builder = builder.timeout(Some(timeout));
        let builder = match credentials {
            Some((user, password)) => builder.credentials(Credentials::new(user, password)),
            None => builder,
        };
        Ok(Mailer {
            transport: builder.build(),
            from: mailbox("sender", from)?,
            to_override: to_override
                .map(|t| mailbox("--to-override", t))
                .transpose()?,
        })
    }

    /// Where a notice for `contact` goes: the override, else the contact (which must then be an
    /// e-mail address, optionally written `mailto:…`).
    pub fn recipient(&self, contact: &str) -> Result<Mailbox, SendError> {
        if let Some(to) = &self.to_override {
            return Ok(to.clone());
        }
        let c = contact.trim();
        let c = c.strip_prefix("mailto:").unwrap_or(c);
        if c.is_empty() {
            return Err(SendError::Address {
                what: "contact (none in the provider table)",
                address: String::new(),
            });
        }
        mailbox("contact", c)
    }

    /// Mails one notice to `to`: `body` as text, `json` attached as `notice.json`. Returns the
    /// message's `Message-ID`.
    pub async fn send(
        &self,
        to: &Mailbox,
        subject: &str,
        body: &str,
        json: &str,
    ) -> Result<String, SendError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(subject)
            .message_id(None)
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(body.to_string()))
                    .singlepart(
                        Attachment::new("notice.json".to_string()).body(
                            json.to_string(),
                            ContentType::parse("application/json")
                                .map_err(|e| SendError::Build(e.to_string()))?,
                        ),
                    ),
            )
            .map_err(|e| SendError::Build(e.to_string()))?;
        let id = message
            .headers()
            .get_raw("Message-ID")
            .unwrap_or_default()
            .to_string();
        self.transport
            .send(message)
            .await
            .map_err(|e| SendError::Send {
                to: to.to_string(),
                why: error_chain(&e),
            })?;
        Ok(id)
    }
}

/// An error with its sources, `: `-separated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s += ": ";
            s += &m;
        }
        cur = c.source();
    }
    s
}
