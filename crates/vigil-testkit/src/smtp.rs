//! A local SMTP sink for tests: a real SMTP peer on 127.0.0.1 (greeting, EHLO/HELO, MAIL FROM,
//! RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) that keeps every message it accepts.
//! [`Sink::start`] offers no TLS and no authentication, so a client must speak plain SMTP to it;
//! [`Sink::start_tls`] serves TLS from the start (SMTPS) or offers `STARTTLS` with a certificate
//! the test passes, and records whether each message came over TLS ([`Received::tls`]).
//!
//! A recipient containing `reject` is refused with `550`, to test failed sends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use tokio_rustls::rustls;

/// How a TLS sink speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS, port 465's way).
    Implicit,
    /// Plain first; `STARTTLS` is offered and required before `MAIL`.
    StartTls,
}

/// A connection, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A server-side TLS session over `tcp` (the handshake runs as the first bytes are read).
fn tls_over(config: &Arc<rustls::ServerConfig>, tcp: TcpStream) -> std::io::Result<Conn> {
    let conn = rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
    Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}

/// One message the sink accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The client's EHLO/HELO name.
    pub helo: String,
    /// The envelope sender (inside `<>`).
    pub mail_from: String,
    /// The envelope recipients accepted (inside `<>`).
    pub rcpt_to: Vec<String>,
    /// The message (headers and body), dot-unstuffed, lines ending in CRLF.
    pub data: String,
    /// The SMTP commands of the session, in order (verbs only, upper case).
    pub commands: Vec<String>,
    /// Whether the message came over TLS (the sink's own connection state, not a header).
    pub tls: bool,
}

impl Received {
    /// The value of the first header `name` (case-insensitive; folded lines joined).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut out: Option<String> = None;
        let mut in_it = false;
        for line in head.split("\r\n") {
            if line.starts_with(' ') || line.starts_with('\t') {
                if in_it && let Some(v) = out.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if out.is_some() {
                break;
            }
            in_it = false;
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                out = Some(v.trim().to_string());
                in_it = true;
            }
        }
        out
    }
}

/// A running sink.
pub struct Sink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    sessions: Arc<Mutex<Vec<Vec<String>>>>,
}

impl Sink {
    /// Starts a sink on 127.0.0.1 (a port of the system's choosing), serving one connection at
    /// a time on a thread, for the life of the test process.
    pub fn start() -> Sink {
        Sink::serve(None)
    }

    /// A sink speaking TLS (`mode`) with the certificate chain and key given (PEM), e.g. a
    /// self-signed certificate for 127.0.0.1 made for the test.
    ///
    /// # Panics
    /// When the certificate or key cannot be used.
    pub fn start_tls(mode: TlsMode, cert_pem: &[u8], key_pem: &[u8]) -> Sink {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .expect("the sink's certificate (PEM)");
        let key = PrivateKeyDer::from_pem_slice(key_pem).expect("the sink's key (PEM)");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the sink's certificate and key");
        Sink::serve(Some((mode, Arc::new(config))))
    }

    fn serve(tls: Option<(TlsMode, Arc<rustls::ServerConfig>)>) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sessions: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let (r, s) = (received.clone(), sessions.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let mut commands = Vec::new();
                let _ = session(conn, tls.as_ref(), &r, &mut commands);
                s.lock().unwrap().push(commands);
            }
        });
        Sink {
            port,
            received,
            sessions,
        }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// `smtps://127.0.0.1:PORT` (for a [`TlsMode::Implicit`] sink).
    pub fn smtps_url(&self) -> String {
        format!("smtps://127.0.0.1:{}", self.port)
    }

    /// The commands (verbs) of each finished session, in order.
    pub fn sessions(&self) -> Vec<Vec<String>> {
        self.sessions.lock().unwrap().clone()
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn session(
    tcp: TcpStream,
    tls: Option<&(TlsMode, Arc<rustls::ServerConfig>)>,
    out: &Mutex<Vec<Received>>,
    commands: &mut Vec<String>,
) -> std::io::Result<()> {
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let starttls = tls.is_some_and(|(m, _)| *m == TlsMode::StartTls);
    let conn = match tls {
        Some((TlsMode::Implicit, config)) => tls_over(config, tcp)?,
        _ => Conn::Plain(tcp),
    };
    let mut is_tls = matches!(conn, Conn::Tls(_));
    let mut r = BufReader::new(conn);
    let reply = |r: &mut BufReader<Conn>, s: &str| -> std::io::Result<()> {
        let w = r.get_mut();
        w.write_all(format!("{s}\r\n").as_bytes())?;
        w.flush()
    };
    reply(&mut r, "220 sink.test ESMTP test sink")?;
    let mut cur = Received::default();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let verb = line
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        commands.push(verb.clone());
        let arg = |prefix: &str| -> String {
            let rest = &line[prefix.len().min(line.len())..];
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('<')
                .and_then(|x| x.split_once('>'))
                .map_or(rest, |(a, _)| a);
            inner.to_string()
        };
        match verb.as_str() {
            "EHLO" => {
                cur.helo = line[4..].trim().to_string();
                reply(&mut r, "250-sink.test greets you")?;
                if starttls && !is_tls {
                    reply(&mut r, "250-STARTTLS")?;
                }
                reply(&mut r, "250-8BITMIME")?;
                reply(&mut r, "250 SMTPUTF8")?;
            }
            "STARTTLS" if starttls && !is_tls => {
                reply(&mut r, "220 2.0.0 ready to start TLS")?;
                // The client sends nothing more in plain text before the handshake, so the
                // reader holds nothing that belongs to the TLS session.
                let Conn::Plain(tcp) = r.into_inner() else {
                    unreachable!("checked above: not TLS yet")
                };
                let config = &tls.expect("STARTTLS is offered only with TLS").1;
                r = BufReader::new(tls_over(config, tcp)?);
                is_tls = true;
                // RFC 3207: the session starts over (a new EHLO).
                cur = Received::default();
            }
            "MAIL" if starttls && !is_tls => {
                reply(&mut r, "530 5.7.0 must issue a STARTTLS command first")?;
            }
            "HELO" => {
                cur.helo = line[4..].trim().to_string();
                reply(&mut r, "250 sink.test")?;
            }
            "MAIL" => {
                cur.mail_from = arg("MAIL FROM:");
                cur.rcpt_to.clear();
                reply(&mut r, "250 2.1.0 OK")?;
            }
            "RCPT" => {
                let to = arg("RCPT TO:");
                if to.contains("reject") {
                    reply(&mut r, "550 5.1.1 no such mailbox here")?;
                } else {
                    cur.rcpt_to.push(to);
                    reply(&mut r, "250 2.1.5 OK")?;
                }
            }
            "DATA" => {
                if cur.rcpt_to.is_empty() {
                    reply(&mut r, "554 5.5.1 no valid recipients")?;
                    continue;
                }
                reply(&mut r, "354 end data with <CR><LF>.<CR><LF>")?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if r.read_line(&mut l)? == 0 {
                        return Ok(());
                    }
                    let body = l.trim_end_matches(['\r', '\n']);
                    if body == "." {
                        break;
                    }
                    data.push_str(body.strip_prefix('.').unwrap_or(body));
                    data.push_str("\r\n");
                }
                let mut m = cur.clone();
                m.data = data;
                m.commands = commands.clone();
                m.tls = is_tls;
                out.lock().unwrap().push(m);
                reply(&mut r, "250 2.0.0 OK queued")?;
            }
            "RSET" => {
                cur.mail_from.clear();
                cur.rcpt_to.clear();
                reply(&mut r, "250 OK")?;
            }
            "NOOP" => reply(&mut r, "250 OK")?,
            "QUIT" => {
                reply(&mut r, "221 2.0.0 bye")?;
                return Ok(());
            }
            _ => reply(&mut r, "502 5.5.2 command not implemented")?,
        }
    }
}
