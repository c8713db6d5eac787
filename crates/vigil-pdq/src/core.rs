//! The PDQ core, mirroring `pdqHash256FromFloatLuma` / `pdqDihedralHash256esFromFloatLuma` of the
//! reference (`pdq/cpp/hashing/pdqhashing.cpp`): two-pass Jarosz box blur, 64×64 decimation, quality,
//! 16×16 DCT, median threshold.
//!
//! # Exactness
//!
//! Every float32 value is computed with the same operations, in the same order, as the reference's
//! scalar loops; we only change *which independent values are computed side by side*:
//!
//! * the horizontal box pass runs 8 rows at once (lanes = rows, over a transposed strip);
//! * the vertical box pass runs row-major over all columns at once (the reference walks each column
//!   with a stride of the image width, which is slow and cache-hostile);
//! * the second pass only keeps the 64 columns and 64 rows that decimation samples; the running sums
//!   still visit every pixel, so the kept values are bit-identical;
//! * the DCT sums over `k` in order, vectorised across the independent output columns.
//!
//! No fused multiply-add is used anywhere (Rust never contracts `a * b + c`), and `s / count` is an
//! IEEE division, never a multiplication by a reciprocal.

use std::sync::OnceLock;

use vigil_core::Hash256;

use crate::image::{Image, Pixels};
use crate::luma;

/// Images with a side below this get the zero hash and quality 0 (`MIN_HASHABLE_DIM`).
pub const MIN_HASHABLE_DIM: usize = 5;

const LANES: usize = 8;
type Lane = [f32; LANES];

/// A PDQ hash with its quality (0..=100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pdq {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// The reference's image-domain quality metric, 0..=100. Upstream recommends discarding hashes
    /// with quality below 50.
    pub quality: u8,
}

/// The 8 dihedral variants of an image's hash, all from one DCT, sharing one quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dihedral {
    /// Hashes in the reference's order: see [`Variant::ALL`].
    pub hashes: [Hash256; 8],
    /// Quality shared by all eight.
    pub quality: u8,
}

impl Dihedral {
    /// The hash of one variant.
    pub fn get(&self, v: Variant) -> Hash256 {
        self.hashes[v as usize]
    }
}

/// The dihedral transforms, in the reference's order (`--pdqdih-across`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The image as it is.
    Orig = 0,
    /// Rotated 90° anticlockwise.
    Rot90 = 1,
    /// Rotated 180°.
    Rot180 = 2,
    /// Rotated 90° clockwise.
    Rot270 = 3,
    /// Top–bottom mirror.
    FlipX = 4,
    /// Left–right mirror.
    FlipY = 5,
    /// Transpose.
    FlipPlus1 = 6,
    /// Transverse.
    FlipMinus1 = 7,
}

impl Variant {
    /// All eight, in the reference's order.
    pub const ALL: [Variant; 8] = [
        Variant::Orig,
        Variant::Rot90,
        Variant::Rot180,
        Variant::Rot270,
        Variant::FlipX,
        Variant::FlipY,
        Variant::FlipPlus1,
        Variant::FlipMinus1,
    ];

    /// Short name as used in the fixtures and output (`orig`, `rot90`, … `flipminus1`).
    pub fn name(self) -> &'static str {
        match self {
            Variant::Orig => "orig",
            Variant::Rot90 => "rot90",
            Variant::Rot180 => "rot180",
            Variant::Rot270 => "rot270",
            Variant::FlipX => "flipx",
            Variant::FlipY => "flipy",
            Variant::FlipPlus1 => "flipplus1",
            Variant::FlipMinus1 => "flipminus1",
        }
    }
}

/// `computeJaroszFilterWindowSize(old, 64)`.
fn window(old: usize) -> usize {
    (old + 2 * 64 - 1) / (2 * 64)
}

/// Decimation sample index `(int)(((i + 0.5) * n) / 64)`, in double as the reference.
fn sample_index(i: usize, n: usize) -> usize {
    (((i as f64 + 0.5) * n as f64) / 64.0) as usize
}

/// The DCT matrix `D[i][j] = sqrt(2/64) * cos((π/2/64) * (i+1) * (2j+1))`, computed in double and
/// stored as float (`pdqhashing.cpp`, `dct_matrix_64`). Row `i` is frequency `i + 1`: no DC term.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static D: OnceLock<[[f32; 64]; 16]> = OnceLock::new();
    D.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32 as f64;
        let pi = std::f64::consts::PI;
        let mut d = [[0f32; 64]; 16];
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (scale * ((pi / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64).cos())
                    as f32;
            }
        }
        d
    })
}

/// Transposed DCT matrix: `DT[k][j] = D[j][k]`.
fn dct_matrix_t() -> &'static [[f32; 16]; 64] {
    static DT: OnceLock<[[f32; 16]; 64]> = OnceLock::new();
    DT.get_or_init(|| {
        let d = dct_matrix();
        let mut t = [[0f32; 16]; 64];
        for (k, row) in t.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = d[j][k];
            }
        }
        t
    })
}

/// Reusable scratch space for hashing. Hashing many images with one `Hasher` avoids an allocation
/// per image; a `Hasher` is cheap to create and is `Send`, one per thread.
#[derive(Default)]
pub struct Hasher {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    t1: Vec<Lane>,
    t2: Vec<Lane>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("scratch_floats", &(self.a.capacity() + self.b.capacity()))
            .finish()
    }
}

impl Hasher {
    /// A hasher with empty scratch space.
    pub fn new() -> Self {
        Self::default()
    }

    /// The plain entry point (`pdqHash256FromFloatLuma`): hash and quality. An exactly 64×64 image is
    /// used as the 64×64 buffer directly, without the blur, as the reference does.
    pub fn hash(&mut self, img: &Image<'_>) -> Pdq {
        if img.width < MIN_HASHABLE_DIM || img.height < MIN_HASHABLE_DIM {
            return Pdq {
                hash: Hash256::ZERO,
                quality: 0,
            };
        }
        let a = if img.width == 64 && img.height == 64 {
            direct_64(img)
        } else {
            self.buffer64(img)
        };
        let dct = dct16(&a);
        Pdq {
            hash: threshold(&dct),
            quality: quality(&a),
        }
    }

    /// The dihedral entry point (`pdqDihedralHash256esFromFloatLuma`): the 8 variants. Unlike
    /// [`Hasher::hash`], this always blurs, even at 64×64, so there `orig` may differ from the plain
    /// hash by a few bits, exactly as in the reference.
    pub fn dihedral(&mut self, img: &Image<'_>) -> Dihedral {
        self.hash_and_dihedral(img).1
    }

    /// Both entry points at the cost of one blur (two at exactly 64×64).
    pub fn hash_and_dihedral(&mut self, img: &Image<'_>) -> (Pdq, Dihedral) {
        if img.width < MIN_HASHABLE_DIM || img.height < MIN_HASHABLE_DIM {
            return (
                Pdq {
                    hash: Hash256::ZERO,
                    quality: 0,
                },
                Dihedral {
                    hashes: [Hash256::ZERO; 8],
                    quality: 0,
                },
            );
        }
        let a = self.buffer64(img);
        let q = quality(&a);
        let dct = dct16(&a);
        let hashes = dihedral_hashes(&dct);
        let plain = if img.width == 64 && img.height == 64 {
            self.hash(img)
        } else {
            Pdq {
                hash: hashes[0],
                quality: q,
            }
        };
        (plain, Dihedral { hashes, quality: q })
    }

    /// Blur and decimate to the 64×64 float buffer, with the widest SIMD this CPU offers. Every path
    /// performs the same float operations in the same order, so the result does not depend on it.
    fn buffer64(&mut self, img: &Image<'_>) -> Box<[f32; 4096]> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.buffer64_avx2(img) };
            }
        }
        self.buffer64_generic(img)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn buffer64_avx2(&mut self, img: &Image<'_>) -> Box<[f32; 4096]> {
        self.buffer64_impl(img)
    }

    fn buffer64_generic(&mut self, img: &Image<'_>) -> Box<[f32; 4096]> {
        self.buffer64_impl(img)
    }

    /// `pdqFloat256FromFloatLuma` up to (not including) the DCT: two passes of (rows, columns) box
    /// blur, then `decimateFloat`.
    #[inline(always)]
    fn buffer64_impl(&mut self, img: &Image<'_>) -> Box<[f32; 4096]> {
        let (w, h) = (img.width, img.height);
        let (wr, wc) = (window(w), window(h));
        let n = w * h;
        let cols: Vec<usize> = (0..64).map(|j| sample_index(j, w)).collect();
        let rows: Vec<usize> = (0..64).map(|i| sample_index(i, h)).collect();
        self.a.clear();
        self.a.resize(n, 0.0);
        self.b.clear();
        self.b.resize(n, 0.0);
        self.c.clear();
        self.c.resize(h * 64, 0.0);
        self.t1.clear();
        self.t1.resize(w, [0.0; LANES]);
        self.t2.clear();
        self.t2.resize(w, [0.0; LANES]);
        let t = luma::tables();

        // Pass 1, along rows: luma (computed on the fly) -> a.
        for r0 in (0..h).step_by(LANES) {
            let nl = LANES.min(h - r0);
            match img.pixels {
                Pixels::Rgb8(p) => {
                    for l in 0..nl {
                        let row = &p[(r0 + l) * w * 3..(r0 + l + 1) * w * 3];
                        for (j, px) in row.chunks_exact(3).enumerate() {
                            self.t1[j][l] = t.rgb(px[0], px[1], px[2]);
                        }
                    }
                }
                Pixels::Grey8(p) => {
                    for l in 0..nl {
                        let row = &p[(r0 + l) * w..(r0 + l + 1) * w];
                        for (j, &v) in row.iter().enumerate() {
                            self.t1[j][l] = t.grey(v);
                        }
                    }
                }
                Pixels::Luma(p) => {
                    for l in 0..nl {
                        let row = &p[(r0 + l) * w..(r0 + l + 1) * w];
                        for (j, &v) in row.iter().enumerate() {
                            self.t1[j][l] = v;
                        }
                    }
                }
            }
            let t2 = &mut self.t2;
            box_lanes(&self.t1, wr, |o, s, cnt| t2[o] = div_lane(s, cnt));
            for l in 0..nl {
                let row = &mut self.a[(r0 + l) * w..(r0 + l + 1) * w];
                for (j, v) in row.iter_mut().enumerate() {
                    *v = self.t2[j][l];
                }
            }
        }

        // Pass 1, along columns: a -> b.
        {
            let b = &mut self.b;
            box_vertical(&self.a, w, h, wc, |o, s, cnt| {
                for (d, &v) in b[o * w..(o + 1) * w].iter_mut().zip(s) {
                    *d = v / cnt;
                }
            });
        }

        // Pass 2, along rows: b -> c, keeping only the 64 sampled columns.
        for r0 in (0..h).step_by(LANES) {
            let nl = LANES.min(h - r0);
            for l in 0..nl {
                let row = &self.b[(r0 + l) * w..(r0 + l + 1) * w];
                for (j, &v) in row.iter().enumerate() {
                    self.t1[j][l] = v;
                }
            }
            let t2 = &mut self.t2;
            box_lanes(&self.t1, wr, |o, s, cnt| t2[o] = div_lane(s, cnt));
            for l in 0..nl {
                let out = &mut self.c[(r0 + l) * 64..(r0 + l + 1) * 64];
                for (d, &j) in out.iter_mut().zip(&cols) {
                    *d = self.t2[j][l];
                }
            }
        }

        // Pass 2, along columns, on the 64 kept columns; keep the 64 sampled rows.
        let mut out = Box::new([0f32; 4096]);
        let mut kept = vec![[0f32; 64]; h];
        box_vertical(&self.c, 64, h, wc, |o, s, cnt| {
            for (d, &v) in kept[o].iter_mut().zip(s) {
                *d = v / cnt;
            }
        });
        for (i, &r) in rows.iter().enumerate() {
            out[i * 64..(i + 1) * 64].copy_from_slice(&kept[r]);
        }
        out
    }
}

/// The 64×64 buffer of an exactly 64×64 image in the plain entry point: its luma, unblurred.
fn direct_64(img: &Image<'_>) -> Box<[f32; 4096]> {
    let t = luma::tables();
    let mut out = Box::new([0f32; 4096]);
    match img.pixels {
        Pixels::Rgb8(p) => {
            for (d, px) in out.iter_mut().zip(p.chunks_exact(3)) {
                *d = t.rgb(px[0], px[1], px[2]);
            }
        }
        Pixels::Grey8(p) => {
            for (d, &v) in out.iter_mut().zip(p) {
                *d = t.grey(v);
            }
        }
        Pixels::Luma(p) => out.copy_from_slice(p),
    }
    out
}

#[inline(always)]
fn div_lane(s: &Lane, cnt: f32) -> Lane {
    let mut r = [0f32; LANES];
    for l in 0..LANES {
        r[l] = s[l] / cnt;
    }
    r
}

/// `box1DFloat` over a sequence of lanes: a running float32 sum with a window of `w`, in the
/// reference's four phases (fill, grow, slide, shrink). `emit(o, sum, count)` receives each output.
#[inline(always)]
fn box_lanes(x: &[Lane], w: usize, mut emit: impl FnMut(usize, &Lane, f32)) {
    let n = x.len();
    let half = (w + 2) / 2;
    let mut s = [0f32; LANES];
    let (mut li, mut ri, mut o, mut cnt) = (0usize, 0usize, 0usize, 0usize);
    for _ in 0..half - 1 {
        add_lane(&mut s, &x[ri]);
        cnt += 1;
        ri += 1;
    }
    for _ in 0..w - half + 1 {
        add_lane(&mut s, &x[ri]);
        cnt += 1;
        emit(o, &s, cnt as f32);
        ri += 1;
        o += 1;
    }
    for _ in 0..n - w {
        add_lane(&mut s, &x[ri]);
        sub_lane(&mut s, &x[li]);
        emit(o, &s, cnt as f32);
        li += 1;
        ri += 1;
        o += 1;
    }
    for _ in 0..half - 1 {
        sub_lane(&mut s, &x[li]);
        cnt -= 1;
        emit(o, &s, cnt as f32);
        li += 1;
        o += 1;
    }
}

#[inline(always)]
fn add_lane(s: &mut Lane, x: &Lane) {
    for l in 0..LANES {
        s[l] += x[l];
    }
}

#[inline(always)]
fn sub_lane(s: &mut Lane, x: &Lane) {
    for l in 0..LANES {
        s[l] -= x[l];
    }
}

/// `box1DFloat` down every column of a row-major `width`-wide buffer at once.
#[inline(always)]
fn box_vertical(
    x: &[f32],
    width: usize,
    h: usize,
    w: usize,
    mut emit: impl FnMut(usize, &[f32], f32),
) {
    let half = (w + 2) / 2;
    let mut s = vec![0f32; width];
    let row = |r: usize| &x[r * width..(r + 1) * width];
    let (mut li, mut ri, mut o, mut cnt) = (0usize, 0usize, 0usize, 0usize);
    for _ in 0..half - 1 {
        add_row(&mut s, row(ri));
        cnt += 1;
        ri += 1;
    }
    for _ in 0..w - half + 1 {
        add_row(&mut s, row(ri));
        cnt += 1;
        emit(o, &s, cnt as f32);
        ri += 1;
        o += 1;
    }
    for _ in 0..h - w {
        add_row(&mut s, row(ri));
        sub_row(&mut s, row(li));
        emit(o, &s, cnt as f32);
        li += 1;
        ri += 1;
        o += 1;
    }
    for _ in 0..half - 1 {
        sub_row(&mut s, row(li));
        cnt -= 1;
        emit(o, &s, cnt as f32);
        li += 1;
        o += 1;
    }
}

#[inline(always)]
fn add_row(s: &mut [f32], x: &[f32]) {
    for (a, &b) in s.iter_mut().zip(x) {
        *a += b;
    }
}

#[inline(always)]
fn sub_row(s: &mut [f32], x: &[f32]) {
    for (a, &b) in s.iter_mut().zip(x) {
        *a -= b;
    }
}

/// `pdqImageDomainQualityMetric`: per neighbour pair `|(int)(((u - v) * 100) / 255)|` (float math,
/// truncated toward zero), summed, then `min(100, sum / 90)`.
fn quality(a: &[f32; 4096]) -> u8 {
    let mut sum: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            let (u, v) = (a[i * 64 + j], a[(i + 1) * 64 + j]);
            sum += ((((u - v) * 100.0f32) / 255.0f32) as i32).abs() as i64;
        }
    }
    for i in 0..64 {
        for j in 0..63 {
            let (u, v) = (a[i * 64 + j], a[i * 64 + j + 1]);
            sum += ((((u - v) * 100.0f32) / 255.0f32) as i32).abs() as i64;
        }
    }
    (sum / 90).min(100) as u8
}

/// `dct64To16`: `B = D · A · Dᵀ`, only the 16×16 low-frequency block, `k` summed 0..63 in order.
fn dct16(a: &[f32; 4096]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let dt = dct_matrix_t();
    let mut t = [[0f32; 64]; 16];
    for (i, trow) in t.iter_mut().enumerate() {
        for k in 0..64 {
            let dik = d[i][k];
            let arow = &a[k * 64..(k + 1) * 64];
            for (tv, &av) in trow.iter_mut().zip(arow) {
                *tv += dik * av;
            }
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (i, brow) in b.iter_mut().enumerate() {
        for k in 0..64 {
            let tik = t[i][k];
            for (bv, &dv) in brow.iter_mut().zip(&dt[k]) {
                *bv += tik * dv;
            }
        }
    }
    b
}

/// `pdqBuffer16x16ToBits`: bit `k = 16 i + j` is set iff `B[i][j]` is strictly greater than the
/// median, the 128th smallest of the 256 values (what Torben's method returns for n = 256).
fn threshold(b: &[[f32; 16]; 16]) -> Hash256 {
    let mut flat = [0f32; 256];
    for i in 0..16 {
        flat[i * 16..(i + 1) * 16].copy_from_slice(&b[i]);
    }
    let mut sorted = flat;
    let (_, median, _) = sorted.select_nth_unstable_by(127, |x, y| x.total_cmp(y));
    let median = *median;
    let mut h = Hash256::ZERO;
    for (k, &v) in flat.iter().enumerate() {
        if v > median {
            h.set_bit(k);
        }
    }
    h
}

/// The 8 dihedral variants from one DCT (`dct16OriginalToRotate90` … in `pdqhashing.cpp`). An index
/// is "odd" when it is odd 0-based, i.e. the frequency is even.
fn dihedral_hashes(a: &[[f32; 16]; 16]) -> [Hash256; 8] {
    let odd = |x: usize| x & 1 == 1;
    let make = |f: &dyn Fn(usize, usize) -> (usize, usize, f32)| {
        let mut b = [[0f32; 16]; 16];
        for i in 0..16 {
            for j in 0..16 {
                let (bi, bj, v) = f(i, j);
                b[bi][bj] = v;
            }
        }
        threshold(&b)
    };
    [
        make(&|i, j| (i, j, a[i][j])),
        make(&|i, j| (j, i, if odd(j) { a[i][j] } else { -a[i][j] })),
        make(&|i, j| (i, j, if odd(i + j) { -a[i][j] } else { a[i][j] })),
        make(&|i, j| (j, i, if odd(i) { a[i][j] } else { -a[i][j] })),
        make(&|i, j| (i, j, if odd(i) { a[i][j] } else { -a[i][j] })),
        make(&|i, j| (i, j, if odd(j) { a[i][j] } else { -a[i][j] })),
        make(&|i, j| (j, i, a[i][j])),
        make(&|i, j| (j, i, if odd(i + j) { -a[i][j] } else { a[i][j] })),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_match_reference_examples() {
        for (old, w) in [
            (512, 4),
            (1600, 13),
            (1004, 8),
            (4032, 32),
            (3024, 24),
            (128, 1),
            (5, 1),
            (129, 2),
        ] {
            assert_eq!(window(old), w, "window({old})");
        }
    }

    #[test]
    fn median_is_128th_smallest() {
        let mut b = [[0f32; 16]; 16];
        for i in 0..16 {
            for j in 0..16 {
                b[i][j] = (i * 16 + j) as f32;
            }
        }
        // values 0..=255: median 127, so exactly values 128..=255 are set: bits 128..=255.
        let h = threshold(&b);
        assert_eq!(h.count_ones(), 128);
        assert!(h.bit(128) && !h.bit(127));
    }
}
