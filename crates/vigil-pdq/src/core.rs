//! The PDQ core, mirroring `pdqHash256FromFloatLuma` / `pdqDihedralHash256esFromFloatLuma` of the
//! reference (`pdq/cpp/hashing/pdqhashing.cpp`): two-pass Jarosz box blur, 64×64 decimation, quality,
//! 16×16 DCT, median threshold.
//!
//! # Exactness
//!
//! Every float32 value is computed with the same operations, in the same order, as the reference's
//! scalar loops; we only change *which independent values are computed side by side*:
//!
//! * the horizontal box pass runs 32 rows at once (lanes = rows, over a transposed strip);
//! * the vertical box pass runs row-major over all columns at once (the reference walks each column
//!   with a stride of the image width, which is slow and cache-hostile);
//! * the second pass only keeps the 64 columns and 64 rows that decimation samples; the running sums
//!   still visit every pixel, so the kept values are bit-identical;
//! * the DCT sums over `k` in order, vectorised across the independent output columns.
//!
//! No fused multiply-add is used anywhere (Rust never contracts `a * b + c`), and `s / count` is an
//! IEEE division, never a multiplication by a reciprocal.

// Index loops mirror the reference's loops one to one; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

use std::sync::OnceLock;

use vigil_core::Hash256;

use crate::image::{Image, Pixels};
use crate::luma;

/// Images with a side below this get the zero hash and quality 0 (`MIN_HASHABLE_DIM`).
pub const MIN_HASHABLE_DIM: usize = 5;

/// Rows processed side by side by the row box filter: four independent groups of 8, so that the
/// running sums' add-latency chains overlap.
const LANES: usize = 32;
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
    // The reference writes `(old + 2 * new - 1) / (2 * new)`: the same integer.
    old.div_ceil(2 * 64)
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
/// per image; a `Hasher` is cheap to create and is `Send`: use one per thread.
#[derive(Default)]
pub struct Hasher {
    /// Ring of pass-1 row outputs (`ring_a` rows of `w`).
    a: Vec<f32>,
    /// Ring of pass-1 column outputs (`RING_B` rows of `w`).
    b: Vec<f32>,
    /// Pass-2 row output at the 64 sampled columns, `h × 64`.
    c: Vec<f32>,
    /// A row of zeros standing in for the missing rows of the last, partial strip.
    zeros: Vec<f32>,
    /// Transposed strip (`w` lanes of 8 rows) before and after the row box filter.
    t1: Vec<Lane>,
    t2: Vec<Lane>,
    /// Running sums of the two column box filters.
    sums1: Vec<f32>,
    sums2: Vec<f32>,
    /// Never use the SIMD kernels (see [`Hasher::portable`]).
    portable: bool,
}

/// Rows kept of the pass-1 column output: the pass-2 row filter consumes them a strip at a time, and
/// at most `2 * LANES - 1` can be pending (fewer than a strip left over plus a new strip).
const RING_B: usize = 2 * LANES;

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field(
                "scratch_floats",
                &(self.a.capacity() + self.b.capacity() + self.c.capacity()),
            )
            .finish()
    }
}

/// Grows `v` to at least `n` elements without clearing: every element read is written first.
fn ensure<T: Copy + Default>(v: &mut Vec<T>, n: usize) {
    if v.len() < n {
        v.resize(n, T::default());
    }
}

impl Hasher {
    /// A hasher with empty scratch space. It uses the widest SIMD kernels the CPU offers (AVX2 on
    /// x86-64, detected at run time), which give the same bits as the portable code.
    pub fn new() -> Self {
        Self::default()
    }

    /// A hasher that never uses the SIMD kernels: the portable code path, for tests that check
    /// both paths give the same bits, and for comparison.
    pub fn portable() -> Self {
        Hasher {
            portable: true,
            ..Self::default()
        }
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
            if !self.portable && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { self.buffer64_avx2(img) };
            }
        }
        self.buffer64_impl::<false>(img)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn buffer64_avx2(&mut self, img: &Image<'_>) -> Box<[f32; 4096]> {
        self.buffer64_impl::<true>(img)
    }

    /// `pdqFloat256FromFloatLuma` up to (not including) the DCT: two passes of (rows, columns) box
    /// blur, then `decimateFloat`. `AVX` selects the AVX2 luma and transposes.
    ///
    /// The four filters run as one streaming pipeline over strips of 8 rows, so only a few dozen
    /// rows of each intermediate image are ever held (ring buffers), and they stay in cache:
    /// luma → row filter → column filter → row filter (64 kept columns) → column filter (64 kept
    /// rows). Each filter still sees exactly the values, in exactly the order, of the reference's
    /// whole-image passes.
    #[inline(always)]
    fn buffer64_impl<const AVX: bool>(&mut self, img: &Image<'_>) -> Box<[f32; 4096]> {
        let (w, h) = (img.width, img.height);
        let (wr, wc) = (window(w), window(h));
        let cols: [usize; 64] = std::array::from_fn(|j| sample_index(j, w));
        let rows: [usize; 64] = std::array::from_fn(|i| sample_index(i, h));
        // The pass-1 column filter reads rows li..=ri (a span of wc + 1) while the row filter
        // writes the next strip: a ring of wc + 1 + LANES rows, rounded up to whole strips so
        // that a strip never wraps.
        let ring_a = (wc + 1 + LANES).div_ceil(LANES) * LANES;
        ensure(&mut self.a, ring_a * w);
        ensure(&mut self.b, RING_B * w);
        ensure(&mut self.c, h * 64);
        ensure(&mut self.t1, w);
        ensure(&mut self.t2, w);
        ensure(&mut self.sums1, w);
        ensure(&mut self.sums2, 64);
        if self.zeros.len() < w {
            self.zeros = vec![0.0; w];
        }
        let a = &mut self.a[..ring_a * w];
        let b = &mut self.b[..RING_B * w];
        let c = &mut self.c[..h * 64];
        let (t1, t2) = (&mut self.t1[..w], &mut self.t2[..w]);
        let zeros = &self.zeros[..w];
        let (sums1, sums2) = (&mut self.sums1[..w], &mut self.sums2[..64]);
        sums1.fill(0.0);
        sums2.fill(0.0);
        let mut v1 = VBox::new(h, wc);
        let mut v2 = VBox::new(h, wc);
        let mut p2 = 0; // next row of b for the pass-2 row filter
        let mut out = Box::new([0f32; 4096]);
        let mut kr = 0; // next output row of `out`

        for r0 in (0..h).step_by(LANES) {
            let nl = LANES.min(h - r0);
            // Pass 1, along rows: luma -> a (ring).
            load_luma::<AVX>(img, r0, nl, zeros, t1);
            box_lanes(t1, wr, |o, s, cnt| t2[o] = div_lane(s, cnt));
            let slot = r0 % ring_a;
            transpose_out::<AVX>(t2, &mut a[slot * w..(slot + nl) * w], w);

            // Pass 1, along columns: a -> b (ring), as far as the rows written so far allow.
            let avail = r0 + nl;
            v1.advance(
                |r| &a[(r % ring_a) * w..(r % ring_a + 1) * w],
                avail,
                sums1,
                |o, s, cnt| {
                    let slot = o % RING_B;
                    for (dv, &v) in b[slot * w..(slot + 1) * w].iter_mut().zip(s) {
                        *dv = v / cnt;
                    }
                },
            );

            // Pass 2, along rows, on each full strip of b (or the last, partial one): -> c.
            while p2 < h && (v1.done() >= p2 + LANES || v1.done() == h) {
                let n2 = LANES.min(h - p2);
                let src: [&[f32]; LANES] = std::array::from_fn(|l| {
                    if l < n2 {
                        let slot = (p2 + l) % RING_B;
                        &b[slot * w..(slot + 1) * w]
                    } else {
                        zeros
                    }
                });
                transpose_in::<AVX>(&src, t1);
                // Only the 64 sampled columns are divided and kept (`cols` is non-decreasing).
                let mut k = 0;
                let strip = &mut c[p2 * 64..(p2 + n2) * 64];
                box_lanes(t1, wr, |o, s, cnt| {
                    while k < 64 && cols[k] == o {
                        for l in 0..n2 {
                            strip[l * 64 + k] = s[l] / cnt;
                        }
                        k += 1;
                    }
                });
                p2 += n2;
                // Pass 2, along columns, on the 64 kept columns, keeping the 64 sampled rows
                // (`rows` is non-decreasing): c -> out.
                v2.advance(
                    |r| &c[r * 64..(r + 1) * 64],
                    p2,
                    sums2,
                    |o, s, cnt| {
                        while kr < 64 && rows[kr] == o {
                            for (dv, &v) in out[kr * 64..(kr + 1) * 64].iter_mut().zip(s) {
                                *dv = v / cnt;
                            }
                            kr += 1;
                        }
                    },
                );
            }
        }
        debug_assert!(v1.done() == h && v2.done() == h && p2 == h && kr == 64);
        out
    }
}

/// Luma of rows `r0..r0 + nl` transposed into lanes (`dst[j][l]` = luma of row `r0 + l`, column
/// `j`); missing rows of a partial strip are zeros.
#[inline(always)]
fn load_luma<const AVX: bool>(
    img: &Image<'_>,
    r0: usize,
    nl: usize,
    zeros: &[f32],
    dst: &mut [Lane],
) {
    let w = img.width;
    let t = luma::tables();
    match img.pixels {
        Pixels::Luma(p) => {
            let src: [&[f32]; LANES] = std::array::from_fn(|l| {
                if l < nl {
                    &p[(r0 + l) * w..(r0 + l + 1) * w]
                } else {
                    zeros
                }
            });
            transpose_in::<AVX>(&src, dst);
        }
        Pixels::Rgb8(p) => {
            let mut j = 0;
            #[cfg(target_arch = "x86_64")]
            if AVX && nl == LANES {
                // SAFETY: AVX is only true inside `buffer64_avx2`, which requires AVX2.
                j = unsafe { avx::luma_rgb_in(&p[r0 * w * 3..(r0 + LANES) * w * 3], w, dst) };
            }
            for (jj, lane) in dst.iter_mut().enumerate().skip(j) {
                for (l, v) in lane.iter_mut().enumerate() {
                    *v = if l < nl {
                        let q = ((r0 + l) * w + jj) * 3;
                        t.rgb(p[q], p[q + 1], p[q + 2])
                    } else {
                        0.0
                    };
                }
            }
        }
        Pixels::Grey8(p) => {
            for (jj, lane) in dst.iter_mut().enumerate() {
                for (l, v) in lane.iter_mut().enumerate() {
                    *v = if l < nl {
                        t.grey(p[(r0 + l) * w + jj])
                    } else {
                        0.0
                    };
                }
            }
        }
    }
}

/// The column box filter (`box1DFloat` down every column at once) as a resumable state machine:
/// [`VBox::advance`] performs the reference's steps in order for as long as the input rows they
/// need have been produced.
struct VBox {
    h: usize,
    w: usize,
    half: usize,
    li: usize,
    ri: usize,
    o: usize,
    cnt: usize,
}

impl VBox {
    fn new(h: usize, w: usize) -> Self {
        VBox {
            h,
            w,
            half: (w + 2) / 2,
            li: 0,
            ri: 0,
            o: 0,
            cnt: 0,
        }
    }

    /// Output rows emitted so far.
    fn done(&self) -> usize {
        self.o
    }

    /// Runs the filter's steps while the input rows they need are below `avail`.
    #[inline(always)]
    fn advance<'x>(
        &mut self,
        row: impl Fn(usize) -> &'x [f32],
        avail: usize,
        s: &mut [f32],
        mut emit: impl FnMut(usize, &[f32], f32),
    ) {
        while self.o < self.h {
            if self.ri < self.half - 1 {
                // Phase 1: fill, no output.
                if self.ri >= avail {
                    return;
                }
                add_row(s, row(self.ri));
                self.cnt += 1;
                self.ri += 1;
            } else if self.ri < self.w {
                // Phase 2: grow the window.
                if self.ri >= avail {
                    return;
                }
                add_row(s, row(self.ri));
                self.cnt += 1;
                emit(self.o, s, self.cnt as f32);
                self.ri += 1;
                self.o += 1;
            } else if self.ri < self.h {
                // Phase 3: slide (add the right row, then subtract the left one).
                if self.ri >= avail {
                    return;
                }
                add_row(s, row(self.ri));
                sub_row(s, row(self.li));
                emit(self.o, s, self.cnt as f32);
                self.li += 1;
                self.ri += 1;
                self.o += 1;
            } else {
                // Phase 4: shrink.
                sub_row(s, row(self.li));
                self.cnt -= 1;
                emit(self.o, s, self.cnt as f32);
                self.li += 1;
                self.o += 1;
            }
        }
    }
}

/// Transposes 8 rows (`src[l][j]`) into `w` lanes (`dst[j][l]`).
#[inline(always)]
fn transpose_in<const AVX: bool>(src: &[&[f32]; LANES], dst: &mut [Lane]) {
    let w = dst.len();
    let mut j = 0;
    #[cfg(target_arch = "x86_64")]
    if AVX {
        // SAFETY: AVX is only true inside `buffer64_avx2`, which requires AVX2.
        j = unsafe { avx::transpose_in(src, dst) };
    }
    for jj in j..w {
        for l in 0..LANES {
            dst[jj][l] = src[l][jj];
        }
    }
}

/// Transposes `w` lanes back into the first `rows.len() / w` (at most 8) rows of `rows`.
#[inline(always)]
fn transpose_out<const AVX: bool>(src: &[Lane], rows: &mut [f32], w: usize) {
    let nl = rows.len() / w;
    let mut j = 0;
    #[cfg(target_arch = "x86_64")]
    if AVX && nl == LANES {
        // SAFETY: AVX is only true inside `buffer64_avx2`, which requires AVX2.
        j = unsafe { avx::transpose_out(src, rows, w) };
    }
    for l in 0..nl {
        for jj in j..w {
            rows[l * w + jj] = src[jj][l];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    //! AVX2 versions of the strip transposes and of the RGB luma. Transposes only move values;
    //! the luma performs the same float32 operations, in the same order, as the scalar path. No
    //! closures here: they would not inherit `target_feature` and would not be inlined.
    use super::{LANES, Lane};
    use std::arch::x86_64::*;

    const GROUPS: usize = LANES / 8;

    #[inline]
    #[target_feature(enable = "avx2")]
    fn transpose8(r: &mut [__m256; 8]) {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        r[0] = _mm256_permute2f128_ps::<0x20>(s0, s4);
        r[1] = _mm256_permute2f128_ps::<0x20>(s1, s5);
        r[2] = _mm256_permute2f128_ps::<0x20>(s2, s6);
        r[3] = _mm256_permute2f128_ps::<0x20>(s3, s7);
        r[4] = _mm256_permute2f128_ps::<0x31>(s0, s4);
        r[5] = _mm256_permute2f128_ps::<0x31>(s1, s5);
        r[6] = _mm256_permute2f128_ps::<0x31>(s2, s6);
        r[7] = _mm256_permute2f128_ps::<0x31>(s3, s7);
    }

    /// Stores the 8 transposed vectors of group `g` into lanes `dst[j..j + 8]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store_lanes(r: &[__m256; 8], dst: &mut [Lane], j: usize, g: usize) {
        for c in 0..8 {
            let lane = &mut dst[j + c][g * 8..g * 8 + 8];
            // SAFETY: `lane` holds 8 floats (the slicing checks it).
            unsafe { _mm256_storeu_ps(lane.as_mut_ptr(), r[c]) };
        }
    }

    /// Full 8-column blocks of `transpose_in`; returns the first column not done.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn transpose_in(src: &[&[f32]; LANES], dst: &mut [Lane]) -> usize {
        let w = dst.len();
        let mut r = [_mm256_setzero_ps(); 8];
        // Group by group: 8 input streams at a time, which the prefetcher follows.
        for g in 0..GROUPS {
            let mut j = 0;
            while j + 8 <= w {
                for k in 0..8 {
                    let row = &src[g * 8 + k][j..j + 8];
                    // SAFETY: `row` holds 8 floats (the slicing checks it).
                    r[k] = unsafe { _mm256_loadu_ps(row.as_ptr()) };
                }
                transpose8(&mut r);
                store_lanes(&r, dst, j, g);
                j += 8;
            }
        }
        w - w % 8
    }

    /// Full 8-column blocks of `transpose_out` for a full strip; returns the first column not done.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn transpose_out(src: &[Lane], rows: &mut [f32], w: usize) -> usize {
        let mut r = [_mm256_setzero_ps(); 8];
        for g in 0..GROUPS {
            let mut j = 0;
            while j + 8 <= w {
                for c in 0..8 {
                    let lane = &src[j + c][g * 8..g * 8 + 8];
                    // SAFETY: `lane` holds 8 floats (the slicing checks it).
                    r[c] = unsafe { _mm256_loadu_ps(lane.as_ptr()) };
                }
                transpose8(&mut r);
                for k in 0..8 {
                    let l = g * 8 + k;
                    let dst = &mut rows[l * w + j..l * w + j + 8];
                    // SAFETY: `dst` holds 8 floats (the slicing checks it).
                    unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), r[k]) };
                }
                j += 8;
            }
        }
        w - w % 8
    }

    /// A byte shuffle gathering channel `c` of 8 RGB pixels from 24 bytes (16 in `lo`, 8 in `hi`).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pick(c: usize, from_hi: bool) -> __m128i {
        let mut m = [-128i8; 16];
        for (k, slot) in m.iter_mut().take(8).enumerate() {
            let pos = 3 * k + c;
            if (pos >= 16) == from_hi {
                *slot = (if from_hi { pos - 16 } else { pos }) as i8;
            }
        }
        // SAFETY: 16 bytes read from a 16-byte array.
        unsafe { _mm_loadu_si128(m.as_ptr().cast()) }
    }

    /// Luma of a full strip of RGB8 rows (`rgb`: `LANES` rows of `w` pixels), transposed into lanes,
    /// for the full 8-column blocks; returns the first column not done. Each value is
    /// `(0.299f * R + 0.587f * G) + 0.114f * B`: the same three products and two sums, in the same
    /// order, as the scalar path (the bytes are only shuffled and widened before that).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn luma_rgb_in(rgb: &[u8], w: usize, dst: &mut [Lane]) -> usize {
        let m = [
            pick(0, false),
            pick(0, true),
            pick(1, false),
            pick(1, true),
            pick(2, false),
            pick(2, true),
        ];
        let k = [
            _mm256_set1_ps(0.299f32),
            _mm256_set1_ps(0.587f32),
            _mm256_set1_ps(0.114f32),
        ];
        let mut r = [_mm256_setzero_ps(); 8];
        for g in 0..GROUPS {
            let mut j = 0;
            while j + 8 <= w {
                for (q, slot) in r.iter_mut().enumerate() {
                    let l = g * 8 + q;
                    let px = &rgb[(l * w + j) * 3..(l * w + j) * 3 + 24];
                    // SAFETY: `px` holds 24 bytes: 16 read at 0, 8 at 16.
                    let (lo, hi) = unsafe {
                        (
                            _mm_loadu_si128(px.as_ptr().cast()),
                            _mm_loadl_epi64(px[16..].as_ptr().cast()),
                        )
                    };
                    let mut ch = [_mm256_setzero_ps(); 3];
                    for (c, v) in ch.iter_mut().enumerate() {
                        let bytes = _mm_or_si128(
                            _mm_shuffle_epi8(lo, m[2 * c]),
                            _mm_shuffle_epi8(hi, m[2 * c + 1]),
                        );
                        *v = _mm256_mul_ps(k[c], _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
                    }
                    *slot = _mm256_add_ps(_mm256_add_ps(ch[0], ch[1]), ch[2]);
                }
                transpose8(&mut r);
                store_lanes(&r, dst, j, g);
                j += 8;
            }
        }
        w - w % 8
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
