//! Fetching of media by URL for `GET /h/hash?url=` and `GET /m/lookup?url=`, safe against SSRF.
//!
//! [`fetch`] downloads one URL under a [`RemoteConfig`]:
//!
//! * only `http` and `https` URLs with a host, no credentials, and (when
//!   [`RemoteConfig::allowed_hosts`] is set) a host on the allow-list are accepted;
//! * the host is resolved here, and every address it resolves to must be public (see
//!   [`is_public`]) or inside one of [`RemoteConfig::private_allowed`]; the connection is then
//!   pinned to exactly those vetted addresses, so a DNS answer that changes between the check and
//!   the connect (DNS rebinding) cannot reach another address, and any other name lookup the HTTP
//!   client might attempt is refused;
//! * no proxy is used, and redirects are followed here, each hop checked again like the first URL;
//! * the body is capped at [`RemoteConfig::max_bytes`], refused early by `Content-Length` and
//!   while streaming otherwise;
//! * the whole exchange, DNS and redirects included, is capped at [`RemoteConfig::timeout`].

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use url::{Host, Url};

pub use vigil_core::net::{IpNet, IpNetParseError, is_public};

/// The `User-Agent` sent with every request.
const USER_AGENT: &str = concat!("vigil/", env!("CARGO_PKG_VERSION"));

/// The most bytes reserved up front for a body, whatever its `Content-Length` says.
const MAX_PREALLOC: u64 = 8 * 1024 * 1024;

/// Limits and policy of [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// Byte cap of a download (HMA's `MAX_REMOTE_FILE_SIZE`; default 100 MiB).
    pub max_bytes: u64,
    /// Whole-request time cap including DNS and redirects (default 30 s).
    pub timeout: Duration,
    /// HMA's `ALLOWED_HOSTNAMES`: if non-empty, a URL's host must equal one entry or be a
    /// subdomain of one (case-insensitive; `example.com.evil.com` is not a subdomain of
    /// `example.com`). An IP-literal host must equal an IP-literal entry. Empty: any host.
    pub allowed_hosts: Vec<String>,
    /// Address ranges that may be fetched although not public (private, loopback, link-local…),
    /// e.g. `127.0.0.1/32`, `10.0.0.0/8`, `::1/128`. Empty by default: every non-public address
    /// is refused.
    pub private_allowed: Vec<IpNet>,
    /// Redirects followed at most (default 5); each hop is checked again like the first URL.
    pub max_redirects: usize,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            allowed_hosts: Vec::new(),
            private_allowed: Vec::new(),
            max_redirects: 5,
        }
    }
}

/// A downloaded resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body, at most [`RemoteConfig::max_bytes`] long.
    pub bytes: Vec<u8>,
    /// The response's `Content-Type` header, if present and text.
    pub content_type: Option<String>,
    /// The URL the body came from, after redirects.
    pub final_url: String,
}

/// Why [`fetch`] gave no body.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL itself is refused: a scheme other than `http`/`https`, no host, a bad port,
    /// credentials in the URL, a host not in [`RemoteConfig::allowed_hosts`], or unparsable.
    #[error("Invalid or unsafe URL provided: {0}")]
    Unsafe(String),
    /// The host resolves to an address that is not public and not in
    /// [`RemoteConfig::private_allowed`]; the text names the host and the address.
    #[error("Invalid or unsafe URL provided: {0}")]
    Forbidden(String),
    /// The body is larger than [`RemoteConfig::max_bytes`] (by `Content-Length` or as streamed).
    #[error("Content too large")]
    TooLarge,
    /// The download failed: connection error, timeout, non-2xx status, too many redirects, DNS
    /// failure.
    #[error("Failed to fetch URL: {0}")]
    Fetch(String),
}

impl RemoteError {
    /// The HTTP status the API answers with: 413 for [`RemoteError::TooLarge`], 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            RemoteError::TooLarge => 413,
            RemoteError::Unsafe(_) | RemoteError::Forbidden(_) | RemoteError::Fetch(_) => 400,
        }
    }
}

/// An entry of [`RemoteConfig::allowed_hosts`], normalised.
enum AllowedHost {
    Domain(String),
    Ip(IpAddr),
}

fn normalise_allowed(entry: &str) -> Option<AllowedHost> {
    let entry = entry.trim().trim_start_matches('.').trim_end_matches('.');
    if entry.is_empty() {
        return None;
    }
    if let Ok(ip) = entry.trim_start_matches('[').trim_end_matches(']').parse() {
        return Some(AllowedHost::Ip(ip));
    }
    match Host::parse(entry) {
        Ok(Host::Domain(d)) => Some(AllowedHost::Domain(d.to_ascii_lowercase())),
        Ok(Host::Ipv4(ip)) => Some(AllowedHost::Ip(IpAddr::V4(ip))),
        Ok(Host::Ipv6(ip)) => Some(AllowedHost::Ip(IpAddr::V6(ip))),
        Err(_) => None,
    }
}

/// Whether `host` passes [`RemoteConfig::allowed_hosts`] (any host when the list is empty).
fn host_allowed(allowed: &[String], host: &Host<&str>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    allowed
        .iter()
        .filter_map(|e| normalise_allowed(e))
        .any(|entry| match (entry, host) {
            (AllowedHost::Domain(entry), Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                d == entry
                    || d.strip_suffix(entry.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            (AllowedHost::Ip(entry), Host::Ipv4(ip)) => entry.to_canonical() == IpAddr::V4(*ip),
            (AllowedHost::Ip(entry), Host::Ipv6(ip)) => entry == IpAddr::V6(*ip),
            _ => false,
        })
}

/// A URL that passed [`check_url`]: where to connect, before DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// The host as in the URL: a domain (lower-case, ASCII) or an IP literal.
    host: TargetHost,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TargetHost {
    Domain(String),
    Ip(IpAddr),
}

impl fmt::Display for TargetHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetHost::Domain(d) => f.write_str(d),
            TargetHost::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The checks of a URL that need no network: scheme, host, port, credentials, allowed hosts.
fn check_url(cfg: &RemoteConfig, url: &Url) -> Result<Target, RemoteError> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(RemoteError::Unsafe(format!(
            "scheme {scheme:?} is not http or https"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RemoteError::Unsafe("credentials in URL".to_owned()));
    }
    let host = url
        .host()
        .ok_or_else(|| RemoteError::Unsafe("no host".to_owned()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| RemoteError::Unsafe("no port".to_owned()))?;
    if port == 0 {
        return Err(RemoteError::Unsafe("port 0".to_owned()));
    }
    if !host_allowed(&cfg.allowed_hosts, &host) {
        return Err(RemoteError::Unsafe(format!("host {host} is not allowed")));
    }
    let host = match host {
        Host::Domain("") => {
            return Err(RemoteError::Unsafe("no host".to_owned()));
        }
        Host::Domain(d) => TargetHost::Domain(d.to_ascii_lowercase()),
        Host::Ipv4(ip) => TargetHost::Ip(IpAddr::V4(ip)),
        Host::Ipv6(ip) => TargetHost::Ip(IpAddr::V6(ip)),
    };
    Ok(Target { host, port })
}

/// Parses `url` and applies [`check_url`].
fn parse_url(cfg: &RemoteConfig, url: &str) -> Result<(Url, Target), RemoteError> {
    let url = Url::parse(url.trim()).map_err(|e| RemoteError::Unsafe(e.to_string()))?;
    let target = check_url(cfg, &url)?;
    Ok((url, target))
}

/// Refuses when any of `addrs` is neither public nor in [`RemoteConfig::private_allowed`].
fn vet_addrs(cfg: &RemoteConfig, host: &TargetHost, addrs: &[IpAddr]) -> Result<(), RemoteError> {
    if addrs.is_empty() {
        return Err(RemoteError::Fetch(format!(
            "DNS lookup of {host} returned no addresses"
        )));
    }
    for &ip in addrs {
        if !is_public(ip) && !cfg.private_allowed.iter().any(|net| net.contains(ip)) {
            tracing::debug!(%host, %ip, "refusing non-public address");
            return Err(RemoteError::Forbidden(match host {
                TargetHost::Ip(_) => format!("host {host} is a non-public address"),
                TargetHost::Domain(_) => format!("host {host} resolves to non-public address {ip}"),
            }));
        }
    }
    Ok(())
}

/// Resolves the target (an IP literal resolves to itself) and vets every address.
async fn resolve(cfg: &RemoteConfig, target: &Target) -> Result<Vec<SocketAddr>, RemoteError> {
    let addrs: Vec<SocketAddr> = match &target.host {
        TargetHost::Ip(ip) => vec![SocketAddr::new(*ip, target.port)],
        TargetHost::Domain(d) => {
            let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((d.as_str(), target.port))
                .await
                .map_err(|e| RemoteError::Fetch(format!("DNS lookup of {d} failed: {e}")))?
                .collect();
            addrs.sort_unstable();
            addrs.dedup();
            addrs
        }
    };
    let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
    vet_addrs(cfg, &target.host, &ips)?;
    Ok(addrs)
}

/// The client's DNS resolver: refuses every lookup, so the client can only reach the addresses
/// pinned with `resolve_to_addrs` (or IP literals, which need no lookup).
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let msg = format!("unvetted DNS lookup of {} refused", name.as_str());
        Box::pin(
            async move { Err::<reqwest::dns::Addrs, Box<dyn StdError + Send + Sync>>(msg.into()) },
        )
    }
}

/// A one-request client pinned to the vetted `addrs` of `target`.
fn client(
    target: &Target,
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<reqwest::Client, RemoteError> {
    let mut builder = reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(0)
        .user_agent(USER_AGENT)
        .dns_resolver(Arc::new(NoDns));
    if let TargetHost::Domain(d) = &target.host {
        builder = builder.resolve_to_addrs(d, addrs);
    }
    builder
        .build()
        .map_err(|e| RemoteError::Fetch(format!("cannot build HTTP client: {}", error_text(e))))
}

/// A reqwest error as text, without the URL and with its causes.
fn error_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.ends_with(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Downloads `url` under `cfg`, following and re-checking redirects.
///
/// # Errors
///
/// [`RemoteError::Unsafe`] for a refused URL, [`RemoteError::Forbidden`] for a host with a
/// non-public address, [`RemoteError::TooLarge`] for a body over [`RemoteConfig::max_bytes`],
/// [`RemoteError::Fetch`] for any other failure (DNS, connection, timeout, non-2xx status, too
/// many redirects).
pub async fn fetch(cfg: &RemoteConfig, url: &str) -> Result<Fetched, RemoteError> {
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    match tokio::time::timeout_at(deadline, fetch_inner(cfg, url, deadline)).await {
        Ok(result) => result,
        Err(_) => Err(RemoteError::Fetch(format!(
            "timed out after {} ms",
            cfg.timeout.as_millis()
        ))),
    }
}

async fn fetch_inner(
    cfg: &RemoteConfig,
    url: &str,
    deadline: tokio::time::Instant,
) -> Result<Fetched, RemoteError> {
    let (mut url, mut target) = parse_url(cfg, url)?;
    let mut redirects = 0usize;
    loop {
        let addrs = resolve(cfg, &target).await?;
        tracing::debug!(host = %target.host, port = target.port, redirects, ?addrs, "fetching");
        let remaining = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .max(Duration::from_millis(1));
        let client = client(&target, &addrs, remaining)?;
        let mut response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| RemoteError::Fetch(error_text(e)))?;
        let status = response.status();
        tracing::debug!(host = %target.host, %status, "response");

        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
            if redirects >= cfg.max_redirects {
                return Err(RemoteError::Fetch(format!(
                    "too many redirects (more than {})",
                    cfg.max_redirects
                )));
            }
            let location = response
                .headers()
                .get(LOCATION)
                .ok_or_else(|| RemoteError::Fetch(format!("{status} without Location")))?;
            let location = std::str::from_utf8(location.as_bytes())
                .map_err(|_| RemoteError::Fetch("redirect Location is not UTF-8".to_owned()))?;
            let next = url
                .join(location.trim())
                .map_err(|e| RemoteError::Unsafe(format!("redirect Location: {e}")))?;
            target = check_url(cfg, &next)?;
            url = next;
            redirects += 1;
            continue;
        }
        if !status.is_success() {
            return Err(RemoteError::Fetch(format!("HTTP status {status}")));
        }

        if let Some(len) = response.content_length()
            && len > cfg.max_bytes
        {
            tracing::debug!(host = %target.host, len, "Content-Length over the cap");
            return Err(RemoteError::TooLarge);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let prealloc = response
            .content_length()
            .unwrap_or(0)
            .min(cfg.max_bytes)
            .min(MAX_PREALLOC);
        let mut bytes = Vec::with_capacity(usize::try_from(prealloc).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| RemoteError::Fetch(error_text(e)))?
        {
            let total = u64::try_from(bytes.len())
                .unwrap_or(u64::MAX)
                .saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
            if total > cfg.max_bytes {
                tracing::debug!(host = %target.host, "body over the cap");
                return Err(RemoteError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        tracing::debug!(host = %target.host, len = bytes.len(), "fetched");
        return Ok(Fetched {
            bytes,
            content_type,
            final_url: url.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    type Handler = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

    /// A canned HTTP/1.1 response with a Content-Length body.
    fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut out = out.into_bytes();
        out.extend_from_slice(body);
        out
    }

    /// Serves `handler(path)` to every connection on `ip:0`; returns the bound address.
    async fn serve(ip: &str, handler: Handler) -> SocketAddr {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let handler = handler.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    let _ = sock.write_all(&handler(&path)).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        addr
    }

    fn allow_local() -> RemoteConfig {
        RemoteConfig {
            private_allowed: vec!["127.0.0.1/32".parse().expect("net")],
            timeout: Duration::from_secs(10),
            ..RemoteConfig::default()
        }
    }

    fn image_server() -> Handler {
        Arc::new(|path: &str| match path {
            "/img.png" => response(
                "200 OK",
                &[("Content-Type", "image/png")],
                b"\x89PNG fake bytes",
            ),
            _ => response("404 Not Found", &[], b"nope"),
        })
    }

    #[tokio::test]
    async fn allowed_fetch_returns_bytes_and_type() {
        let addr = serve("127.0.0.1", image_server()).await;
        let url = format!("http://{addr}/img.png");
        let got = fetch(&allow_local(), &url).await.expect("fetch");
        assert_eq!(got.bytes, b"\x89PNG fake bytes");
        assert_eq!(got.content_type.as_deref(), Some("image/png"));
        assert_eq!(got.final_url, url);
    }

    #[tokio::test]
    async fn loopback_refused_by_default() {
        let addr = serve("127.0.0.1", image_server()).await;
        let err = fetch(&RemoteConfig::default(), &format!("http://{addr}/img.png"))
            .await
            .expect_err("loopback must be refused");
        assert!(matches!(err, RemoteError::Forbidden(_)), "{err:?}");
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("127.0.0.1"), "{err}");

        let url = format!("http://localhost:{}/img.png", addr.port());
        let err = fetch(&RemoteConfig::default(), &url)
            .await
            .expect_err("localhost must be refused");
        assert!(matches!(err, RemoteError::Forbidden(_)), "{err:?}");
        assert!(err.to_string().contains("localhost"), "{err}");
    }

    #[tokio::test]
    async fn unsafe_urls() {
        let addr = serve("127.0.0.1", image_server()).await;
        let port = addr.port();
        let cfg = allow_local();
        for url in [
            "ftp://127.0.0.1/x".to_owned(),
            "file:///etc/passwd".to_owned(),
            "gopher://127.0.0.1/".to_owned(),
            "http://".to_owned(),
            "http://:80/".to_owned(),
            "not a url".to_owned(),
            "http://127.0.0.1:abc/".to_owned(),
            "http://127.0.0.1:99999/".to_owned(),
            format!("http://user:pw@127.0.0.1:{port}/img.png"),
            format!("http://user@127.0.0.1:{port}/img.png"),
            format!("http://:pw@127.0.0.1:{port}/img.png"),
        ] {
            let err = fetch(&cfg, &url).await.expect_err(&url);
            assert!(matches!(err, RemoteError::Unsafe(_)), "{url}: {err:?}");
            assert!(
                err.to_string()
                    .starts_with("Invalid or unsafe URL provided"),
                "{err}"
            );
            assert_eq!(err.status(), 400);
        }
    }

    #[tokio::test]
    async fn allowed_hosts() {
        let cfg = RemoteConfig {
            allowed_hosts: vec!["Example.COM".to_owned()],
            ..RemoteConfig::default()
        };
        for url in [
            "https://evil.com/x",
            "https://example.com.evil.com/",
            "https://notexample.com/",
            "https://example.org/",
            "http://127.0.0.1/",
        ] {
            let err = fetch(&cfg, url).await.expect_err(url);
            assert!(matches!(err, RemoteError::Unsafe(_)), "{url}: {err:?}");
        }
        for url in [
            "http://sub.example.com/",
            "http://a.b.EXAMPLE.com/x?y",
            "https://example.com/",
            "https://example.com./",
        ] {
            let parsed = Url::parse(url).expect("url");
            assert!(check_url(&cfg, &parsed).is_ok(), "{url}");
        }

        let cfg = RemoteConfig {
            allowed_hosts: vec!["127.0.0.1".to_owned(), "[::1]".to_owned()],
            ..RemoteConfig::default()
        };
        for (url, ok) in [
            ("http://127.0.0.1/", true),
            ("http://[::1]/", true),
            ("http://127.0.0.2/", false),
            ("http://x.127.0.0.1.evil/", false),
        ] {
            let parsed = Url::parse(url).expect("url");
            assert_eq!(check_url(&cfg, &parsed).is_ok(), ok, "{url}");
        }
        // An empty list allows any host.
        let parsed = Url::parse("https://anything.example/").expect("url");
        assert!(check_url(&RemoteConfig::default(), &parsed).is_ok());
    }

    #[tokio::test]
    async fn too_large() {
        let handler: Handler = Arc::new(|path: &str| match path {
            "/cl" => response("200 OK", &[], &[7u8; 1000]),
            "/exact" => response("200 OK", &[], &[7u8; 100]),
            // No Content-Length: the body ends when the connection closes.
            _ => {
                let mut out = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
                out.extend_from_slice(&[9u8; 5000]);
                out
            }
        });
        let addr = serve("127.0.0.1", handler).await;
        let cfg = RemoteConfig {
            max_bytes: 100,
            ..allow_local()
        };
        let err = fetch(&cfg, &format!("http://{addr}/cl"))
            .await
            .expect_err("over Content-Length cap");
        assert!(matches!(err, RemoteError::TooLarge), "{err:?}");
        assert_eq!(err.status(), 413);
        assert_eq!(err.to_string(), "Content too large");

        let err = fetch(&cfg, &format!("http://{addr}/stream"))
            .await
            .expect_err("over streamed cap");
        assert!(matches!(err, RemoteError::TooLarge), "{err:?}");

        let got = fetch(&cfg, &format!("http://{addr}/exact"))
            .await
            .expect("exactly the cap is fine");
        assert_eq!(got.bytes.len(), 100);
        assert_eq!(got.content_type, None);

        let cfg = RemoteConfig {
            max_bytes: 10_000,
            ..allow_local()
        };
        let got = fetch(&cfg, &format!("http://{addr}/stream"))
            .await
            .expect("close-delimited body under the cap");
        assert_eq!(got.bytes, vec![9u8; 5000]);
    }

    #[tokio::test]
    async fn not_found_is_fetch_error() {
        let addr = serve("127.0.0.1", image_server()).await;
        let err = fetch(&allow_local(), &format!("http://{addr}/missing"))
            .await
            .expect_err("404");
        assert!(matches!(err, RemoteError::Fetch(_)), "{err:?}");
        assert!(
            err.to_string().starts_with("Failed to fetch URL: "),
            "{err}"
        );
        assert!(err.to_string().contains("404"), "{err}");
        assert_eq!(err.status(), 400);
    }

    #[tokio::test]
    async fn connection_refused_is_fetch_error() {
        // Bind then drop, so nothing listens on the port.
        let port = {
            let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = fetch(&allow_local(), &format!("http://127.0.0.1:{port}/"))
            .await
            .expect_err("refused");
        assert!(matches!(err, RemoteError::Fetch(_)), "{err:?}");
    }

    #[tokio::test]
    async fn redirects() {
        let other = serve("127.0.0.2", image_server()).await;
        let handler: Handler = Arc::new(move |path: &str| match path {
            "/img.png" => response("200 OK", &[("Content-Type", "image/png")], b"pixels"),
            "/to-other" => response(
                "302 Found",
                &[(
                    "Location",
                    &format!("http://127.0.0.2:{}/img.png", other.port()),
                )],
                b"",
            ),
            "/to-local" => response("301 Moved Permanently", &[("Location", "img.png")], b""),
            "/to-local-abs" => {
                response("307 Temporary Redirect", &[("Location", "/to-local")], b"")
            }
            "/to-ftp" => response("308 Permanent Redirect", &[("Location", "ftp://x/")], b""),
            "/loop" => response("302 Found", &[("Location", "/loop")], b""),
            "/no-location" => response("303 See Other", &[], b""),
            _ => response("404 Not Found", &[], b""),
        });
        let addr = serve("127.0.0.1", handler).await;
        let cfg = allow_local();

        let err = fetch(&cfg, &format!("http://{addr}/to-other"))
            .await
            .expect_err("redirect to 127.0.0.2");
        assert!(matches!(err, RemoteError::Forbidden(_)), "{err:?}");
        assert!(err.to_string().contains("127.0.0.2"), "{err}");

        let got = fetch(&cfg, &format!("http://{addr}/to-local-abs"))
            .await
            .expect("local redirects");
        assert_eq!(got.bytes, b"pixels");
        assert_eq!(got.content_type.as_deref(), Some("image/png"));
        assert_eq!(got.final_url, format!("http://{addr}/img.png"));

        // Two hops, but only one allowed.
        let one = RemoteConfig {
            max_redirects: 1,
            ..allow_local()
        };
        let err = fetch(&one, &format!("http://{addr}/to-local-abs"))
            .await
            .expect_err("too many");
        assert!(matches!(err, RemoteError::Fetch(_)), "{err:?}");
        assert!(
            fetch(&one, &format!("http://{addr}/to-local"))
                .await
                .is_ok()
        );

        let err = fetch(&cfg, &format!("http://{addr}/loop"))
            .await
            .expect_err("loop");
        assert!(matches!(err, RemoteError::Fetch(_)), "{err:?}");
        assert!(err.to_string().contains("too many redirects"), "{err}");

        let err = fetch(&cfg, &format!("http://{addr}/to-ftp"))
            .await
            .expect_err("ftp");
        assert!(matches!(err, RemoteError::Unsafe(_)), "{err:?}");

        let err = fetch(&cfg, &format!("http://{addr}/no-location"))
            .await
            .expect_err("no location");
        assert!(matches!(err, RemoteError::Fetch(_)), "{err:?}");

        // With 127.0.0.2 allowed too, the cross-host redirect is followed.
        let both = RemoteConfig {
            private_allowed: vec!["127.0.0.0/8".parse().expect("net")],
            ..allow_local()
        };
        let got = fetch(&both, &format!("http://{addr}/to-other"))
            .await
            .expect("allowed redirect");
        assert_eq!(got.bytes, b"\x89PNG fake bytes");
    }

    #[tokio::test]
    async fn localhost_fetch_when_allowed() {
        let addr = serve("127.0.0.1", image_server()).await;
        let cfg = RemoteConfig {
            private_allowed: vec![
                "127.0.0.1/32".parse().expect("net"),
                "::1/128".parse().expect("net"),
            ],
            ..allow_local()
        };
        let url = format!("http://LocalHost:{}/img.png", addr.port());
        let got = fetch(&cfg, &url).await.expect("localhost allowed");
        assert_eq!(got.bytes, b"\x89PNG fake bytes");
        assert_eq!(
            got.final_url,
            format!("http://localhost:{}/img.png", addr.port())
        );
    }

    #[tokio::test]
    async fn client_is_pinned_and_does_no_dns() {
        let addr = serve("127.0.0.1", image_server()).await;
        let target = Target {
            host: TargetHost::Domain("pinned.test".to_owned()),
            port: addr.port(),
        };
        let client = client(&target, &[addr], Duration::from_secs(10)).expect("client");
        // The pinned name reaches the vetted address without any lookup.
        let resp = client
            .get(format!("http://pinned.test:{}/img.png", addr.port()))
            .send()
            .await
            .expect("pinned");
        assert_eq!(resp.status(), 200);
        // Any other name is refused by the client's resolver rather than looked up.
        let err = client
            .get(format!("http://other.test:{}/img.png", addr.port()))
            .send()
            .await
            .expect_err("unpinned");
        assert!(error_text(err).contains("unvetted DNS lookup"));
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock); // never answer
            }
        });
        let cfg = RemoteConfig {
            timeout: Duration::from_millis(300),
            ..allow_local()
        };
        let started = std::time::Instant::now();
        let err = fetch(&cfg, &format!("http://{addr}/"))
            .await
            .expect_err("timeout");
        assert!(matches!(err, RemoteError::Fetch(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn mixed_resolution_refused() {
        let host = TargetHost::Domain("mixed.test".to_owned());
        let cfg = RemoteConfig::default();
        let public: IpAddr = "8.8.8.8".parse().expect("ip");
        let private: IpAddr = "10.0.0.1".parse().expect("ip");
        assert!(vet_addrs(&cfg, &host, &[public]).is_ok());
        let err = vet_addrs(&cfg, &host, &[public, private]).expect_err("mixed");
        assert!(matches!(err, RemoteError::Forbidden(_)), "{err:?}");
        assert!(err.to_string().contains("mixed.test"), "{err}");
        assert!(err.to_string().contains("10.0.0.1"), "{err}");
        assert!(matches!(
            vet_addrs(&cfg, &host, &[]),
            Err(RemoteError::Fetch(_))
        ));
        let cfg = RemoteConfig {
            private_allowed: vec!["10.0.0.0/8".parse().expect("net")],
            ..RemoteConfig::default()
        };
        assert!(vet_addrs(&cfg, &host, &[public, private]).is_ok());
    }
}
