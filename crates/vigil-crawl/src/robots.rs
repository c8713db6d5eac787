//! robots.txt, honoured by default (`CrawlOptions::obey_robots`).
//!
//! Each host's `/robots.txt` is fetched once per run (through the same fetcher, so the same
//! limits and proxy apply) and parsed with `texting_robots`. As the robots exclusion standard
//! (RFC 9309) says: a 4xx answer (no file) allows everything; a 5xx answer or an unreachable
//! host disallows everything for this run (the server may be overloaded), and an unparsable file
//! allows everything. Whether to honour it is the operator's decision (`--ignore-robots`): a
//! site hosting abuse material may well disallow every crawler.

use texting_robots::Robot;
use url::Url;

use crate::Error;
use crate::fetch::Fetcher;

/// One host's rules.
#[derive(Debug)]
pub enum Rules {
    /// Everything may be fetched.
    AllowAll,
    /// Nothing may be fetched.
    DisallowAll,
    /// The parsed file.
    Parsed(Box<Robot>),
}

impl Rules {
    /// Whether `url` may be fetched.
    pub fn allowed(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::DisallowAll => false,
            Rules::Parsed(r) => r.allowed(url.as_str()),
        }
    }
}

/// The product token of a User-Agent (`vigil-crawl/0.1.0` → `vigil-crawl`).
fn product_token(user_agent: &str) -> &str {
    user_agent
        .split(['/', ' '])
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or(user_agent)
}

/// Fetches and parses the rules for the host of `url`.
pub async fn fetch_rules(fetcher: &Fetcher, url: &Url) -> Rules {
    let mut robots = url.clone();
    robots.set_path("/robots.txt");
    robots.set_query(None);
    let host = robots.host_str().map(str::to_string);
    let same_host = |u: &Url| u.host_str().map(str::to_string) == host;
    match fetcher.fetch(&robots, &same_host).await {
        // Groups are matched on the product token ("vigil-crawl"), not the whole
        // User-Agent with its version.
        Ok(f) => match Robot::new(product_token(&fetcher.options().user_agent), &f.body) {
            Ok(r) => Rules::Parsed(Box::new(r)),
            Err(e) => {
                tracing::warn!(url = %robots, error = %e, "unparsable robots.txt: allowing all");
                Rules::AllowAll
            }
        },
        Err(Error::Status { status, .. }) if (400..500).contains(&status) => Rules::AllowAll,
        Err(e) => {
            tracing::warn!(url = %robots, error = %e, "robots.txt unavailable: disallowing the host for this run");
            Rules::DisallowAll
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_for_our_product_token() {
        let txt = b"User-agent: vigil-crawl\nDisallow: /mine/\n\nUser-agent: *\nDisallow: /all/\n";
        let r = Rules::Parsed(Box::new(
            Robot::new(product_token("vigil-crawl/0.1.0"), txt).unwrap(),
        ));
        let u = |p: &str| Url::parse(&format!("http://site.test{p}")).unwrap();
        assert!(!r.allowed(&u("/mine/x")));
        // Our own group applies, not the catch-all one.
        assert!(r.allowed(&u("/all/x")));
        assert_eq!(product_token("agent"), "agent");
    }
}
