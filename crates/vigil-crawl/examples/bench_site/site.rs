//! The generated content of the benchmark site, shared with `benches/pipeline.rs`.

use std::fmt::Write as _;

pub(crate) const WIDTH: u32 = 640;
pub(crate) const HEIGHT: u32 = 480;
pub(crate) const PER_LIST: usize = 100;
pub(crate) const SHARED: usize = 50;
pub(crate) const DUPS: usize = 1000;

/// xorshift64*: a small seeded generator (the images only need to be distinct and repeatable).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() >> 33) as u32 % n
    }
}

/// Image `i`: a two-colour diagonal gradient, 3–6 filled rectangles and circles, noise.
pub(crate) fn image(i: usize) -> Vec<u8> {
    let mut rng = Rng::new(i as u64 + 1);
    let c0: [f32; 3] = std::array::from_fn(|_| rng.below(256) as f32);
    let c1: [f32; 3] = std::array::from_fn(|_| rng.below(256) as f32);
    let mut px = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let t = (x + y) as f32 / (WIDTH + HEIGHT) as f32;
            let o = ((y * WIDTH + x) * 3) as usize;
            for c in 0..3 {
                px[o + c] = (c0[c] * (1.0 - t) + c1[c] * t) as u8;
            }
        }
    }
    for _ in 0..3 + rng.below(4) {
        let (cx, cy) = (rng.below(WIDTH) as i64, rng.below(HEIGHT) as i64);
        let r = 20 + rng.below(120) as i64;
        let colour: [u8; 3] = std::array::from_fn(|_| rng.below(256) as u8);
        let circle = rng.below(2) == 0;
        for y in (cy - r).max(0)..(cy + r).min(HEIGHT as i64) {
            for x in (cx - r).max(0)..(cx + r).min(WIDTH as i64) {
                if circle && (x - cx).pow(2) + (y - cy).pow(2) > r * r {
                    continue;
                }
                let o = ((y as u32 * WIDTH + x as u32) * 3) as usize;
                px[o..o + 3].copy_from_slice(&colour);
            }
        }
    }
    // Noise brings a 640×480 file at quality 90 to about 100 KB, like a photo.
    for p in px.iter_mut() {
        let n = rng.below(21) as i32 - 10;
        *p = (i32::from(*p) + n).clamp(0, 255) as u8;
    }
    let mut out = Vec::with_capacity(120_000);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&px, WIDTH, HEIGHT, image::ExtendedColorType::Rgb8)
        .expect("encoding to memory");
    out
}

pub(crate) fn page(i: usize, pages: usize, images: usize) -> String {
    let mut s = String::with_capacity(2048);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>Page {i}</title>\
         <link rel=stylesheet href=\"/style.css\"></head><body>\n\
         <nav><a href=\"/\">home</a> <a href=\"/list/{}.html\">list {}</a></nav>\n\
         <h1>Page {i}</h1><p>Some text about item {i}, to look like a page.</p>\n",
        i / PER_LIST,
        i / PER_LIST,
    );
    let own = i % images;
    let (a, b) = ((i + 1) % images, (i + pages / 2 + 7) % images);
    let _ = write!(
        s,
        "<figure><img src=\"/img/{own}.jpg\" alt=\"item {i}\" \
         srcset=\"/img/{a}.jpg 1x, /img/{b}.jpg 2x\"></figure>\n\
         <aside><img src=\"/img/{}.jpg\" alt=shared></aside>\n",
        i % SHARED,
    );
    if i.is_multiple_of(10) {
        let _ = writeln!(s, "<img src=\"/dup/{}.jpg\">", (i / 10) % DUPS);
    }
    s.push_str("<ul>\n");
    for j in [i + 1, i * 7 + 3, i * 13 + 5, i * 31 + 11] {
        let _ = writeln!(
            s,
            "<li><a href=\"/p/{}.html\">page {}</a></li>",
            j % pages,
            j % pages
        );
    }
    s.push_str("</ul>\n");
    let _ = writeln!(
        s,
        "<p><a href=\"https://elsewhere.invalid/ref/{i}\">elsewhere</a></p>"
    );
    if i.is_multiple_of(100) {
        let _ = writeln!(s, "<p><a href=\"/gone/{i}.html\">gone</a></p>");
    }
    s.push_str("</body></html>\n");
    s
}

pub(crate) fn list(k: usize, lists: usize, pages: usize) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><title>List {k}</title></head><body>\n<h1>List {k}</h1><ol>\n"
    );
    for i in k * PER_LIST..((k + 1) * PER_LIST).min(pages) {
        let _ = writeln!(s, "<li><a href=\"/p/{i}.html\">page {i}</a></li>");
    }
    s.push_str("</ol><nav>");
    if k > 0 {
        let _ = write!(s, "<a href=\"/list/{}.html\">previous</a> ", k - 1);
    }
    if k + 1 < lists {
        let _ = write!(s, "<a href=\"/list/{}.html\">next</a>", k + 1);
    }
    s.push_str("</nav></body></html>\n");
    s
}
