//! Link extraction from HTML: every URL a page points to that may lead to a page or to media.
//!
//! Pages are parsed with `scraper` (html5ever, the browsers' parsing algorithm), so malformed
//! HTML yields what a browser would see instead of an error. Collected: `a`/`area` `href`,
//! `img`/`video`/`audio`/`source`/`embed`/`iframe`/`frame`/`track` `src`, `srcset` (every
//! candidate), `video` `poster`, `object` `data`, `meta http-equiv=refresh`, and CSS `url(…)` in
//! `style` attributes and `<style>` elements. Relative URLs resolve against the first `<base
//! href>` (itself resolved against the page URL). Results are normalised, de-duplicated in
//! document order and capped (a link farm cannot grow one page's links without bound).

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html};
use url::Url;

use crate::scope::normalize_url;

static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)"#)
        .expect("a valid constant pattern")
});

/// A link of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Absolute, normalised.
    pub url: Url,
    /// Found where media is expected (`img`/`video`/`audio`/`source`/`embed`/`input` `src`,
    /// `srcset`, `poster`, `object data`, CSS `url()`), at least once on the page: the crawler
    /// fetches these before pages.
    pub media: bool,
}

/// The links of an HTML page, normalised, de-duplicated, in document order, at most `cap`.
/// Returns the links and whether some were left out by the cap.
pub fn extract(html: &str, page: &Url, cap: usize) -> (Vec<Link>, bool) {
    let doc = Html::parse_document(html);
    let elements: Vec<ElementRef<'_>> = doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .collect();
    let base = elements
        .iter()
        .find(|e| e.value().name() == "base" && e.value().attr("href").is_some())
        .and_then(|e| e.value().attr("href"))
        .and_then(|h| page.join(h.trim()).ok())
        .unwrap_or_else(|| page.clone());

    // `(reference, found where media is expected)`.
    let mut raw: Vec<(String, bool)> = Vec::new();
    for e in &elements {
        let v = e.value();
        let page_link = |n: &str| v.attr(n).map(|a| (a.to_string(), false));
        let media_link = |n: &str| v.attr(n).map(|a| (a.to_string(), true));
        match v.name() {
            "a" | "area" | "link" => raw.extend(page_link("href")),
            "iframe" | "frame" | "track" | "script" => raw.extend(page_link("src")),
            "img" | "video" | "audio" | "source" | "embed" | "input" => {
                raw.extend(media_link("src"))
            }
            "object" => raw.extend(media_link("data")),
            "meta" => {
                if v.attr("http-equiv")
                    .is_some_and(|h| h.eq_ignore_ascii_case("refresh"))
                    && let Some(c) = v.attr("content")
                    && let Some(u) = refresh_url(c)
                {
                    raw.push((u, false));
                }
            }
            "style" => raw.extend(
                css_urls(&e.text().collect::<String>())
                    .into_iter()
                    .map(|u| (u, true)),
            ),
            _ => {}
        }
        if v.name() == "video" {
            raw.extend(media_link("poster"));
        }
        if let Some(srcset) = v.attr("srcset") {
            raw.extend(srcset_urls(srcset).into_iter().map(|u| (u, true)));
        }
        if let Some(style) = v.attr("style") {
            raw.extend(css_urls(style).into_iter().map(|u| (u, true)));
        }
    }

    // URL → its place in `out`, so that a link met again only adds its media hint.
    let mut seen: HashMap<Url, usize> = HashMap::new();
    let mut out: Vec<Link> = Vec::new();
    let mut capped = false;
    for (r, media) in raw {
        let r = r.trim();
        if r.is_empty() {
            continue;
        }
        let Ok(joined) = base.join(r) else { continue };
        let Ok(url) = normalize_url(joined) else {
            continue;
        };
        if let Some(&i) = seen.get(&url) {
            out[i].media |= media;
            continue;
        }
        if out.len() >= cap {
            capped = true;
            break;
        }
        seen.insert(url.clone(), out.len());
        out.push(Link { url, media });
    }
    (out, capped)
}

/// The URL of a `meta refresh` content value (`5; url=/next`), if any.
fn refresh_url(content: &str) -> Option<String> {
    let (_, rest) = content.split_once([';', ','])?;
    let rest = rest.trim_start();
    let lower = rest.to_ascii_lowercase();
    let rest = if lower.starts_with("url") {
        rest[3..].trim_start().strip_prefix('=')?.trim()
    } else {
        rest.trim()
    };
    let rest = rest.trim_matches(|c| c == '"' || c == '\'');
    (!rest.is_empty()).then(|| rest.to_string())
}

/// The candidate URLs of a `srcset` (`a.jpg 1x, b.jpg 2x`).
fn srcset_urls(srcset: &str) -> Vec<String> {
    srcset
        .split(',')
        .filter_map(|c| c.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The `url(…)` references of a CSS text.
fn css_urls(css: &str) -> Vec<String> {
    CSS_URL
        .captures_iter(css)
        .filter_map(|c| c.get(1).or(c.get(2)).or(c.get(3)))
        .map(|m| m.as_str().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(html: &str, want: &[&str]) {
        let page = Url::parse("http://site.test/dir/page.html").unwrap();
        let (got, _) = extract(html, &page, 1000);
        let got: Vec<&str> = got.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(got, want, "{html}");
    }

    #[test]
    fn every_kind_of_link() {
        check(
            r#"<html><head><style>body { background: url("/bg.png") }</style>
            <meta http-equiv="Refresh" content="0; URL='next.html'"></head>
            <body><a href="a.html#x">a</a><img src="/i/1.jpg" srcset="/i/2.jpg 2x, /i/3.jpg 3x">
            <video src="v.mp4" poster="p.jpg"><source src="/v/s.webm"></video>
            <div style="background-image:url(d.gif)"></div>
            <a href="mailto:x@y">m</a><a href="javascript:void(0)">j</a><a href="a.html">dup</a>
            </body></html>"#,
            &[
                "http://site.test/bg.png",
                "http://site.test/dir/next.html",
                "http://site.test/dir/a.html",
                "http://site.test/i/1.jpg",
                "http://site.test/i/2.jpg",
                "http://site.test/i/3.jpg",
                "http://site.test/dir/v.mp4",
                "http://site.test/dir/p.jpg",
                "http://site.test/v/s.webm",
                "http://site.test/dir/d.gif",
            ],
        );
    }

    #[test]
    fn media_hints() {
        let page = Url::parse("http://site.test/").unwrap();
        let (got, _) = extract(
            r#"<a href="/p.html">p</a><img src="/i.jpg"><a href="/i.jpg">the same image</a>
            <iframe src="/frame.html"></iframe><script src="/s.js"></script>
            <link rel="stylesheet" href="/s.css"><object data="/o.swf"></object>
            <a href="/big.jpg"><img srcset="/small.jpg 1x"></a><video poster="/v.jpg"></video>
            <input type="image" src="/button.png"><div style="background:url(/bg.png)"></div>"#,
            &page,
            100,
        );
        let got: Vec<(&str, bool)> = got.iter().map(|l| (l.url.path(), l.media)).collect();
        assert_eq!(
            got,
            [
                ("/p.html", false),
                // Linked as well as shown: still media.
                ("/i.jpg", true),
                ("/frame.html", false),
                ("/s.js", false),
                ("/s.css", false),
                ("/o.swf", true),
                // A link to an image is not known to be one until it is fetched.
                ("/big.jpg", false),
                ("/small.jpg", true),
                ("/v.jpg", true),
                ("/button.png", true),
                ("/bg.png", true),
            ]
        );
    }

    #[test]
    fn base_href_and_malformed_html() {
        check(
            r#"<base href="/other/"><a href="x">x<img src=y.png <p><a href='../z'"#,
            // As a browser parses it: the unclosed `<img` swallows the rest as attributes.
            &["http://site.test/other/x", "http://site.test/other/y.png"],
        );
        check(
            "<<<>>><a href=>\0\u{1}<img src=\"/ok.png\">",
            &["http://site.test/ok.png"],
        );
    }

    #[test]
    fn capped() {
        let html: String = (0..50).map(|i| format!("<a href=\"/{i}\">")).collect();
        let page = Url::parse("http://site.test/").unwrap();
        let (got, capped) = extract(&html, &page, 10);
        assert_eq!(got.len(), 10);
        assert!(capped);
    }

    #[test]
    fn refresh_forms() {
        assert_eq!(refresh_url("5; url=/n").as_deref(), Some("/n"));
        assert_eq!(refresh_url("0;URL = \"a b\"").as_deref(), Some("a b"));
        assert_eq!(refresh_url("5").as_deref(), None);
    }

    proptest! {
        // Every href written into a page comes back (normalised), whatever the text around it.
        #[test]
        fn hrefs_round_trip(
            paths in proptest::collection::vec("[a-z0-9]{1,8}", 0..20),
            junk in "[^<>&\"']{0,20}",
        ) {
            let html: String = paths
                .iter()
                .map(|p| format!("{junk}<a href=\"/{p}\">{junk}</a>"))
                .collect();
            let page = Url::parse("http://site.test/").unwrap();
            let (got, _) = extract(&html, &page, 1000);
            let mut want: Vec<String> = Vec::new();
            for p in &paths {
                let u = format!("http://site.test/{p}");
                if !want.contains(&u) {
                    want.push(u);
                }
            }
            prop_assert!(got.iter().all(|l| !l.media));
            let got: Vec<String> = got.iter().map(|l| l.url.to_string()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
