//! The server's settings.

use std::net::SocketAddr;
use std::time::Duration;

use crate::remote::RemoteConfig;

/// Which parts of the API are mounted, as HMA's `ROLE_*` flags (all on by default). A part that
/// is off answers 404, as in HMA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    /// `/h/*`, and hashing inside `/m/lookup`.
    pub hasher: bool,
    /// `/m/*`.
    pub matcher: bool,
    /// `/c/*`.
    pub curator: bool,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            hasher: true,
            matcher: true,
            curator: true,
        }
    }
}

/// Everything `vigil serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:5100`, HMA's port).
    pub listen: SocketAddr,
    /// Mounted parts.
    pub parts: Parts,
    /// Largest request body, bytes (uploads included); more is refused with 413 before it is
    /// read. Default 32 MiB.
    pub max_body_bytes: usize,
    /// Limits of image decoding.
    pub decode_limits: vigil_media::Limits,
    /// How uploaded videos are hashed for `vpdq` ([`default_video_options`]: one frame a
    /// second, as python-threatexchange and so HMA; at most 10 minutes of work a video).
    pub video: vigil_video::Options,
    /// Fetching media by URL (`/h/hash?url=`, `/m/lookup?url=`).
    pub remote: RemoteConfig,
    /// How often the matcher follows the store's change feed (default 250 ms).
    pub refresh_every: Duration,
    /// `/status` reports `INDEX-STALE` when the last successful refresh is older (HMA's
    /// `INDEX_CACHE_MAX_STALE_SEC`, default 65 s); zero turns the check off.
    pub stale_after: Duration,
    /// Requests per second per key (bursts of twice that); 0 for no limit (the default).
    pub rate_limit: f64,
    /// Honour `bypass_coinflip` on `GET /m/lookup` too (HMA's docs say it works there; its code
    /// honours it on `POST` only, which is the default here).
    pub bypass_coinflip_on_get: bool,
    /// Mark the web UI's cookies `Secure` (sent over HTTPS only). Off by default, since the
    /// server itself speaks plain HTTP; it must be on whenever the UI is reached through TLS
    /// (a reverse proxy), so that a session cookie never travels in clear.
    pub secure_cookies: bool,
    /// Fetch every exchange at this interval in the background (HMA's `TASK_FETCHER`); `None`
    /// (the default): exchanges are fetched by `vigil exchange fetch` (cron, a timer).
    pub fetch_every: Option<Duration>,
    /// Background tiles of the case map page (`/ui/cases/map`); `None` (the default): no
    /// tiles, the boundaries are drawn on a plain background and the page makes no request
    /// outside the server.
    pub map_tiles: Option<MapTiles>,
}

/// A tile server for the case map's background, as the operator configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTiles {
    /// A URL template with `{z}`, `{x}` and `{y}` (Leaflet's form), `https://` (or `http://`
    /// for a tile server on the operator's own network).
    pub url: String,
    /// The attribution the tiles' licence asks for (plain text).
    pub attribution: String,
}

impl MapTiles {
    /// Checks a template: http(s), a host, `{z}`, `{x}` and `{y}`, no quotes, spaces or
    /// angle brackets (it goes into a Content-Security-Policy and a page). The error says
    /// what is wrong.
    pub fn new(url: &str, attribution: &str) -> Result<MapTiles, String> {
        let url = url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| format!("map tile URL {url:?}: expected http:// or https://"))?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || host.contains('{') && !host.starts_with("{s}.") {
            return Err(format!(
                "map tile URL {url:?}: no host (only {{s}}. may lead a templated host)"
            ));
        }
        for p in ["{z}", "{x}", "{y}"] {
            if !rest.contains(p) {
                return Err(format!("map tile URL {url:?}: no {p}"));
            }
        }
        if url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'<>;`\\".contains(c))
        {
            return Err(format!(
                "map tile URL {url:?}: spaces, quotes, ';' and angle brackets are not allowed"
            ));
        }
        if attribution.len() > 500 {
            return Err("map tile attribution: longer than 500 bytes".into());
        }
        Ok(MapTiles {
            url: url.to_string(),
            attribution: attribution.trim().to_string(),
        })
    }

    /// The origin (scheme and host) tiles come from, for the page's Content-Security-Policy;
    /// a `{s}.` subdomain template allows the host's subdomains.
    pub fn origin(&self) -> String {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("https", &self.url));
        let host = rest.split('/').next().unwrap_or("");
        match host.strip_prefix("{s}.") {
            Some(h) => format!("{scheme}://*.{h}"),
            None => format!("{scheme}://{host}"),
        }
    }
}

/// The server's video hashing: python-threatexchange's sampling (one frame a second), one
/// thread a video (requests run side by side), `vigil-video`'s limits but a time budget of 10
/// minutes rather than an hour (a request should not hold a thread that long).
pub fn default_video_options() -> vigil_video::Options {
    vigil_video::Options {
        limits: vigil_video::Limits {
            time_budget: std::time::Duration::from_secs(600),
            ..vigil_video::Limits::default()
        },
        ..vigil_video::Options::default()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5100)),
            parts: Parts::default(),
            max_body_bytes: 32 << 20,
            decode_limits: vigil_media::Limits::default(),
            video: default_video_options(),
            remote: RemoteConfig::default(),
            refresh_every: Duration::from_millis(250),
            stale_after: Duration::from_secs(65),
            rate_limit: 0.0,
            bypass_coinflip_on_get: false,
            secure_cookies: false,
            fetch_every: None,
            map_tiles: None,
        }
    }
}
