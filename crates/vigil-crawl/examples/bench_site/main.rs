//! The crawl benchmark's local site (`bench/crawl.sh`): ≥ 10,000 HTML pages linking to each
//! other and ≥ 10,000 distinct generated JPEGs, served from memory on 127.0.0.1 so that the
//! server is not what is measured.
//!
//! The images are benign and generated: 640×480 gradients with a few shapes and seeded noise,
//! JPEG quality 90, about 100 KB each. They are generated once into a cache directory (outside
//! the repository's sources; `target/bench-site/` by default) and reused; the server reads them
//! all into memory at start.
//!
//! The site (N pages, M images):
//! * `/` links every list page (a page-number bar) and `/robots.txt` allows everything;
//! * `/list/K.html` (100 pages each) links its pages and the previous/next list page;
//! * `/p/I.html` has `<img src>` of its own image, a `srcset` with two more, a shared image
//!   (one of 50, met on many pages), a `<link>` to `/style.css`, links to 4 other pages, its
//!   list page, one link out of scope (`https://elsewhere.invalid/…`); every 10th page has an
//!   image under `/dup/` (same bytes as an image under `/img/`: deduplicated by content) and
//!   every 100th a link to a page that does not exist (404);
//! * `/img/J.jpg` the images, `/dup/K.jpg` (K < 1000) the same bytes as `/img/K.jpg`.
//!
//! Run with:
//! `cargo run --release -p vigil-crawl --example bench_site -- [--dir D] [--pages N]
//!  [--images M] [--listen 127.0.0.1:PORT] [--generate-only]`
//! It prints `listening on http://ADDR/` once ready.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

mod site;
use site::{DUPS, PER_LIST, SHARED, image, list, page};

struct Args {
    dir: PathBuf,
    pages: usize,
    images: usize,
    listen: String,
    generate_only: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        dir: PathBuf::from("target/bench-site"),
        pages: 10_000,
        images: 10_000,
        listen: "127.0.0.1:5190".into(),
        generate_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => a.dir = PathBuf::from(value()?),
            "--pages" => a.pages = value()?.parse().map_err(|e| format!("--pages: {e}"))?,
            "--images" => a.images = value()?.parse().map_err(|e| format!("--images: {e}"))?,
            "--listen" => a.listen = value()?,
            "--generate-only" => a.generate_only = true,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.pages == 0 || a.images < SHARED.max(DUPS) {
        return Err(format!(
            "need --pages ≥ 1 and --images ≥ {}",
            SHARED.max(DUPS)
        ));
    }
    Ok(a)
}

/// Generates the images missing from `dir` (on every core), then reads them all.
fn images(dir: &Path, n: usize) -> std::io::Result<Vec<Bytes>> {
    std::fs::create_dir_all(dir)?;
    let path = |i: usize| dir.join(format!("{i:05}.jpg"));
    let missing: Vec<usize> = (0..n).filter(|&i| !path(i).exists()).collect();
    if !missing.is_empty() {
        eprintln!("generating {} images into {}", missing.len(), dir.display());
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = missing.get(k) else { break };
                        let tmp = dir.join(format!("{i:05}.jpg.tmp"));
                        std::fs::write(&tmp, image(i)).expect("writing an image");
                        std::fs::rename(&tmp, path(i)).expect("renaming an image");
                    }
                });
            }
        });
    }
    (0..n)
        .map(|i| std::fs::read(path(i)).map(Bytes::from))
        .collect()
}

type Site = HashMap<String, (&'static str, Bytes)>;

fn build(pages: usize, imgs: Vec<Bytes>) -> Site {
    let mut site = Site::new();
    let html = "text/html; charset=utf-8";
    let lists = pages.div_ceil(PER_LIST);
    let mut index = String::from(
        "<!DOCTYPE html>\n<html><head><title>Bench site</title></head><body>\n<h1>Bench site</h1><p>",
    );
    for k in 0..lists {
        let _ = write!(index, "<a href=\"/list/{k}.html\">{k}</a> ");
    }
    index.push_str("</p></body></html>\n");
    site.insert("/".into(), (html, Bytes::from(index)));
    site.insert(
        "/robots.txt".into(),
        (
            "text/plain",
            Bytes::from_static(b"User-agent: *\nAllow: /\n"),
        ),
    );
    site.insert(
        "/style.css".into(),
        (
            "text/css",
            Bytes::from_static(b"body { font-family: sans-serif; }\n"),
        ),
    );
    for k in 0..lists {
        site.insert(
            format!("/list/{k}.html"),
            (html, Bytes::from(list(k, lists, pages))),
        );
    }
    for i in 0..pages {
        site.insert(
            format!("/p/{i}.html"),
            (html, Bytes::from(page(i, pages, imgs.len()))),
        );
    }
    for (k, b) in imgs.iter().take(DUPS).enumerate() {
        site.insert(format!("/dup/{k}.jpg"), ("image/jpeg", b.clone()));
    }
    for (j, b) in imgs.into_iter().enumerate() {
        site.insert(format!("/img/{j}.jpg"), ("image/jpeg", b));
    }
    site
}

async fn serve(State(site): State<Arc<Site>>, uri: Uri) -> Response {
    match site.get(uri.path()) {
        Some((ct, body)) => ([(header::CONTENT_TYPE, *ct)], body.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_site: {e}");
            std::process::exit(2);
        }
    };
    let imgs = images(&a.dir, a.images).unwrap_or_else(|e| {
        eprintln!("bench_site: {}: {e}", a.dir.display());
        std::process::exit(1);
    });
    let bytes: usize = imgs.iter().map(Bytes::len).sum();
    eprintln!(
        "{} images, {:.0} KB on average",
        imgs.len(),
        bytes as f64 / imgs.len() as f64 / 1000.0
    );
    if a.generate_only {
        return;
    }
    let site = Arc::new(build(a.pages, imgs));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .unwrap_or_else(|e| {
                eprintln!("bench_site: binding {}: {e}", a.listen);
                std::process::exit(1);
            });
        let addr = listener.local_addr().expect("local address");
        let app = Router::new().fallback(serve).with_state(site);
        println!("listening on http://{addr}/");
        axum::serve(listener, app).await.expect("serving");
    });
}
