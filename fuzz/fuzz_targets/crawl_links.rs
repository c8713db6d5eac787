//! Link extraction from hostile HTML (`vigil_crawl::links::extract`): never panics, keeps to its
//! cap, and every link it gives is an absolute http(s) URL that normalises to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_crawl::scope::normalize_url;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let page = Url::parse("http://site.test/dir/page.html").expect("a valid constant URL");
    let (links, capped) = vigil_crawl::links::extract(&html, &page, 64);
    assert!(links.len() <= 64);
    if links.len() < 64 {
        assert!(!capped);
    }
    for l in &links {
        let u = &l.url;
        assert!(matches!(u.scheme(), "http" | "https"), "{u}");
        assert_eq!(normalize_url(u.clone()).as_ref(), Ok(u), "not normal: {u}");
    }
});
