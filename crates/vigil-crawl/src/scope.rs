//! URL normalisation and the crawl's scope.
//!
//! Normalising makes one key per resource so that the frontier's de-duplication works: the `url`
//! crate already lowercases the scheme and host, drops default ports, resolves `.`/`..` and
//! percent-encodes what must be; on top of that the fragment is dropped (it never reaches the
//! server) and a host's trailing dots removed. The scope decides which URLs a crawl may fetch:
//! its hosts, a depth limit and include/exclude patterns over the normalised URL.

use std::collections::BTreeSet;

use regex::Regex;
use url::Url;

use crate::Error;

/// Parses and normalises an absolute http(s) URL.
pub fn normalize(input: &str) -> Result<Url, Error> {
    let url = Url::parse(input.trim()).map_err(|e| Error::BadUrl {
        url: input.to_string(),
        why: e.to_string(),
    })?;
    normalize_url(url).map_err(|why| Error::BadUrl {
        url: input.to_string(),
        why,
    })
}

/// Normalises a parsed URL (see the module docs); refuses non-http(s) URLs and URLs without a
/// host.
pub fn normalize_url(mut url: Url) -> Result<Url, String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not crawled", url.scheme()));
    }
    url.set_fragment(None);
    let host = url.host_str().ok_or("no host")?.to_string();
    if host.is_empty() {
        return Err("no host".into());
    }
    // Every trailing dot (`a.example..` is `a.example.` is `a.example`), so that normalising
    // twice changes nothing (found by the fuzz target `crawl_report_url`).
    let trimmed = host.trim_end_matches('.');
    if trimmed.is_empty() {
        return Err("no host".into());
    }
    if trimmed.len() != host.len() {
        url.set_host(Some(trimmed)).map_err(|e| e.to_string())?;
    }
    // Credentials in a crawled URL would be sent to whoever hosts the link: drop them.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

/// The host of a normalised URL (lowercase, no port), `""` if none.
pub fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or("").to_string()
}

/// Whether the URL's host is a Tor onion service (`….onion`), which must never be resolved
/// locally.
pub fn is_onion(url: &Url) -> bool {
    url.host_str()
        .map(|h| {
            let h = h.trim_end_matches('.');
            h == "onion" || h.ends_with(".onion")
        })
        .unwrap_or(false)
}

/// Which hosts a crawl may visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// The hosts of the seed URLs.
    SameAsSeeds,
    /// These hosts (lowercase), whatever the seeds.
    Listed(BTreeSet<String>),
}

/// What a crawl may fetch.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Hosts allowed.
    pub hosts: Hosts,
    /// Links followed from a seed at most (a seed is depth 0).
    pub max_depth: u32,
    /// If any, a URL must match one of these.
    pub include: Vec<Regex>,
    /// A URL matching any of these is left out.
    pub exclude: Vec<Regex>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            hosts: Hosts::SameAsSeeds,
            max_depth: 5,
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

/// A scope made concrete for one crawl: the seed hosts known.
#[derive(Debug, Clone)]
pub struct ScopeCheck {
    hosts: BTreeSet<String>,
    scope: Scope,
}

impl ScopeCheck {
    /// Resolves `scope` against the crawl's seeds.
    pub fn new(scope: Scope, seeds: &[Url]) -> ScopeCheck {
        let hosts = match &scope.hosts {
            Hosts::SameAsSeeds => seeds.iter().map(host_of).collect(),
            Hosts::Listed(h) => h.clone(),
        };
        ScopeCheck { hosts, scope }
    }

    /// Whether the host of `url` is in scope (redirects are checked with this).
    pub fn host_allowed(&self, url: &Url) -> bool {
        self.hosts.contains(&host_of(url))
    }

    /// Why `url` at `depth` is out of scope, or `None` if it is in.
    pub fn check(&self, url: &Url, depth: u32) -> Option<&'static str> {
        if !self.host_allowed(url) {
            return Some("host out of scope");
        }
        if depth > self.scope.max_depth {
            return Some("deeper than the depth limit");
        }
        let s = url.as_str();
        if !self.scope.include.is_empty() && !self.scope.include.iter().any(|r| r.is_match(s)) {
            return Some("matches no include pattern");
        }
        if self.scope.exclude.iter().any(|r| r.is_match(s)) {
            return Some("matches an exclude pattern");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises() {
        for (input, want) in [
            (
                "HTTP://Example.COM:80/a/./b/../c#frag",
                "http://example.com/a/c",
            ),
            ("https://example.com:443/", "https://example.com/"),
            (
                "https://example.com:8443/x?q=1#y",
                "https://example.com:8443/x?q=1",
            ),
            (
                "http://user:pw@example.com./a b",
                "http://example.com/a%20b",
            ),
            ("http://example.com", "http://example.com/"),
        ] {
            assert_eq!(normalize(input).unwrap().as_str(), want, "{input}");
        }
        assert!(normalize("ftp://example.com/").is_err());
        assert!(normalize("mailto:a@example.com").is_err());
        assert!(normalize("not a url").is_err());
    }

    proptest! {
        /// The store's check of reported URLs (`vigil_store::report_url`, used by the server,
        /// which does not depend on this crate) normalises as `normalize` does: a queued report
        /// is the frontier's key for the same URL. URLs with credentials are the one difference
        /// (refused there, dropped here).
        #[test]
        fn reported_urls_normalise_as_the_crawler_does(
            scheme in "(http|https|HTTP|Https)",
            host in "[a-zA-Z0-9]{1,8}(\\.[a-zA-Z]{1,5}){0,2}\\.{0,3}",
            port in proptest::option::of(prop_oneof![Just(80u16), Just(443), 1u16..9000]),
            path in "(/[a-zA-Z0-9 %._~-]{0,6}){0,3}(/\\.\\.|/\\.)?",
            query in proptest::option::of("[a-z0-9=&]{0,6}"),
            fragment in proptest::option::of("[a-z0-9]{0,4}"),
        ) {
            let mut input = format!("{scheme}://{host}");
            if let Some(p) = port {
                input += &format!(":{p}");
            }
            input += &path;
            if let Some(q) = query {
                input += &format!("?{q}");
            }
            if let Some(f) = fragment {
                input += &format!("#{f}");
            }
            let ours = normalize(&input);
            let store = vigil_store::report_url(&input);
            match (ours, store) {
                (Ok(u), Ok((s, h))) => {
                    prop_assert_eq!(u.as_str(), s.as_str(), "{}", input);
                    prop_assert_eq!(host_of(&u), h);
                    // Normalising twice changes nothing (`a.example..` once kept one dot).
                    let again = normalize(u.as_str()).unwrap();
                    prop_assert_eq!(again.as_str(), u.as_str());
                    prop_assert_eq!(&vigil_store::report_url(&s).unwrap().0, &s);
                }
                (a, b) => prop_assert!(a.is_err() && b.is_err(), "{}: {:?} {:?}", input, a, b),
            }
        }
    }

    #[test]
    fn onion_names() {
        assert!(is_onion(&normalize("http://abcdef.onion/x").unwrap()));
        assert!(is_onion(&normalize("http://www.abcdef.ONION./x").unwrap()));
        assert!(!is_onion(&normalize("http://onion.example.com/").unwrap()));
    }

    #[test]
    fn scope_rules() {
        let seeds = [normalize("http://a.test/").unwrap()];
        let scope = Scope {
            max_depth: 2,
            include: vec![Regex::new("/keep").unwrap()],
            exclude: vec![Regex::new("drop").unwrap()],
            ..Scope::default()
        };
        let c = ScopeCheck::new(scope, &seeds);
        let u = |s: &str| normalize(s).unwrap();
        assert_eq!(c.check(&u("http://a.test/keep/1"), 2), None);
        assert!(c.check(&u("http://a.test/keep/1"), 3).is_some());
        assert!(c.check(&u("http://b.test/keep/1"), 0).is_some());
        assert!(c.check(&u("http://a.test/other"), 0).is_some());
        assert!(c.check(&u("http://a.test/keep/drop"), 0).is_some());
    }

    proptest! {
        // Normalising is idempotent, drops fragments and keeps the host's case folded.
        #[test]
        fn normalize_is_idempotent(
            host in "[a-zA-Z][a-zA-Z0-9-]{0,10}(\\.[a-zA-Z]{2,5}){1,2}",
            port in proptest::option::of(1u16..),
            path in "(/[a-zA-Z0-9._~%!$&'()*+,;=:@ -]{0,8}){0,4}",
            query in proptest::option::of("[a-zA-Z0-9=&%+ ]{0,12}"),
            frag in proptest::option::of("[a-z0-9]{0,5}"),
        ) {
            let mut s = format!("http://{host}");
            if let Some(p) = port { s += &format!(":{p}"); }
            s += &path;
            if let Some(q) = &query { s += &format!("?{q}"); }
            if let Some(f) = &frag { s += &format!("#{f}"); }
            let once = normalize(&s).unwrap();
            let twice = normalize(once.as_str()).unwrap();
            prop_assert_eq!(&once, &twice);
            prop_assert!(once.fragment().is_none());
            prop_assert_eq!(once.host_str().unwrap(), host.to_ascii_lowercase());
            prop_assert!(once.port() != Some(80));
        }
    }
}
