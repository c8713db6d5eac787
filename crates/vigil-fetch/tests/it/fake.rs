//! A fake NCMEC hash sharing v2 server, on 127.0.0.1 only: `GET /v2/entries?from=&to=` answered
//! with pages written by `write_ncmec_page`, paged by `next` links (`start`, `size`, `max`, as the
//! real service), with HTTP basic auth, and switches to make it misbehave.
//!
//! It serves a *history* of events (additions and deletions with timestamps) in the order the
//! test lists them — deliberately not in time order. A window `[from, to]` includes both ends.
//! A minimal HTTP/1.1 server on Tokio: one request per connection, `Connection: close`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use vigil_exchange::ncmec::{NcmecItem, NcmecPage, NcmecSection, write_ncmec_page};
use vigil_exchange::record::{ContentType, Deletion, Record, Timestamp};

use crate::util::pdq;

/// One event of the server's history.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) member: u32,
    pub(crate) id: String,
    pub(crate) at: i64,
    pub(crate) deleted: bool,
    /// The seed of the entry's PDQ hash (`util::pdq`).
    pub(crate) seed: u64,
    /// Written without its `<id>`: an entry the client must skip.
    pub(crate) bad: bool,
}

/// An addition by member 7.
pub(crate) fn add(id: &str, at: i64, seed: u64) -> Event {
    Event {
        member: 7,
        id: id.into(),
        at,
        deleted: false,
        seed,
        bad: false,
    }
}

/// A deletion by member 7.
pub(crate) fn delete(id: &str, at: i64) -> Event {
    Event {
        deleted: true,
        ..add(id, at, 0)
    }
}

/// How the server behaves; tests change it between fetches.
#[derive(Debug, Default)]
pub(crate) struct Behaviour {
    pub(crate) events: Vec<Event>,
    pub(crate) page_size: usize,
    /// Required `user:password`.
    pub(crate) credentials: Option<(String, String)>,
    /// Pages (by `start`) answered with broken XML.
    pub(crate) malformed: HashSet<usize>,
    /// After this many answered requests, answer 500.
    pub(crate) fail_after: Option<usize>,
    /// After this many answered requests, never answer (the connection stays open).
    pub(crate) hang_after: Option<usize>,
    /// Answer every request with this status and a short body.
    pub(crate) status: Option<u16>,
    /// Use this as every page's `next` link.
    pub(crate) next_override: Option<String>,
    /// Pad every page with this many bytes of XML comment.
    pub(crate) padding: usize,
}

/// What the server saw.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Request targets (path and query), in order.
    pub(crate) targets: Vec<String>,
    /// `Authorization` headers, in order.
    pub(crate) auth: Vec<Option<String>>,
    /// Requests answered (with a page or an error status).
    pub(crate) answered: usize,
}

pub(crate) struct Fake {
    pub(crate) base: String,
    pub(crate) behaviour: Arc<Mutex<Behaviour>>,
    pub(crate) seen: Arc<Mutex<Seen>>,
    /// Notified when a request hangs.
    pub(crate) hung: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// Starts a server on 127.0.0.1 (an ephemeral port) serving `events`, `page_size` a page.
    pub(crate) async fn start(events: Vec<Event>, page_size: usize) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        let behaviour = Arc::new(Mutex::new(Behaviour {
            events,
            page_size,
            ..Behaviour::default()
        }));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let hung = Arc::new(Notify::new());
        let (b, s, h) = (behaviour.clone(), seen.clone(), hung.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let (b, s, h) = (b.clone(), s.clone(), h.clone());
                tokio::spawn(async move {
                    let _ = serve(conn, b, s, h).await;
                });
            }
        });
        Fake {
            base: format!("http://{addr}/hashsharing"),
            behaviour,
            seen,
            hung,
            task,
        }
    }

    pub(crate) fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    pub(crate) fn targets(&self) -> Vec<String> {
        self.seen.lock().unwrap().targets.clone()
    }
}

async fn serve(
    mut conn: TcpStream,
    behaviour: Arc<Mutex<Behaviour>>,
    seen: Arc<Mutex<Seen>>,
    hung: Arc<Notify>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await?;
        if n == 0 || head.len() > 65_536 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or_default();
    let target = request.split(' ').nth(1).unwrap_or_default().to_string();
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    let reply = {
        let b = behaviour.lock().unwrap();
        let mut s = seen.lock().unwrap();
        s.targets.push(target.clone());
        s.auth.push(auth.clone());
        if b.hang_after.is_some_and(|n| s.answered >= n) {
            None
        } else {
            s.answered += 1;
            Some(answer(&b, &target, auth.as_deref(), s.answered))
        }
    };
    let Some((status, body)) = reply else {
        hung.notify_one();
        // Never answers; the connection stays open until the test ends.
        std::future::pending::<()>().await;
        return Ok(());
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(&body).await?;
    conn.shutdown().await
}

/// The status and body for a request (`nth`: 1 for the first answered).
fn answer(b: &Behaviour, target: &str, auth: Option<&str>, nth: usize) -> (u16, Vec<u8>) {
    if let Some((user, password)) = &b.credentials {
        let want = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
        if auth != Some(want.as_str()) {
            return (401, b"<error>unauthorized</error>".to_vec());
        }
    }
    if let Some(status) = b.status {
        return (status, b"<error>no</error>".to_vec());
    }
    if b.fail_after.is_some_and(|n| nth > n) {
        return (500, b"<error>internal</error>".to_vec());
    }
    let Some((path, query)) = target.split_once('?') else {
        return (404, Vec::new());
    };
    if path != "/hashsharing/v2/entries" {
        return (404, Vec::new());
    }
    let param = |k: &str| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(n, _)| *n == k)
            .map(|(_, v)| percent_decode(v))
    };
    let time = |k: &str| {
        param(k)
            .and_then(|v| Timestamp::parse(&v).ok())
            .map(|t| (t.unix_nanos() / 1_000_000_000) as i64)
    };
    let (Some(from), Some(to)) = (time("from"), time("to")) else {
        return (400, b"<error>from and to</error>".to_vec());
    };
    let start: usize = param("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    if b.malformed.contains(&start) {
        return (
            200,
            b"<queryResult><images count=\"3\"><image><id>x</id>".to_vec(),
        );
    }
    let window: Vec<&Event> = b
        .events
        .iter()
        .filter(|e| from <= e.at && e.at <= to)
        .collect();
    let size = b.page_size.max(1);
    let end = (start + size).min(window.len());
    let mut items = Vec::new();
    for e in window.get(start..end).unwrap_or_default() {
        let at = Timestamp::from_unix_seconds(e.at);
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("ncmec.member_id".to_string(), e.member.to_string());
        items.push(if e.deleted {
            NcmecItem::Deleted(Deletion {
                id: Some(e.id.clone()),
                content: Some(ContentType::Photo),
                source: Some(format!("Member {}", e.member)),
                at,
                extra,
                ..Deletion::default()
            })
        } else {
            let mut r = Record::with_signals([pdq(e.seed)]);
            r.ids = vec![if e.bad { "BAD-ID".into() } else { e.id.clone() }];
            r.content = Some(ContentType::Photo);
            r.source = Some(format!("Member {}", e.member));
            r.updated = at;
            r.extra = extra;
            NcmecItem::Entry(r)
        });
    }
    let next = if let Some(n) = &b.next_override {
        Some(n.clone())
    } else if end < window.len() {
        Some(format!(
            "/v2/entries?from={}&to={}&start={end}&size={size}&max={}",
            param("from").unwrap_or_default(),
            param("to").unwrap_or_default(),
            window.len()
        ))
    } else {
        None
    };
    let page = NcmecPage {
        images: Some(NcmecSection::new(items)),
        videos: None,
        next,
        errors: Vec::new(),
    };
    let mut out = Vec::new();
    write_ncmec_page(&mut out, &page).unwrap();
    let mut xml = String::from_utf8(out).unwrap();
    // A bad entry: its <id> removed.
    xml = xml.replace("<id>BAD-ID</id>", "");
    if b.padding > 0 {
        xml.push_str(&format!("<!--{}-->\n", "x".repeat(b.padding)));
    }
    (200, xml.into_bytes())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(h, 16) {
                    Ok(v) => out.push(v),
                    Err(_) => out.extend_from_slice(&b[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(input: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn helpers() {
    assert_eq!(base64(b"hotline:pw"), "aG90bGluZTpwdw==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
    assert_eq!(
        percent_decode("1970-01-01T00%3A00%3A00Z"),
        "1970-01-01T00:00:00Z"
    );
}
