//! What's measured: the crawler's in-process work per fetched body, without the network, on the
//! benchmark site's own content (`examples/bench_site/site.rs`):
//! * `links/page`: link extraction from one of the site's pages (`links::extract`, html5ever);
//! * `media/*`: one generated 640×480 JPEG of about 100 KB (the site's image 0) through the
//!   steps of `media::hash` — the digests (MD5, SHA-1, SHA-256), the decode (libjpeg-turbo),
//!   PDQ on the decoded pixels — and the whole of it after sniffing (`sniff+hash`), which is what
//!   a crawl does per distinct image.
//!
//! Run with: `cargo bench -p vigil-crawl --bench pipeline`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use url::Url;
use vigil_crawl::{Kind, fetch::sniff, links, media};

#[allow(dead_code)]
#[path = "../examples/bench_site/site.rs"]
mod site;

fn bench(c: &mut Criterion) {
    let html = site::page(1234, 10_000, 10_000);
    let base = Url::parse("http://127.0.0.1:5190/p/1234.html").unwrap();
    let (found, _) = links::extract(&html, &base, 1000);
    assert!(found.len() >= 10, "the page has its links: {found:?}");
    let mut g = c.benchmark_group("links");
    g.throughput(Throughput::Bytes(html.len() as u64));
    g.bench_function("page", |b| b.iter(|| links::extract(&html, &base, 1000)));
    g.finish();

    let jpeg = site::image(0);
    let decode = vigil_media::DecodeOptions::default();
    let video = vigil_video::Options::default();
    let kind = sniff(&jpeg);
    assert!(matches!(kind, Kind::Image(_)));
    let mut g = c.benchmark_group("media");
    g.sample_size(30);
    g.throughput(Throughput::Elements(1));
    g.bench_function("digests", |b| b.iter(|| vigil_media::digests(&jpeg)));
    g.bench_function("decode", |b| {
        b.iter(|| vigil_media::decode(&jpeg, "bench", &decode).unwrap())
    });
    let decoded = vigil_media::decode(&jpeg, "bench", &decode).unwrap();
    let vigil_media::PixelData::Rgb8(rgb) = &decoded.pixels else {
        panic!("a colour JPEG decodes to RGB")
    };
    let img = vigil_pdq::Image::rgb8(rgb, decoded.width as usize, decoded.height as usize).unwrap();
    g.bench_function("pdq", |b| {
        b.iter(|| vigil_pdq::hash(&img, vigil_pdq::Mode::default()))
    });
    g.bench_function("sniff+hash", |b| {
        b.iter(|| {
            let sha = media::sha256(&jpeg);
            media::hash(&jpeg, sha, sniff(&jpeg), "bench", &decode, &video).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
