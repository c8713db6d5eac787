//! A local SMTP sink for tests: a real SMTP peer on 127.0.0.1 (greeting, EHLO/HELO, MAIL FROM,
//! RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT) that keeps every message it accepts.
//! No TLS and no authentication are offered, so a client must speak plain SMTP to it.
//!
//! A recipient containing `reject` is refused with `550`, to test failed sends.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

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
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sessions: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let (r, s) = (received.clone(), sessions.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let mut commands = Vec::new();
                let _ = session(conn, &r, &mut commands);
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
    conn: TcpStream,
    out: &Mutex<Vec<Received>>,
    commands: &mut Vec<String>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    let reply = |w: &mut TcpStream, s: &str| w.write_all(format!("{s}\r\n").as_bytes());
    reply(&mut w, "220 sink.test ESMTP test sink")?;
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
                reply(&mut w, "250-sink.test greets you")?;
                reply(&mut w, "250-8BITMIME")?;
                reply(&mut w, "250 SMTPUTF8")?;
            }
            "HELO" => {
                cur.helo = line[4..].trim().to_string();
                reply(&mut w, "250 sink.test")?;
            }
            "MAIL" => {
                cur.mail_from = arg("MAIL FROM:");
                cur.rcpt_to.clear();
                reply(&mut w, "250 2.1.0 OK")?;
            }
            "RCPT" => {
                let to = arg("RCPT TO:");
                if to.contains("reject") {
                    reply(&mut w, "550 5.1.1 no such mailbox here")?;
                } else {
                    cur.rcpt_to.push(to);
                    reply(&mut w, "250 2.1.5 OK")?;
                }
            }
            "DATA" => {
                if cur.rcpt_to.is_empty() {
                    reply(&mut w, "554 5.5.1 no valid recipients")?;
                    continue;
                }
                reply(&mut w, "354 end data with <CR><LF>.<CR><LF>")?;
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
                out.lock().unwrap().push(m);
                reply(&mut w, "250 2.0.0 OK queued")?;
            }
            "RSET" => {
                cur.mail_from.clear();
                cur.rcpt_to.clear();
                reply(&mut w, "250 OK")?;
            }
            "NOOP" => reply(&mut w, "250 OK")?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 bye")?;
                return Ok(());
            }
            _ => reply(&mut w, "502 5.5.2 command not implemented")?,
        }
    }
}
