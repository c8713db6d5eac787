//! The test site: pages linking fixture images in every way the link extractor knows, and
//! hostile routes (link farm, huge page, slow-loris, gzip bomb, redirect loop and chain,
//! content-type lies, malformed HTML, a flaky route, robots.txt). Counts every request by path.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Benign fixture images served by the site (file names under the fixtures directory).
pub(crate) struct Images {
    /// labelme q0122.jpg: banked by PDQ.
    pub(crate) q0122: Vec<u8>,
    /// labelme q0291.jpg: not banked.
    pub(crate) q0291: Vec<u8>,
    /// labelme q2821.jpg: not banked.
    pub(crate) q2821: Vec<u8>,
    /// labelme q0003.jpg: not banked.
    pub(crate) q0003: Vec<u8>,
    /// labelme q0746.jpg: banked, and in an allow bank too.
    pub(crate) q0746: Vec<u8>,
    /// bridge-mods blur-a-little.jpg: near (not equal) to the banked aaa-orig.jpg.
    pub(crate) blur: Vec<u8>,
    /// pen-and-coaster.png: banked by SHA-256.
    pub(crate) pen: Vec<u8>,
    /// tmk chair-19-sd-bar.mp4: a benign sample video (banked by vPDQ in the video test).
    pub(crate) video: Vec<u8>,
}

pub(crate) fn fixture_dir(fixtures: &Path) -> PathBuf {
    fixtures.join("threatexchange/pdq/data")
}

impl Images {
    pub(crate) fn load(fixtures: &Path) -> Images {
        let d = fixture_dir(fixtures);
        let r = |p: &str| std::fs::read(d.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        Images {
            q0122: r("reg-test-input/labelme-subset/q0122.jpg"),
            q0291: r("reg-test-input/labelme-subset/q0291.jpg"),
            q2821: r("reg-test-input/labelme-subset/q2821.jpg"),
            q0003: r("reg-test-input/labelme-subset/q0003.jpg"),
            q0746: r("reg-test-input/labelme-subset/q0746.jpg"),
            blur: r("bridge-mods/blur-a-little.jpg"),
            pen: r("reg-test-input/pen-and-coaster.png"),
            video: std::fs::read(
                fixtures.join("threatexchange/tmk/sample-videos/chair-19-sd-bar.mp4"),
            )
            .expect("chair-19-sd-bar.mp4"),
        }
    }
}

#[derive(Clone)]
struct Site {
    images: Arc<Images>,
    bomb: Arc<Vec<u8>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    removed: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// A running test site.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    removed: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl Running {
    pub(crate) fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, `path` answers 404 (taken down).
    pub(crate) fn remove(&self, path: &str) {
        self.removed.lock().unwrap().insert(path.to_string());
    }

    /// Requests per path so far.
    pub(crate) fn hits(&self) -> HashMap<String, usize> {
        self.hits.lock().unwrap().clone()
    }
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn jpeg(bytes: Vec<u8>, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

const INDEX: &str = r#"<!doctype html><html><head><title>index</title>
<meta http-equiv="refresh" content="30; url=/refreshed"></head><body>
<a href="/p1">one</a> <a href="/p2#frag">two</a> <a href="/farm/1">farm</a>
<a href="/huge">huge</a> <a href="/slow">slow</a> <a href="/bomb">bomb</a>
<a href="/loop/a">loop</a> <a href="/chain/0">chain</a> <a href="/away">away</a>
<a href="/lies/page.jpg">a page posing as a jpeg</a> <a href="/malformed">bad html</a>
<a href="/flaky">flaky</a> <a href="/gone">gone</a> <a href="/gz-page">gz</a>
<a href="/br-page">br</a> <a href="/private/secret">private</a>
<a href="http://elsewhere.invalid/">external</a> <a href="/redir-img">redirected image</a>
<img src="/img/q0291.jpg" alt="">
</body></html>"#;

async fn index() -> Response {
    html(INDEX.to_string())
}

async fn p1() -> Response {
    html(
        r#"<html><body><img srcset="/img/q0291.jpg 1x, /media/blur 2x">
        <div style="background: url(/img/q2821.jpg)">x</div><a href="/p2">p2</a></body></html>"#
            .into(),
    )
}

async fn p2() -> Response {
    html(
        r#"<html><head><style>.a { background-image: url('/data/lie.html') }</style></head>
        <body><video poster="/img/pen.png"><source src="/media/none.webm"></video>
        <img src="/copy/q0122.jpg"><img src="/img/q0746.jpg"><a href="/p1">back</a></body></html>"#
            .into(),
    )
}

async fn image(State(s): State<Site>, UrlPath(name): UrlPath<String>) -> Response {
    let i = &s.images;
    let bytes = match name.as_str() {
        "q0291.jpg" => i.q0291.clone(),
        "q2821.jpg" => i.q2821.clone(),
        "q0003.jpg" => i.q0003.clone(),
        "q0746.jpg" => i.q0746.clone(),
        "pen.png" => return jpeg(i.pen.clone(), "image/png"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    jpeg(bytes, "image/jpeg")
}

async fn blur(State(s): State<Site>) -> Response {
    // No extension, a generic type: the bytes decide.
    jpeg(s.images.blur.clone(), "application/octet-stream")
}

async fn clip(State(s): State<Site>) -> Response {
    // A video with no extension, served as text: sniffed as MP4.
    jpeg(s.images.video.clone(), "text/plain")
}

async fn lie_jpeg(State(s): State<Site>) -> Response {
    // A JPEG served as HTML.
    jpeg(s.images.q0122.clone(), "text/html")
}

async fn copy(State(s): State<Site>) -> Response {
    jpeg(s.images.q0122.clone(), "image/jpeg")
}

async fn lie_page() -> Response {
    // HTML served as a JPEG.
    jpeg(
        b"<html><body><a href=\"/deep\">deep</a></body></html>".to_vec(),
        "image/jpeg",
    )
}

async fn deep() -> Response {
    html(r#"<p>deep <img src="/img/q0003.jpg">"#.into())
}

async fn farm(UrlPath(n): UrlPath<u64>) -> Response {
    let links: String = (0..1000)
        .map(|i| format!("<a href=\"/farm/{}\">{i}</a>\n", n * 1000 + i))
        .collect();
    html(format!("<html><body>{links}</body></html>"))
}

async fn huge() -> Response {
    // 10 MiB in a stream, no Content-Length: the cap must stop the reading.
    let chunk = bytes::Bytes::from(vec![b'a'; 64 << 10]);
    let stream =
        futures_util::stream::iter((0..160).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    (
        [(header::CONTENT_TYPE, "text/html")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn slow() -> Response {
    let stream = futures_util::stream::unfold(0u64, |n| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Some((
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"<")),
            n + 1,
        ))
    });
    (
        [(header::CONTENT_TYPE, "text/html")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

async fn bomb(State(s): State<Site>) -> Response {
    let body = s.bomb.as_ref().clone();
    (
        [
            (header::CONTENT_TYPE, "text/html"),
            (header::CONTENT_ENCODING, "gzip"),
        ],
        body,
    )
        .into_response()
}

async fn gz_page() -> Response {
    let body = gzip(b"<html><body><a href=\"/from-gzip\">g</a></body></html>");
    (
        [
            (header::CONTENT_TYPE, "text/html"),
            (header::CONTENT_ENCODING, "gzip"),
        ],
        body,
    )
        .into_response()
}

async fn br_page() -> Response {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(b"<html><body><a href=\"/from-br\">b</a></body></html>")
            .unwrap();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html"),
            (header::CONTENT_ENCODING, "br"),
        ],
        out,
    )
        .into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn loop_(UrlPath(x): UrlPath<String>) -> Response {
    redirect(if x == "a" { "/loop/b" } else { "/loop/a" })
}

async fn chain(UrlPath(n): UrlPath<u64>) -> Response {
    redirect(&format!("/chain/{}", n + 1))
}

async fn flaky(State(s): State<Site>) -> Response {
    let n = s.hits.lock().unwrap().get("/flaky").copied().unwrap_or(0);
    if n <= 2 {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    } else {
        html("<p>recovered <a href=\"/after-flaky\">next</a>".into())
    }
}

async fn tree(UrlPath(n): UrlPath<u64>) -> Response {
    let mut body = String::from("<html><body>");
    for c in [2 * n + 1, 2 * n + 2] {
        if c < 61 {
            body += &format!("<a href=\"/tree/{c}\">{c}</a>");
        }
    }
    if n == 5 {
        body += "<img src=\"/copy/q0122.jpg\">";
    }
    if n == 9 {
        body += "<img src=\"/img/q0291.jpg\">";
    }
    html(body)
}

async fn plain(uri: Uri) -> Response {
    html(format!("<p>{}</p>", uri.path()))
}

async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        "User-agent: *\nDisallow: /private/\n",
    )
        .into_response()
}

async fn count(
    State(s): State<Site>,
    uri: Uri,
    _h: HeaderMap,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    *s.hits
        .lock()
        .unwrap()
        .entry(uri.path().to_string())
        .or_default() += 1;
    if s.removed.lock().unwrap().contains(uri.path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

/// Serves the site on 127.0.0.1 (a free port) for the rest of the test.
pub(crate) async fn serve(images: Images) -> Running {
    let site = Site {
        images: Arc::new(images),
        // 16 MiB of zeros in ~16 KB.
        bomb: Arc::new(gzip(&vec![0u8; 16 << 20])),
        hits: Arc::default(),
        removed: Arc::default(),
    };
    let app = Router::new()
        .route("/", get(index))
        .route("/p1", get(p1))
        .route("/p2", get(p2))
        .route("/img/{name}", get(image))
        .route("/media/blur", get(blur))
        .route("/media/clip", get(clip))
        .route(
            "/watch",
            get(|| async { html("<html><body><video src=\"/media/clip\"></video>".into()) }),
        )
        .route("/data/lie.html", get(lie_jpeg))
        .route("/copy/q0122.jpg", get(copy))
        .route("/lies/page.jpg", get(lie_page))
        .route("/deep", get(deep))
        .route("/farm/{n}", get(farm))
        .route("/huge", get(huge))
        .route("/slow", get(slow))
        .route("/bomb", get(bomb))
        .route("/gz-page", get(gz_page))
        .route("/br-page", get(br_page))
        .route("/loop/{x}", get(loop_))
        .route("/chain/{n}", get(chain))
        .route("/away", get(|| async { redirect("http://elsewhere.invalid/") }))
        .route("/redir-img", get(|| async { redirect("/redirected-target") }))
        .route("/flaky", get(flaky))
        .route("/tree/{n}", get(tree))
        .route("/robots.txt", get(robots))
        .route("/malformed", get(|| async {
            html("<html><body><a href=\"/ok-from-malformed\">x<img src=\"/img/q0291.jpg\"<p><<>>\0<a href=>".into())
        }))
        .route("/gone", get(|| async { StatusCode::NOT_FOUND }))
        .fallback(get(plain))
        .layer(axum::middleware::from_fn_with_state(site.clone(), count))
        .with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    Running {
        addr,
        hits: site.hits,
        removed: site.removed,
    }
}
