//! The fetcher: one URL in, its bytes (bounded) and what they are out.
//!
//! Everything a hostile server controls is bounded here: the body is streamed and reading stops
//! at the size cap; the whole fetch (every redirect hop, headers and body) runs under one time
//! limit, so a server dripping a byte a second (slow-loris) cannot hold a worker; redirects are
//! followed by hand, one hop at a time, each hop checked (scope, onion routing) with a hop limit
//! and loop detection; compressed bodies (`gzip`, `deflate`, `br`; the HTTP client decompresses
//! nothing itself) are inflated with an output cap and a ratio limit (decompression bombs).
//! What the bytes *are* is sniffed from their first bytes, never taken from the
//! `Content-Type` header or the extension, which a site may set to anything.
//!
//! Onion hosts go through the SOCKS5 proxy with remote name resolution (`socks5h`), so the name
//! is handed to Tor and never to the local resolver; with no proxy an onion URL is refused
//! before anything is sent. With `proxy_all`, every URL goes through the proxy.

use std::collections::HashSet;
use std::io::Read;
use std::net::IpAddr;
use std::time::Duration;

use url::Url;

use crate::Error;
use crate::scope::{is_onion, normalize_url};

/// Limits and settings of the fetcher.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Largest body read, in bytes (as sent, before decompression).
    pub max_bytes: u64,
    /// Largest body after decompression, in bytes.
    pub max_decompressed_bytes: u64,
    /// Largest decompressed/compressed ratio accepted once the output passes 1 MiB.
    pub max_ratio: u64,
    /// Time allowed for one whole fetch (all redirect hops, headers and body).
    pub timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Redirect hops followed at most.
    pub max_redirects: usize,
    /// Further attempts after a transient failure (5xx, 429, time-out, connection error).
    pub retries: u32,
    /// Wait before the first retry; doubled before each next one.
    pub backoff: Duration,
    /// A SOCKS5 proxy with remote DNS (`socks5h://host:port`), used for onion hosts.
    pub proxy: Option<String>,
    /// Send every request through the proxy, not only onion hosts.
    pub proxy_all: bool,
    /// The `User-Agent` sent (and the name robots.txt rules are matched against).
    pub user_agent: String,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_bytes: 64 << 20,
            max_decompressed_bytes: 64 << 20,
            max_ratio: 100,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            max_redirects: 10,
            retries: 2,
            backoff: Duration::from_millis(500),
            proxy: None,
            proxy_all: false,
            user_agent: concat!("vigil-crawl/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// What fetched bytes are, by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An HTML page.
    Html,
    /// An image Vigil decodes.
    Image(vigil_media::Format),
    /// A video container Vigil decodes.
    Video(vigil_video::Container),
    /// Anything else (kept for nothing: neither parsed nor hashed).
    Other,
}

impl Kind {
    /// `page`, `image`, `video` or `other`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Html => "page",
            Kind::Image(_) => "image",
            Kind::Video(_) => "video",
            Kind::Other => "other",
        }
    }
}

/// Sniffs what `body` is from its first bytes: images and videos by their magic numbers, HTML
/// by the patterns of the WHATWG MIME sniffing standard (a tag such as `<html`, `<!doctype
/// html`, `<a `, … after optional whitespace and byte-order mark).
pub fn sniff(body: &[u8]) -> Kind {
    if let Some(f) = vigil_media::Format::sniff(body) {
        return Kind::Image(f);
    }
    if let Some(c) = vigil_video::sniff(&body[..body.len().min(vigil_video::SNIFF_LEN)]) {
        return Kind::Video(c);
    }
    let mut head = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    while let Some((first, rest)) = head.split_first()
        && matches!(first, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
    {
        head = rest;
    }
    const TAGS: &[&[u8]] = &[
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
        b"<META",
        b"<BASE",
        b"<IMG",
    ];
    for tag in TAGS {
        if head.len() > tag.len()
            && head[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(head[tag.len()], b' ' | b'>' | b'\t' | b'\n' | b'\r' | b'/')
        {
            return Kind::Html;
        }
    }
    Kind::Other
}

/// A fetched URL.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL the body came from (after redirects).
    pub url: Url,
    /// The redirect hops followed, in order (the first is the URL asked for).
    pub redirects: Vec<Url>,
    /// The final status (2xx).
    pub status: u16,
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// What the body is, sniffed.
    pub kind: Kind,
    /// The `Content-Type` the server claimed (for reports only; never trusted).
    pub content_type: Option<String>,
    /// The address the body came from, when connected directly (none through a proxy).
    pub ip: Option<IpAddr>,
}

/// Fetches URLs within limits; cheap to clone (shares connection pools).
#[derive(Debug, Clone)]
pub struct Fetcher {
    direct: reqwest::Client,
    proxied: Option<reqwest::Client>,
    options: FetchOptions,
}

impl Fetcher {
    /// Builds the HTTP clients: direct, and through the proxy if one is set.
    pub fn new(options: FetchOptions) -> Result<Fetcher, Error> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(options.connect_timeout)
                .user_agent(options.user_agent.clone())
        };
        let direct = builder()
            .no_proxy()
            .build()
            .map_err(|e| Error::Settings(format!("building the HTTP client: {e}")))?;
        let proxied = match &options.proxy {
            None if options.proxy_all => {
                return Err(Error::Settings(
                    "routing everything through a proxy needs a proxy URL".into(),
                ));
            }
            None => None,
            Some(p) => {
                let parsed =
                    Url::parse(p).map_err(|e| Error::Settings(format!("proxy URL {p:?}: {e}")))?;
                if parsed.scheme() != "socks5h" {
                    return Err(Error::Settings(format!(
                        "proxy URL {p:?}: only socks5h:// is accepted (the proxy resolves \
                         names, so no host name, onion or not, reaches the local resolver)"
                    )));
                }
                let proxy = reqwest::Proxy::all(p)
                    .map_err(|e| Error::Settings(format!("proxy URL {p:?}: {e}")))?;
                Some(
                    builder()
                        .proxy(proxy)
                        .build()
                        .map_err(|e| Error::Settings(format!("building the proxy client: {e}")))?,
                )
            }
        };
        Ok(Fetcher {
            direct,
            proxied,
            options,
        })
    }

    /// The settings.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// The client for `url`, or why it may not be fetched at all.
    fn client_for(&self, url: &Url) -> Result<(&reqwest::Client, bool), Error> {
        match &self.proxied {
            Some(p) if self.options.proxy_all || is_onion(url) => Ok((p, true)),
            None if is_onion(url) => Err(Error::Refused {
                url: url.to_string(),
                why: "an onion address needs a SOCKS5 proxy (--proxy socks5h://127.0.0.1:9050); \
                      it was not resolved or contacted"
                    .into(),
            }),
            _ => Ok((&self.direct, false)),
        }
    }

    /// Whether `url` may be fetched at all: an onion URL with no proxy may not (nothing is
    /// resolved or sent).
    pub fn check(&self, url: &Url) -> Result<(), Error> {
        self.client_for(url).map(|_| ())
    }

    /// Fetches `url` with retries on transient failures. `follow` decides whether a redirect
    /// target may be fetched (the crawl's scope).
    pub async fn fetch(
        &self,
        url: &Url,
        follow: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<Fetched, Error> {
        let mut attempt = 0;
        loop {
            let seconds = self.options.timeout.as_secs_f64();
            let result = match tokio::time::timeout(
                self.options.timeout,
                self.fetch_once(url, follow),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    url: url.to_string(),
                    seconds,
                }),
            };
            match result {
                Err(e) if e.is_transient() && attempt < self.options.retries => {
                    let wait = self.options.backoff * 2u32.saturating_pow(attempt);
                    tracing::debug!(%url, attempt, error = %e, "retrying after a transient failure");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once(
        &self,
        start: &Url,
        follow: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<Fetched, Error> {
        let mut url = start.clone();
        let mut hops = vec![url.clone()];
        let mut seen: HashSet<Url> = HashSet::from([url.clone()]);
        loop {
            let (client, via_proxy) = self.client_for(&url)?;
            let resp = client
                .get(url.clone())
                .header("Accept-Encoding", "gzip, deflate, br")
                .send()
                .await
                .map_err(|source| Error::Request {
                    url: url.to_string(),
                    source,
                })?;
            let status = resp.status();
            if status.is_redirection() {
                let Some(location) = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                else {
                    return Err(Error::Status {
                        url: url.to_string(),
                        status: status.as_u16(),
                    });
                };
                let next = url
                    .join(location.trim())
                    .map_err(|e| e.to_string())
                    .and_then(normalize_url)
                    .map_err(|why| Error::BadUrl {
                        url: location.to_string(),
                        why: format!("redirect from {url}: {why}"),
                    })?;
                if !seen.insert(next.clone()) {
                    return Err(Error::RedirectLoop {
                        url: start.to_string(),
                        again: next.to_string(),
                    });
                }
                if hops.len() > self.options.max_redirects {
                    return Err(Error::TooManyRedirects {
                        url: start.to_string(),
                        limit: self.options.max_redirects,
                    });
                }
                if !follow(&next) {
                    return Err(Error::Refused {
                        url: start.to_string(),
                        why: format!("redirects out of scope, to {next}"),
                    });
                }
                hops.push(next.clone());
                url = next;
                continue;
            }
            if !status.is_success() {
                return Err(Error::Status {
                    url: url.to_string(),
                    status: status.as_u16(),
                });
            }
            let ip = if via_proxy {
                None
            } else {
                resp.remote_addr().map(|a| a.ip())
            };
            let content_type = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let encoding = resp
                .headers()
                .get(reqwest::header::CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_ascii_lowercase());
            let raw = self.read_body(&url, resp).await?;
            let body = match encoding.as_deref() {
                None | Some("") | Some("identity") => raw,
                Some(enc) => self.decompress(&url, enc, &raw)?,
            };
            let kind = sniff(&body);
            return Ok(Fetched {
                url,
                redirects: hops,
                status: status.as_u16(),
                body,
                kind,
                content_type,
                ip,
            });
        }
    }

    /// Streams the body, stopping at the size cap.
    async fn read_body(&self, url: &Url, mut resp: reqwest::Response) -> Result<Vec<u8>, Error> {
        let limit = self.options.max_bytes;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(Error::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|source| Error::Request {
            url: url.to_string(),
            source,
        })? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(Error::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Inflates a body, refusing output past the size cap or, beyond 1 MiB, past the ratio
    /// limit.
    fn decompress(&self, url: &Url, encoding: &str, raw: &[u8]) -> Result<Vec<u8>, Error> {
        let by_ratio = (raw.len() as u64)
            .saturating_mul(self.options.max_ratio)
            .max(1 << 20);
        let limit = self.options.max_decompressed_bytes.min(by_ratio);
        let err = |why: String| Error::Decompress {
            url: url.to_string(),
            encoding: encoding.to_string(),
            why,
        };
        let reader: Box<dyn Read + '_> = match encoding {
            "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            // "deflate" is meant to be zlib-wrapped; some servers send raw deflate.
            "deflate"
                if raw.len() >= 2 && (u16::from(raw[0]) << 8 | u16::from(raw[1])) % 31 == 0 =>
            {
                Box::new(flate2::read::ZlibDecoder::new(raw))
            }
            "deflate" => Box::new(flate2::read::DeflateDecoder::new(raw)),
            "br" => Box::new(brotli::Decompressor::new(raw, 64 << 10)),
            other => return Err(err(format!("unsupported encoding {other:?}"))),
        };
        let mut out = Vec::new();
        reader
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| err(format!("corrupt data: {e}")))?;
        if out.len() as u64 > limit {
            return Err(err(format!(
                "decompresses past {limit} bytes from {} (a decompression bomb?)",
                raw.len()
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0rest"),
            Kind::Image(vigil_media::Format::Jpeg)
        );
        assert_eq!(sniff(b"  \n<!doctype html><p>"), Kind::Html);
        assert_eq!(sniff(b"\xEF\xBB\xBF<HTML>"), Kind::Html);
        assert_eq!(sniff(b"<a href=x>"), Kind::Html);
        assert_eq!(sniff(b"<abbr>"), Kind::Other);
        assert_eq!(sniff(b"plain text"), Kind::Other);
        assert_eq!(sniff(b""), Kind::Other);
    }

    #[test]
    fn bombs_are_refused() {
        use std::io::Write;
        let f = Fetcher::new(FetchOptions {
            max_decompressed_bytes: 4 << 20,
            ..FetchOptions::default()
        })
        .unwrap();
        let url = Url::parse("http://site.test/").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 8 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        let e = f.decompress(&url, "gzip", &bomb).unwrap_err();
        assert!(e.to_string().contains("decompression bomb"), "{e}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(b"<html>small</html>").unwrap();
        let ok = gz.finish().unwrap();
        assert_eq!(
            f.decompress(&url, "gzip", &ok).unwrap(),
            b"<html>small</html>"
        );
        let mut br = Vec::new();
        brotli::CompressorWriter::new(&mut br, 4096, 5, 22)
            .write_all(b"brotli body")
            .unwrap();
        assert_eq!(f.decompress(&url, "br", &br).unwrap(), b"brotli body");
        assert!(f.decompress(&url, "gzip", b"not gzip").is_err());
        assert!(f.decompress(&url, "zstd", b"x").is_err());
    }

    #[tokio::test]
    async fn onion_without_proxy_is_refused() {
        let f = Fetcher::new(FetchOptions::default()).unwrap();
        let url = Url::parse("http://exampleonionaddress.onion/").unwrap();
        let e = f.fetch(&url, &|_| true).await.unwrap_err();
        assert!(matches!(e, Error::Refused { .. }), "{e}");
        assert!(
            Fetcher::new(FetchOptions {
                proxy: Some("socks5://127.0.0.1:9050".into()),
                ..FetchOptions::default()
            })
            .is_err()
        );
    }
}
